"""The baresip ctrl_tcp codec: netstrings, command encoding, and events -> the engine's call model."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cti_tui.core import commands as cmd
from cti_tui.core.machine import Refusal, advance
from cti_tui.core.model import CallStatus, Cause, Direction, ErrorCode
from cti_tui.protocol.baresip import (
    BaresipEvent,
    CallBook,
    FrameError,
    ListedCall,
    NetstringDecoder,
    Response,
    Tokens,
    cause_from_reason,
    close_outcome,
    encode_command,
    encode_netstring,
    number_of,
    parse_callstat,
    parse_listcalls,
    parse_message,
)

# --- netstrings ---------------------------------------------------------------------------------------------


def test_decodes_whole_and_split_frames() -> None:
    frame = encode_netstring(b'{"response":true,"ok":true,"data":"","token":"t1"}')
    decoder = NetstringDecoder()
    assert decoder.feed(frame + frame[:5]) == [{"response": True, "ok": True, "data": "", "token": "t1"}]
    assert decoder.feed(frame[5:]) == [{"response": True, "ok": True, "data": "", "token": "t1"}]
    assert decoder.buffered == 0


def test_byte_by_byte() -> None:
    frames = [encode_netstring(json.dumps({"event": True, "n": str(i)}).encode()) for i in range(3)]
    decoder = NetstringDecoder()
    out = []
    for byte in b"".join(frames):
        out += decoder.feed(bytes([byte]))
    assert [m["n"] for m in out] == ["0", "1", "2"]


@pytest.mark.parametrize(
    "garbage",
    [b"abc:{},", b":{},", b"2:{}x", b"01:{,", b"99999999:", b"-1:x,", b"3:{}}x"],
)
def test_bad_framing_raises_frame_error_and_resets(garbage: bytes) -> None:
    decoder = NetstringDecoder()
    good = encode_netstring(b'{"a":"1"}')
    with pytest.raises(FrameError) as caught:
        decoder.feed(good + garbage)
    assert caught.value.messages == [{"a": "1"}]  # what came before the garbage is not lost
    assert decoder.buffered == 0
    assert decoder.feed(good) == [{"a": "1"}]  # a fresh stream (after reconnect) decodes again


def test_oversized_frame_rejected_before_buffering() -> None:
    decoder = NetstringDecoder(max_frame=10)
    with pytest.raises(FrameError, match="exceeds"):
        decoder.feed(b"11:")


def test_well_framed_non_object_is_skipped_not_fatal() -> None:
    decoder = NetstringDecoder()
    out = decoder.feed(encode_netstring(b"[1,2]") + encode_netstring(b"\xff\xfe") + encode_netstring(b'{"k":"v"}'))
    assert out == [{"k": "v"}]
    assert decoder.skipped == 2 and decoder.last_problem


@given(st.binary(max_size=300))
def test_any_bytes_only_frame_error(data: bytes) -> None:
    decoder = NetstringDecoder()
    try:
        result = decoder.feed(data)
    except FrameError:
        return
    assert all(isinstance(m, dict) for m in result)


@given(st.lists(st.binary(max_size=40), max_size=8))
def test_any_chunks_only_frame_error(chunks: list[bytes]) -> None:
    decoder = NetstringDecoder()
    for chunk in chunks:
        with contextlib.suppress(FrameError):
            decoder.feed(chunk)


json_text = st.text(max_size=40)


@given(
    st.lists(st.dictionaries(st.text(max_size=10), json_text, max_size=5), max_size=5),
    st.integers(min_value=1, max_value=17),
)
def test_roundtrip_any_split(messages: list[dict[str, str]], step: int) -> None:
    stream = b"".join(encode_netstring(json.dumps(m).encode()) for m in messages)
    decoder = NetstringDecoder()
    out = []
    for i in range(0, len(stream), step):
        out += decoder.feed(stream[i : i + step])
    assert out == messages


# --- commands -----------------------------------------------------------------------------------------------


@given(st.sampled_from(["dial", "accept", "callfind", "sndcode"]), st.none() | json_text, json_text)
def test_encode_command_roundtrip_all_strings(command: str, params: str | None, token: str) -> None:
    (decoded,) = NetstringDecoder().feed(encode_command(command, params, token))
    assert decoded["command"] == command and decoded["token"] == token
    assert decoded.get("params") == params
    assert all(isinstance(v, str) for v in decoded.values())


@pytest.mark.parametrize("bad", [{"params": 5}, {"token": 1}, {"params": b"x"}])
def test_encode_command_refuses_non_strings(bad: dict[str, object]) -> None:
    with pytest.raises(TypeError, match="must be a string"):
        encode_command("dial", **bad)  # type: ignore[arg-type]


def test_tokens_are_strings_and_unique() -> None:
    tokens = Tokens()
    assert [tokens.next() for _ in range(3)] == ["cti-1", "cti-2", "cti-3"]


def test_parse_messages() -> None:
    assert parse_message({"response": True, "ok": True, "data": "call not found\n", "token": "t"}) == Response(
        True, "call not found\n", "t"
    )
    assert Response(True, "call not found (id=x)\n", "t").refused
    assert Response(False, "command not found (hold)\n", "t").refused
    assert not Response(True, "", "t").refused
    event = parse_message({"event": True, "type": "CALL_RTCP", "class": "call", "id": "x", "rtcp_stats": {"a": 1}})
    assert isinstance(event, BaresipEvent) and event.param == ""
    assert parse_message({"whatever": 1}) is None


# --- SIP bits and causes ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "number"),
    [
        ("sip:+33123456789@127.0.0.1:5090", "+33123456789"),
        ("Alice <sip:1001@host;transport=udp>", "1001"),
        ("sip:1001;user=phone@host", "1001"),
        ("sip:host", "anonymous"),
        ("tel:+15550100", "+15550100"),
    ],
)
def test_number_of(uri: str, number: str) -> None:
    assert number_of(uri) == number


@pytest.mark.parametrize(
    ("reason", "cause"),
    [
        ("486 Rejected", Cause.REJECTED),
        ("486 Busy Here", Cause.BUSY),
        ("603 Decline", Cause.REJECTED),
        ("404 Not Found", Cause.UNREACHABLE),
        ("480 Temporarily Unavailable", Cause.NO_ANSWER),
        ("487 Request Terminated", Cause.CANCELLED),
        ("Connection reset by user", Cause.NORMAL),
        ("Connection reset by peer", Cause.NORMAL),
        ("Call transfered", Cause.TRANSFERRED),
        ("500 Server Internal Error", Cause.ERROR),
    ],
)
def test_cause_from_reason(reason: str, cause: Cause) -> None:
    assert cause_from_reason(reason) is cause


def test_close_outcomes() -> None:
    assert close_outcome("Connection reset by user", connected=False, intent="reject") == (
        CallStatus.CANCEL,
        Cause.REJECTED,
    )
    assert close_outcome("Connection reset by peer", connected=True) == (CallStatus.HANGUP, Cause.NORMAL)
    assert close_outcome("Call transfered", connected=True) == (CallStatus.HANGUP, Cause.TRANSFERRED)
    assert close_outcome("Connection reset by peer", connected=False) == (CallStatus.CANCEL, Cause.CANCELLED)
    assert close_outcome("486 Busy Here", connected=False) == (CallStatus.CANCEL, Cause.BUSY)
    assert close_outcome("Connection reset by user", connected=False, intent="hangup") == (
        CallStatus.HANGUP,
        Cause.CANCELLED,
    )


@given(st.text(max_size=60), st.booleans(), st.sampled_from([None, "reject", "hangup", "transferred"]))
def test_close_outcome_is_always_terminal(reason: str, connected: bool, intent: str | None) -> None:
    status, cause = close_outcome(reason, connected=connected, intent=intent)
    assert status.ended and isinstance(cause, Cause)


# --- listcalls / callstat -----------------------------------------------------------------------------------

LISTCALLS = (
    "\n--- Active calls (2) ---\n"
    "> [line 1]  0:00:01  ESTABLISHED  (on hold)  sip:+33123456789@127.0.0.1:25090\n"
    "  [line 2]  0:00:00   INCOMING             sip:5555@127.0.0.1:25092\n\n"
)
CALLSTAT = (
    "\n===== Call debug (INCOMING) =====\n local_uri: Agent A <sip:1001@127.0.0.1:25071>\n"
    " peer_uri:  Alice Caller <sip:+33123456789@127.0.0.1:25090>\n af=AF_INET id=1-17627@127.0.0.1\n"
    " direction: Incoming\nSDP session\n"
)


def test_parse_listcalls_and_callstat() -> None:
    assert parse_listcalls(LISTCALLS) == [
        ListedCall(1, 1, "ESTABLISHED", True, "sip:+33123456789@127.0.0.1:25090"),
        ListedCall(2, 0, "INCOMING", False, "sip:5555@127.0.0.1:25092"),
    ]
    assert parse_listcalls("\n--- Active calls (0) ---\n\n") == []
    stat = parse_callstat(CALLSTAT)
    assert stat is not None
    assert (stat.call_id, stat.state, stat.direction, stat.peer_uri, stat.peer_name) == (
        "1-17627@127.0.0.1",
        "INCOMING",
        Direction.INBOUND,
        "sip:+33123456789@127.0.0.1:25090",
        "Alice Caller",
    )
    assert parse_callstat("\n(no active calls)\n") is None


@given(st.text(max_size=200))
def test_parsers_never_raise(text: str) -> None:
    parse_listcalls(text)
    parse_callstat(text)


# --- the call book ------------------------------------------------------------------------------------------

AOR = "sip:1001@127.0.0.1:5071"
T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


class Ticks:
    def __init__(self) -> None:
        self.t = T0

    def __call__(self) -> datetime:
        self.t += timedelta(seconds=1)
        return self.t


def book() -> CallBook:
    return CallBook("user:1001", "1001", "Agent One", account=AOR, now=Ticks())


def ev(kind: str, call_id: str = "c1", direction: str = "incoming", param: str = "", **kw: str) -> BaresipEvent:
    return BaresipEvent(
        kind,
        "call",
        call_id,
        direction,
        kw.get("peer", "sip:+33123456789@h"),
        kw.get("name", "Alice"),
        param,
        kw.get("account", AOR),
    )


def calls(reports: list[cmd.Report]):
    return [r.call for r in reports if isinstance(r, cmd.CallUpdate)]


def test_inbound_lifecycle_with_hold_follows_the_machine() -> None:
    b = book()
    seen = []
    for reports in (
        b.on_event(ev("CALL_INCOMING")),
        b.on_event(ev("CALL_ESTABLISHED")),
        b.set_hold("c1", True),
        b.set_hold("c1", False),
        b.on_event(ev("CALL_CLOSED", param="Connection reset by peer")),
    ):
        seen += calls(reports)
    assert [c.status for c in seen] == ["RINGING", "CONNECTED", "ON_HOLD", "CONNECTED", "HANGUP"]
    first = seen[0]
    assert (first.direction, first.source, first.source_name, first.destination) == (
        Direction.INBOUND,
        "+33123456789",
        "Alice",
        "1001",
    )
    current = None
    for call in seen:  # every step is legal for the engine
        outcome = advance(current, call)
        assert not isinstance(outcome, Refusal)
        current = outcome
    assert seen[-1].cause == "normal" and seen[-1].connect_at and seen[-1].release_at
    assert b.on_event(ev("CALL_ESTABLISHED")) == []  # late events of a finished call are ignored


def test_outbound_ringing_progress_and_failures() -> None:
    b = book()
    (ringing,) = calls(b.on_event(ev("CALL_RINGING", "o1", "outgoing", peer="sip:5555@h", name="")))
    assert (ringing.status, ringing.direction, ringing.destination, ringing.source) == (
        "RINGING",
        Direction.OUTBOUND,
        "5555",
        "1001",
    )
    assert b.on_event(ev("CALL_PROGRESS", "o1", "outgoing")) == []  # still ringing: nothing new
    (busy,) = calls(b.on_event(ev("CALL_CLOSED", "o1", "outgoing", param="486 Busy Here")))
    assert (busy.status, busy.cause) == ("CANCEL", "busy")
    (gone,) = calls(b.on_event(ev("CALL_CLOSED", "o2", "outgoing", param="404 Not Found")))
    assert (gone.status, gone.cause, gone.direction) == ("CANCEL", "unreachable", Direction.OUTBOUND)


def test_reject_and_transfer_causes() -> None:
    b = book()
    b.on_event(ev("CALL_INCOMING"))
    b.intend("c1", "reject")
    (rejected,) = calls(b.on_event(ev("CALL_CLOSED", param="Connection reset by user")))
    assert (rejected.status, rejected.cause) == ("CANCEL", "rejected")

    b.on_event(ev("CALL_RINGING", "o1", "outgoing"))
    b.on_event(ev("CALL_ESTABLISHED", "o1", "outgoing"))
    (moved,) = calls(b.on_event(ev("CALL_CLOSED", "o1", "outgoing", param="Call transfered")))
    assert (moved.status, moved.cause) == ("HANGUP", "transferred")

    # the transferee side: TRANSFER, then the old leg closes "by peer" — it was transferred away
    b.on_event(ev("CALL_INCOMING", "i2"))
    b.on_event(ev("CALL_ESTABLISHED", "i2"))
    assert b.on_event(ev("TRANSFER", "i2", param="sip:1005@h")) == []
    (away,) = calls(b.on_event(ev("CALL_CLOSED", "i2", param="Connection reset by peer")))
    assert away.cause == "transferred"


def test_transfer_failed_ends_the_call_with_a_notice() -> None:
    b = book()
    b.on_event(ev("CALL_RINGING", "o1", "outgoing"))
    b.on_event(ev("CALL_ESTABLISHED", "o1", "outgoing"))
    reports = b.on_event(ev("TRANSFER_FAILED", "o1", "outgoing", param="404 Not Found"))
    notice = next(r for r in reports if isinstance(r, cmd.Notice))
    assert notice.code is ErrorCode.TRANSFER_FAILED and "404" in notice.message
    (ended,) = calls(reports)
    assert ended.status is CallStatus.HANGUP


def test_dtmf_and_other_accounts() -> None:
    b = book()
    b.on_event(ev("CALL_INCOMING"))
    b.on_event(ev("CALL_DTMF_START", param="1"))
    b.on_event(ev("CALL_DTMF_START", param="#"))
    assert b.dtmf["c1"] == "1#"
    assert b.on_event(ev("CALL_INCOMING", "x", account="sip:other@h")) == []


def test_resync_adopts_present_and_ends_vanished() -> None:
    b = book()
    b.on_event(ev("CALL_INCOMING", "gone"))
    stat = parse_callstat(CALLSTAT)
    assert stat is not None
    snapshot = b.resync([(ListedCall(1, 5, "ESTABLISHED", True, stat.peer_uri), stat)])
    by_id = {c.id: c for c in snapshot.calls}
    assert by_id["1-17627@127.0.0.1"].status is CallStatus.ON_HOLD
    assert by_id["1-17627@127.0.0.1"].connect_at is not None
    assert by_id["gone"].status is CallStatus.CANCEL  # it ended while nobody listened
    assert [c.id for c in b.live()] == ["1-17627@127.0.0.1"]


@given(
    st.lists(
        st.tuples(
            st.sampled_from(
                [
                    "CALL_INCOMING",
                    "CALL_RINGING",
                    "CALL_PROGRESS",
                    "CALL_ESTABLISHED",
                    "CALL_CLOSED",
                    "TRANSFER",
                    "TRANSFER_FAILED",
                    "CALL_DTMF_START",
                    "CALL_RTCP",
                    "",
                ]
            ),
            st.sampled_from(["a", "b", ""]),
            st.sampled_from(["incoming", "outgoing", ""]),
            st.text(max_size=20),
            st.sampled_from([None, "hold", "resume"]),
        ),
        max_size=25,
    )
)
def test_any_event_sequence_gives_legal_engine_moves(steps) -> None:
    b = book()
    current: dict[str, object] = {}
    for kind, call_id, direction, param, action in steps:
        reports = b.on_event(ev(kind, call_id, direction, param))
        if action and call_id:
            reports += b.set_hold(call_id, action == "hold")
        for call in calls(reports):
            outcome = advance(current.get(call.id), call)  # type: ignore[arg-type]
            assert not isinstance(outcome, Refusal), (steps, call)
            current[call.id] = outcome
