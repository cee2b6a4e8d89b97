"""Watched lines on Asterisk (LineWatch): a real recorded AMI session replayed, and cases built by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from cti_tui.core import commands as cmd
from cti_tui.core.machine import Refusal, advance
from cti_tui.core.model import Call, CallStatus
from cti_tui.protocol.ami import AmiParser, Event
from cti_tui.protocol.ami_lines import LineWatch
from cti_tui.ui.lamps import Lamp, summarise

SESSION = (Path(__file__).resolve().parents[1] / "asterisk" / "transcripts" / "session.ami").read_bytes()
# what the backend's on_event sees: list items (with an ActionID) are folded into their replies by the tracker
EVENTS = [item for item in AmiParser().feed(SESSION) if isinstance(item, Event) and not item.action_id]
T0 = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
# watched-line traffic (tests/asterisk/record_lines_transcript.py): queue login/pause/abandon/logout, park and
# pick-up, a room, ChanSpy
LINES_RAW = (Path(__file__).resolve().parents[1] / "asterisk" / "transcripts" / "lines.ami").read_bytes()
LINES_ALL = [item for item in AmiParser().feed(LINES_RAW) if isinstance(item, Event)]


def ev(name: str, **fields: str) -> Event:
    return Event((("Event", name), *fields.items()))


class Screen:
    """What a connector would hold: every report checked against the engine's state machine."""

    def __init__(self) -> None:
        self.calls: dict[str, Call] = {}
        self.updates: list[Call] = []

    def take(self, reports: list[cmd.Report]) -> None:
        for report in reports:
            assert isinstance(report, cmd.CallUpdate), report
            outcome = advance(self.calls.get(report.call.id), report.call)
            assert not isinstance(outcome, Refusal), (outcome, report.call)
            self.calls[report.call.id] = report.call
            self.updates.append(report.call)

    def story(self, call_id: str) -> list[str]:
        path: list[str] = []
        for call in self.updates:
            if call.id == call_id and (not path or path[-1] != call.status.value):
                path.append(call.status.value)
        return path

    def on(self, node: str) -> list[Call]:
        return [c for c in self.calls.values() if not c.ended and c.seen_on({node})]


def watching(*nodes: str, clock: list[datetime] | None = None) -> tuple[LineWatch, Screen]:
    now = clock or [T0]
    watch = LineWatch(now=lambda: now[0])
    screen = Screen()
    for node in nodes:
        screen.take(watch.watch(node))
    return watch, screen


def test_the_recorded_session_on_a_queue_the_park_lot_and_a_user() -> None:
    watch, screen = watching("queue:sales", "callpark", "user:1002")
    queue_call = "queue:sales/1796211404.4"
    seen_waiting: list[tuple[int, Lamp, int | None]] = []
    for event in EVENTS:
        screen.take(watch.on_event(event))
        if event.name == "AgentCalled":  # the sipp caller waits while the agents ring
            summary = summarise("queue:sales", screen.on("queue:sales"), T0)
            seen_waiting.append((summary.waiting, summary.lamp, screen.calls[queue_call].queue_position))
    assert seen_waiting == [(1, Lamp.RINGING, 1)] * 2
    # 1002 answered it: the queue's call is handed over (the talk is 1002's own call)
    assert screen.story(queue_call) == ["RINGING", "HANGUP"]
    taken = screen.calls[queue_call]
    assert (taken.cause, taken.source, taken.destination_name) == ("transferred", "sipp", "sales → Agent 1002")
    # the Park action put 1001's channel in slot 701; its phone hung up there (ParkedCallGiveUp)
    parked = screen.calls["callpark/1796211406.7"]
    assert screen.story(parked.id) == ["PARKED", "HANGUP"]
    assert (parked.park_slot, parked.source, parked.destination, parked.cause) == (701, "1001", "1002", "normal")
    # 1002's own channels: the user line shows them as the agent's own calls
    assert screen.story("1796211404.5") == ["RINGING", "CONNECTED", "HANGUP"]  # the queue call, answered
    assert all(c.line == "user:1002" for c in screen.updates if not c.id.startswith(("queue:", "callpark")))
    assert watch.calls() == [] and screen.on("queue:sales") == screen.on("callpark") == []


