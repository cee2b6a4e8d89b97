"""The ``?`` help screen: every key, what it does, where, and the binding id a ``[keymap]`` moves it by.

Built from ui/keymap.py (the bindings the keymap check knows, with the remaps in force), so it can never
list a key the app does not have, or miss one it has.
"""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from cti_tui.ui.keymap import KeyHelp, key_help


def help_table(rows: list[KeyHelp]) -> Table:
    """The rows under a heading per place; descriptions wrap in their column, keys and ids are never cut."""
    table = Table(box=None, expand=True, show_edge=False, pad_edge=False, show_header=True, header_style="bold")
    table.add_column("Key", no_wrap=True, style="bold #ffcc00")
    table.add_column("What", ratio=1)
    table.add_column("Binding id", no_wrap=True, style="dim")
    where = None
    for row in rows:
        if row.where != where:
            where = row.where
            table.add_row(Text(where, style="bold underline"), "", "")
        table.add_row(row.keys, row.description, row.binding_id)
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "dismiss_help", "Close", id="help.close"),
    ]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Vertical {
        width: 100; max-width: 100%; height: auto; max-height: 100%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    HelpScreen .title { text-style: bold; width: 100%; }
    HelpScreen VerticalScroll { height: auto; max-height: 1fr; }
    HelpScreen #keys { width: 100%; }
    """

    def compose(self) -> ComposeResult:
        keymap = getattr(self.app, "applied_keymap", {})
        rows = key_help(keymap, self.app.get_key_display)
        with Vertical():
            yield Label("Keys · remap in config.toml [keymap] by binding id · esc closes", classes="title")
            with VerticalScroll():
                yield Static(help_table(rows), id="keys")

    def action_dismiss_help(self) -> None:
        self.dismiss(None)
