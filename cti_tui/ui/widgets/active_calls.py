"""The active-calls pane: one row per live call, the selected row is the call the keys act on."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.strip import Strip

from cti_tui.core.model import Call, CallStatus
from cti_tui.ui import render
from cti_tui.ui.recent import recall, remember
from cti_tui.ui.render import Cell
from cti_tui.ui.widgets.row_view import RowView, parse_style, text_segments

# (key, label, width); the party column (None) takes what the others leave
COLUMNS: tuple[tuple[str, str, int | None], ...] = (
    ("dir", "Dir", 5),
    ("status", "Status", 13),
    ("party", "Party", None),
    ("line", "Line", 26),  # room for "⇄ to transfer · user:1001" or "Support · user:1001"
    ("time", "Time", 9),
)
GAP = 2
MIN_PARTY = 14
NARROW = 100  # below this width the line column gives up cells to the party (at 80x24 a name fits)
NARROW_LINE = 14


def column_widths(width: int) -> list[int]:
    """Fixed columns as given; the party column gets the rest (at least MIN_PARTY, clipped if narrower)."""
    fixed = [w if key != "line" or width >= NARROW else NARROW_LINE for key, _, w in COLUMNS]
    party = max(MIN_PARTY, width - sum(w or 0 for w in fixed) - GAP * (len(COLUMNS) - 1) - 1)
    return [w if w is not None else party for w in fixed]


def join_cells(cells: list[Text], widths: list[int], base: Style) -> Text:
    row = Text(" ", style=base)
    for index, (cell, width) in enumerate(zip(cells, widths, strict=True)):
        cell.truncate(width, overflow="ellipsis", pad=True)
        row.append_text(cell)
        if index < len(cells) - 1:
            row.append(" " * GAP)
    return row


def cells_strip(cells: list[Cell], widths: list[int], base: Style, width: int) -> Strip | None:
    """What ``join_cells`` then the row view's ``_strip`` draw, built straight from the cells' pieces (no
    Text, no joined row, no second pass over it); None when the row is wider than ``width`` (it is then cut
    with an ellipsis, which the slow path does)."""
    segments = [Segment(" ", base)]
    used = 1
    gap = Segment(" " * GAP, base)
    for index, (cell, cell_width) in enumerate(zip(cells, widths, strict=True)):
        if index:
            segments.append(gap)
            used += GAP
        segments.extend(cell_segments(cell, cell_width, base))
        used += cell_width
    if used > width:
        return None
    if used < width:
        segments.append(Segment(" " * (width - used), base))
    return Strip(segments, width)


_CELLS: dict[tuple[Cell, int, Style], tuple[Segment, ...]] = {}
MAX_CACHED_CELLS = 512  # least recently used out first: the cells that repeat stay, a past caller's go


def cell_segments(cell: Cell, width: int, base: Style) -> tuple[Segment, ...]:
    """``cell`` cut or padded to ``width`` over ``base``, as ``join_cells`` draws it. Kept: on a wall most
    cells repeat (directions, badges, lines, many durations); only a new caller's party is new."""
    key = (cell, width, base)
    known = recall(_CELLS, key)
    if known is not None:
        return known
    style, pieces = cell
    used = sum(cell_len(piece) for piece, _ in pieces)
    if used <= width and all(piece.isprintable() for piece, _ in pieces):
        under = base + parse_style(style) if style else base
        pieces_drawn = [
            Segment(piece, under + parse_style(piece_style) if piece_style else under)
            for piece, piece_style in pieces
            if piece
        ]
        if used < width:
            pieces_drawn.append(Segment(" " * (width - used), under))
        made = tuple(Segment.simplify(pieces_drawn))  # neighbours in one style as one (as Text draws them)
    else:  # cut with an ellipsis, or control characters to drop: as Rich does it
        text = render.text_of(cell)
        text.truncate(width, overflow="ellipsis", pad=True)
        made = tuple(text_segments(text, base))
    remember(_CELLS, key, made, MAX_CACHED_CELLS)
    return made


