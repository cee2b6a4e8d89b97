"""ChannelBook for the operations of backends/asterisk_calls.py, replaying the AMI events measured on Asterisk 22
(trimmed to the fields the book reads): an Atxfer consult completed and cancelled, a park and its pick-up,
a merge and a reject. Every report is checked against the engine's state machine."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from cti_tui.core import commands as cmd
from cti_tui.core.machine import Refusal, advance
from cti_tui.core.model import Call, CallStatus
from cti_tui.protocol.ami import AmiParser, Event, Response
from cti_tui.protocol.ami_calls import ChannelBook

T0 = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
AGENT, AGENT_ID = "PJSIP/1001-00000006", "cti-1"
TRUNK, TRUNK_ID = "PJSIP/trunk-00000007", "9.7"
FAR = "+12025550123"
LOCAL1, LOCAL2 = "Local/1003@internal-00000000;1", "Local/1003@internal-00000000;2"


def ev(name: str, **fields: str) -> Event:
    return Event((("Event", name), *fields.items()))


class Checked:
    """A book for agent 1001 and every call it reported, each move legal for the engine."""

    def __init__(self) -> None:
        self.book = ChannelBook("1001", "user:1001", "Agent 1001", now=lambda: T0)
        self.current: dict[str, Call] = {}
        self.paths: dict[str, list[str]] = {}
        self.notices: list[cmd.Notice] = []

    def feed(self, *events: Event) -> None:
        for event in events:
            self.take(self.book.on_event(event))

    def take(self, reports: list[cmd.Report]) -> None:
        for report in reports:
            if isinstance(report, cmd.Notice):
                self.notices.append(report)
                continue
            assert isinstance(report, cmd.CallUpdate)
            outcome = advance(self.current.get(report.call.id), report.call)
            assert not isinstance(outcome, Refusal), outcome
            self.current[report.call.id] = report.call
            path = self.paths.setdefault(report.call.id, [])
            if not path or path[-1] != report.call.status.value:
                path.append(report.call.status.value)


def connected_click_to_call() -> Checked:
    book = Checked()
    book.take(book.book.dialling(AGENT_ID, "+12025550123"))
    book.feed(
        ev("Newchannel", Channel=AGENT, Uniqueid=AGENT_ID, ChannelState="0"),
        ev("Newstate", Channel=AGENT, Uniqueid=AGENT_ID, ChannelState="6"),
        ev("DialBegin", Channel=AGENT, Uniqueid=AGENT_ID, DestChannel=TRUNK, DestUniqueid=TRUNK_ID),
        ev("DialEnd", Channel=AGENT, Uniqueid=AGENT_ID, DestChannel=TRUNK, DialStatus="ANSWER"),
        ev("BridgeEnter", Channel=TRUNK, Uniqueid=TRUNK_ID, BridgeUniqueid="b1"),
        ev("BridgeEnter", Channel=AGENT, Uniqueid=AGENT_ID, BridgeUniqueid="b1"),
    )
    assert book.book.peers_of(AGENT_ID) == [TRUNK]
    return book


def consulting() -> tuple[Checked, str]:
    book = connected_click_to_call()
    book.book.consulting(AGENT_ID, "1003")
    book.feed(
        ev("Hold", Channel=AGENT, Uniqueid=AGENT_ID),
        ev("Newchannel", Channel=LOCAL1, Uniqueid="9.8"),
        ev("BridgeEnter", Channel=LOCAL1, Uniqueid="9.8", BridgeUniqueid="b2"),
        ev("BridgeLeave", Channel=AGENT, Uniqueid=AGENT_ID, BridgeUniqueid="b1"),
        ev("BridgeEnter", Channel=AGENT, Uniqueid=AGENT_ID, BridgeUniqueid="b2"),
        ev("DialBegin", Channel=LOCAL2, Uniqueid="9.9", DestChannel="PJSIP/1003-00000008"),
        ev("Newstate", Channel=LOCAL1, Uniqueid="9.8", ChannelState="5"),
        ev("Newstate", Channel=LOCAL1, Uniqueid="9.8", ChannelState="6"),
    )
    (consult,) = [call_id for call_id in book.paths if call_id != AGENT_ID]
    assert book.current[consult].destination == "1003"
    assert book.book.transfer_of(consult) == (AGENT_ID, consult) == book.book.transfer_of(AGENT_ID)
    return book, consult


def test_a_consult_answered_before_its_bridge_is_reported_is_connected() -> None:
    """Asterisk does not order events of different channels and bridges: the target may answer (the Local
    channel Up) before the agent's channel is reported in the consult bridge."""
    book = connected_click_to_call()
    book.book.consulting(AGENT_ID, "1003")
    book.feed(
        ev("Hold", Channel=AGENT, Uniqueid=AGENT_ID),
        ev("BridgeEnter", Channel=LOCAL1, Uniqueid="9.8", BridgeUniqueid="b2"),
        ev("Newstate", Channel=LOCAL1, Uniqueid="9.8", ChannelState="6"),
        ev("BridgeEnter", Channel=AGENT, Uniqueid=AGENT_ID, BridgeUniqueid="b2"),
    )
    (consult,) = [call_id for call_id in book.paths if call_id != AGENT_ID]
    assert book.paths[consult] == ["RINGING", "CONNECTED"]


