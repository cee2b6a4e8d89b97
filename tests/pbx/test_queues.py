"""Call queues: waiting positions, distribution to the longest-idle member, offers that time out, callers
who give up."""

from __future__ import annotations

from conftest import Agent, Pbx

from cti_tui.core.model import CallStatus, Cause

SALES = "+12025550120"


async def watcher(pbx: Pbx, node: str = "queue:sales") -> Agent:
    boss = await pbx.login("supervisor@demo.local")
    assert await boss.connector.subscribe(node)
    return boss


def positions(agent: Agent) -> dict[str, int | None]:
    """Live calls waiting on the queue line, by id, with their position as last reported."""
    return {c.id: c.queue_position for c in agent.connector.active_calls() if c.line.startswith("queue:")}


async def test_waiting_calls_are_numbered_in_arrival_order(pbx: Pbx) -> None:
    boss = await watcher(pbx)
    ids = []
    for n in range(3):
        leg = pbx.exchange.inbound_call(f"+1202555100{n}", SALES, f"Caller {n}")
        assert leg is not None
        ids.append(leg.id)
        pbx.advance(1)
    assert positions(boss) == {ids[0]: 1, ids[1]: 2, ids[2]: 3}
    # one event per arrival: each call appears with its place already set
    assert [(e.call.id, e.call.queue_position) for e in boss.call_events()] == [
        (ids[0], 1),
        (ids[1], 2),
        (ids[2], 3),
    ]
    assert [leg.id for leg in pbx.exchange.queues["sales"]] == ids


async def test_a_caller_giving_up_moves_the_others_forward(pbx: Pbx) -> None:
    boss = await watcher(pbx)
    ids = [pbx.exchange.inbound_call(f"+1202555100{n}", SALES).id for n in range(3)]
    mark = len(boss.events)
    pbx.advance(20)
    assert pbx.exchange.remote_hangup(ids[0])
    assert [(e.name, e.call.id, e.call.queue_position) for e in boss.events[mark:]] == [
        ("CANCEL", ids[0], None),
        ("RINGING", ids[1], 1),
        ("RINGING", ids[2], 2),
    ]
    gone = boss.last(ids[0])
    assert (gone.cause, gone.line, gone.connect_at) == (Cause.CANCELLED, "queue:sales", None)
    assert positions(boss) == {ids[1]: 1, ids[2]: 2}
    assert [leg.id for leg in pbx.exchange.queues["sales"]] == ids[1:]


async def test_the_last_caller_giving_up_renumbers_nobody(pbx: Pbx) -> None:
    boss = await watcher(pbx)
    ids = [pbx.exchange.inbound_call(f"+1202555100{n}", SALES).id for n in range(2)]
    mark = len(boss.events)
    assert pbx.exchange.remote_hangup(ids[1])
    assert [(e.name, e.call.id) for e in boss.events[mark:]] == [("CANCEL", ids[1])]
    assert positions(boss) == {ids[0]: 1}


async def test_a_member_logging_in_gets_the_longest_waiting_call(pbx: Pbx) -> None:
    boss = await watcher(pbx)
    ids = [pbx.exchange.inbound_call(f"+1202555100{n}", SALES).id for n in range(3)]
    agent = await pbx.login()  # 1001, a sales member
    (offered,) = agent.ringing()
    assert offered.id == ids[0]
    assert (offered.line, offered.queue_position) == ("user:1001", None)
    assert offered.destination_name == "Sales → Alice Martin"
    assert positions(boss) == {ids[1]: 1, ids[2]: 2}
    # the queue's watcher sees the offer on the agent's line
    assert boss.last(ids[0]).line == "user:1001"


