"""Two agents and a supervisor on one server see one consistent PBX, over real HTTP and WebSockets."""

from __future__ import annotations

import asyncio

from cti_tui.backends.server import ServerBackend
from cti_tui.core.model import CallEvent, CallStatus, ErrorCode, Event
from cti_tui.engine.connector import Connector


async def wait_for(predicate, what: str, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


async def connect(url: str, email: str) -> tuple[Connector, list[Event]]:
    connector = Connector(ServerBackend(url))
    events: list[Event] = []
    connector.add_listener(events.append)
    assert await connector.login(email, "demo"), events
    return connector, events


def statuses(events: list[Event], call_id: str) -> list[str]:
    return [e.call.status.value for e in events if isinstance(e, CallEvent) and e.call.id == call_id]


async def test_two_agents_and_a_supervisor_share_one_pbx(cti_server) -> None:
    server = await cti_server()
    alice, alice_events = await connect(server.url, "agent@demo.local")
    bruno, bruno_events = await connect(server.url, "bruno@demo.local")
    boss, _ = await connect(server.url, "supervisor@demo.local")
    try:
        assert await boss.subscribe("queue:sales")
        leg = server.exchange.inbound_call("+12025550143", "+12025550120", "Ada Lovelace")
        assert leg is not None
        await wait_for(lambda: leg.id in {c.id for c in boss.active_calls()}, "the supervisor sees the queue call")
        ringing_at = leg.owner
        assert ringing_at in ("1001", "1002")
        agent, agent_events = (alice, alice_events) if ringing_at == "1001" else (bruno, bruno_events)
        await wait_for(lambda: agent.get_call(leg.id) is not None, "the offer reaches the agent")
        assert await agent.answer(leg.id)
        await wait_for(
            lambda: boss.get_call(leg.id) is not None and boss.get_call(leg.id).status is CallStatus.CONNECTED,
            "the supervisor sees it answered",
        )
        assert boss.active_calls() == []  # answered: it left the queue
        assert statuses(agent_events, leg.id)[-1] == "CONNECTED"
        # the agent cannot act on a colleague's call; the supervisor can hang it up
        other = bruno if agent is alice else alice
        assert await other.subscribe(f"user:{ringing_at}")
        assert not await other.terminate(leg.id)
        assert [e.code for e in (bruno_events if other is bruno else alice_events) if getattr(e, "code", None)][
            -1
        ] is ErrorCode.NOT_PERMITTED
        assert await boss.subscribe(f"user:{ringing_at}")
        assert await boss.terminate(leg.id)
        await wait_for(lambda: statuses(agent_events, leg.id)[-1] == "HANGUP", "the agent sees the hang-up")
    finally:
        for connector in (alice, bruno, boss):
            await connector.logout()