def test_unwatched_nodes_say_nothing_and_watching_later_shows_the_present() -> None:
    watch, screen = watching()
    for event in EVENTS:
        if event.name == "AgentCalled":
            break
        screen.take(watch.on_event(event))
    assert screen.updates == []
    screen.take(watch.watch("queue:sales"))  # subscribed while the caller waits: it is there at once
    (waiting,) = screen.on("queue:sales")
    assert (waiting.status, waiting.queue_position, waiting.line) == (CallStatus.RINGING, 1, "queue:sales")


def test_queue_membership_and_pause_from_the_recorded_session() -> None:
    watch, _ = watching()
    paused: list[tuple[bool, str]] = []
    for event in EVENTS:
        watch.on_event(event)
        if event.name == "QueueMemberPause":
            member = watch.member("sales", "1001")
            assert member is not None
            paused.append((member.paused, member.reason, watch.device_state("1001")))
    assert paused == [(True, "lunch", "NOT_INUSE"), (False, "", "NOT_INUSE")]
    assert watch.device_state("1001") == "UNAVAILABLE"  # the phones quit at the end: not registered
    assert watch.device_state("4242") == ""


def test_positions_move_up_a_caller_gives_up_and_the_longest_wait_is_asterisks() -> None:
    clock = [T0]
    watch, screen = watching("queue:sales", clock=clock)
    for unique, caller, position in (("1.1", "111", "1"), ("1.2", "222", "2"), ("1.3", "333", "3")):
        join = ev("QueueCallerJoin", Queue="sales", Uniqueid=unique, Channel=f"PJSIP/x-{unique}", Position=position)
        screen.take(watch.on_event(Event((*join.fields, ("CallerIDNum", caller)))))
        clock[0] += timedelta(seconds=10)
    assert summarise("queue:sales", screen.on("queue:sales"), clock[0]).longest_wait_seconds == 30
    # the first caller gave up: Asterisk says Abandon, then Leave; those behind move up
    screen.take(watch.on_event(ev("QueueCallerAbandon", Queue="sales", Uniqueid="1.1", Position="1")))
    screen.take(watch.on_event(ev("QueueCallerLeave", Queue="sales", Uniqueid="1.1", Position="1", Count="2")))
    first = screen.calls["queue:sales/1.1"]
    assert (first.status, first.cause) == (CallStatus.CANCEL, "cancelled")
    assert {c.source: c.queue_position for c in screen.on("queue:sales")} == {"222": 1, "333": 2}
    # the second left without an agent (a queue timeout) and hung up: it gave up too
    screen.take(watch.on_event(ev("QueueCallerLeave", Queue="sales", Uniqueid="1.2", Position="1", Count="1")))
    screen.take(watch.on_event(ev("Hangup", Uniqueid="1.2", Channel="PJSIP/x-1.2", Cause="16")))
    assert {c.source: c.queue_position for c in screen.on("queue:sales")} == {"333": 1}
    assert screen.story("queue:sales/1.2") == ["RINGING", "CANCEL"]
    summary = summarise("queue:sales", screen.on("queue:sales"), clock[0])
    assert (summary.waiting, summary.longest_wait_seconds) == (1, 10)


def test_a_resync_finds_who_waits_and_ends_what_went_away() -> None:
    clock = [T0]
    watch, screen = watching("queue:sales", "callpark", clock=clock)
    screen.take(watch.on_event(ev("QueueCallerJoin", Queue="sales", Uniqueid="9.1", Position="1")))
    entries = [
        ev("QueueParams", Queue="sales"),
        ev("QueueMember", Queue="sales", Location="PJSIP/1002", Name="Agent 1002", Paused="1", PausedReason="tea"),
        ev("QueueEntry", Queue="sales", Uniqueid="9.2", Position="1", CallerIDNum="555", Wait="42"),
    ]
    parked = [ev("ParkedCall", ParkeeUniqueid="9.3", ParkeeCallerIDNum="777", ParkingSpace="702", ParkingDuration="5")]
    calls = watch.resync(queue_status=entries, parked=parked)
    screen.take([cmd.CallUpdate(c) for c in calls])
    gone = screen.calls["queue:sales/9.1"]
    assert (gone.status, gone.cause) == (CallStatus.CANCEL, "cancelled")  # left while we were away
    summary = summarise("queue:sales", screen.on("queue:sales"), T0)
    assert (summary.waiting, summary.longest_wait_seconds) == (1, 42)
    (slot,) = screen.on("callpark")
    assert (slot.status, slot.park_slot, slot.source, slot.connect_at) == (
        CallStatus.PARKED,
        702,
        "777",
        T0 - timedelta(seconds=5),
    )
    member = watch.member("sales", "1002")
    assert member is not None and (member.paused, member.reason, member.logged_in) == (True, "tea", True)
    # an agent removed while we were away is logged out at the next re-sync
    watch.resync(queue_status=[ev("QueueParams", Queue="sales")])
    assert not member.logged_in


