"""Watching lines: each node type delivers its own line's calls, and only those."""

from __future__ import annotations

import pytest
from conftest import Agent, Pbx

from cti_tui.core.model import ActivityName, CallStatus, Cause, ErrorCode

CALLER = "+12025550199"
SALES_DID = "+12025550120"
SUPPORT_DID = "+12025550130"
IVR_DID = "+12025550100"


def call_ids(agent: Agent) -> set[str]:
    return {e.call.id for e in agent.call_events()}


async def supervisor(pbx: Pbx, *nodes: str) -> Agent:
    watcher = await pbx.login("supervisor@demo.local")
    for node in nodes:
        assert await watcher.connector.subscribe(node)
    return watcher


async def test_subscribe_emits_subscribed_and_lists_the_node(pbx: Pbx) -> None:
    watcher = await pbx.login("supervisor@demo.local")
    assert watcher.connector.subscriptions() == []
    assert await watcher.connector.subscribe("queue:sales")
    assert await watcher.connector.subscribe("user:1002")
    subscribed = watcher.activities(ActivityName.SUBSCRIBED)
    assert [(e.node, e.seq) for e in subscribed] == [("queue:sales", 3), ("user:1002", 4)]
    assert watcher.connector.subscriptions() == ["queue:sales", "user:1002"]
    assert list(pbx.exchange.sessions[0].subscriptions) == ["queue:sales", "user:1002"]
    assert watcher.connector.visible_lines() == {"user:1100", "queue:sales", "user:1002"}


async def test_user_line_delivers_that_users_calls_only(pbx: Pbx) -> None:
    agent = await pbx.login()
    assert await agent.connector.subscribe("user:1002")
    to_bruno = pbx.exchange.inbound_call(CALLER, "1002", "For Bruno")
    to_chloe = pbx.exchange.inbound_call("+12025550198", "1003", "For Chloe")
    assert to_bruno and to_chloe
    pbx.advance(30)  # nobody is at 1002's phone: it stops ringing
    assert agent.names(to_bruno.id) == ["RINGING", "CANCEL"]
    assert agent.last(to_bruno.id).line == "user:1002"
    assert agent.last(to_bruno.id).cause == Cause.NO_ANSWER
    assert call_ids(agent) == {to_bruno.id}


async def test_user_line_follows_a_colleagues_whole_call(pbx: Pbx) -> None:
    agent = await pbx.login()
    bruno = await pbx.login("bruno@demo.local")
    await agent.connector.subscribe("user:1002")
    call_id = (await bruno.connector.call("+12025550101")).value
    pbx.advance(10)
    await bruno.connector.hold(call_id)
    await bruno.connector.resume(call_id)
    await bruno.connector.terminate(call_id)
    expected = ["INITIAL", "ACCEPTED", "RINGING", "CONNECTED", "ON_HOLD", "CONNECTED", "HANGUP"]
    assert agent.names(call_id) == expected
    assert bruno.names(call_id) == expected
    assert [e.call for e in agent.call_events(call_id)] == [e.call for e in bruno.call_events(call_id)]


async def test_subscribe_shows_calls_already_on_the_line_after_subscribed(pbx: Pbx) -> None:
    ringing = pbx.exchange.inbound_call(CALLER, "1002")
    assert ringing is not None
    agent = await pbx.login()
    assert agent.call_events() == []
    mark = len(agent.events)
    await agent.connector.subscribe("user:1002")
    names = [e.name for e in agent.events[mark:]]
    assert names == [ActivityName.SUBSCRIBED, "RINGING"]
    assert agent.connector.get_call(ringing.id).line == "user:1002"
    assert [e.seq for e in agent.events] == list(range(1, len(agent.events) + 1))


