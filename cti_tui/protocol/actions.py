"""JSON commands (``{"action": "hold", "callId": "…"}``): the command vocabulary on the wire, parsed.

The one place that knows the command vocabulary of SPEC §3 on the wire, shared by ``cti-tui events``
(JSON lines on stdin) and the CTI server (WebSocket frames). Parsing is pure and strict: a wrong type or a
missing field is an :class:`ActionError` whose message names the field, never a crash. Which action is
which Command is :data:`cti_tui.core.verbs.VERBS`'s to say; this module knows only each action's fields.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cti_tui.core import commands as cmd
from cti_tui.core.verbs import BY_ACTION, BY_COMMAND

MAX_LINE_BYTES = 64 * 1024
SECRET_FIELDS = frozenset({"password", "apiKey", "code"})  # never echoed back in an error, whatever was sent


class ActionError(ValueError):
    """A command that cannot be understood; the message says what is wrong with it."""


@dataclass(frozen=True, slots=True)
class Action:
    name: str
    args: dict[str, Any]
    request_id: str | int | None = None

    def command(self) -> cmd.Command | None:
        """The Command this action asks for, or None for a query or a session action (login, logout…)."""
        verb = BY_ACTION.get(self.name)
        if verb is None:
            return None
        fields = {f.attribute: self.args[f.python] for f in SCHEMA[self.name] if f.python in self.args}
        return verb.command(**fields)


@dataclass(frozen=True, slots=True)
class _Field:
    wire: str  # the JSON field
    python: str  # the Connector method's parameter
    kind: type | tuple[type, ...]
    required: bool = True
    command_field: str | None = None  # the Command dataclass's field, when not named as the parameter

    @property
    def attribute(self) -> str:
        return self.command_field or self.python


def _f(
    wire: str, python: str, kind: type | tuple[type, ...], required: bool = True, command_field: str | None = None
) -> _Field:
    return _Field(wire, python, kind, required, command_field)


_CALL_ID = _f("callId", "call_id", str)
_DESTINATION = _f("destination", "destination", str)

# action name -> its fields, in the Connector method's argument order
SCHEMA: dict[str, tuple[_Field, ...]] = {
    "login": (
        _f("email", "email", str, False),
        _f("password", "password", str, False),
        _f("apiKey", "api_key", str, False),
    ),
    "two_factor_auth": (_f("code", "code", str), _f("nonce", "nonce", str, False)),
    "logout": (),
    "is_connected": (),
    "call": (_DESTINATION,),
    "answer": (_CALL_ID,),
    "pickup": (_CALL_ID,),
    "spy": (_f("extension", "extension", str), _f("mode", "mode", str, False)),
    "reject": (_CALL_ID,),
    "terminate": (_CALL_ID,),
    "hold": (_CALL_ID,),
    "resume": (_CALL_ID,),
    "transfer": (_CALL_ID, _DESTINATION),
    "supervised_transfer": (
        _CALL_ID,
        _DESTINATION,
        _f("inviteTimeout", "invite_timeout", (int, float), False),
        _f("consult", "consult", bool, False),
    ),
    "cancel_supervised_transfer": (_CALL_ID,),
    "complete_supervised_transfer": (_CALL_ID,),
    "mute": (_CALL_ID, _f("muted", "muted", bool)),
    "merge": (
        _f("callId", "call_a", str, command_field="call_id"),
        _f("otherCallId", "call_b", str, command_field="other_call_id"),
    ),
    "park": (_CALL_ID, _f("slot", "slot", int, False)),
    "unpark": (_f("slot", "slot", int),),
    "send_dtmf": (_CALL_ID, _f("digits", "digits", str)),
    "subscribe": (_f("node", "node", str),),
    "unsubscribe": (_f("node", "node", str),),
    "subscriptions": (),
    "set_auto_answer": (_f("enabled", "enabled", bool),),
    "auto_answer": (),
    "calls": (),
    "get_call": (_CALL_ID,),
    "ready": (),
    "take_break": (_f("reason", "reason", str),),
    "go_offline": (),
    "queue_login": (_f("queue", "queue", str),),
    "queue_logout": (_f("queue", "queue", str),),
    "dispose": (_CALL_ID, _f("disposition", "code", str), _f("note", "note", str, False)),
    "agents": (),
    "quit": (),  # ends a headless run or a server connection; not a Connector method
}
ALIASES = {"hangup": "terminate", "dial": "call", "dtmf": "send_dtmf", "twoFactorAuth": "two_factor_auth"}
QUERIES = frozenset({"is_connected", "subscriptions", "auto_answer", "calls", "get_call", "agents"})


def parse_line(line: str | bytes) -> Action:
    """One JSON line to an :class:`Action`, or :class:`ActionError` naming the problem."""
    if len(line) > MAX_LINE_BYTES:
        raise ActionError(f"command too long ({len(line)} bytes; limit {MAX_LINE_BYTES})")
    try:
        data = json.loads(line)
    except RecursionError:
        raise ActionError("not JSON: nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise ActionError(f"not JSON: {exc}") from None
    except ValueError:  # UTF-8 errors, integers over the interpreter's digit limit: its wording, not ours
        raise ActionError("not JSON this program accepts (not UTF-8, or a number too long)") from None
    return parse_action(data)


def parse_action(data: object) -> Action:
    if not isinstance(data, dict):
        raise ActionError(f'a command is a JSON object like {{"action": "call", ...}}, got {type(data).__name__}')
    name = data.get("action")
    if not isinstance(name, str):
        raise ActionError('missing "action" (a string)')
    name = ALIASES.get(name, name)
    if name not in SCHEMA:
        raise ActionError(f"unknown action {name!r}; known: {', '.join(sorted(SCHEMA))}")
    request_id = data.get("id")
    if request_id is not None and (isinstance(request_id, bool) or not isinstance(request_id, str | int)):
        raise ActionError('"id" must be a string or an integer')
    fields = SCHEMA[name]
    known = {f.wire for f in fields} | {"action", "id"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ActionError(f"{name}: unknown field(s) {', '.join(map(repr, unknown))}")
    args: dict[str, Any] = {}
    for field in fields:
        if field.wire not in data or data[field.wire] is None:
            if field.required:
                raise ActionError(f'{name}: missing "{field.wire}"')
            continue
        value = data[field.wire]
        kinds = field.kind if isinstance(field.kind, tuple) else (field.kind,)
        if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
            expected = " or ".join(k.__name__ for k in kinds)
            got = type(value).__name__ if field.wire in SECRET_FIELDS else json.dumps(value)[:40]
            raise ActionError(f'{name}: "{field.wire}" must be {expected}, got {got}')
        args[field.python] = value
    if name == "login" and "api_key" not in args and not ("email" in args and "password" in args):
        raise ActionError('login: give "email" and "password", or "apiKey"')
    return Action(name, args, request_id)


def command_frame(command: cmd.Command) -> dict[str, Any]:
    """The JSON command a remote connector (the CTI server) runs for ``command`` — the inverse of
    :meth:`Action.command` over :data:`SCHEMA`, so both ends share one vocabulary."""
    name = BY_COMMAND[type(command)].action
    frame: dict[str, Any] = {"action": name}
    for field in SCHEMA[name]:
        value = getattr(command, field.attribute)
        if value is not None:
            frame[field.wire] = value
    return frame
