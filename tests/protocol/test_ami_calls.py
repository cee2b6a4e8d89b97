"""One agent's Asterisk channels as the engine's calls (ChannelBook), from a real AMI session and by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cti_tui.core import commands as cmd
from cti_tui.core.machine import Refusal, advance
from cti_tui.core.model import Call, CallStatus, Cause, Direction
from cti_tui.protocol.ami import AmiParser, Event
from cti_tui.protocol.ami_calls import ChannelBook, cause_of

SESSION = (Path(__file__).resolve().parents[1] / "asterisk" / "transcripts" / "session.ami").read_bytes()
EVENTS = [item for item in AmiParser().feed(SESSION) if isinstance(item, Event)]
T0 = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def replay(extension: str, events: list[Event] = EVENTS) -> tuple[ChannelBook, list[Call]]:
    """Every call update the book reports for ``extension`` over ``events``, each checked against the
    engine's state machine (a report the connector would refuse fails the test)."""
    book = ChannelBook(extension, f"user:{extension}", f"Agent {extension}", now=lambda: T0)
    updates: list[Call] = []
    current: dict[str, Call] = {}
    for event in events:
        for report in book.on_event(event):
            assert isinstance(report, cmd.CallUpdate)
            outcome = advance(current.get(report.call.id), report.call)
            assert not isinstance(outcome, Refusal), (outcome, report.call)
            current[report.call.id] = report.call
            updates.append(report.call)
    return book, updates


def story(updates: list[Call]) -> dict[str, list[str]]:
    """Each call's statuses in order (an update that only changes the party keeps the status: not repeated)."""
    calls: dict[str, list[str]] = {}
    for call in updates:
        path = calls.setdefault(call.id, [])
        if not path or path[-1] != call.status.value:
            path.append(call.status.value)
    return calls


def test_agent_1003_click_to_call_out_through_the_trunk() -> None:
    book, updates = replay("1003")
    (call_id,) = story(updates)
    assert story(updates)[call_id] == ["INITIAL", "ACCEPTED", "RINGING", "CONNECTED", "HANGUP"]
    last = updates[-1]
    assert last.direction is Direction.OUTBOUND and last.destination == "+12025550123"
    assert last.source == "1003" and last.cause == Cause.NORMAL.value and last.cid.startswith("PJSIP/1003-")
    assert book.live() == []


def test_agent_1002_inbound_calls_and_a_queue_call_it_answered() -> None:
    _, updates = replay("1002")
    stories = story(updates)
    # the click-to-call from 1001 rang 1002; the queue call (ringall) was answered by 1002; then the park
    # call; every one answered and hung up
    assert [s for s in stories.values() if s[0] == "RINGING"] == [["RINGING", "CONNECTED", "HANGUP"]] * 3
    queue_call = next(c for c in updates if c.status is CallStatus.CONNECTED and c.source == "sipp")
    assert queue_call.direction is Direction.INBOUND and queue_call.destination == "1002"


def test_agent_1001_queue_call_answered_elsewhere_is_cancelled() -> None:
    _, updates = replay("1001")
    ends = {c.id: c for c in updates if c.ended}
    taken = [c for c in ends.values() if c.status is CallStatus.CANCEL]
    assert [(c.direction, c.source, c.cause) for c in taken] == [(Direction.INBOUND, "sipp", Cause.CANCELLED.value)]
    outbound = [story(updates)[c.id] for c in ends.values() if c.direction is Direction.OUTBOUND]
    # the recorder's click-to-calls (another AMI client's Originate): INITIAL first, then the normal path
    assert outbound == [["INITIAL", "ACCEPTED", "RINGING", "CONNECTED", "HANGUP"]] * 2


def test_our_click_to_call_keeps_the_id_we_chose() -> None:
    book = ChannelBook("1003", "user:1003", now=lambda: T0)
    original = next(e for e in EVENTS if e.name == "Newchannel" and e.get("Channel").startswith("PJSIP/1003-"))
    unique = original.get("Uniqueid")
    (initial,) = book.dialling(unique, "+12025550123")
    assert isinstance(initial, cmd.CallUpdate) and initial.call.status is CallStatus.INITIAL
    current = initial.call
    statuses = ["INITIAL"]
    for event in EVENTS:
        for report in book.on_event(event):
            assert isinstance(report, cmd.CallUpdate)
            outcome = advance(current, report.call)  # every report is one the connector accepts
            assert not isinstance(outcome, Refusal), (outcome, report.call)
            current = report.call
            statuses.append(current.status.value)
    assert statuses[:4] == ["INITIAL", "ACCEPTED", "RINGING", "CONNECTED"] and statuses[-1] == "HANGUP"
    assert current.cid.startswith("PJSIP/1003-")
    assert book.get(unique) is not None and book.get(unique).status is CallStatus.HANGUP  # type: ignore[union-attr]


def ev(name: str, **fields: str) -> Event:
    return Event((("Event", name), *fields.items()))


