"""Blind and supervised transfers, and merging two calls, on the embedded PBX."""

from __future__ import annotations

from conftest import Agent, Pbx

from cti_tui.core import commands as cmd
from cti_tui.core.model import ActivityName, CallStatus, Cause, Direction, ErrorCode

CALLER = "+12025550199"
ACME = "+12025550101"  # answers after 3 rings (6 s)
BUSY = "+12025550102"
NOBODY = "+12025550103"
GONE = "+12025550104"


async def answered(pbx: Pbx, agent: Agent, caller: str = CALLER, name: str = "Zed Caller") -> str:
    leg = pbx.exchange.inbound_call(caller, agent.connector.identity.extension, name)
    assert leg is not None
    assert await agent.connector.answer(leg.id)
    return leg.id


def consult_id(agent: Agent, original: str) -> str:
    """The consult leg a supervised transfer opened on the agent's line."""
    ids = [e.call.id for e in agent.call_events() if e.call.id != original]
    assert ids, "no consult call"
    return ids[-1]


def transfer_failed(agent: Agent) -> list[str | None]:
    return [e.call_id for e in agent.activities(ActivityName.INFO) if e.code is ErrorCode.TRANSFER_FAILED]


# --- supervised transfer ------------------------------------------------------------------------------------


async def test_supervised_transfer_to_a_logged_in_colleague_who_answers(pbx: Pbx) -> None:
    agent = await pbx.login()
    bruno = await pbx.login("bruno@demo.local")
    original = await answered(pbx, agent)
    assert await agent.connector.supervised_transfer(original, "1002")
    assert agent.names(original) == ["RINGING", "CONNECTED", "ON_HOLD"]
    consult = consult_id(agent, original)
    assert agent.names(consult) == ["RINGING"]
    c = agent.last(consult)
    assert (c.direction, c.line, c.source, c.destination) == (Direction.OUTBOUND, "user:1001", "1001", "1002")
    (offered,) = bruno.ringing()
    assert (offered.source, offered.source_name) == (
        "1001",
        "Alice Martin",
    )  # the consult comes from the agent

    pbx.advance(3)
    assert await bruno.connector.answer(offered.id)
    assert agent.names(original) == ["RINGING", "CONNECTED", "ON_HOLD", "HANGUP"]
    assert agent.last(original).cause == Cause.TRANSFERRED
    assert agent.names(consult)[-1] == "HANGUP"
    assert agent.last(consult).cause == Cause.TRANSFERRED
    assert transfer_failed(agent) == []
    assert not pbx.exchange.live_legs("1001")
    # bruno now talks to the caller, and sees who it is
    now = bruno.last(offered.id)
    assert now.status is CallStatus.CONNECTED
    assert (now.source, now.source_name) == (CALLER, "Zed Caller")
    assert pbx.exchange.remote_hangup(offered.id)
    assert bruno.last(offered.id).status is CallStatus.HANGUP
    assert bruno.last(offered.id).cause == Cause.NORMAL


async def test_supervised_transfer_to_an_outside_number_that_answers(pbx: Pbx) -> None:
    agent = await pbx.login()
    original = await answered(pbx, agent)
    assert await agent.connector.supervised_transfer(original, ACME)
    consult = consult_id(agent, original)
    assert agent.last(original).status is CallStatus.ON_HOLD
    pbx.advance(5.99)
    assert agent.names(consult) == ["RINGING"]
    assert agent.last(original).status is CallStatus.ON_HOLD
    pbx.advance(0.01)
    assert agent.names(original) == ["RINGING", "CONNECTED", "ON_HOLD", "HANGUP"]
    assert agent.last(original).cause == Cause.TRANSFERRED
    assert agent.names(consult) == ["RINGING", "CONNECTED", "HANGUP"]
    assert agent.last(consult).cause == Cause.TRANSFERRED
    assert transfer_failed(agent) == []
    assert [leg for leg in pbx.exchange.legs.values() if leg.live] == []  # both outside: they left our PBX


async def test_supervised_transfer_of_a_held_call(pbx: Pbx) -> None:
    agent = await pbx.login()
    original = await answered(pbx, agent)
    await agent.connector.hold(original)
    assert await agent.connector.supervised_transfer(original, ACME)
    assert agent.names(original) == ["RINGING", "CONNECTED", "ON_HOLD"]  # no second ON_HOLD
    pbx.advance(6)
    assert agent.last(original).cause == Cause.TRANSFERRED


