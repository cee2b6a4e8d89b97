"""The history pane over a real SQLite history: order, search, outcome filter, paging, call back, reload,
export, store errors and history switched off — driven with Pilot like a user would.

Strict mode is on (``CTI_TUI_STRICT_OFF_LOOP=1``): a query or export run on the event loop raises inside the
app and fails the test. Queries answer on worker threads, so every check waits until the pane has its answer.
"""

from __future__ import annotations

import asyncio
import csv
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Input, ProgressBar, Select, Static

from cti_tui.core.history import HistoryError, HistoryPage, Outcome
from cti_tui.core.model import Call, CallStatus, Direction
from cti_tui.store.history import STRICT_OFF_LOOP_ENV, HistoryStore
from cti_tui.ui.widgets import history_pane as pane_module
from cti_tui.ui.widgets.history_pane import HistoryPane, HistorySearch, HistoryTable
from tests.store.test_history import _damage_far_from_the_schema

OWNER = "user:1001"
T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
SIZE = (100, 30)


@pytest.fixture(autouse=True)
def strict_off_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite on the event loop raises (inside the app, which then fails the test) instead of warning."""
    monkeypatch.setenv(STRICT_OFF_LOOP_ENV, "1")


def make_call(
    call_id: str,
    *,
    minute: int,
    direction: Direction = Direction.INBOUND,
    party: str = "+12025550143",
    party_name: str = "Alice Zola",
    cause: str = "normal",
    connected: bool = True,
    talk: float = 60.0,
) -> Call:
    """An ended call of OWNER set up ``minute`` minutes after T0, ringing 5 s; ``party`` is the far end."""
    setup = T0 + timedelta(minutes=minute)
    connect = setup + timedelta(seconds=5) if connected else None
    release = connect + timedelta(seconds=talk) if connect else setup + timedelta(seconds=5)
    own = OWNER.removeprefix("user:")
    if direction is Direction.INBOUND:
        source, source_name, destination, destination_name = party, party_name, own, "Agent"
    else:
        source, source_name, destination, destination_name = own, "Agent", party, party_name
    return Call(
        id=call_id,
        cid=f"cid-{call_id}",
        direction=direction,
        status=CallStatus.HANGUP if connected else CallStatus.CANCEL,
        line=OWNER,
        source=source,
        destination=destination,
        source_name=source_name,
        destination_name=destination_name,
        cause=cause,
        setup_at=setup,
        connect_at=connect,
        release_at=release,
    )


# One call of each outcome, a minute apart; newest first they read e5, r4, c3, m2, a1.
CALLS = (
    make_call("a1", minute=0, party="+12025550143", party_name="Alice Zola"),
    make_call("m2", minute=1, party="+442071838750", party_name="Bob Marley", connected=False),
    make_call(
        "c3",
        minute=2,
        direction=Direction.OUTBOUND,
        party="+12025550199",
        party_name="Carol King",
        connected=False,
    ),
    make_call("r4", minute=3, party="1002", party_name="Dave Desk", cause="rejected", connected=False),
    make_call(
        "e5",
        minute=4,
        direction=Direction.OUTBOUND,
        party="+33142685300",
        party_name="Eve Paris",
        cause="transferred",
        talk=75,
    ),
)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[HistoryStore]:
    opened = HistoryStore(tmp_path / "history.sqlite3")
    yield opened
    opened.close()


@pytest.fixture
def filled(store: HistoryStore) -> HistoryStore:
    for call in CALLS:
        store.record(call, OWNER)
    return store


class HistoryApp(App[None]):
    """Only a history pane; ``/`` focuses its search as the dashboard's binding does."""

    BINDINGS = [("slash", "search_history", "Search history")]

    def __init__(self, store: HistoryStore | None, page_size: int = 50) -> None:
        super().__init__()
        self.store = store
        self.page_size = page_size
        self.callbacks: list[HistoryPane.CallBack] = []
        self.exports: list[HistoryPane.Exported | HistoryPane.ExportFailed] = []

    def compose(self) -> ComposeResult:
        yield HistoryPane(self.store, OWNER, page_size=self.page_size, id="history")

    @property
    def pane(self) -> HistoryPane:
        return self.query_one(HistoryPane)

    def action_search_history(self) -> None:
        self.pane.focus_search()

    def on_history_pane_call_back(self, message: HistoryPane.CallBack) -> None:
        self.callbacks.append(message)

    def on_history_pane_exported(self, message: HistoryPane.Exported) -> None:
        self.exports.append(message)

    def on_history_pane_export_failed(self, message: HistoryPane.ExportFailed) -> None:
        self.exports.append(message)


