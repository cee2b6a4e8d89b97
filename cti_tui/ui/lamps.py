"""What a watched line's lamp shows: the live calls seen on a node, reduced to a lamp and a queue summary.

Pure logic (no Textual, no Rich) so the subscriptions pane stays a thin renderer and every lamp case is a plain
unit test. A call belongs to a node when it is shown there (:meth:`Call.seen_on`: its own line or one that also
shows it, such as the queue offering it) and has not ended.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from cti_tui.core.model import Call, CallStatus

QUEUE_PREFIX = "queue:"

_BUSY = frozenset({CallStatus.CONNECTED, CallStatus.INITIAL, CallStatus.ACCEPTED})
_HELD = frozenset({CallStatus.ON_HOLD, CallStatus.PARKED})


class Lamp(StrEnum):
    """The state of one line, strongest first: a ringing call beats a busy one, which beats a held one."""

    IDLE = "idle"
    RINGING = "ringing"
    BUSY = "busy"
    HELD = "held"


def is_queue_node(node: str) -> bool:
    return node.startswith(QUEUE_PREFIX)


def lamp_for(calls: Iterable[Call]) -> Lamp:
    """Precedence: any RINGING → RINGING; any CONNECTED/INITIAL/ACCEPTED → BUSY; any ON_HOLD/PARKED → HELD."""
    statuses = {call.status for call in calls if not call.ended}
    if CallStatus.RINGING in statuses:
        return Lamp.RINGING
    if statuses & _BUSY:
        return Lamp.BUSY
    if statuses & _HELD:
        return Lamp.HELD
    return Lamp.IDLE


def is_waiting(call: Call, node: str) -> bool:
    """A call waits in a queue while it rings on the queue's own line (not yet offered to an agent)."""
    return is_queue_node(node) and call.line == node and call.status is CallStatus.RINGING and not call.ended


def _order(call: Call) -> tuple[bool, int, bool, float, str]:
    """Waiting calls by queue position first, then the rest by setup time; the id breaks ties."""
    position = call.queue_position
    setup = call.setup_at.timestamp() if call.setup_at is not None else 0.0
    return (position is None, position or 0, call.setup_at is None, setup, call.id)


@dataclass(frozen=True, slots=True)
class LineSummary:
    """One watched node at one instant.

    ``calls`` are the live calls seen on the node (ordered: waiting calls by queue position, then by setup
    time). ``waiting`` counts the calls ringing on a queue's own line; ``longest_wait_seconds`` is the longest
    ringing time among them (0 when none wait).
    """

    node: str
    lamp: Lamp
    calls: tuple[Call, ...] = ()
    waiting: int = 0
    longest_wait_seconds: float = 0.0

    @property
    def others(self) -> int:
        """Calls on the line that are not waiting in its queue (talking, held, offered to an agent, ...)."""
        return len(self.calls) - self.waiting


def summarise(node: str, calls: Iterable[Call], now: datetime) -> LineSummary:
    mine = tuple(sorted((c for c in calls if not c.ended and c.seen_on({node})), key=_order))
    waits = [c.ringing_seconds(now) for c in mine if is_waiting(c, node)]
    return LineSummary(
        node=node,
        lamp=lamp_for(mine),
        calls=mine,
        waiting=len(waits),
        longest_wait_seconds=max(waits, default=0.0),
    )


def nodes_of(call: Call) -> tuple[str, ...]:
    """Every node that shows ``call``: its own line and the ones that also show it."""
    return (call.line, *call.also)


class LineBoard:
    """The latest version of every live call (by id) and the watched nodes, in the order they are shown.

    Ended calls are dropped. Live calls on unwatched nodes are kept, so that watching a node later shows the
    calls already known to be on it; a snapshot (:meth:`replace`) resets everything. Calls are indexed by the
    nodes that show them, so an update or a summary costs the calls of one node, not of the whole wall.
    """

    def __init__(self, nodes: Iterable[str] = ()) -> None:
        self._calls: dict[str, Call] = {}
        self._on: dict[str, dict[str, None]] = {}  # node -> ids of the live calls it shows (watched or not)
        self._place: dict[str, None] = {}  # the watched nodes, in order
        self._nodes: tuple[str, ...] | None = ()
        self._position: dict[str, int] | None = None
        self.set_nodes(nodes)

    @property
    def nodes(self) -> tuple[str, ...]:
        if self._nodes is None:
            self._nodes = tuple(self._place)
        return self._nodes

    def watches(self, node: str) -> bool:
        return node in self._place

    def calls(self) -> list[Call]:
        return list(self._calls.values())

    def calls_on(self, node: str) -> list[Call]:
        """The live calls ``node`` shows, in no particular order."""
        return [self._calls[call_id] for call_id in self._on.get(node, ())]

    def count_on(self, node: str) -> int:
        return len(self._on.get(node, ()))

    def busy_nodes(self) -> list[str]:
        """The watched nodes that show at least one live call (what a clock tick changes)."""
        return [node for node in self._on if node in self._place]

    def set_nodes(self, nodes: Iterable[str]) -> None:
        """Watch ``nodes`` in this order (duplicates dropped)."""
        self._place = dict.fromkeys(nodes)
        self._nodes = None
        self._position = None

    def watch(self, node: str) -> None:
        """Watch ``node`` too, after the others."""
        if node not in self._place:
            self._place[node] = None
            self._nodes = None
            if self._position is not None:
                self._position[node] = len(self._position)

    def unwatch(self, node: str) -> None:
        if self._place.pop(node, 0) is None:
            self._nodes = None
            self._position = None

    def update(self, call: Call) -> tuple[str, ...]:
        """Record ``call``'s latest state; return the watched nodes (in order) whose summary may have changed."""
        old = self._calls.pop(call.id, None)
        touched = set(nodes_of(call))
        left = nodes_of(old) if old is not None else ()
        for node in left:
            self._on[node].pop(call.id, None)
            touched.add(node)
        if not call.ended:
            self._calls[call.id] = call
            for node in nodes_of(call):
                self._on.setdefault(node, {})[call.id] = None
        for node in left:  # only nodes with live calls are kept: a wall has thousands of idle ones
            if not self._on.get(node, True):
                del self._on[node]
        watched = [n for n in touched if n in self._place]
        if len(watched) > 1:
            watched.sort(key=self._positions().__getitem__)
        return tuple(watched)

    def _positions(self) -> dict[str, int]:
        if self._position is None:
            self._position = {node: index for index, node in enumerate(self._place)}
        return self._position

    def replace(self, calls: Iterable[Call]) -> None:
        """Know exactly the live ones of ``calls`` (a snapshot after login, reconnect or subscribe)."""
        self._calls = {}
        self._on = {}
        for call in calls:
            if not call.ended:
                self.update(call)

    def summary(self, node: str, now: datetime) -> LineSummary:
        return summarise(node, self.calls_on(node), now)

    def summaries(self, now: datetime) -> list[LineSummary]:
        return [self.summary(node, now) for node in self._place]