def test_park_lot_pick_up_and_time_out_hand_the_call_over() -> None:
    watch, screen = watching("callpark")
    for unique, space in (("5.1", "701"), ("5.2", "702")):
        screen.take(watch.on_event(ev("ParkedCall", ParkeeUniqueid=unique, ParkingSpace=space, ParkeeCallerIDNum="9")))
    assert sorted(c.park_slot or 0 for c in screen.on("callpark")) == [701, 702]
    screen.take(watch.on_event(ev("UnParkedCall", ParkeeUniqueid="5.1", RetrieverCallerIDNum="1003")))
    screen.take(watch.on_event(ev("ParkedCallTimeOut", ParkeeUniqueid="5.2")))
    picked, timed_out = screen.calls["callpark/5.1"], screen.calls["callpark/5.2"]
    assert (picked.status, picked.cause, picked.destination_name) == (
        CallStatus.HANGUP,
        "transferred",
        "picked up by 1003",
    )
    assert (timed_out.status, timed_out.cause) == (CallStatus.HANGUP, "transferred")
    assert screen.on("callpark") == []


def test_a_conference_room_shows_who_is_in_it() -> None:
    watch, screen = watching("conf:800")
    for unique, who in (("7.1", "1001"), ("7.2", "1002"), ("7.3", "1003")):
        join = ev("ConfbridgeJoin", Conference="800", Uniqueid=unique, CallerIDNum=who, Channel=f"PJSIP/{who}-1")
        screen.take(watch.on_event(join))
    screen.take(watch.on_event(ev("ConfbridgeJoin", Conference="900", Uniqueid="7.9")))  # another room
    assert sorted(c.source for c in screen.on("conf:800")) == ["1001", "1002", "1003"]
    assert summarise("conf:800", screen.on("conf:800"), T0).lamp is Lamp.BUSY
    screen.take(watch.on_event(ev("ConfbridgeLeave", Conference="800", Uniqueid="7.2")))
    assert sorted(c.source for c in screen.on("conf:800")) == ["1001", "1003"]
    screen.take(watch.on_event(ev("ConfbridgeEnd", Conference="800")))
    assert screen.on("conf:800") == []
    assert screen.story("conf:800/7.1") == ["CONNECTED", "HANGUP"]
    assert not [c for c in screen.updates if c.line == "conf:900"]


def test_a_user_line_and_a_queue_show_the_same_channel_as_two_calls() -> None:
    """1003 redirected into the queue: its channel is 1003's call and the queue's waiting caller at once."""
    watch, screen = watching("user:1003", "queue:sales")
    channel = {"Channel": "PJSIP/1003-00000006", "Uniqueid": "3.6"}
    screen.take(watch.on_event(ev("Newchannel", ChannelState="4", Exten="1002", **channel)))
    screen.take(watch.on_event(ev("QueueCallerJoin", Queue="sales", Position="1", CallerIDNum="1003", **channel)))
    assert [c.id for c in screen.on("user:1003")] == ["3.6"]
    assert [c.id for c in screen.on("queue:sales")] == ["queue:sales/3.6"]
    watch.unwatch("user:1003")
    screen.take(watch.on_event(ev("Hangup", Cause="16", **channel)))
    assert [c.id for c in screen.updates if c.ended] == ["queue:sales/3.6"]  # the user line is not watched any more