async def settle(pilot: Any) -> None:
    """Until the pane has the answer to what was last asked (its workers done, their messages handled); an
    export under way is not waited for."""
    for _ in range(50):
        queries = [w for w in pilot.app.workers if w.group != "history-export"]
        if queries:  # (an empty list means "every worker" to Textual)
            await pilot.app.workers.wait_for_complete(queries)
        await pilot.pause()
        if not pilot.app.query(HistoryPane) or not pilot.app.query_one(HistoryPane).busy:
            return
    raise AssertionError("the history pane never got its answer")


async def poll(pilot: Any, condition: Callable[[], bool], seconds: float = 30.0) -> bool:
    """Let the app run (without waiting for its workers) until ``condition`` holds, bounded in time."""
    for _ in range(int(seconds / 0.02)):
        if condition():
            return True
        await pilot.pause()
        await asyncio.sleep(0.02)
    return condition()


async def wait_for(pilot: Any, condition: Callable[[], bool], what: str, rounds: int = 50) -> None:
    """Let the app process messages (and the pane get its answers) until ``condition`` holds, bounded."""
    for _ in range(rounds):
        await settle(pilot)
        if condition():
            return
    assert condition(), f"timed out waiting for {what}"


def ids(pane: HistoryPane) -> list[str]:
    return [row.id for row in pane.rows]


def table_ids(pane: HistoryPane) -> list[str]:
    return list(pane.query_one(HistoryTable).keys)


def plain_row(pane: HistoryPane, index: int) -> list[str]:
    table = pane.query_one(HistoryTable)
    return [cell.plain for cell in table.cells(table.keys[index])]


async def test_rows_newest_first_with_formatted_cells(filled: HistoryStore) -> None:
    app = HistoryApp(filled)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.pane
        await wait_for(pilot, lambda: pane.total == 5, "the first page")
        assert ids(pane) == ["e5", "r4", "c3", "m2", "a1"]
        assert table_ids(pane) == ids(pane)
        assert pane.border_title == "History · 5"
        table = pane.query_one("#history-table", HistoryTable)
        assert table.cursor_row == 0
        search = pane.query_one("#history-search", Input)
        assert search.placeholder == "search number or name  (/)"
        # e5 released 09:04:05 + 75 s talk -> 09:05:20 UTC
        assert plain_row(pane, 0) == ["05-01 09:05", "↑ out", "transferred", "+33 1 42 68 53 00  Eve Paris", "01:15"]
        assert plain_row(pane, 3) == ["05-01 09:01", "↓ in", "missed", "+44 20 7183 8750  Bob Marley", "—"]
        assert plain_row(pane, 1)[3] == "1002  Dave Desk"
        outcome_styles = {pane.rows[i].outcome: table.cells(table.keys[i])[2].style for i in range(5)}
        assert outcome_styles[Outcome.MISSED] == "bold #f7768e"
        assert outcome_styles[Outcome.CANCELLED] == "dim"
        assert len(set(outcome_styles.values())) == 5


async def test_search_by_formatted_number_and_by_name(filled: HistoryStore) -> None:
    app = HistoryApp(filled)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.pane
        await wait_for(pilot, lambda: pane.total == 5, "the first page")
        pane.query_one(HistorySearch).focus()
        await pilot.press(*"202 555 01")
        await wait_for(pilot, lambda: pane.search_text == "202 555 01", "the search text")
        assert ids(pane) == ["c3", "a1"]
        assert pane.border_title == "History · 2"

        await pilot.press("ctrl+u", *"zola")
        await wait_for(pilot, lambda: pane.search_text == "zola", "the new search text")
        assert ids(pane) == ["a1"]

        await pilot.press("ctrl+u")
        await wait_for(pilot, lambda: pane.search_text == "", "the cleared search")
        assert ids(pane) == ["e5", "r4", "c3", "m2", "a1"]


