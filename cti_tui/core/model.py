"""The call model and the two kinds of events of SPEC §1–§2, as frozen dataclasses.

Everything here is plain data: no I/O, no UI. Field names are snake_case in Python and camelCase on the
wire (see :mod:`cti_tui.protocol.events`), exactly as the VoIPstudio call object.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from cti_tui.core.availability import Availability


class Direction(StrEnum):
    INBOUND = "INBOUND"
    OUTBOUND = "OUTBOUND"


class CallStatus(StrEnum):
    """Where a call is. ``HANGUP`` and ``CANCEL`` are terminal.

    The spec lists ``CANCEL`` as a terminal *event* for a call that never connected; keeping it as a status
    too means a call event's name always equals its call's status, which is what clients switch on.
    """

    INITIAL = "INITIAL"
    ACCEPTED = "ACCEPTED"
    RINGING = "RINGING"
    CONNECTED = "CONNECTED"
    ON_HOLD = "ON_HOLD"
    PARKED = "PARKED"
    HANGUP = "HANGUP"
    CANCEL = "CANCEL"

    @property
    def ended(self) -> bool:
        return self in (CallStatus.HANGUP, CallStatus.CANCEL)


class Cause(StrEnum):
    """Why a call ended (set on CANCEL / HANGUP)."""

    NORMAL = "normal"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    REJECTED = "rejected"
    TRANSFERRED = "transferred"
    UNREACHABLE = "unreachable"
    MERGED = "merged"
    CANCELLED = "cancelled"
    ERROR = "error"
    INTERRUPTED = "interrupted"  # the backend or session was lost: the call's real end is unknown


class Operation(StrEnum):
    """What a user can do to a call; the state machine says which ones each state allows."""

    ANSWER = "answer"
    REJECT = "reject"
    HANGUP = "hangup"
    HOLD = "hold"
    RESUME = "resume"
    TRANSFER = "transfer"
    SUPERVISED_TRANSFER = "supervised_transfer"
    PARK = "park"
    UNPARK = "unpark"
    MERGE = "merge"
    DTMF = "dtmf"
    PICKUP = "pickup"  # take a call ringing on a watched line onto one's own phone


class Role(StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"


@dataclass(frozen=True, slots=True)
class Call:
    """One call as one line sees it. ``id`` is stable for the call's whole life and kept in history."""

    id: str
    cid: str
    direction: Direction
    status: CallStatus
    line: str
    source: str
    destination: str
    source_name: str = ""
    destination_name: str = ""
    cause: str = ""
    setup_at: datetime | None = None
    connect_at: datetime | None = None
    release_at: datetime | None = None
    park_slot: int | None = None
    queue_position: int | None = None
    also: tuple[str, ...] = ()  # further lines showing this call: the queue that offers it, its conference room
    muted: bool = False  # the agent's microphone is off on this call (where the backend can mute)
    consult_for: str = ""  # on the consult call of a supervised transfer: the id of the call it would hand over
    via: str = ""  # the queue (by name) the call came through: kept once answered, so Sales is told from Support
    monitor: str = ""  # a supervisor's leg into an agent's call: "listen", "whisper" or "barge" (else "")

    def evolve(self, **changes: object) -> Call:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    @property
    def ended(self) -> bool:
        return self.status.ended

    def seen_on(self, lines: set[str] | frozenset[str]) -> bool:
        """Is this call shown on any of ``lines`` (its own line, or one that also shows it)?"""
        return self.line in lines or any(line in lines for line in self.also)

    @property
    def party(self) -> str:
        """The other end's number as this line sees it."""
        return self.source if self.direction is Direction.INBOUND else self.destination

    @property
    def party_name(self) -> str:
        return self.source_name if self.direction is Direction.INBOUND else self.destination_name

    def ringing_seconds(self, now: datetime) -> float:
        """Ringing duration: connect_at (or release, or now) − setup_at."""
        if self.setup_at is None:
            return 0.0
        end = self.connect_at or self.release_at or now
        return max(0.0, (end - self.setup_at).total_seconds())

    def talk_seconds(self, now: datetime) -> float:
        """Talk duration: release_at (or now) − connect_at; 0 if it never connected."""
        if self.connect_at is None:
            return 0.0
        end = self.release_at or now
        return max(0.0, (end - self.connect_at).total_seconds())


class ActivityName(StrEnum):
    LOGGED_IN = "LOGGED_IN"
    TWO_FACTOR_AUTH = "TWO_FACTOR_AUTH"
    READY = "READY"
    LOGGED_OUT = "LOGGED_OUT"
    SUBSCRIBED = "SUBSCRIBED"
    UNSUBSCRIBED = "UNSUBSCRIBED"
    INFO = "INFO"
    ERROR = "ERROR"


class ErrorCode(StrEnum):
    """Machine-readable reason carried by INFO / ERROR events, so clients need not parse messages."""

    BAD_CREDENTIALS = "bad_credentials"
    BAD_OTP = "bad_otp"
    BAD_NUMBER = "bad_number"
    BAD_REQUEST = "bad_request"
    NOT_PERMITTED = "not_permitted"
    NOT_CONNECTED = "not_connected"
    RECONNECTING = "reconnecting"
    NOT_SUPPORTED = "not_supported"
    UNKNOWN_CALL = "unknown_call"
    CALL_ENDED = "call_ended"
    WRONG_STATE = "wrong_state"
    UNKNOWN_NODE = "unknown_node"
    SLOT_BUSY = "slot_busy"
    SLOT_EMPTY = "slot_empty"
    TRANSFER_FAILED = "transfer_failed"
    BACKEND_FAILURE = "backend_failure"
    SESSION_LOST = "session_lost"  # the backend's session is gone for good (server restarted, phone died)


@dataclass(frozen=True, slots=True)
class ActivityEvent:
    """``{name, message}``; INFO means 'could not be done, nothing broke', ERROR means something is wrong."""

    seq: int
    name: ActivityName
    message: str
    code: ErrorCode | None = None
    nonce: str | None = None
    node: str | None = None
    call_id: str | None = None


@dataclass(frozen=True, slots=True)
class CallEvent:
    """``{name, call}``; the name is the call's new status."""

    seq: int
    call: Call

    @property
    def name(self) -> CallStatus:
        return self.call.status


@dataclass(frozen=True, slots=True)
class AgentEvent:
    """``{name: "AGENT", agent}``: an agent's availability changed (its own, or a watched line's)."""

    seq: int
    agent: Availability

    @property
    def name(self) -> str:
        return "AGENT"


Event = ActivityEvent | CallEvent | AgentEvent


class EntryKind(StrEnum):
    USER = "user"
    QUEUE = "queue"
    IVR = "ivr"
    CONFERENCE = "conf"
    PARK = "callpark"


@dataclass(frozen=True, slots=True)
class DirectoryEntry:
    """Someone or something one can dial or watch: ``number`` dials it, ``node`` subscribes to it."""

    name: str
    number: str
    kind: EntryKind
    node: str
    outside_number: str | None = None


@dataclass(frozen=True, slots=True)
class Identity:
    """Who is logged in: enough for the UI and for permission checks."""

    user_id: str
    email: str
    name: str
    role: Role
    extension: str

    @property
    def line(self) -> str:
        return f"user:{self.extension}"
