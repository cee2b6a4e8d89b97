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

from cti_tui.engine.model import Call, CallStatus

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


class LineBoard:
    """The latest version of every live call (by id) and the watched nodes, in the order they are shown.

    Ended calls are dropped. Live calls on unwatched nodes are kept, so that watching a node later shows the
    calls already known to be on it; a snapshot (:meth:`replace`) resets everything.
    """

    def __init__(self, nodes: Iterable[str] = ()) -> None:
        self._calls: dict[str, Call] = {}
        self._nodes: tuple[str, ...] = ()
        self.set_nodes(nodes)

    @property
    def nodes(self) -> tuple[str, ...]:
        return self._nodes

    def calls(self) -> list[Call]:
        return list(self._calls.values())

    def set_nodes(self, nodes: Iterable[str]) -> None:
        """Watch ``nodes`` in this order (duplicates dropped)."""
        self._nodes = tuple(dict.fromkeys(nodes))

    def update(self, call: Call) -> tuple[str, ...]:
        """Record ``call``'s latest state; return the watched nodes (in order) whose summary may have changed."""
        old = self._calls.pop(call.id, None)
        if not call.ended:
            self._calls[call.id] = call
        seen = {n for version in (old, call) if version is not None for n in self._nodes if version.seen_on({n})}
        return tuple(n for n in self._nodes if n in seen)

    def replace(self, calls: Iterable[Call]) -> None:
        """Know exactly the live ones of ``calls`` (a snapshot after login, reconnect or subscribe)."""
        self._calls = {call.id: call for call in calls if not call.ended}

    def summary(self, node: str, now: datetime) -> LineSummary:
        return summarise(node, self._calls.values(), now)

    def summaries(self, now: datetime) -> list[LineSummary]:
        return [self.summary(node, now) for node in self._nodes]
