"""The WebSocket session protocol of ``cti-tui serve``, both roles, sans-I/O: text in, values out.

Server role: :func:`parse_frame` turns a client frame into a :class:`Request` or a :class:`ProtocolError`
carrying one of the SPEC §4 codes, and the ``*_reply``/``*_message`` functions build what goes back.
Client role: :class:`ClientSession` builds the client's frames and turns the server's messages into
reports, command answers and session steps, keeping the sequence number a restore starts from; a message
it cannot use is a :class:`MessageError`. Nothing here raises anything else, whatever the bytes (both
parsers are fuzzed), and nothing here touches a socket. See docs/protocol.md for every message.
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from cti_tui.core import commands as cmd
from cti_tui.core.availability import Availability
from cti_tui.core.model import ActivityEvent, ActivityName, Call, CallEvent, ErrorCode, Event
from cti_tui.core.results import Done, Refused
from cti_tui.protocol.actions import ActionError, command_frame, parse_action
from cti_tui.protocol.events import agent_from_wire, call_from_wire, call_to_wire, event_to_wire
from cti_tui.protocol.queue_figures import MESSAGE_TYPE as FIGURES_MESSAGE
from cti_tui.protocol.queue_figures import FiguresError, figures_from_wire

MAX_FRAME_BYTES = 64 * 1024
SESSION_ACTIONS = frozenset({"create_session", "restore_session", "destroy_session", "ping"})
PROTOCOL_VERSIONS = frozenset({1})  # what a create/restore may ask for in "protocol" (docs/protocol.md)
# the fields each session action takes: anything else is refused, as a connector action's unknown field is
SESSION_FIELDS = {
    "ping": frozenset({"id", "action"}),
    "destroy_session": frozenset({"id", "action"}),
    "create_session": frozenset({"id", "action", "token", "protocol"}),
    "restore_session": frozenset({"id", "action", "token", "sessionId", "lastSeq", "protocol"}),
}


class ProtocolError(ValueError):
    """A frame the server cannot act on; ``status``/``code`` are the SPEC §4 pair sent back."""

    def __init__(self, status: int, code: str, message: str, request_id: str | int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.request_id = request_id


@dataclass(frozen=True, slots=True)
class Request:
    """One client frame: a session action (create/restore/destroy/ping) or a connector action."""

    request_id: str | int | None
    action: str
    args: dict[str, Any]


def _request_id(data: dict[str, Any]) -> str | int | None:
    value = data.get("id")
    if value is None or (isinstance(value, str | int) and not isinstance(value, bool)):
        return value
    raise ProtocolError(400, "invalid_params", '"id" must be a string or an integer')


def _text(data: dict[str, Any], key: str, request_id: str | int | None, *, required: bool = True) -> str | None:
    value = data.get(key)
    if value is None:
        if required:
            raise ProtocolError(400, "missing_parameter", f'missing "{key}"', request_id)
        return None
    if not isinstance(value, str) or not value:
        raise ProtocolError(400, "invalid_params", f'"{key}" must be a non-empty string', request_id)
    return value


def _loads(text: str) -> Any:
    """Strict JSON: no NaN/Infinity, no float that overflows to inf. Raises ValueError or RecursionError
    (ValueError also covers ints over Python's digit limit)."""
    return json.loads(text, parse_float=_finite, parse_constant=_no_constant)


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ProtocolError(400, "invalid_params", f"number out of range: {text[:20]}")
    return value


def _no_constant(name: str) -> Any:
    raise ProtocolError(400, "invalid_params", f"{name} is not JSON")


def _lenient_id(frame: str) -> str | int | None:
    """The ``id`` of a frame refused only for a non-finite number, so the refusal names the frame it answers."""
    try:
        data = json.loads(frame, parse_constant=lambda _name: None)
    except (ValueError, RecursionError):
        return None
    try:
        return _request_id(data) if isinstance(data, dict) else None
    except ProtocolError:
        return None


def _too_large(frame: str) -> bool:
    """Over the limit in UTF-8 bytes (a character is 1 to 4 bytes; encode only when it could matter)."""
    if len(frame) > MAX_FRAME_BYTES:
        return True
    return len(frame) * 4 > MAX_FRAME_BYTES and len(frame.encode("utf-8", "surrogatepass")) > MAX_FRAME_BYTES


def parse_frame(frame: str | bytes) -> Request:
    """Decode one frame or raise :class:`ProtocolError` (never anything else)."""
    if isinstance(frame, bytes):
        if len(frame) > MAX_FRAME_BYTES:
            raise ProtocolError(400, "invalid_params", f"frame too large (limit {MAX_FRAME_BYTES} bytes)")
        try:
            frame = frame.decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError(400, "invalid_params", "frames are UTF-8 JSON text") from None
    if _too_large(frame):
        raise ProtocolError(400, "invalid_params", f"frame too large (limit {MAX_FRAME_BYTES} bytes)")
    try:
        data = _loads(frame)
    except ProtocolError as exc:  # NaN, Infinity, a float out of range: still answer the frame's own id
        raise ProtocolError(exc.status, exc.code, exc.message, _lenient_id(frame)) from None
    except json.JSONDecodeError as exc:
        raise ProtocolError(400, "invalid_params", f"not JSON ({exc.msg} at character {exc.pos})") from None
    except ValueError:  # an integer over the interpreter's digit limit, say: its wording is the interpreter's
        raise ProtocolError(400, "invalid_params", "not JSON this server accepts (a number too long?)") from None
    except RecursionError:
        raise ProtocolError(400, "invalid_params", "not JSON this server accepts (nested too deeply)") from None
    if not isinstance(data, dict):
        raise ProtocolError(400, "invalid_params", "a frame is a JSON object")
    request_id = _request_id(data)
    action = data.get("action")
    if not isinstance(action, str):
        raise ProtocolError(400, "missing_parameter", 'missing "action"', request_id)
    if action in SESSION_ACTIONS:
        return _session_request(data, action, request_id)
    try:
        parsed = parse_action(data)
    except ActionError as exc:
        code = "missing_parameter" if "missing" in str(exc) else "invalid_params"
        raise ProtocolError(400, code, str(exc), request_id) from None
    if parsed.name in ("login", "two_factor_auth", "quit"):
        raise ProtocolError(400, "invalid_params", f"{parsed.name} is done over HTTP, not in a session", request_id)
    if parsed.name == "logout":  # logging out of a session is ending it (not leaving it open, logged out)
        return Request(request_id, "destroy_session", {})
    return Request(request_id, parsed.name, parsed.args)


def _session_request(data: dict[str, Any], action: str, request_id: str | int | None) -> Request:
    unknown = sorted(str(key)[:40] for key in data if key not in SESSION_FIELDS[action])
    if unknown:
        raise ProtocolError(400, "invalid_params", f"{action} takes no {', '.join(unknown)[:200]}", request_id)
    version = data.get("protocol", 1)
    if isinstance(version, bool) or not isinstance(version, int) or version not in PROTOCOL_VERSIONS:
        supported = ", ".join(str(v) for v in sorted(PROTOCOL_VERSIONS))
        raise ProtocolError(400, "unsupported_protocol", f"this server speaks protocol {supported}", request_id)
    args: dict[str, Any] = {}
    if action in ("create_session", "restore_session"):
        args["token"] = _text(data, "token", request_id)
    if action == "restore_session":
        args["session_id"] = _text(data, "sessionId", request_id)
        last = data.get("lastSeq", 0)
        if isinstance(last, bool) or not isinstance(last, int) or last < 0:
            raise ProtocolError(400, "invalid_params", '"lastSeq" must be a non-negative integer', request_id)
        args["last_seq"] = last
    return Request(request_id, action, args)


# --- messages from the server ---------------------------------------------------------------------------


def encode(message: dict[str, Any]) -> str:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))


