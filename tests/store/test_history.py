"""The SQLite call history against real files: roundtrip, paging, search, export, refusal of bad files, and
durability against a SIGKILL of a real writing process."""

from __future__ import annotations

import csv
import io
import os
import queue
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from cti_tui.core.model import ActivityEvent, ActivityName, Call, CallEvent, CallStatus, Direction
from cti_tui.store import (
    SCHEMA_VERSION,
    HistoryError,
    HistoryRecorder,
    HistoryStore,
    Outcome,
    default_history_path,
    derive_outcome,
)
from cti_tui.store import history as history_module
from cti_tui.store.history import STRICT_OFF_LOOP_ENV

OWNER = "user:1001"
T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def strict_off_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite on a thread that runs an asyncio loop raises here instead of logging a warning."""
    monkeypatch.setenv(STRICT_OFF_LOOP_ENV, "1")


def make_call(
    call_id: str,
    *,
    minute: int = 0,
    direction: Direction = Direction.INBOUND,
    status: CallStatus = CallStatus.HANGUP,
    line: str = OWNER,
    party: str = "+12025550143",
    party_name: str = "Alice Zola",
    cause: str = "normal",
    connected: bool = True,
    ringing: float = 5.0,
    talk: float = 60.0,
) -> Call:
    """A call set up ``minute`` minutes after T0; ``party`` is the far end as ``line`` sees it."""
    setup = T0 + timedelta(minutes=minute)
    connect = setup + timedelta(seconds=ringing) if connected else None
    release = (connect + timedelta(seconds=talk)) if connect else setup + timedelta(seconds=ringing)
    own = line.removeprefix("user:")
    if direction is Direction.INBOUND:
        source, source_name, destination, destination_name = party, party_name, own, "Agent"
    else:
        source, source_name, destination, destination_name = own, "Agent", party, party_name
    return Call(
        id=call_id,
        cid=f"cid-{call_id}",
        direction=direction,
        status=status,
        line=line,
        source=source,
        destination=destination,
        source_name=source_name,
        destination_name=destination_name,
        cause=cause,
        setup_at=setup,
        connect_at=connect,
        release_at=release if status.ended else None,
    )


@pytest.fixture(params=["fts", "scan"])
def store(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[HistoryStore]:
    """Every test runs with the trigram index and without it (SQLite builds lacking FTS5 scan with LIKE)."""
    if request.param == "scan":
        monkeypatch.setattr(history_module, "_fts5_trigram_available", lambda conn: False)
    opened = HistoryStore(tmp_path / "history.sqlite3")
    assert opened._searchable is (request.param == "fts")
    yield opened
    opened.close()


def ids(store: HistoryStore, owner: str = OWNER, **filters: object) -> list[str]:
    page = store.query(owner, limit=1000, **filters)  # type: ignore[arg-type]
    assert page.total == len(page.rows)
    return [row.id for row in page.rows]


def snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def refusal(path: Path, background: bool) -> HistoryError:
    """Why ``path`` is refused: at once, or (checking in the background) by the full check after opening.

    A store refused late has closed itself: nothing can be read or written through it.
    """
    try:
        store = HistoryStore(path, check_in_background=background)
    except HistoryError as exc:
        return exc
    try:
        assert background, "a store checked at open must refuse at once"
        assert store.wait_checked(timeout=30)
        damage = store.damage
        assert damage is not None, "the full check found nothing"
        with pytest.raises(HistoryError) as writing:
            store.record(make_call("late"), OWNER)
        with pytest.raises(HistoryError) as reading:
            store.query(OWNER)
        assert writing.value is damage and reading.value is damage
        return damage
    finally:
        store.close()


CHECK_MODES = pytest.mark.parametrize("background", [False, True], ids=["checked-at-open", "checked-in-background"])


# --- outcome ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("direction", "cause", "connected", "expected"),
    [
        (Direction.INBOUND, "normal", True, Outcome.ANSWERED),
        (Direction.OUTBOUND, "normal", True, Outcome.ANSWERED),
        (Direction.INBOUND, "no_answer", False, Outcome.MISSED),
        (Direction.INBOUND, "cancelled", False, Outcome.MISSED),
        (Direction.OUTBOUND, "busy", False, Outcome.CANCELLED),
        (Direction.OUTBOUND, "unreachable", False, Outcome.CANCELLED),
        (Direction.INBOUND, "rejected", False, Outcome.REJECTED),
        (Direction.OUTBOUND, "rejected", False, Outcome.REJECTED),
        (Direction.INBOUND, "transferred", True, Outcome.TRANSFERRED),
        (Direction.OUTBOUND, "transferred", True, Outcome.TRANSFERRED),
        (Direction.INBOUND, "interrupted", True, Outcome.INTERRUPTED),
        (Direction.INBOUND, "interrupted", False, Outcome.INTERRUPTED),
        (Direction.OUTBOUND, "interrupted", False, Outcome.INTERRUPTED),
    ],
)
def test_derive_outcome(direction: Direction, cause: str, connected: bool, expected: Outcome) -> None:
    status = CallStatus.HANGUP if connected else CallStatus.CANCEL
    call = make_call("c", direction=direction, cause=cause, connected=connected, status=status)
    assert derive_outcome(call) is expected


# --- opening ------------------------------------------------------------------------------------------------


def test_new_file_is_wal_with_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "history.sqlite3"
    with HistoryStore(path):
        pass
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    finally:
        conn.close()
    with HistoryStore(path) as reopened:  # an existing current file opens as is
        assert reopened.query(OWNER).total == 0


def test_default_path_is_in_the_user_data_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data" / "cti-tui"
    monkeypatch.delenv("CTI_TUI_DATA_DIR", raising=False)
    monkeypatch.setattr("platformdirs.user_data_path", lambda app: data if app == "cti-tui" else None)
    assert default_history_path() == data / "history.sqlite3"
    with HistoryStore() as store:
        assert store.path == data / "history.sqlite3"
    assert (data / "history.sqlite3").is_file()


def test_data_dir_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CTI_TUI_DATA_DIR", str(tmp_path / "elsewhere"))
    assert default_history_path() == tmp_path / "elsewhere" / "history.sqlite3"


@CHECK_MODES
def test_newer_schema_version_is_refused_and_left_untouched(tmp_path: Path, background: bool) -> None:
    path = tmp_path / "history.sqlite3"
    with HistoryStore(path) as store:
        store.record(make_call("c1"), OWNER)
    conn = sqlite3.connect(path)
    conn.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 41,))
    conn.commit()
    conn.close()
    before = snapshot(tmp_path)
    with pytest.raises(HistoryError) as caught:
        HistoryStore(path, check_in_background=background)
    message = str(caught.value)
    assert str(path) in message
    assert str(SCHEMA_VERSION + 41) in message and f"version {SCHEMA_VERSION}" in message
    assert caught.value.path == path
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize(
    "content",
    [
        random.Random(7).randbytes(8192),
        b"name,number\nAlice,+12025550143\n" * 50,
        b"SQLite format 3\x00" + random.Random(8).randbytes(4080),
    ],
    ids=["random-bytes", "text-file", "sqlite-header-then-garbage"],
)
@CHECK_MODES
def test_corrupt_file_is_refused_and_left_untouched(tmp_path: Path, content: bytes, background: bool) -> None:
    path = tmp_path / "history.sqlite3"
    path.write_bytes(content)
    before = snapshot(tmp_path)
    caught = refusal(path, background)
    assert "damaged or not a SQLite database" in str(caught)
    assert str(path) in str(caught)
    assert snapshot(tmp_path) == before


@CHECK_MODES
def test_damaged_pages_are_refused_and_left_untouched(tmp_path: Path, background: bool) -> None:
    path = tmp_path / "history.sqlite3"
    with HistoryStore(path) as store:
        for i in range(300):
            store.record(make_call(f"c{i:03d}", minute=i, party_name=f"Caller {i}"), OWNER)
    page_size = 4096
    data = bytearray(path.read_bytes())
    assert len(data) > 8 * page_size
    data[2 * page_size : 6 * page_size] = random.Random(9).randbytes(4 * page_size)  # keep page 1 (schema)
    path.write_bytes(bytes(data))
    before = snapshot(tmp_path)
    caught = refusal(path, background)
    assert "damaged" in str(caught)
    assert str(path) in str(caught)
    assert snapshot(tmp_path) == before


def _damage_far_from_the_schema(path: Path) -> None:
    """Garble the last pages of the file: only a full check reads them, not opening it."""
    conn = sqlite3.connect(path)
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    roots = {row[0] for row in conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'schema_version'")}
    conn.close()
    data = bytearray(path.read_bytes())
    pages = len(data) // page_size
    assert pages > 20 and not roots & set(range(pages - 4, pages + 1))
    data[(pages - 4) * page_size :] = random.Random(10).randbytes(4 * page_size)
    path.write_bytes(bytes(data))


def test_damage_only_a_full_check_sees_is_found_in_the_background(tmp_path: Path) -> None:
    """The app opens at once; the background check then refuses the file and leaves it as it was."""
    path = tmp_path / "history.sqlite3"
    with HistoryStore(path) as store:
        store.record_many((make_call(f"c{i:04d}", minute=i, party_name=f"Caller {i}") for i in range(2000)), OWNER)
    _damage_far_from_the_schema(path)
    before = snapshot(tmp_path)
    store = HistoryStore(path, check_in_background=True)  # the cheap checks pass: it opens
    try:
        assert store.wait_checked(timeout=30)
        assert store.damage is not None and "damaged" in str(store.damage) and str(path) in str(store.damage)
        with pytest.raises(HistoryError, match="damaged"):
            store.record(make_call("late", minute=9999), OWNER)
        with pytest.raises(HistoryError, match="damaged"):
            store.export_csv(OWNER, io.StringIO())
    finally:
        store.close()
    assert snapshot(tmp_path) == before
    with pytest.raises(HistoryError, match="damaged"):
        HistoryStore(path)  # checked at open, the same file is refused at once


def test_damage_watchers_hear_of_it_once_whenever_they_came(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    with HistoryStore(path) as store:
        store.record_many((make_call(f"c{i:04d}", minute=i) for i in range(2000)), OWNER)
    _damage_far_from_the_schema(path)
    early: list[HistoryError] = []
    store = HistoryStore(path, check_in_background=True, check_delay=0.2)
    try:
        store.when_damaged(early.append)  # before the check ends: told by the checker's thread
        assert store.wait_checked(timeout=30)
        late: list[HistoryError] = []
        store.when_damaged(late.append)  # after: told at once
        assert early == late == [store.damage]
    finally:
        store.close()
    sound = tmp_path / "sound.sqlite3"
    HistoryStore(sound).close()
    heard: list[HistoryError] = []
    with HistoryStore(sound, check_in_background=True) as store:
        store.when_damaged(heard.append)
        assert store.wait_checked(timeout=30)
    assert heard == []


def test_a_sound_file_checked_in_background_works_as_usual(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    with HistoryStore(path) as store:
        store.record(make_call("c1"), OWNER)
    with HistoryStore(path, check_in_background=True) as store:
        assert store.wait_checked(timeout=30) and store.damage is None
        store.record(make_call("c2", minute=1), OWNER)
        assert ids(store) == ["c2", "c1"]


def test_closing_does_not_wait_for_a_delayed_check(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    HistoryStore(path).close()
    store = HistoryStore(path, check_in_background=True, check_delay=600)
    assert not store.wait_checked(timeout=0)
    closing = threading.Thread(target=store.close)
    closing.start()
    closing.join(timeout=60)  # a bound, far below the delay: closing cancels the check
    assert not closing.is_alive()
    assert store.wait_checked(timeout=0) and store.damage is None


def test_a_new_file_is_checked_before_it_is_created(tmp_path: Path) -> None:
    """Creating (or migrating) writes, so the check runs first, at open, even when asked for later."""
    with HistoryStore(tmp_path / "history.sqlite3", check_in_background=True) as store:
        assert store.wait_checked(timeout=0) and store._checker is None


def test_nothing_is_written_before_the_background_check_passes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "history.sqlite3"
    with HistoryStore(path) as store:
        store.record(make_call("c1"), OWNER)
    release = threading.Event()
    checking = threading.Event()
    real_check = HistoryStore._check_integrity

    def slow_check(self: HistoryStore, conn: sqlite3.Connection) -> None:
        checking.set()
        assert release.wait(timeout=30)
        real_check(self, conn)

    monkeypatch.setattr(HistoryStore, "_check_integrity", slow_check)
    with HistoryStore(path, check_in_background=True) as store:
        assert checking.wait(timeout=30)
        assert ids(store) == ["c1"]  # reading does not wait
        writer = threading.Thread(target=store.record, args=(make_call("c2", minute=1), OWNER))
        writer.start()
        writer.join(timeout=0.2)
        assert writer.is_alive()  # the write waits for the check
        assert ids(store) == ["c1"]
        release.set()
        writer.join(timeout=30)
        assert not writer.is_alive()
        assert ids(store) == ["c2", "c1"]


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_the_history_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    """Issue 15 #10: the file was created 0644 in a 0755 folder; who called whom is personal data."""
    path = tmp_path / "data" / "history.sqlite3"
    with HistoryStore(path) as store:
        store.record(make_call("a"), OWNER)
        companions = [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm")]
        assert all(p.exists() for p in companions)
        assert [_mode(p) for p in (path.parent, path, *companions)] == [0o700, 0o600, 0o600, 0o600]


def test_an_older_readable_history_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    with HistoryStore(path) as store:
        store.record(make_call("a"), OWNER)
    path.chmod(0o644)
    with HistoryStore(path) as store:
        assert _mode(path) == 0o600
        assert ids(store) == ["a"]


def test_an_older_readable_data_folder_is_made_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    own, elsewhere = tmp_path / "data", tmp_path / "shared"
    for folder in (own, elsewhere):
        folder.mkdir(mode=0o755)
        folder.chmod(0o755)
    monkeypatch.setenv("CTI_TUI_DATA_DIR", str(own))
    HistoryStore(history_module.default_history_path()).close()
    HistoryStore(elsewhere / "history.sqlite3").close()
    assert (_mode(own), _mode(elsewhere)) == (0o700, 0o755)


@CHECK_MODES
def test_foreign_sqlite_database_is_refused_and_left_untouched(tmp_path: Path, background: bool) -> None:
    path = tmp_path / "contacts.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE contacts (name TEXT, number TEXT)")
    conn.execute("INSERT INTO contacts VALUES ('Alice', '+12025550143')")
    conn.commit()
    conn.close()
    path.chmod(0o644)
    before = snapshot(tmp_path)
    with pytest.raises(HistoryError, match="not a cti-tui call history") as caught:
        HistoryStore(path, check_in_background=background)
    assert str(path) in str(caught.value)
    assert snapshot(tmp_path) == before
    assert _mode(path) == 0o644  # not ours: not even its mode changes