async def test_distribution_to_the_longest_idle_member(pbx: Pbx) -> None:
    alice = await pbx.login()  # 1001
    bruno = await pbx.login("bruno@demo.local")  # 1002
    chloe = await pbx.login("chloe@demo.local")  # 1003
    # alice and chloe each take a call; bruno has been idle since the start
    for agent, at in ((alice, 10), (chloe, 20)):
        leg = pbx.exchange.inbound_call("+12025550177", agent.connector.identity.extension)
        await agent.connector.answer(leg.id)
        pbx.advance(at - pbx.clock.elapsed)
        await agent.connector.terminate(leg.id)
    first = pbx.exchange.inbound_call("+12025551001", SALES)
    assert [c.id for c in bruno.ringing()] == [first.id]
    second = pbx.exchange.inbound_call("+12025551002", SALES)
    assert [c.id for c in alice.ringing()] == [second.id]  # idle since 10, chloe only since 20
    third = pbx.exchange.inbound_call("+12025551003", SALES)
    assert [c.id for c in chloe.ringing()] == [third.id]
    fourth = pbx.exchange.inbound_call("+12025551004", SALES)
    assert pbx.exchange.legs[fourth.id].line == "queue:sales"  # 1004 is not logged in: it waits
    assert pbx.exchange.legs[fourth.id].call.queue_position == 1


async def test_a_member_on_a_call_is_skipped(pbx: Pbx) -> None:
    alice = await pbx.login()
    bruno = await pbx.login("bruno@demo.local")
    own = (await alice.connector.call("+12025550101")).value
    pbx.advance(7)
    assert alice.last(own).status is CallStatus.CONNECTED
    leg = pbx.exchange.inbound_call("+12025551001", SALES)
    assert [c.id for c in bruno.ringing()] == [leg.id]
    assert alice.ringing() == []


async def test_a_member_not_logged_in_is_not_offered_calls(pbx: Pbx) -> None:
    bruno = await pbx.login("bruno@demo.local")  # 1001 is the longest-idle tie-winner but absent
    leg = pbx.exchange.inbound_call("+12025551001", SALES)
    assert [c.id for c in bruno.ringing()] == [leg.id]


async def test_an_unanswered_offer_goes_back_to_the_queue_and_to_the_next_member(pbx: Pbx) -> None:
    boss = await watcher(pbx)
    alice = await pbx.login()
    bruno = await pbx.login("bruno@demo.local")
    leg = pbx.exchange.inbound_call("+12025551001", SALES, "Patient Caller")
    assert [c.id for c in alice.ringing()] == [leg.id]
    assert bruno.ringing() == []
    pbx.advance(14.99)
    assert [c.id for c in alice.ringing()] == [leg.id]
    mark = len(boss.events)
    pbx.advance(0.01)  # the 15 s offer timeout
    assert [(e.call.line, e.call.queue_position, e.call.destination_name) for e in boss.events[mark:]] == [
        ("queue:sales", 1, "Sales"),
        ("user:1002", None, "Sales → Bruno Costa"),
    ]
    assert alice.ringing() == []
    assert alice.last(leg.id).line == "queue:sales"  # alice saw it leave her line
    assert [c.id for c in bruno.ringing()] == [leg.id]
    assert pbx.exchange.legs[leg.id].live
    # bruno lets it ring out too: everyone had a go, the round starts again with alice
    pbx.advance(15)
    assert [c.id for c in alice.ringing()] == [leg.id]
    assert bruno.ringing() == []
    await alice.connector.answer(leg.id)
    assert alice.last(leg.id).status is CallStatus.CONNECTED
    assert boss.last(leg.id).status is CallStatus.CONNECTED
    assert pbx.exchange.queues["sales"] == []


async def test_a_queue_call_does_not_time_out_like_a_direct_call(pbx: Pbx) -> None:
    alice = await pbx.login()
    leg = pbx.exchange.inbound_call("+12025551001", SALES)
    pbx.advance(120)  # offered, back, offered again ... but never CANCEL no_answer
    assert pbx.exchange.legs[leg.id].live
    assert all(name == "RINGING" for name in alice.names(leg.id))


