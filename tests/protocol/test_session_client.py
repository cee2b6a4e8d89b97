"""The client role of the session protocol (protocol.session.ClientSession), with no socket.

Property tests (hypothesis): whatever the server sends, in whatever phase, the client gets a list of things to
act on or a MessageError that leaves its state as it was. Round trips: what the server role builds, the
client role reads back unchanged. And the handshakes: create, restore with a replay or a snapshot, refusal.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cti_tui.core import commands as cmd
from cti_tui.core.model import ActivityEvent, ActivityName, Call, CallEvent, CallStatus, Direction, ErrorCode
from cti_tui.core.results import DONE, Done, Refused
from cti_tui.protocol import session as protocol
from cti_tui.protocol.events import call_to_wire
from cti_tui.protocol.session import (
    Answer,
    ClientSession,
    Live,
    MessageError,
    Opened,
    OpenFailed,
    Overflow,
    Phase,
    ServerTime,
)

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

CALL = Call("c1", "1", Direction.INBOUND, CallStatus.RINGING, "user:1001", "+12025550143", "1001", setup_at=T0)


def text(message: dict[str, Any]) -> str:
    return protocol.encode(message)


def opened_reply(request_id: int, present: str = "snapshot", count: int = 0, **extra: Any) -> str:
    result = {"sessionId": "s1", "token": "tok", "seq": 7, "present": present, **extra}
    if present == "replay":
        result["replayCount"] = count
    return text(protocol.ok_reply(request_id, result))


def snapshot(seq: int = 7, calls: tuple[Call, ...] = (CALL,), subscriptions: tuple[str, ...] = ()) -> str:
    return text(
        {
            "type": "snapshot",
            "sessionId": "s1",
            "seq": seq,
            "now": T0.isoformat(),
            "calls": [call_to_wire(c) for c in calls],
            "subscriptions": list(subscriptions),
        }
    )


def event(seq: int, call: Call = CALL) -> str:
    return text(protocol.event_message(CallEvent(seq, call)))


def live_client() -> ClientSession:
    """A client whose session is open (seq 7) and live."""
    client = ClientSession()
    client.create("login-token")
    client.receive(opened_reply(1))
    client.receive(snapshot())
    assert client.live
    return client


def state(client: ClientSession) -> tuple[object, ...]:
    return (client.phase, client.session_id, client.token, client.last_seq, client._opening, client._replay_left)


# --- handshakes -----------------------------------------------------------------------------------------


def test_create_then_the_reply_then_the_snapshot_makes_the_session_live() -> None:
    client = ClientSession()
    frame = json.loads(client.create("login-token"))
    assert frame == {"id": 1, "action": "create_session", "token": "login-token", "protocol": 1}
    assert client.phase is Phase.OPENING
    assert client.receive(event(3)) == []  # nothing counts before the session's reply
    assert client.receive(opened_reply(1)) == [Opened("s1", "snapshot", 0)]
    assert (client.phase, client.session_id, client.token) == (Phase.PRESENT, "s1", "tok")
    assert client.receive(snapshot(subscriptions=("queue:sales",))) == [
        ServerTime(T0),
        cmd.Snapshot((CALL,), ("queue:sales",)),
        Live(),
    ]
    assert client.live and client.last_seq == 7


def test_a_restore_asks_for_what_came_after_the_last_event_and_takes_the_replay() -> None:
    client = live_client()
    client.receive(event(8))
    client.lost()
    assert client.phase is Phase.IDLE and client.last_seq == 8  # the session is kept for the restore
    frame = json.loads(client.restore())
    assert frame == {
        "id": 2,
        "action": "restore_session",
        "token": "tok",
        "sessionId": "s1",
        "lastSeq": 8,
        "protocol": 1,
    }
    assert client.receive(opened_reply(2, "replay", 2)) == [Opened("s1", "replay", 2)]
    held = CALL.evolve(status=CallStatus.CONNECTED)
    assert client.receive(event(9, held)) == [cmd.CallUpdate(held)]
    assert not client.live
    assert client.receive(event(10)) == [cmd.CallUpdate(CALL), Live()]
    assert client.live and client.last_seq == 10
    assert client.receive(event(10)) == []  # seen already (a replay overlapping what came live)
    assert client.receive(event(9)) == []


def test_a_restore_with_nothing_missed_is_live_at_once() -> None:
    client = live_client()
    client.lost()
    client.restore()
    assert client.receive(opened_reply(2, "replay", 0)) == [Opened("s1", "replay", 0), Live()]
    assert client.live


def test_a_restore_that_gets_a_snapshot_takes_its_sequence_number() -> None:
    client = live_client()
    client.receive(event(40))
    client.lost()
    client.restore()
    client.receive(opened_reply(2, "snapshot"))
    assert client.receive(snapshot(seq=12, calls=())) == [ServerTime(T0), cmd.Snapshot((), ()), Live()]
    assert client.last_seq == 12  # the server's count is the truth
    assert client.receive(event(13)) == [cmd.CallUpdate(CALL)]


def test_a_new_session_starts_its_sequence_again() -> None:
    client = live_client()
    client.receive(event(30))
    client.create("another-login")
    assert (client.session_id, client.token, client.last_seq) == (None, None, 0)


@pytest.mark.parametrize(
    ("code", "gone"),
    [("invalid_session_id", True), ("invalid_token", True), ("not_permitted", False), ("internal_error", False)],
)
def test_a_refused_open_says_whether_the_session_is_gone(code: str, gone: bool) -> None:
    client = live_client()
    client.lost()
    client.restore()
    [failed] = client.receive(text(protocol.error_reply(2, 401, code, "no such session")))
    assert failed == OpenFailed(401, code, "no such session")
    assert failed.session_gone is gone
    assert client.phase is Phase.IDLE and client.session_id == "s1"


def test_restore_without_a_session_is_a_programming_error() -> None:
    with pytest.raises(RuntimeError):
        ClientSession().restore()


def test_something_other_than_the_snapshot_after_the_reply_is_refused() -> None:
    client = ClientSession()
    client.create("t")
    client.receive(opened_reply(1))
    before = state(client)
    for message in (event(8), text({"type": "overflow", "message": "restore"}), text({"type": "newer"})):
        with pytest.raises(MessageError, match="snapshot"):
            client.receive(message)
        assert state(client) == before


# --- live messages --------------------------------------------------------------------------------------


def test_commands_are_numbered_frames_and_their_replies_answers() -> None:
    client = live_client()
    request_id, frame = client.command(cmd.Park("c1", 4))
    assert json.loads(frame) == {"id": request_id, "action": "park", "callId": "c1", "slot": 4}
    assert request_id == 2 and client.command(cmd.Hold("c1"))[0] == 3
    assert client.receive(text(protocol.ok_reply(2, True))) == [Answer(2, cmd.CommandResult.done())]
    assert client.receive(text(protocol.result_reply(3, Done("c9")))) == [Answer(3, cmd.CommandResult.done("c9"))]


@pytest.mark.parametrize(
    "refusal",
    [
        Refused(ActivityName.INFO, ErrorCode.WRONG_STATE, "cannot hold a call that is RINGING", "c1"),
        Refused(ActivityName.ERROR, ErrorCode.NOT_PERMITTED, "not permitted"),
        Refused(ActivityName.ERROR, ErrorCode.BAD_NUMBER, "not a number"),
    ],
)
def test_a_refusal_replied_by_the_server_reaches_the_client_as_it_was(refusal: Refused) -> None:
    reply = protocol.result_reply(5, refusal)
    assert reply["status"] == protocol.status_for(refusal.code, refusal.level)
    [answer] = live_client().receive(text(reply))
    assert answer == Answer(5, cmd.CommandResult(False, refusal.level, refusal.code, refusal.message))


def test_server_codes_the_engine_does_not_know_become_bad_request() -> None:
    [answer] = live_client().receive(text(protocol.error_reply(4, 400, "invalid_params", "bad field")))
    assert answer == Answer(4, cmd.CommandResult(False, ActivityName.ERROR, ErrorCode.BAD_REQUEST, "bad field"))


def test_a_done_command_replies_true_and_a_call_its_id() -> None:
    assert protocol.result_reply(1, DONE) == protocol.ok_reply(1, True)
    assert protocol.result_reply(2, Done("call-7")) == protocol.ok_reply(2, "call-7")


def test_notices_are_the_events_no_command_asked_for() -> None:
    client = live_client()
    failed = ActivityEvent(8, ActivityName.INFO, "transfer failed", ErrorCode.TRANSFER_FAILED, call_id="c1")
    assert client.receive(text(protocol.event_message(failed))) == [
        cmd.Notice(ActivityName.INFO, ErrorCode.TRANSFER_FAILED, "transfer failed", "c1")
    ]
    refused = ActivityEvent(9, ActivityName.ERROR, "not permitted", ErrorCode.NOT_PERMITTED)
    assert client.receive(text(protocol.event_message(refused, in_reply_to=4))) == []  # its reply tells
    subscribed = ActivityEvent(10, ActivityName.SUBSCRIBED, "subscribed", node="queue:sales")
    assert client.receive(text(protocol.event_message(subscribed, in_reply_to=5))) == []
    assert client.last_seq == 10  # each counted all the same: a restore must not ask for them again
    unknown = ActivityEvent(11, ActivityName.ERROR, "odd", None)
    assert client.receive(text(protocol.event_message(unknown))) == [
        cmd.Notice(ActivityName.ERROR, ErrorCode.BACKEND_FAILURE, "odd", None)
    ]


def test_in_reply_to_names_only_activity_events() -> None:
    assert "inReplyTo" not in protocol.event_message(CallEvent(3, CALL), in_reply_to=4)
    assert protocol.event_message(ActivityEvent(3, ActivityName.INFO, "x"), in_reply_to=4)["inReplyTo"] == 4
    assert "inReplyTo" not in protocol.event_message(ActivityEvent(3, ActivityName.INFO, "x"))


def test_overflow_and_unknown_kinds() -> None:
    client = live_client()
    assert client.receive(text({"type": "overflow", "message": "restore"})) == [Overflow()]
    assert client.receive(text({"type": "something-newer", "seq": "x"})) == []  # a newer server: not an error


@pytest.mark.parametrize(
    "message",
    [
        "",
        "{",
        "[]",
        '"event"',
        "{}",
        '{"type": 5}',
        b"\xff\xfe",
        '{"type": "event", "name": "RINGING", "call": {}}',
        '{"type": "event", "seq": 8}',
        '{"type": "event", "seq": "8", "name": "INFO"}',
        '{"type": "event", "seq": true, "name": "INFO"}',
        '{"type": "event", "seq": -1, "name": "INFO"}',
        '{"type": "event", "seq": 8, "call": []}',
        '{"type": "event", "seq": 8, "call": {"id": "c", "direction": "SIDEWAYS", "status": "RINGING", "line": "x"}}',
        '{"type": "event", "seq": 8, "call": {"id": "c", "direction": "INBOUND", "status": "RINGING", "line": "x",'
        ' "parkSlot": [1]}}',
        '{"type": "event", "seq": 8, "call": {"id": "c", "direction": "INBOUND", "status": "RINGING", "line": "x",'
        ' "setupAt": "yesterday"}}',
        '{"type": "event", "seq": 8, "name": "INFO", "callId": 5}',
        '{"type": "event", "seq": 8, "name": "INFO", "x": NaN}',
        '{"type": "snapshot", "seq": 8, "calls": {}}',
        '{"type": "snapshot", "seq": 8, "calls": [1]}',
        '{"type": "snapshot", "seq": 8, "subscriptions": [1]}',
        '{"type": "snapshot", "calls": []}',
        '{"type": "reply", "id": 2}',
        '{"type": "reply", "id": [2], "ok": true}',
        '{"type": "reply", "id": 2, "ok": "yes"}',
        "[" * 100_000 + "]" * 100_000,
        '{"type": "event", "seq": ' + "9" * 5000 + "}",
    ],
    ids=lambda value: repr(value)[:40],
)
def test_malformed_messages_are_refused_and_change_nothing(message: str | bytes) -> None:
    client = live_client()
    before = state(client)
    with pytest.raises(MessageError):
        client.receive(message)
    assert state(client) == before


@pytest.mark.parametrize(
    "result",
    [
        None,
        "s1",
        {"token": "t", "present": "snapshot"},
        {"sessionId": "s2", "present": "later"},
        {"sessionId": "s2", "token": 5, "present": "snapshot"},
        {"sessionId": "s2", "token": "t", "present": "replay", "replayCount": -1},
        {"sessionId": "s2", "token": "t", "present": "replay", "replayCount": "3"},
    ],
)
def test_a_malformed_session_reply_is_refused_and_changes_nothing(result: object) -> None:
    client = live_client()
    client.lost()
    client.restore()
    before = state(client)
    with pytest.raises(MessageError):
        client.receive(text(protocol.ok_reply(2, result)))
    assert state(client) == before


# --- fuzzing --------------------------------------------------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
good_call = st.builds(
    lambda status, slot, when: call_to_wire(CALL.evolve(status=status, park_slot=slot, connect_at=when)),
    st.sampled_from(CallStatus),
    st.none() | st.integers(0, 20),
    st.none() | st.just(T0),
)
call_objects = good_call | st.dictionaries(
    st.sampled_from(["id", "direction", "status", "line", "setupAt", "parkSlot", "alsoLines", "queuePosition"]),
    json_values | st.sampled_from(["INBOUND", "RINGING", "2026-01-05T09:00:00Z", "user:1001"]),
    max_size=8,
)
message_fields = st.fixed_dictionaries(
    {},
    optional={
        "id": st.integers(0, 4) | json_values,
        "ok": st.booleans() | json_values,
        "seq": st.integers(-1, 12) | json_values,
        "name": st.sampled_from([n.value for n in ActivityName] + ["RINGING"]) | json_values,
        "message": json_values,
        "code": st.sampled_from([c.value for c in ErrorCode] + ["invalid_token"]) | json_values,
        "level": st.sampled_from(["INFO", "ERROR"]) | json_values,
        "status": json_values,
        "callId": json_values,
        "inReplyTo": json_values,
        "call": call_objects | json_values,
        "calls": st.lists(call_objects, max_size=2) | json_values,
        "subscriptions": st.lists(st.text(max_size=8), max_size=2) | json_values,
        "now": st.sampled_from(["2026-01-05T09:00:00+00:00", "2026-01-05T09:00:00", "soon"]) | json_values,
        "result": st.fixed_dictionaries(
            {},
            optional={
                "sessionId": st.just("s2") | json_values,
                "token": st.just("t2") | json_values,
                "present": st.sampled_from(["snapshot", "replay"]) | json_values,
                "replayCount": st.integers(-1, 3) | json_values,
            },
        )
        | json_values,
    },
)
messages = st.one_of(
    st.builds(
        lambda kind, fields: text({**fields, "type": kind}),
        st.sampled_from(["reply", "event", "snapshot", "overflow", "other"]),
        message_fields,
    ),
    json_values.map(json.dumps),
    st.text(max_size=40),
    st.binary(max_size=40),
)


def client_in(phase: str) -> ClientSession:
    client = ClientSession()
    if phase == "idle":
        return client
    client.create("t")
    if phase == "opening":
        return client
    if phase == "replaying":
        client.receive(opened_reply(1, "replay", 2))
    else:
        client.receive(opened_reply(1))
        if phase == "live":
            client.receive(snapshot())
    return client


RECEIVED = (cmd.CallUpdate, cmd.Snapshot, cmd.Notice, Opened, OpenFailed, Live, Answer, ServerTime, Overflow)


@FAST
@given(st.sampled_from(["idle", "opening", "snapshot-next", "replaying", "live"]), st.lists(messages, max_size=6))
def test_any_messages_in_any_phase_give_something_to_act_on_or_a_message_error(phase: str, batch: list) -> None:
    client = client_in(phase)
    for message in batch:
        before = state(client)
        try:
            received = client.receive(message)
        except MessageError as error:
            assert str(error)
            assert state(client) == before  # refused: nothing changed
            continue
        assert all(isinstance(item, RECEIVED) for item in received), received
        if not any(isinstance(item, cmd.Snapshot) for item in received):
            assert client.last_seq >= before[3]  # only a snapshot may set the count back
        if any(isinstance(item, Live) for item in received):
            assert client.live


@FAST
@given(st.lists(st.integers(min_value=0, max_value=30), max_size=30))
def test_each_event_reaches_the_client_once_in_sequence_order(seqs: list[int]) -> None:
    client = live_client()
    seen = [item for seq in seqs for item in client.receive(event(seq))]
    expected_count = 0
    highest = 7
    for seq in seqs:
        if seq > highest:
            expected_count, highest = expected_count + 1, seq
    assert len(seen) == expected_count and client.last_seq == highest
