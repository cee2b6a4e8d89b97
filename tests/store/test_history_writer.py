"""The history's writer thread and its guard against SQLite on the event loop.

Calls handed over with ``submit`` (what the recorder does, on the loop) are committed by the store's own
thread, in order, after the integrity check, and ``close`` writes what waits; a damaged file is still refused
untouched; the queue is bounded. In strict mode (``CTI_TUI_STRICT_OFF_LOOP=1``, on in these tests) any
statement on a thread that runs an asyncio loop raises, so the recorder test below fails if the recorder ever
writes inline again.
"""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import sqlite3
import threading
from pathlib import Path

import pytest

from cti_tui.core.history import Cancellation
from cti_tui.core.model import ActivityEvent, ActivityName, CallEvent, CallStatus
from cti_tui.store import history as history_module
from cti_tui.store.history import (
    STRICT_OFF_LOOP_ENV,
    HistoryCancelled,
    HistoryError,
    HistoryRecorder,
    HistoryStore,
    SqliteOnLoopError,
)
from tests.store.test_history import OWNER, _damage_far_from_the_schema, make_call, snapshot


@pytest.fixture(autouse=True)
def strict_off_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(STRICT_OFF_LOOP_ENV, "1")


def ids(store: HistoryStore) -> list[str]:
    return [row.id for row in store.query(OWNER, limit=1000).rows]


def filled_file(path: Path, count: int = 1) -> Path:
    with HistoryStore(path) as store:
        store.record_many((make_call(f"c{i:04d}", minute=i, party_name=f"Caller {i}") for i in range(count)), OWNER)
    return path


@pytest.fixture
def held_check(monkeypatch: pytest.MonkeyPatch) -> tuple[threading.Event, threading.Event]:
    """The background check starts, then waits for ``release``; ``checking`` says it started. (A check at
    open, on the test's own thread, runs as usual.)"""
    checking, release = threading.Event(), threading.Event()
    real_check = HistoryStore._check_integrity

    def held(self: HistoryStore, conn: sqlite3.Connection) -> None:
        if threading.current_thread().name == "history-check":
            checking.set()
            assert release.wait(timeout=30)
        real_check(self, conn)

    monkeypatch.setattr(HistoryStore, "_check_integrity", held)
    return checking, release


# --- the writer thread --------------------------------------------------------------------------------------


def test_submit_commits_on_the_writer_thread_in_order(tmp_path: Path) -> None:
    with HistoryStore(tmp_path / "history.sqlite3") as store:
        threads: list[str] = []
        real_write = store._write

        def write(call_id: str, values: dict[str, object]) -> None:
            threads.append(threading.current_thread().name)
            real_write(call_id, values)

        store._write = write  # type: ignore[method-assign]
        futures = [store.submit(make_call(f"s{i}", minute=i), OWNER) for i in range(5)]
        for future in futures:
            assert future.result(timeout=30) is None
        assert ids(store) == ["s4", "s3", "s2", "s1", "s0"]
        assert set(threads) == {"history-writer"}
        assert store.wait_written(timeout=0)


def test_submit_refuses_a_call_that_has_not_ended(tmp_path: Path) -> None:
    with HistoryStore(tmp_path / "history.sqlite3") as store, pytest.raises(ValueError, match="only ended"):
        store.submit(make_call("live", status=CallStatus.RINGING), OWNER)


def test_submitted_calls_wait_for_the_check_in_the_writer_not_in_the_caller(
    tmp_path: Path, held_check: tuple[threading.Event, threading.Event]
) -> None:
    checking, release = held_check
    path = filled_file(tmp_path / "history.sqlite3")
    with HistoryStore(path, check_in_background=True) as store:
        assert checking.wait(timeout=30)
        future = store.submit(make_call("late", minute=99), OWNER)  # returns at once: nothing waits here
        assert not future.done()
        assert not store.wait_written(timeout=0.2)
        assert ids(store) == ["c0000"]  # not written before the check has passed
        release.set()
        future.result(timeout=30)
        assert store.wait_written(timeout=0)
        assert ids(store) == ["late", "c0000"]


def test_a_file_the_check_refuses_fails_the_waiting_calls_and_stays_byte_identical(
    tmp_path: Path, held_check: tuple[threading.Event, threading.Event]
) -> None:
    checking, release = held_check
    path = filled_file(tmp_path / "history.sqlite3", 2000)
    _damage_far_from_the_schema(path)
    before = snapshot(tmp_path)
    store = HistoryStore(path, check_in_background=True)
    try:
        assert checking.wait(timeout=30)
        waiting = store.submit(make_call("late", minute=9999), OWNER)
        release.set()
        with pytest.raises(HistoryError, match="damaged") as failed:
            waiting.result(timeout=30)
        assert failed.value is store.damage
        later = store.submit(make_call("later", minute=10000), OWNER)  # refused at once now
        assert later.done() and later.exception() is store.damage
    finally:
        store.close()
    assert snapshot(tmp_path) == before