def test_search_index_needs_fts5_to_reopen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file with the trigram index cannot be written without FTS5 (its triggers): refuse, don't break."""
    path = tmp_path / "history.sqlite3"
    with HistoryStore(path) as store:
        store.record(make_call("c1"), OWNER)
    before = snapshot(tmp_path)
    monkeypatch.setattr(history_module, "_fts5_trigram_available", lambda conn: False)
    with pytest.raises(HistoryError, match="FTS5") as caught:
        HistoryStore(path)
    assert str(path) in str(caught.value)
    assert snapshot(tmp_path) == before


def test_file_made_without_search_index_keeps_working(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "history.sqlite3"
    with monkeypatch.context() as patch:
        patch.setattr(history_module, "_fts5_trigram_available", lambda conn: False)
        with HistoryStore(path) as store:
            store.record(make_call("c1"), OWNER)
    with HistoryStore(path) as store:
        assert not store._searchable
        store.record(make_call("c2", minute=1, party_name="Bob"), OWNER)
        assert ids(store, search="zola") == ["c1"]
        assert ids(store, search="bob") == ["c2"]


def test_two_stores_share_one_file(tmp_path: Path) -> None:
    """Two app instances (or accounts) on one file: each sees what the other committed."""
    path = tmp_path / "history.sqlite3"
    with HistoryStore(path) as first, HistoryStore(path) as second:
        first.record(make_call("a"), OWNER)
        second.record(make_call("b", minute=1, line="user:1002"), "user:1002")
        assert ids(second) == ["a"]
        assert ids(first, "user:1002") == ["b"]


# --- record and query ---------------------------------------------------------------------------------------


def test_record_and_query_roundtrip(store: HistoryStore) -> None:
    inbound = make_call("in-1", minute=0, ringing=4.5, talk=61.25)
    outbound = make_call("out-1", minute=5, direction=Direction.OUTBOUND, party="+33142685300", party_name="Bob Durand")
    store.record(inbound, OWNER)
    store.record(outbound, OWNER)
    page = store.query(OWNER)
    assert page.total == 2
    newest, oldest = page.rows
    assert oldest.id == "in-1"
    assert oldest.owner == OWNER
    assert oldest.direction is Direction.INBOUND
    assert (oldest.source, oldest.source_name) == ("+12025550143", "Alice Zola")
    assert (oldest.destination, oldest.destination_name) == ("1001", "Agent")
    assert (oldest.party, oldest.party_name) == ("+12025550143", "Alice Zola")
    assert oldest.line == OWNER
    assert oldest.cause == "normal"
    assert oldest.outcome is Outcome.ANSWERED
    assert oldest.status is CallStatus.HANGUP
    assert oldest.setup_at == inbound.setup_at and oldest.setup_at.tzinfo is not None
    assert oldest.connect_at == inbound.connect_at
    assert oldest.release_at == inbound.release_at
    assert oldest.ringing_seconds == 4.5
    assert oldest.talk_seconds == 61.25
    assert newest.id == "out-1"
    assert (newest.party, newest.party_name) == ("+33142685300", "Bob Durand")
    assert (newest.source, newest.destination) == ("1001", "+33142685300")


def test_cancelled_call_has_no_connect_time_and_no_talk(store: HistoryStore) -> None:
    call = make_call("c", status=CallStatus.CANCEL, cause="no_answer", connected=False, ringing=30)
    store.record(call, OWNER)
    (row,) = store.query(OWNER).rows
    assert row.connect_at is None
    assert row.status is CallStatus.CANCEL
    assert row.outcome is Outcome.MISSED
    assert (row.ringing_seconds, row.talk_seconds) == (30.0, 0.0)


@pytest.mark.parametrize("status", [s for s in CallStatus if not s.ended])
def test_record_refuses_a_call_that_has_not_ended(store: HistoryStore, status: CallStatus) -> None:
    with pytest.raises(ValueError, match="only ended calls"):
        store.record(make_call("live", status=status), OWNER)
    assert store.query(OWNER).total == 0


def test_newest_first_across_time_zones(store: HistoryStore) -> None:
    store.record(make_call("middle", minute=10), OWNER)
    store.record(make_call("newest", minute=20), OWNER)
    store.record(make_call("oldest", minute=0), OWNER)
    # 11:05 at UTC+2 is 09:05 UTC: between "oldest" (09:01) and "middle" (09:11) once stored as UTC.
    paris = timezone(timedelta(hours=2))
    local = make_call("local").evolve(
        setup_at=datetime(2024, 5, 1, 11, 4, tzinfo=paris),
        connect_at=datetime(2024, 5, 1, 11, 4, 30, tzinfo=paris),
        release_at=datetime(2024, 5, 1, 11, 5, tzinfo=paris),
    )
    store.record(local, OWNER)
    assert ids(store) == ["newest", "middle", "local", "oldest"]
    row = next(r for r in store.query(OWNER).rows if r.id == "local")
    assert row.release_at == datetime(2024, 5, 1, 9, 5, tzinfo=UTC)
    assert row.release_at.utcoffset() == timedelta(0)


def test_paging(store: HistoryStore) -> None:
    for i in range(7):
        store.record(make_call(f"c{i}", minute=i), OWNER)
    pages = [store.query(OWNER, limit=3, offset=offset) for offset in (0, 3, 6, 9)]
    assert [page.total for page in pages] == [7, 7, 7, 7]
    assert [[row.id for row in page.rows] for page in pages] == [
        ["c6", "c5", "c4"],
        ["c3", "c2", "c1"],
        ["c0"],
        [],
    ]
    assert store.query(OWNER, limit=0).rows == []
    with pytest.raises(ValueError):
        store.query(OWNER, limit=-1)
    with pytest.raises(ValueError):
        store.query(OWNER, offset=-1)


def test_ties_on_release_time_page_stably(store: HistoryStore) -> None:
    for name in ("b", "a", "c"):
        store.record(make_call(name), OWNER)
    assert ids(store) == ["c", "b", "a"]
    assert [store.query(OWNER, limit=1, offset=i).rows[0].id for i in range(3)] == ["c", "b", "a"]


# --- search and filters -------------------------------------------------------------------------------------


@pytest.fixture
def directory(store: HistoryStore) -> HistoryStore:
    """A small history with numbers in several shapes and names in several cases."""
    calls = [
        make_call("alice", minute=0, party="+12025550143", party_name="Alice Zola"),
        make_call("bob", minute=1, party="+33142685300", party_name="Bob Durand", direction=Direction.OUTBOUND),
        make_call("formatted", minute=2, party="+1 (202) 555-0188", party_name="Front Desk"),
        make_call("percent", minute=3, party="1002", party_name="100% Sales_Team"),
        make_call("emile", minute=4, party="anonymous", party_name='Émile "Mimi" Dupont'),
        make_call("missed", minute=5, party="+12025550100", party_name="Carol", connected=False, cause="no_answer"),
    ]
    for call in calls:
        store.record(call, OWNER)
    return store


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("+12025550143", ["alice"]),
        ("202 555", ["missed", "formatted", "alice"]),
        ("202-555-01", ["missed", "formatted", "alice"]),
        ("(202) 555.0143", ["alice"]),
        ("+1 202 555 0188", ["formatted"]),
        ("2025550188", ["formatted"]),
        ("555-0188", ["formatted"]),
        ("0143", ["alice"]),
        ("43", ["alice"]),  # too short for a trigram: the scan path
        ("01", ["missed", "emile", "percent", "formatted", "bob", "alice"]),  # ...and own extension 1001
        ("33 1 42 68", ["bob"]),
        ("203 555", []),
        ("zola", ["alice"]),
        ("ZOLA", ["alice"]),
        ("aLiCe z", ["alice"]),
        ("durand", ["bob"]),
        ("Desk", ["formatted"]),
        ("anonymous", ["emile"]),
        ('"mimi"', ["emile"]),
        ("Émile", ["emile"]),
        ("  carol  ", ["missed"]),
        ("agent", ["missed", "emile", "percent", "formatted", "bob", "alice"]),
        ("nobody", []),
        ("", ["missed", "emile", "percent", "formatted", "bob", "alice"]),
    ],
)
def test_search(directory: HistoryStore, search: str, expected: list[str]) -> None:
    assert ids(directory, search=search) == expected