def test_failed_originate_is_cancelled_with_its_reason() -> None:
    book = ChannelBook("1001", "user:1001", now=lambda: T0)
    book.dialling("cti-1", "6001")
    (report,) = book.originate_failed("cti-1", "5")
    assert isinstance(report, cmd.CallUpdate)
    assert (report.call.status, report.call.cause) == (CallStatus.CANCEL, Cause.BUSY.value)
    assert book.originate_failed("cti-1", "5") == []  # once


def test_phone_dialled_call_busy() -> None:
    book = ChannelBook("1001", "user:1001", now=lambda: T0)
    chan, uid = "PJSIP/1001-0000000a", "1.10"
    reports = book.on_event(ev("Newchannel", Channel=chan, ChannelState="4", Exten="1004", Uniqueid=uid))
    reports += book.on_event(ev("DialBegin", Channel=chan, Uniqueid=uid, DestChannel="PJSIP/1004-0b", Exten="1004"))
    reports += book.on_event(ev("DialEnd", Channel=chan, Uniqueid=uid, DestChannel="PJSIP/1004-0b", DialStatus="BUSY"))
    reports += book.on_event(ev("Hangup", Channel=chan, Uniqueid=uid, Cause="17"))
    calls = [r.call for r in reports if isinstance(r, cmd.CallUpdate)]
    assert [c.status for c in calls] == [CallStatus.RINGING, CallStatus.CANCEL]
    assert calls[-1].destination == "1004" and calls[-1].cause == Cause.BUSY.value


def test_hold_and_unhold_of_the_agent_channel() -> None:
    book = ChannelBook("1002", "user:1002", now=lambda: T0)
    chan, uid = "PJSIP/1002-01", "2.1"
    book.on_event(
        ev("DialBegin", Channel="PJSIP/anonymous-00", CallerIDNum="+33123", DestChannel=chan, DestUniqueid=uid)
    )
    book.on_event(ev("Newstate", Channel=chan, ChannelState="6", Uniqueid=uid))
    (held,) = book.on_event(ev("Hold", Channel=chan, Uniqueid=uid))
    (back,) = book.on_event(ev("Unhold", Channel=chan, Uniqueid=uid))
    assert isinstance(held, cmd.CallUpdate) and held.call.status is CallStatus.ON_HOLD
    assert isinstance(back, cmd.CallUpdate) and back.call.status is CallStatus.CONNECTED
    assert back.call.source == "+33123"


def test_other_agents_and_unrelated_events_change_nothing() -> None:
    book = ChannelBook("1007", "user:1007")
    assert [r for e in EVENTS for r in book.on_event(e)] == []
    # a prefix is not a match: PJSIP/10070-… is not PJSIP/1007-…
    assert not book.ours("PJSIP/10070-00000001") and book.ours("PJSIP/1007-00000001")


@pytest.mark.parametrize(
    ("q850", "dial", "cause"),
    [
        ("17", "", Cause.BUSY),
        ("19", "", Cause.NO_ANSWER),
        ("21", "", Cause.REJECTED),
        ("1", "", Cause.UNREACHABLE),
        ("26", "", Cause.CANCELLED),
        ("16", "", Cause.CANCELLED),
        ("16", "NOANSWER", Cause.NO_ANSWER),
        ("16", "CHANUNAVAIL", Cause.UNREACHABLE),
        ("1", "NOANSWER", Cause.UNREACHABLE),  # a 404 from the far end: Dial says NOANSWER, the cause is 1
        ("21", "NOANSWER", Cause.REJECTED),  # a 603
        ("26", "CANCEL", Cause.CANCELLED),
        ("x", "", Cause.CANCELLED),
        ("99", "", Cause.ERROR),
        ("16", "WHATEVER", Cause.ERROR),
    ],
)
def test_causes(q850: str, dial: str, cause: Cause) -> None:
    assert cause_of(q850, dial) is cause


def test_resync_adopts_keeps_and_ends() -> None:
    book = ChannelBook("1001", "user:1001", now=lambda: T0)
    kept = "PJSIP/1001-01"
    book.on_event(ev("DialBegin", Channel="PJSIP/anonymous-00", CallerIDNum="5555", DestChannel=kept, DestUniqueid="k"))
    book.on_event(
        ev(
            "DialBegin",
            Channel="PJSIP/anonymous-02",
            CallerIDNum="6666",
            DestChannel="PJSIP/1001-02",
            DestUniqueid="gone",
        )
    )
    listed = [
        ev("CoreShowChannel", Channel=kept, Uniqueid="k", ChannelState="6", Application="AppQueue", Duration="00:00:07",
           ConnectedLineNum="5555"),
        ev("CoreShowChannel", Channel="PJSIP/1001-03", Uniqueid="new", ChannelState="6", Application="Dial",
           Exten="+4930123", ConnectedLineNum="<unknown>", Duration="00:01:05"),
        ev("CoreShowChannel", Channel="PJSIP/1002-04", Uniqueid="other", ChannelState="6"),
    ]  # fmt: skip
    snapshot = book.resync(listed)
    by_id = {c.id: c for c in snapshot.calls}
    assert set(by_id) == {"k", "new", "gone"}
    assert by_id["k"].status is CallStatus.CONNECTED and by_id["k"].source == "5555"
    assert by_id["new"].direction is Direction.OUTBOUND and by_id["new"].destination == "+4930123"
    assert by_id["new"].connect_at == T0 - timedelta(seconds=65)
    assert (by_id["gone"].status, by_id["gone"].cause) == (CallStatus.CANCEL, Cause.CANCELLED.value)
    again = book.resync(listed)  # a second re-sync: the same calls, the ended one not repeated
    assert {c.id for c in again.calls} == {"k", "new"}


