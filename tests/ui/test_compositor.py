"""The dashboard's compositor asks widgets only for the rows an update repaints: every row it sends to the
terminal must be exactly the row Textual's own compositor sends for the same update."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from rich.style import Style
from rich.text import Text
from textual._compositor import Compositor
from textual.app import App, ComposeResult
from textual.containers import Horizontal
from textual.geometry import Region
from textual.screen import Screen
from textual.strip import Strip
from textual.widgets import Static

from cti_tui.ui.compositor import DirtyRowsCompositor
from cti_tui.ui.widgets.row_view import RowView


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


class Checked(DirtyRowsCompositor):
    """Paints every update both ways, and records whether the rows sent to the terminal are the same."""

    def __init__(self) -> None:
        super().__init__()
        self.compared = 0
        self.differences: list[int] = []

    def _render_chops(self, crop: Region, is_rendered_line: Callable[[int], bool]) -> Sequence[Mapping[int, Strip]]:
        mine = super()._render_chops(crop, is_rendered_line)
        textual = Compositor._render_chops(self, crop, is_rendered_line)
        for y, (ours, theirs) in enumerate(zip(mine, textual, strict=True)):
            if is_rendered_line(y) and cells(ours) != cells(theirs):
                self.differences.append(y)
        self.compared += 1
        return mine


def cells(chops: Mapping[int, Strip | None]) -> list[tuple[int, list[tuple[str, Style | None]]]]:
    return [
        (cut, [(char, segment.style) for segment in strip for char in segment.text])
        for cut, strip in sorted(chops.items())
        if strip is not None
    ]


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
        view.remove("k0")
        await same()
        app.screen.query_one("#beside", Static).update("other\n" * 30)
        await same()
        view.blur()
        await same()
        compositor = app.screen._compositor
        assert checks == 8 and compositor.compared >= 8
        assert compositor.differences == []
