"""Where a dialled number leads, and what happens when it answers.

A destination is a user (by extension or outside number), a queue, an IVR (whose caller picks a menu
option at random after ``menu_seconds``), a conference room, or an outside number that behaves as the
organisation's world settings script it. An agent's own call first rings the agent's phone
(click-to-call: INITIAL, ACCEPTED), then the far end.
"""

from __future__ import annotations

from cti_tui.core.model import CallStatus, Cause, Direction
from cti_tui.pbx.calls import Calls
from cti_tui.pbx.conference import Conferences
from cti_tui.pbx.context import Context
from cti_tui.pbx.legs import Leg, Party
from cti_tui.pbx.org import Dialable, Queue, User
from cti_tui.pbx.queues import QueueDesk
from cti_tui.pbx.sessions import SessionRegistry

S = CallStatus


class Router:
    """Rings whatever a number leads to, and bridges a ringing leg with its caller when it is answered."""

    def __init__(
        self, context: Context, calls: Calls, sessions: SessionRegistry, queues: QueueDesk, rooms: Conferences
    ) -> None:
        self.context = context
        self.calls = calls
        self.sessions = sessions
        self.queues = queues
        self.rooms = rooms

    def routable(self, destination: str) -> bool:
        """Does ``destination`` lead anywhere: an outside number, or an extension that exists here?"""
        if destination.startswith("+"):
            return True
        org = self.context.org
        dialable: tuple[Dialable, ...] = (*org.users, *org.queues, *org.ivrs, *org.conferences)
        return any(destination == item.extension for item in dialable)

    def route(self, caller: Leg | Party, destination: str, origin: Leg | None) -> Leg | Party | None:
        """Connect ``caller`` towards ``destination``. ``origin`` is the ringing leg the caller sees
        (its RINGING/CANCEL/CONNECTED follow the target); returns what now rings, if anything."""
        org = self.context.org
        later = self.sessions.later
        user = org.user_by_extension(destination) or org.user_by_number(destination)
        if user is not None:
            return self._ring_user(user, caller, origin)
        queue = next((q for q in org.queues if destination in (q.extension, q.number)), None)
        if queue is not None:
            return self._enqueue_new(queue, caller, origin, destination)
        ivr = next((i for i in org.ivrs if destination in (i.extension, i.number)), None)
        if ivr is not None:
            leg = self._system_leg(caller, ivr.line, destination, origin)
            later(ivr.menu_seconds, lambda: self._ivr_choice(leg, ivr.options))
            return leg
        room = next((c for c in org.conferences if destination in (c.extension, c.number)), None)
        if room is not None and origin is not None:
            self.ring_origin(origin)
            later(org.world.ring_seconds / 2, lambda: self.rooms.join(origin, room.id, room.line))
            return None
        if not destination.startswith("+"):
            if origin is not None:
                later(0.5, lambda: self._fail(origin, Cause.UNREACHABLE))
            return None
        return self._ring_outside(destination, origin)

    def _caller_shown(self, caller: Leg | Party) -> tuple[str, str]:
        """The number and name a call from ``caller`` shows where it rings."""
        if isinstance(caller, Party):
            return caller.number, caller.name
        return self.calls.presented_number(caller), self.calls.presented_name(caller)

    def _ring_user(self, user: User, caller: Leg | Party, origin: Leg | None) -> Leg:
        source, source_name = self._caller_shown(caller)
        leg = self.calls.new_leg(
            Direction.INBOUND, S.RINGING, user.line, source, user.extension, user.extension, source_name, user.name
        )
        leg.remote = origin if origin is not None else caller
        if origin is not None:
            origin.remote = leg
        self.sessions.publish(leg)
        self.calls.ring(leg)
        return leg

    def _system_leg(
        self,
        caller: Leg | Party,
        line: str,
        destination: str,
        origin: Leg | None,
        queue_position: int | None = None,
    ) -> Leg:
        """A call waiting in an IVR or a queue: no one's phone, seen on that node's line."""
        if (
            isinstance(caller, Leg)
            and caller.direction is Direction.INBOUND
            and caller.owner is None
            and caller.status is S.RINGING  # waiting in an IVR or a queue, not parked
        ):
            leg = caller  # an outside call moving on (IVR -> queue) keeps its id
            self.calls.move(leg, S.RINGING, line=line, also=(), queue_position=queue_position)
            return leg
        source, source_name = self._caller_shown(caller)
        # a queued call is seen with its place from its first event
        leg = self.calls.new_leg(
            Direction.INBOUND, S.RINGING, line, source, destination, None, source_name, "", queue_position
        )
        leg.remote = origin if origin is not None else caller
        if origin is not None:
            origin.remote = leg
        self.sessions.publish(leg)
        if isinstance(caller, Party) and self.context.world is not None:
            self.context.world.caller_waiting(leg)
        return leg

    def _ivr_choice(self, leg: Leg, options: dict[str, str]) -> None:
        if leg.status is not S.RINGING or not leg.line.startswith("ivr:"):
            return
        if not options:
            self.calls.end(leg, S.HANGUP, Cause.NORMAL)
            return
        digit = self.context.random.choice(sorted(options))
        leg.dtmf += digit
        node = options[digit]
        kind, _, ident = node.partition(":")
        org = self.context.org
        if kind == "queue" and (queue := org.queue(ident)):
            self.queues.enqueue(queue, leg)
        elif kind == "user" and (user := org.user_by_extension(ident)):
            leg.owner = user.extension
            self.calls.move(leg, S.RINGING, line=user.line, also=(leg.line,))
            self.calls.ring(leg)
        else:
            self.calls.end(leg, S.HANGUP, Cause.NORMAL)

    def _enqueue_new(self, queue: Queue, caller: Leg | Party, origin: Leg | None, destination: str) -> Leg:
        position = self.queues.position(queue.id, None)
        leg = self._system_leg(caller, queue.line, destination, origin, position)
        self.queues.enqueue(queue, leg)
        return leg

    def _ring_outside(self, number: str, origin: Leg | None) -> Party | None:
        """An agent (or a transfer) dialled an outside number: it behaves as the world file says."""
        world = self.context.org.world
        later = self.sessions.later
        script = world.behaviour_of(number)
        party = Party(number, script.name)
        if origin is None:
            return None  # an outside caller transferred outside: it leaves our PBX
        origin.remote = party
        if script.behaviour == "busy":
            later(1.0, lambda: self._fail(origin, Cause.BUSY))
        elif script.behaviour == "unreachable":
            later(0.5, lambda: self._fail(origin, Cause.UNREACHABLE))
        else:
            self.ring_origin(origin)
            if script.behaviour == "answer":
                later(script.rings * world.ring_seconds, lambda: self._outside_answers(origin, party))
            later(world.no_answer_timeout, lambda: self._fail(origin, Cause.NO_ANSWER, party))
        return party

    def ring_origin(self, origin: Leg) -> None:
        """The calling leg hears the far end ring (once its own phone has picked up)."""
        if origin.status in (S.INITIAL, S.ACCEPTED):
            self.calls.move(origin, S.RINGING)

    def _fail(self, origin: Leg, cause: Cause, party: Party | None = None) -> None:
        if origin.live and origin.call.connect_at is None and (party is None or origin.remote is party):
            origin.remote = None
            self.calls.end(origin, S.CANCEL, cause)

    def _outside_answers(self, origin: Leg, party: Party) -> None:
        if origin.status is S.RINGING and origin.remote is party:
            self.calls.connect(origin, party)
            self.calls.move(origin, S.CONNECTED)
            if self.context.world is not None:
                self.context.world.party_connected(party, origin)
            self.calls.far_end_answered(origin)

    # --- answering and dialling ---------------------------------------------------------------------

    def answer(self, leg: Leg) -> None:
        """``leg``'s owner picks up: bridge it with whoever is calling."""
        caller = leg.remote
        self.queues.take(leg)
        world = self.context.world
        if isinstance(caller, Leg) and caller.live:
            self.calls.connect(leg, caller)
            self.calls.move(leg, S.CONNECTED, also=())  # answered: no longer the queue's; its watchers see it leave
            if caller.status is not S.CONNECTED:
                self.calls.move(caller, S.CONNECTED)
            if world is not None:
                world.leg_connected(leg)
            self.calls.far_end_answered(caller)
        elif isinstance(caller, Party) and not caller.gone:
            self.calls.connect(leg, caller)
            self.calls.move(leg, S.CONNECTED, also=())  # answered: no longer the queue's; its watchers see it leave
            if world is not None:
                world.party_connected(caller, leg)
                world.leg_connected(leg)
        else:
            self.calls.end(leg, S.CANCEL, Cause.CANCELLED)

    def click_to_call(self, extension: str, line: str, destination: str, *, auto_answer: bool) -> Leg:
        """An agent's call from the dashboard: the agent's own phone rings first (unless it answers
        on its own), then the far end."""
        leg = self.calls.new_leg(Direction.OUTBOUND, S.INITIAL, line, extension, destination, extension)
        self.sessions.publish(leg)
        delay = 0.0 if auto_answer else self.context.org.world.pickup_seconds
        if delay:
            self.sessions.later(delay, lambda: self._picked_up(leg, destination))
        else:
            self._picked_up(leg, destination)
        return leg

    def _picked_up(self, leg: Leg, destination: str) -> None:
        if leg.status is not S.INITIAL:
            return
        self.calls.move(leg, S.ACCEPTED)
        target = self.route(leg, destination, leg)
        if isinstance(target, Leg):
            self.ring_origin(leg)

    def dial_from_phone(self, user: User, destination: str) -> Leg:
        """A call placed on the phone itself (a simulated colleague): no click-to-call phase."""
        leg = self.calls.new_leg(Direction.OUTBOUND, S.RINGING, user.line, user.extension, destination, user.extension)
        self.sessions.publish(leg)
        self.route(leg, destination, leg)
        return leg
