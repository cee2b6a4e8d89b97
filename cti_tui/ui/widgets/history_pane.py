"""The call-history pane: the owner line's ended calls, newest first, searchable, filterable, paged from SQLite.

Only the rows the user has scrolled to are loaded: one page at first, the next page when the cursor reaches
the last loaded row. Enter on a row asks the dashboard to call the other party back (a message; this widget
never dials). Queries run inline: a page is a few dozen rows from an indexed SQLite file, and a search that
matches tens of thousands of rows is not counted to the end ("History · 20000+"), which would take seconds.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import rich.repr
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, Input, Select, Static

from cti_tui.core.history import CallHistory, HistoryError, HistoryRow, Outcome
from cti_tui.core.model import Direction
from cti_tui.core.numbers import format_for_display
from cti_tui.ui import render

OUTCOME_STYLE: dict[Outcome, str] = {
    Outcome.ANSWERED: "#9ece6a",
    Outcome.MISSED: "bold #f7768e",
    Outcome.CANCELLED: "dim",
    Outcome.REJECTED: "#ff9e64",
    Outcome.TRANSFERRED: "#7aa2f7",
}

COLUMNS: tuple[tuple[str, str, int | None], ...] = (
    ("when", "When", 11),
    ("dir", "Dir", 5),
    ("outcome", "Outcome", 11),
    ("party", "Party", None),
    ("talk", "Talk", 8),
)

_ALL = "all"  # the outcome filter's "no filter" value (Select needs a real option for it)
OFF_MESSAGE = "call history is off"


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


class HistoryTable(DataTable[Text]):
    """A row-cursor table that says when the user pushes past its last loaded row.

    Stock DataTable binds ``home``/``end`` to horizontal scrolling even with a row cursor; here they go to the
    first and last loaded row, which is what a list of calls wants (and ``end`` loads the next page).
    """

    class EndReached(Message):
        """Down or PageDown on the last loaded row: load more if there is more."""

    def _at_end(self) -> bool:
        return self.row_count > 0 and self.cursor_row >= self.row_count - 1

    def action_cursor_down(self) -> None:
        if self._at_end():
            self.post_message(self.EndReached())
            return
        super().action_cursor_down()

    def action_page_down(self) -> None:
        if self._at_end():
            self.post_message(self.EndReached())
            return
        super().action_page_down()

    def action_scroll_end(self) -> None:
        if self._at_end():
            self.post_message(self.EndReached())
            return
        self.action_scroll_bottom()

    def action_scroll_home(self) -> None:
        self.action_scroll_top()


# --- the pane -----------------------------------------------------------------------------------------------


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
        self._exhausted = False  # the last page came back short: nothing more to load
        self._error: str | None = None
        self._ready = False
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
        yield HistoryTable(id="history-table", cursor_type="row", zebra_stripes=False)

    def on_mount(self) -> None:
        if self.store is None:
            return
        table = self.query_one(HistoryTable)
        for key, label, width in COLUMNS:
            table.add_column(label, key=key, width=width)
        self._ready = True
        self._requery()

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
    def total_exact(self) -> bool:
        """False when :attr:`total` is only a lower bound: a search matching very many rows."""
        return self._exact

    @property
    def has_more(self) -> bool:
        if self._exact:
            return len(self._rows) < self._total
        return not self._exhausted

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

    def reload(self) -> None:
        """Re-query from the top with the same search and filter (a call just ended).

        As many rows as are loaded now are loaded again (at least a page), and the cursor stays on the call
        it was on, so a new call arriving on top does not pull the list from under the user.
        """
        if not self._ready:
            return
        selected = self.selected_row
        self._requery(
            limit=max(self.page_size, len(self._rows)),
            keep=selected.id if selected is not None else None,
        )

    def export_csv(self, path: Path) -> int:
        """Write every row matching the current search and filter to ``path`` as CSV; returns the count.

        Raises :class:`HistoryError` when history is off or the export fails (the caller tells the user).
        """
        if self.store is None:
            raise HistoryError(f"{OFF_MESSAGE}: nothing to export to {path}", Path(path))
        return self.store.export_csv(self.owner, Path(path), search=self._search or None, outcome=self._outcome)

    # -- loading

    def _requery(self, *, limit: int | None = None, keep: str | None = None) -> None:
        """Replace the table with the first ``limit`` rows matching the current search and filter."""
        assert self.store is not None
        table = self.query_one(HistoryTable)
        try:
            page = self.store.query(
                self.owner,
                search=self._search or None,
                outcome=self._outcome,
                limit=limit or self.page_size,
                exact_total=False,
            )
        except HistoryError as exc:
            self._rows, self._ids, self._total, self._exact = [], set(), 0, True
            table.clear()
            self._show_error(str(exc))
            self._update_title()
            return
        self._show_error(None)
        table.clear()
        self._rows, self._ids, self._total = [], set(), page.total
        self._exact, self._exhausted = page.exact, len(page.rows) < (limit or self.page_size)
        self._append(page.rows)
        if keep is not None and keep in self._ids:
            table.move_cursor(row=table.get_row_index(keep), animate=False)
        self._update_title()

    def load_more(self) -> bool:
        """Append the next page, if any; True when rows were added."""
        if not self._ready or self.store is None or not self.has_more:
            return False
        try:
            page = self.store.query(
                self.owner,
                search=self._search or None,
                outcome=self._outcome,
                limit=self.page_size,
                offset=len(self._rows),
                exact_total=False,
            )
        except HistoryError as exc:
            self._show_error(str(exc))
            return False
        self._show_error(None)
        self._total, self._exact = page.total, page.exact
        self._exhausted = len(page.rows) < self.page_size
        added = self._append(page.rows)
        self._update_title()
        return added > 0

    def _append(self, rows: list[HistoryRow]) -> int:
        """Add rows not shown yet (a call recorded between two pages shifts the offsets by one)."""
        table = self.query_one(HistoryTable)
        added = 0
        for row in rows:
            if row.id in self._ids:
                continue
            table.add_row(*row_cells(row), key=row.id)
            self._rows.append(row)
            self._ids.add(row.id)
            added += 1
        return added

    def _show_error(self, message: str | None) -> None:
        self._error = message
        line = self.query_one("#history-message", Static)
        line.update(f"history: {message}" if message else "")
        line.display = message is not None

    def _update_title(self) -> None:
        if self._error is not None:
            self.border_title = "History"
        elif self._exact:
            self.border_title = f"History · {self._total}"
        else:
            self.border_title = f"History · {max(self._total - 1, len(self._rows))}+"

    # -- events from the parts (stopped here: they are this pane's business, not the dashboard's)

    @on(Input.Changed, "#history-search")
    def _search_changed(self, event: Input.Changed) -> None:
        event.stop()
        if event.value == self._search:
            return
        self._search = event.value
        if self._ready:
            self._requery()

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

    @on(DataTable.RowHighlighted, "#history-table")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        table = self.query_one(HistoryTable)
        # Judge by the cursor now, not the message: a requery may have replaced the rows since it was sent.
        if table.row_count and table.cursor_row >= table.row_count - 1:
            self.load_more()

    @on(HistoryTable.EndReached)
    def _end_reached(self, event: HistoryTable.EndReached) -> None:
        event.stop()
        table = self.query_one(HistoryTable)
        if self.load_more():
            table.action_cursor_down()

    @on(DataTable.RowSelected, "#history-table")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        row = self.selected_row
        if row is None or row.id != event.row_key.value:
            return
        if not row.party:  # an anonymous caller cannot be called back
            self.app.bell()
            return
        self.post_message(self.CallBack(row.party, row.party_name))
