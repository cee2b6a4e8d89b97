"""Handing a call over: blind (the agent leaves at once) or supervised (the agent first consults).

A supervised transfer puts the original call on hold and opens a *consult* leg to the target. If the
target answers, the held party and the target are joined and both of the agent's legs end (transferred);
if not (busy, unreachable, timeout, cancelled), the held call comes back and the agent is told why.

With a *consult stage* (what the dashboard asks for), the target's answer completes nothing: the agent
talks to the target on the consult call, may swap between the two (hold one, resume the other), and then
completes (:meth:`Transfers.complete`) or cancels; the customer hanging up meanwhile leaves the agent
talking to the target.
"""

from __future__ import annotations

from cti_tui.core import commands as cmd
from cti_tui.core.model import ActivityName, CallStatus, Cause, Direction, ErrorCode, Identity
from cti_tui.pbx.calls import Calls
from cti_tui.pbx.context import Context
from cti_tui.pbx.legs import Bridge, Leg, LegBook, Party
from cti_tui.pbx.routing import Router
from cti_tui.pbx.sessions import SessionRegistry

S = CallStatus


class Transfers:
    """Blind and supervised transfers; a pending one is the pair ``original.consult`` / ``consult.consult_of``."""

    def __init__(
        self, context: Context, calls: Calls, book: LegBook, sessions: SessionRegistry, router: Router
    ) -> None:
        self.context = context
        self.calls = calls
        self.book = book
        self.sessions = sessions
        self.router = router

    # --- blind --------------------------------------------------------------------------------------

    def transfer(self, leg: Leg, destination: str) -> cmd.CommandResult:
        """Blind transfer: ``leg`` ends (cause transferred) and its far end rings ``destination``."""
        others = leg.others()
        if len(others) != 1:
            return cmd.CommandResult.info(ErrorCode.WRONG_STATE, "only a two-party call can be transferred")
        if not self.router.routable(destination):
            return cmd.CommandResult.info(ErrorCode.BAD_NUMBER, f"no extension {destination} here; call kept")
        other = others[0]
        self.calls.end(leg, S.HANGUP, Cause.TRANSFERRED, cascade=False)
        if isinstance(other, Leg):
            other.bridge = None
        self._forward(other, destination)
        return cmd.CommandResult.done()

    def _forward(self, caller: Leg | Party, destination: str) -> None:
        """Send a party whose agent transferred it blind on to ``destination``."""
        if isinstance(caller, Party):
            target = self.router.route(caller, destination, None)
            if isinstance(target, Leg) and self.context.world is not None:
                self.context.world.caller_waiting(target)
            return
        # an internal leg keeps talking; it will be re-pointed at the target when the target answers
        target = self.router.route(caller, destination, None)
        if target is None:
            self.calls.end(caller, S.HANGUP, Cause.NORMAL)
        else:
            caller.remote = target
            self.calls.repoint(caller, destination, self.calls.name_of(destination))

    # --- supervised ---------------------------------------------------------------------------------

    def supervised(
        self, me: Identity, leg: Leg, destination: str, timeout: float | None, *, consult_stage: bool = False
    ) -> cmd.CommandResult:
        """Hold ``leg`` and ring ``destination`` from ``me``'s phone; the answer completes the transfer,
        or with ``consult_stage`` opens the consult stage."""
        if leg.consult is not None:
            return cmd.CommandResult.info(ErrorCode.WRONG_STATE, "a transfer of this call is already pending")
        if len(leg.others()) != 1:
            return cmd.CommandResult.info(ErrorCode.WRONG_STATE, "only a two-party call can be transferred")
        if leg.status is S.CONNECTED:
            self.calls.move(leg, S.ON_HOLD)
        consult = self.calls.new_leg(Direction.OUTBOUND, S.RINGING, me.line, me.extension, destination, me.extension)
        consult.revise(consult_for=leg.id)
        consult.talk_first = consult_stage
        leg.consult, consult.consult_of = consult, leg
        self.sessions.publish(consult)
        self.router.route(consult, destination, consult)
        if timeout:
            self.sessions.later(timeout, lambda: self._consult_timeout(consult))
        return cmd.CommandResult.done(consult.id)

    def _consult_timeout(self, consult: Leg) -> None:
        if consult.live and consult.call.connect_at is None:
            self.calls.end(consult, S.CANCEL, Cause.NO_ANSWER)

    def cancel(self, me: Identity, call_id: str) -> cmd.CommandResult:
        """``me`` drops the pending transfer of ``call_id`` (given by its original or its consult leg)."""
        leg = self.book.get(call_id)
        consult = leg and (leg.consult or (leg if leg.consult_of else None))
        if consult is not None and consult.owner == me.extension:
            self.calls.end(consult, S.HANGUP, Cause.CANCELLED)
            return cmd.CommandResult.done()
        return cmd.CommandResult.info(ErrorCode.WRONG_STATE, f"no supervised transfer pending for {call_id!r}")

    def complete(self, me: Identity, call_id: str) -> cmd.CommandResult:
        """``me`` hands the held call to the target it consulted (``call_id``: the original or the consult)."""
        leg = self.book.get(call_id)
        consult = leg and (leg.consult or (leg if leg.consult_of else None))
        if consult is None or consult.owner != me.extension:
            return cmd.CommandResult.info(ErrorCode.WRONG_STATE, f"no supervised transfer pending for {call_id!r}")
        if consult.call.connect_at is None:
            return cmd.CommandResult.info(ErrorCode.WRONG_STATE, "the target has not answered yet")
        self._hand_over(consult)
        return cmd.CommandResult.done()

    def consult_answered(self, consult_leg: Leg) -> None:
        """The consult call connected: hand the held call over and end both of the agent's legs, unless
        the agent talks to the target first (subscribed to Calls: the far end of an outgoing leg answered)."""
        if not consult_leg.talk_first:
            self._hand_over(consult_leg)

    def _hand_over(self, consult_leg: Leg) -> None:
        original = consult_leg.consult_of
        if original is None:
            return
        original.consult = consult_leg.consult_of = None
        held_by = original.others()
        target = consult_leg.others()
        for leg in (original, consult_leg):
            self.calls.end(leg, S.HANGUP, Cause.TRANSFERRED, cascade=False)
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
                (other,) = others
                if isinstance(other, Party):
                    number, name = other.number, other.name
                else:
                    number, name = self.calls.presented_number(other), self.calls.presented_name(other)
                self.calls.repoint(leg, number, name)
        self.calls.settle(bridge)

    def leg_ended(self, leg: Leg) -> None:
        """A leg of a pending transfer ended (subscribed to Calls): the held original ended, so its consult
        has nothing left to hand over; or the consult ended unanswered, so the transfer failed."""
        if leg.consult is not None:
            consult, leg.consult = leg.consult, None
            consult.consult_of = None
            if consult.talk_first and consult.call.connect_at is not None:
                before = consult.lines  # the customer left during the consult stage: the agent keeps the target
                consult.revise(consult_for="")
                self.sessions.publish(consult, before)
                return
            self.calls.end(consult, S.HANGUP if consult.call.connect_at else S.CANCEL, Cause.CANCELLED)
        if leg.consult_of is not None:
            original, leg.consult_of = leg.consult_of, None
            original.consult = None
            self._consult_failed(original, leg)

    def _consult_failed(self, original: Leg, consult_leg: Leg) -> None:
        """The target did not answer (busy, unreachable, timeout, cancelled): the held call comes back."""
        if not original.live:
            return
        if original.status is S.ON_HOLD:
            self.calls.move(original, S.CONNECTED)
        self.sessions.notice(
            original.owner,
            ActivityName.INFO,
            ErrorCode.TRANSFER_FAILED,
            f"transfer to {consult_leg.call.destination} did not complete ({consult_leg.call.cause}); "
            f"call {original.id} is back",
            original.id,
        )