def test_atxfer_completed_ends_both_legs_transferred() -> None:
    book, consult = consulting()
    book.feed(
        ev("AttendedTransfer", Result="Success", OrigTransfererUniqueid=AGENT_ID, SecondTransfererUniqueid=AGENT_ID),
        ev("Hangup", Channel=AGENT, Uniqueid=AGENT_ID, Cause="16"),
        ev("Hangup", Channel=LOCAL1, Uniqueid="9.8", Cause="16"),
    )
    assert book.paths[AGENT_ID][-3:] == ["CONNECTED", "ON_HOLD", "HANGUP"]
    assert book.paths[consult] == ["RINGING", "CONNECTED", "HANGUP"]
    assert {book.current[c].cause for c in (AGENT_ID, consult)} == {"transferred"}
    assert book.book.live() == []


def test_atxfer_threeway_merges_the_consult_into_the_call() -> None:
    book, consult = consulting()
    threeway = ev(
        "AttendedTransfer",
        Result="Success",
        DestType="Threeway",
        OrigTransfererUniqueid=AGENT_ID,
        SecondTransfererUniqueid=AGENT_ID,
    )
    book.feed(
        ev("BridgeLeave", Channel=AGENT, Uniqueid=AGENT_ID, BridgeUniqueid="b2"),
        ev("BridgeEnter", Channel=AGENT, Uniqueid=AGENT_ID, BridgeUniqueid="b1"),
        threeway,
        ev("Hangup", Channel=LOCAL1, Uniqueid="9.8", Cause="16"),
    )
    assert (book.current[consult].status, book.current[consult].cause) == (CallStatus.HANGUP, "merged")
    merged = book.current[AGENT_ID]
    assert merged.status is CallStatus.CONNECTED and merged.destination_name == "+12025550123 & 1003"
    book.feed(ev("Hangup", Channel=AGENT, Uniqueid=AGENT_ID, Cause="16"))
    assert (book.current[AGENT_ID].status, book.current[AGENT_ID].cause) == (CallStatus.HANGUP, "normal")


def test_atxfer_cancelled_brings_the_caller_back() -> None:
    book, consult = consulting()
    book.book.cancelling(consult)
    book.feed(
        ev("BridgeLeave", Channel=AGENT, Uniqueid=AGENT_ID, BridgeUniqueid="b2"),
        ev("BridgeEnter", Channel=AGENT, Uniqueid=AGENT_ID, BridgeUniqueid="b1"),
        ev("Unhold", Channel=AGENT, Uniqueid=AGENT_ID),
        ev("Hangup", Channel=LOCAL1, Uniqueid="9.8", Cause="16"),
        ev("Hangup", Channel=LOCAL2, Uniqueid="9.9", Cause="16"),
    )
    assert book.paths[consult] == ["RINGING", "CONNECTED", "HANGUP"]
    assert book.current[consult].cause == "cancelled"
    assert book.current[AGENT_ID].status is CallStatus.CONNECTED
    assert book.book.transfer_of(AGENT_ID) is None and book.book.peers_of(AGENT_ID) == [TRUNK]


def test_atxfer_unanswered_in_time_is_cancelled_no_answer_with_a_notice() -> None:
    book = connected_click_to_call()
    book.book.consulting(AGENT_ID, "1003")
    book.feed(
        ev("Hold", Channel=AGENT, Uniqueid=AGENT_ID),
        ev("BridgeEnter", Channel=LOCAL1, Uniqueid="9.8", BridgeUniqueid="b2"),
        ev("BridgeEnter", Channel=AGENT, Uniqueid=AGENT_ID, BridgeUniqueid="b2"),
    )
    (consult,) = [call_id for call_id in book.paths if call_id != AGENT_ID]
    assert book.book.timing_out(AGENT_ID)
    book.feed(ev("Hangup", Channel=LOCAL1, Uniqueid="9.8", Cause="16"), ev("Unhold", Channel=AGENT, Uniqueid=AGENT_ID))
    assert (book.current[consult].status, book.current[consult].cause) == (CallStatus.CANCEL, "no_answer")
    assert book.current[AGENT_ID].status is CallStatus.CONNECTED
    (notice,) = book.notices
    assert notice.code.value == "transfer_failed" and notice.call_id == AGENT_ID and "1003" in notice.message
    assert not book.book.timing_out(AGENT_ID)  # nothing left to time out


