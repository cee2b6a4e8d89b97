"""The life of a leg: created, moved, bridged, ended — and every watcher told each time.

Every other part of the exchange changes legs through :class:`Calls`, so a move is always checked by the
state machine (:meth:`~cti_tui.pbx.legs.Leg.advance`) and always published. Ending a leg reaches further
than the leg (its queue renumbers, its park slot frees, a pending transfer fails): the parts that own those
things subscribe to :attr:`Calls.on_ended` and :attr:`Calls.on_phone_free` when the exchange is wired.
"""

from __future__ import annotations

from collections.abc import Callable

from cti_tui.core.model import Call, CallStatus, Cause, Direction
from cti_tui.pbx.context import Context
from cti_tui.pbx.legs import Bridge, Leg, LegBook, Party
from cti_tui.pbx.org import Dialable
from cti_tui.pbx.sessions import SessionRegistry

S = CallStatus
_REMOTE_CAUSE = {Cause.REJECTED: Cause.BUSY, Cause.NO_ANSWER: Cause.NO_ANSWER}  # else: cancelled


class Calls:
    """Creates, moves and ends legs; joins them in bridges; runs their no-answer timeouts."""

    def __init__(self, context: Context, book: LegBook, sessions: SessionRegistry) -> None:
        self.context = context
        self.book = book
        self.sessions = sessions
        # called in this order, after an ended leg was published and before its bridge and far end go
        self.on_ended: list[Callable[[Leg], None]] = []
        # called last, with the extension whose phone an ended leg was on: it is free for another call
        self.on_phone_free: list[Callable[[str], None]] = []
        # called when the far end of an outgoing leg answered (a consult call completes its transfer)
        self.on_far_end_answered: list[Callable[[Leg], None]] = []

    # --- names --------------------------------------------------------------------------------------

    def name_of(self, number: str) -> str:
        org = self.context.org
        user = org.user_by_extension(number)
        if user:
            return user.name
        services: tuple[Dialable, ...] = (*org.queues, *org.ivrs, *org.conferences)
        for item in services:
            if number in (item.extension, item.number):
                return item.name
        return org.world.behaviour_of(number).name

    def presented_number(self, leg: Leg) -> str:
        """The number a leg shows whoever it talks to: its owner's extension, or its outside caller's."""
        return leg.owner or leg.call.source

    def presented_name(self, leg: Leg) -> str:
        return self.name_of(leg.owner) if leg.owner else leg.call.source_name

    # --- creating and moving ------------------------------------------------------------------------

    def new_leg(
        self,
        direction: Direction,
        status: CallStatus,
        line: str,
        source: str,
        destination: str,
        owner: str | None,
        source_name: str = "",
        destination_name: str = "",
        queue_position: int | None = None,
    ) -> Leg:
        """A new leg in the book, not yet published (its caller links it up first)."""
        leg_id, cid = self.book.next_ids()
        call = Call(
            id=leg_id,
            cid=cid,
            direction=direction,
            status=status,
            line=line,
            source=source,
            destination=destination,
            source_name=source_name or self.name_of(source),
            destination_name=destination_name or self.name_of(destination),
            setup_at=self.context.clock.now(),
            queue_position=queue_position,
        )
        leg = Leg(call, owner)
        self.book.add(leg)
        return leg

    def move(self, leg: Leg, status: CallStatus, **changes: object) -> None:
        """Move a leg (through the state machine) and tell everyone watching where it was and where it is.

        ``changes`` are fields of its :class:`Call`; whose phone it is (``leg.owner``) the caller sets first.
        """
        before = leg.lines
        if status is S.CONNECTED and leg.call.connect_at is None:
            changes["connect_at"] = self.context.clock.now()
        leg.advance(status, **changes)
        if status is not S.RINGING:
            self.stop_ringing(leg)
        if status.ended:
            self.book.ended(leg)
        self.sessions.publish(leg, before)

    def repoint(self, leg: Leg, number: str, name: str) -> None:
        """The far end of ``leg`` changed (a transfer landed on it): show the new party.

        Not a move: the leg keeps its status, whatever it is; only the party its watchers see changes.
        """
        fields = (
            ("source", "source_name") if leg.direction is Direction.INBOUND else ("destination", "destination_name")
        )
        if (getattr(leg.call, fields[0]), getattr(leg.call, fields[1])) != (number, name):
            before = leg.lines
            leg.revise(**{fields[0]: number, fields[1]: name})
            self.sessions.publish(leg, before)

    def hold(self, leg: Leg) -> None:
        self.move(leg, S.ON_HOLD)

    def resume(self, leg: Leg) -> None:
        self.move(leg, S.CONNECTED)

    def hangup(self, leg: Leg) -> None:
        self.end(leg, S.HANGUP, Cause.NORMAL)

    # --- ending -------------------------------------------------------------------------------------

    def end(self, leg: Leg, status: CallStatus, cause: Cause | str, *, cascade: bool = True) -> None:
        """End a leg (HANGUP or CANCEL) and, with ``cascade``, whatever can't go on without it."""
        if not leg.live:
            return
        before = leg.lines
        now = self.context.clock.now()
        leg.advance(status, cause=str(cause), release_at=now, queue_position=None, also=())
        self.stop_ringing(leg)
        if self.context.world is not None:
            self.context.world.leg_ended(leg)  # its simulated callers and colleagues stop waiting on it
        self.book.ended(leg)
        self.sessions.publish(leg, before)
        self.book.retire(leg)
        for ended in self.on_ended:
            ended(leg)
        bridge, leg.bridge = leg.bridge, None
        if bridge is not None and leg in bridge.members:
            bridge.members.remove(leg)
            if cascade:
                self.settle(bridge)
        remote, leg.remote = leg.remote, None
        if cascade and remote is not None:
            if isinstance(remote, Leg) and remote.live and remote.remote is leg:
                remote.remote = None
                remote_cause = _REMOTE_CAUSE.get(Cause(leg.call.cause), Cause.CANCELLED)
                self.end(remote, S.CANCEL if remote.call.connect_at is None else S.HANGUP, remote_cause)
            elif isinstance(remote, Party):
                remote.gone = True
        if leg.owner:
            for phone_free in self.on_phone_free:
                phone_free(leg.owner)

    def settle(self, bridge: Bridge) -> None:
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
            self.end(other, S.HANGUP, Cause.NORMAL)

    def party_hangs_up(self, leg: Leg) -> bool:
        """The outside party on ``leg`` hangs up (or gives up while it rings). False if there is none."""
        party = next((m for m in leg.others() if isinstance(m, Party)), None)
        if party is not None and leg.bridge is not None:
            party.gone = True
            leg.bridge.members.remove(party)
            self.settle(leg.bridge)
            return True
        if isinstance(leg.remote, Party):
            leg.remote.gone = True
            leg.remote = None
            self.end(leg, S.CANCEL, Cause.CANCELLED if leg.direction is Direction.INBOUND else Cause.BUSY)
            return True
        return False

    # --- bridging -----------------------------------------------------------------------------------

    def connect(self, leg: Leg, other: Leg | Party) -> Bridge:
        """Join two ends in a new bridge (or into ``other``'s existing one); the caller moves the legs."""
        bridge = other.bridge if isinstance(other, Leg) and other.bridge else Bridge([other])
        if isinstance(other, Leg):
            other.bridge = bridge
            other.remote = None
        bridge.members.append(leg)
        leg.bridge = bridge
        leg.remote = None
        return bridge

    def far_end_answered(self, leg: Leg) -> None:
        for answered in self.on_far_end_answered:
            answered(leg)

    # --- ringing ------------------------------------------------------------------------------------

    def ring(self, leg: Leg) -> None:
        """A ringing leg stops ringing after the no-answer timeout; a simulated colleague may answer."""
        owner = leg.owner
        self.stop_ringing(leg)
        timeout = self.context.org.world.no_answer_timeout
        leg.ring_timer = self.sessions.later(timeout, lambda: self._ring_timeout(leg, owner))
        if self.context.world is not None:
            self.context.world.leg_ringing(leg)

    @staticmethod
    def stop_ringing(leg: Leg) -> None:
        """Cancel the leg's no-answer timeout: it was answered or ended (a wall ends hundreds of calls a
        second; their timers would hold them in memory for the whole timeout)."""
        if leg.ring_timer is not None:
            leg.ring_timer.cancel()
            leg.ring_timer = None

    def _ring_timeout(self, leg: Leg, owner: str | None) -> None:
        if leg.status is S.RINGING and leg.owner == owner and leg.queue_id is None:
            self.end(leg, S.CANCEL, Cause.NO_ANSWER)
