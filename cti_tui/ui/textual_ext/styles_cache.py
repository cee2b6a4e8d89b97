"""Styled rows reused: a row view's per-widget styles cache that keeps the lines it framed.

Textual gives every widget a ``textual._styles_cache.StylesCache`` (``Widget._styles_cache``), which puts border,
padding and colours around each content line a refresh marks dirty. :class:`StyledRowCache` subclasses it and
overrides ``render_line``, whose positional arguments it passes on (and reads ``opacity`` from): its parameters
are listed in ``TEXTUAL_INTERNALS`` (this package's ``__init__``) and checked by ``tests/ui/test_textual_ext.py``.
:func:`use_styled_row_cache` puts one in place of a widget's own.
bench/README.md, wall.py ("Styled rows reused").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.segment import Segment
from textual._styles_cache import StylesCache
from textual.geometry import Size
from textual.strip import Strip
from textual.widget import Widget

from cti_tui.ui.recent import recall, remember


class StyledRowCache(StylesCache):
    """Textual's per-widget styles cache, plus one thing: a content row whose strip is the very object it
    styled before (a row view hands out cached strips) gets the styled strip it made then. Textual styles
    again every line a refresh marks dirty (border, padding, colours: ~0.15 ms a line), and rows that only
    moved — a call added above them — are most of what a busy wall repaints. The row view ``forget``s them on
    every style change (``notify_style_update``, focus, blur): identical content is not enough, Textual hands
    out one shared strip for every blank row, and a frame drawn between a blur and its new styles must not
    keep the old border. Size and colours are checked on every use too. (Textual clears this cache on every
    full refresh; the styled rows are kept across those on purpose.)"""

    def __init__(self, max_styled: int) -> None:
        super().__init__()
        self.max_styled = max_styled  # set by the row view from its height; least recently used go first
        self._styled: dict[int, tuple[Strip, tuple[Any, ...], Strip]] = {}
        # Once Textual's styling of a row is seen to be exactly "left edge + the row's own segments (+ the
        # blank it pads a row narrower than the content area with: the scroll bar's columns) + right edge",
        # with no padding, tint, hatch or opacity to apply, other rows as wide under the same styles are
        # framed the same way without asking it again. Keyed by how much narrower than the area a row is.
        self._frames: dict[int, tuple[Segment, Segment | None, Segment]] = {}
        self._frames_context: tuple[Any, ...] | None = None

    def forget(self) -> None:
        self._styled.clear()
        self._frames.clear()

    def render_line(
        self,
        styles: Any,
        y: int,
        size: Size,
        content_size: Size,
        padding: Any,
        base_background: Any,
        background: Any,
        render_content_line: Callable[[int], Strip],
        *rest: Any,
    ) -> Strip:
        gutter = styles.gutter
        content_y = y - gutter.top
        if not (0 < y < size.height - 1 and 0 <= content_y < content_size.height and y < size.height - gutter.bottom):
            return super().render_line(
                styles, y, size, content_size, padding, base_background, background, render_content_line, *rest
            )
        content = render_content_line(content_y)
        context = (size, content_size, base_background, background, rest[-3])  # rest[-3]: opacity
        known = recall(self._styled, id(content))
        if known is not None and known[0] is content and known[1] == context:
            return known[2]
        if context != self._frames_context:
            self._frames.clear()
            self._frames_context = context
        short_by = content_size.width - content.cell_length
        frame = self._frames.get(short_by)
        if frame is not None:
            left, blank, right = frame
            styled = Strip([left, *content, blank, right] if blank else [left, *content, right], size.width)
        else:
            styled = super().render_line(
                styles, y, size, content_size, padding, base_background, background, lambda _y: content, *rest
            )
            if short_by >= 0:
                self._learn_frame(short_by, content, styled)
        remember(self._styled, id(content), (content, context, styled), self.max_styled)
        return styled

    def _learn_frame(self, short_by: int, content: Strip, styled: Strip) -> None:
        inner = list(content)
        outer = list(styled)
        extra = 1 if short_by else 0
        if len(outer) != len(inner) + 2 + extra or outer[1 : 1 + len(inner)] != inner:
            return
        left, right = outer[0], outer[-1]
        blank = outer[-2] if extra else None
        if left.control or right.control or (blank is not None and blank.text != " " * short_by):
            return
        self._frames[short_by] = (left, blank, right)


def use_styled_row_cache(widget: Widget, max_styled: int) -> StyledRowCache:
    """Give ``widget`` a :class:`StyledRowCache` instead of Textual's (call it from the widget's ``__init__``,
    before anything is drawn) and return it: the widget calls its ``forget`` whenever its styles change."""
    cache = StyledRowCache(max_styled)
    widget._styles_cache = cache
    return cache