def ok_reply(request_id: str | int | None, result: Any = None) -> dict[str, Any]:
    return {"type": "reply", "id": request_id, "ok": True, "result": result}


def error_reply(
    request_id: str | int | None, status: int, code: str, message: str, level: str = "ERROR"
) -> dict[str, Any]:
    return {
        "type": "reply",
        "id": request_id,
        "ok": False,
        "status": status,
        "code": code,
        "level": level,
        "message": message,
    }


def protocol_error(error: ProtocolError) -> dict[str, Any]:
    return error_reply(error.request_id, error.status, error.code, error.message)


def result_reply(request_id: str | int | None, outcome: Done[Any] | Refused) -> dict[str, Any]:
    """The reply to a connector command, straight from what the command returned: ``true`` (or the value
    it made: ``call`` → the new call's id), or the refusal with its level, code and status."""
    if isinstance(outcome, Refused):
        level = outcome.level.value
        return error_reply(request_id, status_for(outcome.code, level), outcome.code.value, outcome.message, level)
    return ok_reply(request_id, True if outcome.value is None else outcome.value)


def event_message(event: Event, in_reply_to: str | int | None = None) -> dict[str, Any]:
    """An event of the session; an activity event caused by a command names it (``inReplyTo``)."""
    message = {"type": "event", **event_to_wire(event)}
    if in_reply_to is not None and isinstance(event, ActivityEvent):
        message["inReplyTo"] = in_reply_to
    return message