def test_a_blind_transfer_by_the_agent_ends_its_leg_transferred() -> None:
    book = ChannelBook("1001", "user:1001", now=lambda: T0)
    chan, uid = "PJSIP/1001-05", "5.1"
    book.on_event(ev("DialBegin", Channel="PJSIP/anonymous-04", CallerIDNum="5555", DestChannel=chan, DestUniqueid=uid))
    book.on_event(ev("Newstate", Channel=chan, ChannelState="6", Uniqueid=uid))
    # as Asterisk 22 sends them (notes): a spurious Unhold, the BlindTransfer, then the agent's Hangup
    assert book.on_event(ev("Unhold", Channel=chan, Uniqueid=uid)) == []
    failed = ev("BlindTransfer", Result="Fail", TransfererChannel=chan, TransfererUniqueid=uid)
    assert book.on_event(failed) == [] and book.legs[uid].intent is None
    done = ev("BlindTransfer", Result="Success", TransfererChannel=chan, TransfererUniqueid=uid, Extension="1003")
    assert book.on_event(done) == []
    (report,) = book.on_event(ev("Hangup", Channel=chan, Uniqueid=uid, Cause="16"))
    assert isinstance(report, cmd.CallUpdate)
    assert (report.call.status, report.call.cause) == (CallStatus.HANGUP, Cause.TRANSFERRED.value)


LINES = (Path(__file__).resolve().parents[1] / "asterisk" / "transcripts" / "lines.ami").read_bytes()
LINE_EVENTS = [item for item in AmiParser().feed(LINES) if isinstance(item, Event)]


def ringing_first(events: list[Event], channel_prefix: str) -> list[Event]:
    """``events`` with the Newstate Ringing of the channel ``channel_prefix`` moved before the DialBegin that
    rings it: the other order Asterisk sends them in."""
    events = list(events)
    ring = next(
        i
        for i, e in enumerate(events)
        if e.name == "Newstate" and e.get("ChannelState") == "5" and e.get("Channel").startswith(channel_prefix)
    )
    dial = next(
        i for i, e in enumerate(events) if e.name == "DialBegin" and e.get("DestChannel").startswith(channel_prefix)
    )
    assert dial < ring
    events.insert(dial, events.pop(ring))
    return events


@pytest.mark.parametrize("order", ["as recorded", "ringing first"])
def test_a_supervisors_chanspy_call_connects_and_ends_normally(order: str) -> None:
    """1100 listens in on 1001's call (an Originate into ChanSpy): its own row is an outbound call that
    connects when the spying starts — not one left ACCEPTED and ended cancelled."""
    events = LINE_EVENTS if order == "as recorded" else ringing_first(LINE_EVENTS, "PJSIP/1100-")
    book, updates = replay("1100", events)
    assert list(story(updates).values()) == [["INITIAL", "ACCEPTED", "RINGING", "CONNECTED", "HANGUP"]]
    last = updates[-1]
    assert (last.direction, last.destination, last.destination_name) == (Direction.OUTBOUND, "1001", "Agent 1001")
    assert last.cause == Cause.NORMAL.value and last.connect_at is not None and book.live() == []


@pytest.mark.parametrize("order", ["as recorded", "ringing first"])
def test_a_click_to_call_seen_from_the_called_phone_is_inbound_either_way(order: str) -> None:
    """1001 calls 1002 (somebody's Originate): for 1001 an outbound click-to-call, for 1002 an inbound call,
    whichever of DialBegin and Newstate Ringing comes first (Linkedid tells them apart)."""
    events = EVENTS if order == "as recorded" else ringing_first(ringing_first(EVENTS, "PJSIP/1001-"), "PJSIP/1002-")
    _, calling = replay("1001", events)
    assert story(calling)[calling[0].id][:2] == ["INITIAL", "ACCEPTED"] and calling[0].direction is Direction.OUTBOUND
    _, called = replay("1002", events)
    first = [c for c in called if c.id == called[0].id]
    assert {c.direction for c in first} == {Direction.INBOUND}, first
    assert story(first)[called[0].id] == ["RINGING", "CONNECTED", "HANGUP"]
