"""A lean keyed list drawn line by line: only rows that changed and are on screen get rendered.

Why not Textual's DataTable or OptionList: both re-render every visible cell when one changes and remove rows
in O(n), which a supervisor wall (10,000 lines, 1,000 changes a second) cannot afford. Here each item is a key
with a height in screen rows; a change marks that item's rows dirty (``changed``) and Textual repaints just
those lines at its next frame, so many changes between two frames cost one repaint. Rendered rows are cached
per item until the item changes, the width changes or the cursor moves on or off it.

Subclasses say how tall an item is and how to draw one of its rows; this class owns order, cursor, scrolling
and the cache. The cursor follows a key, not an index: rows appearing or leaving above it do not move it.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from itertools import pairwise
from math import ceil
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.scrollbar import ScrollBar
from textual.strip import Strip
from textual.widget import Widget

from cti_tui.ui.recent import recall, remember
from cti_tui.ui.row_index import RowIndex
from cti_tui.ui.textual_ext.soon import soon
from cti_tui.ui.textual_ext.styles_cache import use_styled_row_cache

# Rendered rows kept, least recently drawn out first: a few screenfuls. Every cached strip is a dozen objects
# the cycle collector walks (Textual's Strip carries seven caches), and on a busy wall nearly all of them are
# new since its last pass: the fewer are kept, the shorter its pauses (bench/README.md, wall.py).
SCREENFULS_CACHED = 3
MIN_CACHED_ROWS = 64


@lru_cache(maxsize=1024)
def parse_style(style: str) -> Style:
    return Style.parse(style)


def text_segments(text: Text, base: Style) -> list[Segment]:
    """Rich text as segments over ``base``: what ``Text.render`` gives for one line, at a fraction of its
    cost (~70 µs a row there, mostly theme look-ups and line splitting that a table row never needs)."""
    plain = text.plain
    style = text.style
    under = base + (parse_style(style) if isinstance(style, str) else style) if style else base
    spans = text.spans
    if not spans:
        return [Segment(plain, under)]
    points = sorted({0, len(plain), *(span.start for span in spans), *(span.end for span in spans)})
    segments = []
    for start, end in pairwise(points):
        if start >= end or start >= len(plain):
            continue
        piece = under
        for span in spans:
            if span.start <= start and span.end >= end:
                piece = piece + (parse_style(span.style) if isinstance(span.style, str) else span.style)
        segments.append(Segment(plain[start:end], piece))
    return segments


def _thumb(bar: ScrollBar, virtual: int) -> tuple[int, int] | None:
    """Where ``bar`` draws its thumb (in its eighths of a cell) for ``virtual`` rows: the arithmetic of
    Textual's ``ScrollBarRender.render_bar``, so a bar is redrawn only when its picture changes."""
    size = bar.size.height
    window = bar.window_size if bar.window_size < virtual else 0
    if not (window and size and virtual and size != virtual):
        return None
    eighths = len(bar.renderer.VERTICAL_BARS)
    thumb = max(1, window / (virtual / size))
    start = int((size - thumb) * (bar.position / (virtual - window)) * eighths)
    return start, start + ceil(thumb * eighths)


