"""The call-history pane: the owner line's ended calls, newest first, searchable, filterable, paged.

Only the rows the user has scrolled to are loaded: one page at first, the next page when the cursor reaches
the last loaded row. Enter on a row asks the dashboard to call the other party back (a message; this widget
never dials).

Every query and export runs on a worker thread, never on the event loop: a search of a million calls can take
a second and an export many, and the loop also draws the screen and carries the engine. Typing is
debounced; a newer keystroke cancels the query under way (the store interrupts it) and an answer that comes
back for an older one is dropped, so the last keystroke's answer always wins. A query that takes a while
says "searching…" in the title. The pane knows history only as :class:`cti_tui.core.history.CallHistory`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from time import monotonic
from typing import ClassVar

import rich.repr
from rich.style import Style
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input, ProgressBar, Select, Static

from cti_tui.core.history import (
    CallHistory,
    Cancellation,
    HistoryCancelled,
    HistoryError,
    HistoryPage,
    HistoryRow,
    Outcome,
)
from cti_tui.core.model import Direction
from cti_tui.core.numbers import format_for_display
from cti_tui.ui import render
from cti_tui.ui.widgets.active_calls import join_cells
from cti_tui.ui.widgets.row_view import RowView

OUTCOME_STYLE: dict[Outcome, str] = {
    Outcome.ANSWERED: "#9ece6a",
    Outcome.MISSED: "bold #f7768e",
    Outcome.CANCELLED: "dim",
    Outcome.REJECTED: "#ff9e64",
    Outcome.TRANSFERRED: "#7aa2f7",
    Outcome.INTERRUPTED: "italic #e0af68",
}

COLUMNS: tuple[tuple[str, str, int | None], ...] = (
    ("when", "When", 11),
    ("dir", "Dir", 5),
    ("outcome", "Outcome", 11),
    ("party", "Party", None),
    ("talk", "Talk", 8),
)

GAP = 2
MIN_PARTY = 10  # an 80-column dashboard leaves the pane ~54 cells: the header still fits

_ALL = "all"  # the outcome filter's "no filter" value (Select needs a real option for it)
OFF_MESSAGE = "call history is off"

SEARCH_DEBOUNCE = 0.12  # seconds of no typing before a search runs: "Caller 1" typed fast is one query
SEARCHING_AFTER = 0.3  # seconds a query may take before the title says "searching…"
WRITTEN_WAIT = 2.0  # seconds a reload waits for the call that just ended to be committed (the writer thread)
LATE_WAIT = 60.0  # seconds it then waits, after showing what is there, to reload once those calls are in
SCAN_AT_MOST = 200_000
"""Calls a search too short for the trigram index (1-2 characters) reads at most, newest first: a rare one read
a million rows (bench/README.md); the title then says how far it looked."""
PROGRESS_EVERY = 0.1  # seconds between two progress updates of an export


# --- cells (pure) -------------------------------------------------------------------------------------------


def when_text(row: HistoryRow) -> Text:
    """``MM-DD HH:MM`` of the release (else the setup) in UTC: the same on every machine and in snapshots."""
    moment = row.release_at or row.connect_at or row.setup_at
    if moment is None:
        return Text("—", style="dim")
    return Text(moment.strftime("%m-%d %H:%M"))


def direction_text(row: HistoryRow) -> Text:
    if row.direction is Direction.INBOUND:
        return Text("↓ in", style="#7dcfff")
    return Text("↑ out", style="#e0af68")


def outcome_text(row: HistoryRow) -> Text:
    return Text(row.outcome.value, style=OUTCOME_STYLE[row.outcome])


def party_text(row: HistoryRow) -> Text:
    text = Text(format_for_display(row.party) or "anonymous", style="bold")
    if row.party_name and row.party_name != row.party:
        text.append(f"  {row.party_name}", style="")
    if row.disposition:  # the agent's after-call work, at a glance (the note is in the export)
        text.append(f"  · {row.disposition}", style="italic #7aa2f7")
    return text


def talk_text(row: HistoryRow) -> Text:
    if row.talk_seconds <= 0:
        return Text("—", style="dim")
    return Text(render.clock_text(row.talk_seconds))


def row_cells(row: HistoryRow) -> list[Text]:
    return [when_text(row), direction_text(row), outcome_text(row), party_text(row), talk_text(row)]


# --- parts --------------------------------------------------------------------------------------------------


class HistorySearch(Input):
    """The search box; Escape hands the keyboard back to the list (the key bar says so: while the box has
    the focus the dashboard's keys are its text)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "leave", "Back to the list", id="history.leave_search"),
    ]

    class Leave(Message):
        """Escape (or Enter) in the search box."""

    def action_leave(self) -> None:
        self.post_message(self.Leave())


