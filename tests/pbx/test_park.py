"""The call-park lot: park into a slot or the first free one, pick up from a slot, by anyone permitted."""

from __future__ import annotations

from conftest import Agent, Pbx

from cti_tui.core.model import ActivityName, CallStatus, Cause, ErrorCode

CALLER = "+12025550199"


async def answered(pbx: Pbx, agent: Agent, caller: str = CALLER) -> str:
    leg = pbx.exchange.inbound_call(caller, agent.connector.identity.extension, "Parked Person")
    assert leg is not None
    assert await agent.connector.answer(leg.id)
    return leg.id


async def test_park_into_a_chosen_slot(pbx: Pbx) -> None:
    agent = await pbx.login()
    call_id = await answered(pbx, agent)
    connect_at = agent.last(call_id).connect_at
    pbx.advance(5)
    assert await agent.connector.park(call_id, 3)
    assert agent.names(call_id) == ["RINGING", "CONNECTED", "PARKED"]
    parked = agent.last(call_id)
    assert (parked.line, parked.park_slot, parked.connect_at) == ("callpark", 3, connect_at)
    assert parked.release_at is None
    assert pbx.exchange.slots[3].id == call_id
    assert not pbx.exchange.live_legs("1001")  # the agent's phone is free again
    # the parker still sees its parked call (shown on its own line too) until someone picks it up
    assert parked.also == ("user:1001",)
    assert [c.id for c in agent.connector.active_calls()] == [call_id]
    assert agent.connector.get_call(call_id).status is CallStatus.PARKED


async def test_park_a_held_call(pbx: Pbx) -> None:
    agent = await pbx.login()
    call_id = await answered(pbx, agent)
    await agent.connector.hold(call_id)
    assert await agent.connector.park(call_id, 10)
    assert agent.names(call_id) == ["RINGING", "CONNECTED", "ON_HOLD", "PARKED"]
    assert agent.last(call_id).park_slot == 10


async def test_park_takes_the_first_free_slot(pbx: Pbx) -> None:
    agent = await pbx.login()
    first = await answered(pbx, agent)
    await agent.connector.park(first)
    second = await answered(pbx, agent, "+12025550198")
    await agent.connector.park(second)
    assert (agent.last(first).park_slot, agent.last(second).park_slot) == (1, 2)
    await agent.connector.unpark(1)
    third = await answered(pbx, agent, "+12025550197")
    await agent.connector.hold(third)
    await agent.connector.park(third)
    assert agent.last(third).park_slot == 1  # slot 1 was freed
    assert sorted(pbx.exchange.slots) == [1, 2]


async def test_park_into_a_taken_slot_is_info_and_the_call_stays(pbx: Pbx) -> None:
    agent = await pbx.login()
    first = await answered(pbx, agent)
    await agent.connector.park(first, 5)
    second = await answered(pbx, agent, "+12025550198")
    mark = len(agent.events)
    assert not await agent.connector.park(second, 5)
    assert [(e.name, e.code, e.call_id) for e in agent.events[mark:]] == [
        (ActivityName.INFO, ErrorCode.SLOT_BUSY, second)
    ]
    assert agent.last(second).status is CallStatus.CONNECTED
    assert pbx.exchange.slots[5].id == first


async def test_park_with_the_lot_full_is_info(pbx: Pbx) -> None:
    agent = await pbx.login()
    for n in range(10):
        call_id = await answered(pbx, agent, f"+1202555{1000 + n}")
        assert await agent.connector.park(call_id)
    assert sorted(pbx.exchange.slots) == list(range(1, 11))
    last = await answered(pbx, agent, "+12025552000")
    mark = len(agent.events)
    assert not await agent.connector.park(last)
    assert [(e.name, e.code) for e in agent.events[mark:]] == [(ActivityName.INFO, ErrorCode.SLOT_BUSY)]
    assert agent.last(last).status is CallStatus.CONNECTED


async def test_unpark_an_empty_slot_is_info(pbx: Pbx) -> None:
    agent = await pbx.login()
    mark = len(agent.events)
    assert not await agent.connector.unpark(7)
    assert [(e.name, e.code) for e in agent.events[mark:]] == [(ActivityName.INFO, ErrorCode.SLOT_EMPTY)]


async def test_unpark_by_the_parker(pbx: Pbx) -> None:
    agent = await pbx.login()
    call_id = await answered(pbx, agent)
    await agent.connector.park(call_id, 2)
    pbx.advance(20)
    assert await agent.connector.unpark(2)
    assert agent.names(call_id) == ["RINGING", "CONNECTED", "PARKED", "CONNECTED"]
    back = agent.last(call_id)
    assert (back.line, back.park_slot) == ("user:1001", None)
    assert 2 not in pbx.exchange.slots
    # still talking to the same caller: the caller hangs up, the call ends
    assert pbx.exchange.remote_hangup(call_id)
    assert agent.last(call_id).status is CallStatus.HANGUP