class RowView(ScrollView, can_focus=True):
    """Keyed items of one or more rows each, with a cursor on one item and an optional fixed header."""

    # Priority: handled where the key arrives (the app's queue) instead of after it has bubbled from this
    # widget up through its containers and the screen back to the app — four more turns of the event loop,
    # each behind whatever frame is being drawn. Nothing in a row view takes text, so no key is taken from
    # anyone: priority bindings only apply while this widget is focused.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor_up", "Up", show=False, priority=True),
        Binding("down", "cursor_down", "Down", show=False, priority=True),
        Binding("pageup", "page_up", "Page up", show=False, priority=True),
        Binding("pagedown", "page_down", "Page down", show=False, priority=True),
        Binding("home", "first", "First", show=False, priority=True),
        Binding("end", "last", "Last", show=False, priority=True),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {"row-view--cursor", "row-view--header"}
    DEFAULT_CSS = """
    RowView {
        background: $surface;
        overflow-x: hidden;
    }
    RowView > .row-view--cursor {
        background: $block-cursor-blurred-background;
        color: $block-cursor-blurred-foreground;
    }
    RowView:focus > .row-view--cursor {
        background: $block-cursor-background;
        color: $block-cursor-foreground;
        text-style: $block-cursor-text-style;
    }
    RowView > .row-view--header {
        color: $text-accent;
        background: $panel;
        text-style: bold;
    }
    """
    header_rows: ClassVar[int] = 0

    class Highlighted(Message):
        """The cursor moved to another item (``key`` is None when the list is empty); posted once per turn of
        the loop at most, with where the cursor ended up."""

        def __init__(self, view: RowView, key: str | None) -> None:
            super().__init__()
            self.view = view
            self.key = key

        @property
        def control(self) -> RowView:
            return self.view

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._styled_rows = use_styled_row_cache(self, MIN_CACHED_ROWS)  # (textual_ext/styles_cache.py)
        self._items = RowIndex()
        self._versions: dict[str, int] = {}
        self._cache: dict[tuple[str, int], tuple[tuple[bool, int], Strip]] = {}
        self._cache_cap = MIN_CACHED_ROWS
        self._styles_now: dict[str | None, Style] = {}
        self._announce_due = False
        self._announced: str | None = None
        self._cursor_key: str | None = None
        self._last_width = 0
        self._pass_geometry: tuple[int, int] | None = None
        self._size_pending = False
        self._scroll_pending = False
        self._repaint_all = False  # a full repaint is due: single-row refreshes can wait for it
        self._view_height = 0  # rows on screen (kept from the last resize: asked for on every change)

    # --- what subclasses provide ------------------------------------------------------------------

    def item_height(self, key: str) -> int:
        return 1

    def render_item_row(self, key: str, row: int, width: int, base: Style) -> Text:
        """Row ``row`` of item ``key``, at most ``width`` cells; ``base`` is the row's background style."""
        raise NotImplementedError

    def render_item_strip(self, key: str, row: int, width: int, base: Style) -> Strip:
        """The row as drawn: by default :meth:`render_item_row` made exactly ``width`` cells wide. A busy
        subclass may build the strip more directly, as long as it draws the very same cells."""
        return self._strip(self.render_item_row(key, row, width, base), width, base)

    def render_header_row(self, row: int, width: int, base: Style) -> Text:
        return Text()

    def render_empty_row(self, width: int, base: Style) -> Text:
        """What the first row says while there are no items."""
        return Text()

    # --- reading -----------------------------------------------------------------------------------

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(self._items)

    @property
    def row_count(self) -> int:
        """Items (not screen rows)."""
        return len(self._items)

    @property
    def cursor_key(self) -> str | None:
        return self._cursor_key

    @property
    def cursor_row(self) -> int:
        """The cursor's item position, -1 when there is none."""
        return self.position(self._cursor_key) if self._cursor_key is not None else -1

    def position(self, key: str) -> int:
        """Where ``key`` is in the list; KeyError if it is not there."""
        return self._items.position(key)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    # --- changing ----------------------------------------------------------------------------------

    def set_keys(self, keys: Iterable[str]) -> None:
        """Show exactly ``keys`` in this order; the cursor stays on its key if it is still there, else on
        the item now at its place."""
        previous = self.cursor_row
        keys = list(dict.fromkeys(keys))
        kept = set(keys)
        for gone in [k for k in self._items if k not in kept]:
            self._forget(gone)
        self._items.reset([(key, self.item_height(key)) for key in keys])
        self._rows_moved(0)
        if self._cursor_key not in self._items:
            self._place_cursor(previous)

    def add(self, key: str) -> None:
        """Append ``key`` (or redraw it if it is already there)."""
        if key in self._items:
            self.changed(key)
            return
        self._items.append(key, self.item_height(key))
        self._rows_moved(self._items.start(key))
        if self._cursor_key is None:
            self.move_to(key)

    def discard(self, key: str) -> None:
        """Take ``key`` out (nothing happens if it is not there); the cursor on it moves to the item now in
        its place, or the last. (Not ``remove``: that is Textual's, for taking the widget itself away.)"""
        if key not in self._items:
            return
        position = self._items.position(key)
        start = self._items.start(key)
        self._forget(key)
        self._items.remove(key)
        self._rows_moved(start)
        if self._cursor_key == key:
            self._cursor_key = None
            self._place_cursor(position)

    def changed(self, key: str) -> None:
        """``key``'s content changed: re-render its rows at the next frame (and the rows below it if its
        height changed). Only rows on screen are ever rendered."""
        if key not in self._items:
            return
        self._versions[key] = self._versions.get(key, 0) + 1
        height = self.item_height(key)
        if self._items.set_height(key, height):
            self._rows_moved(self._items.start(key))
            return
        if self._repaint_all:
            return  # the whole view repaints at the next frame anyway
        start = self._items.start(key)
        top = int(self.scroll_y)
        if start + height > top and start < top + self._view_height:
            self.refresh_lines(start + self.header_rows, height)

    def move_to(self, key: str) -> None:
        """Put the cursor on ``key`` and scroll it into view."""
        if key not in self._items or key == self._cursor_key:
            if key in self._items:
                self._scroll_to_cursor()
            return
        previous, self._cursor_key = self._cursor_key, key
        for each in (previous, key):
            if each is not None:
                self.changed(each)
        self._scroll_to_cursor()
        self._cursor_moved()

    # --- keys ----------------------------------------------------------------------------------------

    def _move_by(self, delta: int) -> None:
        if not self._items:
            return
        current = self.cursor_row
        self.move_to(self._items.key_at(0 if current < 0 else current + delta))

    def action_cursor_up(self) -> None:
        self._move_by(-1)

    def action_cursor_down(self) -> None:
        self._move_by(1)

    def action_page_up(self) -> None:
        self._move_by(-self._page_items())

    def action_page_down(self) -> None:
        self._move_by(self._page_items())

    def action_first(self) -> None:
        self._move_by(-len(self._items))

    def action_last(self) -> None:
        self._move_by(len(self._items))

    def _page_items(self) -> int:
        """About one screenful of items (items may be taller than one row)."""
        rows = max(1, self.size.height - self.header_rows)
        cursor = self._cursor_key
        tallest = self._items.height(cursor) if cursor is not None else 1
        return max(1, rows // max(1, tallest))

    # --- drawing -------------------------------------------------------------------------------------

    def render_lines(self, crop: Region) -> list[Strip]:
        self._repaint_all = False
        # Width and scroll offset once per pass, not per line: Textual works each out through several
        # properties (~5 µs a line, on a wall ~1,000 lines a second).
        self._pass_geometry = (self.scrollable_size.width, self.scroll_offset.y)
        try:
            return super().render_lines(crop)
        finally:
            self._pass_geometry = None

    def render_line(self, y: int) -> Strip:
        # (size includes the columns a vertical scroll bar covers: scrollable_size does not)
        width, scroll_y = self._pass_geometry or (self.scrollable_size.width, self.scroll_offset.y)
        if width != self._last_width:
            self._last_width = width
            self._cache.clear()
        if y < self.header_rows:
            style = self._style("row-view--header")
            return self._strip(self.render_header_row(y, width, style), width, style)
        row_y = scroll_y + y - self.header_rows
        located = self._items.locate(row_y)
        if located is None:
            base = self._style(None)
            if not self._items and row_y == 0:
                return self._strip(self.render_empty_row(width, base), width, base)
            return Strip.blank(width, base)
        key, row = located
        selected = key == self._cursor_key
        stamp = (selected, self._versions.get(key, 0))  # (a new width cleared the cache above)
        cached = recall(self._cache, (key, row))
        if cached is not None and cached[0] == stamp:
            return cached[1]
        base = self._style("row-view--cursor" if selected else None)
        strip = self.render_item_strip(key, row, width, base)
        remember(self._cache, (key, row), (stamp, strip), self._cache_cap)
        return strip

    def _style(self, component: str | None) -> Style:
        """The widget's own style (``None``) or a component's, kept until the styles change: Textual works
        each out afresh on every call (~0.1 ms), and every row rendered needs one."""
        style = self._styles_now.get(component)
        if style is None:
            style = self.rich_style if component is None else self.get_visual_style(component).rich_style
            self._styles_now[component] = style
        return style

    def _strip(self, text: Text, width: int, base: Style) -> Strip:
        """One row as a strip of exactly ``width`` cells on the ``base`` style."""
        text.truncate(width, overflow="ellipsis", pad=True)
        return Strip(text_segments(text, base), width)

    def _styles_changed(self) -> None:
        """Drop everything drawn with the old styles: rendered rows, looked-up styles, styled lines."""
        self._cache.clear()
        self._styles_now.clear()
        self._styled_rows.forget()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles_changed()

    def on_focus(self, event: events.Focus) -> None:
        self._styles_changed()  # the cursor row has a brighter style while focused
        self.refresh()

    def on_blur(self, event: events.Blur) -> None:
        self._styles_changed()
        self.refresh()

    # --- layout --------------------------------------------------------------------------------------

    def _rows_moved(self, from_row: int) -> None:
        """Rows from list row ``from_row`` down moved or changed: repaint what of them is on screen at the
        next frame (nothing if they are all below it), and tell the scroll bars once per turn."""
        if not self._size_pending:
            self._size_pending = True
            soon(self, self._apply_size)
        if self._repaint_all:
            return
        top = int(self.scroll_y)
        if from_row >= top + max(0, self._view_height - self.header_rows):
            return
        if from_row <= top:  # every row on screen moved: repaint them all, but not the border (its title is
            self._repaint_all = True  # costly to draw, and a busy list moves its rows every frame) nor the header
            rows = max(0, self.size.height - self.header_rows)
            self.refresh(Region(0, self.header_rows, self.scrollable_size.width, rows))
            return
        first = from_row - top + self.header_rows
        self.refresh(Region(0, first, self.scrollable_size.width, self.size.height - first))

    def refresh_lines(self, y_start: int, line_count: int = 1) -> None:
        """As ScrollView's, but only as wide as the rows: the vertical scroll bar's columns are redrawn by
        the bar when its thumb moves, not with every row that changes (Textual's region is as wide as
        ``size``, which includes them: the bar was asked for its lines in nearly every frame of a wall)."""
        self.refresh(Region(0, y_start - self.scroll_offset.y, self.scrollable_size.width, line_count))

    def _apply_size(self) -> None:
        """Tell the scroll bar how many rows there are. ``virtual_size`` is a layout reactive: setting it
        re-lays out and repaints the whole screen, every frame on a busy wall. Only when the scroll bar
        appears or goes does that matter; otherwise the size is set quietly and the bar told directly (what
        Textual itself does when a size changes without a layout)."""
        self._size_pending = False
        new = self._content_size()
        old = self.virtual_size
        height = self.size.height
        if new.width != old.width or (new.height > height) != (old.height > height) or not height:
            self.virtual_size = new
        elif new != old:
            self.set_reactive(Widget.virtual_size, new)
            if self.show_vertical_scrollbar:
                bar = self.vertical_scrollbar
                if _thumb(bar, new.height) != _thumb(bar, bar.window_virtual_size):
                    bar.window_virtual_size = new.height  # (a repaint reactive: the bar is redrawn)
                else:  # same picture: a bar redrawn every frame cost more than all the rows that changed
                    bar.set_reactive(ScrollBar.window_virtual_size, new.height)
            self.scroll_y = self.validate_scroll_y(self.scroll_y)
        if self._scroll_pending:  # once the new size is laid out, or the scroll would be clamped to the old one
            self._scroll_pending = False
            self.call_after_refresh(self._scroll_to_cursor)

    def _scroll_to_cursor(self) -> None:
        key = self._cursor_key
        if key is None or not self.size.height:
            return
        if self._size_pending:  # the scroll bars do not know the new rows yet: scroll once they do
            self._scroll_pending = True
            return
        start = self._items.start(key)
        height = self._items.height(key)
        # the header hides the first header_rows of the viewport: ask for them above the item as well
        self.scroll_to_region(
            Region(0, start, self.size.width, height + self.header_rows), animate=False, immediate=True
        )

    def _place_cursor(self, position: int) -> None:
        """The cursor's item left: take the item now at ``position`` (or the last one)."""
        self._cursor_key = None
        if self._items:
            self.move_to(self._items.key_at(position))
        else:
            self._cursor_moved()

    def _cursor_moved(self) -> None:
        """Say where the cursor is once per turn of the loop, if it moved: on a busy wall the selected call
        ends and the cursor moves on hundreds of times a second, and each message climbs to the screen."""
        if not self._announce_due:
            self._announce_due = True
            soon(self, self._announce)

    def _announce(self) -> None:
        self._announce_due = False
        if self._cursor_key != self._announced:
            self._announced = self._cursor_key
            self.post_message(self.Highlighted(self, self._cursor_key))

    def _forget(self, key: str) -> None:
        for row in range(self._items.height(key)):
            self._cache.pop((key, row), None)
        self._versions.pop(key, None)

    def _content_size(self) -> Size:
        return Size(self.size.width, self._items.total_rows + self.header_rows)

    def on_resize(self) -> None:
        self._view_height = self.size.height
        self._cache_cap = max(MIN_CACHED_ROWS, SCREENFULS_CACHED * self.size.height)
        self._styled_rows.max_styled = self._cache_cap
        self.virtual_size = self._content_size()
        self._scroll_to_cursor()
