"""Legs, outside parties and bridges, and the book that keeps the legs.

A *leg* is one call as one line sees it: the :class:`~cti_tui.core.model.Call` its watchers are shown, plus
what only the exchange needs (whose phone it is, who it talks to, its timers). The leg holds that ``Call``
rather than copying its fields, so a field added to ``Call`` reaches every watcher without a change here.
Its status changes only in :meth:`Leg.advance`, through the call state machine, as on the client side.
"""

from __future__ import annotations

import itertools
import operator
from collections import deque
from dataclasses import dataclass, field, fields
from typing import Any

from cti_tui.core.clock import Timer
from cti_tui.core.machine import Refusal, advance
from cti_tui.core.model import Call, CallStatus, Direction

KEEP_ENDED_LEGS = 2000  # ended legs still answer "already ended"; older ones are forgotten

_CALL_FIELDS = tuple(f.name for f in fields(Call))
_FIELD_INDEX = {name: i for i, name in enumerate(_CALL_FIELDS)}
_call_values = operator.attrgetter(*_CALL_FIELDS)


def _evolved(call: Call, changes: dict[str, Any]) -> Call:
    """``call`` with ``changes``: ``Call.evolve`` at the cost of one positional ``Call(...)`` (every move of
    every leg makes one; dataclasses.replace, a Python loop over the fields, made a move ~1.5x dearer)."""
    values: list[Any] = list(_call_values(call))
    for name, value in changes.items():
        values[_FIELD_INDEX[name]] = value
    return Call(*values)


class IllegalMove(RuntimeError):
    """The exchange tried a move the call state machine refuses: a bug here, never a user's mistake
    (what a user may do is checked against the machine before anything moves)."""


@dataclass(eq=False)
class Party:
    """A simulated outside number: a caller who dialled in or a callee an agent dialled."""

    number: str
    name: str
    gone: bool = False


@dataclass(eq=False)
class Bridge:
    """A conversation. ``persistent`` bridges (conference rooms) outlive their members."""

    members: list[Leg | Party] = field(default_factory=list)
    persistent: bool = False


class Leg:
    """One call as one line sees it: the :class:`Call` shown to its watchers and the exchange's own links."""

    __slots__ = (
        "_call",
        "bridge",
        "consult",
        "consult_of",
        "dtmf",
        "owner",
        "parked_by",
        "queue_id",
        "remote",
        "ring_timer",
        "skipped_agents",
        "talk_first",
    )

    def __init__(self, call: Call, owner: str | None) -> None:
        self._call = call
        self.owner = owner  # extension whose phone this is; None while in an IVR, queue or the park lot
        self.queue_id: str | None = None
        self.parked_by: str | None = None
        self.remote: Leg | Party | None = None  # the other end while not yet connected
        self.bridge: Bridge | None = None
        self.consult: Leg | None = None  # on a held original: the consult leg of its pending supervised transfer
        self.consult_of: Leg | None = None  # on a consult leg: the original it would hand over
        self.talk_first = False  # on a consult leg: its answer opens the consult stage instead of completing
        self.skipped_agents: set[str] = set()
        self.dtmf = ""
        self.ring_timer: Timer | None = None  # its no-answer timeout

    def __repr__(self) -> str:
        return f"Leg({self._call!r}, owner={self.owner!r})"

    # --- the call its watchers see ------------------------------------------------------------------

    @property
    def call(self) -> Call:
        return self._call

    def to_call(self) -> Call:
        return self._call

    def advance(self, status: CallStatus, **changes: Any) -> None:
        """Move the leg to ``status`` (with other changes to its call), as the state machine allows.

        The only place a leg's status changes. A refused move raises :class:`IllegalMove` and leaves the
        leg as it was.
        """
        changes["status"] = status
        moved = advance(self._call, _evolved(self._call, changes))
        if isinstance(moved, Refusal):
            raise IllegalMove(moved.reason)
        self._call = moved

    def revise(self, **changes: Any) -> None:
        """Change what watchers see of the call without moving it (its far end, its place in a queue)."""
        if "status" in changes:
            raise IllegalMove(f"call {self._call.id}: a status changes through advance(), not revise()")
        self._call = _evolved(self._call, changes)

    # what the exchange reads all the time; anything else of the call is read as ``leg.call.<field>``
    @property
    def id(self) -> str:
        return self._call.id

    @property
    def status(self) -> CallStatus:
        return self._call.status

    @property
    def direction(self) -> Direction:
        return self._call.direction

    @property
    def line(self) -> str:
        return self._call.line

    @property
    def live(self) -> bool:
        return not self._call.status.ended

    @property
    def lines(self) -> set[str]:
        return {self._call.line, *self._call.also}

    def others(self) -> list[Leg | Party]:
        """Who this leg is talking to."""
        if self.bridge is None:
            return []
        return [m for m in self.bridge.members if m is not self]


class LegBook:
    """Every leg by id (the newest ended ones too, to answer "already ended") and, apart, the live ones."""

    def __init__(self, id_prefix: str) -> None:
        self._ids = itertools.count(1)
        self._id_prefix = id_prefix
        self.all: dict[str, Leg] = {}
        self._live: dict[str, Leg] = {}  # the live ones among ``all``, in the same order
        self._ended: deque[str] = deque()

    def next_ids(self) -> tuple[str, str]:
        """A new leg's ``(id, cid)``: ids sort in creation order and never repeat within a run."""
        n = next(self._ids)
        return f"{self._id_prefix}{n:06d}", str(n)

    def add(self, leg: Leg) -> None:
        self.all[leg.id] = leg
        self._live[leg.id] = leg

    def get(self, call_id: str) -> Leg | None:
        return self.all.get(call_id)

    def ended(self, leg: Leg) -> None:
        """A leg ended: it is no longer among the live ones."""
        self._live.pop(leg.id, None)

    def retire(self, leg: Leg) -> None:
        """An ended leg was published: keep it to answer "already ended" while it is among the newest
        (a PBX that runs all day would otherwise keep every call it ever carried)."""
        self._ended.append(leg.id)
        while len(self._ended) > KEEP_ENDED_LEGS:
            self.all.pop(self._ended.popleft(), None)

    def on_phone(self, extension: str) -> list[Leg]:
        """The live legs on ``extension``'s phone."""
        return [leg for leg in self._live.values() if leg.owner == extension and leg.live]

    def busy_extensions(self) -> set[str]:
        """Every extension with a live call on its phone (one pass over the live legs only)."""
        return {leg.owner for leg in self._live.values() if leg.owner is not None and leg.live}

    def calls_on(self, lines: set[str]) -> list[Call]:
        """The live calls shown on any of ``lines``."""
        return [leg.call for leg in self._live.values() if not lines.isdisjoint(leg.lines)]