@pytest.mark.parametrize(
    ("search", "expected"),
    [("%", ["percent"]), ("_", ["percent"]), ("0%", ["percent"]), ("s_t", ["percent"]), ("\\", [])],
)
def test_search_treats_like_wildcards_literally(directory: HistoryStore, search: str, expected: list) -> None:
    assert ids(directory, search=search) == expected


def test_filter_by_outcome_and_direction(directory: HistoryStore) -> None:
    directory.record(make_call("gone", minute=9, cause="transferred"), OWNER)
    directory.record(make_call("no", minute=8, cause="rejected", connected=False), OWNER)
    directory.record(make_call("busy", minute=7, direction=Direction.OUTBOUND, connected=False, cause="busy"), OWNER)
    assert ids(directory, outcome=Outcome.MISSED) == ["missed"]
    assert ids(directory, outcome=Outcome.TRANSFERRED) == ["gone"]
    assert ids(directory, outcome=Outcome.REJECTED) == ["no"]
    assert ids(directory, outcome=Outcome.CANCELLED) == ["busy"]
    assert ids(directory, outcome=Outcome.ANSWERED) == ["emile", "percent", "formatted", "bob", "alice"]
    assert ids(directory, direction=Direction.OUTBOUND) == ["busy", "bob"]
    assert ids(directory, direction=Direction.INBOUND, outcome=Outcome.ANSWERED, search="202") == [
        "formatted",
        "alice",
    ]
    page = directory.query(OWNER, direction=Direction.INBOUND, limit=2)
    assert page.total == 7
    assert [row.id for row in page.rows] == ["gone", "no"]


