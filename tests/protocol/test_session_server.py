"""The frame parser is total: whatever the bytes, a Request or a ProtocolError with a SPEC §4 code.

Property tests (hypothesis) over arbitrary text, bytes, JSON values and near-valid frames, plus the edge
cases a fuzzer found or could: numbers Python's json cannot hold, NaN, deep nesting, oversize frames.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cti_tui.protocol import session as protocol
from cti_tui.protocol.actions import SCHEMA
from cti_tui.protocol.session import MAX_FRAME_BYTES, SESSION_ACTIONS, ProtocolError, Request, parse_frame

CODES = {"missing_parameter", "invalid_params"}
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
actions = st.sampled_from(sorted(set(SCHEMA) | SESSION_ACTIONS | {"hangup", "dial", "dtmf", "bogus", ""}))
field_names = st.sampled_from(
    [
        "id",
        "callId",
        "otherCallId",
        "destination",
        "node",
        "slot",
        "digits",
        "enabled",
        "inviteTimeout",
        "token",
        "sessionId",
        "lastSeq",
        "email",
        "password",
        "apiKey",
        "code",
        "nonce",
        "extra",
    ]
)


def parse(frame: str | bytes) -> Request | ProtocolError:
    try:
        return parse_frame(frame)
    except ProtocolError as error:
        assert error.status == 400 and error.code in CODES, (error.status, error.code)
        assert error.message
        return error


@FAST
@given(st.text(max_size=200))
def test_any_text_gives_a_request_or_a_coded_error(text: str) -> None:
    parse(text)


@FAST
@given(st.binary(max_size=200))
def test_any_bytes_give_a_request_or_a_coded_error(data: bytes) -> None:
    parse(data)


@FAST
@given(json_values)
def test_any_json_value_gives_a_request_or_a_coded_error(value: object) -> None:
    parse(json.dumps(value))


@FAST
@given(actions, st.dictionaries(field_names, json_values, max_size=5))
def test_near_valid_frames_give_a_request_or_a_coded_error(action: str, fields: dict) -> None:
    result = parse(json.dumps({**fields, "action": action}))
    if isinstance(result, Request):
        assert result.action in SCHEMA or result.action in SESSION_ACTIONS
        assert result.action not in ("login", "two_factor_auth", "quit", "logout")
    elif "id" in fields and isinstance(fields["id"], int | str) and not isinstance(fields["id"], bool):
        assert result.request_id == fields["id"]  # the reply can name the frame it answers


@pytest.mark.parametrize(
    "frame",
    [
        '{"id": 0, "action": "hold", "callId": Infinity}',
        '{"id": "a", "action": "ping", "x": NaN}',
        '{"action": "call", "id": 7, "destination": 1e999}',
    ],
)
def test_a_frame_refused_for_a_non_finite_number_still_names_its_id(frame: str) -> None:
    """Found by the fuzz test above: a frame with NaN/Infinity was answered with no id (the client could not
    tell which request failed)."""
    with pytest.raises(ProtocolError) as error:
        parse_frame(frame)
    assert error.value.code == "invalid_params"
    assert error.value.request_id == json.loads(frame)["id"]


VALID_VALUES = {str: "x1", int: 3, bool: True, (int, float): 2.5}


@pytest.mark.parametrize("action", sorted(set(SCHEMA) - {"login", "two_factor_auth", "quit", "logout"}))
def test_every_connector_action_parses_with_its_fields(action: str) -> None:
    frame = {"id": 9, "action": action}
    for field in SCHEMA[action]:
        frame[field.wire] = VALID_VALUES[field.kind]
    request = parse_frame(json.dumps(frame))
    assert request == Request(9, action, {f.python: VALID_VALUES[f.kind] for f in SCHEMA[action]})
    for field in (f for f in SCHEMA[action] if f.required):  # each required field, missing, and of a wrong type
        missing = {k: v for k, v in frame.items() if k != field.wire}
        with pytest.raises(ProtocolError) as error:
            parse_frame(json.dumps(missing))
        assert (error.value.status, error.value.code, error.value.request_id) == (400, "missing_parameter", 9)
        with pytest.raises(ProtocolError) as error:
            parse_frame(json.dumps({**frame, field.wire: [1]}))
        assert (error.value.status, error.value.code) == (400, "invalid_params")


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("", "invalid_params"),
        ("{", "invalid_params"),
        ("[]", "invalid_params"),
        ('"hold"', "invalid_params"),
        ("{}", "missing_parameter"),
        ('{"action": 5}', "missing_parameter"),
        ('{"action": "hold"}', "missing_parameter"),
        ('{"action": "hold", "callId": 5}', "invalid_params"),
        ('{"action": "hold", "callId": "a", "extra": 1}', "invalid_params"),
        ('{"action": "teleport"}', "invalid_params"),
        ('{"action": "ping", "id": [1]}', "invalid_params"),
        ('{"action": "ping", "id": true}', "invalid_params"),
        ('{"action": "park", "callId": "a", "slot": true}', "invalid_params"),
        ('{"action": "login", "email": "a@b", "password": "p"}', "invalid_params"),
        ('{"action": "two_factor_auth", "code": "123456"}', "invalid_params"),
        ('{"action": "quit"}', "invalid_params"),
        ('{"action": "create_session"}', "missing_parameter"),
        ('{"action": "create_session", "token": ""}', "invalid_params"),
        ('{"action": "create_session", "token": 7}', "invalid_params"),
        ('{"action": "restore_session", "token": "t"}', "missing_parameter"),
        ('{"action": "restore_session", "token": "t", "sessionId": "s", "lastSeq": -1}', "invalid_params"),
        ('{"action": "restore_session", "token": "t", "sessionId": "s", "lastSeq": "4"}', "invalid_params"),
        ('{"action": "restore_session", "token": "t", "sessionId": "s", "lastSeq": false}', "invalid_params"),
        # what json.loads accepts but a peer should not send, or what Python's json cannot hold
        ('{"action": "supervised_transfer", "callId": "a", "destination": "1002", "inviteTimeout": NaN}', None),
        ('{"action": "supervised_transfer", "callId": "a", "destination": "1002", "inviteTimeout": 1e999}', None),
        ('{"action": "park", "callId": "a", "slot": -Infinity}', None),
        ('{"action": "park", "callId": "a", "slot": ' + "9" * 5000 + "}", None),
        ("[" * 100_000 + "]" * 100_000, None),
        (b"\xff\xfe{}", None),
        ("x" * (MAX_FRAME_BYTES + 1), None),
        (b"x" * (MAX_FRAME_BYTES + 1), None),
        ('{"action": "ping", "pad": "' + "é" * (MAX_FRAME_BYTES // 2) + '"}', None),  # few chars, many bytes
    ],
    ids=lambda value: repr(value)[:40] if isinstance(value, str | bytes) else str(value),
)
def test_bad_frames(frame: str | bytes, code: str | None) -> None:
    with pytest.raises(ProtocolError) as error:
        parse_frame(frame)
    assert error.value.status == 400
    assert error.value.code == (code or "invalid_params")


def test_lone_surrogates_and_nul_are_just_text() -> None:
    assert parse_frame(r'{"action": "ping", "id": "\ud800\u0000"}') == Request("\ud800\x00", "ping", {})
    with pytest.raises(ProtocolError):  # raw control characters are not JSON
        parse_frame('{"action": "ping", "id": "\x00"}')


def test_session_frames() -> None:
    assert parse_frame('{"id": "a", "action": "create_session", "token": "t"}') == Request(
        "a", "create_session", {"token": "t"}
    )
    assert parse_frame('{"action": "restore_session", "token": "t", "sessionId": "s"}').args == {
        "token": "t",
        "session_id": "s",
        "last_seq": 0,
    }
    assert parse_frame('{"id": 3, "action": "destroy_session"}') == Request(3, "destroy_session", {})


def test_logout_in_a_session_ends_the_session() -> None:
    assert parse_frame('{"id": 4, "action": "logout"}') == Request(4, "destroy_session", {})


def test_aliases_reach_their_actions() -> None:
    assert parse_frame('{"action": "hangup", "callId": "c"}') == Request(None, "terminate", {"call_id": "c"})
    assert parse_frame('{"action": "dial", "destination": "1002"}').action == "call"


def test_replies_and_statuses() -> None:
    assert json.loads(protocol.encode(protocol.ok_reply(1, "pong"))) == {
        "type": "reply",
        "id": 1,
        "ok": True,
        "result": "pong",
    }
    error = protocol.protocol_error(ProtocolError(400, "invalid_params", "bad", 7))
    assert error == {
        "type": "reply",
        "id": 7,
        "ok": False,
        "status": 400,
        "code": "invalid_params",
        "level": "ERROR",
        "message": "bad",
    }
    assert protocol.status_for("not_permitted", "ERROR") == 403
    assert protocol.status_for("bad_number", "ERROR") == 400
    assert protocol.status_for("wrong_state", "INFO") == 200
    assert protocol.status_for(None, "ERROR") == 400
    assert protocol.encode({"m": "é"}) == '{"m":"é"}'