def column_widths(width: int) -> list[int]:
    """Fixed columns as given; the party column gets what they leave (at least MIN_PARTY)."""
    fixed = sum(w or 0 for _, _, w in COLUMNS)
    party = max(MIN_PARTY, width - fixed - GAP * (len(COLUMNS) - 1) - 1)
    return [w if w is not None else party for _, _, w in COLUMNS]


class HistoryTable(RowView):
    """The loaded history rows, keyed by call id, with a header and a cursor; says when the user pushes past
    its last loaded row.

    A row view, not Textual's DataTable: a new search answer replaced every row of a DataTable, which then
    rendered every visible cell again in one frame (44-65 ms, the longest loop block of a search at a million
    rows: bench/README.md). Here only the rows on screen are drawn, each once, from cached cells.
    """

    header_rows = 1
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select", "Call back", show=False, priority=True),
    ]

    class EndReached(Message):
        """Down, PageDown or End on the last loaded row: load more if there is more."""

    class Selected(Message):
        """Enter on a row (``key``: its call id)."""

        def __init__(self, table: HistoryTable, key: str) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> HistoryTable:
            return self.table

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._history_rows: dict[str, HistoryRow] = {}

    def replace_rows(self, rows: list[HistoryRow], keep: str | None = None) -> None:
        """Show exactly ``rows``; the cursor goes to ``keep`` if it is among them, else to the first row."""
        self._history_rows = {row.id: row for row in rows}
        self.set_keys(self._history_rows)
        target = keep if keep in self._history_rows else next(iter(self._history_rows), None)
        if target is not None:
            self.move_to(target)

    def add_rows(self, rows: list[HistoryRow]) -> None:
        for row in rows:
            self._history_rows[row.id] = row
            self.add(row.id)

    def cells(self, key: str) -> list[Text]:
        """Row ``key``'s cells as drawn (before they are fitted to their columns)."""
        return row_cells(self._history_rows[key])

    def _at_end(self) -> bool:
        return self.row_count > 0 and self.cursor_row >= self.row_count - 1

    def _past_end(self) -> bool:
        if self._at_end():
            self.post_message(self.EndReached())
            return True
        return False

    def action_cursor_down(self) -> None:
        if not self._past_end():
            super().action_cursor_down()

    def action_page_down(self) -> None:
        if not self._past_end():
            super().action_page_down()

    def action_last(self) -> None:
        if not self._past_end():
            super().action_last()

    def action_select(self) -> None:
        if self.cursor_key is not None:
            self.post_message(self.Selected(self, self.cursor_key))

    def render_header_row(self, row: int, width: int, base: Style) -> Text:
        return join_cells([Text(label) for _, label, _ in COLUMNS], column_widths(width), base)

    def render_item_row(self, key: str, row: int, width: int, base: Style) -> Text:
        return join_cells(self.cells(key), column_widths(width), base)


# --- the pane -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Ask:
    """One query as it was asked: the answer is used only if nothing newer was asked since (``generation``)."""

    generation: int
    search: str | None
    outcome: Outcome | None
    limit: int
    offset: int
    keep: str | None = None  # reload: the row id the cursor stays on
    advance: bool = False  # load more: move the cursor down once the rows are in (Down on the last row)


