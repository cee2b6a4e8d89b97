"""Who may watch what and act on whose calls (SPEC §3), enforced by the exchange, not trusted to clients."""

from __future__ import annotations

import dataclasses

import pytest
from conftest import Agent, Pbx, quiet_demo

from cti_tui.core import commands as cmd
from cti_tui.core.model import ActivityName, CallStatus, Cause, ErrorCode, Operation, Role
from cti_tui.core.permissions import RolePolicy

CALLER = "+12025550199"


async def answered(pbx: Pbx, agent: Agent, caller: str = CALLER) -> str:
    leg = pbx.exchange.inbound_call(caller, agent.connector.identity.extension, "Caller")
    assert leg is not None
    assert await agent.connector.answer(leg.id)
    return leg.id


def refusals(agent: Agent, since: int) -> list[tuple[ActivityName, ErrorCode | None]]:
    return [(e.name, e.code) for e in agent.events[since:]]


async def test_an_agent_cannot_hang_up_a_colleagues_call(pbx: Pbx) -> None:
    agent = await pbx.login()
    bruno = await pbx.login("bruno@demo.local")
    theirs = await answered(pbx, bruno)
    assert await agent.connector.subscribe("user:1002")
    assert agent.connector.get_call(theirs).status is CallStatus.CONNECTED
    bruno_seen = len(bruno.events)
    mark = len(agent.events)
    assert not await agent.connector.terminate(theirs)
    assert refusals(agent, mark) == [(ActivityName.ERROR, ErrorCode.NOT_PERMITTED)]
    assert "not permitted" in agent.events[-1].message
    assert agent.events[-1].call_id == theirs
    assert pbx.exchange.legs[theirs].status is CallStatus.CONNECTED
    assert bruno.events[bruno_seen:] == []


@pytest.mark.parametrize(
    "action",
    [
        lambda c, i: c.hold(i),
        lambda c, i: c.transfer(i, "1003"),
        lambda c, i: c.supervised_transfer(i, "1003"),
        lambda c, i: c.park(i),
        lambda c, i: c.send_dtmf(i, "1"),
    ],
    ids=["hold", "transfer", "supervised_transfer", "park", "dtmf"],
)
async def test_an_agent_cannot_control_a_colleagues_connected_call(pbx: Pbx, action) -> None:
    agent = await pbx.login()
    bruno = await pbx.login("bruno@demo.local")
    theirs = await answered(pbx, bruno)
    await agent.connector.subscribe("user:1002")
    mark = len(agent.events)
    assert not await action(agent.connector, theirs)
    assert refusals(agent, mark) == [(ActivityName.ERROR, ErrorCode.NOT_PERMITTED)]
    assert pbx.exchange.legs[theirs].status is CallStatus.CONNECTED
    assert pbx.exchange.slots == {}
    assert len(pbx.exchange.legs) == 1


@pytest.mark.parametrize("action", ["answer", "reject"])
async def test_an_agent_cannot_answer_or_reject_a_colleagues_ringing_call(pbx: Pbx, action: str) -> None:
    agent = await pbx.login()
    await pbx.login("bruno@demo.local")
    await agent.connector.subscribe("user:1002")
    leg = pbx.exchange.inbound_call(CALLER, "1002")
    mark = len(agent.events)
    assert not await getattr(agent.connector, action)(leg.id)
    assert refusals(agent, mark) == [(ActivityName.ERROR, ErrorCode.NOT_PERMITTED)]
    assert pbx.exchange.legs[leg.id].status is CallStatus.RINGING


async def test_an_unwatched_call_is_unknown_even_to_a_direct_command(pbx: Pbx) -> None:
    agent = await pbx.login()
    bruno = await pbx.login("bruno@demo.local")
    theirs = await answered(pbx, bruno)
    mark = len(agent.events)
    assert not await agent.connector.terminate(theirs)
    assert refusals(agent, mark) == [(ActivityName.INFO, ErrorCode.UNKNOWN_CALL)]
    # a client that skips the connector's checks gets no further, and learns nothing
    result = await agent.connector.backend.execute(cmd.Hangup(theirs))
    assert (result.ok, result.code) == (False, ErrorCode.UNKNOWN_CALL)
    boss = await pbx.login("supervisor@demo.local")
    result = await boss.connector.backend.execute(cmd.Hangup(theirs))
    assert (result.ok, result.code) == (False, ErrorCode.UNKNOWN_CALL)
    assert pbx.exchange.legs[theirs].status is CallStatus.CONNECTED


async def test_the_supervisor_can_hang_up_a_watched_call(pbx: Pbx) -> None:
    bruno = await pbx.login("bruno@demo.local")
    boss = await pbx.login("supervisor@demo.local")
    await boss.connector.subscribe("user:1002")
    theirs = await answered(pbx, bruno)
    assert await boss.connector.terminate(theirs)
    assert bruno.names(theirs) == ["RINGING", "CONNECTED", "HANGUP"]
    assert bruno.last(theirs).cause == Cause.NORMAL
    assert boss.names(theirs) == ["RINGING", "CONNECTED", "HANGUP"]


async def test_the_supervisor_can_transfer_a_watched_call(pbx: Pbx) -> None:
    bruno = await pbx.login("bruno@demo.local")
    chloe = await pbx.login("chloe@demo.local")
    boss = await pbx.login("supervisor@demo.local")
    await boss.connector.subscribe("user:1002")
    theirs = await answered(pbx, bruno)
    assert await boss.connector.transfer(theirs, "1003")
    assert bruno.last(theirs).status is CallStatus.HANGUP
    assert bruno.last(theirs).cause == Cause.TRANSFERRED
    (offered,) = chloe.ringing()
    assert offered.source == CALLER
    await chloe.connector.answer(offered.id)
    assert chloe.last(offered.id).status is CallStatus.CONNECTED


