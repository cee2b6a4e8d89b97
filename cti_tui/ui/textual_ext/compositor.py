"""A compositor that asks each widget only for the rows, and the parts of rows, an update repaints.

Textual's compositor, on a partial update, asks every widget under the bounding box of the changes for *all*
its visible rows, cuts every row it was given into pieces, and then sends the terminal only the pieces in
the changed spans. On a busy dashboard the calls pane (top) and the lines pane (bottom left) change every
frame, up to 60 a second, so the history pane beside them and the containers under them handed over and
had cut every row they show, each frame, for nothing. This one asks a widget only for the band of rows in
which a changed span crosses a piece of it that no widget in front covers, and cuts only those rows; what
the terminal is sent is the same: pieces outside the changed spans were never sent (``ChopsUpdate`` skips
them).

Built on Textual's private ``Compositor`` internals (listed in ``TEXTUAL_INTERNALS``, in this package's ``__init__``);
``tests/ui/test_compositor.py`` checks that every update sends the terminal exactly what Textual's own
compositor sends. :func:`use_dirty_rows_compositor` puts one in place of a screen's own (``Screen._compositor``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from itertools import pairwise
from typing import Any, cast

from textual._compositor import ChopsUpdate, Compositor
from textual.geometry import Region
from textual.screen import Screen
from textual.strip import Strip


def use_dirty_rows_compositor(screen: Screen[Any]) -> DirtyRowsCompositor:
    """Give ``screen`` a :class:`DirtyRowsCompositor` instead of Textual's (call it from the screen's
    ``__init__``, before anything is laid out) and return it."""
    compositor = DirtyRowsCompositor()
    screen._compositor = compositor
    return compositor


class DirtyRowsCompositor(Compositor):
    def __init__(self) -> None:
        super().__init__()
        self._changed_spans: dict[int, list[tuple[int, int]]] | None = None  # row -> [x1, x2) changed

    def render_partial_update(self) -> ChopsUpdate | None:
        """Textual's, but the changed spans are kept for :meth:`_render_chops`."""
        update_regions = self._dirty_regions.copy()
        self._dirty_regions.clear()
        if not update_regions:
            return None
        crop = Region.from_union(update_regions).intersection(self.size.region)
        spans = list(self._regions_to_spans(update_regions))
        changed: dict[int, list[tuple[int, int]]] = {}
        for y, x1, x2 in spans:
            changed.setdefault(y, []).append((x1, x2))
        self._changed_spans = changed
        try:
            chops = self._render_chops(crop, changed.__contains__)
        finally:
            self._changed_spans = None
        return ChopsUpdate(chops, spans, [cut_set[1:] for cut_set in self.cuts])

    def _render_chops(
        self,
        crop: Region,
        is_rendered_line: Callable[[int], bool],
    ) -> Sequence[Mapping[int, Strip]]:
        cuts = self.cuts
        chops: list[dict[int, Strip | None]] = [dict.fromkeys(cut_set[:-1]) for cut_set in cuts]
        changed = self._changed_spans
        overlaps = crop.overlaps
        intersection = Region.intersection
        for widget, (region, clip) in self.visible_widgets.items():  # front to back: the first piece wins
            if not overlaps(clip):
                continue
            visible = intersection(region, clip)
            if not (visible.width and visible.height):
                continue
            left, right = visible.x, visible.right
            if changed is None:  # a whole render
                rows = [y for y in visible.line_range if is_rendered_line(y)]
            else:  # rows where a changed span crosses a piece of this widget that nothing in front covers
                rows = [
                    y
                    for y in visible.line_range
                    if (spans := changed.get(y))
                    and any(x1 < right and x2 > left for x1, x2 in spans)
                    and _uncovered(spans, left, right, cuts[y], chops[y])
                ]
            if not rows:
                continue
            top, bottom = rows[0], rows[-1] + 1
            wanted = set(rows)
            strips = widget.render_lines(Region(left - region.x, top - region.y, visible.width, bottom - top))
            first_cut, last_cut = visible.column_span
            for y, strip in zip(range(top, bottom), strips, strict=False):
                if y not in wanted:
                    continue
                chops_line = chops[y]
                final_cuts = [cut for cut in cuts[y] if last_cut >= cut >= first_cut]
                get_chop = chops_line.get
                pieces = strip.divide([cut - left for cut in final_cuts[1:]])
                for cut, piece in zip(final_cuts, pieces, strict=False):
                    if get_chop(cut) is None:
                        chops_line[cut] = piece
        return cast("Sequence[Mapping[int, Strip]]", chops)


def _uncovered(
    spans: list[tuple[int, int]], left: int, right: int, cuts: list[int], chops: Mapping[int, Strip | None]
) -> bool:
    """Does a changed span cross a piece of row between ``left`` and ``right`` that no widget in front has
    filled? (A container under opaque panes has none: it is not asked for its rows at all.)"""
    for start, end in pairwise(cuts):
        if end <= left:
            continue
        if start >= right:
            return False
        if chops.get(start) is None and any(x1 < end and x2 > start for x1, x2 in spans):
            return True
    return False
