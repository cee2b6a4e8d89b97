"""Event frames with the body encoded once per audience (issue 19, broadcast speed): the same bytes as encoding
each session's message whole, and one encoding of a call's body however many sessions number it."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from cti_tui.core.model import ActivityEvent, ActivityName, Call, CallEvent, CallStatus, Direction, ErrorCode
from cti_tui.protocol import session as protocol
from cti_tui.protocol.session import ClientSession, EventFrames


def a_call(status: CallStatus = CallStatus.RINGING, name: str = 'Zoë \u2400 O\'Brien "Ü"') -> Call:
    return Call(
        id="20260105090000-1",
        cid="7",
        direction=Direction.INBOUND,
        status=status,
        line="user:1001",
        source="+12025550101",
        destination="1001",
        source_name=name,
        setup_at=datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
        release_at=datetime(2026, 1, 5, 9, 1, tzinfo=UTC) if status.ended else None,
        also=("queue:sales",),
    )


def whole(event: CallEvent | ActivityEvent, in_reply_to: str | int | None = None) -> bytes:
    """What a session sent before: its own message encoded whole."""
    return protocol.encode(protocol.event_message(event, in_reply_to)).encode("utf-8")


@given(
    seq=st.integers(min_value=0, max_value=10**12),
    name=st.text(st.characters(blacklist_categories=("Cs",)), max_size=40),  # (the engine shows lone surrogates)
)
def test_a_spliced_frame_is_the_whole_message_byte_for_byte(seq: int, name: str) -> None:
    event = CallEvent(seq, a_call(name=name))
    assert EventFrames().frame(event) == whole(event)


def test_activity_events_keep_their_reply_id_and_read_back_as_before() -> None:
    frames = EventFrames()
    refused = ActivityEvent(9, ActivityName.INFO, "slot 3 is empty", ErrorCode.SLOT_EMPTY, call_id="c1")
    assert frames.frame(refused, in_reply_to=42) == whole(refused, 42)
    assert json.loads(frames.frame(refused, in_reply_to=42))["inReplyTo"] == 42
    ended = CallEvent(10, a_call(CallStatus.HANGUP))
    client = ClientSession()
    client.phase, client.last_seq = protocol.Phase.LIVE, 8
    (update,) = client.receive(frames.frame(ended))
    assert update.call == ended.call and client.last_seq == 10  # type: ignore[union-attr]


def test_many_sessions_numbering_one_call_event_encode_its_body_once() -> None:
    frames = EventFrames()
    ringing, answered = a_call(), a_call(CallStatus.ACCEPTED)
    sent = [frames.frame(CallEvent(100 + session, ringing)) for session in range(1_000)]
    assert frames.bodies == 1
    assert [json.loads(f)["seq"] for f in sent] == list(range(100, 1_100))
    assert len(set(sent)) == 1_000  # each session's own seq
    for session in range(1_000):
        frames.frame(CallEvent(200 + session, answered))
    assert frames.bodies == 2
    # an equal call in another object (a session that had to make some text visible): encoded for itself
    frames.frame(CallEvent(5, a_call(CallStatus.ACCEPTED)))
    assert frames.bodies == 3
