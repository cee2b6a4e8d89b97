"""Agent states on a real `cti-tui serve`, raw frames: the snapshot carries the own availability, the
agent actions answer as documented, a supervisor watching the agent's line gets AGENT events, and the
disposition reaches the server's history (GET /api/history, searchable)."""

from __future__ import annotations

import httpx

from tests.server.ws_helpers import login_token, open_session, wait_for


async def test_agent_actions_events_and_the_disposition_in_the_servers_history(cti_server) -> None:
    server = await cti_server(no_answer_timeout=3600)
    alice = await open_session(server.url, "agent@demo.local")
    sam = await open_session(server.url, "supervisor@demo.local")
    try:
        (snapshot,) = alice.snapshots
        (own,) = snapshot["agents"]
        assert (own["extension"], own["state"], own["queues"]) == ("1001", "available", ["sales", "support"])
        assert (await alice.request("agents"))["result"][0]["state"] == "available"
        assert (await sam.request("subscribe", node="user:1001"))["ok"]
        bad = await alice.request("take_break", reason="golf")
        assert (bad["ok"], bad["code"]) == (False, "bad_request")
        assert (await alice.request("take_break", reason="lunch"))["ok"]

        def sam_saw(state: str) -> bool:
            return any(e.get("name") == "AGENT" and e["agent"]["state"] == state for e in sam.events)

        await sam.request("ping")  # (reads what came before its reply)
        await wait_for(lambda: sam_saw("break"), "the supervisor sees the break")
        assert (await alice.request("ready"))["ok"]
        leg = server.exchange.inbound_call("+12025551001", "6001", "Ada Lovelace")
        assert leg is not None
        assert (await alice.request("answer", callId=leg.id))["ok"]
        early = await alice.request("dispose", callId=leg.id, disposition="sale")
        assert (early["ok"], early["code"]) == (False, "wrong_state")
        assert (await alice.request("terminate", callId=leg.id))["ok"]
        assert (await alice.request("dispose", callId=leg.id, disposition="sale", note="quote for 20"))["ok"]
        await sam.request("ping")
        await wait_for(lambda: sam_saw("wrap_up"), "the supervisor sees the wrap-up")
        token = await login_token(server.url, "agent@demo.local")
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:

            async def rows() -> list[dict]:
                response = await http.get(
                    "/api/history", params={"search": "quote for"}, headers={"Authorization": f"Bearer {token}"}
                )
                assert response.status_code == 200, response.text
                return response.json()["rows"]

            found: list[dict] = []
            for _ in range(200):  # the server's writer thread files the call, then its disposition
                found = await rows()
                if found:
                    break
                await alice.request("ping")
            assert [(r["id"], r["disposition"], r["note"]) for r in found] == [(leg.id, "sale", "quote for 20")]
    finally:
        await alice.ws.close()
        await sam.ws.close()
