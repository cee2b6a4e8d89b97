"""Listen / whisper / barge and pickup through the CTI server (issue 18): the app's client (Connector +
ServerBackend) as a supervisor, raw frames as an agent, so the server's own check is what refuses."""

from __future__ import annotations

from conftest import RunningServer
from ws_helpers import open_session, wait_for

from cti_tui.backends.server import ServerBackend
from cti_tui.core.agent_commands import SpyMode
from cti_tui.core.model import CallStatus, Event
from cti_tui.engine.connector import Connector

CALLER = "+12025550199"


async def client(server: RunningServer, email: str) -> Connector:
    connector = Connector(ServerBackend(server.url, max_backoff=0.05))
    events: list[Event] = []
    connector.add_listener(events.append)
    assert await connector.login(email, "demo"), events
    return connector


async def test_a_supervisor_barges_in_and_picks_up_through_the_server(cti_server) -> None:
    server = await cti_server(no_answer_timeout=3600)
    exchange = server.exchange
    boss = await client(server, "supervisor@demo.local")
    try:
        assert await boss.set_auto_answer(True)
        assert await boss.subscribe("user:1002")
        talking = exchange.inbound_call(CALLER, "1002", "Caller")
        assert talking is not None
        exchange.answer_leg(talking)
        assert await boss.spy("1002", SpyMode.BARGE)
        await wait_for(lambda: [c for c in boss.active_calls() if c.monitor == "barge"], "the barge connects")
        (mine,) = [c for c in boss.active_calls() if c.monitor]
        assert (mine.status, mine.line, mine.destination) == (CallStatus.CONNECTED, "user:1100", "1002")
        await wait_for(lambda: boss.get_call(talking.id).source_name == "Caller & Sam Supervisor", "shown")
        assert await boss.terminate(mine.id)
        exchange.hangup(talking)
        ringing = exchange.inbound_call(CALLER, "1002", "Caller")
        assert ringing is not None
        await wait_for(lambda: boss.get_call(ringing.id) is not None, "the watched call rings")
        assert await boss.pickup(ringing.id)
        await wait_for(lambda: boss.get_call(ringing.id).status is CallStatus.CONNECTED, "picked up")
        assert (ringing.owner, boss.get_call(ringing.id).line) == ("1100", "user:1100")
    finally:
        await boss.logout()


async def test_an_agent_is_refused_spy_and_pickup_by_the_server(cti_server) -> None:
    server = await cti_server(no_answer_timeout=3600)
    exchange = server.exchange
    agent = await open_session(server.url, "agent@demo.local")
    try:
        assert (await agent.request("subscribe", node="user:1002"))["ok"]
        talking = exchange.inbound_call(CALLER, "1002", "Caller")
        assert talking is not None
        exchange.answer_leg(talking)
        legs = set(exchange.legs)
        for mode in ("listen", "whisper", "barge"):
            reply = await agent.request("spy", extension="1002", mode=mode)
            assert (reply["ok"], reply["status"], reply["code"]) == (False, 403, "not_permitted"), reply
        ringing = exchange.inbound_call(CALLER, "1003", "Caller")
        assert ringing is not None and (await agent.request("subscribe", node="user:1003"))["ok"]
        legs.add(ringing.id)
        reply = await agent.request("pickup", callId=ringing.id)
        assert (reply["ok"], reply["status"], reply["code"]) == (False, 403, "not_permitted"), reply
        assert set(exchange.legs) == legs
        assert (ringing.status, ringing.owner) == (CallStatus.RINGING, "1003")
        assert talking.status is CallStatus.CONNECTED
        reply = await agent.request("spy", extension="1002", mode="shout")
        assert (reply["ok"], reply["code"]) == (False, "bad_request"), reply
    finally:
        await agent.close()
