"""A supervisor on an agent's call on the embedded PBX: listen, whisper, barge and pickup (issue 18).

Each through a real Connector on the exchange, with the events each side sees and the refusals that leave
everything as it was.
"""

from __future__ import annotations

import pytest
from conftest import Agent, Pbx

from cti_tui.core import commands as cmd
from cti_tui.core.agent_commands import SpyMode
from cti_tui.core.model import ActivityName, CallStatus, Cause, ErrorCode, Operation

CALLER = "+12025550199"


async def answered(pbx: Pbx, agent: Agent) -> str:
    leg = pbx.exchange.inbound_call(CALLER, agent.connector.identity.extension, "Caller")
    assert leg is not None
    assert await agent.connector.answer(leg.id)
    return leg.id


async def supervising(pbx: Pbx, *lines: str) -> Agent:
    boss = await pbx.login("supervisor@demo.local")
    for line in lines:
        assert await boss.connector.subscribe(line)
    return boss


def own_calls(agent: Agent) -> list[str]:
    """Ids of the calls on the agent's own line, in the order they first showed."""
    line = agent.connector.identity.line
    return list(dict.fromkeys(e.call.id for e in agent.call_events() if e.call.line == line))


@pytest.mark.parametrize("mode", list(SpyMode))
async def test_the_supervisors_leg_joins_the_agents_call_after_its_phone_picks_up(pbx: Pbx, mode: SpyMode) -> None:
    bruno = await pbx.login("bruno@demo.local")
    boss = await supervising(pbx, "user:1002")
    theirs = await answered(pbx, bruno)
    assert await boss.connector.spy("1002", mode)
    (mine,) = own_calls(boss)
    assert boss.last(mine).status is CallStatus.INITIAL  # the supervisor's phone rings first
    pbx.advance(pbx.exchange.org.world.pickup_seconds)
    assert boss.names(mine) == ["INITIAL", "ACCEPTED", "RINGING", "CONNECTED"]
    joined = boss.last(mine)
    assert (joined.monitor, joined.destination, joined.destination_name) == (mode.value, "1002", "Bruno Costa")
    assert joined.line == "user:1100"
    assert pbx.exchange.monitors.spied[pbx.exchange.legs[mine]] is pbx.exchange.legs[theirs]


async def test_listen_and_whisper_are_not_seen_by_the_agent_but_barge_is(pbx: Pbx) -> None:
    """A ChanSpy is on no phone's display; a barge is a third voice, so the agent's call shows it."""
    bruno = await pbx.login("bruno@demo.local")
    boss = await supervising(pbx, "user:1002")
    theirs = await answered(pbx, bruno)
    for mode in (SpyMode.LISTEN, SpyMode.WHISPER):
        seen = len(bruno.events)
        assert await boss.connector.spy("1002", mode)
        pbx.advance(5)
        mine = own_calls(boss)[-1]
        assert boss.last(mine).status is CallStatus.CONNECTED
        assert bruno.events[seen:] == []
        assert await boss.connector.terminate(mine)
        assert bruno.events[seen:] == []
    assert await boss.connector.spy("1002", SpyMode.BARGE)
    pbx.advance(5)
    assert bruno.last(theirs).source_name == "Caller & Sam Supervisor"
    assert bruno.last(theirs).status is CallStatus.CONNECTED
    assert await boss.connector.terminate(own_calls(boss)[-1])
    assert bruno.last(theirs).source_name == "Caller"  # the supervisor left: back to two


async def test_the_listening_leg_ends_with_the_agents_call(pbx: Pbx) -> None:
    bruno = await pbx.login("bruno@demo.local")
    boss = await supervising(pbx, "user:1002")
    theirs = await answered(pbx, bruno)
    assert await boss.connector.spy("1002")
    pbx.advance(5)
    (mine,) = own_calls(boss)
    assert await bruno.connector.terminate(theirs)
    assert boss.last(mine).status is CallStatus.HANGUP
    assert boss.last(mine).cause == Cause.NORMAL
    assert pbx.exchange.monitors.spied == {}
    assert pbx.exchange.busy_extensions() == set()


async def test_the_caller_hanging_up_ends_the_listener_too(pbx: Pbx) -> None:
    """The listener is no member of the call: it never keeps the caller talking to nobody."""
    bruno = await pbx.login("bruno@demo.local")
    boss = await supervising(pbx, "user:1002")
    theirs = await answered(pbx, bruno)
    assert await boss.connector.spy("1002", SpyMode.BARGE)
    pbx.advance(5)
    assert pbx.exchange.remote_hangup(theirs)
    assert bruno.last(theirs).status is CallStatus.HANGUP
    assert boss.last(own_calls(boss)[-1]).status is CallStatus.HANGUP