def test_parked_call_stays_parked_until_someone_picks_it_up() -> None:
    book = connected_click_to_call()
    book.book.parking(AGENT_ID, TRUNK)
    book.feed(
        ev("BridgeLeave", Channel=TRUNK, Uniqueid=TRUNK_ID, BridgeUniqueid="b1"),
        ev("ParkedCall", ParkeeChannel=TRUNK, ParkeeUniqueid=TRUNK_ID, ParkingSpace="703"),
        ev("Hangup", Channel=AGENT, Uniqueid=AGENT_ID, Cause="16"),
    )
    parked = book.current[AGENT_ID]
    assert (parked.status, parked.park_slot) == (CallStatus.PARKED, 3) and "callpark" in parked.also
    snapshot = book.book.resync([])  # a re-sync while it waits keeps it
    assert [c.status for c in snapshot.calls] == [CallStatus.PARKED]
    book.feed(ev("UnParkedCall", ParkeeChannel=TRUNK, ParkingSpace="703", RetrieverUniqueid="other"))
    assert book.paths[AGENT_ID][-2:] == ["PARKED", "HANGUP"]


def test_unpark_by_originate_connects_to_the_parked_party() -> None:
    book = Checked()
    book.take(book.book.dialling("cti-2", "703"))
    mine = "PJSIP/1001-00000010"
    book.feed(
        ev("Newchannel", Channel=mine, Uniqueid="cti-2", ChannelState="0"),
        ev("Newstate", Channel=mine, Uniqueid="cti-2", ChannelState="6"),
        ev("UnParkedCall", ParkeeChannel=TRUNK, ParkeeCallerIDNum="+12025550123", RetrieverUniqueid="cti-2"),
    )
    assert book.paths["cti-2"] == ["INITIAL", "ACCEPTED", "RINGING", "CONNECTED"]
    assert book.current["cti-2"].destination == "+12025550123"


def test_unparked_call_connects_even_when_the_event_comes_before_newstate_up() -> None:
    """Measured: Asterisk may send UnParkedCall (the retriever runs ParkedCall()) before its Newstate Up."""
    book = Checked()
    book.take(book.book.dialling("cti-4", "703"))
    mine = "PJSIP/1002-00000002"
    book.book.extension = "1002"
    book.feed(
        ev("Newchannel", Channel=mine, Uniqueid="cti-4", ChannelState="0"),
        ev("Newstate", Channel=mine, Uniqueid="cti-4", ChannelState="5"),
        ev("UnParkedCall", ParkeeChannel=TRUNK, ParkeeCallerIDNum="+12025550123", RetrieverUniqueid="cti-4"),
        ev("Newstate", Channel=mine, Uniqueid="cti-4", ChannelState="6"),
    )
    assert book.paths["cti-4"] == ["INITIAL", "ACCEPTED", "RINGING", "CONNECTED"]
    assert book.current["cti-4"].connect_at == T0


def test_merged_call_ends_merged_and_the_other_names_both() -> None:
    book = connected_click_to_call()
    second, chan2 = "cti-3", "PJSIP/1001-00000011"
    book.take(book.book.dialling(second, "1003"))
    book.feed(
        ev("Newchannel", Channel=chan2, Uniqueid=second, ChannelState="0"),
        ev("Newstate", Channel=chan2, Uniqueid=second, ChannelState="6"),
        ev("DialBegin", Channel=chan2, Uniqueid=second, DestChannel="PJSIP/1003-12", DestCallerIDNum="1003"),
        ev("DialEnd", Channel=chan2, Uniqueid=second, DestChannel="PJSIP/1003-12", DialStatus="ANSWER"),
    )
    book.take(book.book.merged(AGENT_ID, second, "800"))
    book.feed(ev("Hangup", Channel=chan2, Uniqueid=second, Cause="16"))
    assert (book.current[second].status, book.current[second].cause) == (CallStatus.HANGUP, "merged")
    first = book.current[AGENT_ID]
    assert first.status is CallStatus.CONNECTED and first.destination_name == "+12025550123 & 1003"
    assert "conf:800" in first.also