def test_close_writes_what_waits_and_checks_the_file_first(tmp_path: Path) -> None:
    path = filled_file(tmp_path / "history.sqlite3")
    store = HistoryStore(path, check_in_background=True, check_delay=600)
    futures = [store.submit(make_call(f"w{i}", minute=100 + i), OWNER) for i in range(3)]
    assert not any(future.done() for future in futures)
    closing = threading.Thread(target=store.close)
    closing.start()
    closing.join(timeout=60)  # far below the delay: closing runs the check now instead of waiting for it
    assert not closing.is_alive()
    assert all(future.result(timeout=0) is None for future in futures)
    assert store.wait_checked(timeout=0) and store.damage is None
    with HistoryStore(path) as again:
        assert ids(again) == ["w2", "w1", "w0", "c0000"]


def test_a_closed_store_refuses_at_once(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "history.sqlite3")
    store.close()
    store.close()  # twice is harmless
    future = store.submit(make_call("lost"), OWNER)
    assert future.done() and isinstance(future.exception(), HistoryError)
    assert "closed" in str(future.exception())


def test_the_queue_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A stuck writer (here: the check never comes) makes calls fail fast instead of queueing without end."""
    monkeypatch.setattr(history_module, "WRITE_QUEUE_LIMIT", 3)
    path = filled_file(tmp_path / "history.sqlite3")
    store = HistoryStore(path, check_in_background=True, check_delay=600)
    futures = [store.submit(make_call(f"q{i}", minute=100 + i), OWNER) for i in range(4)]
    assert [future.done() for future in futures] == [False, False, False, True]
    assert "3 calls are waiting" in str(futures[3].exception())
    store.close()
    assert all(future.result(timeout=0) is None for future in futures[:3])


# --- the recorder -------------------------------------------------------------------------------------------


def test_the_recorder_files_calls_without_sqlite_on_the_loop(tmp_path: Path) -> None:
    """Strict mode: were the recorder to write inline (on the loop), this raises SqliteOnLoopError."""

    async def deliver(store: HistoryStore) -> list[object]:
        recorder = HistoryRecorder(store, OWNER)
        results = [
            recorder.record(ActivityEvent(1, ActivityName.READY, "ready")),
            recorder.record(CallEvent(2, make_call("ringing", status=CallStatus.RINGING))),
            recorder.record(CallEvent(3, make_call("theirs", line="user:1002"))),
            recorder.record(CallEvent(4, make_call("mine", minute=1))),
        ]
        recorder(CallEvent(5, make_call("mine-too", minute=2)))
        committed = results[-1]
        assert committed is not None
        await asyncio.wrap_future(committed)  # what `cti-tui events` may await before printing HANGUP
        return results

    with HistoryStore(tmp_path / "history.sqlite3") as store:
        results = asyncio.run(deliver(store))
        assert results[:3] == [None, None, None]
        assert store.wait_written(timeout=30)
        assert ids(store) == ["mine-too", "mine"]


def test_the_recorder_reports_a_failed_write_on_the_loop_that_delivered_the_event(tmp_path: Path) -> None:
    with HistoryStore(tmp_path / "history.sqlite3") as store:

        def broken(call_id: str, values: dict[str, object]) -> None:
            raise HistoryError("disk full", store.path)

        store._write = broken  # type: ignore[method-assign]
        reported: list[tuple[str, int]] = []

        async def deliver() -> int:
            done = asyncio.Event()

            def on_error(exc: HistoryError) -> None:
                reported.append((str(exc), threading.get_ident()))
                done.set()

            HistoryRecorder(store, OWNER, on_error=on_error)(CallEvent(1, make_call("lost")))
            await asyncio.wait_for(done.wait(), timeout=30)
            return threading.get_ident()

        loop_thread = asyncio.run(deliver())
        assert reported == [("disk full", loop_thread)]


# --- strict mode ----------------------------------------------------------------------------------------------


def test_sqlite_on_a_running_loop_raises_in_strict_mode(tmp_path: Path) -> None:
    with HistoryStore(tmp_path / "history.sqlite3") as store:
        store.record(make_call("c1"), OWNER)

        async def on_the_loop() -> list[str]:
            refused = []
            for name, attempt in [
                ("query", lambda: store.query(OWNER)),
                ("record", lambda: store.record(make_call("c2", minute=1), OWNER)),
                ("record_many", lambda: store.record_many([make_call("c3", minute=2)], OWNER)),
                ("export_csv", lambda: store.export_csv(OWNER, io.StringIO())),
                ("wait_written", lambda: store.wait_written(0)),
                ("wait_checked", lambda: store.wait_checked(0)),
            ]:
                with pytest.raises(SqliteOnLoopError):
                    attempt()
                refused.append(name)
            page = await asyncio.to_thread(store.query, OWNER)  # a worker thread is fine
            assert [row.id for row in page.rows] == ["c1"]
            return refused

        assert len(asyncio.run(on_the_loop())) == 6
        assert ids(store) == ["c1"]  # nothing was written by the refused calls


def test_outside_strict_mode_sqlite_on_the_loop_is_logged_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv(STRICT_OFF_LOOP_ENV)
    monkeypatch.setattr(history_module, "_warned_on_loop", False)
    with HistoryStore(tmp_path / "history.sqlite3") as store:

        async def on_the_loop() -> None:
            store.query(OWNER)
            store.query(OWNER)

        with caplog.at_level(logging.WARNING, logger="cti_tui.store.history"):
            asyncio.run(on_the_loop())
    assert [r.message for r in caplog.records].count(
        "call history ran SQLite on the thread of a running asyncio loop; use a worker thread"
    ) == 1


# --- cancelling ---------------------------------------------------------------------------------------------


def test_cancellation_stops_registered_work_once() -> None:
    cancel = Cancellation()
    stopped: list[str] = []
    unregister = cancel.register(lambda: stopped.append("a"))
    cancel.register(lambda: stopped.append("b"))()  # done before the cancel: not stopped
    cancel.cancel()
    assert cancel.cancelled and stopped == ["a"]
    unregister()
    cancel.register(lambda: stopped.append("late"))  # already cancelled: stopped at once
    assert stopped == ["a", "late"]


def test_a_cancelled_query_raises_cancelled(tmp_path: Path) -> None:
    with HistoryStore(tmp_path / "history.sqlite3") as store:
        cancel = Cancellation()
        assert store.query(OWNER, cancel=cancel).rows == []
        cancel.cancel()
        with pytest.raises(HistoryCancelled):
            store.query(OWNER, cancel=cancel)
        assert store.query(OWNER).total == 0  # the connection is fine afterwards


def test_an_export_reports_progress_and_a_cancel_interrupts_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(history_module, "_EXPORT_PROGRESS_EVERY", 10)
    path = filled_file(tmp_path / "history.sqlite3", 45)
    with HistoryStore(path) as store:
        seen: list[int] = []
        target = tmp_path / "out" / "export.csv"
        target.parent.mkdir()
        assert store.export_csv(OWNER, target, progress=seen.append) == 45
        assert seen == [10, 20, 30, 40, 45]
        with target.open(newline="", encoding="utf-8") as f:
            assert len(list(csv.DictReader(f))) == 45

        cancel = Cancellation()
        stopped_at: list[int] = []

        def cancel_at_20(rows: int) -> None:
            stopped_at.append(rows)
            if rows == 20:
                cancel.cancel()  # interrupts the export's connection: the next row is never read

        again = tmp_path / "out" / "again.csv"
        with pytest.raises(HistoryCancelled):
            store.export_csv(OWNER, again, progress=cancel_at_20, cancel=cancel)
        assert stopped_at == [10, 20]
        assert sorted(p.name for p in target.parent.iterdir()) == ["export.csv"]  # no file, no temporary
        assert store.query(OWNER).total == 45


def test_a_check_that_breaks_refuses_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing said the file is sound: nothing is written to it."""
    path = filled_file(tmp_path / "history.sqlite3")
    before = snapshot(tmp_path)

    def broken(self: HistoryStore, conn: sqlite3.Connection) -> None:
        raise RuntimeError("a bug in the check")

    monkeypatch.setattr(HistoryStore, "_check_integrity", broken)
    store = HistoryStore(path, check_in_background=True)
    try:
        assert store.wait_checked(timeout=30)
        assert store.damage is not None and "could not be checked" in str(store.damage)
        with pytest.raises(HistoryError, match="could not be checked"):
            store.submit(make_call("late", minute=99), OWNER).result(timeout=30)
    finally:
        store.close()
    assert snapshot(tmp_path) == before