async def test_outcome_filter_from_the_keyboard(filled: HistoryStore) -> None:
    app = HistoryApp(filled)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.pane
        await wait_for(pilot, lambda: pane.total == 5, "the first page")
        assert pane.outcome_filter is None
        select = pane.query_one("#history-outcome", Select)
        select.focus()
        await pilot.press("enter")  # open the list, on "All"
        await pilot.press("down", "down", "enter")  # All, answered, missed
        await wait_for(pilot, lambda: pane.outcome_filter is Outcome.MISSED, "the missed filter")
        assert ids(pane) == ["m2"]
        assert pane.border_title == "History · 1"

        select.value = "transferred"
        await wait_for(pilot, lambda: pane.outcome_filter is Outcome.TRANSFERRED, "the transferred filter")
        assert ids(pane) == ["e5"]

        # search and filter combine
        pane.query_one(HistorySearch).value = "zola"
        await wait_for(pilot, lambda: pane.search_text == "zola", "the search")
        assert ids(pane) == []
        select.value = "all"
        await wait_for(pilot, lambda: pane.outcome_filter is None, "no filter")
        assert ids(pane) == ["a1"]


async def test_paging_loads_the_next_page_at_the_last_row(store: HistoryStore) -> None:
    await asyncio.to_thread(store.record_many, [make_call(f"p{n:03d}", minute=n) for n in range(120)], OWNER)
    app = HistoryApp(store, page_size=50)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.pane
        await wait_for(pilot, lambda: pane.total == 120, "the first page")
        assert len(pane.rows) == 50
        assert ids(pane)[:2] == ["p119", "p118"]
        assert pane.border_title == "History · 120"
        table = pane.query_one(HistoryTable)
        table.focus()

        await pilot.press("end")  # to the last loaded row: the next page comes in
        await wait_for(pilot, lambda: len(pane.rows) == 100, "the second page")
        assert table.cursor_row == 49
        assert ids(pane)[49:51] == ["p070", "p069"]

        await pilot.press("end")
        await wait_for(pilot, lambda: len(pane.rows) == 120, "the last page")
        assert ids(pane)[-1] == "p000"
        assert table_ids(pane) == ids(pane)

        await pilot.press("end", "pagedown", "down")  # past the end: nothing more to load, nothing breaks
        await pilot.pause()
        assert len(pane.rows) == 120
        assert table.cursor_row == 119


async def test_down_arrow_pages_too(store: HistoryStore) -> None:
    await asyncio.to_thread(store.record_many, [make_call(f"d{n:02d}", minute=n) for n in range(12)], OWNER)
    app = HistoryApp(store, page_size=5)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.pane
        await wait_for(pilot, lambda: pane.total == 12, "the first page")
        pane.query_one(HistoryTable).focus()
        await pilot.press(*["down"] * 4)
        await wait_for(pilot, lambda: len(pane.rows) == 10, "the second page")
        await pilot.press(*["down"] * 5)
        await wait_for(pilot, lambda: len(pane.rows) == 12, "the third page")
        assert ids(pane) == [f"d{n:02d}" for n in range(11, -1, -1)]


async def test_enter_posts_call_back_with_the_party(filled: HistoryStore) -> None:
    app = HistoryApp(filled)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.pane
        await wait_for(pilot, lambda: pane.total == 5, "the first page")
        pane.query_one(HistoryTable).focus()
        await pilot.press("enter")  # e5: outbound, the party is the destination
        await wait_for(pilot, lambda: len(app.callbacks) == 1, "the first call back")
        await pilot.press("down", "down", "down", "enter")  # m2: inbound, the party is the source
        await wait_for(pilot, lambda: len(app.callbacks) == 2, "the second call back")
        assert [(m.number, m.name) for m in app.callbacks] == [
            ("+33142685300", "Eve Paris"),
            ("+442071838750", "Bob Marley"),
        ]


