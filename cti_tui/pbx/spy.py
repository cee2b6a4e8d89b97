"""A supervisor on an agent's call: listen, whisper, barge (its own leg joins the call) and pickup.

Modelled as real PBXs do it (Asterisk ChanSpy, FreeSWITCH eavesdrop): the supervisor's phone rings first
(click-to-call), and once picked up its *own* leg joins the agent's call, shown on the supervisor's line with
``monitor`` set to the mode. It is not a member of the agent's bridge, so it never keeps the call alive: when
the agent's leg ends, the supervisor's ends with it (ChanSpy's ``E`` option). What the agent sees follows what
it hears: a listener is silent and a whisper is heard by the agent alone, so neither changes the agent's call
(no event on the agent's line, as no phone shows a ChanSpy); a barge is a third voice both ends hear, so the
agent's call is shown as talking to "caller & supervisor" until the supervisor leaves.

*Pickup* moves a call ringing on a watched line (an agent's phone, a queue) to the supervisor's phone and
answers it there: the same call id, gone from the agent's line, connected on the supervisor's.
"""

from __future__ import annotations

from cti_tui.core import commands as cmd
from cti_tui.core.agent_commands import Spy, SpyMode, refusal
from cti_tui.core.model import CallStatus, Cause, Direction, ErrorCode, Identity
from cti_tui.pbx.calls import Calls
from cti_tui.pbx.context import Context
from cti_tui.pbx.legs import Leg, LegBook
from cti_tui.pbx.routing import Router
from cti_tui.pbx.sessions import ExchangeSession, SessionRegistry

S = CallStatus
SPIED_STATES = (S.CONNECTED, S.ON_HOLD)  # an agent's call one can listen to: it has someone on it


class Monitors:
    """Which supervisor leg listens to which agent leg, and the moves that start and end it."""

    def __init__(
        self, context: Context, book: LegBook, calls: Calls, sessions: SessionRegistry, router: Router
    ) -> None:
        self.context = context
        self.book = book
        self.calls = calls
        self.sessions = sessions
        self.router = router
        self.spied: dict[Leg, Leg] = {}  # a supervisor's joined leg -> the agent's leg it listens to

    # --- listen / whisper / barge -------------------------------------------------------------------

    def spy(self, session: ExchangeSession, command: Spy) -> cmd.CommandResult:
        """Ring the supervisor's phone; once it picks up, its leg joins ``command.extension``'s call."""
        me = session.identity
        try:
            mode = SpyMode(command.mode)
        except ValueError:
            return cmd.CommandResult.error(ErrorCode.BAD_REQUEST, f"no spy mode {command.mode!r}")
        if command.extension == me.extension:
            return cmd.CommandResult.info(ErrorCode.WRONG_STATE, "you cannot listen to your own calls")
        why = refusal(command, me.role, me.extension, session.subscriptions.keys())
        if why is not None:
            return cmd.CommandResult.error(ErrorCode.NOT_PERMITTED, why)
        agent = self.context.org.user_by_extension(command.extension)
        if agent is None:
            return cmd.CommandResult.error(ErrorCode.UNKNOWN_NODE, f"there is no user {command.extension!r}")
        if self._target(command.extension) is None:
            return cmd.CommandResult.info(ErrorCode.WRONG_STATE, f"{agent.name} is not on a call")
        leg = self.calls.new_leg(
            Direction.OUTBOUND, S.INITIAL, me.line, me.extension, agent.extension, me.extension, "", agent.name
        )
        leg.revise(monitor=mode.value)
        self.sessions.publish(leg)
        delay = 0.0 if session.auto_answer else self.context.org.world.pickup_seconds
        if delay:
            self.sessions.later(delay, lambda: self._join(leg, me))
        else:
            self._join(leg, me)
        return cmd.CommandResult.done(leg.id)

    def _target(self, extension: str) -> Leg | None:
        """The agent's call one would listen to: its connected one, else its held one."""
        legs = [leg for leg in self.book.on_phone(extension) if leg.status in SPIED_STATES and leg.call.monitor == ""]
        return min(legs, key=lambda leg: leg.status is not S.CONNECTED, default=None)

    def _join(self, leg: Leg, me: Identity) -> None:
        """The supervisor picked up: join the agent's call, or hear it is gone."""
        if leg.status is not S.INITIAL:
            return  # hung up while its phone rang
        self.calls.move(leg, S.ACCEPTED)
        target = self._target(leg.call.destination)
        if target is None:
            self.calls.end(leg, S.CANCEL, Cause.CANCELLED)
            return
        self.calls.move(leg, S.RINGING)
        self.calls.move(leg, S.CONNECTED)
        self.spied[leg] = target
        if leg.call.monitor == SpyMode.BARGE:
            self._show_party(target, extra=self.calls.name_of(me.extension))

    def _show_party(self, target: Leg, extra: str | None) -> None:
        """The agent's call shows who it talks to: its party, plus a barging supervisor."""
        names = [self.calls.presented_name(m) if isinstance(m, Leg) else m.name for m in target.others()]
        if extra is not None:
            names.append(extra)
        self.calls.repoint(target, target.call.party, " & ".join(n or "?" for n in names))

    def leg_ended(self, leg: Leg) -> None:
        """Subscribed to Calls: a supervisor leaving un-shows a barge; an agent's call ending ends its listeners."""
        target = self.spied.pop(leg, None)
        if target is not None and target.live and leg.call.monitor == SpyMode.BARGE:
            still = [s for s, t in self.spied.items() if t is target and s.call.monitor == SpyMode.BARGE]
            self._show_party(target, extra=" & ".join(self.calls.name_of(s.call.source) for s in still) or None)
        for listener in [s for s, t in self.spied.items() if t is leg]:
            self.calls.end(listener, S.HANGUP, Cause.NORMAL)

    # --- pickup -------------------------------------------------------------------------------------

    def pickup(self, leg: Leg, me: Identity) -> cmd.CommandResult:
        """``leg`` (ringing, on a watched line) moves to ``me``'s phone and is answered there."""
        if leg.owner == me.extension:
            return cmd.CommandResult.info(ErrorCode.WRONG_STATE, "it rings on your own phone: answer it")
        caller = leg.remote
        was_ringing = leg.owner
        self.calls.stop_ringing(leg)
        leg.owner = me.extension
        name = self.calls.name_of(me.extension)
        self.calls.move(
            leg, S.RINGING, line=me.line, also=(), queue_position=None, destination=me.extension, destination_name=name
        )
        self.router.answer(leg)
        if isinstance(caller, Leg) and caller.live:
            self.calls.repoint(caller, me.extension, name)
        if was_ringing is not None:
            for phone_free in self.calls.on_phone_free:
                phone_free(was_ringing)
        return cmd.CommandResult.done(leg.id)