async def test_answering_a_queue_call(pbx: Pbx) -> None:
    alice = await pbx.login()
    leg = pbx.exchange.inbound_call("+12025551001", SALES, "Buyer")
    pbx.advance(3)
    assert await alice.connector.answer(leg.id)
    assert alice.names(leg.id) == ["RINGING", "CONNECTED"]
    call = alice.last(leg.id)
    assert (call.source, call.source_name, call.line) == ("+12025551001", "Buyer", "user:1001")
    assert call.setup_at < call.connect_at
    assert pbx.exchange.queues["sales"] == []
    pbx.advance(60)
    assert alice.last(leg.id).status is CallStatus.CONNECTED  # no offer timeout after answering
    assert pbx.exchange.remote_hangup(leg.id)
    assert alice.last(leg.id).status is CallStatus.HANGUP


async def test_caller_gives_up_while_offered_to_an_agent(pbx: Pbx) -> None:
    boss = await watcher(pbx)
    alice = await pbx.login()
    leg = pbx.exchange.inbound_call("+12025551001", SALES)
    pbx.advance(4)
    assert pbx.exchange.remote_hangup(leg.id)
    assert alice.names(leg.id) == ["RINGING", "CANCEL"]
    assert alice.last(leg.id).cause == Cause.CANCELLED
    assert boss.last(leg.id).status is CallStatus.CANCEL
    assert pbx.exchange.queues["sales"] == []
    pbx.advance(30)  # the offer timeout finds nothing to do
    assert alice.names(leg.id) == ["RINGING", "CANCEL"]


async def test_rejecting_a_queue_offer_sends_the_caller_to_voicemail(pbx: Pbx) -> None:
    alice = await pbx.login()
    leg = pbx.exchange.inbound_call("+12025551001", SALES)
    assert await alice.connector.reject(leg.id)
    assert alice.last(leg.id).status is CallStatus.CANCEL
    assert alice.last(leg.id).cause == Cause.REJECTED
    assert pbx.exchange.queues["sales"] == []


async def test_an_internal_caller_reaches_a_queue(pbx: Pbx) -> None:
    elena = await pbx.login("elena@demo.local")  # 1005, not in sales
    alice = await pbx.login()
    call_id = (await elena.connector.call("6001")).value
    pbx.advance(1)
    assert elena.names(call_id) == ["INITIAL", "ACCEPTED", "RINGING"]
    (offered,) = alice.ringing()
    assert (offered.source, offered.source_name) == ("1005", "Elena Rossi")
    await alice.connector.answer(offered.id)
    assert elena.last(call_id).status is CallStatus.CONNECTED
    await elena.connector.terminate(call_id)
    assert alice.last(offered.id).status is CallStatus.HANGUP


async def test_an_internal_caller_hangs_up_while_queued(pbx: Pbx) -> None:
    boss = await watcher(pbx)
    elena = await pbx.login("elena@demo.local")
    call_id = (await elena.connector.call("6001")).value
    pbx.advance(1)
    (queued,) = boss.connector.active_calls()
    assert queued.queue_position == 1
    await elena.connector.terminate(call_id)
    assert boss.last(queued.id).status is CallStatus.CANCEL
    assert pbx.exchange.queues["sales"] == []


async def test_each_queue_has_its_own_positions(pbx: Pbx) -> None:
    boss = await watcher(pbx)
    await boss.connector.subscribe("queue:support")
    sales = pbx.exchange.inbound_call("+12025551001", SALES)
    support = pbx.exchange.inbound_call("+12025551002", "+12025550130")
    sales2 = pbx.exchange.inbound_call("+12025551003", "6001")
    assert positions(boss) == {sales.id: 1, support.id: 1, sales2.id: 2}
    assert boss.last(support.id).line == "queue:support"


async def test_a_call_from_the_ivr_is_named_after_its_queue_while_it_waits(pbx: Pbx) -> None:
    watcher = await pbx.login("supervisor@demo.local")
    assert await watcher.connector.subscribe("queue:sales")
    assert await watcher.connector.subscribe("queue:support")
    leg = pbx.exchange.inbound_call("+12025550177", "+12025550100", "Menu Caller")
    assert leg is not None
    pbx.advance(6)  # the menu ends with a seeded choice of queue
    queued = watcher.last(leg.id)
    assert queued.line in ("queue:sales", "queue:support")
    assert queued.destination_name == {"queue:sales": "Sales", "queue:support": "Support"}[queued.line]
