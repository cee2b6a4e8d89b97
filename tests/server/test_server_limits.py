"""The transport's limits (issue 14, item 2): enforced where the bytes arrive, before anything is buffered.

Each test talks raw bytes to a server on 127.0.0.1 so that it can lie the way an attacker would: a frame header
that announces 16 MiB, a compressed frame nobody agreed to, a body that never ends, a head that never ends.
"""

from __future__ import annotations

import asyncio
import json

import httpx
from limited_server import serving
from wire_attacks import BOMB, OPCODE_TEXT, Raw, deflated, frame
from ws_helpers import Wire, login_token, wait_for

from cti_tui import cli
from cti_tui.protocol.session import MAX_FRAME_BYTES
from cti_tui.server import limits as limits_module
from cti_tui.server.limits import ServerLimits


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def ping_frame(size: int) -> bytes:
    """A ping request of exactly ``size`` bytes of JSON (its id makes up the size: ping takes no other field)."""
    empty = json.dumps({"id": "", "action": "ping"}).encode()
    return json.dumps({"id": "x" * (size - len(empty)), "action": "ping"}).encode()


async def test_a_message_over_the_limit_is_refused_from_its_header(cti_server) -> None:
    """The header announces 16 MiB; the server closes with 1009 without waiting for (or keeping) the payload.
    (Before: uvicorn's default 16 MiB limit let it buffer the whole frame, then the app answered 400.)"""
    server = await cti_server()
    raw = await Raw.connect(port_of(server.url))
    try:
        assert await raw.upgrade() == 101
        await raw.send(frame(OPCODE_TEXT, b"x" * 1024, length=16 * 1024 * 1024 - 64))
        assert await raw.close_code(timeout=3) == 1009
    finally:
        raw.close()


async def test_the_close_code_reaches_a_client_that_writes_on(cti_server) -> None:
    """The client sends a whole 1 MiB message in one go. The server refuses it from its header, then keeps
    reading (and dropping) for a while instead of closing on unread bytes, whose reset would overtake the close
    frame (the client would see 1006, not 1009). It then closes the connection itself."""
    server = await cti_server()
    for _ in range(5):
        raw = await Raw.connect(port_of(server.url))
        try:
            assert await raw.upgrade() == 101
            raw.writer.write(frame(OPCODE_TEXT, b"x" * (1 << 20)))  # not drained: the kernel sends it all
            await asyncio.sleep(0.2)
            assert await raw.close_code(timeout=3) == 1009
            assert await raw.closed(3)
        finally:
            raw.close()


async def test_the_limit_is_the_protocols_frame_limit(cti_server) -> None:
    server = await cti_server()
    wire = await Wire.open(server.url)
    try:
        await wire.send(ping_frame(MAX_FRAME_BYTES).decode())  # exactly at the limit: answered
        assert (await wire.reply("x" * (MAX_FRAME_BYTES - 28)))["result"] == "pong"
        await wire.send(ping_frame(MAX_FRAME_BYTES + 1).decode())
        await asyncio.wait_for(wire.ws.wait_closed(), 5)
        assert wire.ws.close_code == 1009
    finally:
        await wire.close()


async def test_fragments_count_together(cti_server) -> None:
    """Many small fragments of one message are one message: 1009 once they add up past the limit."""
    server = await cti_server()
    raw = await Raw.connect(port_of(server.url))
    try:
        assert await raw.upgrade() == 101
        piece = b"x" * 16_384
        await raw.send(frame(OPCODE_TEXT, piece, fin=False))
        for _ in range(4):
            await raw.send(frame(0x0, piece, fin=False))
        assert await raw.close_code(timeout=3) == 1009
    finally:
        raw.close()


async def test_compression_is_not_negotiated_and_a_compressed_frame_is_refused(cti_server) -> None:
    """permessage-deflate is off: the offer is declined, and a frame with RSV1 set anyway is a protocol error
    (1002). (Before: deflate was agreed, and a 16 KB frame inflated to 16 MiB in the server.)"""
    server = await cti_server()
    raw = await Raw.connect(port_of(server.url))
    try:
        assert await raw.upgrade(extensions="permessage-deflate; client_max_window_bits") == 101
        assert raw.negotiated == ""
        await raw.send(frame(OPCODE_TEXT, BOMB, rsv1=True))
        assert await raw.close_code(timeout=3) == 1002
    finally:
        raw.close()
    # the ordinary client offers compression too and simply goes without
    wire = await Wire.open(server.url)
    try:
        assert wire.ws.protocol.extensions == []
        await wire.ping()
    finally:
        await wire.close()


