"""The active-calls pane: one row per live call, the selected row is the call the keys act on."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from datetime import datetime

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import RowDoesNotExist

from cti_tui.engine.model import Call, CallStatus
from cti_tui.ui import render

COLUMNS: tuple[tuple[str, str, int | None], ...] = (
    ("dir", "Dir", 5),
    ("status", "Status", 13),
    ("party", "Party", 30),
    ("line", "Line", 18),
    ("time", "Time", 9),
)


class ActiveCalls(DataTable[Text]):
    """Rows keyed by call id. Durations tick by updating one cell per live call, not the whole table."""

    def __init__(self, now: Callable[[], datetime], *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self._now = now
        self._calls: dict[str, Call] = {}

    def on_mount(self) -> None:
        for key, label, width in COLUMNS:
            self.add_column(label, key=key, width=width)
        self.border_title = "Active calls"

    def on_resize(self) -> None:
        """Give the party column whatever the fixed columns leave, so nothing is clipped at 80 columns."""
        if not self.columns:
            return
        fixed = sum(width or 0 for key, _, width in COLUMNS if key != "party")
        padding = 2 * self.cell_padding * len(COLUMNS)
        party = max(14, self.scrollable_content_region.width - fixed - padding)
        column = self.columns.get("party")  # type: ignore[call-overload]
        if column is not None and column.width != party:
            column.width = party
            self._require_update_dimensions = True
            self.refresh()

    @property
    def selected_call_id(self) -> str | None:
        if not self._calls or self.cursor_row < 0:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        except Exception:
            return None
        return key.value if key.value in self._calls else None

    def calls(self) -> list[Call]:
        return list(self._calls.values())

    def _cells(self, call: Call) -> list[Text]:
        return [
            render.direction_mark(call),
            render.status_badge(call),
            render.party_text(call),
            render.line_text(call),
            render.duration_text(call, self._now()),
        ]

    def show(self, call: Call) -> None:
        """Add, update or (when it ended or left the view) remove ``call``'s row."""
        if call.ended:
            self.drop(call.id)
            return
        selected = self.selected_call_id
        cells = self._cells(call)
        if call.id in self._calls:
            for (key, _, _), cell in zip(COLUMNS, cells, strict=True):
                self.update_cell(call.id, key, cell)
        else:
            self.add_row(*cells, key=call.id)
        self._calls[call.id] = call
        if call.status is CallStatus.RINGING and selected is None:
            self.select(call.id)  # a new ringing call is selected when nothing else is

    def drop(self, call_id: str) -> None:
        if call_id not in self._calls:
            return
        selected = self.selected_call_id
        del self._calls[call_id]
        with contextlib.suppress(RowDoesNotExist):
            self.remove_row(call_id)
        if selected is not None and selected != call_id:
            self.select(selected)  # the cursor keeps its index; keep it on the call the user chose instead

    def replace(self, calls: Iterable[Call]) -> None:
        """Show exactly ``calls`` (a snapshot after login, reconnect or restore)."""
        wanted = {c.id: c for c in calls if not c.ended}
        for call_id in [cid for cid in self._calls if cid not in wanted]:
            self.drop(call_id)
        for call in wanted.values():
            self.show(call)

    def select(self, call_id: str) -> None:
        try:
            self.move_cursor(row=self.get_row_index(call_id))
        except RowDoesNotExist:
            return

    def tick(self) -> None:
        """Refresh the time column only."""
        now = self._now()
        for call in self._calls.values():
            self.update_cell(call.id, "time", render.duration_text(call, now))
