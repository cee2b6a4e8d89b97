"""What the connector asks a backend to do, and what a backend answers — plain data, no I/O.

A backend receives exactly one of these per API call and answers with a :class:`CommandResult`.
Async consequences (the far end answers, a transfer fails later) come back as reports instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cti_tui.core.agent_commands import Spy as Spy  # one command for every backend, re-exported
from cti_tui.core.availability import Availability
from cti_tui.core.model import ActivityName, Call, ErrorCode, Identity
from cti_tui.core.service_level import QueueFigures


@dataclass(frozen=True, slots=True)
class Dial:
    destination: str


@dataclass(frozen=True, slots=True)
class Answer:
    call_id: str


@dataclass(frozen=True, slots=True)
class Reject:
    call_id: str


@dataclass(frozen=True, slots=True)
class Hangup:
    call_id: str


@dataclass(frozen=True, slots=True)
class Hold:
    call_id: str


@dataclass(frozen=True, slots=True)
class Resume:
    call_id: str


@dataclass(frozen=True, slots=True)
class Transfer:
    call_id: str
    destination: str


@dataclass(frozen=True, slots=True)
class SupervisedTransfer:
    """``consult``: stop once the target answers, so the agent talks to it first and then completes
    (:class:`CompleteSupervisedTransfer`), cancels or swaps; without it the answer completes at once."""

    call_id: str
    destination: str
    invite_timeout: float | None = None
    consult: bool = False


@dataclass(frozen=True, slots=True)
class CancelSupervisedTransfer:
    call_id: str


@dataclass(frozen=True, slots=True)
class Mute:
    """Turn the agent's microphone off (``muted``) or on again on one call; the call's state does not change."""

    call_id: str
    muted: bool


@dataclass(frozen=True, slots=True)
class CompleteSupervisedTransfer:
    """Hand the held call to the target the agent consulted (by the original or the consult call's id)."""

    call_id: str


@dataclass(frozen=True, slots=True)
class Merge:
    call_id: str
    other_call_id: str


@dataclass(frozen=True, slots=True)
class Park:
    call_id: str
    slot: int | None = None


@dataclass(frozen=True, slots=True)
class Unpark:
    slot: int


@dataclass(frozen=True, slots=True)
class Pickup:
    """Take ``call_id``, ringing on a watched line, onto one's own phone (a supervisor covering an agent)."""

    call_id: str


@dataclass(frozen=True, slots=True)
class SendDtmf:
    call_id: str
    digits: str


@dataclass(frozen=True, slots=True)
class Subscribe:
    node: str


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    node: str


@dataclass(frozen=True, slots=True)
class SetAutoAnswer:
    enabled: bool


# --- availability and after-call work (on Asterisk: QueuePause, QueueAdd, QueueRemove) -------------


@dataclass(frozen=True, slots=True)
class SetReady:
    """Available: queues may offer calls again (ends a break or a wrap-up early)."""


@dataclass(frozen=True, slots=True)
class TakeBreak:
    """Not available, for ``reason`` (one of the organisation's break reason codes)."""

    reason: str


@dataclass(frozen=True, slots=True)
class GoOffline:
    """Out of every queue until the agent is ready again."""


@dataclass(frozen=True, slots=True)
class QueueLogin:
    queue: str


@dataclass(frozen=True, slots=True)
class QueueLogout:
    queue: str


@dataclass(frozen=True, slots=True)
class Dispose:
    """The agent's disposition code and note for one of its ended calls (kept with it in history)."""

    call_id: str
    code: str
    note: str = ""


Command = (
    Dial
    | Answer
    | Reject
    | Hangup
    | Hold
    | Resume
    | Transfer
    | SupervisedTransfer
    | CancelSupervisedTransfer
    | CompleteSupervisedTransfer
    | Mute
    | Merge
    | Park
    | Unpark
    | SendDtmf
    | Subscribe
    | Unsubscribe
    | SetAutoAnswer
    | SetReady
    | TakeBreak
    | GoOffline
    | QueueLogin
    | QueueLogout
    | Dispose
    | Pickup
    | Spy  # a supervisor listens in: one command for every backend (see core.agent_commands)
)


@dataclass(frozen=True, slots=True)
class CommandResult:
    """``ok`` or a refusal at INFO (could not be done) or ERROR (wrong, not permitted) level."""

    ok: bool
    level: ActivityName | None = None
    code: ErrorCode | None = None
    message: str = ""
    value: str | None = None

    @classmethod
    def done(cls, value: str | None = None) -> CommandResult:
        return cls(True, value=value)

    @classmethod
    def info(cls, code: ErrorCode, message: str) -> CommandResult:
        return cls(False, ActivityName.INFO, code, message)

    @classmethod
    def error(cls, code: ErrorCode, message: str) -> CommandResult:
        return cls(False, ActivityName.ERROR, code, message)


# --- authentication ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PasswordLogin:
    email: str
    password: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class ApiKeyLogin:
    api_key: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class Vouched:
    """An identity a host has already authenticated (the CTI server, after checking a session token).
    Only in-process backends accept it; it never crosses a wire."""

    identity: Identity


Credentials = PasswordLogin | ApiKeyLogin | Vouched


@dataclass(frozen=True, slots=True)
class LoggedIn:
    identity: Identity


@dataclass(frozen=True, slots=True)
class NeedsSecondFactor:
    nonce: str


@dataclass(frozen=True, slots=True)
class AuthFailed:
    code: ErrorCode
    message: str


AuthOutcome = LoggedIn | NeedsSecondFactor | AuthFailed


# --- reports: what a backend tells the connector on its own -----------------------------------------


@dataclass(frozen=True, slots=True)
class CallUpdate:
    """A call's new state as the backend sees it."""

    call: Call


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The whole present: replaces the session's view (on READY, after a reconnect or a restore)."""

    calls: tuple[Call, ...]
    subscriptions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Notice:
    """Something the user should hear about that is not a call state (a supervised transfer failed)."""

    level: ActivityName
    code: ErrorCode
    message: str
    call_id: str | None = None


@dataclass(frozen=True, slots=True)
class LinkUp:
    """The backend is connected again and has sent the present as a :class:`Snapshot`."""

    message: str


@dataclass(frozen=True, slots=True)
class LinkDown:
    """The backend lost its connection; ``retrying`` says whether it is reconnecting on its own."""

    message: str
    retrying: bool


@dataclass(frozen=True, slots=True)
class AgentUpdate:
    """An agent's availability changed (its own, or that of a line this session watches)."""

    availability: Availability


@dataclass(frozen=True, slots=True)
class QueueFiguresUpdate:
    """A queue's service-level figures as the backend computed them (``cti-tui serve`` sends them)."""

    figures: QueueFigures


Report = CallUpdate | Snapshot | Notice | LinkDown | LinkUp | AgentUpdate | QueueFiguresUpdate
