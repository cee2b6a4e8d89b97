"""Raw clients for the server tests: exact HTTP requests (httpx) and exact WebSocket frames (websockets).

Everything waits with a deadline; nothing talks to anything but the test's own server on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable
from typing import Any

import httpx
import websockets
from websockets.asyncio.client import ClientConnection

TIMEOUT = 5.0


async def wait_for(predicate: Callable[[], object], what: str, timeout: float = TIMEOUT) -> None:
    """Poll ``predicate`` until it is true; fail after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def ws_url(base: str) -> str:
    assert base.startswith("http://127.0.0.1:"), base
    return "ws://" + base[len("http://") :] + "/ws"


async def http_login(base: str, email: str, password: str = "demo") -> httpx.Response:
    async with httpx.AsyncClient(base_url=base, timeout=TIMEOUT) as http:
        return await http.post("/api/login", json={"email": email, "password": password})


async def login_token(base: str, email: str, password: str = "demo") -> str:
    response = await http_login(base, email, password)
    assert response.status_code == 200, response.text
    return response.json()["token"]


class Wire:
    """One raw WebSocket: send frames, read messages. Events read while waiting for a reply are kept."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.events: list[dict[str, Any]] = []
        self.snapshots: list[dict[str, Any]] = []
        self.ids = itertools.count(1)
        self.session_id: str | None = None
        self.session_token: str | None = None

    @classmethod
    async def open(cls, base: str, **options: Any) -> Wire:
        ws = await websockets.connect(ws_url(base), open_timeout=TIMEOUT, max_size=2**22, **options)
        return cls(ws)

    async def send(self, frame: dict[str, Any] | str | bytes) -> None:
        await self.ws.send(json.dumps(frame) if isinstance(frame, dict) else frame)

    async def recv(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        raw = await asyncio.wait_for(self.ws.recv(), timeout)
        message = json.loads(raw)
        assert isinstance(message, dict), message
        return message

    def _keep(self, message: dict[str, Any]) -> None:
        if message.get("type") == "event":
            self.events.append(message)
        elif message.get("type") == "snapshot":
            self.snapshots.append(message)

    async def reply(self, request_id: object = ..., timeout: float = TIMEOUT) -> dict[str, Any]:
        """The next reply (with ``request_id`` when given), keeping the events read on the way."""
        while True:
            message = await self.recv(timeout)
            if message.get("type") == "reply" and (request_id is ... or message.get("id") == request_id):
                return message
            assert message.get("type") != "reply", f"reply out of order: {message}"
            self._keep(message)

    async def request(self, action: str, **fields: Any) -> dict[str, Any]:
        request_id = next(self.ids)
        await self.send({"id": request_id, "action": action, **fields})
        return await self.reply(request_id)

    async def ping(self) -> None:
        reply = await self.request("ping")
        assert reply["ok"] and reply["result"] == "pong", reply

    async def events_until(self, seq: int, timeout: float = TIMEOUT) -> list[dict[str, Any]]:
        """Read until the event with ``seq`` has arrived; returns every event kept so far."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self.events or self.events[-1]["seq"] < seq:
            left = deadline - loop.time()
            if left <= 0:
                raise AssertionError(f"event {seq} never came; last {self.events[-1:]}")
            self._keep(await self.recv(left))
        return self.events

    async def start(self, token: str) -> dict[str, Any]:
        """create_session: the reply's result, after the snapshot that follows it."""
        reply = await self.request("create_session", token=token)
        assert reply["ok"], reply
        snapshot = await self.recv()
        assert snapshot["type"] == "snapshot", snapshot
        self.snapshots.append(snapshot)
        self.session_id = reply["result"]["sessionId"]
        self.session_token = reply["result"]["token"]
        return reply["result"]

    async def close(self) -> None:
        await asyncio.wait_for(self.ws.close(), TIMEOUT)


async def open_session(base: str, email: str) -> Wire:
    wire = await Wire.open(base)
    await wire.start(await login_token(base, email))
    return wire


def seqs(events: list[dict[str, Any]]) -> list[int]:
    return [e["seq"] for e in events]