async def test_with_compression_on_inflating_stops_at_the_limit() -> None:
    async with serving(ServerLimits(ws_deflate=True)) as server:
        raw = await Raw.connect(port_of(server.url))
        try:
            assert await raw.upgrade(extensions="permessage-deflate") == 101
            assert raw.negotiated.startswith("permessage-deflate")
            small = deflated(b'{"id": 1, "action": "ping"}')
            await raw.send(frame(OPCODE_TEXT, small, rsv1=True))
            await raw.send(frame(OPCODE_TEXT, BOMB, rsv1=True))  # 16 MiB once inflated
            assert await raw.close_code(timeout=3) == 1009  # the pong came first, uncompressed or not
        finally:
            raw.close()


# --- HTTP bodies ------------------------------------------------------------------------------------------


def post_head(length: int | None = None, content_type: str = "application/json") -> bytes:
    framing = f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked"
    return (
        f"POST /api/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n{framing}\r\n\r\n"
    ).encode()


def chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def refusal(status: int, headers: dict[str, str], body: bytes) -> tuple[int, str]:
    data = json.loads(body)
    assert data["status"] == status and data["message"], data
    assert headers["content-type"] == "application/json", headers
    return status, data["code"]


async def test_a_body_over_the_limit_is_refused_while_it_streams(cti_server) -> None:
    """A chunked body that never ends: 413 as soon as it passes the limit, not at its end (before: the whole
    body was read first; 5 x 100 MiB bodies took the server to 679 MiB)."""
    server = await cti_server()
    raw = await Raw.connect(port_of(server.url))
    try:
        await raw.send(post_head())
        piece = b" " * 16_384
        sent = 0
        while sent <= MAX_FRAME_BYTES + len(piece):  # a little past the limit, and never the final chunk
            await raw.send(chunk(piece))
            sent += len(piece)
        status, headers, body = await raw.response(timeout=3)
        assert refusal(status, headers, body) == (413, "payload_too_large")
        assert headers["connection"] == "close"
        assert await raw.closed(3)
    finally:
        raw.close()


async def test_a_declared_length_over_the_limit_is_refused_before_the_body(cti_server) -> None:
    server = await cti_server()
    raw = await Raw.connect(port_of(server.url))
    try:
        await raw.send(post_head(length=100 * 1024 * 1024))
        assert refusal(*await raw.response(timeout=3)) == (413, "payload_too_large")
    finally:
        raw.close()


async def test_a_body_must_arrive_in_time() -> None:
    async with serving(ServerLimits(body_timeout=0.3)) as server:
        raw = await Raw.connect(port_of(server.url))
        try:
            await raw.send(post_head(length=100) + b'{"email": ')
            assert refusal(*await raw.response(timeout=3)) == (408, "request_timeout")
        finally:
            raw.close()


# --- time limits on connections ---------------------------------------------------------------------------


