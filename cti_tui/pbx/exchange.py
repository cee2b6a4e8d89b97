"""The embedded PBX: calls between users, outside parties, queues, IVRs, a conference room and a park lot.

One :class:`Exchange` is shared by every session that logs in to it (one in the app, many in the server).
It is the truth about calls: it checks permissions, moves legs and tells each interested session what
changed. Nothing here does I/O; time comes from a :class:`~cti_tui.core.clock.Clock` and every random
choice from a seeded generator, so a test on virtual time sees exactly the same calls every run.

Vocabulary: a *leg* is one call as one line sees it (what the engine calls a ``Call``); an *outside party*
is a simulated caller or callee with no line of its own; a *bridge* is a conversation joining legs and
parties once they are connected.
"""

from __future__ import annotations

import itertools
import random
import secrets
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pyotp

from cti_tui.core import commands as cmd
from cti_tui.core.clock import Clock, Timer
from cti_tui.core.machine import operations_for
from cti_tui.core.model import (
    ActivityName,
    Call,
    CallStatus,
    Cause,
    Direction,
    DirectoryEntry,
    EntryKind,
    ErrorCode,
    Identity,
    Operation,
)
from cti_tui.core.permissions import may_act, may_watch
from cti_tui.pbx.org import Organisation, Queue, User

S = CallStatus
NONCE_LIFETIME = timedelta(minutes=5)
KEEP_ENDED_LEGS = 2000  # ended legs still answer "already ended"; older ones are forgotten
MAX_OTP_ATTEMPTS = 5


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


@dataclass(eq=False)
class Leg:
    id: str
    cid: str
    direction: Direction
    status: CallStatus
    line: str
    source: str
    destination: str
    source_name: str = ""
    destination_name: str = ""
    owner: str | None = None  # extension whose phone this is; None while in an IVR, queue or the park lot
    tags: set[str] = field(default_factory=set)  # further lines that watch this leg (its queue, its room)
    cause: str = ""
    setup_at: datetime | None = None
    connect_at: datetime | None = None
    release_at: datetime | None = None
    park_slot: int | None = None
    queue_position: int | None = None
    queue_id: str | None = None
    parked_by: str | None = None
    remote: Leg | Party | None = None  # the other end while not yet connected
    bridge: Bridge | None = None
    consult: Leg | None = None  # on a held original: the consult leg of its pending supervised transfer
    consult_of: Leg | None = None  # on a consult leg: the original it would hand over
    skipped_agents: set[str] = field(default_factory=set)
    dtmf: str = ""
    ring_timer: Timer | None = field(default=None, repr=False, compare=False)  # its no-answer timeout

    @property
    def live(self) -> bool:
        return not self.status.ended

    @property
    def lines(self) -> set[str]:
        return {self.line} | self.tags

    def to_call(self) -> Call:
        return Call(
            id=self.id,
            cid=self.cid,
            direction=self.direction,
            status=self.status,
            line=self.line,
            source=self.source,
            destination=self.destination,
            source_name=self.source_name,
            destination_name=self.destination_name,
            cause=self.cause,
            setup_at=self.setup_at,
            connect_at=self.connect_at,
            release_at=self.release_at,
            park_slot=self.park_slot,
            queue_position=self.queue_position,
            also=tuple(sorted(self.tags)),
        )


ReportSink = Callable[[cmd.Report], None]


@dataclass(eq=False)
class Session:
    """One logged-in connection: who it is, what it watches, where its reports go."""

    identity: Identity
    sink: ReportSink
    subscriptions: dict[str, None] = field(default_factory=dict)  # an ordered set: walls watch thousands
    auto_answer: bool = False

    def watches(self, lines: set[str]) -> bool:
        return self.identity.line in lines or not self.subscriptions.keys().isdisjoint(lines)


@dataclass
class _Pending2FA:
    user: User
    expires: datetime
    attempts: int = 0