EVENT_HEAD = b'{"type":"event","seq":'  # every event frame starts so: the seq, then the body (see EventFrames)


class EventFrames:
    """Event frames as UTF-8 bytes, each call's body encoded once for every session that gets it.

    Every session numbers its events itself, so the frames N watchers get for one call event differ only
    in ``seq``. An event frame is ``{"type":"event","seq":N,`` and then the rest of the object (name, call,
    and ``inReplyTo`` if any) — the very bytes :func:`encode` of :func:`event_message` gives — so the rest
    is encoded once and each session's frame is its seq spliced in front. A session's connector hands the
    exchange's Call object on unchanged when there is nothing to make visible, so the N frames of one event
    come one after another with the same object: the last body is remembered by that object's identity
    (held, so the identity cannot be reused while remembered)."""

    __slots__ = ("_call", "_name", "_rest", "bodies")

    def __init__(self) -> None:
        self._call: Call | None = None
        self._name = ""
        self._rest = b""
        self.bodies = 0  # call-event bodies encoded so far (what sharing saves shows here)

    def frame(self, event: Event, in_reply_to: str | int | None = None) -> bytes:
        if isinstance(event, CallEvent):
            call, name = event.call, event.name.value
            if call is not self._call or name != self._name:
                body = {"name": name, "call": call_to_wire(call)}
                self._rest = encode(body)[1:].encode("utf-8")
                self._call, self._name = call, name
                self.bodies += 1
            return b"%s%d,%s" % (EVENT_HEAD, event.seq, self._rest)
        return encode(event_message(event, in_reply_to)).encode("utf-8")


# engine refusal codes -> the status a client can switch on
ENGINE_STATUS = {"not_permitted": 403, "bad_request": 400, "bad_number": 400, "unknown_node": 400}


def status_for(code: str | None, level: str) -> int:
    if code in ENGINE_STATUS:
        return ENGINE_STATUS[code]
    return 200 if level == "INFO" else 400


# --- the client role ------------------------------------------------------------------------------------

SESSION_GONE_CODES = frozenset({"invalid_session_id", "invalid_token"})


class MessageError(ValueError):
    """A server message the client cannot use (not JSON, a wrong type, an event without its sequence
    number…). The :class:`ClientSession` is left exactly as it was before the message."""


@dataclass(frozen=True, slots=True)
class Opened:
    """The server created or restored the session; its present follows: a snapshot, or
    ``replay_count`` events the client missed (``present`` is ``"snapshot"`` or ``"replay"``). ``reason`` is
    ``"too_far_behind"`` when a restore got a snapshot because the server's log no longer reached back."""

    session_id: str
    present: str
    replay_count: int
    reason: str = ""