async def test_queue_line_sees_calls_to_its_number_only(pbx: Pbx) -> None:
    watcher = await supervisor(pbx, "queue:sales")
    to_sales = pbx.exchange.inbound_call(CALLER, SALES_DID, "Buyer")
    to_support = pbx.exchange.inbound_call("+12025550198", SUPPORT_DID, "Complainer")
    direct = pbx.exchange.inbound_call("+12025550197", "1003", "Friend")
    assert to_sales and to_support and direct
    pbx.advance(5)
    assert call_ids(watcher) == {to_sales.id}
    waiting = watcher.last(to_sales.id)
    assert waiting.status is CallStatus.RINGING
    assert waiting.line == "queue:sales"
    assert waiting.queue_position == 1
    assert waiting.source == "+12025550199"
    assert [c.id for c in watcher.connector.active_calls()] == [to_sales.id]


async def test_queue_line_sees_the_offer_to_an_agent_and_the_answer(pbx: Pbx) -> None:
    watcher = await supervisor(pbx, "queue:sales")
    agent = await pbx.login()  # 1001 is a sales member
    leg = pbx.exchange.inbound_call(CALLER, SALES_DID, "Buyer")
    assert leg is not None
    offered = watcher.last(leg.id)
    assert (offered.status, offered.line) == (CallStatus.RINGING, "user:1001")
    assert agent.last(leg.id).line == "user:1001"
    assert offered.also == ("queue:sales",)
    assert [c.id for c in watcher.connector.active_calls()] == [leg.id]  # still shown on the queue line
    await agent.connector.answer(leg.id)
    answered = watcher.last(leg.id)
    assert answered.status is CallStatus.CONNECTED and answered.also == ()
    assert watcher.connector.active_calls() == []  # answered: it has left the queue


async def test_ivr_line_sees_the_menu_and_the_move_to_a_queue(pbx: Pbx) -> None:
    watcher = await supervisor(pbx, "ivr:main")
    leg = pbx.exchange.inbound_call(CALLER, IVR_DID, "Menu Caller")
    assert leg is not None
    in_menu = watcher.last(leg.id)
    assert (in_menu.status, in_menu.line) == (CallStatus.RINGING, "ivr:main")
    pbx.advance(5.9)
    assert watcher.names(leg.id) == ["RINGING"]
    pbx.advance(0.1)
    moved = watcher.last(leg.id)
    assert moved.line in ("queue:sales", "queue:support")
    assert pbx.exchange.legs[leg.id].dtmf in ("1", "2")
    assert moved.line == {"1": "queue:sales", "2": "queue:support"}[pbx.exchange.legs[leg.id].dtmf]
    count = len(watcher.call_events())
    pbx.advance(60)
    assert len(watcher.call_events()) == count  # it left the IVR: no more news on ivr:main
    assert watcher.connector.active_calls() == []


async def test_ivr_hands_the_same_call_to_the_queue(pbx: Pbx) -> None:
    watcher = await supervisor(pbx, "queue:sales", "queue:support")
    leg = pbx.exchange.inbound_call(CALLER, "6000", "Menu Caller")
    assert leg is not None
    assert watcher.call_events() == []
    pbx.advance(6)
    queued = watcher.last(leg.id)  # the id is kept from the IVR into the queue
    assert queued.line in ("queue:sales", "queue:support")
    assert queued.queue_position == 1
    assert queued.status is CallStatus.RINGING


async def test_conference_line_sees_participants(pbx: Pbx) -> None:
    watcher = await supervisor(pbx, "conf:room1")
    agent = await pbx.login()
    bruno = await pbx.login("bruno@demo.local")
    await agent.connector.set_auto_answer(True)
    await bruno.connector.set_auto_answer(True)
    first = (await agent.connector.call("7000")).value
    assert agent.names(first) == ["INITIAL", "ACCEPTED", "RINGING"]
    pbx.advance(1)
    assert agent.names(first) == ["INITIAL", "ACCEPTED", "RINGING", "CONNECTED"]
    second = (await bruno.connector.call("7000")).value
    pbx.advance(1)
    assert watcher.names(first) == ["CONNECTED"]
    assert watcher.names(second) == ["CONNECTED"]
    # their legs live on user:* lines and are also shown on the room's line while they are in it
    assert {c.id for c in watcher.connector.active_calls()} == {first, second}
    assert all(c.also == ("conf:room1",) for c in watcher.connector.active_calls())
    await agent.connector.terminate(first)
    assert watcher.names(first) == ["CONNECTED", "HANGUP"]
    # the room outlives a member: the other stays connected
    pbx.advance(60)
    assert bruno.last(second).status is CallStatus.CONNECTED
    unrelated = (await agent.connector.call("+12025550101")).value
    pbx.advance(10)
    assert unrelated not in call_ids(watcher)


