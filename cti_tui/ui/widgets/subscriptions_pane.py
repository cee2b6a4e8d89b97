"""The subscriptions pane: one entry per watched line with its lamp, a summary and its live calls.

Built on :class:`RowView` so a wall of 10,000 lines redraws only the lines that changed and are on screen.

Attributes go down (nodes, calls, the directory), messages go up: pressing ``delete`` posts
:class:`SubscriptionsPane.Unsubscribe` and the dashboard does the unsubscribing. The lamp and the queue
figures come from :mod:`cti_tui.ui.lamps`; this module only draws them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message

from cti_tui.core.availability import Availability
from cti_tui.core.model import Call, DirectoryEntry
from cti_tui.ui import render
from cti_tui.ui.lamps import Lamp, LineBoard, LineSummary, is_waiting
from cti_tui.ui.widgets.agent_state import agent_text
from cti_tui.ui.widgets.row_view import RowView

LAMP_GLYPH = "●"
LAMP_STYLE: dict[Lamp, str] = {
    Lamp.IDLE: "#565f89",
    Lamp.RINGING: "bold #ffcc00",
    Lamp.BUSY: "bold #9ece6a",
    Lamp.HELD: "bold #ffb000",
}
EMPTY_HINT = "no lines watched — press s to subscribe"
CALL_INDENT = "    "
COMPACT_BELOW = 56  # columns under which a watched agent's state is shown as one word


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


def spread(left: Text, right: Text, width: int, base: Style) -> Text:
    """``left`` cut with an ellipsis where needed, ``right`` flush with the right edge, on one row."""
    room = max(0, width - right.cell_len - 1)
    left.truncate(room, overflow="ellipsis", pad=True)
    row = Text(style=base)
    row.append_text(left)
    row.append(" ")
    row.append_text(right)
    return row


def call_line(call: Call, node: str, now: datetime, width: int, base: Style) -> Text:
    """One live call under its line: status, queue place, party, the line it is really on, duration."""
    badge = render.status_badge(call)
    if is_waiting(call, node) and call.queue_position is not None:
        badge.append(f" #{call.queue_position}", style="bold #ffcc00")
    left = Text(CALL_INDENT)
    left.append_text(badge)
    left.append(" ")
    left.append_text(render.party_text(call))
    if call.line != node:
        left.append(f"  → {call.line}", style="dim")
    seconds = call.ringing_seconds(now) if call.connect_at is None else call.talk_seconds(now)
    clock = Text(render.clock_text(seconds), style="#ffcc00" if call.connect_at is None else "")
    return spread(left, clock, width, base)


def heading(summary: LineSummary, name: str, width: int, base: Style, agent: Text | None = None) -> Text:
    """Lamp, node and name on the left (cut with an ellipsis when narrow), the summary on the right, and
    before it a watched agent's availability (``agent``) when the backend tells it."""
    title = Text()
    title.append(f"{LAMP_GLYPH} ", style=LAMP_STYLE[summary.lamp])
    title.append(summary.node, style="bold")
    if name and name != summary.node:
        title.append(f"  {name}")
    note = Text(summary_text(summary), style="#ffcc00" if summary.lamp is Lamp.RINGING else "dim")
    if agent is not None:
        note = Text.assemble(agent, note)
    return spread(title, note, width, base)


class SubscriptionsPane(RowView):
    """The lines a supervisor watches (item key = node), each a heading row and one row per live call."""

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
        self._summaries: dict[str, LineSummary] = {}  # until the node changes (its rows share one)
        self._none_highlighted = True
        self._agents: dict[str, Availability] = {}  # node -> the watched agent's availability
        self.directory = directory
        self.border_title = "Lines (0)"

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
        self._summaries.clear()  # a node that left may come back with other calls: summarise afresh
        self.set_keys(nodes)
        self._count_changed()

    # (Not watch/unwatch: DOMNode.watch is Textual's, which data_bind calls; and watch_* names read as the
    # watchers Textual calls for reactives.)
    def add_line(self, node: str) -> None:
        """Watch ``node`` too, at the bottom (O(1): a wall adds thousands one by one)."""
        if self._board.watches(node):
            return
        self._board.watch(node)
        self.add(node)
        self._count_changed()

    def discard_line(self, node: str) -> None:
        """Stop showing ``node`` (nothing happens if it is not shown)."""
        if not self._board.watches(node):
            return
        self._board.unwatch(node)
        self._summaries.pop(node, None)  # unwatched, its calls change unseen
        self.discard(node)
        self._count_changed()

    def _count_changed(self) -> None:
        self.border_title = f"Lines ({self.row_count})"  # (the cursor moving says when delete can act)

    def show(self, call: Call) -> None:
        """Any call update; only the watched lines it is (or was) seen on are redrawn."""
        self._redraw(self._board.update(call))

    def replace(self, calls: Iterable[Call]) -> None:
        """Know exactly ``calls`` (a snapshot after login, reconnect or subscribe)."""
        self._board.replace(calls)
        self._redraw(self._board.nodes)

    def tick(self) -> None:
        """Durations moved on: the lines with live calls change (only those on screen are rendered), and
        the time in state of the agents shown."""
        self._redraw(self._board.busy_nodes())
        self._redraw(node for node in self._agents if self._board.watches(node))

    def set_agent(self, agent: Availability) -> None:
        """A watched agent's availability changed: its line's heading shows it."""
        self._agents[agent.line] = agent
        if self._board.watches(agent.line):
            self.changed(agent.line)

    # --- reading -----------------------------------------------------------------------------------

    @property
    def highlighted_node(self) -> str | None:
        return self.cursor_key

    def summary(self, node: str) -> LineSummary:
        return self._board.summary(node, self._now())

    def name_of(self, node: str) -> str:
        return self._names.get(node, "")

    def row_texts(self, node: str, width: int = 90) -> list[str]:
        """The node's rows as plain text (what the screen shows, without colours)."""
        return [self.render_item_row(node, row, width, Style()).plain.rstrip() for row in range(self.item_height(node))]

    # --- drawing -----------------------------------------------------------------------------------

    def _redraw(self, nodes: Iterable[str]) -> None:
        for node in nodes:
            self.changed(node)

    def item_height(self, key: str) -> int:
        return 1 + self._board.count_on(key)

    def _summary(self, node: str) -> LineSummary:
        """One summary per node until it changes (a node of several rows renders them from the same one)."""
        summary = self._summaries.get(node)
        if summary is None:
            summary = self._summaries[node] = self._board.summary(node, self._now())
        return summary

    def render_item_row(self, key: str, row: int, width: int, base: Style) -> Text:
        summary = self._summary(key)
        if row == 0:
            agent = self._agents.get(key)
            compact = width < COMPACT_BELOW  # the line's name first: the state shrinks to a word
            shown = None if agent is None else agent_text(agent, self._now(), compact=compact)
            return heading(summary, self.name_of(key), width, base, shown)
        if row - 1 < len(summary.calls):
            return call_line(summary.calls[row - 1], key, self._now(), width, base)
        return Text(style=base)

    def render_empty_row(self, width: int, base: Style) -> Text:
        return Text(EMPTY_HINT, style=base + Style(dim=True, italic=True))

    def changed(self, key: str) -> None:
        self._summaries.pop(key, None)
        super().changed(key)

    def on_row_view_highlighted(self, message: RowView.Highlighted) -> None:
        """Delete can act only while a line is highlighted: ask for the keys again only when that flips (not
        for every move of the cursor: each check asks the engine about every key)."""
        if (message.key is None) != self._none_highlighted:
            self._none_highlighted = message.key is None
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