def test_owners_are_kept_apart(store: HistoryStore) -> None:
    store.record(make_call("mine", minute=0), OWNER)
    store.record(make_call("theirs", minute=1, line="user:1002"), "user:1002")
    # One internal call seen by both lines: one row each, under the same call id.
    store.record(make_call("shared", minute=2, direction=Direction.OUTBOUND, party="1002"), OWNER)
    store.record(make_call("shared", minute=2, line="user:1002", party="1001"), "user:1002")
    assert ids(store) == ["shared", "mine"]
    assert ids(store, "user:1002") == ["shared", "theirs"]
    assert ids(store, "user:1002", search="zola") == ["shared", "theirs"]
    assert ids(store, "queue:sales") == []
    assert store.query(OWNER).rows[0].direction is Direction.OUTBOUND
    assert store.query("user:1002").rows[0].direction is Direction.INBOUND


def test_recording_the_same_call_again_replaces_it(store: HistoryStore) -> None:
    store.record(make_call("c", minute=0, party_name="Old Name", connected=False, cause="no_answer"), OWNER)
    store.record(make_call("c", minute=3, party_name="New Name", talk=30), OWNER)
    page = store.query(OWNER)
    assert page.total == 1
    (row,) = page.rows
    assert (row.party_name, row.outcome, row.talk_seconds) == ("New Name", Outcome.ANSWERED, 30.0)
    assert ids(store, search="Old Name") == []  # the search index followed the update
    assert ids(store, search="New Name") == ["c"]
    assert ids(store, outcome=Outcome.MISSED) == []  # and so did the kept counts
    assert ids(store, outcome=Outcome.ANSWERED) == ["c"]


