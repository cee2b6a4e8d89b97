"""Commands of one connector in flight together (a server session with two connections, a UI worker per key).

A backend with I/O answers after an await, so a second command can start before the first is answered.
"""

from __future__ import annotations

import asyncio

from conftest import Pbx
from overlapping_backend import Overlapping

from cti_tui.core.model import ActivityEvent, ActivityName, CallEvent, Event
from cti_tui.core.results import DONE


def line_story(events: list[Event], node: str) -> list[str]:
    """SUBSCRIBED for ``node`` and the calls seen on it, in the order the session heard them."""
    story = []
    for event in events:
        if isinstance(event, ActivityEvent) and event.node == node:
            story.append(event.name.value)
        elif isinstance(event, CallEvent) and event.call.seen_on({node}):
            story.append(event.call.status.value)
    return story


async def test_two_subscribes_in_flight_both_succeed_each_line_after_its_subscribed(pbx: Pbx) -> None:
    supervisor = await pbx.login("supervisor@demo.local")
    for extension in ("1001", "1002"):
        assert pbx.exchange.inbound_call("+12025550199", extension, "Zed") is not None
    supervisor.connector.backend = Overlapping(supervisor.connector.backend, width=2)  # type: ignore[assignment]
    results = await asyncio.gather(
        supervisor.connector.subscribe("user:1001"), supervisor.connector.subscribe("user:1002")
    )
    assert results == [DONE, DONE]  # before: TypeError, the second subscribe found the first's hold gone
    assert supervisor.connector.subscriptions() == ["user:1001", "user:1002"]
    for node in ("user:1001", "user:1002"):
        assert line_story(supervisor.events, node) == ["SUBSCRIBED", "RINGING"]
    assert len(supervisor.connector.active_calls()) == 2
    # nothing is held any more: a new call on a watched line arrives at once
    pbx.exchange.inbound_call("+12025550198", "1001", "Ann")
    assert line_story(supervisor.events, "user:1001")[-1] == "RINGING"
    assert len(supervisor.connector.active_calls()) == 3


async def test_a_refused_subscribe_in_flight_with_another_holds_nothing_back(pbx: Pbx) -> None:
    supervisor = await pbx.login("supervisor@demo.local")
    pbx.exchange.inbound_call("+12025550199", "1002", "Zed")
    supervisor.connector.backend = Overlapping(supervisor.connector.backend, width=2)  # type: ignore[assignment]
    refused, done = await asyncio.gather(
        supervisor.connector.subscribe("user:9999"), supervisor.connector.subscribe("user:1002")
    )
    assert not refused and refused.code.value == "unknown_node"
    assert done == DONE
    assert line_story(supervisor.events, "user:1002") == ["SUBSCRIBED", "RINGING"]
    names = [e.name for e in supervisor.events if isinstance(e, ActivityEvent)]
    assert names.count(ActivityName.SUBSCRIBED) == 1
