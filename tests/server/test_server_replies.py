"""Each command's reply comes from what the command returned, and ``inReplyTo`` names only its own events.

One session may have several connections (the app on two screens, a restore while the old socket lingers),
and a backend with I/O answers after an await, so their commands overlap. The reply to each must be its own
refusal, and an event that happens later on its own (a transfer failing) must name no command.
"""

from __future__ import annotations

import asyncio

from overlapping_backend import Overlapping
from ws_helpers import TIMEOUT, Wire, login_token, wait_for


async def test_two_connections_of_one_session_each_get_their_own_refusal(cti_server) -> None:
    server = await cti_server()
    first = await Wire.open(server.url)
    second = await Wire.open(server.url)
    try:
        await first.start(await login_token(server.url, "agent@demo.local"))
        session = server.hub.sessions[first.session_id]
        restored = await second.request(
            "restore_session", token=first.session_token, sessionId=first.session_id, lastSeq=0
        )
        assert restored["ok"], restored
        session.connector.backend = Overlapping(session.connector.backend, width=2, timeout=TIMEOUT)
        # the same request id on both: ids are the client's, unique per connection only
        await first.send({"id": "x", "action": "unpark", "slot": 3})
        await second.send({"id": "x", "action": "unpark", "slot": 4})
        replies = await asyncio.gather(first.reply("x"), second.reply("x"))
        assert [(r["ok"], r["status"], r["code"], r["level"]) for r in replies] == [
            (False, 200, "slot_empty", "INFO")
        ] * 2, replies
        assert [r["message"] for r in replies] == ["park slot 3 is empty", "park slot 4 is empty"]
        refusals = [m for m in session.log.messages() if m.get("code") == "slot_empty"]
        assert sorted(m["message"] for m in refusals) == [r["message"] for r in replies]
        assert [m.get("inReplyTo") for m in refusals] == ["x", "x"]  # each event names its command
    finally:
        await first.close()
        await second.close()


async def test_events_a_command_causes_name_it_and_later_ones_do_not(cti_server) -> None:
    server = await cti_server(no_answer_timeout=3600)
    wire = await Wire.open(server.url)
    try:
        await wire.start(await login_token(server.url, "agent@demo.local"))
        session = server.hub.sessions[wire.session_id]
        assert (await wire.request("subscribe", node="queue:sales"))["ok"]
        refused = await wire.request("hold", callId="nope")
        assert (refused["ok"], refused["code"], refused["level"], refused["status"]) == (
            False,
            "unknown_call",
            "INFO",
            200,
        )
        leg = server.exchange.inbound_call("+12025550199", "1001", "Zed")
        await wait_for(lambda: session.connector.get_call(leg.id) is not None, "the call reaches the session")
        assert (await wire.request("answer", callId=leg.id))["ok"]
        busy = "+12025550102"
        reply = await wire.request("supervised_transfer", callId=leg.id, destination=busy)
        assert reply == {"type": "reply", "id": reply["id"], "ok": True, "result": True}
        await wait_for(
            lambda: any(m.get("code") == "transfer_failed" for m in session.log.messages()), "the transfer fails"
        )
        activity = {(m["name"], m.get("code")): m for m in session.log.messages() if "call" not in m}
        assert activity[("SUBSCRIBED", None)]["inReplyTo"] == 2
        assert activity[("INFO", "unknown_call")]["inReplyTo"] == 3
        # set in motion by request 5, but it happened later, on its own: the client must show it
        assert "inReplyTo" not in activity[("INFO", "transfer_failed")]
        assert all("inReplyTo" not in m for m in session.log.messages() if "call" in m)
    finally:
        await wire.close()
