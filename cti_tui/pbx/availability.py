"""Agents' availability on the exchange: who queues may offer calls to, and the wrap-up after each call.

The state is the exchange's, per extension, not a session's: it survives a reconnect and a second login,
and every session watching the agent's line (its own, a supervisor's) is told of each change. An extension
nobody is logged in as (a simulated colleague) has no state here and is offered calls as before.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import timedelta

from cti_tui.core import commands as cmd
from cti_tui.core.availability import MAX_NOTE_CHARS, AgentState, Availability
from cti_tui.core.clock import Timer
from cti_tui.core.model import ErrorCode, Identity
from cti_tui.pbx.context import Context
from cti_tui.pbx.legs import Leg, LegBook
from cti_tui.pbx.sessions import SessionRegistry

A = AgentState


class AgentDesk:
    """Each logged-in agent's :class:`Availability`, its wrap-up timer, and the queue each answered call
    came from (whose ``wrap_up_seconds`` apply when it ends)."""

    def __init__(self, context: Context, book: LegBook, sessions: SessionRegistry) -> None:
        self.context = context
        self.book = book
        self.sessions = sessions
        self.states: dict[str, Availability] = {}
        self._timers: dict[str, Timer] = {}
        self._answered_from: dict[str, str] = {}  # leg id -> queue id, until the leg ends
        self.on_available: list[Callable[[str], None]] = []  # queues may offer this extension calls again

    # --- what queues ask ------------------------------------------------------------------------------

    def may_offer(self, extension: str, queue_id: str) -> bool:
        """May ``queue_id`` offer ``extension`` a call? A person only when available and logged in to it; an
        extension nobody has logged in as (or whose person logged out: a simulated colleague plays it) yes.
        Asked per member for every waiting call: the session scan comes last, and rarely."""
        state = self.states.get(extension)
        if state is None or state.takes_calls_from(queue_id):
            return True
        return state.state is A.OFFLINE and not self.sessions.is_human(extension)

    # --- sessions -----------------------------------------------------------------------------------

    def opened(self, identity: Identity) -> Availability:
        """A session of ``identity`` opened: an agent logging in is available in its queues; one already
        logged in elsewhere (a second window) stays as it was, on a break, in wrap-up or offline."""
        extension = identity.extension
        state = self.states.get(extension)
        if state is None:
            org = self.context.org
            member_of = tuple(q.id for q in org.queues if extension in q.members)
            state = Availability(
                extension,
                member_of=member_of,
                queues=member_of,
                break_reasons=org.agents.break_reasons,
                dispositions=org.agents.dispositions,
            )
            self.states[extension] = state
        first = sum(1 for s in self.sessions.sessions if s.identity.extension == extension) == 1
        if state.state is A.OFFLINE and first:  # (a second window leaves an agent who went offline so)
            self._set(extension, A.AVAILABLE, queues=state.queues or state.member_of)
        return self.states[extension]

    def closed(self, identity: Identity) -> None:
        """A session closed; the agent's last one leaving makes it offline (supervisors see it)."""
        if not self.sessions.is_human(identity.extension) and identity.extension in self.states:
            self._set(identity.extension, A.OFFLINE)

    def of(self, extension: str) -> Availability | None:
        return self.states.get(extension)

    # --- commands -----------------------------------------------------------------------------------

    def execute(self, me: Identity, command: cmd.Command) -> cmd.CommandResult:
        extension = me.extension
        state = self.states.get(extension)
        if state is None:
            return cmd.CommandResult.error(ErrorCode.NOT_CONNECTED, "not logged in")
        match command:
            case cmd.SetReady():
                self._set(extension, A.AVAILABLE)
            case cmd.TakeBreak(reason=reason):
                if reason not in state.break_reasons:
                    known = ", ".join(state.break_reasons)
                    return cmd.CommandResult.error(ErrorCode.BAD_REQUEST, f"no break reason {reason!r}; use {known}")
                self._set(extension, A.BREAK, reason=reason)
            case cmd.GoOffline():
                self._set(extension, A.OFFLINE)
            case cmd.QueueLogin(queue=queue) | cmd.QueueLogout(queue=queue):
                if queue not in state.member_of:
                    return cmd.CommandResult.error(ErrorCode.NOT_PERMITTED, f"{extension} is not in queue {queue!r}")
                login = isinstance(command, cmd.QueueLogin)
                if (queue in state.queues) is login:
                    where = "logged in to" if login else "logged out of"
                    return cmd.CommandResult.info(ErrorCode.BAD_REQUEST, f"already {where} queue {queue}")
                queues = (*state.queues, queue) if login else tuple(q for q in state.queues if q != queue)
                self._publish(dataclasses.replace(state, queues=queues))
                if login:
                    self._offer(extension)
            case cmd.Dispose(call_id=call_id, code=code, note=note):
                return self._dispose(extension, state, call_id, code, note)
            case _:
                return cmd.CommandResult.error(
                    ErrorCode.BAD_REQUEST, f"{type(command).__name__} is not an agent command"
                )
        return cmd.CommandResult.done()

    def _dispose(self, extension: str, state: Availability, call_id: str, code: str, note: str) -> cmd.CommandResult:
        leg = self.book.get(call_id)
        if leg is None or leg.owner != extension:
            return cmd.CommandResult.info(ErrorCode.UNKNOWN_CALL, f"no call {call_id!r} of yours to dispose")
        if leg.live:
            return cmd.CommandResult.info(
                ErrorCode.WRONG_STATE, f"call {call_id} is still going: dispose it once it ends"
            )
        if code not in state.dispositions:
            known = ", ".join(state.dispositions)
            return cmd.CommandResult.error(ErrorCode.BAD_REQUEST, f"no disposition {code!r}; use {known}")
        if len(note) > MAX_NOTE_CHARS:
            return cmd.CommandResult.error(ErrorCode.BAD_REQUEST, f"a note is at most {MAX_NOTE_CHARS} characters")
        self._publish(dataclasses.replace(state, call_id=call_id, disposition=code, note=note))
        return cmd.CommandResult.done()

    # --- calls (subscribed to QueueDesk.on_taken and Calls.on_ended) --------------------------------

    def leg_taken(self, leg: Leg) -> None:
        if leg.queue_id is not None:
            self._answered_from[leg.id] = leg.queue_id

    def leg_ended(self, leg: Leg) -> None:
        """An answered call of an available agent ended: wrap-up, for its queue's (or the org's) time."""
        queue_id = self._answered_from.pop(leg.id, None)
        extension = leg.owner
        state = self.states.get(extension) if extension else None
        if state is None or extension is None or leg.call.connect_at is None:
            return
        if state.state not in (A.AVAILABLE, A.WRAP_UP) or not self.sessions.is_human(extension):
            return
        org = self.context.org
        queue = org.queue(queue_id) if queue_id else None
        seconds = org.agents.wrap_up_seconds
        if queue is not None and queue.wrap_up_seconds is not None:
            seconds = queue.wrap_up_seconds
        if seconds <= 0:
            return
        now = self.context.clock.now()
        until = now + timedelta(seconds=seconds)
        self._set(extension, A.WRAP_UP, wrap_up_until=until, call_id=leg.id, disposition="", note="")
        self._timers[extension] = self.sessions.later(seconds, lambda: self._wrap_up_over(extension, leg.id))

    def _wrap_up_over(self, extension: str, call_id: str) -> None:
        state = self.states.get(extension)
        if state is not None and state.state is A.WRAP_UP and state.call_id == call_id:
            self._set(extension, A.AVAILABLE)

    # --- changes ------------------------------------------------------------------------------------

    def _set(self, extension: str, new: AgentState, **changes: object) -> None:
        """Move ``extension`` to ``new`` (the time in state restarts), and tell whoever watches its line."""
        state = self.states[extension]
        timer = self._timers.pop(extension, None)
        if timer is not None:  # a new wrap-up (a call ended during one) gets a countdown of its own
            timer.cancel()
        if new is not A.WRAP_UP:
            changes.setdefault("wrap_up_until", None)
        changes.setdefault("reason", "")
        self._publish(dataclasses.replace(state, state=new, since=self.context.clock.now(), **changes))  # type: ignore[arg-type]
        if new is A.AVAILABLE:
            self._offer(extension)

    def _publish(self, state: Availability) -> None:
        self.states[state.extension] = state
        lines = {state.line}
        self.sessions.send(cmd.AgentUpdate(state), lambda session: session.watches(lines))

    def _offer(self, extension: str) -> None:
        for available in self.on_available:
            available(extension)