class Exchange:
    """The PBX. Public entry points: authenticate, open/close sessions, execute commands, and the
    scripted-world hooks tests and the demo use (:meth:`inbound_call`, :meth:`remote_hangup`)."""

    def __init__(self, org: Organisation, clock: Clock, *, seed: int | None = None) -> None:
        self.org = org
        self.clock = clock
        self.random = random.Random(org.world.seed if seed is None else seed)
        self._ids = itertools.count(1)
        self._id_prefix = clock.now().strftime("%Y%m%d%H%M%S%f")[:-3]
        self.legs: dict[str, Leg] = {}
        self._live_legs: dict[str, Leg] = {}  # the live ones among ``legs``, in the same order
        self._ended: deque[str] = deque()
        self.sessions: list[Session] = []
        self.slots: dict[int, Leg] = {}
        self.queues: dict[str, list[Leg]] = {q.id: [] for q in org.queues}
        self._queues_of: dict[str, list[str]] = {}  # member extension -> the queues it answers
        for queue in org.queues:
            for member in queue.members:
                self._queues_of.setdefault(member, []).append(queue.id)
        self.rooms: dict[str, Bridge] = {c.id: Bridge(persistent=True) for c in org.conferences}
        self.idle_since: dict[str, datetime] = {u.extension: clock.now() for u in org.users}
        self._pending_2fa: dict[str, _Pending2FA] = {}
        self._outbox: list[tuple[cmd.Report, Callable[[Session], bool]]] = []
        self._depth = 0
        self.world = None  # set by World when simulated traffic runs

    # --- delivery --------------------------------------------------------------------------------

    @contextmanager
    def _batch(self) -> Iterator[None]:
        """Collect what changes during one operation and deliver it after, in order (no re-entrancy)."""
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
            if self._depth == 0:
                self._flush()

    def _flush(self) -> None:
        while self._outbox:
            outbox, self._outbox = self._outbox, []
            for report, wants in outbox:
                for session in list(self.sessions):
                    if wants(session):
                        session.sink(report)

    def _send(self, report: cmd.Report, wants: Callable[[Session], bool]) -> None:
        self._outbox.append((report, wants))
        if self._depth == 0:
            self._flush()

    def _publish(self, leg: Leg, before: set[str] | None = None) -> None:
        """Tell every session watching the leg's lines (now, or just before this change) its new state."""
        lines = leg.lines | (before or set())
        self._send(cmd.CallUpdate(leg.to_call()), lambda session: session.watches(lines))

    def _notice(self, extension: str | None, level: ActivityName, code: ErrorCode, message: str, call_id: str) -> None:
        notice = cmd.Notice(level, code, message, call_id)
        self._send(notice, lambda session: session.identity.extension == extension)

    def later(self, delay: float, action: Callable[[], None]) -> Timer:
        """Run ``action`` after ``delay`` clock seconds, batching what it changes."""

        def fire() -> None:
            with self._batch():
                action()

        return self.clock.call_later(delay, fire)

    # --- directory -------------------------------------------------------------------------------

    def is_human(self, extension: str | None) -> bool:
        return any(s.identity.extension == extension for s in self.sessions)

    def is_simulated(self, extension: str | None) -> bool:
        """A colleague nobody is logged in as acts on its own when the world's colleagues are on."""
        return extension is not None and not self.is_human(extension) and self.org.world.colleagues

    def is_present(self, extension: str) -> bool:
        return self.is_human(extension) or self.org.world.colleagues

    def name_of(self, number: str) -> str:
        user = self.org.user_by_extension(number)
        if user:
            return user.name
        for item in (*self.org.queues, *self.org.ivrs, *self.org.conferences):
            if number in (item.extension, item.number):
                return item.name
        return self.org.world.behaviour_of(number).name

    def directory(self) -> list[DirectoryEntry]:
        """Everyone and everything here that can be dialled or watched, in directory order."""
        org = self.org
        kinds = (
            (EntryKind.USER, org.users),
            (EntryKind.QUEUE, org.queues),
            (EntryKind.IVR, org.ivrs),
            (EntryKind.CONFERENCE, org.conferences),
        )
        entries = [
            DirectoryEntry(item.name, item.extension, kind, item.line, item.number)
            for kind, items in kinds
            for item in items
        ]
        entries.append(DirectoryEntry("Call park", org.park_extension, EntryKind.PARK, "callpark"))
        return entries

    def live_legs(self, extension: str) -> list[Leg]:
        return [leg for leg in self._live_legs.values() if leg.owner == extension and leg.live]

    def busy_extensions(self) -> set[str]:
        """Every extension with a live call on its phone (one pass over the live legs only)."""
        return {leg.owner for leg in self._live_legs.values() if leg.owner is not None and leg.live}

    def node_exists(self, node: str) -> bool:
        return self.org.has_node(node)

    # --- leg life ----------------------------------------------------------------------------------

    def _new_leg(
        self,
        direction: Direction,
        status: CallStatus,
        line: str,
        source: str,
        destination: str,
        owner: str | None,
        source_name: str = "",
        destination_name: str = "",
    ) -> Leg:
        n = next(self._ids)
        leg = Leg(
            id=f"{self._id_prefix}{n:06d}",
            cid=str(n),
            direction=direction,
            status=status,
            line=line,
            source=source,
            destination=destination,
            source_name=source_name or self.name_of(source),
            destination_name=destination_name or self.name_of(destination),
            owner=owner,
            setup_at=self.clock.now(),
        )
        self.legs[leg.id] = leg
        self._live_legs[leg.id] = leg
        return leg

    def _move(self, leg: Leg, status: CallStatus, **changes: object) -> None:
        """Change a leg and tell everyone watching where it was and where it is now."""
        before = leg.lines
        leg.status = status
        if status is not S.RINGING:
            self._stop_ringing(leg)
        if status.ended:
            self._live_legs.pop(leg.id, None)
        for name, value in changes.items():
            setattr(leg, name, value)
        if status is S.CONNECTED and leg.connect_at is None:
            leg.connect_at = self.clock.now()
        self._publish(leg, before)

    def _end(self, leg: Leg, status: CallStatus, cause: Cause | str, *, cascade: bool = True) -> None:
        """End a leg (HANGUP or CANCEL) and, with ``cascade``, whatever can't go on without it."""
        if not leg.live:
            return
        before = leg.lines
        leg.status = status
        self._stop_ringing(leg)
        if self.world is not None:
            self.world.leg_ended(leg)  # its simulated callers and colleagues stop waiting on it
        self._live_legs.pop(leg.id, None)
        leg.cause = str(cause)
        leg.release_at = self.clock.now()
        leg.queue_position = None
        if leg.park_slot is not None and self.slots.get(leg.park_slot) is leg:
            del self.slots[leg.park_slot]
        left_queue = None
        if leg.queue_id and leg in self.queues.get(leg.queue_id, []):
            self.queues[leg.queue_id].remove(leg)
            left_queue = leg.queue_id
        if leg.owner:
            self.idle_since[leg.owner] = self.clock.now()
        leg.tags.clear()
        self._publish(leg, before)
        self._forget_old(leg)
        if left_queue is not None:  # the others move up after, not before, this one is seen leaving
            self._renumber(left_queue)
        if leg.consult is not None:  # the held original ended: the consult has nothing left to transfer
            consult, leg.consult = leg.consult, None
            consult.consult_of = None
            self._end(consult, S.HANGUP if consult.connect_at else S.CANCEL, Cause.CANCELLED)
        if leg.consult_of is not None:  # the consult ended before it was answered: the transfer failed
            original, leg.consult_of = leg.consult_of, None
            original.consult = None
            self._consult_failed(original, leg)
        bridge, leg.bridge = leg.bridge, None
        if bridge is not None and leg in bridge.members:
            bridge.members.remove(leg)
            if cascade:
                self._settle(bridge)
        remote, leg.remote = leg.remote, None
        if cascade and remote is not None:
            if isinstance(remote, Leg) and remote.live and remote.remote is leg:
                remote.remote = None
                remote_cause = {Cause.REJECTED: Cause.BUSY, Cause.NO_ANSWER: Cause.NO_ANSWER}.get(
                    Cause(leg.cause), Cause.CANCELLED
                )
                self._end(remote, S.CANCEL if remote.connect_at is None else S.HANGUP, remote_cause)
            elif isinstance(remote, Party):
                remote.gone = True
        if leg.owner:  # a member is free again: only the queues it serves can offer it a waiting call
            for queue_id in self._queues_of.get(leg.owner, ()):
                self._distribute(queue_id)

    def _forget_old(self, leg: Leg) -> None:
        """A PBX that runs all day keeps only the newest ended legs."""
        self._ended.append(leg.id)
        while len(self._ended) > KEEP_ENDED_LEGS:
            self.legs.pop(self._ended.popleft(), None)

    def _settle(self, bridge: Bridge) -> None:
        """After a member left: a lone leg hears the far end hang up; lone parties go away."""
        if bridge.persistent:
            return
        legs = [m for m in bridge.members if isinstance(m, Leg)]
        parties = [m for m in bridge.members if isinstance(m, Party)]
        if len(bridge.members) >= 2 and legs:
            return
        for party in parties:
            party.gone = True
            bridge.members.remove(party)
        for other in legs:
            self._end(other, S.HANGUP, Cause.NORMAL)

    def _connect(self, leg: Leg, other: Leg | Party) -> Bridge:
        """Join two ends in a new bridge (or into ``other``'s existing one) and mark the legs connected."""
        bridge = other.bridge if isinstance(other, Leg) and other.bridge else Bridge([other])
        if isinstance(other, Leg):
            other.bridge = bridge
            other.remote = None
        bridge.members.append(leg)
        leg.bridge = bridge
        leg.remote = None
        return bridge

    def _presented_number(self, leg: Leg) -> str:
        """The number a leg shows whoever it talks to: its owner's extension, or its outside caller's."""
        return leg.owner or leg.source

    def _presented_name(self, leg: Leg) -> str:
        return self.name_of(leg.owner) if leg.owner else leg.source_name

    def others(self, leg: Leg) -> list[Leg | Party]:
        """Who ``leg`` is talking to."""
        if leg.bridge is None:
            return []
        return [m for m in leg.bridge.members if m is not leg]

    # --- routing ---------------------------------------------------------------------------------

    def routable(self, destination: str) -> bool:
        """Does ``destination`` lead anywhere: an outside number, or an extension that exists here?"""
        if destination.startswith("+"):
            return True
        org = self.org
        return any(destination == item.extension for item in (*org.users, *org.queues, *org.ivrs, *org.conferences))

    def _route(self, caller: Leg | Party, destination: str, origin: Leg | None) -> Leg | Party | None:
        """Connect ``caller`` towards ``destination``. ``origin`` is the ringing leg the caller sees
        (its RINGING/CANCEL/CONNECTED follow the target); returns what now rings, if anything."""
        org = self.org
        user = org.user_by_extension(destination) or org.user_by_number(destination)
        if user is not None:
            return self._ring_user(user, caller, origin)
        queue = next((q for q in org.queues if destination in (q.extension, q.number)), None)
        if queue is not None:
            return self._enqueue_new(queue, caller, origin, destination)
        ivr = next((i for i in org.ivrs if destination in (i.extension, i.number)), None)
        if ivr is not None:
            leg = self._system_leg(caller, ivr.line, destination, origin)
            self.later(ivr.menu_seconds, lambda: self._ivr_choice(leg, ivr.options))
            return leg
        room = next((c for c in org.conferences if destination in (c.extension, c.number)), None)
        if room is not None and origin is not None:
            self._ring_origin(origin)
            self.later(org.world.ring_seconds / 2, lambda: self._join_room(origin, room.id, room.line))
            return None
        if not destination.startswith("+"):
            if origin is not None:
                self.later(0.5, lambda: self._fail(origin, Cause.UNREACHABLE))
            return None
        return self._ring_outside(destination, origin)

    def _ring_user(self, user: User, caller: Leg | Party, origin: Leg | None) -> Leg:
        source = caller.number if isinstance(caller, Party) else self._presented_number(caller)
        source_name = caller.name if isinstance(caller, Party) else self._presented_name(caller)
        leg = self._new_leg(
            Direction.INBOUND,
            S.RINGING,
            user.line,
            source,
            user.extension,
            user.extension,
            source_name,
            user.name,
        )
        leg.remote = origin if origin is not None else caller
        if origin is not None:
            origin.remote = leg
        self._publish(leg)
        self._ring_timers(leg)
        return leg

    def _ring_timers(self, leg: Leg) -> None:
        """A ringing leg stops ringing after the no-answer timeout; a simulated colleague may answer."""
        owner = leg.owner
        self._stop_ringing(leg)
        leg.ring_timer = self.later(self.org.world.no_answer_timeout, lambda: self._ring_timeout(leg, owner))
        if self.world is not None:
            self.world.leg_ringing(leg)

    @staticmethod
    def _stop_ringing(leg: Leg) -> None:
        """Cancel the leg's no-answer timeout: it was answered or ended (a wall ends hundreds of calls a
        second; their timers would hold them in memory for the whole timeout)."""
        if leg.ring_timer is not None:
            leg.ring_timer.cancel()
            leg.ring_timer = None

    def _ring_timeout(self, leg: Leg, owner: str | None) -> None:
        if leg.status is S.RINGING and leg.owner == owner and leg.queue_id is None:
            self._end(leg, S.CANCEL, Cause.NO_ANSWER)

    def _system_leg(
        self,
        caller: Leg | Party,
        line: str,
        destination: str,
        origin: Leg | None,
        queue_position: int | None = None,
    ) -> Leg:
        """A call waiting in an IVR or a queue: no one's phone, seen on that node's line."""
        if isinstance(caller, Leg) and caller.direction is Direction.INBOUND and caller.owner is None:
            leg = caller  # an outside call moving on (IVR -> queue) keeps its id
            self._move(leg, S.RINGING, line=line, tags=set(), queue_position=queue_position)
            return leg
        source = caller.number if isinstance(caller, Party) else self._presented_number(caller)
        source_name = caller.name if isinstance(caller, Party) else self._presented_name(caller)
        leg = self._new_leg(Direction.INBOUND, S.RINGING, line, source, destination, None, source_name)
        leg.queue_position = queue_position  # a queued call is seen with its place from its first event
        leg.remote = origin if origin is not None else caller
        if origin is not None:
            origin.remote = leg
        self._publish(leg)
        if isinstance(caller, Party) and self.world is not None:
            self.world.caller_waiting(leg)
        return leg

    def _ivr_choice(self, leg: Leg, options: dict[str, str]) -> None:
        if leg.status is not S.RINGING or not leg.line.startswith("ivr:"):
            return
        if not options:
            self._end(leg, S.HANGUP, Cause.NORMAL)
            return
        digit = self.random.choice(sorted(options))
        leg.dtmf += digit
        node = options[digit]
        kind, _, ident = node.partition(":")
        if kind == "queue" and (queue := self.org.queue(ident)):
            self._enqueue(queue, leg)
        elif kind == "user" and (user := self.org.user_by_extension(ident)):
            self._move(leg, S.RINGING, owner=user.extension, line=user.line, tags={leg.line})
            self._ring_timers(leg)
        else:
            self._end(leg, S.HANGUP, Cause.NORMAL)

    def _enqueue_new(self, queue: Queue, caller: Leg | Party, origin: Leg | None, destination: str) -> Leg:
        position = self._waiting_position(queue.id, None)
        leg = self._system_leg(caller, queue.line, destination, origin, position)
        self._enqueue(queue, leg)
        return leg

    def _enqueue(self, queue: Queue, leg: Leg) -> None:
        self._show_waiting(leg, queue)
        leg.queue_id = queue.id
        self.queues[queue.id].append(leg)
        self._renumber(queue.id)
        self._distribute(queue.id)

    def _show_waiting(self, leg: Leg, queue: Queue) -> None:
        """Put ``leg`` on the queue's line at its place among the waiting calls (one event, if any)."""
        position = self._waiting_position(queue.id, leg)
        shown = (leg.line, leg.owner, leg.queue_position, leg.destination_name)
        if shown != (queue.line, None, position, queue.name):
            self._move(
                leg,
                S.RINGING,
                owner=None,
                line=queue.line,
                tags=set(),
                queue_position=position,
                destination_name=queue.name,
            )

    def _waiting_position(self, queue_id: str, leg: Leg | None) -> int:
        """The place ``leg`` has (or, not yet queued, will have at the back) among the waiting calls."""
        queued = self.queues[queue_id]
        ahead = queued[: queued.index(leg)] if leg in queued else queued
        return 1 + sum(1 for other in ahead if other.owner is None and other is not leg)

    def _renumber(self, queue_id: str) -> None:
        waiting_legs = [leg for leg in self.queues[queue_id] if leg.owner is None]
        for position, waiting in enumerate(waiting_legs, start=1):
            if waiting.queue_position != position:
                self._move(waiting, S.RINGING, queue_position=position)

    def _distribute(self, queue_id: str) -> None:
        """Offer the longest-waiting call to the member idle longest; unanswered offers come back."""
        if not self.queues.get(queue_id):
            return  # nobody waits: nothing to offer
        queue = self.org.queue(queue_id)
        if queue is None:
            return
        busy: set[str] | None = None  # who has a live call, worked out once (not once per member)

        def available(extension: str) -> bool:
            nonlocal busy
            if busy is None:
                busy = self.busy_extensions()
            return extension not in busy and self.is_present(extension)

        for leg in list(self.queues[queue_id]):
            if leg.owner is not None or not leg.live:
                continue
            candidates = [m for m in queue.members if m not in leg.skipped_agents and available(m)]
            if not candidates and leg.skipped_agents:
                leg.skipped_agents.clear()  # everyone had a go: start the round again
                candidates = [m for m in queue.members if available(m)]
            if not candidates:
                return
            agent = min(candidates, key=lambda m: (self.idle_since[m], m))
            user = self.org.user_by_extension(agent)
            assert user is not None
            self._move(
                leg,
                S.RINGING,
                owner=agent,
                line=user.line,
                tags={queue.line},
                queue_position=None,
                destination_name=f"{queue.name} → {user.name}",
            )
            if busy is not None:
                busy.add(agent)
            self._renumber(queue_id)
            self.later(queue.offer_timeout, lambda leg=leg, agent=agent: self._offer_timeout(leg, agent, queue))
            if self.world is not None:
                self.world.leg_ringing(leg)

    def _offer_timeout(self, leg: Leg, agent: str, queue: Queue) -> None:
        if leg.status is S.RINGING and leg.owner == agent and leg.queue_id == queue.id:
            leg.skipped_agents.add(agent)
            self._show_waiting(leg, queue)
            self._renumber(queue.id)
            self._distribute(queue.id)

    def _join_room(self, leg: Leg, room_id: str, line: str) -> None:
        if not leg.live or leg.status not in (S.RINGING, S.ACCEPTED):
            return
        room = self.rooms[room_id]
        room.members.append(leg)
        leg.bridge = room
        leg.remote = None
        self._move(leg, S.CONNECTED, tags={line})

    def _ring_outside(self, number: str, origin: Leg | None) -> Party | None:
        """An agent (or a transfer) dialled an outside number: it behaves as the world file says."""
        world = self.org.world
        script = world.behaviour_of(number)
        party = Party(number, script.name)
        if origin is None:
            return None  # an outside caller transferred outside: it leaves our PBX
        origin.remote = party
        if script.behaviour == "busy":
            self.later(1.0, lambda: self._fail(origin, Cause.BUSY))
        elif script.behaviour == "unreachable":
            self.later(0.5, lambda: self._fail(origin, Cause.UNREACHABLE))
        else:
            self._ring_origin(origin)
            if script.behaviour == "answer":
                self.later(script.rings * world.ring_seconds, lambda: self._outside_answers(origin, party))
            self.later(world.no_answer_timeout, lambda: self._fail(origin, Cause.NO_ANSWER, party))
        return party

    def _ring_origin(self, origin: Leg) -> None:
        if origin.status in (S.INITIAL, S.ACCEPTED):
            self._move(origin, S.RINGING)

    def _fail(self, origin: Leg, cause: Cause, party: Party | None = None) -> None:
        if origin.live and origin.connect_at is None and (party is None or origin.remote is party):
            origin.remote = None
            self._end(origin, S.CANCEL, cause)

    def _outside_answers(self, origin: Leg, party: Party) -> None:
        if origin.status is S.RINGING and origin.remote is party:
            self._connect(origin, party)
            self._move(origin, S.CONNECTED)
            if self.world is not None:
                self.world.party_connected(party, origin)
            self._consult_answered(origin)

    # --- answering -------------------------------------------------------------------------------

    def answer_leg(self, leg: Leg) -> None:
        """``leg``'s owner picks up: bridge it with whoever is calling."""
        caller = leg.remote
        if leg.queue_id and leg in self.queues.get(leg.queue_id, []):
            self.queues[leg.queue_id].remove(leg)
            self._renumber(leg.queue_id)
        before = leg.lines
        leg.queue_id = None
        if isinstance(caller, Leg) and caller.live:
            self._connect(leg, caller)
            leg.status = S.CONNECTED
            leg.connect_at = self.clock.now()
            leg.tags.clear()  # answered: no longer the queue's; its watchers see it leave
            self._publish(leg, before)
            if caller.status is not S.CONNECTED:
                self._move(caller, S.CONNECTED)
            if self.world is not None:
                self.world.leg_connected(leg)
            self._consult_answered(caller)
        elif isinstance(caller, Party) and not caller.gone:
            self._connect(leg, caller)
            leg.status = S.CONNECTED
            leg.connect_at = self.clock.now()
            leg.tags.clear()  # answered: no longer the queue's; its watchers see it leave
            self._publish(leg, before)
            if self.world is not None:
                self.world.party_connected(caller, leg)
                self.world.leg_connected(leg)
        else:
            self._end(leg, S.CANCEL, Cause.CANCELLED)

    # --- supervised transfer ---------------------------------------------------------------------

    def _consult_answered(self, consult_leg: Leg) -> None:
        """The consult call connected: hand the held call over and end both of the agent's legs."""
        original = consult_leg.consult_of
        if original is None:
            return
        original.consult = consult_leg.consult_of = None
        held_by = self.others(original)
        target = self.others(consult_leg)
        for leg in (original, consult_leg):
            self._end(leg, S.HANGUP, Cause.TRANSFERRED, cascade=False)
        self._join(held_by, target)

    def _join(self, group_a: list[Leg | Party], group_b: list[Leg | Party]) -> None:
        """Put two groups that lost their agent into one new conversation."""
        bridge = Bridge()
        for member in (*group_a, *group_b):
            if isinstance(member, Leg) and member.bridge is not None and member in member.bridge.members:
                member.bridge.members.remove(member)
            bridge.members.append(member)
            if isinstance(member, Leg):
                member.bridge = bridge
        legs = [m for m in bridge.members if isinstance(m, Leg)]
        for leg in legs:
            others = [m for m in bridge.members if m is not leg]
            if len(others) == 1:
                number = others[0].number if isinstance(others[0], Party) else self._presented_number(others[0])
                name = others[0].name if isinstance(others[0], Party) else self._presented_name(others[0])
                self._repoint(leg, number, name)
        self._settle(bridge)

    def _repoint(self, leg: Leg, number: str, name: str) -> None:
        """The far end of ``leg`` changed (a transfer landed on it): show the new party."""
        fields = (
            ("source", "source_name") if leg.direction is Direction.INBOUND else ("destination", "destination_name")
        )
        if (getattr(leg, fields[0]), getattr(leg, fields[1])) != (number, name):
            self._move(leg, leg.status, **{fields[0]: number, fields[1]: name})

    def _consult_failed(self, original: Leg, consult_leg: Leg) -> None:
        """The target did not answer (busy, unreachable, timeout, cancelled): the held call comes back."""
        if not original.live:
            return
        if original.status is S.ON_HOLD:
            self._move(original, S.CONNECTED)
        self._notice(
            original.owner,
            ActivityName.INFO,
            ErrorCode.TRANSFER_FAILED,
            f"transfer to {consult_leg.destination} did not complete ({consult_leg.cause}); call {original.id} is back",
            original.id,
        )

    # --- sessions --------------------------------------------------------------------------------

    def authenticate(self, credentials: cmd.Credentials) -> cmd.AuthOutcome:
        match credentials:
            case cmd.Vouched(identity=identity):
                return cmd.LoggedIn(identity)
            case cmd.ApiKeyLogin(api_key=key):
                user = next((u for u in self.org.users if u.check_api_key(key)), None)
                if user is None:
                    return cmd.AuthFailed(ErrorCode.BAD_CREDENTIALS, "unknown API key")
                return cmd.LoggedIn(self.identity_of(user))
            case cmd.PasswordLogin(email=email, password=password):
                user = self.org.user_by_email(email)
                if user is None or not user.check_password(password):
                    return cmd.AuthFailed(ErrorCode.BAD_CREDENTIALS, "wrong email or password")
                if user.totp_secret:
                    nonce = secrets.token_urlsafe(16)
                    self._pending_2fa[nonce] = _Pending2FA(user, self.clock.now() + NONCE_LIFETIME)
                    return cmd.NeedsSecondFactor(nonce)
                return cmd.LoggedIn(self.identity_of(user))
        return cmd.AuthFailed(ErrorCode.BAD_CREDENTIALS, "unsupported credentials")  # pragma: no cover

    def two_factor_auth(self, nonce: str, code: str) -> cmd.AuthOutcome:
        pending = self._pending_2fa.get(nonce)
        if pending is None or pending.expires < self.clock.now():
            self._pending_2fa.pop(nonce, None)
            return cmd.AuthFailed(ErrorCode.BAD_OTP, "this two-factor login expired; log in again")
        assert pending.user.totp_secret
        if pyotp.TOTP(pending.user.totp_secret).verify(code, for_time=self.clock.now(), valid_window=1):
            del self._pending_2fa[nonce]
            return cmd.LoggedIn(self.identity_of(pending.user))
        pending.attempts += 1
        if pending.attempts >= MAX_OTP_ATTEMPTS:
            del self._pending_2fa[nonce]
            return cmd.AuthFailed(ErrorCode.BAD_OTP, "wrong code too many times; log in again")
        return cmd.AuthFailed(ErrorCode.BAD_OTP, "wrong two-factor code")

    @staticmethod
    def identity_of(user: User) -> Identity:
        return Identity(user.email, user.email, user.name, user.role, user.extension)

    def open_session(self, identity: Identity, sink: ReportSink) -> Session:
        session = Session(identity, sink)
        self.sessions.append(session)
        sink(cmd.Snapshot(tuple(self.calls_on({identity.line})), ()))
        with self._batch():
            for queue_id in self.queues:
                self._distribute(queue_id)
        return session

    def close_session(self, session: Session) -> None:
        if session in self.sessions:
            self.sessions.remove(session)

    def calls_on(self, lines: set[str]) -> list[Call]:
        return [leg.to_call() for leg in self._live_legs.values() if not lines.isdisjoint(leg.lines)]

    # --- commands --------------------------------------------------------------------------------

    def execute(self, session: Session, command: cmd.Command) -> cmd.CommandResult:
        with self._batch():
            return self._execute(session, command)

    def _execute(self, session: Session, command: cmd.Command) -> cmd.CommandResult:
        me = session.identity
        match command:
            case cmd.Dial(destination=destination):
                return self._dial(session, destination)
            case cmd.Subscribe(node=node):
                if not self.node_exists(node):
                    return cmd.CommandResult.error(ErrorCode.UNKNOWN_NODE, f"there is no line {node!r}")
                if not may_watch(self.org.policies, me, node):
                    return cmd.CommandResult.error(ErrorCode.NOT_PERMITTED, f"{me.role} may not watch {node}")
                session.subscriptions[node] = None
                for call in self.calls_on({node}):
                    session.sink(cmd.CallUpdate(call))
                return cmd.CommandResult.done()
            case cmd.Unsubscribe(node=node):
                session.subscriptions.pop(node, None)
                return cmd.CommandResult.done()
            case cmd.SetAutoAnswer(enabled=enabled):
                session.auto_answer = enabled
                return cmd.CommandResult.done()
            case cmd.Unpark(slot=slot):
                return self._unpark(session, slot)
            case cmd.CancelSupervisedTransfer(call_id=call_id):
                return self._cancel_consult(session, call_id)
        call_id = getattr(command, "call_id", "")
        operation = _OPERATION_OF[type(command)]
        leg_or_refusal = self._leg_for(session, call_id, operation)
        if isinstance(leg_or_refusal, cmd.CommandResult):
            return leg_or_refusal
        leg = leg_or_refusal
        match command:
            case cmd.Answer():
                self.answer_leg(leg)
            case cmd.Reject():
                self._end(leg, S.CANCEL, Cause.REJECTED)
            case cmd.Hangup():
                self.hangup(leg)
            case cmd.Hold():
                self.hold(leg)
            case cmd.Resume():
                self.resume(leg)
            case cmd.Transfer(destination=destination):
                return self.transfer(leg, destination)
            case cmd.SupervisedTransfer(destination=destination, invite_timeout=timeout):
                return self._supervised(session, leg, destination, timeout)
            case cmd.Merge(other_call_id=other_id):
                other = self._leg_for(session, other_id, Operation.MERGE)
                if isinstance(other, cmd.CommandResult):
                    return other
                return self._merge(leg, other)
            case cmd.Park(slot=slot):
                return self.park(leg, slot)
            case cmd.SendDtmf(digits=digits):
                leg.dtmf += digits
        return cmd.CommandResult.done()

    def _leg_for(self, session: Session, call_id: str, operation: Operation) -> Leg | cmd.CommandResult:
        leg = self.legs.get(call_id)
        me = session.identity
        if leg is None or not (session.watches(leg.lines) or leg.owner == me.extension):
            return cmd.CommandResult.info(ErrorCode.UNKNOWN_CALL, f"no call {call_id!r} on your lines")
        if not leg.live:
            return cmd.CommandResult.info(ErrorCode.CALL_ENDED, f"call {call_id} has already ended")
        if not may_act(self.org.policies, me, operation, leg.line, session.subscriptions.keys()):
            return cmd.CommandResult.error(
                ErrorCode.NOT_PERMITTED,
                f"not permitted: {me.role} {me.extension} cannot {operation.value} on {leg.line}",
            )
        if operation not in operations_for(leg.to_call()):
            return cmd.CommandResult.info(
                ErrorCode.WRONG_STATE, f"cannot {operation.value} a call that is {leg.status}"
            )
        return leg

    def _dial(self, session: Session, destination: str) -> cmd.CommandResult:
        me = session.identity
        leg = self._new_leg(Direction.OUTBOUND, S.INITIAL, me.line, me.extension, destination, me.extension)
        self._publish(leg)
        delay = 0.0 if session.auto_answer else self.org.world.pickup_seconds
        if delay:
            self.later(delay, lambda: self._picked_up(leg, destination))
        else:
            self._picked_up(leg, destination)
        return cmd.CommandResult.done(leg.id)

    def dial_as(self, extension: str, destination: str) -> Leg:
        """A simulated colleague places a call from its own phone (no click-to-call phase)."""
        user = self.org.user_by_extension(extension)
        assert user is not None
        with self._batch():
            leg = self._new_leg(Direction.OUTBOUND, S.RINGING, user.line, extension, destination, extension)
            self._publish(leg)
            self._route(leg, destination, leg)
        return leg

    def _picked_up(self, leg: Leg, destination: str) -> None:
        if leg.status is not S.INITIAL:
            return
        self._move(leg, S.ACCEPTED)
        target = self._route(leg, destination, leg)
        if isinstance(target, Leg):
            self._ring_origin(leg)

    def hold(self, leg: Leg) -> None:
        self._move(leg, S.ON_HOLD)

    def resume(self, leg: Leg) -> None:
        self._move(leg, S.CONNECTED)

    def hangup(self, leg: Leg) -> None:
        self._end(leg, S.HANGUP, Cause.NORMAL)

    def transfer(self, leg: Leg, destination: str) -> cmd.CommandResult:
        """Blind transfer: ``leg`` ends (cause transferred) and its far end rings ``destination``."""
        others = self.others(leg)
        if len(others) != 1:
            return cmd.CommandResult.info(ErrorCode.WRONG_STATE, "only a two-party call can be transferred")
        if not self.routable(destination):
            return cmd.CommandResult.info(ErrorCode.BAD_NUMBER, f"no extension {destination} here; call kept")
        other = others[0]
        self._end(leg, S.HANGUP, Cause.TRANSFERRED, cascade=False)
        if isinstance(other, Leg):
            other.bridge = None
        self._forward(other, destination)
        return cmd.CommandResult.done()

    def _forward(self, caller: Leg | Party, destination: str) -> None:
        """Send a party whose agent transferred it blind on to ``destination``."""
        if isinstance(caller, Party):
            target = self._route(caller, destination, None)
            if isinstance(target, Leg) and self.world is not None:
                self.world.caller_waiting(target)
            return
        # an internal leg keeps talking; it will be re-pointed at the target when the target answers
        target = self._route(caller, destination, None)
        if target is None:
            self._end(caller, S.HANGUP, Cause.NORMAL)
        else:
            caller.remote = target
            self._repoint(caller, destination, self.name_of(destination))

    def _supervised(self, session: Session, leg: Leg, destination: str, timeout: float | None) -> cmd.CommandResult:
        if leg.consult is not None:
            return cmd.CommandResult.info(ErrorCode.WRONG_STATE, "a transfer of this call is already pending")
        if len(self.others(leg)) != 1:
            return cmd.CommandResult.info(ErrorCode.WRONG_STATE, "only a two-party call can be transferred")
        me = session.identity
        if leg.status is S.CONNECTED:
            self._move(leg, S.ON_HOLD)
        consult = self._new_leg(Direction.OUTBOUND, S.RINGING, me.line, me.extension, destination, me.extension)
        leg.consult, consult.consult_of = consult, leg
        self._publish(consult)
        self._route(consult, destination, consult)
        if timeout:
            self.later(timeout, lambda: self._consult_timeout(consult))
        return cmd.CommandResult.done(consult.id)

    def _consult_timeout(self, consult: Leg) -> None:
        if consult.live and consult.connect_at is None:
            self._end(consult, S.CANCEL, Cause.NO_ANSWER)

    def _cancel_consult(self, session: Session, call_id: str) -> cmd.CommandResult:
        leg = self.legs.get(call_id)
        consult = leg and (leg.consult or (leg if leg.consult_of else None))
        if consult is not None and consult.owner == session.identity.extension:
            self._end(consult, S.HANGUP, Cause.CANCELLED)
            return cmd.CommandResult.done()
        return cmd.CommandResult.info(ErrorCode.WRONG_STATE, f"no supervised transfer pending for {call_id!r}")

    def _merge(self, leg: Leg, other: Leg) -> cmd.CommandResult:
        if leg.owner != other.owner:
            return cmd.CommandResult.error(ErrorCode.NOT_PERMITTED, "only your own two calls can be merged")
        joining = self.others(other)
        if leg.bridge is None or not joining:
            return cmd.CommandResult.info(ErrorCode.WRONG_STATE, "both calls must be connected or on hold")
        self._end(other, S.HANGUP, Cause.MERGED, cascade=False)
        for member in joining:
            if isinstance(member, Leg):
                if member.bridge is not None and member in member.bridge.members:
                    member.bridge.members.remove(member)
                member.bridge = leg.bridge
            leg.bridge.members.append(member)
        names = [m.name if isinstance(m, Party) else self._presented_name(m) for m in self.others(leg)]
        field_name = "source_name" if leg.direction is Direction.INBOUND else "destination_name"
        self._move(leg, S.CONNECTED, **{field_name: " & ".join(n or "?" for n in names)})
        return cmd.CommandResult.done()

    def park(self, leg: Leg, slot: int | None) -> cmd.CommandResult:
        if slot is None:
            free = [n for n in range(1, self.org.park_slots + 1) if n not in self.slots]
            if not free:
                return cmd.CommandResult.info(ErrorCode.SLOT_BUSY, "the park lot is full")
            slot = free[0]
        elif not 1 <= slot <= self.org.park_slots:
            return cmd.CommandResult.error(ErrorCode.BAD_REQUEST, f"park slot must be 1–{self.org.park_slots}")
        elif slot in self.slots:
            return cmd.CommandResult.info(ErrorCode.SLOT_BUSY, f"park slot {slot} is taken")
        self.slots[slot] = leg
        # the parker keeps seeing its parked call (on its own line too) until someone picks it up
        parker_line = {f"user:{leg.owner}"} if leg.owner else set()
        self._move(leg, S.PARKED, line="callpark", owner=None, tags=parker_line, park_slot=slot, parked_by=leg.owner)
        if self.world is not None:
            self.world.leg_parked(leg)
        return cmd.CommandResult.done(str(slot))

    def _unpark(self, session: Session, slot: int) -> cmd.CommandResult:
        me = session.identity
        leg = self.slots.get(slot)
        if leg is None:
            return cmd.CommandResult.info(ErrorCode.SLOT_EMPTY, f"park slot {slot} is empty")
        if leg.parked_by != me.extension and not may_act(
            self.org.policies, me, Operation.UNPARK, "callpark", {"callpark"}
        ):
            return cmd.CommandResult.error(ErrorCode.NOT_PERMITTED, f"not permitted: {me.role} cannot unpark")
        self.unpark_to(leg, me.extension)
        return cmd.CommandResult.done(leg.id)

    def unpark_to(self, leg: Leg, extension: str) -> None:
        user = self.org.user_by_extension(extension)
        assert user is not None
        del self.slots[leg.park_slot]  # type: ignore[arg-type]
        self._move(leg, S.CONNECTED, owner=extension, line=user.line, tags=set(), park_slot=None, parked_by=None)

    # --- the scripted outside world ---------------------------------------------------------------

    def inbound_call(self, number: str, destination: str, name: str = "") -> Leg | None:
        """An outside caller dials ``destination`` (a DID or an extension); returns the leg that rings."""
        with self._batch():
            party = Party(number, name)
            target = self._route(party, destination, None)
        return target if isinstance(target, Leg) else None

    def remote_hangup(self, call_id: str) -> bool:
        """The outside party on this call hangs up (or gives up while it rings). False if there is none."""
        leg = self.legs.get(call_id)
        if leg is None or not leg.live:
            return False
        with self._batch():
            party = next((m for m in self.others(leg) if isinstance(m, Party)), None)
            if party is not None and leg.bridge is not None:
                party.gone = True
                leg.bridge.members.remove(party)
                self._settle(leg.bridge)
                return True
            if isinstance(leg.remote, Party):
                leg.remote.gone = True
                leg.remote = None
                self._end(leg, S.CANCEL, Cause.CANCELLED if leg.direction is Direction.INBOUND else Cause.BUSY)
                return True
        return False


_OPERATION_OF: dict[type, Operation] = {
    cmd.Answer: Operation.ANSWER,
    cmd.Reject: Operation.REJECT,
    cmd.Hangup: Operation.HANGUP,
    cmd.Hold: Operation.HOLD,
    cmd.Resume: Operation.RESUME,
    cmd.Transfer: Operation.TRANSFER,
    cmd.SupervisedTransfer: Operation.SUPERVISED_TRANSFER,
    cmd.Merge: Operation.MERGE,
    cmd.Park: Operation.PARK,
    cmd.SendDtmf: Operation.DTMF,
}