@dataclass(frozen=True, slots=True)
class OpenFailed:
    """The server would not create or restore the session."""

    status: int
    code: str
    message: str

    @property
    def session_gone(self) -> bool:
        """The session (or its token) is no more: only a fresh login helps, not a retry."""
        return self.code in SESSION_GONE_CODES


@dataclass(frozen=True, slots=True)
class Live:
    """The present is complete (the snapshot, or the last replayed event): what follows is live."""


@dataclass(frozen=True, slots=True)
class Answer:
    """The reply to the command sent with ``request_id``."""

    request_id: str | int | None
    result: cmd.CommandResult


@dataclass(frozen=True, slots=True)
class ServerTime:
    """The server's clock when it took the snapshot: durations are differences of its timestamps."""

    now: datetime


@dataclass(frozen=True, slots=True)
class Overflow:
    """The client fell behind; the server closes the socket next, and a restore replays what was missed."""


Received = (
    cmd.CallUpdate
    | cmd.Snapshot
    | cmd.Notice
    | cmd.AgentUpdate
    | cmd.QueueFiguresUpdate
    | Opened
    | OpenFailed
    | Live
    | Answer
    | ServerTime
    | Overflow
)


class Phase(Enum):
    IDLE = "idle"  # no socket: before the first session, or after one dropped
    OPENING = "opening"  # create/restore sent; waiting for its reply
    PRESENT = "present"  # taking the snapshot or the replayed events
    LIVE = "live"


