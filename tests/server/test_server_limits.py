"""The transport's limits (issue 14, item 2): enforced where the bytes arrive, before anything is buffered.

Each test talks raw bytes to a server on 127.0.0.1 so that it can lie the way an attacker would: a frame header
that announces 16 MiB, a compressed frame nobody agreed to, a body that never ends, a head that never ends.
"""

from __future__ import annotations

import asyncio
import json

from limited_server import serving
from wire_attacks import BOMB, OPCODE_TEXT, Raw, deflated, frame
from ws_helpers import Wire

from cti_tui.protocol.session import MAX_FRAME_BYTES
from cti_tui.server.limits import ServerLimits


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def ping_frame(size: int) -> bytes:
    """A ping request of exactly ``size`` bytes of JSON."""
    empty = json.dumps({"id": 1, "action": "ping", "pad": ""}).encode()
    return json.dumps({"id": 1, "action": "ping", "pad": "x" * (size - len(empty))}).encode()


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


async def test_the_limit_is_the_protocols_frame_limit(cti_server) -> None:
    server = await cti_server()
    wire = await Wire.open(server.url)
    try:
        await wire.send(ping_frame(MAX_FRAME_BYTES).decode())  # exactly at the limit: answered
        assert (await wire.reply(1))["result"] == "pong"
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
