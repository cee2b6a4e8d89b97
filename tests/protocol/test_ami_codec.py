"""The AMI codec: parsing (real transcripts, chunking, bounds, garbage), correlation by ActionID, encoding."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cti_tui.protocol.ami import (
    Action,
    ActionIds,
    ActionTracker,
    AmiEncodeError,
    AmiParser,
    Banner,
    Event,
    Item,
    ParseError,
    Reply,
    Response,
    encode_action,
    encode_fields,
    encode_login,
    parse_block,
)

TRANSCRIPTS = Path(__file__).resolve().parents[1] / "asterisk" / "transcripts"
SESSION = (TRANSCRIPTS / "session.ami").read_bytes()  # tests/asterisk/record_transcript.py, against Asterisk 22
PART = SESSION[: SESSION.index(b"\r\n\r\n", 40_000) + 4]  # ~40 kB of it, whole messages, for the properties
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

LOGIN = (
    b"Asterisk Call Manager/11.0.0\r\n"
    b"Response: Success\r\nActionID: cti-0f2f72-1\r\nMessage: Authentication accepted\r\n\r\n"
    b"Event: FullyBooted\r\nPrivilege: system,all\r\nUptime: 1\r\nLastReload: 1\r\nStatus: Fully Booted\r\n\r\n"
)


def feed_all(data: bytes, chunks: list[int] | None = None, **options: int) -> list[Item]:
    parser = AmiParser(**options)
    if chunks is None:
        return parser.feed(data)
    out: list[Item] = []
    position = 0
    for size in chunks:
        out += parser.feed(data[position : position + size])
        position += size
    return out + parser.feed(data[position:])


# --- parsing ---------------------------------------------------------------------------------------------------


def test_banner_response_and_event() -> None:
    banner, response, event = AmiParser().feed(LOGIN)
    assert banner == Banner("11.0.0", "Asterisk Call Manager/11.0.0")
    assert isinstance(response, Response) and response.ok and response.status == "Success"
    assert response.action_id == "cti-0f2f72-1" and response.message == "Authentication accepted"
    assert isinstance(event, Event) and event.name == "FullyBooted"
    assert event.fields[1:] == (
        ("Privilege", "system,all"),
        ("Uptime", "1"),
        ("LastReload", "1"),
        ("Status", "Fully Booted"),
    )
    assert event.get("status") == "Fully Booted"  # case-insensitive lookup
    assert event.get("Missing", "-") == "-" and "uptime" in event and "Nope" not in event


def test_byte_by_byte_gives_the_same_items() -> None:
    assert feed_all(LOGIN, [1] * len(LOGIN)) == AmiParser().feed(LOGIN)


def test_real_session_parses_without_error_and_one_item_per_message() -> None:
    items = AmiParser().feed(SESSION)
    assert not [item for item in items if isinstance(item, ParseError)]
    assert isinstance(items[0], Banner)
    # an independent count: the messages are the blocks between blank lines, after the banner line
    blocks = [b for b in SESSION.split(b"\r\n", 1)[1].split(b"\r\n\r\n") if b.strip()]
    assert len(items) - 1 == len(blocks)
    assert sum(isinstance(item, Event) for item in items) == SESSION.count(b"\r\nEvent: ") + SESSION.startswith(
        b"Event"
    )
    names = {item.name for item in items if isinstance(item, Event)}
    for expected in (
        "ContactStatus",
        "Newchannel",
        "DialBegin",
        "BridgeEnter",
        "Hangup",
        "QueueCallerJoin",
        "AgentConnect",
        "ParkedCall",
        "QueueMemberPause",
        "OriginateResponse",
        "DeviceStateChange",
    ):
        assert expected in names


def test_duplicate_headers_are_kept_in_order() -> None:
    tagged = [
        item
        for item in AmiParser().feed(SESSION)
        if isinstance(item, Event) and "CTI_CALL=c2c-1" in item.get_all("ChanVariable")
    ]
    assert len(tagged) > 10, "the click-to-call channel's events carry the variables Originate set"
    assert {item.name for item in tagged} >= {"Newstate", "DialBegin", "BridgeEnter", "Hangup"}
    first = tagged[0]
    assert first.get_all("ChanVariable") == ["CTI_CALL=c2c-1", "CTI_AGENT=1001"]
    assert first.variables() == {"CTI_CALL": "c2c-1", "CTI_AGENT": "1001"}
    keys = [key for key, _ in first.fields]
    assert keys.index("Linkedid") < keys.index("ChanVariable")  # the order Asterisk sent


def test_bare_lf_line_ends_and_stray_blank_lines() -> None:
    data = b"Asterisk Call Manager/11.0.0\n\r\n\nEvent: A\nK: v\n\nEvent: B\r\nK:v2\r\n\r\n\r\n"
    assert AmiParser().feed(data) == [
        Banner("11.0.0", "Asterisk Call Manager/11.0.0"),
        Event((("Event", "A"), ("K", "v"))),
        Event((("Event", "B"), ("K", "v2"))),
    ]


def test_values_keep_colons_and_inner_spaces() -> None:
    (event,) = AmiParser(expect_banner=False).feed(b"Event: X\r\nURI: sip:1001@127.0.0.1:5062\r\nName:  two\r\n\r\n")
    assert isinstance(event, Event)
    assert event.get("URI") == "sip:1001@127.0.0.1:5062" and event.get("Name") == " two"


def test_response_body_lines_without_colon() -> None:
    data = b"Response: Follows\r\nPrivilege: Command\r\nline one\r\n--END COMMAND--\r\n\r\n"
    (response,) = AmiParser(expect_banner=False).feed(data)
    assert isinstance(response, Response) and response.ok
    assert response.body == ("line one", "--END COMMAND--")


def test_no_banner_first_is_parsed_as_messages() -> None:
    assert AmiParser().feed(b"Event: X\r\n\r\n") == [Event((("Event", "X"),))]


def test_a_block_that_is_no_message_is_an_error_item_and_the_stream_goes_on() -> None:
    items = AmiParser(expect_banner=False).feed(b"Foo: bar\r\n\r\njunk\r\n\r\nEvent: Y\r\n\r\n")
    assert [type(item) for item in items] == [ParseError, ParseError, Event]
    assert items[0].fields == (("Foo", "bar"),)  # type: ignore[union-attr]


def test_invalid_utf8_is_replaced_not_raised() -> None:
    (event,) = AmiParser(expect_banner=False).feed(b"Event: X\r\nCallerIDName: \xff\xfeAl\r\n\r\n")
    assert isinstance(event, Event) and event.get("CallerIDName") == "\ufffd\ufffdAl"


# --- bounds ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("chunk", [1, 7, 64, 100_000])
def test_oversized_message_is_an_error_item_and_memory_stays_bounded(chunk: int) -> None:
    limit = 200
    big = b"Event: Big\r\n" + b"".join(b"Field%d: %s\r\n" % (i, b"x" * 40) for i in range(40)) + b"\r\n"
    data = b"Event: A\r\n\r\n" + big + b"Event: B\r\n\r\n"
    parser = AmiParser(expect_banner=False, max_message=limit)
    out: list[Item] = []
    for start in range(0, len(data), chunk):
        out += parser.feed(data[start : start + chunk])
        assert parser.buffered <= limit + 2 + chunk
    assert [type(item) for item in out] == [Event, ParseError, Event]
    error = out[1]
    assert isinstance(error, ParseError) and error.size == len(big) and "200 bytes" in error.reason
    assert parser.errors == 1


def test_too_many_lines_is_an_error_item() -> None:
    data = b"Event: Many\r\n" + b"K: v\r\n" * 50 + b"\r\nEvent: Next\r\n\r\n"
    items = AmiParser(expect_banner=False, max_fields=20).feed(data)
    assert [type(item) for item in items] == [ParseError, Event]


def test_a_very_long_first_line_is_not_taken_for_a_banner() -> None:
    data = b"x" * 300 + b"\r\nEvent: Z\r\n\r\n"
    whole = AmiParser().feed(data)
    assert whole == feed_all(data, [100, 100, 100])
    assert [type(item) for item in whole] == [ParseError]  # the junk line and the event were one block


# --- properties --------------------------------------------------------------------------------------------------


@FAST
@given(st.lists(st.integers(min_value=1, max_value=4096), max_size=60))
def test_any_chunking_of_the_real_session_gives_the_same_items(chunks: list[int]) -> None:
    assert feed_all(PART, chunks) == AmiParser().feed(PART)


@pytest.mark.parametrize("size", [3, 1000, 65536])
def test_the_whole_session_in_fixed_chunks(size: int) -> None:
    assert feed_all(SESSION, [size] * (len(SESSION) // size)) == AmiParser().feed(SESSION)


@FAST
@given(st.binary(max_size=2000), st.lists(st.integers(min_value=1, max_value=300), max_size=20))
def test_garbage_never_raises_and_chunking_does_not_matter(data: bytes, chunks: list[int]) -> None:
    whole = AmiParser(max_message=256).feed(data)
    assert feed_all(data, chunks, max_message=256) == whole
    assert all(isinstance(item, Banner | Response | Event | Action | ParseError) for item in whole)


@FAST
@given(
    st.lists(st.tuples(st.integers(0, len(PART) - 1), st.binary(min_size=0, max_size=8)), max_size=30),
    st.lists(st.integers(min_value=1, max_value=2048), max_size=30),
)
def test_a_mangled_session_never_raises(edits: list[tuple[int, bytes]], chunks: list[int]) -> None:
    data = bytearray(PART)
    for position, replacement in sorted(edits, reverse=True):
        data[position : position + len(replacement)] = replacement
    whole = AmiParser(max_message=4096).feed(bytes(data))
    assert feed_all(bytes(data), chunks, max_message=4096) == whole


_key = st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp"), blacklist_characters=":"),
    min_size=1,
    max_size=12,
)
_value = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\x00"), max_size=40)


@FAST
@given(
    st.from_regex(r"\A[A-Za-z][A-Za-z0-9]{0,20}\Z"),
    st.lists(st.tuples(_key, _value), max_size=12).filter(
        lambda pairs: all(k.casefold() not in ("action", "actionid") for k, _ in pairs)
    ),
    st.from_regex(r"\A[a-z0-9-]{1,20}\Z"),
)
def test_encode_then_parse_round_trips(name: str, fields: list[tuple[str, str]], action_id: str) -> None:
    data = encode_action(name, fields, action_id)
    (action,) = AmiParser(expect_banner=False).feed(data)
    assert isinstance(action, Action)
    assert action.name == name and action.action_id == action_id
    assert list(action.fields[2:]) == fields


@FAST
@given(st.lists(st.tuples(_key, _value), min_size=1, max_size=8), st.integers(min_value=1, max_value=64))
def test_events_written_by_a_server_round_trip_in_any_chunking(fields: list[tuple[str, str]], chunk: int) -> None:
    data = encode_fields([("Event", "Custom"), *fields]) * 3
    items = feed_all(data, [chunk] * (len(data) // chunk), expect_banner=False)
    assert items == [Event((("Event", "Custom"), *fields))] * 3


# --- encoding --------------------------------------------------------------------------------------------------


def test_action_first_then_action_id_then_fields_in_order() -> None:
    data = encode_action(
        "Originate", [("Channel", "PJSIP/1001"), ("Variable", "A=1"), ("Variable", "B=2"), ("Priority", 1)], "x-1"
    )
    assert data == (
        b"Action: Originate\r\nActionID: x-1\r\nChannel: PJSIP/1001\r\nVariable: A=1\r\nVariable: B=2\r\n"
        b"Priority: 1\r\n\r\n"
    )
    assert encode_action("Ping") == b"Action: Ping\r\n\r\n"
    assert encode_action("QueuePause", {"Paused": True}) == b"Action: QueuePause\r\nPaused: true\r\n\r\n"


@pytest.mark.parametrize(
    "value", ["x\r\nAction: Command", "x\nCommand: core stop now", "x\rY", "nul\x00byte", "Bob\r\n\r\nAction: Logoff"]
)
def test_cr_lf_nul_in_a_value_is_refused(value: str) -> None:
    with pytest.raises(AmiEncodeError, match="header injection"):
        encode_action("Originate", {"CallerID": value})


@pytest.mark.parametrize("key", ["", " Lead", "Trail ", "Co:lon", "Two\r\nLines", 3])
def test_bad_header_names_are_refused(key: object) -> None:
    with pytest.raises(AmiEncodeError):
        encode_action("Ping", [(key, "v")])  # type: ignore[list-item]


@pytest.mark.parametrize("name", ["", "Two Words", "Ping\r\n", " Ping"])
def test_bad_action_names_are_refused(name: str) -> None:
    with pytest.raises(AmiEncodeError):
        encode_action(name)


def test_action_and_action_id_cannot_be_smuggled_as_fields() -> None:
    for key in ("Action", "actionid"):
        with pytest.raises(AmiEncodeError):
            encode_action("Ping", [(key, "Command")])


def test_values_must_be_text_numbers_or_booleans() -> None:
    with pytest.raises(AmiEncodeError, match="must be str"):
        encode_action("Ping", {"X": 1.5})
    with pytest.raises(AmiEncodeError, match="UTF-8"):
        encode_action("Ping", {"X": "\ud800"})


def test_login_secret_never_shows_in_repr() -> None:
    data = encode_login("cti", "s3cr3t-value", "id-1")
    (action,) = AmiParser(expect_banner=False).feed(data)
    assert isinstance(action, Action) and action.get("Secret") == "s3cr3t-value"
    assert "s3cr3t-value" not in repr(action)
    assert "Secret='***'" in repr(action)


def test_action_ids_differ_between_connections() -> None:
    first, second = ActionIds(), ActionIds()
    assert first.next() != second.next()
    assert re.fullmatch(r"cti-[0-9a-f]{6}-2", first.next())


# --- correlation -------------------------------------------------------------------------------------------------


def _replies(data: bytes) -> tuple[list[Reply], list[Item]]:
    """Feed a transcript through a tracker that 'sent' every ActionID the transcript answers."""
    items = AmiParser().feed(data)
    tracker = ActionTracker()
    for item in items:
        if isinstance(item, Response) and item.action_id:
            tracker.sent(item.action_id, "?")
    replies: list[Reply] = []
    others: list[Item] = []
    for item in items:
        for out in tracker.receive(item):
            (replies if isinstance(out, Reply) else others).append(out)  # type: ignore[arg-type]
    assert not tracker.pending
    return replies, others


def test_lists_of_the_real_session_are_collected_whole() -> None:
    replies, others = _replies(SESSION)
    responses = [item for item in AmiParser().feed(SESSION) if isinstance(item, Response)]
    assert len(replies) == len(responses)  # every action answered once
    lists = [reply for reply in replies if reply.complete is not None]
    for reply in lists:
        assert reply.complete is not None and reply.complete.get("ListItems") == str(len(reply.items))
        assert all(item.action_id == reply.action_id for item in reply.items)
    channels = [r for r in lists if r.complete and r.complete.name == "CoreShowChannelsComplete"]
    assert [len(r.items) for r in channels] == [0, 2, 2, 2]  # idle, click-to-call, trunk call, before park
    assert {item.get("Channel").split("-")[0] for item in channels[1].items} == {"PJSIP/1001", "PJSIP/1002"}
    queues = [r for r in lists if r.complete and r.complete.name == "QueueStatusComplete"]
    assert all(len(r.events("QueueParams")) == 2 and len(r.events("QueueMember")) == 4 for r in queues)
    paused = [m for r in queues for m in r.events("QueueMember") if m.get("Paused") == "1"]
    assert [(m.get("Location"), m.get("PausedReason")) for m in paused] == [("PJSIP/1001", "lunch")]
    parked = [r for r in lists if r.complete and r.complete.name == "ParkedCallsComplete"]
    assert [len(r.items) for r in parked] == [0, 1] and parked[1].items[0].get("ParkingSpace") == "701"
    failed = [reply for reply in replies if not reply.ok]
    assert [reply.message for reply in failed] == ["Extension does not exist."]
    # list items never leak out as events; what the PBX sent on its own does
    assert not any(isinstance(o, Event) and o.name in ("CoreShowChannel", "QueueMember") for o in others)
    assert any(isinstance(o, Event) and o.name == "OriginateResponse" and o.action_id for o in others)


def test_tracker_plain_error_list_truncation_and_unknown_ids() -> None:
    tracker = ActionTracker(max_items=2)
    tracker.sent("a", "Ping")
    tracker.sent("b", "CoreShowChannels")
    tracker.sent("c", "Originate")
    assert tracker.receive(Response((("Response", "Success"), ("ActionID", "zzz")))) == [
        Response((("Response", "Success"), ("ActionID", "zzz")))
    ]
    (ping,) = tracker.receive(Response((("Response", "Success"), ("ActionID", "a"), ("Ping", "Pong"))))
    assert isinstance(ping, Reply) and ping.ok and ping.action == "Ping" and ping.items == ()
    (error,) = tracker.receive(Response((("Response", "Error"), ("ActionID", "c"), ("Message", "No such channel"))))
    assert isinstance(error, Reply) and not error.ok and error.message == "No such channel"
    assert tracker.receive(Response((("Response", "Success"), ("ActionID", "b"), ("EventList", "start")))) == []
    item = Event((("Event", "CoreShowChannel"), ("ActionID", "b")))
    assert tracker.receive(item) == [] and tracker.receive(item) == [] and tracker.receive(item) == []
    stray = Event((("Event", "Newchannel"),))
    assert tracker.receive(stray) == [stray]
    # a closing event without an EventList header still closes by its name
    (listing,) = tracker.receive(Event((("Event", "CoreShowChannelsComplete"), ("ActionID", "b"))))
    assert isinstance(listing, Reply) and len(listing.items) == 2 and listing.truncated
    assert tracker.pending == []


def test_tracker_forget_and_clear() -> None:
    tracker = ActionTracker()
    tracker.sent("a", "Ping")
    tracker.sent("b", "Status")
    tracker.forget("a")
    late = Response((("Response", "Success"), ("ActionID", "a")))
    assert tracker.receive(late) == [late]  # nobody waits any more: passed through
    assert tracker.clear() == ["b"] and tracker.pending == []


def test_parse_block_alone() -> None:
    assert parse_block(b"Response: Goodbye\r\nMessage: Thanks for all the fish.\r\n") == Response(
        (("Response", "Goodbye"), ("Message", "Thanks for all the fish."))
    )
    assert isinstance(parse_block(b"\r\n"), ParseError)
