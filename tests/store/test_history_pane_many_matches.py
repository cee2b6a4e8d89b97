"""The history pane over a search that matches more rows than are worth counting: the title says "N+",
and paging goes on until a page comes back short (the store's cap is lowered so that 30 rows are many)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from textual.app import App, ComposeResult

from cti_tui.core.model import Call, CallStatus, Direction
from cti_tui.store import history as history_module
from cti_tui.store.history import STRICT_OFF_LOOP_ENV, HistoryStore
from cti_tui.ui.widgets.history_pane import HistoryPane
from tests.ui.test_history_pane import settle

OWNER = "user:1001"
T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


def call(i: int) -> Call:
    setup = T0 + timedelta(minutes=i)
    return Call(
        id=f"c{i:02d}",
        cid=f"cid-{i}",
        direction=Direction.INBOUND,
        status=CallStatus.HANGUP,
        line=OWNER,
        source=f"+1202555{i:04d}",
        destination="1001",
        source_name=f"Caller {i}",
        destination_name="Agent",
        cause="normal",
        setup_at=setup,
        connect_at=setup + timedelta(seconds=5),
        release_at=setup + timedelta(seconds=65),
    )


@pytest.fixture(autouse=True)
def strict_off_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(STRICT_OFF_LOOP_ENV, "1")


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[HistoryStore]:
    monkeypatch.setattr(history_module, "_SORT_AT_MOST", 12)
    opened = HistoryStore(tmp_path / "history.sqlite3")
    opened.record_many((call(i) for i in range(30)), OWNER)
    yield opened
    opened.close()


class PaneApp(App[None]):
    def __init__(self, store: HistoryStore) -> None:
        super().__init__()
        self.store = store

    def compose(self) -> ComposeResult:
        yield HistoryPane(self.store, OWNER, page_size=10, id="history")


async def test_many_matches_are_not_counted_to_the_end(store: HistoryStore) -> None:
    app = PaneApp(store)
    async with app.run_test(size=(100, 30)) as pilot:
        pane = app.query_one(HistoryPane)
        await settle(pilot)
        assert (pane.total, pane.total_exact, pane.border_title) == (30, True, "History · 30")  # kept counts
        pane.focus_search()
        await pilot.press(*"Caller")
        await settle(pilot)
        assert not pane.total_exact and pane.border_title == "History · 12+"
        assert [row.id for row in pane.rows] == [f"c{i:02d}" for i in range(29, 19, -1)]
        pages = 1
        while pane.load_more():  # until a page adds nothing: the end is found by reading, not by counting
            await settle(pilot)
            pages += 1
            assert pages <= 4
        assert not pane.has_more and pane.error is None
        assert [row.id for row in pane.rows] == [f"c{i:02d}" for i in range(29, -1, -1)]
        assert pane.border_title == "History · 30+"
        await pilot.press(*" 2")  # "Caller 2": 11 matches, under the cap: counted exactly
        await settle(pilot)
        assert pane.total_exact and pane.total == 11 and pane.border_title == "History · 11"
        assert pane.has_more and pane.load_more()  # a page of 10, then the 11th
        await settle(pilot)
        assert not pane.has_more and len(pane.rows) == 11


async def test_a_short_search_says_how_far_back_it_looked(store: HistoryStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 1-2 character search reads only the newest calls (the pane's budget, lowered to 10 here): the title
    says so, since an older call may match too."""
    from cti_tui.ui.widgets import history_pane

    monkeypatch.setattr(history_pane, "SCAN_AT_MOST", 10)
    app = PaneApp(store)
    async with app.run_test(size=(100, 30)) as pilot:
        pane = app.query_one(HistoryPane)
        await settle(pilot)
        pane.focus_search()
        await pilot.press("9")  # Caller 9, 19, 29: the 11 newest are c29 … c19
        await settle(pilot)
        assert [row.id for row in pane.rows] == ["c29", "c19"]
        assert pane.searched_newest == 10 and pane.border_title == "History · 2 in the newest 10"
        await pilot.press("backspace", *"Caller 9")  # the index: every call searched
        await settle(pilot)
        assert [row.id for row in pane.rows] == ["c09"] and pane.searched_newest is None
        assert pane.border_title == "History · 1"
