"""The wire form of calls and events: JSON objects with camelCase fields, as the VoIPstudio call object.

Used by ``cti-tui events`` (JSON lines), the CTI server's WebSocket protocol and its client. Pure
functions, both directions, so what goes out can come back in unchanged.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cti_tui.core.availability import AgentState, Availability
from cti_tui.core.model import (
    ActivityEvent,
    ActivityName,
    AgentEvent,
    Call,
    CallEvent,
    CallStatus,
    Direction,
    ErrorCode,
    Event,
)

_CALL_FIELDS = {
    "id": "id",
    "cid": "cid",
    "cause": "cause",
    "destination": "destination",
    "destination_name": "destinationName",
    "direction": "direction",
    "source": "source",
    "source_name": "sourceName",
    "status": "status",
    "line": "line",
    "setup_at": "setupAt",
    "connect_at": "connectAt",
    "release_at": "releaseAt",
    "park_slot": "parkSlot",
    "queue_position": "queuePosition",
    "also": "alsoLines",
    "muted": "muted",
    "consult_for": "consultFor",
    "via": "via",
    "monitor": "monitor",
}


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def call_to_wire(call: Call) -> dict[str, Any]:
    return {
        "id": call.id,
        "cid": call.cid,
        "cause": call.cause,
        "destination": call.destination,
        "destinationName": call.destination_name,
        "direction": call.direction.value,
        "source": call.source,
        "sourceName": call.source_name,
        "status": call.status.value,
        "line": call.line,
        "setupAt": _time(call.setup_at),
        "connectAt": _time(call.connect_at),
        "releaseAt": _time(call.release_at),
        "parkSlot": call.park_slot,
        "queuePosition": call.queue_position,
        "alsoLines": list(call.also),
        "muted": call.muted,
        "consultFor": call.consult_for,
        "via": call.via,
        "monitor": call.monitor,
    }


def _parse_time(value: Any) -> datetime | None:
    if value is None:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def call_from_wire(data: dict[str, Any]) -> Call:
    """Inverse of :func:`call_to_wire`; raises ``ValueError``/``KeyError``/``TypeError`` on bad input."""
    return Call(
        id=str(data["id"]),
        cid=str(data.get("cid", "")),
        direction=Direction(data["direction"]),
        status=CallStatus(data["status"]),
        line=str(data["line"]),
        source=str(data.get("source", "")),
        destination=str(data.get("destination", "")),
        source_name=str(data.get("sourceName", "")),
        destination_name=str(data.get("destinationName", "")),
        cause=str(data.get("cause", "")),
        setup_at=_parse_time(data.get("setupAt")),
        connect_at=_parse_time(data.get("connectAt")),
        release_at=_parse_time(data.get("releaseAt")),
        park_slot=None if data.get("parkSlot") is None else int(data["parkSlot"]),
        queue_position=None if data.get("queuePosition") is None else int(data["queuePosition"]),
        also=tuple(str(line) for line in data.get("alsoLines") or ()),
        muted=data.get("muted") is True,
        consult_for=str(data.get("consultFor") or ""),
        via=str(data.get("via") or ""),
        monitor=str(data.get("monitor") or ""),
    )


def agent_to_wire(agent: Availability) -> dict[str, Any]:
    return {
        "extension": agent.extension,
        "state": agent.state.value,
        "since": _time(agent.since),
        "reason": agent.reason,
        "queues": list(agent.queues),
        "memberOf": list(agent.member_of),
        "wrapUpUntil": _time(agent.wrap_up_until),
        "callId": agent.call_id,
        "disposition": agent.disposition,
        "note": agent.note,
        "breakReasons": list(agent.break_reasons),
        "dispositions": list(agent.dispositions),
    }


def _strings(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise TypeError("expected a list of strings")
    return tuple(str(item) for item in value)


def agent_from_wire(data: dict[str, Any]) -> Availability:
    """Inverse of :func:`agent_to_wire`; raises ``ValueError``/``KeyError``/``TypeError`` on bad input."""
    return Availability(
        extension=str(data["extension"]),
        state=AgentState(data["state"]),
        since=_parse_time(data.get("since")),
        reason=str(data.get("reason", "")),
        queues=_strings(data.get("queues", [])),
        member_of=_strings(data.get("memberOf", [])),
        wrap_up_until=_parse_time(data.get("wrapUpUntil")),
        call_id=str(data.get("callId", "")),
        disposition=str(data.get("disposition", "")),
        note=str(data.get("note", "")),
        break_reasons=_strings(data.get("breakReasons", [])),
        dispositions=_strings(data.get("dispositions", [])),
    )


def event_to_wire(event: Event) -> dict[str, Any]:
    if isinstance(event, CallEvent):
        return {"seq": event.seq, "name": event.name.value, "call": call_to_wire(event.call)}
    if isinstance(event, AgentEvent):
        return {"seq": event.seq, "name": event.name, "agent": agent_to_wire(event.agent)}
    out: dict[str, Any] = {"seq": event.seq, "name": event.name.value, "message": event.message}
    if event.code is not None:
        out["code"] = event.code.value
    if event.nonce is not None:
        out["nonce"] = event.nonce
    if event.node is not None:
        out["node"] = event.node
    if event.call_id is not None:
        out["callId"] = event.call_id
    return out


def event_from_wire(data: dict[str, Any]) -> Event:
    seq = int(data["seq"])
    if "call" in data:
        return CallEvent(seq, call_from_wire(data["call"]))
    if "agent" in data:
        return AgentEvent(seq, agent_from_wire(data["agent"]))
    return ActivityEvent(
        seq,
        ActivityName(data["name"]),
        str(data.get("message", "")),
        ErrorCode(data["code"]) if data.get("code") else None,
        data.get("nonce"),
        data.get("node"),
        data.get("callId"),
    )


CALL_WIRE_FIELDS = tuple(_CALL_FIELDS.values())