async def test_supervised_transfer_to_a_busy_number_fails_and_the_call_comes_back(pbx: Pbx) -> None:
    agent = await pbx.login()
    original = await answered(pbx, agent)
    await agent.connector.supervised_transfer(original, BUSY)
    consult = consult_id(agent, original)
    pbx.advance(1)
    assert agent.names(consult) == ["RINGING", "CANCEL"]
    assert agent.last(consult).cause == Cause.BUSY
    assert agent.names(original) == ["RINGING", "CONNECTED", "ON_HOLD", "CONNECTED"]
    assert transfer_failed(agent) == [original]
    # the order: the consult ends, the call comes back, then the INFO
    tail = agent.events[-3:]
    assert [e.name for e in tail] == ["CANCEL", "CONNECTED", ActivityName.INFO]
    assert "busy" in tail[-1].message
    # and the caller is still there
    assert pbx.exchange.remote_hangup(original)
    assert agent.last(original).status is CallStatus.HANGUP


async def test_supervised_transfer_to_an_unreachable_number_fails(pbx: Pbx) -> None:
    agent = await pbx.login()
    original = await answered(pbx, agent)
    await agent.connector.supervised_transfer(original, GONE)
    consult = consult_id(agent, original)
    pbx.advance(0.5)
    assert agent.last(consult).status is CallStatus.CANCEL
    assert agent.last(consult).cause == Cause.UNREACHABLE
    assert agent.last(original).status is CallStatus.CONNECTED
    assert transfer_failed(agent) == [original]


async def test_supervised_transfer_to_an_unknown_extension_fails(pbx: Pbx) -> None:
    agent = await pbx.login()
    original = await answered(pbx, agent)
    await agent.connector.supervised_transfer(original, "4242")
    consult = consult_id(agent, original)
    pbx.advance(0.5)
    assert agent.last(consult).cause == Cause.UNREACHABLE
    assert agent.last(original).status is CallStatus.CONNECTED
    assert transfer_failed(agent) == [original]


async def test_supervised_transfer_times_out_after_invite_timeout(pbx: Pbx) -> None:
    agent = await pbx.login()
    original = await answered(pbx, agent)
    await agent.connector.supervised_transfer(original, NOBODY, invite_timeout=8)
    consult = consult_id(agent, original)
    pbx.advance(7.99)
    assert agent.last(consult).status is CallStatus.RINGING
    assert agent.last(original).status is CallStatus.ON_HOLD
    pbx.advance(0.01)
    assert agent.names(consult) == ["RINGING", "CANCEL"]
    assert agent.last(consult).cause == Cause.NO_ANSWER
    assert agent.last(original).status is CallStatus.CONNECTED
    assert transfer_failed(agent) == [original]
    pbx.advance(60)  # the world's own no-answer timer finds nothing left to do
    assert transfer_failed(agent) == [original]
    assert agent.last(original).status is CallStatus.CONNECTED


async def test_supervised_transfer_times_out_before_a_colleague_answers(pbx: Pbx) -> None:
    agent = await pbx.login()
    bruno = await pbx.login("bruno@demo.local")
    original = await answered(pbx, agent)
    await agent.connector.supervised_transfer(original, "1002", invite_timeout=5)
    (offered,) = bruno.ringing()
    pbx.advance(5)
    assert bruno.names(offered.id) == ["RINGING", "CANCEL"]
    assert agent.last(original).status is CallStatus.CONNECTED
    assert transfer_failed(agent) == [original]
    mark = len(bruno.events)
    assert not await bruno.connector.answer(offered.id)  # too late
    assert bruno.events[mark].code is ErrorCode.CALL_ENDED


async def test_supervised_transfer_without_timeout_fails_at_the_no_answer_timeout(pbx: Pbx) -> None:
    agent = await pbx.login()
    original = await answered(pbx, agent)
    await agent.connector.supervised_transfer(original, NOBODY)
    consult = consult_id(agent, original)
    pbx.advance(29.9)
    assert agent.last(consult).status is CallStatus.RINGING
    pbx.advance(0.1)
    assert agent.last(consult).cause == Cause.NO_ANSWER
    assert agent.last(original).status is CallStatus.CONNECTED