async def test_a_lone_conference_member_stays_connected(pbx: Pbx) -> None:
    agent = await pbx.login()
    call_id = (await agent.connector.call("7000")).value
    pbx.advance(2)
    assert agent.names(call_id) == ["INITIAL", "ACCEPTED", "RINGING", "CONNECTED"]
    pbx.advance(600)
    assert agent.last(call_id).status is CallStatus.CONNECTED
    await agent.connector.terminate(call_id)
    assert agent.last(call_id).cause == Cause.NORMAL


async def test_callpark_line_sees_parking_and_pickup(pbx: Pbx) -> None:
    watcher = await supervisor(pbx, "callpark")
    agent = await pbx.login()
    leg = pbx.exchange.inbound_call(CALLER, "1001")
    assert leg is not None
    await agent.connector.answer(leg.id)
    assert watcher.call_events() == []
    await agent.connector.park(leg.id, 4)
    assert watcher.names(leg.id) == ["PARKED"]
    assert (watcher.last(leg.id).line, watcher.last(leg.id).park_slot) == ("callpark", 4)
    bruno = await pbx.login("bruno@demo.local")
    await bruno.connector.unpark(4)
    assert watcher.names(leg.id) == ["PARKED", "CONNECTED"]
    assert watcher.last(leg.id).line == "user:1002"


async def test_callpark_subscription_shows_calls_already_parked(pbx: Pbx) -> None:
    agent = await pbx.login()
    leg = pbx.exchange.inbound_call(CALLER, "1001")
    await agent.connector.answer(leg.id)
    await agent.connector.park(leg.id)
    bruno = await pbx.login("bruno@demo.local")
    await bruno.connector.subscribe("callpark")
    assert bruno.names(leg.id) == ["PARKED"]
    assert bruno.last(leg.id).park_slot == 1


async def test_unsubscribe_stops_the_line_and_forgets_its_calls(pbx: Pbx) -> None:
    watcher = await supervisor(pbx, "queue:sales", "queue:support")
    first = pbx.exchange.inbound_call(CALLER, SALES_DID)
    assert first is not None
    assert watcher.connector.get_call(first.id) is not None
    assert await watcher.connector.unsubscribe("queue:sales")
    assert watcher.events[-1].name is ActivityName.UNSUBSCRIBED
    assert watcher.events[-1].node == "queue:sales"
    assert watcher.connector.subscriptions() == ["queue:support"]
    assert list(pbx.exchange.sessions[0].subscriptions) == ["queue:support"]
    assert watcher.connector.get_call(first.id) is None
    mark = len(watcher.events)
    second = pbx.exchange.inbound_call("+12025550198", SALES_DID)
    pbx.exchange.remote_hangup(first.id)
    pbx.advance(30)
    assert watcher.events[mark:] == []
    assert second is not None
    # the other subscription still works
    third = pbx.exchange.inbound_call("+12025550197", SUPPORT_DID)
    assert watcher.names(third.id) == ["RINGING"]


async def test_unsubscribe_keeps_own_line_calls(pbx: Pbx) -> None:
    agent = await pbx.login()
    await agent.connector.subscribe("user:1002")
    own = pbx.exchange.inbound_call(CALLER, "1001")
    await agent.connector.unsubscribe("user:1002")
    assert agent.connector.get_call(own.id) is not None


async def test_unsubscribe_then_subscribe_again(pbx: Pbx) -> None:
    watcher = await supervisor(pbx, "callpark")
    await watcher.connector.unsubscribe("callpark")
    assert await watcher.connector.subscribe("callpark")
    assert watcher.connector.subscriptions() == ["callpark"]


async def test_unsubscribe_from_a_node_not_subscribed_is_info(pbx: Pbx) -> None:
    watcher = await pbx.login("supervisor@demo.local")
    mark = len(watcher.events)
    assert not await watcher.connector.unsubscribe("queue:sales")
    assert [(e.name, e.code) for e in watcher.events[mark:]] == [(ActivityName.INFO, ErrorCode.BAD_REQUEST)]


