"""Issue 14 #6: where the server and docs/protocol.md disagreed, each fixed, over real HTTP and frames.

The versioned protocol (/v1, ``protocol`` in the session reply) next to the paths before it; strict session
actions; one JSON error shape for every refusal; the history's limits refused, not clamped; no interpreter
wording in errors; only a session's own token restores it; a token in a URL revoked and kept out of the
access log; the directory in pages.
"""

from __future__ import annotations

import json
import logging

import httpx
import pytest
import websockets
from limited_server import serving
from ws_helpers import TIMEOUT, Wire, login_token, open_session

from cti_tui.backends.server import ServerBackend
from cti_tui.engine.connector import Connector
from cti_tui.pbx.bigorg import generate_org


def refused(reply: dict, status: int, code: str) -> None:
    assert reply["type"] == "reply" and reply["ok"] is False, reply
    assert (reply["status"], reply["code"]) == (status, code), reply
    assert reply["message"], reply


def error_shape(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"status", "code", "message"} and (body["status"], body["code"]) == (status, code), body


async def test_the_v1_paths_serve_the_protocol_and_the_paths_before_it_still_work(cti_server) -> None:
    server = await cti_server()
    async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as http:
        for prefix in ("/v1", "/api"):
            login = await http.post(f"{prefix}/login", json={"email": "agent@demo.local", "password": "demo"})
            assert login.status_code == 200 and login.json()["policies"], login.text
            bearer = {"Authorization": f"Bearer {login.json()['token']}"}
            assert (await http.get(f"{prefix}/history", headers=bearer)).json()["rows"] == []
    for path in ("/v1/ws", "/ws"):
        wire = Wire(await websockets.connect(server.url.replace("http", "ws", 1) + path, open_timeout=TIMEOUT))
        try:
            result = await wire.start(await login_token(server.url, "agent@demo.local"))
            assert result["protocol"] == 1
        finally:
            await wire.close()


async def test_a_session_action_asks_for_a_protocol_this_server_speaks(cti_server) -> None:
    server = await cti_server()
    token = await login_token(server.url, "agent@demo.local")
    wire = await Wire.open(server.url)
    try:
        for version in (2, "1", 1.5, True, [1]):
            refused(await wire.request("create_session", token=token, protocol=version), 400, "unsupported_protocol")
        reply = await wire.request("create_session", token=token, protocol=1)
        assert reply["ok"] and reply["result"]["protocol"] == 1, reply
    finally:
        await wire.close()


@pytest.mark.parametrize(
    ("action", "fields", "unknown"),
    [
        ("ping", {"extra": 1}, "extra"),
        ("destroy_session", {"force": True}, "force"),
        ("create_session", {"token": "t", "sessionId": "s"}, "sessionId"),
        ("restore_session", {"token": "t", "sessionId": "s", "lastSeq": 0, "replay": "all"}, "replay"),
    ],
)
async def test_session_actions_refuse_unknown_fields(cti_server, action: str, fields: dict, unknown: str) -> None:
    server = await cti_server()
    wire = await Wire.open(server.url)
    try:
        reply = await wire.request(action, **fields)
        refused(reply, 400, "invalid_params")
        assert unknown in reply["message"]
        await wire.ping()  # the connection stays usable
    finally:
        await wire.close()


async def test_restore_takes_the_sessions_own_token_not_a_login_token(cti_server) -> None:
    server = await cti_server()
    alice = await open_session(server.url, "agent@demo.local")
    back = await Wire.open(server.url)
    try:
        login = await login_token(server.url, "agent@demo.local")  # the same user's fresh login token
        refused(await back.request("restore_session", token=login, sessionId=alice.session_id), 400, "invalid_token")
        reply = await back.request("restore_session", token=alice.session_token, sessionId=alice.session_id)
        assert reply["ok"], reply
    finally:
        await back.close()
        await alice.close()


async def test_frames_that_are_not_json_are_refused_in_the_servers_own_words(cti_server) -> None:
    server = await cti_server()
    wire = await Wire.open(server.url)
    try:
        for frame in ('{"id": 1, "action": "ping", "n": ' + "9" * 5000 + "}", "[" * 60_000, "{not json"):
            await wire.send(frame)
            reply = await wire.reply()
            refused(reply, 400, "invalid_params")
            assert "sys." not in reply["message"] and "int_max_str_digits" not in reply["message"], reply
            assert "recursion" not in reply["message"].lower(), reply
    finally:
        await wire.close()