def test_an_agents_availability_follows_its_queue_memberships() -> None:
    watch, _ = watching()
    member = {"Interface": "PJSIP/1001", "MemberName": "Agent 1001"}
    assert watch.agent("1001").state == "offline"
    watch.on_event(ev("QueueMemberAdded", Queue="sales", Paused="0", **member))
    watch.on_event(ev("QueueMemberAdded", Queue="support", Paused="0", **member))
    assert (watch.agent("1001").state, watch.agent("1001").queues) == ("available", ("sales", "support"))
    watch.on_event(ev("QueueMemberPause", Queue="sales", Paused="1", PausedReason="lunch", **member))
    assert watch.agent("1001").state == "available"  # still offered support's calls
    watch.on_event(ev("QueueMemberPause", Queue="support", Paused="1", PausedReason="lunch", **member))
    view = watch.agent("1001")
    assert (view.state, view.reason, view.paused_in) == ("break", "lunch", ("sales", "support"))
    watch.on_event(ev("QueueMemberRemoved", Queue="sales", **member))
    watch.on_event(ev("QueueMemberRemoved", Queue="support", **member))
    view = watch.agent("1001")
    assert (view.state, view.queues, view.member_of) == ("offline", (), ("sales", "support"))
    assert watch.agent("1002").member_of == ()


def reply_items(events: list[Event], first: str) -> list[Event]:
    """The items of the first list reply whose first item is a ``first`` event (they share its ActionID)."""
    action_id = next(e.action_id for e in events if e.name == first and e.action_id)
    return [e for e in events if e.action_id == action_id]


def test_recorded_queue_membership_abandon_pick_up_and_a_room() -> None:
    watch, screen = watching("queue:support", "callpark", "conf:800")
    present = watch.resync(queue_status=reply_items(LINES_ALL, "QueueParams"))
    assert present == [] and watch.agent("1001").queues == ("sales",)  # a static member of sales only
    states: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = []
    for event in (e for e in LINES_ALL if not e.action_id):
        screen.take(watch.on_event(event))
        if event.name.startswith("QueueMember") and event.get("Interface") == "PJSIP/1001":
            view = watch.agent("1001")
            states.append((view.state, view.queues, view.paused_in))
    # logged in to support, paused there (still available in sales), back, logged out of support
    assert [s for i, s in enumerate(states) if i == 0 or s != states[i - 1]] == [
        ("available", ("sales",), ()),
        ("available", ("sales", "support"), ()),
        ("available", ("sales", "support"), ("support",)),
        ("available", ("sales", "support"), ()),
        ("available", ("sales",), ()),
    ]
    (abandoned,) = [c for c in screen.calls.values() if c.line == "queue:support"]
    assert screen.story(abandoned.id) == ["RINGING", "CANCEL"] and abandoned.cause == "cancelled"
    (parked,) = [c for c in screen.calls.values() if c.line == "callpark"]
    assert screen.story(parked.id) == ["PARKED", "HANGUP"]
    assert (parked.park_slot, parked.cause, parked.destination_name) == (701, "transferred", "picked up by 1003")
    room = [c for c in screen.calls.values() if c.line == "conf:800"]
    assert sorted((c.source, *screen.story(c.id)) for c in room) == [
        ("1001", "CONNECTED", "HANGUP"),
        ("1002", "CONNECTED", "HANGUP"),
    ]
    assert watch.calls() == []


def test_recorded_list_replies_show_a_waiting_caller_and_a_room() -> None:
    """Subscribing while a caller waits (QueueStatus' QueueEntry) and while two are in room 800
    (ConfbridgeList): the present, as the replies were recorded."""
    watch, screen = watching()
    watch.seed(reply_items(LINES_ALL, "QueueEntry"))
    watch.seed(reply_items(LINES_ALL, "ConfbridgeList"))
    screen.take(watch.watch("queue:support"))
    screen.take(watch.watch("conf:800"))
    (waiting,) = screen.on("queue:support")
    assert (waiting.status, waiting.queue_position, waiting.source) == (CallStatus.RINGING, 1, "sipp")
    assert sorted(c.source for c in screen.on("conf:800")) == ["1001", "1002"]