async def test_slash_focuses_search_and_escape_returns_to_the_table(filled: HistoryStore) -> None:
    app = HistoryApp(filled)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.pane
        await wait_for(pilot, lambda: pane.total == 5, "the first page")
        table = pane.query_one(HistoryTable)
        table.focus()
        await pilot.press("slash")
        await wait_for(pilot, lambda: app.focused is pane.query_one(HistorySearch), "focus on the search")
        await pilot.press(*"marley")
        await wait_for(pilot, lambda: pane.search_text == "marley", "the search")
        assert ids(pane) == ["m2"]
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.focused is table, "focus back on the table")
        assert pane.search_text == "marley"  # leaving the box keeps the search
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(app.callbacks) == 1, "the call back")
        assert app.callbacks[0].number == "+442071838750"


async def test_reload_shows_a_new_call_on_top_and_keeps_the_cursor(filled: HistoryStore) -> None:
    app = HistoryApp(filled)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.pane
        await wait_for(pilot, lambda: pane.total == 5, "the first page")
        table = pane.query_one(HistoryTable)
        table.focus()
        await pilot.press("down", "down")
        await wait_for(pilot, lambda: pane.selected_row is not None and pane.selected_row.id == "c3", "c3")

        await asyncio.to_thread(
            filled.record, make_call("n6", minute=30, party="+12025550111", party_name="Nina"), OWNER
        )
        assert ids(pane)[0] == "e5"  # nothing moves until the dashboard says so
        pane.reload()
        await settle(pilot)
        assert ids(pane) == ["n6", "e5", "r4", "c3", "m2", "a1"]
        assert pane.border_title == "History · 6"
        assert pane.selected_row is not None and pane.selected_row.id == "c3"


async def test_reload_keeps_search_and_filter(filled: HistoryStore) -> None:
    app = HistoryApp(filled)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.pane
        await wait_for(pilot, lambda: pane.total == 5, "the first page")
        pane.query_one(Select).value = "answered"
        pane.query_one(HistorySearch).value = "202"
        await wait_for(pilot, lambda: pane.search_text == "202" and pane.outcome_filter, "search and filter")
        assert ids(pane) == ["a1"]
        await asyncio.to_thread(
            filled.record, make_call("n7", minute=40, party="+12025550177", party_name="Ned"), OWNER
        )
        missed = make_call("n8", minute=41, party="+12025550188", connected=False)
        await asyncio.to_thread(filled.record, missed, OWNER)
        pane.reload()
        await settle(pilot)
        assert ids(pane) == ["n7", "a1"]
        assert pane.search_text == "202" and pane.outcome_filter is Outcome.ANSWERED


async def test_export_csv_writes_the_filtered_rows(filled: HistoryStore, tmp_path: Path) -> None:
    app = HistoryApp(filled)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.pane
        await wait_for(pilot, lambda: pane.total == 5, "the first page")
        pane.query_one(HistorySearch).value = "202 555"
        await wait_for(pilot, lambda: pane.search_text == "202 555", "the search")
        target = tmp_path / "export.csv"
        assert pane.export_csv(target)
        await wait_for(pilot, lambda: len(app.exports) == 1, "the export")
        assert isinstance(app.exports[0], HistoryPane.Exported) and app.exports[0].rows == 2
        with target.open(newline="", encoding="utf-8") as f:
            exported = list(csv.DictReader(f))
        assert [r["id"] for r in exported] == ["c3", "a1"]

        pane.query_one(Select).value = "cancelled"
        await wait_for(pilot, lambda: pane.outcome_filter is Outcome.CANCELLED, "the filter")
        assert pane.export_csv(target)
        await wait_for(pilot, lambda: len(app.exports) == 2, "the second export")
        assert isinstance(app.exports[1], HistoryPane.Exported) and app.exports[1].rows == 1
        with target.open(newline="", encoding="utf-8") as f:
            assert [r["id"] for r in csv.DictReader(f)] == ["c3"]
        assert not pane.exporting and not pane.query("#history-export")  # the progress row went


