"""The Connector: the public async API of SPEC §3, one per logged-in session.

It owns the session's view of calls and its event sequence. Every API call is checked here first
(logged in? backend capable? number valid? call known, live, and in a state that allows it?) so each
backend gets only commands that make sense; the backend then answers for what only it can know
(permissions, busy slots). Reports from the backend pass through the transition table: an illegal move
is refused with INFO and the view stays as it was.

Each command returns :class:`~cti_tui.core.results.Done` or :class:`~cti_tui.core.results.Refused` to its
caller, and a refusal is also an INFO/ERROR event for everyone watching the session (same level, code and
message), so a caller never has to pick its own refusal out of a shared event stream.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterable
from typing import assert_never

from cti_tui.core import commands as cmd
from cti_tui.core.agent_commands import SpyMode
from cti_tui.core.availability import MAX_NOTE_CHARS, Availability
from cti_tui.core.backend import Backend
from cti_tui.core.machine import Refusal, advance, is_legal, operations_for
from cti_tui.core.model import (
    ActivityEvent,
    ActivityName,
    AgentEvent,
    Call,
    CallEvent,
    CallStatus,
    Cause,
    DirectoryEntry,
    ErrorCode,
    Event,
    Identity,
    Operation,
)
from cti_tui.core.numbers import InvalidNumber, parse_destination
from cti_tui.core.permissions import may_act
from cti_tui.core.results import DONE, CallResult, Done, LoginResult, Refused, Result, TwoFactorRequired
from cti_tui.core.service_level import QueueFigures
from cti_tui.core.text import shown, visible

Listener = Callable[[Event], None]

DTMF_DIGITS = frozenset("0123456789*#ABCD")
SUBSCRIPTION_KINDS = ("user:", "queue:", "ivr:", "conf:")
MAX_ENDED_CALLS = 500


def is_valid_node(node: str) -> bool:
    """``user:ID``, ``queue:ID``, ``ivr:ID``, ``conf:ID`` or ``callpark``."""
    if node == "callpark":
        return True
    kind, _, ident = node.partition(":")
    return f"{kind}:" in SUBSCRIPTION_KINDS and bool(ident) and ident.isprintable() and " " not in ident


class Connector:
    """Log in, watch calls, act on them. Events reach listeners in order, each with its sequence number."""

    def __init__(self, backend: Backend, *, default_region: str | None = None) -> None:
        self.backend = backend
        self.default_region = default_region
        self._listeners: list[Listener] = []
        self._seq = 0
        self._identity: Identity | None = None
        self._ready = False
        self._nonce: str | None = None
        self._calls: OrderedDict[str, Call] = OrderedDict()
        self._subscriptions: dict[str, None] = {}  # ordered set: a wall may watch 10,000 lines
        self._visible: tuple[str | None, frozenset[str]] | None = None  # (own line, own + watched) cache
        self._auto_answer = False
        self._lock = asyncio.Lock()
        self._holding = 0  # commands under way whose reports must wait for their own event (READY, SUBSCRIBED)
        self._held: list[cmd.Report] = []
        self._figures: dict[str, QueueFigures] = {}
        self._figure_listeners: list[Callable[[QueueFigures], None]] = []
        self._trim_at = 2 * MAX_ENDED_CALLS
        self._agents: dict[str, Availability] = {}  # extension -> availability: its own, and watched agents'

    # --- events ------------------------------------------------------------------------------------

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` with every event from now on; returns a function that removes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    async def events(self) -> AsyncIterator[Event]:
        """Every event from now on, as an async iterator (unbounded queue; consume it)."""
        queue: asyncio.Queue[Event] = asyncio.Queue()
        remove = self.add_listener(queue.put_nowait)
        try:
            while True:
                yield await queue.get()
        finally:
            remove()

    @property
    def last_seq(self) -> int:
        return self._seq

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _emit(self, event: Event) -> None:
        for listener in list(self._listeners):
            listener(event)

    def _activity(
        self,
        name: ActivityName,
        message: str,
        code: ErrorCode | None = None,
        *,
        nonce: str | None = None,
        node: str | None = None,
        call_id: str | None = None,
    ) -> None:
        # every message may carry outside text (a name, a typed number, a server's words): shown, never obeyed
        self._emit(ActivityEvent(self._next_seq(), name, visible(message), code, nonce, node, call_id))

    def notify(self, name: ActivityName, code: ErrorCode, message: str) -> None:
        """Emit INFO/ERROR in this session's sequence for a problem outside the API (a malformed command)."""
        self._activity(name, message, code)

    def _refuse(self, refusal: Refused) -> Refused:
        """Tell the session (an INFO/ERROR event) and return the refusal to the caller that asked."""
        self._activity(refusal.level, refusal.message, refusal.code, call_id=refusal.call_id)
        return refusal

    def _info(self, code: ErrorCode, message: str, call_id: str | None = None) -> Refused:
        return self._refuse(Refused(ActivityName.INFO, code, message, call_id))

    def _error(self, code: ErrorCode, message: str, call_id: str | None = None) -> Refused:
        return self._refuse(Refused(ActivityName.ERROR, code, message, call_id))

    # --- reports from the backend -------------------------------------------------------------------

    def _hold(self) -> None:
        """Keep reports back until :meth:`_release`: a backend sends the present (calls of a session being
        opened, of a line being subscribed) as it accepts, and they belong after READY or SUBSCRIBED."""
        self._holding += 1

    def _release(self, *, drop: bool = False) -> None:
        """End one hold; once none is left, pass on what was held, in order. Holds may overlap (two
        subscribes in flight): each one's reports then wait for the other's event too, never come before
        their own."""
        self._holding -= 1
        if drop:
            self._held.clear()
        if self._holding == 0:
            held, self._held = self._held, []
            for report in held:
                self._on_report(report)

    def _on_report(self, report: cmd.Report) -> None:
        if self._holding:
            self._held.append(report)
            return
        match report:
            case cmd.CallUpdate(call=call):  # the boundary where outside text enters: made visible here
                self._apply(shown(call))
            case cmd.Snapshot(calls=calls, subscriptions=subscriptions):
                self._replace(tuple(shown(c) for c in calls), subscriptions)
            case cmd.Notice(level=level, code=code, message=message, call_id=call_id):
                self._activity(level, message, code, call_id=call_id)
            case cmd.LinkDown(message=message, retrying=retrying):
                if retrying:  # the calls stay on screen; the backend will restore and resend the present
                    self._activity(ActivityName.INFO, message, ErrorCode.RECONNECTING)
                else:
                    self._ready = False
                    self._interrupt_live_calls()
                    self._activity(ActivityName.ERROR, message, ErrorCode.SESSION_LOST)
            case cmd.LinkUp(message=message):
                self._ready = True
                self._activity(ActivityName.READY, message)
            case cmd.AgentUpdate(availability=availability):
                availability = shown(availability)
                known = self._agents.get(availability.extension)
                if known != availability:
                    self._agents[availability.extension] = availability
                    own = self._identity is not None and availability.extension == self._identity.extension
                    if known is not None or not own:  # the own state at login is part of the present, as READY
                        self._emit(AgentEvent(self._next_seq(), availability))
            case cmd.QueueFiguresUpdate(figures=figures):  # the queue's id is outside text too
                self.take_figures(dataclasses.replace(figures, queue=visible(figures.queue)))

    # --- queue figures: state, not events (no seq); the latest of each queue replaces the one before ------

    def add_figures_listener(self, listener: Callable[[QueueFigures], None]) -> Callable[[], None]:
        """Call ``listener`` with each queue's figures as they arrive (from the backend or a local feed)."""
        self._figure_listeners.append(listener)
        return lambda: self._figure_listeners.remove(listener) if listener in self._figure_listeners else None

    def take_figures(self, figures: QueueFigures) -> None:
        self._figures[figures.queue] = figures
        for listener in list(self._figure_listeners):
            listener(figures)

    def queue_figures(self) -> dict[str, QueueFigures]:
        """The latest figures of each queue heard of, by queue id."""
        return dict(self._figures)

    def _interrupt_live_calls(self) -> None:
        """The link is gone for good: calls this session can no longer control end here, cause
        ``interrupted``, so the screen (and the history) never shows a ghost call ticking on."""
        now = self.backend.now()
        for call in [c for c in self._calls.values() if not c.ended]:
            end = CallStatus.HANGUP if is_legal(call.status, CallStatus.HANGUP, call.direction) else CallStatus.CANCEL
            self._apply(dataclasses.replace(call, status=end, cause=Cause.INTERRUPTED, release_at=now))

    def _apply(self, update: Call) -> None:
        current = self._calls.get(update.id)
        if current == update:
            return  # a repeat (e.g. replay overlap) changes nothing and says nothing
        outcome = advance(current, update)
        if isinstance(outcome, Refusal):
            self._info(ErrorCode.WRONG_STATE, outcome.reason, update.id)
            return
        self._calls[update.id] = outcome
        self._calls.move_to_end(update.id)
        self._trim()
        self._emit(CallEvent(self._next_seq(), outcome))

    def _replace(self, calls: tuple[Call, ...], subscriptions: tuple[str, ...]) -> None:
        """A snapshot is the truth: live calls not in it are gone, calls in it are as it says."""
        self._set_subscriptions(subscriptions)
        live_ids = {c.id for c in calls}
        for call_id in [cid for cid, c in self._calls.items() if not c.ended and cid not in live_ids]:
            del self._calls[call_id]
        for call in calls:
            if self._calls.get(call.id) != call:
                self._calls[call.id] = call
                self._calls.move_to_end(call.id)
                self._emit(CallEvent(self._next_seq(), call))

    def _trim(self) -> None:
        """Keep the newest MAX_ENDED_CALLS calls that are over for this session (ended, or gone to a
        line it does not watch), so a long-running wall screen does not grow without bound. The scan runs
        only once the table has grown well past that, so an event costs O(1) amortised, not O(calls)."""
        if len(self._calls) <= self._trim_at:
            return
        lines = self.visible_lines()
        gone = [cid for cid, c in self._calls.items() if c.ended or not c.seen_on(lines)]
        for call_id in gone[: max(0, len(gone) - MAX_ENDED_CALLS)]:
            del self._calls[call_id]
        self._trim_at = max(2 * MAX_ENDED_CALLS, 2 * len(self._calls))

    # --- session ------------------------------------------------------------------------------------

    @property
    def identity(self) -> Identity | None:
        return self._identity

    @property
    def pending_nonce(self) -> str | None:
        """The nonce of a two-factor login waiting for its code, if any."""
        return self._nonce

    def is_connected(self) -> bool:
        """Authenticated and ready."""
        return self._ready

    async def login(
        self, email: str | None = None, password: str | None = None, *, api_key: str | None = None
    ) -> LoginResult:
        """Email + password, or ``api_key=``. LOGGED_IN then READY (Done), or TWO_FACTOR_AUTH
        (:class:`TwoFactorRequired`: send the code with :meth:`two_factor_auth`), or ERROR (Refused)."""
        async with self._lock:
            if self._ready:
                return self._info(ErrorCode.BAD_REQUEST, "already logged in; log out first")
            if api_key is not None:
                if not api_key.strip():
                    return self._error(ErrorCode.BAD_CREDENTIALS, "empty API key")
                if not self.backend.capabilities.api_key_login:
                    return self._error(ErrorCode.NOT_SUPPORTED, f"{self.backend.name} has no API-key login")
                credentials: cmd.Credentials = cmd.ApiKeyLogin(api_key.strip())
            elif email and password:
                credentials = cmd.PasswordLogin(email.strip(), password)
            else:
                return self._error(ErrorCode.BAD_CREDENTIALS, "email and password (or an API key) are required")
            return await self._finish_auth(await self._guarded(self.backend.login(credentials)))

    async def login_vouched(self, identity: Identity) -> LoginResult:
        """Open a session for an identity the host has already authenticated (the CTI server does this
        after checking a session token). LOGGED_IN then READY, like any login."""
        async with self._lock:
            if self._ready:
                return self._info(ErrorCode.BAD_REQUEST, "already logged in; log out first")
            return await self._finish_auth(await self._guarded(self.backend.login(cmd.Vouched(identity))))

    async def two_factor_auth(self, code: str, nonce: str | None = None) -> LoginResult:
        """Finish a 2FA login with the TOTP ``code`` (``nonce`` defaults to the one last sent)."""
        async with self._lock:
            nonce = nonce or self._nonce
            if not nonce:
                return self._info(ErrorCode.BAD_REQUEST, "no two-factor login is pending")
            code = (code or "").strip()
            if not (code.isdigit() and 6 <= len(code) <= 8):
                return self._error(ErrorCode.BAD_OTP, "a two-factor code is 6 digits")
            return await self._finish_auth(await self._guarded(self.backend.two_factor_auth(nonce, code)))

    async def _guarded(self, awaitable: object) -> cmd.AuthOutcome:
        try:
            return await awaitable  # type: ignore[misc]
        except (OSError, ConnectionError, TimeoutError) as exc:
            return cmd.AuthFailed(ErrorCode.BACKEND_FAILURE, f"{self.backend.name} unreachable: {exc}")

    async def _finish_auth(self, outcome: cmd.AuthOutcome) -> LoginResult:
        match outcome:
            case cmd.NeedsSecondFactor(nonce=nonce):
                self._nonce = nonce
                self._activity(ActivityName.TWO_FACTOR_AUTH, "enter the code from your authenticator app", nonce=nonce)
                return TwoFactorRequired(nonce)
            case cmd.AuthFailed(code=code, message=message):
                return self._error(code, message)
            case cmd.LoggedIn(identity=identity):
                self._nonce = None
                self._identity = identity = shown(identity)
                self._activity(ActivityName.LOGGED_IN, f"logged in as {identity.email} ({identity.role})")
                # the backend sends the present (a snapshot) as it opens: hold it until READY is out
                self._hold()
                try:
                    await self.backend.open(self._on_report)
                except BaseException as exc:  # (cancelled too: a hold left behind would hold every report)
                    self._release(drop=True)
                    if not isinstance(exc, OSError | ConnectionError | TimeoutError):
                        raise
                    self._identity = None
                    return self._error(ErrorCode.BACKEND_FAILURE, f"could not open the session: {exc}")
                self._ready = True
                self._activity(ActivityName.READY, f"connected to {self.backend.name}; line {identity.line}")
                self._release()
                return DONE
        raise AssertionError(outcome)  # pragma: no cover

    async def logout(self) -> Result:
        async with self._lock:
            if self._identity is None:
                return self._info(ErrorCode.NOT_CONNECTED, "not logged in")
            try:
                await self.backend.close()
            finally:
                self._ready = False
                self._identity = None
                self._set_subscriptions(())
                self._calls.clear()
                self._agents.clear()
                self._activity(ActivityName.LOGGED_OUT, "logged out")
            return DONE

    # --- calls --------------------------------------------------------------------------------------

    def calls(self) -> list[Call]:
        """Active, made, received and missed calls of this session, oldest change first."""
        return list(self._calls.values())

    def active_calls(self) -> list[Call]:
        """Live calls on the lines this session owns or watches."""
        lines = self.visible_lines()
        return [c for c in self._calls.values() if not c.ended and c.seen_on(lines)]

    def visible_lines(self) -> frozenset[str]:
        """The own line and the watched ones; cached, since every event asks and a wall watches thousands."""
        own = self._identity.line if self._identity else None
        if self._visible is None or self._visible[0] != own:
            lines = set(self._subscriptions)
            if own is not None:
                lines.add(own)
            self._visible = (own, frozenset(lines))
        return self._visible[1]

    def _set_subscriptions(self, nodes: Iterable[str]) -> None:
        self._subscriptions = dict.fromkeys(nodes)
        self._visible = None

    def get_call(self, call_id: str) -> Call | None:
        return self._calls.get(call_id)

    def operations(self, call_id: str) -> frozenset[Operation]:
        """What this user can do to this call now: its state's operations that the backend supports and,
        on someone else's line, that the user's role may do there (when the backend says)."""
        call = self._calls.get(call_id)
        if call is None or call.ended:
            return frozenset()
        capabilities = self.backend.capabilities
        ops = operations_for(call) & capabilities.operations
        identity = self._identity
        if identity is not None and call.line == identity.line:
            ops -= {Operation.PICKUP}  # one's own ringing call is answered, not picked up
        if identity is None or capabilities.policies is None:
            return ops
        watched = self._subscriptions.keys()
        return frozenset(op for op in ops if may_act(dict(capabilities.policies), identity, op, call.line, watched))

    def _not_ready(self) -> Refused | None:
        """ERROR ``not_connected`` unless logged in and ready."""
        return None if self._ready else self._error(ErrorCode.NOT_CONNECTED, "not logged in")

    def _check_call(self, call_id: str, operation: Operation) -> Call | Refused:
        """The call if ``operation`` may be tried on it now; otherwise the INFO (or ERROR) refusal."""
        if (refused := self._not_ready()) is not None:
            return refused
        if not self.backend.capabilities.supports(operation):
            return self._info(ErrorCode.NOT_SUPPORTED, f"{self.backend.name} cannot {operation.value}", call_id)
        call = self._calls.get(call_id) if isinstance(call_id, str) else None
        if call is None:
            return self._info(ErrorCode.UNKNOWN_CALL, f"no call {call_id!r}", str(call_id))
        if call.ended:
            return self._info(ErrorCode.CALL_ENDED, f"call {call_id} has already ended", call_id)
        if operation not in operations_for(call):
            return self._info(ErrorCode.WRONG_STATE, f"cannot {operation.value} a call that is {call.status}", call_id)
        return call

    def _destination(self, text: str) -> str | Refused:
        try:
            return parse_destination(text, self.default_region, sip_uris=self.backend.capabilities.sip_uris).number
        except InvalidNumber as exc:
            return self._error(ErrorCode.BAD_NUMBER, str(exc))

    async def _run(self, command: cmd.Command, call_id: str | None = None) -> Done[str | None] | Refused:
        """Hand ``command`` to the backend; its refusal (or failure) becomes the session's INFO/ERROR."""
        try:
            result = await self.backend.execute(command)
        except (OSError, ConnectionError, TimeoutError) as exc:
            result = cmd.CommandResult.error(ErrorCode.BACKEND_FAILURE, f"{self.backend.name}: {exc}")
        if result.ok:
            return Done(result.value)
        level = result.level if result.level in (ActivityName.INFO, ActivityName.ERROR) else ActivityName.ERROR
        return self._refuse(Refused(level, result.code or ErrorCode.BACKEND_FAILURE, result.message, call_id))

    async def _run_plain(self, command: cmd.Command, call_id: str | None = None) -> Result:
        """:meth:`_run` for the commands whose caller gets no value back (only ``call`` returns one)."""
        outcome = await self._run(command, call_id)
        return DONE if isinstance(outcome, Done) else outcome

    async def _call_op(self, operation: Operation, call_id: str, command: cmd.Command) -> Result:
        checked = self._check_call(call_id, operation)
        if isinstance(checked, Refused):
            return checked
        return await self._run_plain(command, call_id)

    async def call(self, destination: str) -> CallResult:
        """Place a call: Done with the new call's id (its events follow), or Refused when nothing was dialled."""
        if (refused := self._not_ready()) is not None:
            return refused
        number = self._destination(destination)
        if isinstance(number, Refused):
            return number
        outcome = await self._run(cmd.Dial(number))
        if isinstance(outcome, Refused):
            return outcome
        if outcome.value is None:  # a backend that dialled must say what it dialled: without an id, no control
            return self._error(ErrorCode.BACKEND_FAILURE, f"{self.backend.name} placed a call but gave no call id")
        return Done(outcome.value)

    async def answer(self, call_id: str) -> Result:
        return await self._call_op(Operation.ANSWER, call_id, cmd.Answer(call_id))

    async def pickup(self, call_id: str) -> Result:
        """Take a call ringing on a watched line onto this user's phone (the PBX checks the role)."""
        return await self._call_op(Operation.PICKUP, call_id, cmd.Pickup(call_id))

    async def spy(self, extension: str, mode: str = SpyMode.LISTEN) -> Result:
        """Listen to (whisper to, barge into) ``extension``'s call: this user's phone rings, then joins it."""
        if (refused := self._not_ready()) is not None:
            return refused
        try:
            spy_mode = SpyMode(mode)
        except ValueError:
            modes = ", ".join(m.value for m in SpyMode)
            return self._error(ErrorCode.BAD_REQUEST, f"spy mode is one of {modes}, got {visible(str(mode))!r}")
        if not isinstance(extension, str) or not extension:
            return self._error(ErrorCode.BAD_REQUEST, "spy needs the extension of the agent to listen to")
        return await self._run_plain(cmd.Spy(extension, spy_mode))

    async def reject(self, call_id: str) -> Result:
        return await self._call_op(Operation.REJECT, call_id, cmd.Reject(call_id))

    async def terminate(self, call_id: str) -> Result:
        return await self._call_op(Operation.HANGUP, call_id, cmd.Hangup(call_id))

    async def hold(self, call_id: str) -> Result:
        return await self._call_op(Operation.HOLD, call_id, cmd.Hold(call_id))

    async def resume(self, call_id: str) -> Result:
        return await self._call_op(Operation.RESUME, call_id, cmd.Resume(call_id))

    async def transfer(self, call_id: str, destination: str) -> Result:
        checked = self._check_call(call_id, Operation.TRANSFER)
        if isinstance(checked, Refused):
            return checked
        number = self._destination(destination)
        if isinstance(number, Refused):
            return number
        return await self._run_plain(cmd.Transfer(call_id, number), call_id)

    async def supervised_transfer(
        self, call_id: str, destination: str, invite_timeout: float | None = None, consult: bool = False
    ) -> Result:
        """Consult ``destination`` first; complete only if it answers, cancel after ``invite_timeout`` s.
        With ``consult``, the answer does not complete: the agent talks to the target, then completes."""
        checked = self._check_call(call_id, Operation.SUPERVISED_TRANSFER)
        if isinstance(checked, Refused):
            return checked
        if invite_timeout is not None and invite_timeout <= 0:
            return self._error(ErrorCode.BAD_REQUEST, "invite_timeout must be positive seconds")
        number = self._destination(destination)
        if isinstance(number, Refused):
            return number
        if consult and not self.backend.capabilities.consult_transfer:
            return self._info(ErrorCode.NOT_SUPPORTED, f"{self.backend.name} has no consult stage", call_id)
        return await self._run_plain(cmd.SupervisedTransfer(call_id, number, invite_timeout, consult), call_id)

    async def cancel_supervised_transfer(self, call_id: str) -> Result:
        """Abandon a pending supervised transfer (by the original or the consult call's id)."""
        if (refused := self._not_ready()) is not None:
            return refused
        return await self._run_plain(cmd.CancelSupervisedTransfer(call_id), call_id)

    async def complete_supervised_transfer(self, call_id: str) -> Result:
        """Hand the held call to the consulted target (by the original or the consult call's id)."""
        if (refused := self._not_ready()) is not None:
            return refused
        if not self.backend.capabilities.consult_transfer:
            return self._info(ErrorCode.NOT_SUPPORTED, f"{self.backend.name} has no consult stage", call_id)
        return await self._run_plain(cmd.CompleteSupervisedTransfer(call_id), call_id)

    async def mute(self, call_id: str, muted: bool) -> Result:
        """Turn the agent's microphone off (``muted``) or back on for a connected or held call."""
        if (refused := self._not_ready()) is not None:
            return refused
        if not self.backend.capabilities.mute:
            return self._info(ErrorCode.NOT_SUPPORTED, f"{self.backend.name} cannot mute", call_id)
        call = self._calls.get(call_id) if isinstance(call_id, str) else None
        if call is None or call.ended:
            return self._info(ErrorCode.UNKNOWN_CALL, f"no live call {call_id!r}", str(call_id))
        if call.status not in (CallStatus.CONNECTED, CallStatus.ON_HOLD):
            return self._info(ErrorCode.WRONG_STATE, f"cannot mute a call that is {call.status}", call_id)
        return await self._run_plain(cmd.Mute(call_id, bool(muted)), call_id)

    async def merge(self, call_a: str, call_b: str) -> Result:
        """Join two of the agent's calls into one three-way call; ``call_b``'s leg ends."""
        if call_a == call_b:
            return self._info(ErrorCode.BAD_REQUEST, "cannot merge a call with itself", call_a)
        for call_id in (call_a, call_b):
            checked = self._check_call(call_id, Operation.MERGE)
            if isinstance(checked, Refused):
                return checked
        return await self._run_plain(cmd.Merge(call_a, call_b), call_a)

    async def park(self, call_id: str, slot: int | None = None) -> Result:
        """Park in ``slot``, or in the first free slot when None."""
        checked = self._check_call(call_id, Operation.PARK)
        if isinstance(checked, Refused):
            return checked
        if slot is not None and (refused := self._bad_slot(slot)) is not None:
            return refused
        return await self._run_plain(cmd.Park(call_id, slot), call_id)

    async def unpark(self, slot: int) -> Result:
        """Pick up the call parked in ``slot`` onto this user's line."""
        if (refused := self._not_ready()) is not None:
            return refused
        if not self.backend.capabilities.supports(Operation.UNPARK):
            return self._info(ErrorCode.NOT_SUPPORTED, f"{self.backend.name} has no call park")
        if (refused := self._bad_slot(slot)) is not None:
            return refused
        return await self._run_plain(cmd.Unpark(slot))

    def _bad_slot(self, slot: object) -> Refused | None:
        slots = self.backend.capabilities.park_slots
        if not isinstance(slot, int) or isinstance(slot, bool) or not 1 <= slot <= slots:
            return self._error(ErrorCode.BAD_REQUEST, f"park slot must be 1–{slots}, got {slot!r}")
        return None

    async def send_dtmf(self, call_id: str, digits: str) -> Result:
        """Send tones ``0-9 * # A-D``."""
        checked = self._check_call(call_id, Operation.DTMF)
        if isinstance(checked, Refused):
            return checked
        digits = (digits or "").upper()
        if not digits or not set(digits) <= DTMF_DIGITS:
            return self._error(ErrorCode.BAD_REQUEST, f"DTMF digits are 0-9 * # A-D, got {digits!r}", call_id)
        return await self._run_plain(cmd.SendDtmf(call_id, digits), call_id)

    async def perform(self, command: cmd.Command) -> Done[str] | Result:
        """Run a command given as data (a key's intent, a JSON line, a server frame) through its method,
        with the same checks, events and result. One explicit match: a new Command type that is not
        handled here is a type error (``assert_never``), not a silent ``getattr`` miss."""
        match command:
            case cmd.Dial(destination=destination):
                return await self.call(destination)
            case cmd.Answer(call_id=call_id):
                return await self.answer(call_id)
            case cmd.Reject(call_id=call_id):
                return await self.reject(call_id)
            case cmd.Pickup(call_id=call_id):
                return await self.pickup(call_id)
            case cmd.Spy(extension=extension, mode=mode):
                return await self.spy(extension, mode)
            case cmd.Hangup(call_id=call_id):
                return await self.terminate(call_id)
            case cmd.Hold(call_id=call_id):
                return await self.hold(call_id)
            case cmd.Resume(call_id=call_id):
                return await self.resume(call_id)
            case cmd.Transfer(call_id=call_id, destination=destination):
                return await self.transfer(call_id, destination)
            case cmd.SupervisedTransfer(
                call_id=call_id, destination=destination, invite_timeout=timeout, consult=consult
            ):
                return await self.supervised_transfer(call_id, destination, timeout, consult)
            case cmd.CancelSupervisedTransfer(call_id=call_id):
                return await self.cancel_supervised_transfer(call_id)
            case cmd.CompleteSupervisedTransfer(call_id=call_id):
                return await self.complete_supervised_transfer(call_id)
            case cmd.Mute(call_id=call_id, muted=muted):
                return await self.mute(call_id, muted)
            case cmd.Merge(call_id=call_id, other_call_id=other_call_id):
                return await self.merge(call_id, other_call_id)
            case cmd.Park(call_id=call_id, slot=slot):
                return await self.park(call_id, slot)
            case cmd.Unpark(slot=slot):
                return await self.unpark(slot)
            case cmd.SendDtmf(call_id=call_id, digits=digits):
                return await self.send_dtmf(call_id, digits)
            case cmd.Subscribe(node=node):
                return await self.subscribe(node)
            case cmd.Unsubscribe(node=node):
                return await self.unsubscribe(node)
            case cmd.SetAutoAnswer(enabled=enabled):
                return await self.set_auto_answer(enabled)
            case cmd.SetReady():
                return await self.ready()
            case cmd.TakeBreak(reason=reason):
                return await self.take_break(reason)
            case cmd.GoOffline():
                return await self.go_offline()
            case cmd.QueueLogin(queue=queue):
                return await self.queue_login(queue)
            case cmd.QueueLogout(queue=queue):
                return await self.queue_logout(queue)
            case cmd.Dispose(call_id=call_id, code=code, note=note):
                return await self.dispose(call_id, code, note)
        assert_never(command)

    # --- availability and after-call work -----------------------------------------------------------

    def availability(self, extension: str | None = None) -> Availability | None:
        """The agent's own availability (or a watched agent's); None when the backend has none."""
        if extension is None:
            extension = self._identity.extension if self._identity else ""
        return self._agents.get(extension)

    def agents(self) -> list[Availability]:
        """Every availability this session knows: its own and the watched agents'."""
        return list(self._agents.values())

    def _agent_command(self) -> Refused | None:
        if (refused := self._not_ready()) is not None:
            return refused
        if not self.backend.capabilities.agent_states:
            return self._info(ErrorCode.NOT_SUPPORTED, f"{self.backend.name} has no agent states")
        return None

    async def ready(self) -> Result:
        """Available: queues offer calls again (ends a break or a wrap-up early)."""
        return refused if (refused := self._agent_command()) else await self._run_plain(cmd.SetReady())

    async def take_break(self, reason: str) -> Result:
        """Not offered queue calls, for ``reason`` (a break reason code of the organisation)."""
        if (refused := self._agent_command()) is not None:
            return refused
        own = self.availability()
        if own is not None and reason not in own.break_reasons:
            known = ", ".join(own.break_reasons)
            return self._error(ErrorCode.BAD_REQUEST, f"no break reason {reason!r}; use {known}")
        return await self._run_plain(cmd.TakeBreak(reason))

    async def go_offline(self) -> Result:
        return refused if (refused := self._agent_command()) else await self._run_plain(cmd.GoOffline())

    async def queue_login(self, queue: str) -> Result:
        return refused if (refused := self._agent_command()) else await self._run_plain(cmd.QueueLogin(queue))

    async def queue_logout(self, queue: str) -> Result:
        return refused if (refused := self._agent_command()) else await self._run_plain(cmd.QueueLogout(queue))

    async def dispose(self, call_id: str, code: str, note: str = "") -> Result:
        """Say how one of the agent's ended calls went (a disposition code and a note, kept in history)."""
        if (refused := self._agent_command()) is not None:
            return refused
        call = self._calls.get(call_id)
        if call is not None and not call.ended:
            return self._info(ErrorCode.WRONG_STATE, f"call {call_id} is still going: dispose it once it ends", call_id)
        if len(note) > MAX_NOTE_CHARS:
            return self._error(ErrorCode.BAD_REQUEST, f"a note is at most {MAX_NOTE_CHARS} characters", call_id)
        return await self._run_plain(cmd.Dispose(call_id, code, note), call_id)

    # --- subscriptions and settings -----------------------------------------------------------------

    async def subscribe(self, node: str) -> Result:
        """Watch a line: ``user:ID``, ``queue:ID``, ``ivr:ID``, ``conf:ID`` or ``callpark``."""
        if (refused := self._not_ready()) is not None:
            return refused
        if not self.backend.capabilities.subscribe:
            return self._info(ErrorCode.NOT_SUPPORTED, f"{self.backend.name} cannot watch other lines")
        if not isinstance(node, str) or not is_valid_node(node):
            return self._error(
                ErrorCode.UNKNOWN_NODE,
                f"{node!r} is not a line: use user:ID, queue:ID, ivr:ID, conf:ID or callpark",
            )
        if node in self._subscriptions:
            return self._info(ErrorCode.BAD_REQUEST, f"already subscribed to {node}")
        # the backend sends the line's present calls as it accepts: hold them until SUBSCRIBED is out
        self._hold()
        try:
            outcome = await self._run_plain(cmd.Subscribe(node))
            if outcome:
                self._subscriptions[node] = None
                self._visible = None
                self._activity(ActivityName.SUBSCRIBED, f"subscribed to {node}", node=node)
        finally:
            self._release()
        return outcome

    async def unsubscribe(self, node: str) -> Result:
        if (refused := self._not_ready()) is not None:
            return refused
        if node not in self._subscriptions:
            return self._info(ErrorCode.BAD_REQUEST, f"not subscribed to {node!r}")
        outcome = await self._run_plain(cmd.Unsubscribe(node))
        if not outcome:
            return outcome
        del self._subscriptions[node]
        self._visible = None
        lines = self.visible_lines()
        for call_id in [cid for cid, c in self._calls.items() if not c.seen_on(lines)]:
            del self._calls[call_id]
        for extension in [e for e, a in self._agents.items() if a.line not in lines]:
            del self._agents[extension]
        self._activity(ActivityName.UNSUBSCRIBED, f"unsubscribed from {node}", node=node)
        return DONE

    async def directory(self) -> list[DirectoryEntry]:
        """Who and what this backend can dial or watch; empty if it has no directory or fails."""
        try:
            return [shown(entry) for entry in await self.backend.directory()]
        except (OSError, ConnectionError, TimeoutError):
            return []

    def subscriptions(self) -> list[str]:
        """The nodes this session watches (getSubscriptionURIs)."""
        return list(self._subscriptions)

    async def set_auto_answer(self, enabled: bool) -> Result:
        """Auto-answer of the agent's own phone (click-to-call skips the pick-up wait)."""
        if (refused := self._not_ready()) is not None:
            return refused
        if not self.backend.capabilities.auto_answer:
            return self._info(ErrorCode.NOT_SUPPORTED, f"{self.backend.name} has no auto-answer")
        outcome = await self._run_plain(cmd.SetAutoAnswer(bool(enabled)))
        if outcome:
            self._auto_answer = bool(enabled)
        return outcome

    def auto_answer(self) -> bool:
        return self._auto_answer