class ClientSession:
    """The client's side of one server session, across as many sockets as it takes (sans-I/O).

    It numbers the requests, remembers the session id, its token and the last event sequence number (what
    a restore asks to be replayed after), drops events it has already seen, and turns each server message
    into what the client acts on (:data:`Received`). The I/O shell sends the frames it builds and feeds it
    every message it receives; a message it cannot use raises :class:`MessageError` and changes nothing.
    """

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self.phase = Phase.IDLE
        self.session_id: str | None = None
        self.token: str | None = None  # the session token: restores the session, and is a bearer token
        self.last_seq = 0
        self._opening: int | None = None  # the id of the create/restore request awaiting its reply
        self._replay_left: int | None = None  # replayed events still to come; None: a snapshot is

    @property
    def live(self) -> bool:
        return self.phase is Phase.LIVE

    # --- frames to the server ---------------------------------------------------------------------------

    def _frame(self, action: str, **fields: Any) -> tuple[int, str]:
        request_id = next(self._ids)
        return request_id, encode({"id": request_id, "action": action, **fields})

    def create(self, login_token: str) -> str:
        """The first frame of a new session (its sequence starts again)."""
        self._opening, frame = self._frame("create_session", token=login_token, protocol=1)
        self.phase, self.session_id, self.token, self.last_seq = Phase.OPENING, None, None, 0
        return frame

    def restore(self) -> str:
        """The first frame on a new socket for the session this client had: replay after :attr:`last_seq`."""
        if self.session_id is None or self.token is None:
            raise RuntimeError("no session to restore")
        self._opening, frame = self._frame(
            "restore_session", token=self.token, sessionId=self.session_id, lastSeq=self.last_seq, protocol=1
        )
        self.phase = Phase.OPENING
        return frame

    def command(self, command: cmd.Command) -> tuple[int, str]:
        """A connector command as a frame, and the id its :class:`Answer` will carry."""
        request_id = next(self._ids)
        return request_id, encode({"id": request_id, **command_frame(command)})

    def destroy(self) -> str:
        """End the session for every connection (logging out)."""
        return self._frame("destroy_session")[1]

    def lost(self) -> None:
        """The socket is gone; the session (id, token, last seq) is kept for a restore."""
        self.phase, self._opening, self._replay_left = Phase.IDLE, None, None

    # --- messages from the server -----------------------------------------------------------------------

    def receive(self, frame: str | bytes) -> list[Received]:
        """What one server message means to the client, in order; :class:`MessageError` if it is unusable."""
        message = _decode(frame)
        kind = message.get("type")
        if kind == "reply":
            return self._reply(message)
        if self.phase is Phase.OPENING:
            return []  # nothing counts before the session's reply
        if self.phase is Phase.PRESENT and self._replay_left is None and kind != "snapshot":
            raise MessageError(f"expected the snapshot after the session reply, got {str(kind)[:40]!r}")
        if kind == "event":
            return self._event(message)
        if kind == "snapshot":
            return self._snapshot(message)
        if kind == "overflow":
            return [Overflow()]
        if kind == FIGURES_MESSAGE:
            try:
                return [cmd.QueueFiguresUpdate(figures_from_wire(message))]
            except FiguresError as exc:
                raise MessageError(f"queueFigures: {exc}") from None
        if not isinstance(kind, str):
            raise MessageError('a message has a "type"')
        return []  # a kind of message this client does not know (a newer server): not an error

    def _reply(self, message: dict[str, Any]) -> list[Received]:
        request_id = message.get("id")
        if request_id is not None and (isinstance(request_id, bool) or not isinstance(request_id, str | int)):
            raise MessageError('a reply\'s "id" is a string, an integer or null')
        ok = message.get("ok")
        if not isinstance(ok, bool):
            raise MessageError('a reply has "ok": true or false')
        if self.phase is Phase.OPENING and request_id == self._opening:
            return self._opened(message) if ok else self._open_failed(message)
        if ok:
            value = message.get("result")
            return [Answer(request_id, cmd.CommandResult.done(value if isinstance(value, str) else None))]
        level = ActivityName.INFO if message.get("level") == "INFO" else ActivityName.ERROR
        code = _error_code(message.get("code"), ErrorCode.BAD_REQUEST)
        return [Answer(request_id, cmd.CommandResult(False, level, code, _string(message, "message")))]

    def _opened(self, message: dict[str, Any]) -> list[Received]:
        result = message.get("result")
        if not isinstance(result, dict):
            raise MessageError("the session reply has no result")
        session_id, token, present = result.get("sessionId"), result.get("token", self.token), result.get("present")
        if not isinstance(session_id, str) or not session_id:
            raise MessageError('the session reply has no "sessionId"')
        if not isinstance(token, str) or not token:
            raise MessageError('the session reply has no "token"')
        if present not in ("snapshot", "replay"):
            raise MessageError(f'"present" is "snapshot" or "replay", not {str(present)[:40]!r}')
        count = result.get("replayCount", 0) if present == "replay" else 0
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise MessageError('"replayCount" is a non-negative integer')
        self.session_id, self.token, self._opening = session_id, token, None
        self._replay_left = count if present == "replay" else None
        self.phase = Phase.LIVE if count == 0 and present == "replay" else Phase.PRESENT
        reason = result.get("reason")
        opened = Opened(session_id, present, count, reason if isinstance(reason, str) else "")
        return [opened, Live()] if self.live else [opened]

    def _open_failed(self, message: dict[str, Any]) -> list[Received]:
        status = message.get("status")
        failed = OpenFailed(
            status if isinstance(status, int) and not isinstance(status, bool) else 0,
            _string(message, "code"),
            _string(message, "message") or "the server refused the session",
        )
        self.phase, self._opening = Phase.IDLE, None
        return [failed]

    def _event(self, message: dict[str, Any]) -> list[Received]:
        seq = _seq(message)
        out: list[Received] = []
        if seq > self.last_seq:  # else already seen: a replay overlapping what arrived live
            out.extend(_event_reports(message))
            self.last_seq = seq
        if self.phase is Phase.PRESENT and self._replay_left is not None:
            self._replay_left -= 1
            if self._replay_left <= 0:
                self.phase, self._replay_left = Phase.LIVE, None
                out.append(Live())
        return out

    def _snapshot(self, message: dict[str, Any]) -> list[Received]:
        seq = _seq(message)
        calls, subscriptions = message.get("calls", []), message.get("subscriptions", [])
        ended = message.get("ended", [])
        if not isinstance(calls, list) or not all(isinstance(c, dict) for c in calls):
            raise MessageError('a snapshot\'s "calls" is a list of call objects')
        if not isinstance(ended, list) or not all(isinstance(c, dict) for c in ended):
            raise MessageError('a snapshot\'s "ended" is a list of call objects')
        if not isinstance(subscriptions, list) or not all(isinstance(n, str) for n in subscriptions):
            raise MessageError('a snapshot\'s "subscriptions" is a list of nodes')
        snapshot = cmd.Snapshot(tuple(_call(c) for c in calls), tuple(subscriptions))
        agents = message.get("agents", [])
        if not isinstance(agents, list):
            raise MessageError('a snapshot\'s "agents" is a list of agent objects')
        # calls that ended while this client was too far behind to replay: their end first, so they end on
        # the screen (and reach the history) rather than vanish when the snapshot replaces the view
        endings: list[Received] = [cmd.CallUpdate(_call(c)) for c in ended]
        now = _aware_time(message.get("now"))
        self.last_seq = seq
        out: list[Received] = [] if now is None else [ServerTime(now)]
        out.extend(endings)
        out.append(snapshot)
        out.extend(cmd.AgentUpdate(_agent(a)) for a in agents)
        if self.phase is Phase.PRESENT and self._replay_left is None:
            self.phase = Phase.LIVE
            out.append(Live())
        return out