def test_kept_counts_match_counting_the_rows(store: HistoryStore) -> None:
    """Totals without a search come from call_counts (kept by triggers); they must equal a real count."""
    rng = random.Random(11)
    owners = [OWNER, "user:1002"]
    for i in range(120):
        owner = rng.choice(owners)
        call = make_call(
            f"c{rng.randrange(60)}",  # repeats: a call filed again may change its outcome and direction
            minute=i,
            line=owner,
            direction=rng.choice(list(Direction)),
            connected=rng.random() < 0.5,
            cause=rng.choice(["normal", "no_answer", "rejected", "transferred", "busy"]),
        )
        store.record(call, owner)
    conn = sqlite3.connect(store.path)
    try:
        for owner in [*owners, "queue:sales"]:
            for outcome in [None, *Outcome]:
                for direction in [None, *Direction]:
                    sql = "SELECT count(*) FROM calls WHERE owner = ?"
                    args: list[str] = [owner]
                    if outcome is not None:
                        sql, args = sql + " AND outcome = ?", [*args, outcome.value]
                    if direction is not None:
                        sql, args = sql + " AND direction = ?", [*args, direction.value]
                    expected = conn.execute(sql, args).fetchone()[0]
                    assert store.query(owner, outcome=outcome, direction=direction, limit=0).total == expected
    finally:
        conn.close()


VERSION_2_INDEXED = ("source", "source_name", "destination", "destination_name", "source_digits", "destination_digits")


def _as_version_2(path: Path) -> None:
    """Turn a current file back into what version 2 wrote: no disposition or note, a search index without them."""
    conn = sqlite3.connect(path, isolation_level=None)
    for trigger in ("calls_search_insert", "calls_search_delete", "calls_search_update"):
        conn.execute(f"DROP TRIGGER {trigger}")
    conn.execute("DROP TABLE calls_search")
    conn.execute("ALTER TABLE calls DROP COLUMN disposition")
    conn.execute("ALTER TABLE calls DROP COLUMN note")
    cols = ", ".join(VERSION_2_INDEXED)
    new = ", ".join(f"new.{c}" for c in VERSION_2_INDEXED)
    old = ", ".join(f"old.{c}" for c in VERSION_2_INDEXED)
    add = f"INSERT INTO calls_search (rowid, {cols}) VALUES (new.row_id, {new});"
    remove = f"INSERT INTO calls_search (calls_search, rowid, {cols}) VALUES ('delete', old.row_id, {old});"
    conn.execute(
        f"CREATE VIRTUAL TABLE calls_search USING fts5({cols}, content='calls', content_rowid='row_id', "
        "tokenize='trigram')"
    )
    conn.execute(f"CREATE TRIGGER calls_search_insert AFTER INSERT ON calls BEGIN {add} END")
    conn.execute(f"CREATE TRIGGER calls_search_delete AFTER DELETE ON calls BEGIN {remove} END")
    conn.execute(f"CREATE TRIGGER calls_search_update AFTER UPDATE ON calls BEGIN {remove} {add} END")
    conn.execute("INSERT INTO calls_search (calls_search) VALUES ('rebuild')")
    conn.execute("UPDATE schema_version SET version = 2")
    conn.close()


def _as_version_1(path: Path) -> None:
    """Turn a current file back into what version 1 wrote: no call_counts, version 1."""
    _as_version_2(path)
    conn = sqlite3.connect(path, isolation_level=None)
    for trigger in ("call_counts_insert", "call_counts_delete", "call_counts_update"):
        conn.execute(f"DROP TRIGGER {trigger}")
    conn.execute("DROP TABLE call_counts")
    conn.execute("UPDATE schema_version SET version = 1")
    conn.close()