async def test_a_connection_must_send_its_request_head_in_time() -> None:
    """Silent, or a head that never ends: closed after ``head_timeout`` (before: kept open for ever)."""
    async with serving(ServerLimits(head_timeout=0.3)) as server:
        silent = await Raw.connect(port_of(server.url))
        slow = await Raw.connect(port_of(server.url))
        try:
            await slow.send(b"GET /api/directory HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            assert await silent.closed(3)
            assert await slow.closed(3)
            assert len(server.parts.gate.open) == 0
            # an ordinary request is not affected, nor is the next one on the same connection
            async with httpx.AsyncClient(base_url=server.url, timeout=5) as http:
                for _ in range(2):
                    assert (await http.get("/api/directory")).status_code == 401
                    await asyncio.sleep(0.4)
        finally:
            silent.close()
            slow.close()


async def test_a_socket_without_a_session_is_closed_in_time() -> None:
    async with serving(ServerLimits(session_timeout=0.6)) as server:
        idle = await Wire.open(server.url)
        pinging = await Wire.open(server.url)  # frames without a session do not extend it
        working = await Wire.open(server.url)
        try:
            await working.start(await login_token(server.url, "agent@demo.local"))
            for _ in range(3):  # answered, for as long as the time lasts
                await pinging.ping()
                await asyncio.sleep(0.1)
            for wire in (idle, pinging):
                await asyncio.wait_for(wire.ws.wait_closed(), 3)
                assert wire.ws.close_code == 1008, wire.ws.close_reason
            await working.ping()  # a socket with a session stays
        finally:
            for wire in (idle, pinging, working):
                await wire.close()


# --- connection caps ----------------------------------------------------------------------------------------


async def refused_with_503(raw: Raw, websocket: bool) -> None:
    if websocket:
        key = "dGhlIHNhbXBsZSBub25jZQ=="
        request = (
            "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
    else:
        request = "GET /api/directory HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    await raw.send(request.encode())
    status, headers, body = await raw.response()
    assert refusal(status, headers, body) == (503, "too_many_connections")
    assert int(headers["retry-after"]) > 0
    assert await raw.closed(3)


async def test_connections_per_address_are_capped_and_others_are_not_affected() -> None:
    """The 4th connection from one address is refused with 503 (WebSocket handshake or HTTP alike) while
    another address still gets in; a closed connection frees its place. (Before: no cap at all.)"""
    async with serving(ServerLimits(max_connections_per_address=3, max_connections=10)) as server:
        port = port_of(server.url)
        wires = [await Wire.open(server.url) for _ in range(3)]
        try:
            for websocket in (True, False):
                raw = await Raw.connect(port)
                try:
                    await refused_with_503(raw, websocket)
                finally:
                    raw.close()
            other = await Raw.connect(port, source="127.0.0.2")
            try:
                assert await other.upgrade() == 101
            finally:
                other.close()
            await wires.pop().close()
            await wait_for(lambda: server.parts.gate.by_address.get("127.0.0.1") == 2, "the place to be freed")
            wires.append(await Wire.open(server.url))
            await wires[-1].ping()
        finally:
            for wire in wires:
                await wire.close()


async def test_connections_in_all_are_capped() -> None:
    async with serving(ServerLimits(max_connections_per_address=3, max_connections=4)) as server:
        port = port_of(server.url)
        wires = [await Wire.open(server.url) for _ in range(3)]
        raws = [await Raw.connect(port, source="127.0.0.2")]
        try:
            assert await raws[0].upgrade() == 101
            raws.append(await Raw.connect(port, source="127.0.0.3"))
            await refused_with_503(raws[-1], websocket=True)
            assert server.parts.gate.refused == 1
        finally:
            for raw in raws:
                raw.close()
            for wire in wires:
                await wire.close()


async def test_refused_connections_wait_a_bounded_time_in_bounded_numbers() -> None:
    """A refused connection that sends nothing is closed at the head timeout; past ``max_refusing`` of them
    waiting, a new one is dropped at once."""
    limits = ServerLimits(max_connections=1, max_refusing=2, head_timeout=1.0)
    async with serving(limits) as server:
        port = port_of(server.url)
        wire = await Wire.open(server.url)
        waiting = [await Raw.connect(port) for _ in range(2)]
        dropped = await Raw.connect(port)
        try:
            assert await dropped.closed(0.5)
            assert not await waiting[0].closed(0.1)
            assert server.parts.gate.refusing == 2
            for raw in waiting:
                assert await raw.closed(3)
            await wait_for(lambda: server.parts.gate.refusing == 0, "the refused connections to be gone")
            await wire.ping()
        finally:
            dropped.close()
            for raw in waiting:
                raw.close()
            await wire.close()


# --- the flags ------------------------------------------------------------------------------------------------


def test_serve_flags_set_the_limits(capsys) -> None:
    flags = "--max-connections 300 --max-connections-per-address 50 --handshake-timeout 3 --keep-alive-timeout 2"
    origins = "--allow-origin https://a.example --allow-origin https://b.example:8443"
    args = cli.build_parser().parse_args(["serve", *flags.split(), *origins.split(), "--ws-deflate"])
    limits = cli._server_limits(args)
    assert limits is not None
    assert (limits.max_connections, limits.max_connections_per_address) == (300, 50)
    assert (limits.head_timeout, limits.body_timeout, limits.session_timeout) == (3, 3, 3)
    assert (limits.keep_alive_timeout, limits.ws_deflate) == (2, True)
    assert limits.allowed_origins == {"https://a.example", "https://b.example:8443"}
    defaults = cli._server_limits(cli.build_parser().parse_args(["serve"]))
    assert defaults is not None and defaults.max_message_bytes == MAX_FRAME_BYTES and not defaults.ws_deflate
    assert defaults.allowed_origins == frozenset()
    for flag in ("--max-connections", "--handshake-timeout", "--keep-alive-timeout"):
        assert cli.main(["serve", flag, "0"]) == 2
        assert f"{flag} must be positive" in capsys.readouterr().err


def test_the_connection_cap_fits_the_descriptors_the_process_may_open(monkeypatch) -> None:
    monkeypatch.setattr(limits_module.resource, "getrlimit", lambda which: (1024, 1024))
    monkeypatch.setattr(limits_module.resource, "setrlimit", lambda which, value: None)
    fitted, note = ServerLimits(max_connections=10_000).fitted_to_descriptors()
    assert fitted.max_connections == 1024 - limits_module.RESERVED_FDS and note and "ulimit -n" in note
    monkeypatch.setattr(limits_module.resource, "getrlimit", lambda which: (1024, 65536))
    raised: list[tuple[int, int]] = []
    monkeypatch.setattr(limits_module.resource, "setrlimit", lambda which, value: raised.append(value))
    fitted, note = ServerLimits(max_connections=10_000).fitted_to_descriptors()
    assert fitted.max_connections == 10_000 and note is None
    assert raised == [(10_000 + limits_module.RESERVED_FDS, 65536)]
