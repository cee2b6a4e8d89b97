"""The wire form: camelCase fields exactly as the VoIPstudio call object, and lossless both ways."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cti_tui.core.model import (
    ActivityEvent,
    ActivityName,
    Call,
    CallEvent,
    CallStatus,
    Direction,
    ErrorCode,
)
from cti_tui.protocol.events import (
    CALL_WIRE_FIELDS,
    call_from_wire,
    call_to_wire,
    event_from_wire,
    event_to_wire,
)

WIRE_KEYS = {
    "id",
    "monitor",
    "cid",
    "cause",
    "destination",
    "destinationName",
    "direction",
    "source",
    "sourceName",
    "status",
    "line",
    "setupAt",
    "connectAt",
    "releaseAt",
    "parkSlot",
    "queuePosition",
    "alsoLines",
    "muted",
    "consultFor",
    "via",
}

T0 = datetime(2026, 1, 5, 9, 0, 0, tzinfo=UTC)

SAMPLE = Call(
    id="call-42",
    cid="c42",
    direction=Direction.INBOUND,
    status=CallStatus.PARKED,
    line="user:1001",
    source="+12025550143",
    destination="1001",
    source_name="Ada Lovelace",
    destination_name="Agent One",
    cause="",
    setup_at=T0,
    connect_at=T0 + timedelta(seconds=7, microseconds=250_000),
    release_at=None,
    park_slot=701,
    queue_position=3,
)

utc_times = st.one_of(
    st.none(),
    st.datetimes(
        min_value=datetime(1970, 1, 1),
        max_value=datetime(2100, 1, 1),
        timezones=st.just(UTC),
    ),
)
small_ints = st.one_of(st.none(), st.integers(min_value=0, max_value=10**9))

calls = st.builds(
    Call,
    id=st.text(min_size=1),
    cid=st.text(),
    direction=st.sampled_from(Direction),
    status=st.sampled_from(CallStatus),
    line=st.sampled_from(["user:1001", "queue:sales", "ivr:main", "conf:1", "callpark"]) | st.text(),
    source=st.text(),
    destination=st.text(),
    source_name=st.text(),
    destination_name=st.text(),
    cause=st.sampled_from(["", "busy", "no_answer", "rejected", "transferred", "normal"]) | st.text(),
    setup_at=utc_times,
    connect_at=utc_times,
    release_at=utc_times,
    park_slot=small_ints,
    queue_position=small_ints,
    also=st.lists(st.sampled_from(["queue:sales", "conf:room1"]) | st.text(), max_size=3).map(tuple),
)
optional_text = st.one_of(st.none(), st.text())
activity_events = st.builds(
    ActivityEvent,
    seq=st.integers(min_value=0, max_value=2**53),
    name=st.sampled_from(ActivityName),
    message=st.text(),
    code=st.one_of(st.none(), st.sampled_from(ErrorCode)),
    nonce=optional_text,
    node=optional_text,
    call_id=optional_text,
)
call_events = st.builds(CallEvent, seq=st.integers(min_value=0, max_value=2**53), call=calls)


def _via_json(data: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(data))


# --- calls --------------------------------------------------------------------------------------------------


def test_call_wire_keys_are_exactly_the_camel_case_fields() -> None:
    wire = call_to_wire(SAMPLE)
    assert set(wire) == WIRE_KEYS
    assert set(CALL_WIRE_FIELDS) == WIRE_KEYS
    assert len(CALL_WIRE_FIELDS) == len(WIRE_KEYS)


def test_call_wire_values() -> None:
    wire = call_to_wire(SAMPLE)
    assert wire["id"] == "call-42"
    assert wire["cid"] == "c42"
    assert wire["direction"] == "INBOUND"
    assert wire["status"] == "PARKED"
    assert wire["line"] == "user:1001"
    assert wire["source"] == "+12025550143"
    assert wire["sourceName"] == "Ada Lovelace"
    assert wire["destination"] == "1001"
    assert wire["destinationName"] == "Agent One"
    assert wire["parkSlot"] == 701
    assert wire["queuePosition"] == 3
    assert wire["releaseAt"] is None
    # plain JSON types, not enums or datetimes
    assert type(wire["direction"]) is str
    assert type(wire["status"]) is str
    assert isinstance(wire["setupAt"], str)
    assert datetime.fromisoformat(wire["setupAt"]) == T0
    assert datetime.fromisoformat(wire["connectAt"]) == SAMPLE.connect_at


def test_call_wire_is_json() -> None:
    text = json.dumps(call_to_wire(SAMPLE))
    assert call_from_wire(json.loads(text)) == SAMPLE


def test_non_utc_offsets_keep_their_instant() -> None:
    paris = timezone(timedelta(hours=1))
    call = SAMPLE.evolve(setup_at=datetime(2026, 1, 5, 10, 0, tzinfo=paris))
    back = call_from_wire(_via_json(call_to_wire(call)))
    assert back.setup_at == T0
    assert back.setup_at is not None and back.setup_at.utcoffset() == timedelta(hours=1)


def test_call_from_wire_fills_optional_fields() -> None:
    call = call_from_wire({"id": "x", "direction": "OUTBOUND", "status": "INITIAL", "line": "user:1001"})
    assert call == Call(
        id="x", cid="", direction=Direction.OUTBOUND, status=CallStatus.INITIAL, line="user:1001",
        source="", destination="",
    )  # fmt: skip


@pytest.mark.parametrize(
    "bad",
    [
        {"direction": "INBOUND", "status": "RINGING", "line": "l"},  # no id
        {"id": "x", "direction": "SIDEWAYS", "status": "RINGING", "line": "l"},
        {"id": "x", "direction": "INBOUND", "status": "DANCING", "line": "l"},
        {"id": "x", "direction": "INBOUND", "status": "RINGING", "line": "l", "setupAt": "yesterday"},
    ],
)
def test_call_from_wire_rejects_bad_input(bad: dict[str, Any]) -> None:
    with pytest.raises((ValueError, KeyError, TypeError)):
        call_from_wire(bad)


@given(calls)
def test_call_roundtrip(call: Call) -> None:
    wire = call_to_wire(call)
    assert set(wire) == WIRE_KEYS
    assert call_from_wire(wire) == call
    assert call_from_wire(_via_json(wire)) == call


# --- events -------------------------------------------------------------------------------------------------


def test_call_event_wire_form() -> None:
    event = CallEvent(seq=5, call=SAMPLE)
    wire = event_to_wire(event)
    assert wire == {"seq": 5, "name": "PARKED", "call": call_to_wire(SAMPLE)}
    assert event_from_wire(_via_json(wire)) == event


def test_activity_event_wire_form_minimal() -> None:
    event = ActivityEvent(seq=1, name=ActivityName.READY, message="ready")
    wire = event_to_wire(event)
    assert wire == {"seq": 1, "name": "READY", "message": "ready"}
    assert event_from_wire(_via_json(wire)) == event


def test_activity_event_wire_form_full() -> None:
    event = ActivityEvent(
        seq=9,
        name=ActivityName.INFO,
        message="call c1 is not ringing",
        code=ErrorCode.WRONG_STATE,
        nonce="n-1",
        node="user:1002",
        call_id="call-1",
    )
    wire = event_to_wire(event)
    assert wire == {
        "seq": 9,
        "name": "INFO",
        "message": "call c1 is not ringing",
        "code": "wrong_state",
        "nonce": "n-1",
        "node": "user:1002",
        "callId": "call-1",
    }
    assert event_from_wire(_via_json(wire)) == event


def test_two_factor_event_carries_its_nonce() -> None:
    event = ActivityEvent(seq=2, name=ActivityName.TWO_FACTOR_AUTH, message="code needed", nonce="abc")
    back = event_from_wire(_via_json(event_to_wire(event)))
    assert isinstance(back, ActivityEvent)
    assert back.nonce == "abc"


@given(activity_events)
def test_activity_event_roundtrip(event: ActivityEvent) -> None:
    wire = event_to_wire(event)
    optional = {"code", "nonce", "node", "callId"}
    assert {"seq", "name", "message"} <= set(wire) <= {"seq", "name", "message"} | optional
    assert event_from_wire(wire) == event
    assert event_from_wire(_via_json(wire)) == event


@given(call_events)
def test_call_event_roundtrip(event: CallEvent) -> None:
    wire = event_to_wire(event)
    assert set(wire) == {"seq", "name", "call"}
    assert wire["name"] == event.call.status.value
    back = event_from_wire(_via_json(wire))
    assert isinstance(back, CallEvent)
    assert back == event
    assert back.name is event.name