def test_a_version_1_file_is_migrated_with_its_counts(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    with HistoryStore(path) as store:
        store.record(make_call("a", minute=0), OWNER)
        store.record(make_call("b", minute=1, connected=False, cause="no_answer"), OWNER)
        store.record(make_call("c", minute=2, line="user:1002"), "user:1002")
    _as_version_1(path)
    with HistoryStore(path, check_in_background=True) as store:  # migrating writes: checked in full first
        assert store.wait_checked(timeout=0)
        assert store.query(OWNER).total == 2
        assert store.query(OWNER, outcome=Outcome.MISSED).total == 1
        assert store.query("user:1002").total == 1
        store.record(make_call("d", minute=3), OWNER)
        assert store.query(OWNER).total == 3
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    conn.close()


def test_record_many_files_all_in_one_transaction(store: HistoryStore) -> None:
    calls = [make_call(f"c{i}", minute=i, party_name=f"Caller {i}") for i in range(5)]
    assert store.record_many(iter(calls), OWNER) == 5
    assert ids(store) == ["c4", "c3", "c2", "c1", "c0"]
    assert ids(store, search="Caller 3") == ["c3"]  # the search index was filled as by record
    ringing = make_call("live", minute=9, status=CallStatus.RINGING)
    with pytest.raises(ValueError, match="only ended calls"):
        store.record_many([make_call("c9", minute=9), ringing], OWNER)
    assert ids(store) == ["c4", "c3", "c2", "c1", "c0"]  # all or none


def test_paging_and_filters_use_the_indexes(tmp_path: Path) -> None:
    """The shape that keeps a million rows fast: no full sort for plain or filtered pages."""
    with HistoryStore(tmp_path / "history.sqlite3") as store:
        for filters, index in [
            ({}, "calls_by_owner"),
            ({"outcome": Outcome.MISSED}, "calls_by_owner_outcome"),
            ({"direction": Direction.OUTBOUND}, "calls_by_owner_direction"),
        ]:
            body, params = store._filters(OWNER, None, filters.get("outcome"), filters.get("direction"))
            sql = f"EXPLAIN QUERY PLAN SELECT calls.id {body} {history_module._NEWEST_FIRST} LIMIT 50"
            plan = " | ".join(row[3] for row in store._reader.execute(sql, params))
            assert index in plan and "TEMP B-TREE" not in plan, plan
        for outcome, direction in [(None, None), (Outcome.MISSED, Direction.INBOUND)]:
            sql = f"EXPLAIN QUERY PLAN {store._kept_count(outcome, direction)}"
            _, params = store._filters(OWNER, None, outcome, direction)
            plan = " | ".join(row[3] for row in store._reader.execute(sql, params))
            assert plan.startswith("SEARCH call_counts USING PRIMARY KEY"), plan  # no count of the calls
        body, params = store._filters(OWNER, "zola", None, None)
        plan = [row[3] for row in store._reader.execute(f"EXPLAIN QUERY PLAN SELECT count(*) {body}", params)]
        assert plan[0].startswith("SCAN calls_search VIRTUAL TABLE"), plan
        body, params = store._filters(OWNER, "zola", None, None, plan="set")
        sql = f"EXPLAIN QUERY PLAN SELECT calls.id {body} {history_module._NEWEST_FIRST} LIMIT 50"
        plan = " | ".join(row[3] for row in store._reader.execute(sql, params))
        assert "calls_by_owner" in plan and "TEMP B-TREE" not in plan, plan


def test_many_matches_are_walked_a_window_at_a_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The walk's statements: each window is read from the owner's index (no sort of the owner's rows), and
    the search index is asked once per window, for a range of row ids (``><``: FTS5 was given both bounds)."""
    statements: list[str] = []
    with HistoryStore(tmp_path / "history.sqlite3") as store:
        store.record_many((make_call(f"c{i:02d}", minute=i, party_name=f"Caller {i}") for i in range(40)), OWNER)
        monkeypatch.setattr(history_module, "_SORT_AT_MOST", 0)
        monkeypatch.setattr(history_module, "_WALK_CHUNK", 4)
        store._reader.set_trace_callback(statements.append)
        page = store.query(OWNER, search="Caller 1", limit=3, exact_total=False)
        store._reader.set_trace_callback(None)
        assert [row.id for row in page.rows] == ["c19", "c18", "c17"]
        walked = [sql for sql in statements if "LIMIT 4" in sql or "LIMIT 8" in sql or "OFFSET" in sql]
        assert walked, statements
        for sql in (s for s in statements if "calls_search MATCH" in s and "BETWEEN" in s):
            explained = sql.replace("SELECT w.row_id", "EXPLAIN QUERY PLAN SELECT w.row_id", 1)
            plan = " | ".join(row[3] for row in store._reader.execute(explained))
            columns = len(history_module._INDEXED_COLUMNS)  # the search index's columns, all asked
            assert "COVERING INDEX calls_by_owner" in plan and f"M{columns}><" in plan.replace(" ", ""), plan


def add_numbered_callers(directory: HistoryStore) -> None:
    """24 more calls (minutes 6-29), each from its own +1202555… number: enough matches to page through."""
    for i in range(6, 30):
        directory.record(make_call(f"extra{i:02d}", minute=i, party=f"+1202555{i:04d}"), OWNER)


@pytest.mark.parametrize("search", ["202 555", "zola", "agent", "01", "+1202"])
def test_both_search_plans_give_the_same_pages(
    directory: HistoryStore, monkeypatch: pytest.MonkeyPatch, search: str
) -> None:
    """Few matches are sorted, many are found walking the owner's rows: the pages must not differ."""
    add_numbered_callers(directory)

    def pages() -> list[tuple[int, list[str]]]:
        return [
            (page.total, [row.id for row in page.rows])
            for offset in (0, 4, 8, 28)
            for page in [directory.query(OWNER, search=search, limit=4, offset=offset)]
        ]

    sorted_pages = pages()
    monkeypatch.setattr(history_module, "_SORT_AT_MOST", 0)  # every search walks
    assert pages() == sorted_pages
    monkeypatch.setattr(history_module, "_WALK_CHUNK", 2)  # many small windows, doubling
    assert pages() == sorted_pages
    monkeypatch.setattr(history_module, "_WALK_SPREAD", 0)  # row ids "too spread": the set of matches instead
    assert pages() == sorted_pages
    assert sorted_pages[0][0] > 0


def test_the_walk_does_not_rely_on_row_ids_following_time(store: HistoryStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """Calls filed out of order (an import, a late upsert) still page newest first, whichever plan runs."""
    order = list(range(60))
    random.Random(3).shuffle(order)
    for i in order:
        store.record(make_call(f"s{i:02d}", minute=i, party_name=f"Caller {i}"), OWNER)
    expected = [f"s{i:02d}" for i in range(59, -1, -1) if str(i).startswith("1")]
    monkeypatch.setattr(history_module, "_SORT_AT_MOST", 0)
    monkeypatch.setattr(history_module, "_WALK_CHUNK", 3)
    for spread in (0, 10_000):  # the set of all matches ("too spread"), then windows of scattered row ids
        monkeypatch.setattr(history_module, "_WALK_SPREAD", spread)
        got = [
            row.id
            for offset in range(0, 20, 4)
            for row in store.query(OWNER, search="Caller 1", limit=4, offset=offset).rows
        ]
        assert got == expected[:20]


@pytest.mark.parametrize("search", ["202 555", "zola", "agent", "01", "nobody"])
def test_a_search_need_not_be_counted_to_the_end(
    directory: HistoryStore, monkeypatch: pytest.MonkeyPatch, search: str
) -> None:
    """exact_total=False stops counting at the cap: the total is then a lower bound, the pages the same."""
    add_numbered_callers(directory)
    exact = directory.query(OWNER, search=search, limit=100)
    assert exact.exact and exact.total == len(exact.rows)
    monkeypatch.setattr(history_module, "_SORT_AT_MOST", 3)
    for offset in (0, 2, 5):
        page = directory.query(OWNER, search=search, limit=2, offset=offset, exact_total=False)
        assert [row.id for row in page.rows] == [row.id for row in exact.rows[offset : offset + 2]]
        if exact.total > 3:
            assert not page.exact and page.total == 4  # "at least 4": counting stopped after the cap
        else:
            assert page.exact and page.total == exact.total
    assert directory.query(OWNER, search=search, limit=1).total == exact.total  # exact by default


# --- CSV ----------------------------------------------------------------------------------------------------


def test_export_csv_to_a_path(directory: HistoryStore, tmp_path: Path) -> None:
    target = tmp_path / "export.csv"
    assert directory.export_csv(OWNER, target) == 6
    with target.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [row["id"] for row in rows] == ["missed", "emile", "percent", "formatted", "bob", "alice"]
    alice = rows[-1]
    assert alice["owner"] == OWNER
    assert alice["direction"] == "INBOUND"
    assert alice["status"] == "HANGUP"
    assert alice["outcome"] == "answered"
    assert (alice["party"], alice["party_name"]) == ("+12025550143", "Alice Zola")
    assert (alice["source"], alice["destination"]) == ("+12025550143", "1001")
    assert alice["setup_at"] == "2024-05-01T09:00:00.000000Z"
    assert alice["connect_at"] == "2024-05-01T09:00:05.000000Z"
    assert alice["release_at"] == "2024-05-01T09:01:05.000000Z"
    assert (float(alice["ringing_seconds"]), float(alice["talk_seconds"])) == (5.0, 60.0)
    assert rows[0]["connect_at"] == ""
    assert rows[1]["party_name"] == 'Émile "Mimi" Dupont'
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".export")] == []  # no temporary left


def test_a_full_disk_during_an_export_leaves_the_earlier_file_whole(
    directory: HistoryStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The export goes through the config's atomic write (paths.replacing): flushed to the disk before the
    rename, so a disk that fills up fails the export instead of replacing a good file with a short one."""
    import errno

    from cti_tui import paths

    target = tmp_path / "export.csv"
    target.write_text("earlier export\n")

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(paths.os, "fsync", full)
    with pytest.raises(OSError, match="No space left"):
        directory.export_csv(OWNER, target)
    assert target.read_text() == "earlier export\n"
    assert sorted(p.name for p in tmp_path.iterdir() if "export" in p.name) == ["export.csv"]


def test_export_csv_to_a_stream_with_filters(directory: HistoryStore) -> None:
    out = io.StringIO(newline="")
    assert directory.export_csv(OWNER, out, search="202 555", outcome=Outcome.ANSWERED) == 2
    rows = list(csv.reader(io.StringIO(out.getvalue(), newline="")))
    assert rows[0] == list(history_module.CSV_HEADER)
    assert [row[0] for row in rows[1:]] == ["formatted", "alice"]
    empty = io.StringIO(newline="")
    assert directory.export_csv("user:9999", empty) == 0
    assert list(csv.reader(io.StringIO(empty.getvalue()))) == [list(history_module.CSV_HEADER)]
    out = io.StringIO(newline="")
    assert directory.export_csv(OWNER, out, direction=Direction.OUTBOUND) == 1


def test_export_csv_neutralises_formulas_but_not_numbers(store: HistoryStore) -> None:
    store.record(make_call("evil", party="+12025550143", party_name='=HYPERLINK("http://x","y")'), OWNER)
    out = io.StringIO(newline="")
    store.export_csv(OWNER, out)
    (row,) = list(csv.DictReader(io.StringIO(out.getvalue(), newline="")))
    assert row["party_name"] == '\'=HYPERLINK("http://x","y")'
    assert row["party"] == "+12025550143"


def test_a_call_cut_off_by_a_lost_session_is_filed_and_exported_as_interrupted(store: HistoryStore) -> None:
    """The connector ends live calls with cause ``interrupted`` when the backend is gone (issue 14 #5): history
    must not call them answered or missed, since nobody knows how they really ended."""
    store.record(make_call("cut", cause="interrupted", connected=True), OWNER)
    store.record(make_call("fine", minute=1), OWNER)
    assert ids(store, outcome=Outcome.INTERRUPTED) == ["cut"]
    assert ids(store, outcome=Outcome.ANSWERED) == ["fine"]
    out = io.StringIO(newline="")
    store.export_csv(OWNER, out, outcome=Outcome.INTERRUPTED)
    (row,) = list(csv.DictReader(io.StringIO(out.getvalue(), newline="")))
    assert (row["id"], row["outcome"], row["cause"]) == ("cut", "interrupted", "interrupted")


# --- recorder -----------------------------------------------------------------------------------------------


def test_recorder_records_only_ended_calls_of_its_line(store: HistoryStore) -> None:
    recorder = HistoryRecorder(store, OWNER)
    recorder(ActivityEvent(1, ActivityName.READY, "ready"))
    recorder(CallEvent(2, make_call("ringing", status=CallStatus.RINGING)))
    recorder(CallEvent(3, make_call("connected", status=CallStatus.CONNECTED)))
    recorder(CallEvent(4, make_call("watched", line="queue:sales", minute=1)))
    recorder(CallEvent(5, make_call("colleague", line="user:1002", minute=2)))
    recorder(CallEvent(6, make_call("hung-up", minute=3)))
    recorder(CallEvent(7, make_call("cancelled", minute=5, status=CallStatus.CANCEL, connected=False)))
    assert store.wait_written(timeout=30)
    assert ids(store) == ["cancelled", "hung-up"]
    assert ids(store, "queue:sales") == ids(store, "user:1002") == []


def test_recorder_reports_errors_instead_of_raising(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "history.sqlite3")
    errors: list[HistoryError] = []
    recorder = HistoryRecorder(store, OWNER, on_error=errors.append)
    store.close()
    recorder(CallEvent(1, make_call("lost")))  # must not raise into the connector's event delivery
    assert len(errors) == 1 and isinstance(errors[0], HistoryError)


def test_records_from_several_threads(store: HistoryStore) -> None:
    def work(n: int) -> None:
        for i in range(40):
            store.record(make_call(f"t{n}-{i}", minute=i), OWNER)
            store.query(OWNER, search="zola", limit=5)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
        assert not thread.is_alive()
    assert store.query(OWNER).total == 160


# --- durability against SIGKILL -----------------------------------------------------------------------------

CHILD = """
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cti_tui.core.model import Call, CallStatus, Direction
from cti_tui.store import HistoryStore

path, count, mode = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
store = HistoryStore(path)
# "submit": through the writer thread, as the app's recorder files calls; acknowledged once committed.
write = store.record if mode == "record" else (lambda call, owner: store.submit(call, owner).result())
t0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
for i in range(count):
    start = t0 + timedelta(seconds=i)
    call = Call(
        id=f"call-{i:06d}", cid=str(i), direction=Direction.INBOUND, status=CallStatus.HANGUP,
        line="user:1001", source="+12025550143", destination="1001", source_name=f"Caller {i}",
        setup_at=start, connect_at=start + timedelta(seconds=1), release_at=start + timedelta(seconds=2),
    )
    write(call, "user:1001")
    print(f"done {i}", flush=True)
print("done", flush=True)
sys.stdin.read()  # stay alive, database open, until killed
"""


class Writer:
    """A child process recording ``count`` calls and saying ``done <i>`` after each, then ``done``."""

    def __init__(self, tmp_path: Path, count: int, mode: str = "record") -> None:
        self.tmp_path = tmp_path
        self.stderr = (tmp_path / "stderr.txt").open("w")
        pythonpath = os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")]))
        self.proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(tmp_path / "history.sqlite3"), str(count), mode],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": pythonpath},
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.pump = threading.Thread(target=self._pump, daemon=True)
        self.pump.start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def wait_for(self, expected: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"no {expected!r} from the writer within {timeout}s")
            if line is None:
                self.stderr.flush()
                pytest.fail(f"the writer exited early: {(self.tmp_path / 'stderr.txt').read_text()}")
            if line == expected:
                return

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        try:
            assert self.proc.wait(timeout=30) == -signal.SIGKILL
            self.pump.join(timeout=30)
        finally:
            for stream in (self.proc.stdin, self.proc.stdout, self.stderr):
                if stream is not None:
                    stream.close()


def _check_after_kill(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        return [row[0] for row in conn.execute("SELECT id FROM calls ORDER BY id")]
    finally:
        conn.close()


WRITE_MODES = pytest.mark.parametrize("mode", ["record", "submit"])


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
@WRITE_MODES
def test_every_recorded_call_survives_sigkill(tmp_path: Path, mode: str) -> None:
    count = 25
    writer = Writer(tmp_path, count, mode)
    try:
        writer.wait_for("done")
    finally:
        writer.kill()
    path = tmp_path / "history.sqlite3"
    assert _check_after_kill(path) == [f"call-{i:06d}" for i in range(count)]
    with HistoryStore(path) as store:
        page = store.query(OWNER, limit=1)
        assert page.total == count
        assert page.rows[0].id == f"call-{count - 1:06d}"
        assert store.query(OWNER, search=f"Caller {count - 1}").total == 1


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
@WRITE_MODES
def test_sigkill_while_writing_keeps_every_acknowledged_call(tmp_path: Path, mode: str) -> None:
    acknowledged = 200
    writer = Writer(tmp_path, 1_000_000, mode)  # still writing when the kill lands
    try:
        writer.wait_for(f"done {acknowledged - 1}")
    finally:
        writer.kill()
    stored = _check_after_kill(tmp_path / "history.sqlite3")
    assert len(stored) >= acknowledged
    assert stored == [f"call-{i:06d}" for i in range(len(stored))]  # a clean prefix, nothing half-written
    with HistoryStore(tmp_path / "history.sqlite3") as store:
        assert store.query(OWNER).total == len(stored)