async def test_store_error_shows_a_line_instead_of_crashing(
    filled: HistoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = HistoryApp(filled)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.pane
        await wait_for(pilot, lambda: pane.total == 5, "the first page")
        message = pane.query_one("#history-message", Static)
        assert not message.display

        def broken(*args: object, **kwargs: object) -> None:
            raise HistoryError("cannot read call history: disk I/O error", filled.path)

        monkeypatch.setattr(filled, "query", broken)
        pane.reload()
        await settle(pilot)
        assert pane.error is not None and "disk I/O error" in pane.error
        assert message.display
        assert "disk I/O error" in str(message.render())
        assert pane.rows == []
        assert pane.border_title == "History"

        monkeypatch.undo()
        pane.reload()
        await settle(pilot)
        assert pane.error is None and not message.display
        assert len(pane.rows) == 5


async def test_without_a_store_history_is_off(tmp_path: Path) -> None:
    app = HistoryApp(None)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.pane
        await pilot.pause()
        assert not pane.enabled
        message = pane.query_one("#history-message", Static)
        assert str(message.render()) == "call history is off"
        assert not pane.query(HistoryTable) and not pane.query(Input)
        pane.focus_search()  # the dashboard's `/` does nothing harmful
        pane.reload()
        await pilot.press("slash")
        assert pane.rows == [] and pane.search_text == "" and pane.outcome_filter is None
        pane.export_csv(tmp_path / "nothing.csv")  # says why, as a message: no exception into the caller
        await wait_for(pilot, lambda: len(app.exports) == 1, "the refusal")
        assert isinstance(app.exports[0], HistoryPane.ExportFailed)
        assert app.exports[0].reason == "call history is off: nothing to export"
        assert not (tmp_path / "nothing.csv").exists()


# --- off the event loop: threads, debounce, stale answers, slow answers, export in a worker ----------------


class GatedHistory:
    """The real store behind gates: a query for a held search (or an export) waits until released, as a big
    search or a slow disk would; it notes which thread asked. Structurally a ``CallHistory``."""

    def __init__(self, store: HistoryStore) -> None:
        self.store = store
        self.path = store.path
        self.asked: list[str | None] = []
        self.threads: set[int] = set()
        self.held: dict[str | None, threading.Event] = {}
        self.entered = threading.Event()

    def hold(self, search: str | None) -> threading.Event:
        self.held[search] = threading.Event()
        return self.held[search]

    def query(self, owner: str, **kwargs: Any) -> HistoryPage:
        self.asked.append(kwargs.get("search"))
        self.threads.add(threading.get_ident())
        gate = self.held.get(kwargs.get("search"))
        if gate is not None:
            self.entered.set()
            assert gate.wait(timeout=30)
        return self.store.query(owner, **kwargs)

    def export_csv(self, owner: str, destination: Path, **kwargs: Any) -> int:
        self.threads.add(threading.get_ident())
        gate = self.held.get("export")
        if gate is not None:
            for rows in (1, 2):
                kwargs["progress"](rows)
            self.entered.set()
            assert gate.wait(timeout=30)
        return self.store.export_csv(owner, destination, **kwargs)

    def wait_written(self, timeout: float | None = None) -> bool:
        return self.store.wait_written(timeout)

    def close(self) -> None:
        self.store.close()


async def entered(gated: GatedHistory) -> None:
    assert await asyncio.to_thread(gated.entered.wait, 30)
    gated.entered.clear()


async def test_an_answer_with_the_rows_already_shown_redraws_nothing(
    filled: HistoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    cleared: list[int] = []
    real_replace = HistoryTable.replace_rows

    def counted_replace(table: HistoryTable, rows: list, keep: str | None = None) -> None:
        cleared.append(table.row_count)
        real_replace(table, rows, keep)

    monkeypatch.setattr(HistoryTable, "replace_rows", counted_replace)
    app = HistoryApp(filled)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.pane
        await wait_for(pilot, lambda: pane.total == 5, "the first page")
        table = pane.query_one(HistoryTable)
        table.focus()
        await pilot.press("down")
        cleared.clear()
        pane.query_one(HistorySearch).value = "a"  # every call has an "a" in it: the same five rows
        await wait_for(pilot, lambda: pane.search_text == "a", "the search")
        assert cleared == [] and ids(pane) == ["e5", "r4", "c3", "m2", "a1"] and table.cursor_row == 1
        pane.query_one(HistorySearch).value = "ol"  # Carol, Zola: other rows, drawn again
        await wait_for(pilot, lambda: pane.search_text == "ol", "the narrower search")
        assert cleared == [5] and ids(pane) == ["c3", "a1"]


async def test_queries_run_on_worker_threads_never_the_loop(filled: HistoryStore) -> None:
    gated = GatedHistory(filled)
    app = HistoryApp(gated)  # type: ignore[arg-type]
    async with app.run_test(size=SIZE) as pilot:
        pane = app.pane
        await wait_for(pilot, lambda: pane.total == 5, "the first page")
        pane.focus_search()
        await pilot.press(*"zola")
        await wait_for(pilot, lambda: ids(pane) == ["a1"], "the search")
        assert gated.threads and threading.get_ident() not in gated.threads


async def test_typing_fast_asks_once(filled: HistoryStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pane_module, "SEARCH_DEBOUNCE", 0.5)  # far longer than the keys take to arrive
    gated = GatedHistory(filled)
    app = HistoryApp(gated)  # type: ignore[arg-type]
    async with app.run_test(size=SIZE) as pilot:
        pane = app.pane
        await wait_for(pilot, lambda: pane.total == 5, "the first page")
        pane.focus_search()
        await pilot.press(*"zola")
        await wait_for(pilot, lambda: ids(pane) == ["a1"], "the search")
        assert gated.asked == [None, "zola"]


async def test_the_last_keystroke_wins(filled: HistoryStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """A search still running when the next key comes is cancelled; its answer, however late, is not shown."""
    monkeypatch.setattr(pane_module, "SEARCH_DEBOUNCE", 0.0)
    gated = GatedHistory(filled)
    release = gated.hold("mar")
    app = HistoryApp(gated)  # type: ignore[arg-type]
    async with app.run_test(size=SIZE) as pilot:
        pane = app.pane
        await wait_for(pilot, lambda: pane.total == 5, "the first page")
        pane.focus_search()
        await pilot.press(*"mar")
        await entered(gated)  # "mar" is being searched (and stays so)
        await pilot.press("ctrl+u", *"zola")
        await wait_for(pilot, lambda: pane.search_text == "zola" and ids(pane) == ["a1"], "the newer search")
        release.set()  # the old answer comes back now...
        await asyncio.sleep(0.1)
        await settle(pilot)
        assert ids(pane) == ["a1"] and pane.border_title == "History · 1"  # ...and is dropped
        stale = HistoryPane._Answer(
            pane_module._Ask(1, "mar", None, 50, 0), False, HistoryPage([], 0), None
        )  # an answer posted just before a newer question was asked
        pane.post_message(stale)
        await settle(pilot)
        assert ids(pane) == ["a1"]


async def test_a_slow_answer_says_searching(filled: HistoryStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pane_module, "SEARCH_DEBOUNCE", 0.0)
    monkeypatch.setattr(pane_module, "SEARCHING_AFTER", 0.05)
    gated = GatedHistory(filled)
    release = gated.hold("zola")
    app = HistoryApp(gated)  # type: ignore[arg-type]
    async with app.run_test(size=SIZE) as pilot:
        pane = app.pane
        await wait_for(pilot, lambda: pane.total == 5, "the first page")
        pane.query_one(HistorySearch).value = "zola"  # pasted: one question
        await entered(gated)
        for _ in range(100):
            if pane.border_title == "History · searching…":
                break
            await asyncio.sleep(0.02)
            await pilot.pause()
        assert pane.border_title == "History · searching…"
        assert ids(pane) == ["e5", "r4", "c3", "m2", "a1"]  # the previous answer stays until the new one
        release.set()
        await wait_for(pilot, lambda: ids(pane) == ["a1"], "the answer")
        assert pane.border_title == "History · 1"


async def test_export_runs_in_a_worker_with_a_progress_bar(
    filled: HistoryStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pane_module, "PROGRESS_EVERY", 0.0)
    gated = GatedHistory(filled)
    release = gated.hold("export")
    app = HistoryApp(gated)  # type: ignore[arg-type]
    async with app.run_test(size=SIZE) as pilot:
        pane = app.pane
        await wait_for(pilot, lambda: pane.total == 5, "the first page")
        target = tmp_path / "export.csv"
        assert pane.export_csv(target)
        await entered(gated)
        await wait_for(pilot, lambda: pane.query("#history-export-bar"), "the progress bar")
        bar = pane.query_one("#history-export-bar", ProgressBar)
        await wait_for(pilot, lambda: bar.progress == 2, "the progress")
        assert bar.total == 5 and pane.exporting
        assert not pane.export_csv(tmp_path / "second.csv")  # one at a time
        pane.focus_search()
        await pilot.press(*"zola")  # the app is usable meanwhile
        await wait_for(pilot, lambda: ids(pane) == ["a1"], "a search during the export")
        release.set()
        await wait_for(pilot, lambda: len(app.exports) == 1, "the export")
        assert isinstance(app.exports[0], HistoryPane.Exported) and app.exports[0].rows == 5  # as asked
        assert not pane.exporting and not pane.query("#history-export")
        assert target.exists() and not (tmp_path / "second.csv").exists()
        assert threading.get_ident() not in gated.threads


async def test_export_failures_come_back_as_messages(filled: HistoryStore, tmp_path: Path) -> None:
    app = HistoryApp(filled)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.pane
        await wait_for(pilot, lambda: pane.total == 5, "the first page")
        pane.export_csv(tmp_path / "no such folder" / "export.csv")
        await wait_for(pilot, lambda: len(app.exports) == 1, "the failure")
        failed = app.exports[0]
        assert isinstance(failed, HistoryPane.ExportFailed) and "No such file or directory" in failed.reason
        assert not pane.exporting

        filled.close()  # a closed store refuses
        pane.export_csv(tmp_path / "export.csv")
        await wait_for(pilot, lambda: len(app.exports) == 2, "the second failure")
        assert isinstance(app.exports[1], HistoryPane.ExportFailed) and "closed" in app.exports[1].reason
        assert not (tmp_path / "export.csv").exists()


@pytest.fixture
def damaged(tmp_path: Path) -> Iterator[HistoryStore]:
    """A store that opened (the cheap checks pass) and whose background check then found the file damaged."""
    path = tmp_path / "history.sqlite3"
    with HistoryStore(path) as store:
        store.record_many((make_call(f"c{i:04d}", minute=i) for i in range(2000)), OWNER)
    _damage_far_from_the_schema(path)
    opened = HistoryStore(path, check_in_background=True)
    assert opened.wait_checked(timeout=30) and opened.damage is not None
    yield opened
    opened.close()


async def test_exporting_from_a_damaged_file_says_so(damaged: HistoryStore, tmp_path: Path) -> None:
    app = HistoryApp(damaged)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.pane
        await wait_for(pilot, lambda: pane.error is not None, "the damage on the pane")
        pane.export_csv(tmp_path / "export.csv")
        await wait_for(pilot, lambda: len(app.exports) == 1, "the failure")
        failed = app.exports[0]
        assert isinstance(failed, HistoryPane.ExportFailed) and "damaged" in failed.reason
        assert not (tmp_path / "export.csv").exists()


async def test_a_reload_shows_a_call_that_waited_for_the_integrity_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Seconds after start-up a new call may wait in the writer for the background check: the reload shows
    what is there, and reloads again once the call is committed."""
    path = tmp_path / "history.sqlite3"
    with HistoryStore(path) as store:
        await asyncio.to_thread(store.record, CALLS[0], OWNER)
    release = threading.Event()
    real_check = HistoryStore._check_integrity

    def held(self: HistoryStore, conn: Any) -> None:
        if threading.current_thread().name == "history-check":
            assert release.wait(timeout=30)
        real_check(self, conn)

    monkeypatch.setattr(HistoryStore, "_check_integrity", held)
    monkeypatch.setattr(pane_module, "WRITTEN_WAIT", 0.05)
    store = HistoryStore(path, check_in_background=True)
    try:
        app = HistoryApp(store)
        async with app.run_test(size=SIZE) as pilot:
            pane = app.pane
            await wait_for(pilot, lambda: ids(pane) == ["a1"], "the first page")
            committed = store.submit(CALLS[1], OWNER)  # as the recorder does, on the loop
            pane.reload()
            # (not wait_for: its settle would wait for the reload's worker, which waits for the check)
            assert await poll(pilot, lambda: not pane.busy), "the reload never answered"
            assert ids(pane) == ["a1"] and not committed.done()  # the call waits for the check
            release.set()
            await wait_for(pilot, lambda: ids(pane) == ["m2", "a1"], "the second reload")
    finally:
        release.set()
        store.close()
