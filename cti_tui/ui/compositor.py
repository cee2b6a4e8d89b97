"""A compositor that asks each widget only for the rows a partial update repaints.

Textual's compositor, on a partial update, asks every widget under the updated area for *all* its visible
rows and then keeps the rows that changed. On a busy dashboard an update touches the calls and the lines
panes every frame (up to 60 a second), so the history pane beside them, the containers under them and both
row views handed over every row they show, each frame, to have most of them thrown away. This one asks each
widget for the band of rows between the first and the last repainted row it covers; what ends up on screen
is the same (the rows outside that band were not going to be used).

Built on Textual's private ``Compositor._render_chops`` (Textual is pinned in pyproject.toml); the snapshot
tests and ``tests/ui/test_row_view.py`` compare what it paints with Textual's own full render.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import cast

from textual._compositor import Compositor
from textual.geometry import Region
from textual.strip import Strip


class DirtyRowsCompositor(Compositor):
    def _render_chops(
        self,
        crop: Region,
        is_rendered_line: Callable[[int], bool],
    ) -> Sequence[Mapping[int, Strip]]:
        cuts = self.cuts
        chops: list[dict[int, Strip | None]] = [dict.fromkeys(cut_set[:-1]) for cut_set in cuts]
        overlaps = crop.overlaps
        intersection = Region.intersection
        for widget, (region, clip) in self.visible_widgets.items():
            if not overlaps(clip):
                continue
            visible = intersection(region, clip)
            if not (visible.width and visible.height):
                continue
            rows = [y for y in visible.line_range if is_rendered_line(y)]
            if not rows:
                continue
            top, bottom = rows[0], rows[-1] + 1
            strips = widget.render_lines(Region(visible.x - region.x, top - region.y, visible.width, bottom - top))
            render_x = visible.x
            first_cut, last_cut = visible.column_span
            for y, strip in zip(range(top, bottom), strips, strict=False):
                if not is_rendered_line(y):
                    continue
                chops_line = chops[y]
                final_cuts = [cut for cut in cuts[y] if last_cut >= cut >= first_cut]
                get_chop = chops_line.get
                pieces = strip.divide([cut - render_x for cut in final_cuts[1:]])
                for cut, piece in zip(final_cuts, pieces, strict=False):
                    if get_chop(cut) is None:
                        chops_line[cut] = piece
        return cast("Sequence[Mapping[int, Strip]]", chops)
