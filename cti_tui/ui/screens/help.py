"""The ``?`` help screen: every key, what it does, where, and the binding id a ``[keymap]`` moves it by.

Built from ui/keymap.py (the bindings the keymap check knows, with the remaps in force), so it can never
list a key the app does not have, or miss one it has.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from cti_tui.ui.keymap import KeyHelp, key_help


def help_table(rows: list[KeyHelp]) -> Text:
    """The rows as aligned columns; the description wraps under itself rather than being cut."""
    keys_width = max(len(row.keys) for row in rows)
    id_width = max(len(row.binding_id) for row in rows)
    text = Text()
    text.append(f"{'Key':<{keys_width}}  {'Binding id':<{id_width}}  What (where)\n", style="bold underline")
    for row in rows:
        text.append(f"{row.keys:<{keys_width}}", style="bold #ffcc00")
        text.append(f"  {row.binding_id:<{id_width}}  ", style="dim")
        text.append(f"{row.description} ({row.where})\n")
    return text


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
