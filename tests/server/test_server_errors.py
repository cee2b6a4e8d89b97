"""Every error code of SPEC §4 over real HTTP and WebSocket frames; the connection stays usable after each.

400 invalid_token, 400 missing_parameter, 400 invalid_params, 401 invalid_session_id, 403 not_permitted
(429 too_many_attempts: test_server_ratelimit.py). Also: tokens expire, tokens are never taken from a URL,
and no password, token, API key, TOTP code or secret reaches the logs.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import httpx
import pyotp
import pytest
from ws_helpers import Wire, http_login, login_token, open_session, wait_for

from cti_tui.backends.server import ServerBackend
from cti_tui.core.model import ActivityEvent, ActivityName, ErrorCode, Event
from cti_tui.engine.connector import Connector
from cti_tui.protocol.session import MAX_FRAME_BYTES

TOTP_SECRET = "IIDSOVZMMF5MQLLU6SXN6M52XUGGFCXN"


def refused(reply: dict, status: int, code: str, request_id: object = ...) -> None:
    assert reply["type"] == "reply" and reply["ok"] is False, reply
    assert (reply["status"], reply["code"]) == (status, code), reply
    assert reply["message"], reply
    if request_id is not ...:
        assert reply["id"] == request_id, reply


async def test_websocket_errors_before_a_session(cti_server) -> None:
    server = await cti_server()
    wire = await Wire.open(server.url)
    try:
        # 401 invalid_session_id: a connector action with no session on this socket
        refused(await wire.request("calls"), 401, "invalid_session_id")
        refused(await wire.request("destroy_session"), 401, "invalid_session_id")
        # 400 invalid_token: a token nobody issued
        refused(await wire.request("create_session", token="forged"), 400, "invalid_token")
        # 400 missing_parameter
        refused(await wire.request("create_session"), 400, "missing_parameter")
        refused(await wire.request("restore_session", token="t"), 400, "missing_parameter")
        await wire.send("{}")
        refused(await wire.reply(), 400, "missing_parameter", None)
        # 400 invalid_params: malformed JSON, not an object, wrong types, unknown action, not UTF-8
        for frame in ("{", "[1, 2]", "null", '{"action": "ping", "id": {}}', "\ufeff{}"):
            await wire.send(frame)
            refused(await wire.reply(), 400, "invalid_params", None)
        refused(await wire.request("create_session", token=42), 400, "invalid_params")
        refused(await wire.request("restore_session", token="t", sessionId="s", lastSeq=-3), 400, "invalid_params")
        refused(await wire.request("teleport"), 400, "invalid_params")
        refused(await wire.request("login", email="agent@demo.local", password="demo"), 400, "invalid_params")
        # (a frame over MAX_FRAME_BYTES closes the socket with 1009 instead: test_server_limits.py)
        await wire.send(b"\xc3\x28 not utf-8")
        refused(await wire.reply(), 400, "invalid_params", None)
        # 401 invalid_session_id: a session id that does not exist
        token = await login_token(server.url, "agent@demo.local")
        refused(await wire.request("restore_session", token=token, sessionId="nope"), 401, "invalid_session_id")
        # after all that, the same connection still opens a session and works
        await wire.ping()
        await wire.start(token)
        assert (await wire.request("subscriptions"))["result"] == []
    finally:
        await wire.close()


async def test_websocket_errors_in_a_session(cti_server) -> None:
    server = await cti_server(no_answer_timeout=3600)
    alice = await open_session(server.url, "agent@demo.local")
    bruno = await open_session(server.url, "bruno@demo.local")
    try:
        # 400 missing_parameter / invalid_params on connector actions
        refused(await alice.request("hold"), 400, "missing_parameter")
        refused(await alice.request("hold", callId=7), 400, "invalid_params")
        refused(await alice.request("park", callId="x", slot="1"), 400, "invalid_params")
        refused(await alice.request("hold", callId="x", colour="red"), 400, "invalid_params")
        refused(await alice.request("call", destination="12ab"), 400, "bad_number")
        refused(await alice.request("create_session", token="again"), 400, "invalid_params")
        # INFO refusals are answered too (status 200: nothing is wrong, it could not be done)
        reply = await alice.request("hold", callId="no-such-call")
        assert (reply["ok"], reply["status"], reply["level"], reply["code"]) == (False, 200, "INFO", "unknown_call")
        # 403 not_permitted: an agent acting on a colleague's call on a line it watches
        leg = server.exchange.inbound_call("+12025550143", "1002", "Ada Lovelace")
        assert leg is not None
        assert (await bruno.request("answer", callId=leg.id))["ok"]
        assert (await alice.request("subscribe", node="user:1002"))["ok"]
        await wait_for(lambda: leg.status.value == "CONNECTED", "the call connects")
        refused(await alice.request("terminate", callId=leg.id), 403, "not_permitted")
        assert leg.live
        # 403 not_permitted: an agent may not watch the IVR
        refused(await alice.request("subscribe", node="ivr:main"), 403, "not_permitted")
        # 403 not_permitted: restoring someone else's session with one's own token
        thief = await Wire.open(server.url)
        try:
            reply = await thief.request(
                "restore_session", token=bruno.session_token, sessionId=alice.session_id, lastSeq=0
            )
            refused(reply, 403, "not_permitted")
            # 400 invalid_token: the right session with a made-up token
            reply = await thief.request("restore_session", token="made-up", sessionId=alice.session_id)
            refused(reply, 400, "invalid_token")
            await thief.ping()
        finally:
            await thief.close()
        await alice.ping()
        assert (await alice.request("subscriptions"))["result"] == ["user:1002"]
    finally:
        await alice.close()
        await bruno.close()


async def test_logout_over_the_socket_ends_the_session(cti_server) -> None:
    server = await cti_server()
    wire = await open_session(server.url, "agent@demo.local")
    session_id = wire.session_id
    reply = await wire.request("logout")
    assert reply["ok"], reply
    await wait_for(lambda: session_id not in server.hub.sessions, "the session ends")
    again = await Wire.open(server.url)
    try:
        reply = await again.request("restore_session", token=wire.session_token, sessionId=session_id)
        refused(reply, 401, "invalid_session_id")
    finally:
        await again.close()
        await wire.close()


async def test_http_errors(cti_server) -> None:
    server = await cti_server()
    async with httpx.AsyncClient(base_url=server.url, timeout=5) as http:

        async def check(response: httpx.Response, status: int, code: str) -> None:
            assert response.status_code == status, response.text
            body = response.json()
            assert (body["status"], body["code"]) == (status, code) and body["message"], body

        await check(await http.post("/api/login", json={"email": "agent@demo.local"}), 400, "missing_parameter")
        await check(await http.post("/api/login", json={}), 400, "missing_parameter")
        await check(await http.post("/api/2fa", json={"nonce": "n"}), 400, "missing_parameter")
        as_json = {"content-type": "application/json"}
        await check(await http.post("/api/login", content=b"{not json", headers=as_json), 400, "invalid_params")
        await check(await http.post("/api/login", content=b"[1]", headers=as_json), 400, "invalid_params")
        await check(await http.post("/api/login", content=b"1" * 5000, headers=as_json), 400, "invalid_params")
        await check(await http.post("/api/login", json={"email": 1, "password": "demo"}), 400, "invalid_params")
        await check(await http.post("/api/login", json={"apiKey": ""}), 400, "invalid_params")
        await check(await http.post("/api/2fa", json={"nonce": 1, "code": 2}), 400, "invalid_params")
        big = {"email": "agent@demo.local", "password": "x" * (MAX_FRAME_BYTES + 1)}
        await check(await http.post("/api/login", json=big), 413, "payload_too_large")
        bad = {"email": "agent@demo.local", "password": "wrong"}
        await check(await http.post("/api/login", json=bad), 401, "invalid_credentials")
        # over HTTP a missing or bad bearer token is 401, with WWW-Authenticate (over the socket: 400, SPEC §4)
        await check(await http.get("/api/directory"), 401, "invalid_token")
        await check(await http.get("/v1/directory", headers={"Authorization": "Bearer forged"}), 401, "invalid_token")
        assert (await http.get("/v1/history")).headers["www-authenticate"] == "Bearer"
        token = await login_token(server.url, "agent@demo.local")
        bearer = {"Authorization": f"Bearer {token}"}
        assert (await http.get("/api/directory", headers=bearer)).status_code == 200
        # a token in the URL ends up in access logs: refused there, and revoked
        await check(await http.get("/api/directory", params={"token": token}), 400, "token_in_url")
        await check(await http.get("/api/directory", headers=bearer), 401, "invalid_token")
        token = await login_token(server.url, "agent@demo.local")
        bearer = {"Authorization": f"Bearer {token}"}
        await check(await http.get("/v1/history", params={"q": token}, headers=bearer), 400, "token_in_url")
        await check(await http.get("/v1/directory", headers=bearer), 401, "invalid_token")
        token = await login_token(server.url, "agent@demo.local")
        bearer = {"Authorization": f"Bearer {token}"}
        await check(await http.get("/api/history", params={"limit": "lots"}, headers=bearer), 400, "invalid_params")
        await check(await http.get("/api/history", params={"outcome": "x"}, headers=bearer), 400, "invalid_params")
        # logging out forgets the token
        assert (await http.post("/api/logout", headers=bearer)).json() == {"ok": True}
        await check(await http.get("/api/directory", headers=bearer), 401, "invalid_token")


async def test_login_tokens_expire(cti_server) -> None:
    server = await cti_server()
    server.hub.token_lifetime = timedelta(seconds=2)  # clock seconds: 0.1 s real at speed 20
    token = await login_token(server.url, "agent@demo.local")
    await asyncio.sleep(0.3)
    wire = await Wire.open(server.url)
    try:
        refused(await wire.request("create_session", token=token), 400, "invalid_token")
        async with httpx.AsyncClient(base_url=server.url, timeout=5) as http:
            response = await http.get("/api/directory", headers={"Authorization": f"Bearer {token}"})
        assert (response.status_code, response.json()["code"]) == (401, "invalid_token")
        assert token not in server.hub.tokens
        # a fresh token works; expired ones are forgotten when new ones are issued
        server.hub.token_lifetime = timedelta(minutes=15)
        await wire.start(await login_token(server.url, "agent@demo.local"))
        assert all(t.expires > server.clock.now() for t in server.hub.tokens.values())
    finally:
        await wire.close()


async def test_a_client_whose_token_expires_before_the_session_opens_gets_an_error_not_a_crash(cti_server) -> None:
    server = await cti_server()
    server.hub.token_lifetime = timedelta(0)
    connector = Connector(ServerBackend(server.url, reconnect=False))
    events: list[Event] = []
    connector.add_listener(events.append)
    try:
        assert not await connector.login("agent@demo.local", "demo")
        errors = [e for e in events if isinstance(e, ActivityEvent) and e.name is ActivityName.ERROR]
        assert errors and errors[-1].code is ErrorCode.BACKEND_FAILURE, events
        assert not connector.is_connected()
    finally:
        await connector.backend.close()


async def test_no_secret_reaches_the_logs(cti_server, caplog: pytest.LogCaptureFixture) -> None:
    """With the server logging at INFO (access logs on) and cti_tui at DEBUG, a session's whole life —
    failed and good logins, API key, 2FA, tokens in headers and (refused) in URLs — logs no secret."""
    server = await cti_server()
    uvicorn_loggers = [logging.getLogger(name) for name in ("uvicorn", "uvicorn.access")]
    saved = [(logger, logger.level) for logger in uvicorn_loggers]
    for logger in uvicorn_loggers:  # uvicorn's loggers do not propagate to the root: listen on them directly
        logger.addHandler(caplog.handler)
        logger.setLevel(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="cti_tui")
    secrets = ["wrong-password-9f3", "demo-api-key", TOTP_SECRET]
    try:
        assert (await http_login(server.url, "agent@demo.local", "wrong-password-9f3")).status_code == 401
        async with httpx.AsyncClient(base_url=server.url, timeout=5) as http:
            key_login = await http.post("/api/login", json={"apiKey": "demo-api-key"})
            secrets.append(key_login.json()["token"])
            challenge = (await http.post("/api/login", json={"email": "secure@demo.local", "password": "demo"})).json()
            code = pyotp.TOTP(TOTP_SECRET).at(server.clock.now())
            secrets += [challenge["nonce"], code]
            done = await http.post("/api/2fa", json={"nonce": challenge["nonce"], "code": code})
            assert done.status_code == 200, done.text
            token = done.json()["token"]
            secrets.append(token)
            await http.get("/api/directory", headers={"Authorization": f"Bearer {token}"})
        wire = await Wire.open(server.url)
        try:
            await wire.start(token)
            secrets += [wire.session_token, wire.session_id]
            await wire.send({"id": 1, "action": "create_session", "token": "leaked-token-7"})
            secrets.append("leaked-token-7")
            await wire.reply()
            await wire.send('{"action": "create_session", "token": "broken-json-token-8"')
            secrets.append("broken-json-token-8")
            await wire.reply()
        finally:
            await wire.close()
        await wait_for(lambda: not server.hub.sessions[wire.session_id].connections, "the server sees the close")
    finally:
        for logger, level in saved:
            logger.removeHandler(caplog.handler)
            logger.setLevel(level)
    assert any(r.name == "uvicorn.access" for r in caplog.records), "the access log was not on"
    text = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    for secret in secrets:
        assert secret not in text, f"a secret reached the logs: {secret[:4]}…"