async def test_a_listening_leg_can_only_be_hung_up(pbx: Pbx) -> None:
    bruno = await pbx.login("bruno@demo.local")
    boss = await supervising(pbx, "user:1002")
    await answered(pbx, bruno)
    assert await boss.connector.spy("1002")
    pbx.advance(5)
    (mine,) = own_calls(boss)
    assert boss.connector.operations(mine) == {Operation.HANGUP}
    result = await boss.connector.backend.execute(cmd.Park(mine))  # past the connector's own check
    assert (result.ok, result.code) == (False, ErrorCode.WRONG_STATE)
    assert pbx.exchange.slots == {}


async def test_an_agent_may_not_spy_and_nothing_changes(pbx: Pbx) -> None:
    bruno = await pbx.login("bruno@demo.local")
    agent = await pbx.login()
    assert await agent.connector.subscribe("user:1002")
    theirs = await answered(pbx, bruno)
    legs_before = set(pbx.exchange.legs)
    seen = len(bruno.events)
    mark = len(agent.events)
    for mode in SpyMode:
        assert not await agent.connector.spy("1002", mode)
    assert [(e.name, e.code) for e in agent.events[mark:]] == [(ActivityName.ERROR, ErrorCode.NOT_PERMITTED)] * 3
    assert "only a supervisor" in agent.events[-1].message
    assert set(pbx.exchange.legs) == legs_before
    assert bruno.events[seen:] == []
    assert pbx.exchange.legs[theirs].status is CallStatus.CONNECTED


async def test_a_supervisor_spies_only_on_lines_it_watches(pbx: Pbx) -> None:
    bruno = await pbx.login("bruno@demo.local")
    boss = await supervising(pbx, "user:1003")
    await answered(pbx, bruno)
    legs_before = set(pbx.exchange.legs)
    assert not await boss.connector.spy("1002")
    assert boss.events[-1].code is ErrorCode.NOT_PERMITTED
    assert "watch user:1002 first" in boss.events[-1].message
    assert set(pbx.exchange.legs) == legs_before


async def test_spying_on_an_idle_agent_or_a_bad_mode_is_refused(pbx: Pbx) -> None:
    await pbx.login("bruno@demo.local")
    boss = await supervising(pbx, "user:1002")
    assert not await boss.connector.spy("1002")
    assert (boss.events[-1].code, boss.events[-1].message) == (ErrorCode.WRONG_STATE, "Bruno Costa is not on a call")
    assert not await boss.connector.spy("1002", "shout")
    assert boss.events[-1].code is ErrorCode.BAD_REQUEST
    result = await boss.connector.backend.execute(cmd.Spy("1002", "shout"))  # type: ignore[arg-type]
    assert (result.ok, result.code) == (False, ErrorCode.BAD_REQUEST)
    assert pbx.exchange.legs == {}


async def test_the_agents_call_ending_while_the_supervisors_phone_rings_cancels_it(pbx: Pbx) -> None:
    bruno = await pbx.login("bruno@demo.local")
    boss = await supervising(pbx, "user:1002")
    theirs = await answered(pbx, bruno)
    assert await boss.connector.spy("1002")
    assert await bruno.connector.terminate(theirs)
    pbx.advance(5)
    (mine,) = own_calls(boss)
    assert boss.names(mine) == ["INITIAL", "ACCEPTED", "CANCEL"]


# --- pickup -----------------------------------------------------------------------------------------


async def test_the_supervisor_picks_up_a_call_ringing_on_a_watched_line(pbx: Pbx) -> None:
    bruno = await pbx.login("bruno@demo.local")
    boss = await supervising(pbx, "user:1002")
    leg = pbx.exchange.inbound_call(CALLER, "1002", "Caller")
    assert leg is not None
    assert await boss.connector.pickup(leg.id)
    assert bruno.names(leg.id) == ["RINGING", "RINGING"]  # the second: it left Bruno's line
    assert bruno.connector.active_calls() == []
    assert bruno.last(leg.id).line == "user:1100"
    moved = boss.last(leg.id)
    assert (moved.status, moved.line, moved.source, moved.destination) == (
        CallStatus.CONNECTED,
        "user:1100",
        CALLER,
        "1100",
    )
    assert pbx.exchange.legs[leg.id].owner == "1100"
    assert pbx.exchange.busy_extensions() == {"1100"}