class ActiveCalls(RowView):
    """Rows keyed by call id. Durations tick by re-rendering only the visible rows, once a second."""

    header_rows = 1
    TITLE = "Active calls"

    def __init__(self, now: Callable[[], datetime], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._now = now
        self._calls: dict[str, Call] = {}
        self._parked: dict[str, Call] = {}
        self._held_since: dict[str, datetime] = {}  # when a held call was first seen on hold (its hold timer)
        self._consulted: dict[str, str] = {}  # a call a supervised transfer would hand over -> its consult call

    def on_mount(self) -> None:
        self.border_title = self.TITLE

    @property
    def selected_call_id(self) -> str | None:
        return self.cursor_key

    def calls(self) -> list[Call]:
        return list(self._calls.values())

    def parked(self) -> list[Call]:
        return list(self._parked.values())

    def show(self, call: Call) -> None:
        """Add, update or (when it ended or left the view) remove ``call``'s row."""
        if call.ended:
            self.drop(call.id)
            return
        nothing_selected = self.cursor_key is None
        self._calls[call.id] = call
        if call.status is not CallStatus.ON_HOLD:
            self._held_since.pop(call.id, None)
        elif call.id not in self._held_since:
            self._held_since[call.id] = self._now()
        if call.status is CallStatus.PARKED:
            self._parked[call.id] = call
        else:
            self._parked.pop(call.id, None)
        self.add(call.id)
        self._follow_consult(call)
        if call.status is CallStatus.RINGING and nothing_selected:
            self.move_to(call.id)  # a new ringing call is selected when nothing else is

    def drop(self, call_id: str) -> None:
        if (call := self._calls.pop(call_id, None)) is not None:
            self._parked.pop(call_id, None)
            self._held_since.pop(call_id, None)
            self._follow_consult(call, gone=True)
            self.discard(call_id)

    def _follow_consult(self, call: Call, *, gone: bool = False) -> None:
        """Keep the consult-stage mark of the call a consult call would hand over in step with it."""
        for original, consult in list(self._consulted.items()):
            if consult == call.id and (gone or call.consult_for != original):
                del self._consulted[original]
                if original in self._calls:
                    self.changed(original)
        if call.consult_for and not gone:
            self._consulted[call.consult_for] = call.id
            if call.consult_for in self._calls:
                self.changed(call.consult_for)

    def replace(self, calls: Iterable[Call]) -> None:
        """Show exactly ``calls`` (a snapshot after login, reconnect or restore)."""
        wanted = {c.id: c for c in calls if not c.ended}
        for call_id in [cid for cid in self._calls if cid not in wanted]:
            self.drop(call_id)
        for call in wanted.values():
            self.show(call)

    def tick(self) -> None:
        """Durations moved on: redraw the rows (only those on screen are rendered)."""
        for call_id in self._calls:
            self.changed(call_id)

    # --- drawing -------------------------------------------------------------------------------------

    def render_header_row(self, row: int, width: int, base: Style) -> Text:
        return join_cells([Text(label) for _, label, _ in COLUMNS], column_widths(width), base)

    def _cells(self, key: str) -> list[Cell]:
        call = self._calls[key]
        return [
            render.direction_cell(call),
            render.status_cell(call),
            render.party_cell(call),
            render.line_cell(call, call.id in self._consulted),
            render.duration_cell(call, self._now(), self._held_since.get(key)),
        ]

    def render_item_row(self, key: str, row: int, width: int, base: Style) -> Text:
        return join_cells([render.text_of(cell) for cell in self._cells(key)], column_widths(width), base)

    def render_item_strip(self, key: str, row: int, width: int, base: Style) -> Strip:
        """A wall draws hundreds of new rows a second here: straight to segments (tests hold it to the
        same cells as :meth:`render_item_row`)."""
        strip = cells_strip(self._cells(key), column_widths(width), base, width)
        return strip if strip is not None else super().render_item_strip(key, row, width, base)