async def test_unpark_by_another_agent(pbx: Pbx) -> None:
    agent = await pbx.login()
    bruno = await pbx.login("bruno@demo.local")
    call_id = await answered(pbx, agent)
    await agent.connector.park(call_id, 4)
    assert bruno.call_events() == []
    assert await bruno.connector.unpark(4)  # no callpark subscription needed
    assert bruno.names(call_id) == ["CONNECTED"]
    picked = bruno.last(call_id)
    assert (picked.line, picked.park_slot, picked.source) == ("user:1002", None, CALLER)
    assert pbx.exchange.legs[call_id].owner == "1002"
    # the parker's session saw it parked, then picked up by bruno (it leaves the parker's view), and no more
    assert agent.names(call_id) == ["RINGING", "CONNECTED", "PARKED", "CONNECTED"]
    assert agent.last(call_id).line == "user:1002" and agent.connector.active_calls() == []
    assert [c.id for c in bruno.connector.active_calls()] == [call_id]
    # bruno now controls it
    assert await bruno.connector.hold(call_id)
    assert await bruno.connector.resume(call_id)
    assert await bruno.connector.terminate(call_id)
    assert bruno.names(call_id) == ["CONNECTED", "ON_HOLD", "CONNECTED", "HANGUP"]
    assert agent.names(call_id) == ["RINGING", "CONNECTED", "PARKED", "CONNECTED"]


async def test_unpark_by_the_supervisor(pbx: Pbx) -> None:
    agent = await pbx.login()
    boss = await pbx.login("supervisor@demo.local")
    await boss.connector.subscribe("callpark")
    call_id = await answered(pbx, agent)
    await agent.connector.park(call_id)
    assert boss.names(call_id) == ["PARKED"]
    assert await boss.connector.unpark(1)
    assert boss.names(call_id) == ["PARKED", "CONNECTED"]
    assert boss.last(call_id).line == "user:1100"
    assert agent.names(call_id)[-2:] == ["PARKED", "CONNECTED"]  # the parker sees it picked up...
    assert agent.connector.active_calls() == []  # ...and leave its view
    assert pbx.exchange.remote_hangup(call_id)
    assert boss.names(call_id)[-1] == "HANGUP"


async def test_unpark_the_same_slot_twice(pbx: Pbx) -> None:
    agent = await pbx.login()
    bruno = await pbx.login("bruno@demo.local")
    call_id = await answered(pbx, agent)
    await agent.connector.park(call_id, 1)
    assert await bruno.connector.unpark(1)
    mark = len(agent.events)
    assert not await agent.connector.unpark(1)
    assert [(e.name, e.code) for e in agent.events[mark:]] == [(ActivityName.INFO, ErrorCode.SLOT_EMPTY)]
    assert pbx.exchange.legs[call_id].owner == "1002"


async def test_caller_hangs_up_while_parked(pbx: Pbx) -> None:
    agent = await pbx.login()
    watcher = await pbx.login("supervisor@demo.local")
    await watcher.connector.subscribe("callpark")
    call_id = await answered(pbx, agent)
    await agent.connector.park(call_id, 6)
    pbx.advance(10)
    assert pbx.exchange.remote_hangup(call_id)
    assert watcher.names(call_id) == ["PARKED", "HANGUP"]
    ended = watcher.last(call_id)
    assert (ended.cause, ended.park_slot, ended.line) == (Cause.NORMAL, 6, "callpark")
    assert pbx.exchange.slots == {}
    mark = len(agent.events)
    assert not await agent.connector.unpark(6)
    assert agent.events[mark].code is ErrorCode.SLOT_EMPTY


async def test_an_agent_may_not_hang_up_a_parked_call_but_a_supervisor_may(pbx: Pbx) -> None:
    agent = await pbx.login()
    boss = await pbx.login("supervisor@demo.local")
    await agent.connector.subscribe("callpark")
    await boss.connector.subscribe("callpark")
    call_id = await answered(pbx, agent)
    await agent.connector.park(call_id)
    mark = len(agent.events)
    assert not await agent.connector.terminate(call_id)
    assert [(e.name, e.code) for e in agent.events[mark:]] == [(ActivityName.ERROR, ErrorCode.NOT_PERMITTED)]
    assert pbx.exchange.legs[call_id].status is CallStatus.PARKED
    assert await boss.connector.terminate(call_id)
    assert agent.names(call_id)[-1] == "HANGUP"
    assert pbx.exchange.slots == {}


async def test_parked_internal_call_keeps_the_other_side_connected(pbx: Pbx) -> None:
    agent = await pbx.login()
    bruno = await pbx.login("bruno@demo.local")
    call_id = (await agent.connector.call("1002")).value
    pbx.advance(1)
    (offered,) = bruno.ringing()
    await bruno.connector.answer(offered.id)
    await bruno.connector.park(offered.id, 9)
    assert agent.last(call_id).status is CallStatus.CONNECTED
    chloe = await pbx.login("chloe@demo.local")
    assert await chloe.connector.unpark(9)
    assert chloe.last(offered.id).line == "user:1003"
    await agent.connector.terminate(call_id)  # the caller hangs up: chloe's leg ends too
    assert chloe.names(offered.id) == ["CONNECTED", "HANGUP"]


async def test_a_call_transferred_while_its_far_end_is_parked_stays_parked(pbx: Pbx) -> None:
    """Only a call waiting in an IVR or a queue moves on as it is; a parked one keeps its slot and status
    (it jumped back to ringing in the queue, a move the state machine refuses) and the queue gets a call."""
    agent = await pbx.login()
    bruno = await pbx.login("bruno@demo.local")
    call_id = (await agent.connector.call("1002")).value
    pbx.advance(1)
    (offered,) = bruno.ringing()
    await bruno.connector.answer(offered.id)
    await bruno.connector.park(offered.id, 9)
    assert await agent.connector.transfer(call_id, "6001")  # the sales queue
    parked = pbx.exchange.slots[9]
    assert (parked.id, parked.status, parked.line) == (offered.id, CallStatus.PARKED, "callpark")
    (waiting,) = pbx.exchange.queues["sales"]
    assert waiting.id != offered.id and waiting.status is CallStatus.RINGING
