"""The key bar at the bottom of the dashboard: the keys that can act now, on as many lines as they need.

Why not Textual's Footer: it is a container of one widget per key and rebuilds them all (a recompose, then a
layout of the whole screen) each time the keys change. On a supervisor wall the selected call changes state
several times a second, so the footer was rebuilt every half second: 15-30 ms frames, and a stream of short-
lived widgets that lived just long enough to reach the cycle collector's oldest generation and make its
passes long. This bar draws the same line (key, description, the command palette on the right) from the
screen's active bindings and repaints it only when that line changes; a click on a key presses it. Keys that
do not fit the width wrap onto another line (cut at the edge, they were controls nobody could see).
"""

from __future__ import annotations

from typing import ClassVar, NamedTuple

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.screen import Screen
from textual.widget import Widget


class Shown(NamedTuple):
    key: str
    display: str
    description: str
    enabled: bool


class KeyBar(Widget, can_focus=False):
    COMPONENT_CLASSES: ClassVar[set[str]] = {"key-bar--key", "key-bar--description", "key-bar--palette-edge"}
    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: auto;
        color: $footer-foreground;
        background: $footer-background;
    }
    KeyBar > .key-bar--key {
        color: $footer-key-foreground;
        background: $footer-key-background;
        text-style: bold;
    }
    KeyBar > .key-bar--description {
        color: $footer-description-foreground;
        background: $footer-description-background;
    }
    KeyBar > .key-bar--palette-edge {
        color: $foreground 20%;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._keys: tuple[Shown, ...] = ()
        self._palette: Shown | None = None
        self._spans: list[tuple[int, int, int, Shown]] = []  # where each key was drawn (line, x, x), for clicks

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._bindings_changed(self.screen)

    def _bindings_changed(self, screen: Screen[object]) -> None:
        if not self.is_attached or screen is not self.screen:
            return
        keys, palette = self._shown(screen)
        if (keys, palette) != (self._keys, self._palette):
            lines = len(self._rows(self.size.width))
            self._keys, self._palette = keys, palette
            self.refresh(layout=len(self._rows(self.size.width)) != lines)  # a layout only when lines change

    def _shown(self, screen: Screen[object]) -> tuple[tuple[Shown, ...], Shown | None]:
        """What Textual's Footer shows: each action's first shown binding, and the palette key apart."""
        app = self.app
        palette_key = app.COMMAND_PALETTE_BINDING if app.ENABLE_COMMAND_PALETTE else None
        keys: list[Shown] = []
        actions: set[str] = set()
        palette: Shown | None = None
        for key, (_node, binding, enabled, _tooltip) in screen.active_bindings.items():
            if key == palette_key:
                palette = self._entry(binding, enabled)
            elif binding.show and binding.action not in actions:
                actions.add(binding.action)
                keys.append(self._entry(binding, enabled))
        return tuple(keys), palette

    def _entry(self, binding: Binding, enabled: bool) -> Shown:
        return Shown(binding.key, self.app.get_key_display(binding), binding.description, enabled)

    @property
    def shown(self) -> list[str]:
        """The keys on the bar as "key description" (what a user reads)."""
        return [f"{entry.display} {entry.description}".strip() for entry in self._keys]

    def _rows(self, width: int) -> list[list[Shown]]:
        """The keys in reading order, a new line whenever the next key would pass the edge (the first line
        keeps room for the palette on the right)."""
        reserve = cell_len(self._palette.display) + cell_len(self._palette.description) + 3 if self._palette else 0
        rows: list[list[Shown]] = [[]]
        used = 0
        for entry in self._keys:
            cells = _cell_width(entry)
            room = width - (reserve if len(rows) == 1 else 0)
            if rows[-1] and used + cells > room:
                rows.append([])
                used = 0
            rows[-1].append(entry)
            used += cells
        return rows

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._rows(width))

    def render(self) -> Text:
        width = self.size.width
        base = self.rich_style
        key_style = self.get_component_rich_style("key-bar--key")
        description_style = self.get_component_rich_style("key-bar--description")
        spans: list[tuple[int, int, int, Shown]] = []
        lines: list[Text] = []
        for y, row in enumerate(self._rows(width)):
            line = Text(style=base, no_wrap=True, overflow="crop")
            for entry in row:
                start = line.cell_len
                dim = Style(dim=True) if not entry.enabled else Style()
                line.append(f" {entry.display} ", key_style + dim)
                line.append(f"{entry.description} " if entry.description else "", description_style + dim)
                spans.append((y, start, line.cell_len, entry))
            if y == 0 and self._palette is not None:
                tail = Text.assemble(
                    ("▏", self.get_component_rich_style("key-bar--palette-edge")),
                    (self._palette.display, key_style),
                    (f" {self._palette.description}", description_style),
                    (" ", base),
                )
                start = max(0, width - tail.cell_len)  # always on the right edge
                line.truncate(start, pad=True)
                line.append_text(tail)
                spans = [(0, first, min(last, start), entry) for _, first, last, entry in spans if first < start]
                spans.append((0, start + 1, start + tail.cell_len, self._palette))
            lines.append(line)
        self._spans = spans
        return Text("\n", style=base).join(lines)

    def on_click(self, event: events.Click) -> None:
        for y, start, end, entry in self._spans:
            if y == event.y and start <= event.x < end:
                if entry.enabled:
                    self.app.simulate_key(entry.key)
                else:
                    self.app.bell()
                return


def _cell_width(entry: Shown) -> int:
    return cell_len(entry.display) + 2 + (cell_len(entry.description) + 1 if entry.description else 0)