async def test_the_supervisor_cannot_hold_a_watched_call(pbx: Pbx) -> None:
    bruno = await pbx.login("bruno@demo.local")
    boss = await pbx.login("supervisor@demo.local")
    await boss.connector.subscribe("user:1002")
    theirs = await answered(pbx, bruno)
    mark = len(boss.events)
    assert not await boss.connector.hold(theirs)
    assert not await boss.connector.park(theirs)
    assert refusals(boss, mark) == [
        (ActivityName.ERROR, ErrorCode.NOT_PERMITTED),
        (ActivityName.ERROR, ErrorCode.NOT_PERMITTED),
    ]
    assert pbx.exchange.legs[theirs].status is CallStatus.CONNECTED


async def test_the_supervisor_loses_control_when_unsubscribed(pbx: Pbx) -> None:
    bruno = await pbx.login("bruno@demo.local")
    boss = await pbx.login("supervisor@demo.local")
    await boss.connector.subscribe("user:1002")
    theirs = await answered(pbx, bruno)
    await boss.connector.unsubscribe("user:1002")
    result = await boss.connector.backend.execute(cmd.Hangup(theirs))
    assert (result.ok, result.code) == (False, ErrorCode.UNKNOWN_CALL)
    assert pbx.exchange.legs[theirs].status is CallStatus.CONNECTED


async def test_an_agent_cannot_subscribe_to_an_ivr(pbx: Pbx) -> None:
    agent = await pbx.login()
    mark = len(agent.events)
    assert not await agent.connector.subscribe("ivr:main")
    assert refusals(agent, mark) == [(ActivityName.ERROR, ErrorCode.NOT_PERMITTED)]
    assert agent.connector.subscriptions() == []
    assert list(pbx.exchange.sessions[0].subscriptions) == []
    pbx.exchange.inbound_call(CALLER, "+12025550100")
    assert agent.call_events() == []


@pytest.mark.parametrize("node", ["user:1002", "user:1100", "queue:sales", "queue:support", "callpark", "conf:room1"])
async def test_an_agent_may_watch(pbx: Pbx, node: str) -> None:
    agent = await pbx.login()
    assert await agent.connector.subscribe(node)
    assert agent.events[-1].name is ActivityName.SUBSCRIBED


@pytest.mark.parametrize("node", ["ivr:main", "user:1001", "queue:sales", "callpark", "conf:room1"])
async def test_the_supervisor_may_watch_anything(pbx: Pbx, node: str) -> None:
    boss = await pbx.login("supervisor@demo.local")
    assert await boss.connector.subscribe(node)


async def test_an_agent_can_unpark_a_colleagues_parked_call(pbx: Pbx) -> None:
    agent = await pbx.login()
    bruno = await pbx.login("bruno@demo.local")
    theirs = await answered(pbx, bruno)
    await bruno.connector.park(theirs, 2)
    assert await agent.connector.unpark(2)
    assert agent.last(theirs).status is CallStatus.CONNECTED
    assert agent.last(theirs).line == "user:1001"


def org_with(role: Role, watch: tuple[str, ...], acts: frozenset[Operation]):
    org = quiet_demo()
    return dataclasses.replace(org, policies={**org.policies, role: RolePolicy(watch, acts)})


async def test_a_policy_without_unpark_keeps_parked_calls_to_their_parker(pbx_factory) -> None:
    pbx = pbx_factory(org_with(Role.AGENT, ("callpark",), frozenset()))
    agent = await pbx.login()
    bruno = await pbx.login("bruno@demo.local")
    theirs = await answered(pbx, bruno)
    await bruno.connector.park(theirs, 2)
    mark = len(agent.events)
    assert not await agent.connector.unpark(2)
    assert refusals(agent, mark) == [(ActivityName.ERROR, ErrorCode.NOT_PERMITTED)]
    assert pbx.exchange.legs[theirs].status is CallStatus.PARKED
    assert await bruno.connector.unpark(2)  # the parker still may
    assert bruno.last(theirs).status is CallStatus.CONNECTED


async def test_a_policy_limits_what_an_agent_may_watch(pbx_factory) -> None:
    pbx = pbx_factory(org_with(Role.AGENT, ("queue:*",), frozenset({Operation.UNPARK})))
    agent = await pbx.login()
    assert await agent.connector.subscribe("queue:sales")
    mark = len(agent.events)
    assert not await agent.connector.subscribe("user:1002")
    assert not await agent.connector.subscribe("callpark")
    assert refusals(agent, mark) == [
        (ActivityName.ERROR, ErrorCode.NOT_PERMITTED),
        (ActivityName.ERROR, ErrorCode.NOT_PERMITTED),
    ]
    assert await agent.connector.subscribe("user:1001")  # one's own line is always allowed


async def test_a_policy_may_let_agents_hang_up_watched_calls(pbx_factory) -> None:
    pbx = pbx_factory(org_with(Role.AGENT, ("user:*",), frozenset({Operation.HANGUP})))
    agent = await pbx.login()
    bruno = await pbx.login("bruno@demo.local")
    theirs = await answered(pbx, bruno)
    await agent.connector.subscribe("user:1002")
    assert await agent.connector.terminate(theirs)
    assert bruno.last(theirs).status is CallStatus.HANGUP
