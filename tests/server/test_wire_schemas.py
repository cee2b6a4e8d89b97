"""docs/openapi.json and docs/protocol.schema.json against the real server: every answer and message it
sends in a working session (and its refusals) validates, the schemas refuse what the server refuses, and the
command schema has exactly the fields of the code's action table (issue 14 #6)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from limited_server import serving
from ws_helpers import TIMEOUT, Wire, login_token, open_session, wait_for

from cti_tui.core import commands as cmd
from cti_tui.protocol.actions import SCHEMA
from cti_tui.protocol.session import ClientSession

DOCS = Path(__file__).resolve().parents[2] / "docs"
OPENAPI = json.loads((DOCS / "openapi.json").read_text())
WIRE = json.loads((DOCS / "protocol.schema.json").read_text())
SERVER_ONLY = {"login", "two_factor_auth", "quit"}  # done over HTTP or by closing, never as a frame


def validator(document: dict[str, Any], pointer: str) -> jsonschema.Draft202012Validator:
    """A validator for the schema at ``pointer`` inside ``document`` (its $refs resolve in the document; the
    document's own top-level assertions are left out)."""
    return jsonschema.Draft202012Validator({**{k: v for k, v in document.items() if k != "oneOf"}, "$ref": pointer})


def wire_valid(definition: str, message: object) -> bool:
    return validator(WIRE, f"#/$defs/{definition}").is_valid(message)


def check_wire(definition: str, message: object) -> None:
    errors = list(validator(WIRE, f"#/$defs/{definition}").iter_errors(message))
    assert not errors, f"{definition}: {errors[0].message} in {json.dumps(message)[:300]}"


def check_http(path: str, method: str, response: httpx.Response) -> None:
    """The response validates against what docs/openapi.json says ``method path`` answers with its status."""
    answers = OPENAPI["paths"][path][method]["responses"]
    status = str(response.status_code)
    assert status in answers, f"{method.upper()} {path} answered {status}, which openapi.json does not list"
    schema = answers[status]["content"]["application/json"]["schema"]
    errors = list(jsonschema.Draft202012Validator({**OPENAPI, **schema}).iter_errors(response.json()))
    assert not errors, f"{method.upper()} {path} {status}: {errors[0].message} in {response.text[:300]}"
    for header in answers[status].get("headers", {}):
        if header != "WWW-Authenticate" or response.json().get("code") == "invalid_token":
            assert header.lower() in response.headers, (header, response.headers)


def test_both_documents_are_well_formed() -> None:
    jsonschema.Draft202012Validator.check_schema(WIRE)
    assert OPENAPI["openapi"].startswith("3.1")
    for schema in OPENAPI["components"]["schemas"].values():
        jsonschema.Draft202012Validator.check_schema(schema)


def test_the_command_schema_is_the_codes_action_table() -> None:
    documented = {branch["title"]: branch for branch in WIRE["$defs"]["Command"]["oneOf"]}
    assert set(documented) == set(SCHEMA) - SERVER_ONLY
    kinds = {str: "string", int: "integer", float: "number", bool: "boolean"}
    for action, fields in SCHEMA.items():
        if action in SERVER_ONLY:
            continue
        branch = documented[action]
        assert set(branch["properties"]) == {"id", "action"} | {f.wire for f in fields}, action
        assert set(branch["required"]) == {"action"} | {f.wire for f in fields if f.required}, action
        for field in fields:
            types = field.kind if isinstance(field.kind, tuple) else (field.kind,)
            named = {kinds[t] for t in types} - ({"integer"} if float in types else set())
            documented_type = branch["properties"][field.wire]["type"]
            assert named == ({documented_type} if isinstance(documented_type, str) else set(documented_type))


async def test_the_openapi_paths_are_the_servers_v1_routes(cti_server) -> None:
    server = await cti_server()
    routes = {route.path: getattr(route, "methods", None) for route in server.parts.server.config.app.routes}
    documented = {path: {method.upper() for method in ops} for path, ops in OPENAPI["paths"].items()}
    served = {path: methods - {"HEAD"} for path, methods in routes.items() if path.startswith("/v1/") and methods}
    assert documented == served


async def test_every_http_answer_validates(cti_server) -> None:
    server = await cti_server()
    alice = await open_session(server.url, "agent@demo.local")  # so that an ended call reaches her history
    async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as http:
        try:
            leg = server.exchange.inbound_call("+12025550143", "1001", "Ada")
            server.exchange.remote_hangup(leg.id)
            token = await login_token(server.url, "agent@demo.local")
            bearer = {"Authorization": f"Bearer {token}"}

            async def history() -> httpx.Response:
                return await http.get("/v1/history", headers=bearer)

            for _ in range(250):  # the history is written on its own thread: at most 5 s
                if (await history()).json()["rows"]:
                    break
                await asyncio.sleep(0.02)
            assert (await history()).json()["rows"], "the ended call reached the history"
            check_http("/v1/history", "get", await history())
            login = await http.post("/v1/login", json={"email": "agent@demo.local", "password": "demo"})
            check_http("/v1/login", "post", login)
            key = await http.post("/v1/login", json={"apiKey": "demo-api-key"})
            check_http("/v1/login", "post", key)
            challenge = await http.post("/v1/login", json={"email": "secure@demo.local", "password": "demo"})
            assert challenge.json().get("twoFactor"), challenge.text
            check_http("/v1/login", "post", challenge)
            check_http("/v1/directory", "get", await http.get("/v1/directory", headers=bearer))
            check_http("/v1/directory", "get", await http.get("/v1/directory", params={"limit": 2}, headers=bearer))
            # refusals
            check_http("/v1/login", "post", await http.post("/v1/login", json={}))
            check_http("/v1/login", "post", await http.post("/v1/login", json={"email": "a", "password": "b"}))
            check_http("/v1/login", "post", await http.post("/v1/login", content=b"x", headers={"content-type": "x"}))
            check_http("/v1/login", "post", await http.post("/v1/login", json={"password": "x" * 70_000}))
            check_http("/v1/2fa", "post", await http.post("/v1/2fa", json={"nonce": "n", "code": "1"}))
            check_http("/v1/login", "post", await http.post("/v1/login", json={"email": "a", "password": "b"},
                                                            headers={"origin": "https://evil.example"}))  # fmt: skip
            check_http("/v1/directory", "get", await http.get("/v1/directory"))
            check_http("/v1/directory", "get", await http.get("/v1/directory", params={"limit": 0}, headers=bearer))
            check_http("/v1/history", "get", await http.get("/v1/history", params={"limit": 500}, headers=bearer))
            check_http("/v1/logout", "post", await http.post("/v1/logout", headers=bearer))
            check_http("/v1/logout", "post", await http.post("/v1/logout", headers=bearer))  # 401 now
            gone = await http.get("/v1/nowhere")
            assert gone.status_code == 404
            jsonschema.validate(gone.json(), {**OPENAPI, "$ref": "#/components/schemas/Error"})
            wrong_method = await http.delete("/v1/history")
            assert wrong_method.status_code == 405
            jsonschema.validate(wrong_method.json(), {**OPENAPI, "$ref": "#/components/schemas/Error"})
        finally:
            await alice.close()


async def test_a_locked_login_validates_with_its_retry_after() -> None:
    async with (
        serving(failures_per_account=0, lockout_seconds=30) as server,
        httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as http,
    ):
        wrong = {"email": "agent@demo.local", "password": "wrong"}
        for _ in range(3):
            response = await http.post("/v1/login", json=wrong)
            check_http("/v1/login", "post", response)
        assert response.status_code == 429


class Recording(Wire):
    """A Wire that validates every frame it sends and every message it receives (and notes their types)."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.types: set[str] = set()

    async def send(self, frame: dict[str, Any] | str | bytes) -> None:
        if isinstance(frame, dict):
            check_wire("ClientFrame", frame)
        await super().send(frame)

    async def recv(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        message = await super().recv(timeout)
        check_wire("ServerMessage", message)
        self.types.add(str(message.get("type")))
        result = message.get("result")
        if isinstance(result, dict) and "sessionId" in result:
            check_wire("SessionOpened", result)
        return message


async def test_every_websocket_message_of_a_working_session_validates(cti_server) -> None:
    server = await cti_server(no_answer_timeout=3600)
    server.hub.replay.per_session = 2_000
    wire = await Recording.open(server.url)
    try:
        await wire.start(await login_token(server.url, "supervisor@demo.local"))
        assert (await wire.request("subscribe", node="user:1001"))["ok"]
        assert (await wire.request("subscribe", node="queue:sales"))["ok"]  # its queueFigures follow at once
        leg = server.exchange.inbound_call("+12025550143", "1001", "Ada")
        await wire.request("hold", callId=leg.id)  # refused (INFO): an error reply and an activity event
        await wire.request("park", callId=leg.id, slot=99)
        await wire.request("calls")
        await wire.request("get_call", callId=leg.id)
        await wire.request("transfer", callId="nope", destination="1002")
        await wire.request("subscriptions")
        await wire.ping()
        session = server.hub.sessions[wire.session_id]
        await wire.events_until(session.connector.last_seq)
        assert "queueFigures" in wire.types
        last = wire.events[-1]["seq"]
        await wire.close()
        await wait_for(lambda: not session.connections, "the server notices")
        server.exchange.remote_hangup(leg.id)
        back = await Recording.open(server.url)
        try:  # a replay
            reply = await back.request("restore_session", token=wire.session_token, sessionId=wire.session_id,
                                        lastSeq=last, protocol=1)  # fmt: skip
            assert reply["result"]["present"] == "replay"
            await back.events_until(session.connector.last_seq)
        finally:
            await back.close()
        await wait_for(lambda: not session.connections, "the server notices")
        for n in range(5):
            server.exchange.remote_hangup(server.exchange.inbound_call(f"+1202555015{n}", "1001").id)
        again = await Recording.open(server.url)
        try:  # too far behind: the snapshot with what ended
            reply = await again.request("restore_session", token=wire.session_token, sessionId=wire.session_id,
                                         lastSeq=last)  # fmt: skip
            assert reply["result"]["reason"] == "too_far_behind"
            snapshot = await again.recv()
            assert snapshot["type"] == "snapshot" and snapshot["ended"]
            refused = await again.request("restore_session", token="x", sessionId="y")
            assert refused["ok"] is False
            assert (await again.request("destroy_session"))["ok"]
        finally:
            await again.close()
    finally:
        await wire.close()


@pytest.mark.parametrize(
    "frame",
    [
        {"id": 1, "action": "ping", "extra": 1},
        {"id": 1, "action": "create_session"},
        {"id": 1, "action": "create_session", "token": "t", "protocol": 2},
        {"id": 1, "action": "restore_session", "token": "t", "sessionId": "s", "lastSeq": -1},
        {"id": 1, "action": "hold"},
        {"id": 1, "action": "hold", "callId": 5},
        {"id": 1, "action": "park", "callId": "c", "slot": "4"},
        {"id": 1, "action": "call", "destination": "1002", "from": "1001"},
        {"id": 1.5, "action": "ping"},
        {"id": 1, "action": "fly"},
    ],
)
async def test_what_the_schema_refuses_the_server_refuses(cti_server, frame: dict[str, Any]) -> None:
    server = await cti_server()
    assert not wire_valid("ClientFrame", frame)
    wire = await Wire.open(server.url)
    try:
        await wire.start(await login_token(server.url, "agent@demo.local"))
        await wire.send(frame)
        reply = await wire.reply()
        assert reply["ok"] is False and reply["status"] == 400, reply
    finally:
        await wire.close()


def test_the_clients_own_frames_validate() -> None:
    client = ClientSession()
    check_wire("ClientFrame", json.loads(client.create("login-token")))
    client.session_id, client.token = "s1", "tok"
    check_wire("ClientFrame", json.loads(client.restore()))
    check_wire("ClientFrame", json.loads(client.destroy()))
    for command in (
        cmd.Dial("+12025550143"),
        cmd.Hold("c1"),
        cmd.Park("c1", None),
        cmd.Park("c1", 3),
        cmd.Merge("c1", "c2"),
        cmd.SupervisedTransfer("c1", "1002", 2.5),
        cmd.Subscribe("queue:sales"),
        cmd.SetAutoAnswer(True),
    ):
        check_wire("ClientFrame", json.loads(client.command(command)[1]))