async def test_supervised_transfer_to_a_colleague_who_rejects(pbx: Pbx) -> None:
    agent = await pbx.login()
    bruno = await pbx.login("bruno@demo.local")
    original = await answered(pbx, agent)
    await agent.connector.supervised_transfer(original, "1002")
    consult = consult_id(agent, original)
    (offered,) = bruno.ringing()
    await bruno.connector.reject(offered.id)
    assert agent.last(consult).status is CallStatus.CANCEL
    assert agent.last(consult).cause == Cause.BUSY
    assert agent.last(original).status is CallStatus.CONNECTED
    assert transfer_failed(agent) == [original]


async def test_cancel_supervised_transfer_by_the_original_call(pbx: Pbx) -> None:
    agent = await pbx.login()
    bruno = await pbx.login("bruno@demo.local")
    original = await answered(pbx, agent)
    await agent.connector.supervised_transfer(original, "1002")
    consult = consult_id(agent, original)
    (offered,) = bruno.ringing()
    pbx.advance(2)
    assert await agent.connector.cancel_supervised_transfer(original)
    assert agent.names(consult) == ["RINGING", "HANGUP"]
    assert agent.last(consult).cause == Cause.CANCELLED
    assert agent.names(original) == ["RINGING", "CONNECTED", "ON_HOLD", "CONNECTED"]
    assert transfer_failed(agent) == [original]
    assert bruno.names(offered.id) == ["RINGING", "CANCEL"]
    assert bruno.last(offered.id).cause == Cause.CANCELLED
    # nothing pending any more
    mark = len(agent.events)
    assert not await agent.connector.cancel_supervised_transfer(original)
    assert agent.events[mark].code is ErrorCode.WRONG_STATE


async def test_cancel_supervised_transfer_by_the_consult_call(pbx: Pbx) -> None:
    agent = await pbx.login()
    original = await answered(pbx, agent)
    await agent.connector.supervised_transfer(original, NOBODY)
    consult = consult_id(agent, original)
    assert await agent.connector.cancel_supervised_transfer(consult)
    assert agent.last(consult).status is CallStatus.HANGUP
    assert agent.last(original).status is CallStatus.CONNECTED
    pbx.advance(60)
    assert agent.last(original).status is CallStatus.CONNECTED


async def test_hanging_up_the_consult_call_cancels_the_transfer(pbx: Pbx) -> None:
    agent = await pbx.login()
    original = await answered(pbx, agent)
    await agent.connector.supervised_transfer(original, NOBODY)
    consult = consult_id(agent, original)
    assert await agent.connector.terminate(consult)
    assert agent.last(consult).status is CallStatus.HANGUP
    assert agent.last(original).status is CallStatus.CONNECTED
    assert transfer_failed(agent) == [original]


async def test_cancel_supervised_transfer_of_someone_else_is_info(pbx: Pbx) -> None:
    agent = await pbx.login()
    bruno = await pbx.login("bruno@demo.local")
    original = await answered(pbx, agent)
    await agent.connector.supervised_transfer(original, NOBODY)
    mark = len(bruno.events)
    assert not await bruno.connector.cancel_supervised_transfer(original)
    assert [(e.name, e.code) for e in bruno.events[mark:]] == [(ActivityName.INFO, ErrorCode.WRONG_STATE)]
    assert agent.last(original).status is CallStatus.ON_HOLD


async def test_a_second_supervised_transfer_while_one_is_pending_is_info(pbx: Pbx) -> None:
    agent = await pbx.login()
    original = await answered(pbx, agent)
    await agent.connector.supervised_transfer(original, NOBODY)
    legs = len(pbx.exchange.legs)
    mark = len(agent.events)
    assert not await agent.connector.supervised_transfer(original, ACME)
    assert [(e.name, e.code) for e in agent.events[mark:]] == [(ActivityName.INFO, ErrorCode.WRONG_STATE)]
    assert len(pbx.exchange.legs) == legs


async def test_caller_hangs_up_during_the_consult(pbx: Pbx) -> None:
    agent = await pbx.login()
    original = await answered(pbx, agent)
    await agent.connector.supervised_transfer(original, ACME)
    consult = consult_id(agent, original)
    pbx.advance(2)
    assert pbx.exchange.remote_hangup(original)
    assert agent.last(original).status is CallStatus.HANGUP
    assert agent.last(original).cause == Cause.NORMAL
    assert agent.names(consult) == ["RINGING", "CANCEL"]
    assert agent.last(consult).cause == Cause.CANCELLED
    assert transfer_failed(agent) == []  # nothing came back, nothing to report
    pbx.advance(60)
    assert agent.names(consult) == ["RINGING", "CANCEL"]
    assert not pbx.exchange.live_legs("1001")


