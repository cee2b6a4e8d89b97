"""A session's commands: checked (is it your call, may your role do it, does the call's state allow it),
then handed to the part of the exchange that carries it out."""

from __future__ import annotations

from cti_tui.core import commands as cmd
from cti_tui.core.machine import operations_for
from cti_tui.core.model import CallStatus, Cause, ErrorCode, Operation
from cti_tui.core.permissions import may_act, may_see, may_watch
from cti_tui.pbx.availability import AgentDesk
from cti_tui.pbx.calls import Calls
from cti_tui.pbx.conference import Conferences
from cti_tui.pbx.context import Context
from cti_tui.pbx.legs import Leg, LegBook
from cti_tui.pbx.park import ParkLot
from cti_tui.pbx.routing import Router
from cti_tui.pbx.sessions import ExchangeSession
from cti_tui.pbx.spy import Monitors
from cti_tui.pbx.transfers import Transfers

S = CallStatus

OPERATION_OF: dict[type, Operation] = {
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
    cmd.Pickup: Operation.PICKUP,
}


class Dispatcher:
    """Turns one session's command into the exchange's answer (the caller batches what it changes)."""

    def __init__(
        self,
        context: Context,
        book: LegBook,
        calls: Calls,
        router: Router,
        transfers: Transfers,
        rooms: Conferences,
        park: ParkLot,
        agents: AgentDesk,
        monitors: Monitors,
    ) -> None:
        self.context = context
        self.book = book
        self.calls = calls
        self.router = router
        self.transfers = transfers
        self.rooms = rooms
        self.park = park
        self.agents = agents
        self.monitors = monitors

    def execute(self, session: ExchangeSession, command: cmd.Command) -> cmd.CommandResult:
        me = session.identity
        match command:
            case cmd.Dial(destination=destination):
                leg = self.router.click_to_call(me.extension, me.line, destination, auto_answer=session.auto_answer)
                return cmd.CommandResult.done(leg.id)
            case cmd.Subscribe(node=node):
                return self._subscribe(session, node)
            case cmd.Unsubscribe(node=node):
                session.subscriptions.pop(node, None)
                return cmd.CommandResult.done()
            case cmd.SetAutoAnswer(enabled=enabled):
                session.auto_answer = enabled
                return cmd.CommandResult.done()
            case cmd.Unpark(slot=slot):
                return self.park.unpark(me, slot)
            case cmd.CancelSupervisedTransfer(call_id=call_id):
                return self.transfers.cancel(me, call_id)
            case (
                cmd.SetReady()
                | cmd.TakeBreak()
                | cmd.GoOffline()
                | cmd.QueueLogin()
                | cmd.QueueLogout()
                | cmd.Dispose()
            ):
                return self.agents.execute(me, command)  # availability and after-call work
            case cmd.CompleteSupervisedTransfer(call_id=call_id):
                return self.transfers.complete(me, call_id)
            case cmd.Mute(call_id=call_id, muted=muted):
                return self._mute(me.extension, call_id, muted)
            case cmd.Spy():
                return self.monitors.spy(session, command)
        call_id = getattr(command, "call_id", "")
        operation = OPERATION_OF[type(command)]
        leg_or_refusal = self._leg_for(session, call_id, operation)
        if isinstance(leg_or_refusal, cmd.CommandResult):
            return leg_or_refusal
        leg = leg_or_refusal
        match command:
            case cmd.Answer():
                self.router.answer(leg)
            case cmd.Reject():
                self.calls.end(leg, S.CANCEL, Cause.REJECTED)
            case cmd.Hangup():
                self.calls.hangup(leg)
            case cmd.Hold():
                self.calls.hold(leg)
            case cmd.Resume():
                self.calls.resume(leg)
            case cmd.Transfer(destination=destination):
                return self.transfers.transfer(leg, destination)
            case cmd.SupervisedTransfer(destination=destination, invite_timeout=timeout, consult=consult):
                return self.transfers.supervised(me, leg, destination, timeout, consult_stage=consult)
            case cmd.Merge(other_call_id=other_id):
                other = self._leg_for(session, other_id, Operation.MERGE)
                if isinstance(other, cmd.CommandResult):
                    return other
                return self.rooms.merge(leg, other)
            case cmd.Park(slot=park_slot):
                return self.park.park(leg, park_slot)
            case cmd.SendDtmf(digits=digits):
                leg.dtmf += digits
            case cmd.Pickup():
                return self.monitors.pickup(leg, me)
        return cmd.CommandResult.done()

    def _mute(self, extension: str, call_id: str, muted: bool) -> cmd.CommandResult:
        """Only the phone's owner mutes it, only while it is in a conversation (connected or held)."""
        leg = self.book.get(call_id)
        if leg is None or not leg.live or leg.owner != extension:
            return cmd.CommandResult.info(ErrorCode.UNKNOWN_CALL, f"no call {call_id!r} on your phone")
        if leg.status not in (S.CONNECTED, S.ON_HOLD):
            return cmd.CommandResult.info(ErrorCode.WRONG_STATE, f"cannot mute a call that is {leg.status}")
        if leg.call.muted != muted:
            before = leg.lines
            leg.revise(muted=muted)
            self.calls.sessions.publish(leg, before)
        return cmd.CommandResult.done()

    def _subscribe(self, session: ExchangeSession, node: str) -> cmd.CommandResult:
        """Watch ``node``: its calls now (sent at once), and every change to them from now on."""
        me = session.identity
        org = self.context.org
        if not org.has_node(node):
            return cmd.CommandResult.error(ErrorCode.UNKNOWN_NODE, f"there is no line {node!r}")
        if not may_watch(org.policies, me, node):
            return cmd.CommandResult.error(ErrorCode.NOT_PERMITTED, f"{me.role} may not watch {node}")
        session.subscriptions[node] = None
        for call in self.book.calls_on({node}):
            if may_see(me, call):
                session.sink(cmd.CallUpdate(call))
        kind, _, extension = node.partition(":")
        if kind == "user" and (agent := self.agents.of(extension)) is not None:
            session.sink(cmd.AgentUpdate(agent))  # a supervisor sees the agent's state from the start
        return cmd.CommandResult.done()

    def _leg_for(self, session: ExchangeSession, call_id: str, operation: Operation) -> Leg | cmd.CommandResult:
        """The leg ``call_id`` if this session may apply ``operation`` to it now, else why not."""
        leg = self.book.get(call_id)
        me = session.identity
        if leg is None or not (session.watches(leg.lines) or leg.owner == me.extension):
            return cmd.CommandResult.info(ErrorCode.UNKNOWN_CALL, f"no call {call_id!r} on your lines")
        if not leg.live:
            return cmd.CommandResult.info(ErrorCode.CALL_ENDED, f"call {call_id} has already ended")
        if not may_act(self.context.org.policies, me, operation, leg.line, session.subscriptions.keys()):
            return cmd.CommandResult.error(
                ErrorCode.NOT_PERMITTED,
                f"not permitted: {me.role} {me.extension} cannot {operation.value} on {leg.line}",
            )
        if operation not in operations_for(leg.call):
            return cmd.CommandResult.info(
                ErrorCode.WRONG_STATE, f"cannot {operation.value} a call that is {leg.status}"
            )
        return leg
