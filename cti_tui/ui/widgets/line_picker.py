"""The subscribe picker: type to filter the lines one may watch, arrows to move, Enter to watch.

A real organisation has hundreds of lines (the big demo org: 10,000 agents, 200 queues), too many to scroll
through: every word typed must appear in the line's node, name or number (``queue:`` keeps the queues,
``sales`` finds the sales queue and its agents), the closest matches first. At most :data:`SHOWN` rows are
drawn, with how many more matched: all 10,214 lines of the big org took ~1 s to open and 0.6-0.9 s a key to
redraw, against ~0.1 s for either with the cap (bench/line_picker.py).

Keyboard first: the filter keeps the focus, up/down/page keys move the highlight in the list under it, Enter
watches the highlighted line, Escape closes. Kinds are read from the node's prefix (``user``, ``queue``,
``ivr``, ``conf``, ``callpark``, and whatever kind a backend adds), so nothing here lists them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from cti_tui.core.model import DirectoryEntry
from cti_tui.core.text import visible

SHOWN = 100  # rows drawn at most; the count line says how many more matched


def kind_of(node: str) -> str:
    return node.partition(":")[0]


@dataclass(frozen=True)
class Candidate:
    """A line one may watch, with what the filter searches in (lower case, computed once)."""

    node: str
    name: str
    number: str
    haystack: str

    @classmethod
    def of(cls, entry: DirectoryEntry) -> Candidate:
        name, number = visible(entry.name), visible(entry.number)
        haystack = f"{entry.node} {name} {number} {entry.outside_number or ''}".lower()
        return cls(entry.node, name, number, haystack)


def matches(candidates: Iterable[Candidate], query: str) -> list[Candidate]:
    """Those with every word of ``query`` in them; a node equal to, then starting with, the query first."""
    words = query.lower().split()
    if not words:
        return list(candidates)
    found = [c for c in candidates if all(word in c.haystack for word in words)]
    whole = query.strip().lower()
    return sorted(found, key=lambda c: (c.node != whole, not c.node.startswith(whole)))


def kinds_text(candidates: Iterable[Candidate]) -> str:
    """``user 10,009 · queue 202 · ivr 1``: what there is to find, by kind."""
    counts = Counter(kind_of(c.node) for c in candidates)
    return " · ".join(f"{kind} {count:,}" for kind, count in counts.items())


class LinePicker(ModalScreen[str | None]):
    """Pick a line to watch among ``entries``; dismissed with its node, or None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="picker.cancel"),
        Binding("down", "move('cursor_down')", "Next", show=False, priority=True),
        Binding("up", "move('cursor_up')", "Previous", show=False, priority=True),
        Binding("pagedown", "move('page_down')", "Page down", show=False, priority=True),
        Binding("pageup", "move('page_up')", "Page up", show=False, priority=True),
    ]
    DEFAULT_CSS = """
    LinePicker { align: center middle; }
    LinePicker > Vertical {
        width: 76; max-width: 95%; height: auto; max-height: 100%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    LinePicker #kinds, LinePicker #count { color: $text-muted; height: 1; }
    LinePicker #filter { margin: 1 0; }
    LinePicker OptionList { height: auto; max-height: 12; }
    """

    def __init__(self, entries: Iterable[DirectoryEntry], *, empty: str = "every line is watched") -> None:
        super().__init__()
        self.candidates = [Candidate.of(entry) for entry in entries]
        self.empty = empty
        self.shown: list[Candidate] = []

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text.assemble(("Watch a line", "bold"), ("   ↑↓ move · Enter watches · Esc closes", "dim")))
            yield Label(kinds_text(self.candidates) or self.empty, id="kinds", markup=False)
            yield Input(placeholder="type to filter: a name, a number, queue:, user:…", id="filter", compact=True)
            yield OptionList(id="picks", compact=True)
            yield Label("", id="count", markup=False)

    def on_mount(self) -> None:
        self._show("")
        self.query_one("#filter", Input).focus()

    @on(Input.Changed, "#filter")
    def _filter(self, event: Input.Changed) -> None:
        self._show(event.value)

    def _show(self, query: str) -> None:
        found = matches(self.candidates, query)
        self.shown = found[:SHOWN]
        options = self.query_one("#picks", OptionList)
        options.clear_options()
        options.add_options([self._option(c) for c in self.shown])
        if self.shown:
            options.highlighted = 0
        more = len(found) - len(self.shown)
        if not self.candidates:
            count = ""
        elif not found:
            count = "no line matches"
        elif more:
            count = f"{len(self.shown)} of {len(found):,} shown — type more to narrow"
        else:
            count = f"{len(found):,} line{'s' if len(found) != 1 else ''}"
        self.query_one("#count", Label).update(count)

    @staticmethod
    def _option(candidate: Candidate) -> Option:
        label = Text.assemble((f"{candidate.node:<18}", "bold"), " ", candidate.name, (f"  {candidate.number}", "dim"))
        return Option(label, id=candidate.node)

    def action_move(self, how: str) -> None:
        getattr(self.query_one("#picks", OptionList), f"action_{how}")()

    @on(Input.Submitted, "#filter")
    def _submitted(self) -> None:
        options = self.query_one("#picks", OptionList)
        if options.highlighted is not None and self.shown:
            self.dismiss(self.shown[options.highlighted].node)

    @on(OptionList.OptionSelected, "#picks")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