def test_rejected_ringing_call_is_cancelled_rejected() -> None:
    book = Checked()
    chan = "PJSIP/1001-0000000d"
    book.feed(ev("DialBegin", Channel="PJSIP/anonymous-0c", CallerIDNum="5555", DestChannel=chan, DestUniqueid="9.17"))
    book.book.intend("9.17", "reject")
    book.feed(ev("Hangup", Channel=chan, Uniqueid="9.17", Cause="21"))
    assert book.paths["9.17"] == ["RINGING", "CANCEL"] and book.current["9.17"].cause == "rejected"


def test_resync_rebuilds_who_is_bridged_with_whom() -> None:
    """After a reconnect the operations on a peer (park, DTMF, merge) still find it: CoreShowChannel's BridgeId."""
    book = connected_click_to_call()
    book.book.resync(
        [
            ev("CoreShowChannel", Channel=AGENT, Uniqueid=AGENT_ID, ChannelState="6", BridgeId="b9"),
            ev("CoreShowChannel", Channel="PJSIP/trunk-00000099", Uniqueid="9.99", ChannelState="6", BridgeId="b9"),
            ev("CoreShowChannel", Channel="PJSIP/1002-00000098", Uniqueid="9.98", ChannelState="6", BridgeId="b8"),
        ]
    )
    assert book.book.peers_of(AGENT_ID) == ["PJSIP/trunk-00000099"]


# --- replaying a real session (tests/asterisk/record_operations.py) -----------------------------------------

RECORDED = (Path(__file__).resolve().parents[1] / "asterisk" / "transcripts" / "operations.ami").read_bytes()


def replay_recorded(extension: str, placed: dict[str, str]) -> Checked:
    """The recorded session through ``extension``'s book, telling it what backends/asterisk_calls.py tells it
    when it sends each action (seen here as the action's response): Atxfer → consulting, CancelAtxfer →
    cancelling, Park → parking of the peer. ``placed``: our Originates (ChannelId → number dialled)."""
    book = Checked()
    book.book.extension, book.book.line = extension, f"user:{extension}"
    for call_id, number in placed.items():
        book.take(book.book.dialling(call_id, number))
    for item in AmiParser().feed(RECORDED):
        if isinstance(item, Response):
            talking = [c.id for c in book.book.live() if c.status in (CallStatus.CONNECTED, CallStatus.ON_HOLD)]
            if item.message == "Atxfer successfully queued" and talking:
                book.book.consulting(talking[0], "1003")
            elif item.message == "CancelAtxfer successfully queued" and talking:
                book.book.cancelling(talking[0])
            elif item.message == "Park successful" and talking:
                book.book.parking(talking[0], book.book.peers_of(talking[0])[0])
        elif isinstance(item, Event):
            book.feed(item)
    return book


def test_recorded_supervised_transfers_and_park_for_the_agent() -> None:
    book = replay_recorded("1001", {"rec-done": FAR, "rec-cancel": FAR, "rec-park": FAR})
    consults = [call_id for call_id in book.paths if call_id.startswith(("rec-done+", "rec-cancel+"))]
    assert len(consults) == 2
    cancelled, done = sorted(consults)  # rec-cancel+…, rec-done+…
    assert book.paths["rec-done"] == ["INITIAL", "ACCEPTED", "RINGING", "CONNECTED", "ON_HOLD", "HANGUP"]
    assert book.current["rec-done"].cause == "transferred"
    assert book.paths[done] == ["RINGING", "CONNECTED", "HANGUP"] and book.current[done].cause == "transferred"
    assert book.paths["rec-cancel"][-4:] == ["CONNECTED", "ON_HOLD", "CONNECTED", "HANGUP"]
    assert book.current["rec-cancel"].cause == "normal"  # hung up by the agent after the cancel
    assert book.paths[cancelled] == ["RINGING", "CONNECTED", "HANGUP"]
    assert book.current[cancelled].cause == "cancelled"
    assert book.paths["rec-park"][-3:] == ["CONNECTED", "PARKED", "HANGUP"]  # picked up by 1002
    assert book.notices == [] and book.book.live() == []


def test_recorded_unpark_by_another_agent() -> None:
    book = replay_recorded("1002", {"rec-unpark": "705"})
    assert book.paths["rec-unpark"] == ["INITIAL", "ACCEPTED", "RINGING", "CONNECTED", "HANGUP"]
    assert book.current["rec-unpark"].destination == FAR
