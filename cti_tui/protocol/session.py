"""The WebSocket session protocol of ``cti-tui serve``: frames in, requests out, and the messages back.

Pure functions over text (sans-I/O): the server and its tests, and the fuzzers, feed frames in and get
either a :class:`Request` or a :class:`ProtocolError` carrying one of the SPEC §4 codes. Nothing here
can raise anything else, whatever the bytes. See docs/protocol.md for every message with examples.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from cti_tui.core.model import ActivityEvent, Event
from cti_tui.core.results import Done, Refused
from cti_tui.protocol.actions import ActionError, parse_action
from cti_tui.protocol.events import event_to_wire

MAX_FRAME_BYTES = 64 * 1024
SESSION_ACTIONS = frozenset({"create_session", "restore_session", "destroy_session", "ping"})


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


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ProtocolError(400, "invalid_params", f"number out of range: {text[:20]}")
    return value


def _no_constant(name: str) -> Any:
    raise ProtocolError(400, "invalid_params", f"{name} is not JSON")


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
        # strict JSON: no NaN/Infinity, no float that overflows to inf
        data = json.loads(frame, parse_float=_finite, parse_constant=_no_constant)
    except ProtocolError:
        raise
    except (ValueError, RecursionError) as exc:  # ValueError also covers ints over Python's digit limit
        raise ProtocolError(400, "invalid_params", f"not JSON: {exc}") from None
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


# engine refusal codes -> the status a client can switch on
ENGINE_STATUS = {"not_permitted": 403, "bad_request": 400, "bad_number": 400, "unknown_node": 400}


def status_for(code: str | None, level: str) -> int:
    if code in ENGINE_STATUS:
        return ENGINE_STATUS[code]
    return 200 if level == "INFO" else 400


def event_message(event: Event, in_reply_to: str | int | None = None) -> dict[str, Any]:
    """An event of the session; an activity event caused by a command names it (``inReplyTo``)."""
    message = {"type": "event", **event_to_wire(event)}
    if in_reply_to is not None and isinstance(event, ActivityEvent):
        message["inReplyTo"] = in_reply_to
    return message
