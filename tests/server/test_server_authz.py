"""Permissions are the server's (SPEC §3): each role × each action × own / watched / unwatched line.

Raw frames, so no client-side check stands in the way: whatever a client sends, the server decides.
An agent controls calls on its own line only; a supervisor may also hang up and transfer calls on lines it
watches; anybody may pick up a parked call (unpark) unless the organisation's policy says otherwise; a call
on a line one does not watch is not even visible (INFO unknown_call, no hint it exists).
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable

import pytest
from ws_helpers import open_session

from cti_tui.core.model import CallStatus, Operation, Role
from cti_tui.core.permissions import DEFAULT_POLICIES, RolePolicy
from cti_tui.pbx.exchange import Exchange
from cti_tui.pbx.legs import Leg

numbers = (f"+1303555{n:04d}" for n in itertools.count(1000))
S = CallStatus

# action -> (state the call must be in, extra fields, what the PBX shows after it was done)
ACTIONS: dict[str, tuple[str, dict, Callable[[Leg], bool]]] = {
    "answer": ("ringing", {}, lambda leg: leg.status is S.CONNECTED),
    "reject": ("ringing", {}, lambda leg: leg.status is S.CANCEL and leg.call.cause == "rejected"),
    "terminate": ("connected", {}, lambda leg: leg.status is S.HANGUP),
    "hold": ("connected", {}, lambda leg: leg.status is S.ON_HOLD),
    "resume": ("held", {}, lambda leg: leg.status is S.CONNECTED),
    "transfer": ("connected", {"destination": "1003"}, lambda leg: leg.call.cause == "transferred"),
    "supervised_transfer": ("connected", {"destination": "1004"}, lambda leg: leg.consult is not None),
    "park": ("connected", {}, lambda leg: leg.status is S.PARKED),
    "send_dtmf": ("connected", {"digits": "12#"}, lambda leg: leg.dtmf.endswith("12#")),
}
WATCHED_OK = {Role.AGENT: set(), Role.SUPERVISOR: {"terminate", "transfer"}}
LINES = {"own": None, "watched": "1002", "unwatched": "1005"}


def ring(exchange: Exchange, extension: str, state: str) -> Leg:
    leg = exchange.inbound_call(next(numbers), extension, "Caller")
    assert leg is not None
    if state in ("connected", "held"):
        exchange.answer_leg(leg)
    if state == "held":
        exchange.hold(leg)
    return leg


def hang_up_everything(exchange: Exchange) -> None:
    for leg in list(exchange.legs.values()):
        if leg.live:
            exchange.hangup(leg)


def expected(role: Role, action: str, line: str) -> tuple[bool, int | None, str | None]:
    if line == "own" or (line == "watched" and action in WATCHED_OK[role]):
        return True, None, None
    if line == "watched":
        return False, 403, "not_permitted"
    return False, 200, "unknown_call"  # INFO: not one of your lines' calls


async def matrix(server, email: str, own: str) -> dict:
    exchange = server.exchange
    actor = await open_session(server.url, email)
    try:
        assert (await actor.request("subscribe", node="user:1002"))["ok"]
        got, want = {}, {}
        role = actor.snapshots[0]["identity"]["role"]
        for (action, (state, fields, done)), (line, extension) in itertools.product(ACTIONS.items(), LINES.items()):
            leg = ring(exchange, extension or own, state)
            before = (leg.status, leg.dtmf, leg.line)
            reply = await actor.request(action, callId=leg.id, **fields)
            succeeded = done(leg)
            assert succeeded == reply["ok"], (action, line, reply)  # the reply tells the truth
            if not reply["ok"]:
                assert (leg.status, leg.dtmf, leg.line) == before, (action, line)  # nothing happened
            got[action, line] = (reply["ok"], reply.get("status"), reply.get("code"))
            want[action, line] = expected(Role(role), action, line)
            hang_up_everything(exchange)
        assert got == want
        await actor.ping()
        return got
    finally:
        await actor.close()


async def test_agent_matrix(cti_server) -> None:
    server = await cti_server(no_answer_timeout=3600)
    await matrix(server, "agent@demo.local", "1001")


async def test_supervisor_matrix(cti_server) -> None:
    server = await cti_server(no_answer_timeout=3600)
    await matrix(server, "supervisor@demo.local", "1100")


async def test_merge_only_ones_own_calls(cti_server) -> None:
    server = await cti_server(no_answer_timeout=3600)
    exchange = server.exchange
    for email, own in (("agent@demo.local", "1001"), ("supervisor@demo.local", "1100")):
        actor = await open_session(server.url, email)
        try:
            assert (await actor.request("subscribe", node="user:1002"))["ok"]
            mine, other = ring(exchange, own, "connected"), ring(exchange, "1002", "connected")
            reply = await actor.request("merge", callId=mine.id, otherCallId=other.id)
            assert (reply["ok"], reply["status"], reply["code"]) == (False, 403, "not_permitted"), reply
            assert mine.live and other.live
            second = ring(exchange, own, "connected")
            exchange.hold(mine)
            assert (await actor.request("merge", callId=second.id, otherCallId=mine.id))["ok"]
            assert mine.status is S.HANGUP and second.status is S.CONNECTED
            hang_up_everything(exchange)
        finally:
            await actor.close()


@pytest.mark.parametrize(
    ("email", "allowed"),
    [
        ("agent@demo.local", {"user:1002", "queue:sales", "callpark", "conf:room1"}),
        ("supervisor@demo.local", {"user:1002", "queue:sales", "callpark", "conf:room1", "ivr:main"}),
    ],
)
async def test_who_may_watch_what(cti_server, email: str, allowed: set[str]) -> None:
    server = await cti_server()
    actor = await open_session(server.url, email)
    try:
        for node in ("user:1002", "queue:sales", "callpark", "conf:room1", "ivr:main"):
            reply = await actor.request("subscribe", node=node)
            if node in allowed:
                assert reply["ok"], reply
            else:
                assert (reply["ok"], reply["status"], reply["code"]) == (False, 403, "not_permitted"), reply
        for node in ("user:9999", "queue:nope"):
            reply = await actor.request("subscribe", node=node)
            assert (reply["ok"], reply["status"], reply["code"]) == (False, 400, "unknown_node"), reply
        assert set((await actor.request("subscriptions"))["result"]) == allowed
    finally:
        await actor.close()


async def test_unpark_follows_the_role_policy(cti_server) -> None:
    server = await cti_server(no_answer_timeout=3600)
    exchange = server.exchange
    alice, sam = (
        await open_session(server.url, "agent@demo.local"),
        await open_session(server.url, "supervisor@demo.local"),
    )
    try:
        # by default anybody may pick up a parked call, parked by anybody
        parked = ring(exchange, "1002", "connected")
        exchange.park(parked, None)
        reply = await alice.request("unpark", slot=parked.call.park_slot or 1)
        assert reply["ok"] and parked.owner == "1001" and parked.status is S.CONNECTED, reply
        # an organisation whose agents may not: refused for a colleague's call, allowed for one's own
        agents = dataclasses.replace(DEFAULT_POLICIES[Role.AGENT], act_on_watched=frozenset())
        policies: dict[Role, RolePolicy] = {**DEFAULT_POLICIES, Role.AGENT: agents}
        exchange.org = dataclasses.replace(exchange.org, policies=policies)
        colleagues = ring(exchange, "1002", "connected")
        exchange.park(colleagues, 4)
        reply = await alice.request("unpark", slot=4)
        assert (reply["ok"], reply["status"], reply["code"]) == (False, 403, "not_permitted"), reply
        assert colleagues.status is S.PARKED
        assert (await sam.request("unpark", slot=4))["ok"]  # the supervisor still may
        assert colleagues.owner == "1100"
        own = ring(exchange, "1001", "connected")
        assert (await alice.request("park", callId=own.id, slot=5))["ok"]
        assert (await alice.request("unpark", slot=5))["ok"]
        assert own.status is S.CONNECTED
        reply = await alice.request("unpark", slot=6)
        assert (reply["ok"], reply["code"]) == (False, "slot_empty"), reply
        assert Operation.UNPARK in DEFAULT_POLICIES[Role.AGENT].act_on_watched
    finally:
        await alice.close()
        await sam.close()
