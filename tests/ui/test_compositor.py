"""The dashboard's compositor asks widgets only for the rows (and parts of rows) an update repaints: every
update must send the terminal exactly the bytes Textual's own compositor sends for it."""

from __future__ import annotations

import re
from types import MethodType

from rich.console import Console
from rich.style import Style
from rich.text import Text
from textual._compositor import ChopsUpdate, Compositor
from textual.app import App, ComposeResult
from textual.containers import Horizontal
from textual.geometry import Region
from textual.screen import Screen
from textual.widgets import Static

from cti_tui.ui.textual_ext.compositor import DirtyRowsCompositor
from cti_tui.ui.widgets.row_view import RowView

CONSOLE = Console(width=40, color_system="truecolor", force_terminal=True, legacy_windows=False)


class Rows(RowView):
    DEFAULT_CSS = "Rows { border: round red; width: 1fr; height: 100%; } Rows:focus { border: round green; }"

    def __init__(self) -> None:
        super().__init__()
        self.heights: dict[str, int] = {}
        self.labels: dict[str, str] = {}

    def item_height(self, key: str) -> int:
        return self.heights[key]

    def render_item_row(self, key: str, row: int, width: int, base: Style) -> Text:
        return Text(f"{self.labels.get(key, key)}.{row}", style=base)


# A cursor move straight followed by another move, a new line or the end draws nothing. Textual sends one for
# a piece that starts exactly where a changed span ends (cropped to nothing); this compositor does not ask the
# widget behind such a piece for its lines at all (the scroll bar beside a list's rows, on every frame).
_IDLE_MOVE = re.compile(r"\x1b\[\d+;\d+H(?=\x1b\[\d+;\d+H|\n|$)")


def _visible(sent: str) -> str:
    return _IDLE_MOVE.sub("", sent)


class Checked(DirtyRowsCompositor):
    """Makes every partial update both ways and records whether the terminal is sent the same bytes."""

    def __init__(self) -> None:
        super().__init__()
        self.compared = 0
        self.differences: list[tuple[str, str]] = []

    def render_partial_update(self) -> ChopsUpdate | None:
        regions = set(self._dirty_regions)
        mine = super().render_partial_update()
        self._dirty_regions.update(regions)
        self._render_chops = MethodType(Compositor._render_chops, self)  # Textual's own, for this update
        try:
            textual = Compositor.render_partial_update(self)
        finally:
            del self._render_chops
        sent = [_visible(update.render_segments(CONSOLE)) if update else "" for update in (mine, textual)]
        if sent[0] != sent[1]:
            self.differences.append((sent[0], sent[1]))
        self.compared += mine is not None
        return mine


class Panes(Screen[None]):
    def __init__(self) -> None:
        super().__init__()
        self._compositor = Checked()

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Rows()
            yield Static("beside\n" * 30, id="beside")
        yield Static("status", id="status")


class PanesApp(App[None]):
    def on_mount(self) -> None:
        self.push_screen(Panes())


async def test_every_row_sent_is_the_row_textuals_compositor_sends() -> None:
    app = PanesApp()
    async with app.run_test(size=(40, 16)) as pilot:
        await pilot.pause()
        view = app.screen.query_one(Rows)
        view.heights = {f"k{i}": 1 for i in range(40)}
        view.set_keys(list(view.heights))
        view.focus()
        await pilot.pause()
        checks = 0

        async def same() -> None:
            nonlocal checks
            await pilot.pause()
            await pilot.pause()
            checks += 1

        await same()
        view.labels["k3"] = "three"  # one row changes
        view.changed("k3")
        await same()
        view.heights["k1"] = 3  # a row grows: the rows below move
        view.changed("k1")
        view.labels["k9"] = "nine"
        view.changed("k9")
        await same()
        app.screen.query_one("#status", Static).update("status changed")  # rows far apart in one update
        view.labels["k2"] = "two"
        view.changed("k2")
        await same()
        await pilot.press("down", "down", "down")
        await same()
        view.discard("k0")
        await same()
        app.screen.query_one("#beside", Static).update("other\n" * 30)
        await same()
        app.screen.query_one("#beside", Static).refresh(Region(0, 2, 1, 1))  # one cell, on a widget's edge
        view.refresh(Region(0, 5, 1, 1))
        await same()
        view.blur()
        await same()
        compositor = app.screen._compositor
        assert checks == 9 and compositor.compared >= 3
        assert compositor.differences == []
