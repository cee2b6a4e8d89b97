"""The feed between connectors and the book: which queue changed, and agent states plugged in from outside."""

from __future__ import annotations

from cti_tui.core.clock import VirtualClock
from cti_tui.core.model import ActivityEvent, ActivityName, Call, CallEvent, CallStatus, Direction
from cti_tui.core.service_level import AgentCounts, ServiceLevelBook
from cti_tui.engine.queue_figures import QueueFiguresFeed


def _feed() -> tuple[QueueFiguresFeed, list[str], VirtualClock]:
    clock = VirtualClock()
    feed = QueueFiguresFeed(ServiceLevelBook(), clock.now)
    changed: list[str] = []
    feed.add_listener(changed.append)
    return feed, changed, clock


def test_a_caller_joining_and_leaving_marks_the_queue() -> None:
    feed, changed, clock = _feed()
    call = Call("c1", "1", Direction.INBOUND, CallStatus.RINGING, "queue:sales", "+12025550143", "6001")
    feed.observe(CallEvent(1, call))
    clock.advance(4)
    feed.observe(CallEvent(2, call.evolve(status=CallStatus.CANCEL, cause="cancelled")))
    feed.observe(ActivityEvent(3, ActivityName.INFO, "not a call"))
    own = Call("c2", "2", Direction.OUTBOUND, CallStatus.RINGING, "user:1001", "1001", "+12025550101")
    feed.observe(CallEvent(4, own))  # nothing to do with a queue
    assert changed == ["sales", "sales"]
    assert feed.figures("sales").window("today").longest_abandon == 4.0


def test_agent_states_plug_in_and_go_out_as_a_change() -> None:
    feed, changed, _ = _feed()
    feed.set_agents("support", AgentCounts(available=4, on_call=2, paused=1))
    assert changed == ["support"]
    assert feed.figures("support").agents == AgentCounts(4, 2, 1)