async def test_a_colleagues_call_picked_up_shows_the_supervisor_to_the_caller(pbx: Pbx) -> None:
    chloe = await pbx.login("chloe@demo.local")
    await pbx.login("bruno@demo.local")
    boss = await supervising(pbx, "user:1002")
    assert await chloe.connector.call("1002")
    pbx.advance(5)
    (ringing,) = [c for c in boss.connector.active_calls() if c.line == "user:1002"]
    assert await boss.connector.pickup(ringing.id)
    (mine,) = own_calls(chloe)
    assert chloe.last(mine).status is CallStatus.CONNECTED
    assert (chloe.last(mine).destination, chloe.last(mine).destination_name) == ("1100", "Sam Supervisor")


async def test_an_agent_may_not_pick_up_a_colleagues_call(pbx: Pbx) -> None:
    bruno = await pbx.login("bruno@demo.local")
    agent = await pbx.login()
    assert await agent.connector.subscribe("user:1002")
    leg = pbx.exchange.inbound_call(CALLER, "1002", "Caller")
    assert leg is not None
    seen = len(bruno.events)
    assert not await agent.connector.pickup(leg.id)
    assert agent.events[-1].code is ErrorCode.NOT_PERMITTED
    assert bruno.events[seen:] == []
    assert (leg.status, leg.owner) == (CallStatus.RINGING, "1002")


async def test_pickup_of_a_connected_or_own_call_is_refused(pbx: Pbx) -> None:
    bruno = await pbx.login("bruno@demo.local")
    boss = await supervising(pbx, "user:1002")
    theirs = await answered(pbx, bruno)
    assert not await boss.connector.pickup(theirs)
    assert boss.events[-1].code is ErrorCode.WRONG_STATE
    own = pbx.exchange.inbound_call(CALLER, "1100", "Caller")
    assert own is not None
    result = await boss.connector.backend.execute(cmd.Pickup(own.id))
    assert (result.ok, result.code) == (False, ErrorCode.WRONG_STATE)
    assert own.status is CallStatus.RINGING


async def test_the_supervisor_picks_up_the_first_caller_waiting_in_a_watched_queue(pbx: Pbx) -> None:
    boss = await supervising(pbx, "queue:sales")
    first = pbx.exchange.inbound_call(CALLER, "6001", "First")
    second = pbx.exchange.inbound_call("+12025550188", "6001", "Second")
    assert first is not None and second is not None
    assert (first.call.queue_position, second.call.queue_position) == (1, 2)  # nobody of sales is logged in
    assert await boss.connector.pickup(first.id)
    taken = boss.last(first.id)
    assert (taken.status, taken.line, taken.queue_position) == (CallStatus.CONNECTED, "user:1100", None)
    assert boss.last(second.id).queue_position == 1  # the caller behind moved up
    assert [leg.id for leg in pbx.exchange.queues["sales"]] == [second.id]


async def test_an_agent_watching_the_supervisor_does_not_see_it_listening(pbx: Pbx) -> None:
    """The agent would learn it is being listened to; another supervisor sees it."""
    bruno = await pbx.login("bruno@demo.local")
    assert await bruno.connector.subscribe("user:1100")
    boss = await supervising(pbx, "user:1002")
    theirs = await answered(pbx, bruno)
    assert await boss.connector.spy("1002", SpyMode.WHISPER)
    pbx.advance(5)
    (mine,) = own_calls(boss)
    assert boss.last(mine).status is CallStatus.CONNECTED
    assert bruno.call_events(mine) == []
    colleague = await pbx.login()  # an agent who starts watching the supervisor now
    assert await colleague.connector.subscribe("user:1100")
    assert colleague.call_events(mine) == []
    assert [c.id for c in bruno.connector.active_calls()] == [theirs]
    assert await bruno.connector.terminate(theirs)
    assert bruno.call_events(mine) == []  # nor its end


async def test_another_supervisor_watching_sees_the_listening_leg(pbx: Pbx, pbx_factory) -> None:
    import dataclasses

    from cti_tui.core.model import Role

    org = pbx.exchange.org
    users = tuple(dataclasses.replace(u, role=Role.SUPERVISOR) if u.extension == "1003" else u for u in org.users)
    pbx = pbx_factory(dataclasses.replace(org, users=users))
    bruno = await pbx.login("bruno@demo.local")
    chloe = await pbx.login("chloe@demo.local")  # a second supervisor here
    assert await chloe.connector.subscribe("user:1100")
    boss = await supervising(pbx, "user:1002")
    await answered(pbx, bruno)
    assert await boss.connector.spy("1002")
    pbx.advance(5)
    (mine,) = own_calls(boss)
    assert chloe.names(mine) == ["INITIAL", "ACCEPTED", "RINGING", "CONNECTED"]