async def test_agent_hangs_up_the_held_call_during_the_consult(pbx: Pbx) -> None:
    agent = await pbx.login()
    bruno = await pbx.login("bruno@demo.local")
    original = await answered(pbx, agent)
    await agent.connector.supervised_transfer(original, "1002")
    consult = consult_id(agent, original)
    (offered,) = bruno.ringing()
    assert await agent.connector.terminate(original)
    assert agent.last(consult).status is CallStatus.CANCEL
    assert bruno.last(offered.id).status is CallStatus.CANCEL
    assert not pbx.exchange.live_legs("1002")


# --- blind transfer -----------------------------------------------------------------------------------------


async def test_blind_transfer_to_an_extension(pbx: Pbx) -> None:
    agent = await pbx.login()
    bruno = await pbx.login("bruno@demo.local")
    original = await answered(pbx, agent)
    pbx.advance(4)
    assert await agent.connector.transfer(original, "1002")
    assert agent.names(original) == ["RINGING", "CONNECTED", "HANGUP"]
    assert agent.last(original).cause == Cause.TRANSFERRED
    assert agent.last(original).release_at == pbx.clock.now()
    (offered,) = bruno.ringing()
    assert (offered.source, offered.source_name, offered.line) == (CALLER, "Zed Caller", "user:1002")
    assert offered.id != original
    await bruno.connector.answer(offered.id)
    assert bruno.last(offered.id).status is CallStatus.CONNECTED
    assert pbx.exchange.remote_hangup(offered.id)
    assert bruno.names(offered.id) == ["RINGING", "CONNECTED", "HANGUP"]


async def test_blind_transfer_of_a_held_call(pbx: Pbx) -> None:
    agent = await pbx.login()
    bruno = await pbx.login("bruno@demo.local")
    original = await answered(pbx, agent)
    await agent.connector.hold(original)
    assert await agent.connector.transfer(original, "1002")
    assert agent.names(original) == ["RINGING", "CONNECTED", "ON_HOLD", "HANGUP"]
    assert len(bruno.ringing()) == 1


async def test_blind_transfer_to_a_queue(pbx: Pbx) -> None:
    agent = await pbx.login()
    watcher = await pbx.login("supervisor@demo.local")
    await watcher.connector.subscribe("queue:sales")
    original = await answered(pbx, agent)
    bruno = await pbx.login("bruno@demo.local")  # another sales member, idle longer than the agent
    pbx.advance(3)
    assert await agent.connector.transfer(original, "6001")
    assert agent.last(original).cause == Cause.TRANSFERRED
    (queued_id,) = {e.call.id for e in watcher.call_events()}
    assert [(e.call.line, e.call.queue_position) for e in watcher.call_events()] == [
        ("queue:sales", 1),
        ("user:1002", None),
    ]
    (offered,) = bruno.ringing()
    assert offered.id == queued_id
    assert offered.source == CALLER
    await bruno.connector.answer(offered.id)
    assert watcher.last(queued_id).status is CallStatus.CONNECTED


async def test_blind_transfer_to_a_queue_number_with_nobody_there_waits(pbx: Pbx) -> None:
    agent = await pbx.login("elena@demo.local")  # 1005: not a sales member
    watcher = await pbx.login("supervisor@demo.local")
    await watcher.connector.subscribe("queue:sales")
    original = await answered(pbx, agent)
    assert await agent.connector.transfer(original, "+12025550120")
    (waiting,) = watcher.connector.active_calls()
    assert (waiting.line, waiting.queue_position, waiting.status) == ("queue:sales", 1, CallStatus.RINGING)
    assert pbx.exchange.queues["sales"][0].id == waiting.id


async def test_blind_transfer_to_an_outside_number(pbx: Pbx) -> None:
    agent = await pbx.login()
    original = await answered(pbx, agent)
    assert await agent.connector.transfer(original, ACME)
    assert agent.last(original).cause == Cause.TRANSFERRED
    assert [leg for leg in pbx.exchange.legs.values() if leg.live] == []