async def test_every_http_refusal_has_the_one_json_shape(cti_server) -> None:
    server = await cti_server()
    token = await login_token(server.url, "agent@demo.local")
    bearer = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as http:
        error_shape(await http.get("/v1/nowhere"), 404, "not_found")
        error_shape(await http.get("/v1/login"), 405, "method_not_allowed")
        assert "POST" in (await http.get("/v1/login")).headers["allow"]
        error_shape(await http.get("/v1/directory"), 401, "invalid_token")
        error_shape(await http.post("/v1/login", content=b"{}", headers={"content-type": "text/plain"}), 415,
                    "unsupported_media_type")  # fmt: skip
        big = {"email": "a", "password": "x" * 70_000}
        error_shape(await http.post("/v1/login", json=big), 413, "payload_too_large")
        # the history's paging: out of range is refused, never silently clamped
        for params in ({"limit": "0"}, {"limit": "201"}, {"limit": "-1"}, {"offset": "-5"}, {"limit": "9" * 5000}):
            response = await http.get("/v1/history", params=params, headers=bearer)
            error_shape(response, 400, "invalid_params")
            assert "int()" not in response.json()["message"] and "base 10" not in response.json()["message"]
        assert (await http.get("/v1/history", params={"limit": "200"}, headers=bearer)).status_code == 200
        response = await http.get("/v1/history", params={"outcome": "won"}, headers=bearer)
        error_shape(response, 400, "invalid_params")
        assert "answered" in response.json()["message"]


async def test_wrong_passwords_past_the_limit_get_429_with_retry_after() -> None:
    async with (
        serving(failures_per_account=1, lockout_seconds=30) as server,
        httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as http,
    ):
        wrong = {"email": "agent@demo.local", "password": "wrong"}
        error_shape(await http.post("/v1/login", json=wrong), 401, "invalid_credentials")
        error_shape(await http.post("/v1/login", json=wrong), 401, "invalid_credentials")
        response = await http.post("/v1/login", json=wrong)
        error_shape(response, 429, "too_many_attempts")
        assert 1 <= int(response.headers["retry-after"]) <= 30


async def test_a_token_in_a_url_is_revoked_and_never_written_to_the_access_log() -> None:
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    handler = Keep()
    async with serving(log_level="info") as server:
        access = logging.getLogger("uvicorn.access")
        access.addHandler(handler)
        try:
            token = await login_token(server.url, "agent@demo.local")
            async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as http:
                response = await http.get("/v1/directory", params={"access_token": token})
                error_shape(response, 400, "token_in_url")
                leaked = await http.get("/v1/directory", headers={"Authorization": f"Bearer {token}"})
                error_shape(leaked, 401, "invalid_token")  # revoked: it is written down somewhere now
        finally:
            access.removeHandler(handler)
    assert any("/v1/directory" in line for line in lines), lines  # the access log is on
    assert not any(token in line for line in lines), lines


async def test_the_directory_comes_in_pages_and_the_app_reads_them_all() -> None:
    org = generate_org(2_500, rate=0.0)
    async with serving(org=org) as server:
        token = await login_token(server.url, "agent@demo.local")
        bearer = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as http:
            first = (await http.get("/v1/directory", headers=bearer)).json()
            assert len(first["entries"]) == 500 and first["next"] == 500 and first["total"] > 2_500
            total = first["total"]
            last = (await http.get("/v1/directory", params={"offset": total - 10}, headers=bearer)).json()
            assert len(last["entries"]) == 10 and last["next"] is None
            error_shape(await http.get("/v1/directory", params={"limit": 1001}, headers=bearer), 400, "invalid_params")
            legacy = (await http.get("/api/directory", headers=bearer)).json()  # clients before v1: whole
            assert len(legacy["entries"]) == total
            size = len(json.dumps(first))
            assert size < len(json.dumps(legacy)) / 4
        connector = Connector(ServerBackend(server.url, reconnect=False))
        try:
            assert await connector.login("agent@demo.local", "demo")
            entries = await connector.backend.directory()
            assert len(entries) == total
            assert [e.number for e in entries] == [e["number"] for e in legacy["entries"]]
        finally:
            await connector.logout()