@pytest.mark.parametrize("node", ["user:9999", "queue:nope", "ivr:other", "conf:room2", "user:abc"])
async def test_subscribe_unknown_node_is_error(pbx: Pbx, node: str) -> None:
    watcher = await pbx.login("supervisor@demo.local")
    mark = len(watcher.events)
    assert not await watcher.connector.subscribe(node)
    assert [(e.name, e.code) for e in watcher.events[mark:]] == [(ActivityName.ERROR, ErrorCode.UNKNOWN_NODE)]
    assert watcher.connector.subscriptions() == []
    assert list(pbx.exchange.sessions[0].subscriptions) == []


@pytest.mark.parametrize(
    "node",
    [
        "",
        "sales",
        "user:",
        "queue",
        "user: 1002",
        "USER:1002",
        "callpark:1",
        "room:room1",
        "user:10\n02",
        None,
        7,
    ],
)
async def test_subscribe_malformed_node_is_error(pbx: Pbx, node: object) -> None:
    watcher = await pbx.login("supervisor@demo.local")
    mark = len(watcher.events)
    assert not await watcher.connector.subscribe(node)  # type: ignore[arg-type]
    assert [(e.name, e.code) for e in watcher.events[mark:]] == [(ActivityName.ERROR, ErrorCode.UNKNOWN_NODE)]
    assert watcher.connector.subscriptions() == []


async def test_subscribe_twice_is_info_and_changes_nothing(pbx: Pbx) -> None:
    watcher = await supervisor(pbx, "queue:sales")
    mark = len(watcher.events)
    assert not await watcher.connector.subscribe("queue:sales")
    assert [(e.name, e.code) for e in watcher.events[mark:]] == [(ActivityName.INFO, ErrorCode.BAD_REQUEST)]
    assert watcher.connector.subscriptions() == ["queue:sales"]
    assert list(pbx.exchange.sessions[0].subscriptions) == ["queue:sales"]
    leg = pbx.exchange.inbound_call(CALLER, SALES_DID)
    assert watcher.names(leg.id) == ["RINGING"]  # delivered once, not twice


async def test_subscribing_to_own_line_delivers_each_event_once(pbx: Pbx) -> None:
    agent = await pbx.login()
    assert await agent.connector.subscribe("user:1001")
    call_id = (await agent.connector.call("+12025550101")).value
    pbx.advance(10)
    assert agent.names(call_id) == ["INITIAL", "ACCEPTED", "RINGING", "CONNECTED"]


async def test_two_watchers_get_the_same_calls_with_their_own_sequence(pbx: Pbx) -> None:
    first = await supervisor(pbx, "queue:sales", "queue:support")
    pbx.exchange.inbound_call("+12025550198", SUPPORT_DID)  # seq 5 for the supervisor only
    second = await pbx.login("bruno@demo.local")
    await second.connector.subscribe("queue:sales")
    leg = pbx.exchange.inbound_call(CALLER, SALES_DID)
    # it waits at position 1 for an instant, then is offered to 1002, the only sales member present
    assert first.names(leg.id) == second.names(leg.id) == ["RINGING", "RINGING"]
    assert [e.call for e in first.call_events(leg.id)] == [e.call for e in second.call_events(leg.id)]
    assert [e.seq for e in first.call_events(leg.id)] == [6, 7]
    assert [e.seq for e in second.call_events(leg.id)] == [4, 5]
    assert first.last(leg.id).line == "user:1002"
    for watcher in (first, second):
        assert [e.seq for e in watcher.events] == list(range(1, len(watcher.events) + 1))


async def test_directory_lists_every_line_one_can_dial_or_watch(pbx: Pbx) -> None:
    agent = await pbx.login()
    entries = await agent.connector.directory()
    assert [e.node for e in entries] == pbx.exchange.org.nodes()
    sales = next(e for e in entries if e.node == "queue:sales")
    assert (sales.name, sales.number, sales.outside_number) == ("Sales", "6001", "+12025550120")
