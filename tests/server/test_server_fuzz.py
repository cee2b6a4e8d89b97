"""Fuzzed frames (hypothesis) against a live server: no crash, every frame answered, the connection usable.

Also the flood guard: a client sending too many frames is slowed down, and the others do not notice.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ws_helpers import Wire, login_token, open_session

from cti_tui.protocol.actions import SCHEMA
from cti_tui.server import app as server_app

REFUSAL_CODES = {
    "invalid_token",
    "missing_parameter",
    "invalid_params",
    "invalid_session_id",
    "not_permitted",
    # the engine's own reasons, passed through
    "bad_number",
    "bad_request",
    "unknown_node",
    "unknown_call",
    "call_ended",
    "wrong_state",
    "not_connected",
    "not_supported",
    "slot_busy",
    "slot_empty",
    "transfer_failed",
}
FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(["1002", "+12025550101", "user:1002", "queue:sales", "callpark", "12#", "*", ""])
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)
# actions that end the session or the socket on purpose are left out: the point is the socket stays usable
actions = st.sampled_from(
    sorted((set(SCHEMA) - {"logout", "quit"}) | {"create_session", "restore_session", "ping", "x"})
)
fields = st.sampled_from(
    [
        "callId",
        "otherCallId",
        "destination",
        "node",
        "slot",
        "digits",
        "enabled",
        "inviteTimeout",
        "token",
        "sessionId",
        "lastSeq",
        "email",
        "password",
        "apiKey",
        "code",
        "nonce",
        "junk",
    ]
)
object_frames = st.builds(
    lambda action, extra: {**extra, "action": action}, actions, st.dictionaries(fields, values, max_size=4)
)
RIGHT_KIND = {
    str: st.sampled_from(["1002", "1001", "+12025550101", "user:1002", "queue:sales", "callpark", "12#", "x"]),
    int: st.integers(min_value=-2, max_value=12),
    bool: st.booleans(),
    (int, float): st.floats(min_value=-1, max_value=5, allow_nan=False),
}


@st.composite
def schema_frames(draw: st.DrawFn) -> dict[str, Any]:
    """Mostly well-formed commands (right fields, right kinds, plausible values), so the engine is reached."""
    action = draw(st.sampled_from(sorted(set(SCHEMA) - {"login", "two_factor_auth", "logout", "quit"})))
    frame: dict[str, Any] = {"action": action}
    for field in SCHEMA[action]:
        choice = draw(st.integers(0, 9))
        if choice < 8:
            frame[field.wire] = draw(RIGHT_KIND[field.kind])
        elif choice == 8:
            frame[field.wire] = draw(values)
    return frame


raw_frames = st.one_of(
    st.text(max_size=60),
    st.binary(max_size=60),
    st.sampled_from(
        [
            "",
            "{",
            "[" * 5000,
            '{"action": "ping", "id": ' + "9" * 5000 + "}",
            '{"action": "park", "callId": "x", "slot": NaN}',
            '{"action": "supervised_transfer", "callId": "x", "destination": "1002", "inviteTimeout": 1e400}',
            # large but under the 64 KiB message limit (past it the socket is closed with 1009: test_server_limits)
            '{"action": "ping", "pad": "' + "x" * 65_000 + '"}',
            b"\xff" * 10,
        ]
    ),
)
frames = st.lists(st.one_of(schema_frames(), object_frames, raw_frames), min_size=1, max_size=6)


def check_reply(reply: dict[str, Any]) -> None:
    assert reply["type"] == "reply", reply
    if reply["ok"]:
        return
    assert reply["status"] in (200, 400, 401, 403), reply  # never a 500: nothing failed inside
    assert reply["code"] in REFUSAL_CODES, reply
    assert reply["level"] in ("INFO", "ERROR") and isinstance(reply["message"], str), reply


@pytest.fixture
async def live(cti_server):
    server = await cti_server(speed=1.0)
    return server, await login_token(server.url, "agent@demo.local")


async def exchange_frames(wire: Wire, batch: list[dict | str | bytes], first_id: int) -> None:
    """Send the whole batch at once, then read exactly one reply per frame, in order."""
    expected_ids: list[object] = []
    for n, frame in enumerate(batch):
        if isinstance(frame, dict):
            frame = {**frame, "id": first_id + n}
            expected_ids.append(first_id + n)
        else:
            expected_ids.append(...)
        await wire.send(frame if isinstance(frame, str | bytes) else json.dumps(frame))
    for expected in expected_ids:
        reply = await wire.reply()
        check_reply(reply)
        if expected is not ...:
            # a frame too large or not JSON cannot be read for its id; anything else is answered by id
            assert reply["id"] in (expected, None), (expected, reply)


@FUZZ
@given(batch=frames)
async def test_fuzzed_frames_without_a_session(live, batch) -> None:
    server, _ = live
    wire = await Wire.open(server.url)
    try:
        await exchange_frames(wire, batch, 1000)
        await wire.ping()  # still usable
    finally:
        await wire.close()


@FUZZ
@given(batch=frames)
async def test_fuzzed_frames_in_a_session(live, batch) -> None:
    server, token = live
    wire = await Wire.open(server.url)
    try:
        await wire.start(token)
        await exchange_frames(wire, batch, 1000)
        await wire.ping()
        assert (await wire.request("is_connected"))["result"] is True  # the session survived it all
    finally:
        await wire.request("destroy_session")
        await wire.close()


http_bodies = st.one_of(
    st.binary(max_size=80),
    st.dictionaries(st.sampled_from(["email", "password", "apiKey", "nonce", "code", "x"]), values, max_size=3).map(
        lambda d: json.dumps(d).encode()
    ),
)


@settings(FUZZ, max_examples=20)
@given(path=st.sampled_from(["/api/login", "/api/2fa", "/api/logout"]), body=http_bodies)
async def test_fuzzed_http_bodies(live, path: str, body: bytes) -> None:
    server, _ = live
    async with httpx.AsyncClient(base_url=server.url, timeout=5) as http:
        response = await http.post(path, content=body, headers={"content-type": "application/json"})
    assert response.status_code in (200, 400, 401, 429), response.text
    data = response.json()
    if response.status_code != 200:
        assert data["status"] == response.status_code and data["code"] and data["message"], data


async def test_a_burst_past_the_frame_rate_is_slowed_never_cut_and_every_frame_answered(cti_server) -> None:
    """Before: past 200 frames in a second the connection was closed (1008), dropping the replies it was
    owed; a one-off burst of 250 subscribes was cut. Now reading waits for the next second."""
    server = await cti_server(no_answer_timeout=3600)
    calm = await open_session(server.url, "bruno@demo.local")
    flood = await open_session(server.url, "agent@demo.local")
    try:
        burst = server_app.FLOOD_FRAMES + 50
        for n in range(burst):
            subscribe = {"id": f"b{n}", "action": "subscribe", "node": "queue:sales"}
            await flood.send(subscribe if n % 2 else {"id": f"b{n}", "action": "ping"})
        replies = [await flood.reply(timeout=10) for _ in range(burst)]
        assert [r["id"] for r in replies] == [f"b{n}" for n in range(burst)]  # each once, in order
        assert all(r["ok"] or r["level"] == "INFO" for r in replies), replies  # (already subscribed)
        assert flood.ws.close_code is None
        await flood.ping()
        # the calm client still gets its calls and its replies, right away
        leg = server.exchange.inbound_call("+12025550199", "1002", "Calm")
        await calm.ping()
        await calm.events_until(server.hub.sessions[calm.session_id].connector.last_seq, timeout=2)
        assert calm.events[-1]["call"]["id"] == leg.id
        # the flooder's session is not punished beyond the socket: it can restore
        back = await Wire.open(server.url)
        try:
            reply = await back.request("restore_session", token=flood.session_token, sessionId=flood.session_id)
            assert reply["ok"], reply
            await back.ping()
        finally:
            await back.close()
    finally:
        await calm.close()
        await flood.close()


async def test_frames_at_a_normal_pace_are_never_cut_off(cti_server) -> None:
    server = await cti_server()
    wire = await open_session(server.url, "agent@demo.local")
    try:
        per_tenth = server_app.FLOOD_FRAMES * 3 // 40  # three quarters of the limit, sustained for 1.2 s
        for _ in range(12):
            for _ in range(per_tenth):
                await wire.ping()
            await asyncio.sleep(0.1)
        assert wire.ws.close_code is None
    finally:
        await wire.close()