async def test_blind_transfer_of_an_internal_call(pbx: Pbx) -> None:
    agent = await pbx.login()
    bruno = await pbx.login("bruno@demo.local")
    chloe = await pbx.login("chloe@demo.local")
    call_id = (await agent.connector.call("1002")).value
    pbx.advance(1)
    (offered,) = bruno.ringing()
    await bruno.connector.answer(offered.id)
    assert await bruno.connector.transfer(offered.id, "1003")
    assert bruno.last(offered.id).cause == Cause.TRANSFERRED
    # the caller keeps talking and now sees chloe as its far end
    assert agent.last(call_id).status is CallStatus.CONNECTED
    assert (agent.last(call_id).destination, agent.last(call_id).destination_name) == ("1003", "Chloe Dubois")
    (for_chloe,) = chloe.ringing()
    assert (for_chloe.source, for_chloe.source_name) == ("1001", "Alice Martin")
    await chloe.connector.answer(for_chloe.id)
    assert agent.last(call_id).status is CallStatus.CONNECTED
    await agent.connector.terminate(call_id)
    assert chloe.last(for_chloe.id).status is CallStatus.HANGUP


async def test_blind_transfer_of_a_three_way_call_is_wrong_state(pbx: Pbx) -> None:
    agent = await pbx.login()
    first = await answered(pbx, agent)
    second = (await agent.connector.call(ACME)).value
    pbx.advance(7)
    assert await agent.connector.merge(first, second)
    mark = len(agent.events)
    assert not await agent.connector.transfer(first, "1002")
    assert [(e.name, e.code) for e in agent.events[mark:]] == [(ActivityName.INFO, ErrorCode.WRONG_STATE)]
    assert agent.last(first).status is CallStatus.CONNECTED


# --- merge --------------------------------------------------------------------------------------------------


async def test_merge_two_calls(pbx: Pbx) -> None:
    agent = await pbx.login()
    first = await answered(pbx, agent)
    await agent.connector.hold(first)
    second = (await agent.connector.call(ACME)).value
    pbx.advance(7)
    assert agent.last(second).status is CallStatus.CONNECTED
    assert await agent.connector.merge(first, second)
    assert agent.names(second)[-1] == "HANGUP"
    assert agent.last(second).cause == Cause.MERGED
    assert agent.names(first) == ["RINGING", "CONNECTED", "ON_HOLD", "CONNECTED"]
    merged = agent.last(first)
    assert merged.source_name == "Zed Caller & Acme Corp"
    assert [c.id for c in agent.connector.active_calls()] == [first]
    # one party leaves: the other stays with the agent
    assert pbx.exchange.remote_hangup(first)
    assert agent.last(first).status is CallStatus.CONNECTED
    assert pbx.exchange.remote_hangup(first)
    assert agent.last(first).status is CallStatus.HANGUP
    assert agent.last(first).cause == Cause.NORMAL


async def test_merge_two_connected_calls_keeps_the_first_connected(pbx: Pbx) -> None:
    agent = await pbx.login()
    first = (await agent.connector.call(ACME)).value
    pbx.advance(7)
    second = (await agent.connector.call("+12025550177")).value
    pbx.advance(5)
    mark = len(agent.events)
    assert await agent.connector.merge(first, second)
    assert [(e.name, e.call.id) for e in agent.events[mark:]] == [("HANGUP", second), ("CONNECTED", first)]
    assert agent.last(first).destination_name == "Acme Corp & ?"  # an unlisted number has no name
    await agent.connector.terminate(first)
    assert [leg for leg in pbx.exchange.legs.values() if leg.live] == []


async def test_merge_with_a_colleague_then_leave(pbx: Pbx) -> None:
    agent = await pbx.login()
    bruno = await pbx.login("bruno@demo.local")
    first = await answered(pbx, agent)
    internal = (await agent.connector.call("1002")).value
    pbx.advance(1)
    (offered,) = bruno.ringing()
    await bruno.connector.answer(offered.id)
    assert await agent.connector.merge(first, internal)
    assert agent.last(first).source_name == "Zed Caller & Bruno Costa"
    assert bruno.last(offered.id).status is CallStatus.CONNECTED
    # the agent leaves the three-way call: bruno and the caller go on together
    await agent.connector.terminate(first)
    assert bruno.last(offered.id).status is CallStatus.CONNECTED
    assert pbx.exchange.remote_hangup(offered.id)
    assert bruno.last(offered.id).status is CallStatus.HANGUP