class HistoryPane(Vertical):
    """The owner line's call history. ``store=None`` (history could not be opened) shows a one-line notice."""

    DEFAULT_CSS = """
    HistoryPane {
        height: 1fr;
        border: round $primary-darken-2;
        border-title-color: $text-muted;
        &:focus-within { border: round $primary; border-title-color: $text; }
        & > #history-filters { height: 1; }
        & > #history-filters > #history-search { width: 1fr; }
        & > #history-filters > #history-outcome { width: 18; margin-left: 1; }
        & > #history-export { height: 1; }
        & > #history-export > #history-export-label { width: auto; margin-right: 1; color: $text-muted; }
        & > #history-message { height: 1; color: $error; }
        & > #history-message.-off { color: $text-muted; text-style: dim; }
        & > #history-table { height: 1fr; }
    }
    """

    class CallBack(Message):
        """Enter on a history row: the dashboard may dial ``number`` (the other party of that call)."""

        def __init__(self, number: str, name: str) -> None:
            super().__init__()
            self.number = number
            self.name = name

        def __rich_repr__(self) -> rich.repr.Result:
            yield "number", self.number
            yield "name", self.name

    class Exported(Message):
        """An export finished: ``rows`` calls are in ``path``."""

        def __init__(self, path: Path, rows: int) -> None:
            super().__init__()
            self.path = path
            self.rows = rows

    class ExportFailed(Message):
        """An export did not happen or did not finish (history off, the file, the path); nothing was left."""

        def __init__(self, path: Path, reason: str) -> None:
            super().__init__()
            self.path = path
            self.reason = reason

    class _Answer(Message):
        """A worker's page (or its error) for one :class:`_Ask`; only the pane reads it."""

        bubble = False

        def __init__(self, ask: _Ask, append: bool, page: HistoryPage | None, error: str | None) -> None:
            super().__init__()
            self.ask = ask
            self.append = append
            self.page = page
            self.error = error

    class _WrittenLate(Message):
        """The calls a reload could not wait for are committed now."""

        bubble = False

        def __init__(self, generation: int) -> None:
            super().__init__()
            self.generation = generation

    class _ExportProgress(Message):
        """Rows written so far by the export under way; -1 when it is over (the bar goes)."""

        bubble = False

        def __init__(self, rows: int) -> None:
            super().__init__()
            self.rows = rows

    def __init__(
        self,
        store: CallHistory | None,
        owner: str,
        *,
        page_size: int = 50,
        id: str | None = None,
    ) -> None:
        if page_size < 1:
            raise ValueError(f"page_size must be at least 1 (got {page_size})")
        super().__init__(id=id)
        self.store = store
        self.owner = owner
        self.page_size = page_size
        self._search = ""
        self._outcome: Outcome | None = None
        self._rows: list[HistoryRow] = []
        self._ids: set[str] = set()
        self._total = 0
        self._exact = True  # False: _total is a lower bound (a search that was not counted to the end)
        self._searched_newest: int | None = None  # a short search looked through only this many newest calls
        self._exhausted = False  # the last page came back short: nothing more to load
        self._error: str | None = None
        self._ready = False
        self._generation = 0  # bumped by every new question (search, filter, reload): older answers are dropped
        self._requerying = False  # a replacing query is asked and not answered yet
        self._loading_more = False
        self._slow_timer: Timer | None = None
        self._slow = False  # the answer is late: the title says "searching…"
        self._export_cancel: Cancellation | None = None
        self.border_title = "History"

    # -- composition

    def compose(self) -> ComposeResult:
        if self.store is None:
            yield Static(OFF_MESSAGE, id="history-message", classes="-off", markup=False)
            return
        with Horizontal(id="history-filters"):
            yield HistorySearch(placeholder="search number or name  (/)", id="history-search", compact=True)
            yield Select(
                [("All", _ALL), *((o.value, o.value) for o in Outcome)],
                value=_ALL,
                allow_blank=False,
                compact=True,
                id="history-outcome",
            )
        message = Static("", id="history-message", markup=False)
        message.display = False
        yield message
        yield HistoryTable(id="history-table")

    def on_mount(self) -> None:
        if self.store is None:
            return
        self._ready = True
        self._requery()

    def on_unmount(self) -> None:
        if self._export_cancel is not None:  # a closed screen wants no file: stop reading at once
            self._export_cancel.cancel()

    # -- what tests and the dashboard read

    @property
    def search_text(self) -> str:
        return self._search

    @property
    def outcome_filter(self) -> Outcome | None:
        return self._outcome

    @property
    def enabled(self) -> bool:
        """False when history is off (no store): hide "export" and the like."""
        return self.store is not None

    @property
    def rows(self) -> list[HistoryRow]:
        """The rows loaded so far, in table order (newest first)."""
        return list(self._rows)

    @property
    def total(self) -> int:
        """How many rows match the current search and filter (loaded or not); see :attr:`total_exact`."""
        return self._total

    @property
    def searched_newest(self) -> int | None:
        """How many of the newest calls a short search looked through (older ones exist); None: all of them."""
        return self._searched_newest

    @property
    def total_exact(self) -> bool:
        """False when :attr:`total` is only a lower bound: a search matching very many rows."""
        return self._exact

    @property
    def has_more(self) -> bool:
        if self._exact:
            return len(self._rows) < self._total
        return not self._exhausted

    @property
    def busy(self) -> bool:
        """A query was asked and its answer has not been shown yet (the rows are the previous answer's)."""
        return self._requerying or self._loading_more

    @property
    def exporting(self) -> bool:
        return self._export_cancel is not None

    @property
    def error(self) -> str | None:
        """The message of the last failed query, ``None`` once a query succeeds."""
        return self._error

    @property
    def selected_row(self) -> HistoryRow | None:
        if self.store is None or not self._rows:
            return None
        index = self.query_one(HistoryTable).cursor_row
        return self._rows[index] if 0 <= index < len(self._rows) else None

    # -- what the dashboard calls

    def focus_search(self) -> None:
        """Focused now, not at the next turn (``focus()``): keys queued behind "/" are the search's."""
        if self.store is not None:
            self.screen.set_focus(self.query_one(HistorySearch))

    def focus_table(self) -> None:
        if self.store is not None:
            self.query_one(HistoryTable).focus()

    def show_outcome(self, outcome: Outcome | None) -> None:
        """Filter to ``outcome`` (None: all) as the drop-down does, and put the keys on the list."""
        if self.store is not None:
            self.query_one("#history-outcome", Select).value = outcome.value if outcome else _ALL
            self.focus_table()

    def reload(self) -> None:
        """Re-query from the top with the same search and filter (a call just ended).

        As many rows as are loaded now are loaded again (at least a page), and the cursor stays on the call
        it was on, so a new call arriving on top does not pull the list from under the user. The query first
        waits (on its thread, a bounded time) for the calls handed to the writer thread to be committed.
        """
        if not self._ready:
            return
        selected = self.selected_row
        self._requery(
            limit=max(self.page_size, len(self._rows)),
            keep=selected.id if selected is not None else None,
            settle_writes=True,
        )

    def export_csv(self, path: Path) -> bool:
        """Start writing every row matching the current search and filter to ``path`` as CSV (JSON for a
        ``.json`` path), on a worker thread, with a progress bar in the pane. The outcome comes back as
        :class:`Exported` or :class:`ExportFailed` (history off, a damaged file, an unwritable path: never
        raised). False when an export is already running (nothing started)."""
        path = Path(path)
        if self.store is None:
            self.post_message(self.ExportFailed(path, f"{OFF_MESSAGE}: nothing to export"))
            return True
        if self._export_cancel is not None:
            return False
        self._export_cancel = cancel = Cancellation()
        total = self._total if self._exact and self._error is None else None
        self.mount(
            Horizontal(
                Static(f"exporting to {path.name}", id="history-export-label", markup=False),
                ProgressBar(total=total, show_eta=False, id="history-export-bar"),
                id="history-export",
            ),
            after=self.query_one("#history-filters"),
        )
        self._export(self.store, path, self._search or None, self._outcome, cancel)
        return True

    # -- loading (the questions go out here; the answers come back as _Answer messages)

    def _requery(
        self,
        *,
        limit: int | None = None,
        keep: str | None = None,
        settle_writes: bool = False,
        debounce: bool = False,
    ) -> None:
        """Replace the table with the first ``limit`` rows matching the current search and filter, once the
        answer is in. Whatever was asked before is cancelled, and its answer dropped if it still comes.
        ``debounce``: a keystroke, so wait a moment for the next one before asking."""
        assert self.store is not None
        self._generation += 1
        self._requerying = True
        self._loading_more = False  # a page of the previous question is of no use any more
        self.workers.cancel_group(self, "history-more")
        ask = _Ask(self._generation, self._search or None, self._outcome, limit or self.page_size, 0, keep=keep)
        pause = SEARCH_DEBOUNCE if debounce else 0.0
        self._expect_answer(pause + SEARCHING_AFTER)
        self._fetch_first(self.store, ask, pause, settle_writes)

    def load_more(self) -> bool:
        """Ask for the next page, if there is one and none is on its way; True when a page was asked for."""
        if not self._ready or self.store is None or not self.has_more or self.busy:
            return False
        ask = _Ask(self._generation, self._search or None, self._outcome, self.page_size, len(self._rows))
        self._start_more(ask)
        return True

    def _start_more(self, ask: _Ask) -> None:
        assert self.store is not None
        self._loading_more = True
        self._expect_answer(SEARCHING_AFTER)
        self._fetch_more(self.store, ask)

    @work(group="history-query", exclusive=True, exit_on_error=False)
    async def _fetch_first(self, store: CallHistory, ask: _Ask, debounce: float, settle_writes: bool) -> None:
        """A new question replaces the table: one at a time, the newest cancels the others."""
        await self._fetch(store, ask, append=False, debounce=debounce, settle_writes=settle_writes)

    @work(group="history-more", exclusive=True, exit_on_error=False)
    async def _fetch_more(self, store: CallHistory, ask: _Ask) -> None:
        await self._fetch(store, ask, append=True)

    async def _fetch(
        self, store: CallHistory, ask: _Ask, *, append: bool, debounce: float = 0.0, settle_writes: bool = False
    ) -> None:
        """Worker: wait out the debounce, run the query on a thread, post the answer. A cancelled worker (a
        newer question) interrupts its query and posts nothing.

        ``settle_writes`` (a reload after a call ended): first wait, a bounded time, for the writer thread to
        commit what it was handed. If that took longer (rows wait for the integrity check seconds after
        start-up), the answer is shown anyway and the pane reloads once they are committed."""
        if debounce:
            await asyncio.sleep(debounce)
        cancel = Cancellation()
        written = True

        def ask_the_store() -> HistoryPage:
            nonlocal written
            if settle_writes:
                written = store.wait_written(WRITTEN_WAIT)
            return store.query(
                self.owner,
                search=ask.search,
                outcome=ask.outcome,
                limit=ask.limit,
                offset=ask.offset,
                exact_total=False,
                cancel=cancel,
                scan_at_most=SCAN_AT_MOST,
            )

        try:
            page = await asyncio.to_thread(ask_the_store)
        except asyncio.CancelledError:
            cancel.cancel()
            raise
        except HistoryCancelled:
            return
        except HistoryError as exc:
            self.post_message(self._Answer(ask, append, None, str(exc)))
            return
        self.post_message(self._Answer(ask, append, page, None))
        if not written and await asyncio.to_thread(store.wait_written, LATE_WAIT):
            self.post_message(self._WrittenLate(ask.generation))

    @on(_WrittenLate)
    def _written_late(self, message: _WrittenLate) -> None:
        message.stop()
        if message.generation == self._generation:  # nothing newer was asked meanwhile: show what was written
            self.reload()

    @on(_Answer)
    def _answered(self, message: _Answer) -> None:
        message.stop()
        ask = message.ask
        if ask.generation != self._generation:
            return  # asked before the latest search, filter or reload: not what the screen shows now
        if message.append:
            self._loading_more = False
        else:
            self._requerying = False
        if not self.busy:
            self._answer_in()
        if message.error is not None:
            if not message.append:
                self._rows, self._ids, self._total, self._exact = [], set(), 0, True
                self.query_one(HistoryTable).replace_rows([])
            self._show_error(message.error)
            self._update_title()
            return
        page = message.page
        assert page is not None
        self._show_error(None)
        table = self.query_one(HistoryTable)
        self._searched_newest = page.searched_newest
        if message.append:
            self._total, self._exact = page.total, page.exact
            self._exhausted = len(page.rows) < ask.limit
            if self._append(page.rows) and ask.advance:
                table.action_cursor_down()
        elif page.rows == self._rows:
            # The very calls on screen ("Calle" → "Caller" when every caller matches): nothing to redraw.
            self._total, self._exact = page.total, page.exact
            self._exhausted = len(page.rows) < ask.limit
        else:
            rows = list({row.id: row for row in page.rows}.values())
            self._rows, self._ids, self._total = rows, {row.id for row in rows}, page.total
            self._exact, self._exhausted = page.exact, len(page.rows) < ask.limit
            table.replace_rows(rows, keep=ask.keep)
        self._update_title()

    def _append(self, rows: list[HistoryRow]) -> int:
        """Add rows not shown yet (a call recorded between two pages shifts the offsets by one)."""
        new = [row for row in {row.id: row for row in rows}.values() if row.id not in self._ids]
        self.query_one(HistoryTable).add_rows(new)
        self._rows += new
        self._ids.update(row.id for row in new)
        return len(new)

    def _show_error(self, message: str | None) -> None:
        self._error = message
        line = self.query_one("#history-message", Static)
        line.update(f"history: {message}" if message else "")
        line.display = message is not None

    def _update_title(self) -> None:
        if self._slow:
            self.border_title = "History · searching…"
        elif self._error is not None:
            self.border_title = "History"
        elif self._exact:
            self.border_title = f"History · {self._total}"
        elif self._searched_newest is not None:
            self.border_title = f"History · {self._total} in the newest {self._searched_newest:,}"
        else:
            self.border_title = f"History · {max(self._total - 1, len(self._rows))}+"

    def _expect_answer(self, delay: float) -> None:
        """The title will say "searching…" if no answer is in after ``delay`` (fast answers never flicker)."""
        if self._slow_timer is not None:
            self._slow_timer.stop()
        self._slow_timer = self.set_timer(delay, self._late)

    def _late(self) -> None:
        self._slow_timer = None
        if self.busy:
            self._slow = True
            self._update_title()

    def _answer_in(self) -> None:
        if self._slow_timer is not None:
            self._slow_timer.stop()
            self._slow_timer = None
        self._slow = False

    # -- exporting

    @work(group="history-export", exit_on_error=False)
    async def _export(
        self, store: CallHistory, path: Path, search: str | None, outcome: Outcome | None, cancel: Cancellation
    ) -> None:
        """Worker: the export on a thread; progress and the outcome come back as messages."""
        last = 0.0

        def progress(rows: int) -> None:  # on the export's thread: post, never touch the bar
            nonlocal last
            now = monotonic()
            if now - last >= PROGRESS_EVERY:
                last = now
                self.post_message(self._ExportProgress(rows))

        def export() -> int:
            write = store.export_json if path.suffix.lower() == ".json" else store.export_csv  # by the file's kind
            return write(self.owner, path, search=search, outcome=outcome, progress=progress, cancel=cancel)

        try:
            rows = await asyncio.to_thread(export)
        except asyncio.CancelledError:
            cancel.cancel()
            raise
        except (HistoryError, OSError, ValueError) as exc:
            self.post_message(self.ExportFailed(path, str(exc)))
        else:
            self.post_message(self.Exported(path, rows))
        finally:
            self.post_message(self._ExportProgress(-1))  # the bar goes

    @on(_ExportProgress)
    def _export_progressed(self, message: _ExportProgress) -> None:
        message.stop()
        if message.rows < 0:
            self._export_cancel = None
            for row in self.query("#history-export"):
                row.remove()
            return
        for bar in self.query("#history-export-bar").results(ProgressBar):
            if bar.total is not None and message.rows > bar.total:
                bar.update(total=None)  # more rows than counted (calls ended meanwhile): no percentage
            bar.update(progress=message.rows)

    # -- events from the parts (stopped here: they are this pane's business, not the dashboard's)

    @on(Input.Changed, "#history-search")
    def _search_changed(self, event: Input.Changed) -> None:
        event.stop()
        if event.value == self._search:
            return
        self._search = event.value
        if self._ready:
            self._requery(debounce=True)

    @on(Input.Submitted, "#history-search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.focus_table()

    @on(HistorySearch.Leave)
    def _search_left(self, event: HistorySearch.Leave) -> None:
        event.stop()
        self.focus_table()

    @on(Select.Changed, "#history-outcome")
    def _outcome_changed(self, event: Select.Changed) -> None:
        event.stop()
        value = event.value
        outcome = Outcome(value) if isinstance(value, str) and value != _ALL else None
        if outcome == self._outcome:
            return
        self._outcome = outcome
        if self._ready:
            self._requery()

    @on(HistoryTable.Highlighted, "#history-table")
    def _row_highlighted(self, event: HistoryTable.Highlighted) -> None:
        event.stop()
        table = self.query_one(HistoryTable)
        # Judge by the cursor now, not the message: a requery may have replaced the rows since it was sent.
        if table.row_count and table.cursor_row >= table.row_count - 1:
            self.load_more()

    @on(HistoryTable.EndReached)
    def _end_reached(self, event: HistoryTable.EndReached) -> None:
        """Down past the last loaded row: the cursor follows once the next page is in."""
        event.stop()
        if not self._ready or self.store is None or not self.has_more or self._requerying:
            return
        ask = _Ask(self._generation, self._search or None, self._outcome, self.page_size, len(self._rows), advance=True)
        self._start_more(ask)  # replaces a prefetch under way for the same page

    @on(HistoryTable.Selected, "#history-table")
    def _row_selected(self, event: HistoryTable.Selected) -> None:
        event.stop()
        row = self.selected_row
        if row is None or row.id != event.key:
            return
        if not row.party:  # an anonymous caller cannot be called back
            self.app.bell()
            return
        self.post_message(self.CallBack(row.party, row.party_name))