def _decode(frame: str | bytes) -> dict[str, Any]:
    if isinstance(frame, bytes):
        try:
            frame = frame.decode("utf-8")
        except UnicodeDecodeError:
            raise MessageError("messages are UTF-8 JSON text") from None
    try:
        data = _loads(frame)
    except (ValueError, RecursionError) as exc:
        raise MessageError(f"not JSON: {str(exc)[:80]}") from None
    if not isinstance(data, dict):
        raise MessageError("a message is a JSON object")
    return data


def _seq(message: dict[str, Any]) -> int:
    seq = message.get("seq")
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
        raise MessageError(f'"seq" is a non-negative integer, not {str(seq)[:40]!r}')
    return seq


def _string(message: dict[str, Any], key: str) -> str:
    value = message.get(key)
    return value if isinstance(value, str) else ""


def _error_code(value: object, default: ErrorCode) -> ErrorCode:
    """The engine's code; a code this client does not know (the server's own, a newer one) is ``default``."""
    try:
        return ErrorCode(value) if isinstance(value, str) else default
    except ValueError:
        return default


def _call(data: object) -> Call:
    if not isinstance(data, dict):
        raise MessageError("a call is a JSON object")
    try:
        return call_from_wire(data)
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise MessageError(f"bad call object: {exc!r}"[:200]) from None


def _agent(data: object) -> Availability:
    if not isinstance(data, dict):
        raise MessageError("an agent is a JSON object")
    try:
        return agent_from_wire(data)
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise MessageError(f"bad agent object: {exc!r}"[:200]) from None


def _aware_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _event_reports(message: dict[str, Any]) -> list[Received]:
    """A call event is the call's new state; an INFO/ERROR the user should hear of is a notice. One that
    names a command (``inReplyTo``) is left out: its command's reply tells the connector that sent it."""
    if "call" in message:
        return [cmd.CallUpdate(_call(message["call"]))]
    if "agent" in message:
        return [cmd.AgentUpdate(_agent(message["agent"]))]
    name = message.get("name")
    if not isinstance(name, str):
        raise MessageError('an event has a "name"')
    if name not in (ActivityName.INFO, ActivityName.ERROR) or "inReplyTo" in message:
        return []
    call_id = message.get("callId")
    if call_id is not None and not isinstance(call_id, str):
        raise MessageError('"callId" is a string')
    level = ActivityName(name)
    return [
        cmd.Notice(
            level, _error_code(message.get("code"), ErrorCode.BACKEND_FAILURE), _string(message, "message"), call_id
        )
    ]