async def test_merge_a_colleagues_call_is_refused(pbx: Pbx) -> None:
    agent = await pbx.login()
    bruno = await pbx.login("bruno@demo.local")
    mine = await answered(pbx, agent)
    theirs = await answered(pbx, bruno, "+12025550198")
    mark = len(agent.events)
    assert not await agent.connector.merge(mine, theirs)
    assert [(e.name, e.code) for e in agent.events[mark:]] == [(ActivityName.INFO, ErrorCode.UNKNOWN_CALL)]
    await agent.connector.subscribe("user:1002")
    mark = len(agent.events)
    assert not await agent.connector.merge(mine, theirs)
    assert [(e.name, e.code) for e in agent.events[mark:]] == [(ActivityName.ERROR, ErrorCode.NOT_PERMITTED)]
    assert bruno.last(theirs).status is CallStatus.CONNECTED


async def test_supervised_transfer_of_an_internal_call_to_a_colleague(pbx: Pbx) -> None:
    agent = await pbx.login()
    bruno = await pbx.login("bruno@demo.local")
    chloe = await pbx.login("chloe@demo.local")
    # bruno calls the agent; the agent hands bruno over to chloe after asking her first
    from_bruno = (await bruno.connector.call("1001")).value
    pbx.advance(1)
    (mine,) = agent.ringing()
    await agent.connector.answer(mine.id)
    assert await agent.connector.supervised_transfer(mine.id, "1003")
    consult = consult_id(agent, mine.id)
    (for_chloe,) = chloe.ringing()
    await chloe.connector.answer(for_chloe.id)
    assert agent.last(mine.id).cause == Cause.TRANSFERRED
    assert agent.last(consult).cause == Cause.TRANSFERRED
    # bruno and chloe now talk, each seeing the other
    assert bruno.last(from_bruno).status is CallStatus.CONNECTED
    assert (bruno.last(from_bruno).destination, bruno.last(from_bruno).destination_name) == (
        "1003",
        "Chloe Dubois",
    )
    assert (chloe.last(for_chloe.id).source, chloe.last(for_chloe.id).source_name) == ("1002", "Bruno Costa")
    await bruno.connector.terminate(from_bruno)
    assert chloe.last(for_chloe.id).status is CallStatus.HANGUP
    assert not any(leg.live for leg in pbx.exchange.legs.values())


async def test_supervised_transfer_to_a_queue(pbx: Pbx) -> None:
    agent = await pbx.login("elena@demo.local")  # 1005, not a sales member
    bruno = await pbx.login("bruno@demo.local")
    original = await answered(pbx, agent)
    await agent.connector.supervised_transfer(original, "6001")
    (offered,) = bruno.ringing()
    assert agent.last(original).status is CallStatus.ON_HOLD
    await bruno.connector.answer(offered.id)
    assert agent.last(original).cause == Cause.TRANSFERRED
    assert bruno.last(offered.id).source == CALLER
    assert pbx.exchange.remote_hangup(offered.id)
    assert bruno.last(offered.id).status is CallStatus.HANGUP


async def test_blind_transfer_to_an_extension_that_does_not_exist_keeps_the_call(pbx: Pbx) -> None:
    agent = await pbx.login()
    call_id = await answered(pbx, agent)
    agent.clear()
    assert not await agent.connector.transfer(call_id, "4999")
    info = agent.activities(ActivityName.INFO)
    assert [(e.code, e.call_id) for e in info] == [(ErrorCode.BAD_NUMBER, call_id)]
    assert "4999" in info[0].message
    assert agent.call_events() == []
    assert agent.connector.get_call(call_id).status is CallStatus.CONNECTED


async def test_merge_a_call_with_itself_or_into_its_own_consult_is_wrong_state(pbx: Pbx) -> None:
    """Either would end the call it merges into (and raised, leaving the exchange half-way)."""
    agent = await pbx.login()
    (session,) = pbx.exchange.sessions
    first = await answered(pbx, agent)
    result = pbx.exchange.execute(session, cmd.Merge(first, first))
    assert (result.ok, result.code) == (False, ErrorCode.WRONG_STATE)
    assert agent.last(first).status is CallStatus.CONNECTED
    # a consult to the conference room connects there and stays pending with its held original
    assert await agent.connector.supervised_transfer(first, "7000")
    consult = consult_id(agent, first)
    pbx.advance(1)
    assert (agent.last(consult).status, agent.last(first).status) == (CallStatus.CONNECTED, CallStatus.ON_HOLD)
    result = pbx.exchange.execute(session, cmd.Merge(consult, first))
    assert (result.ok, result.code) == (False, ErrorCode.WRONG_STATE)
    assert (agent.last(consult).status, agent.last(first).status) == (CallStatus.CONNECTED, CallStatus.ON_HOLD)
