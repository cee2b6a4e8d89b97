"""The subscriptions pane: one entry per watched line with its lamp, a summary and its live calls.

Attributes go down (nodes, calls, the directory), messages go up: pressing ``delete`` posts
:class:`SubscriptionsPane.Unsubscribe` and the dashboard does the unsubscribing. The lamp and the queue
figures come from :mod:`cti_tui.ui.lamps`; this module only draws them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import ClassVar

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option, OptionDoesNotExist

from cti_tui.engine.model import Call, DirectoryEntry
from cti_tui.ui import render
from cti_tui.ui.lamps import Lamp, LineBoard, LineSummary, is_waiting

LAMP_GLYPH = "●"
LAMP_STYLE: dict[Lamp, str] = {
    Lamp.IDLE: "#565f89",
    Lamp.RINGING: "bold #ffcc00",
    Lamp.BUSY: "bold #9ece6a",
    Lamp.HELD: "bold #ffb000",
}
EMPTY_HINT = "no lines watched — press s to subscribe"
CALL_INDENT = "    "


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def summary_text(summary: LineSummary) -> str:
    """``2 waiting · longest 01:23`` for a queue with callers waiting, else ``1 call`` / ``3 calls`` / ``idle``."""
    parts: list[str] = []
    if summary.waiting:
        parts.append(f"{summary.waiting} waiting · longest {render.clock_text(summary.longest_wait_seconds)}")
    if summary.others:
        parts.append(_plural(summary.others, "call"))
    return " · ".join(parts) or "idle"


def call_line(call: Call, node: str, now: datetime) -> Table:
    """One live call under its line: status, queue place, party, the line it is really on, duration —
    a grid row, so a long name is cut with an ellipsis instead of wrapping under the lamp."""
    badge = render.status_badge(call)
    if is_waiting(call, node) and call.queue_position is not None:
        badge.append(f" #{call.queue_position}", style="bold #ffcc00")
    party = render.party_text(call)
    if call.line != node:
        party.append(f"  → {call.line}", style="dim")
    seconds = call.ringing_seconds(now) if call.connect_at is None else call.talk_seconds(now)
    clock = Text(render.clock_text(seconds), style="#ffcc00" if call.connect_at is None else "")
    row = Table.grid(expand=True, padding=(0, 1))
    row.add_column(width=len(CALL_INDENT) - 1, no_wrap=True)
    row.add_column(no_wrap=True)
    row.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
    row.add_column(no_wrap=True, justify="right")
    row.add_row("", badge, party, clock)
    return row


def heading(summary: LineSummary, name: str) -> Table:
    """Lamp, node and name on the left (cut with an ellipsis when narrow), the summary on the right."""
    title = Text()
    title.append(f"{LAMP_GLYPH} ", style=LAMP_STYLE[summary.lamp])
    title.append(summary.node, style="bold")
    if name and name != summary.node:
        title.append(f"  {name}")
    note = Text(summary_text(summary), style="#ffcc00" if summary.lamp is Lamp.RINGING else "dim")
    row = Table.grid(expand=True, padding=(0, 1))
    row.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
    row.add_column(no_wrap=True, justify="right")
    row.add_row(title, note)
    return row


def line_prompt(summary: LineSummary, name: str, now: datetime) -> Group:
    """The whole option for one watched node: the heading, then one row per live call."""
    return Group(heading(summary, name), *(call_line(call, summary.node, now) for call in summary.calls))


class SubscriptionsPane(OptionList):
    """The lines a supervisor watches (option id = node), each with a lamp and its live calls."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("delete", "unsubscribe", "Unsubscribe", id="cti.unsubscribe"),
    ]

    class Unsubscribe(Message):
        """The user asked to stop watching ``node``; the dashboard performs it."""

        def __init__(self, node: str) -> None:
            super().__init__()
            self.node = node

    def __init__(
        self,
        directory: list[DirectoryEntry],
        now: Callable[[], datetime],
        *,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self._now = now
        self._names: dict[str, str] = {}
        self._directory: list[DirectoryEntry] = []
        self._board = LineBoard()
        self.directory = directory
        self._rebuild()

    # --- attributes going down ---------------------------------------------------------------------

    @property
    def directory(self) -> list[DirectoryEntry]:
        return self._directory

    @directory.setter
    def directory(self, entries: list[DirectoryEntry]) -> None:
        """Names shown beside the nodes; setting it redraws every line."""
        self._directory = list(entries)
        self._names = {entry.node: entry.name for entry in self._directory}
        self._redraw(self._board.nodes)

    @property
    def nodes(self) -> tuple[str, ...]:
        return self._board.nodes

    def set_nodes(self, nodes: Iterable[str]) -> None:
        """Watch ``nodes`` in this order; the highlighted node stays highlighted if it is still watched."""
        nodes = tuple(dict.fromkeys(nodes))
        if nodes == self._board.nodes:
            return
        self._board.set_nodes(nodes)
        self._rebuild()

    def show(self, call: Call) -> None:
        """Any call update; only the watched lines it is (or was) seen on are redrawn."""
        self._redraw(self._board.update(call))

    def replace(self, calls: Iterable[Call]) -> None:
        """Know exactly ``calls`` (a snapshot after login, reconnect or subscribe)."""
        self._board.replace(calls)
        self._redraw(self._board.nodes)

    def tick(self) -> None:
        """Refresh durations: redraw the lines that have live calls."""
        now = self._now()
        self._redraw([s.node for s in self._board.summaries(now) if s.calls])

    # --- reading -----------------------------------------------------------------------------------

    @property
    def highlighted_node(self) -> str | None:
        option = self.highlighted_option
        if option is None or option.id is None or option.id not in self._board.nodes:
            return None
        return option.id

    def summary(self, node: str) -> LineSummary:
        return self._board.summary(node, self._now())

    def name_of(self, node: str) -> str:
        return self._names.get(node, "")

    # --- drawing -----------------------------------------------------------------------------------

    def _prompt(self, node: str, now: datetime) -> Text:
        return line_prompt(self._board.summary(node, now), self.name_of(node), now)

    def _redraw(self, nodes: Iterable[str]) -> None:
        now = self._now()
        for node in nodes:
            try:
                self.replace_option_prompt(node, self._prompt(node, now))
            except OptionDoesNotExist:
                continue

    def _rebuild(self) -> None:
        """Rebuild all options (the set of nodes changed), keeping the highlight on the same node."""
        previous_node = self.highlighted_node
        previous_index = self.highlighted
        nodes = self._board.nodes
        self.border_title = f"Lines ({len(nodes)})"
        if not nodes:
            self.set_options([Option(Text(EMPTY_HINT, style="dim italic"), disabled=True)])
            self.highlighted = None
        else:
            now = self._now()
            self.set_options([Option(self._prompt(node, now), id=node) for node in nodes])
            if previous_node in nodes:
                self.highlighted = nodes.index(previous_node)
            else:
                self.highlighted = min(previous_index or 0, len(nodes) - 1)
        self.refresh_bindings()

    def watch_highlighted(self, highlighted: int | None) -> None:
        super().watch_highlighted(highlighted)
        self.refresh_bindings()

    # --- keys --------------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "unsubscribe":
            return self.highlighted_node is not None
        return super().check_action(action, parameters)

    def action_unsubscribe(self) -> None:
        node = self.highlighted_node
        if node is not None:
            self.post_message(self.Unsubscribe(node))
