"""Hostile clients on raw sockets, for the limit tests: exact WebSocket frames
(compressed bits set or not, lengths that lie), bodies that never end, heads that never finish.

Nothing here talks to anything but the given port on 127.0.0.1 (or another 127.0.0.0/8 source address), and
every read waits with a deadline.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import struct
import zlib
from dataclasses import dataclass

HOST = "127.0.0.1"
OPCODE_TEXT, OPCODE_CLOSE = 0x1, 0x8


def frame(opcode: int, payload: bytes, *, rsv1: bool = False, fin: bool = True, length: int | None = None) -> bytes:
    """A masked client frame (mask key 0, so the payload goes as is); ``length`` lies about its size."""
    size = len(payload) if length is None else length
    head = bytes([(0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode])
    if size < 126:
        head += bytes([0x80 | size])
    elif size < 1 << 16:
        head += bytes([0x80 | 126]) + struct.pack("!H", size)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", size)
    return head + b"\0\0\0\0" + payload


def deflated(data: bytes) -> bytes:
    """``data`` as a permessage-deflate payload (raw deflate, the final empty block's tail removed)."""
    compressor = zlib.compressobj(wbits=-15)
    out = compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)
    return out[:-4] if out.endswith(b"\x00\x00\xff\xff") else out


@dataclass
class Raw:
    """One raw connection."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    head: bytes = b""  # the server's response head, once read

    @classmethod
    async def connect(cls, port: int, source: str | None = None) -> Raw:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(HOST, port, local_addr=(source, 0) if source else None), 5
        )
        return cls(reader, writer)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def response(self, timeout: float = 5.0) -> tuple[int, dict[str, str], bytes]:
        """An HTTP response: status, headers (lower-case names), body (by Content-Length)."""
        head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), timeout)
        self.head = head
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
        length = int(headers.get("content-length", "0"))
        body = await asyncio.wait_for(self.reader.readexactly(length), timeout) if length else b""
        return status, headers, body

    async def upgrade(self, path: str = "/ws", extensions: str | None = None, origin: str | None = None) -> int:
        """The WebSocket handshake; the response status (101 when it opened)."""
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET {path} HTTP/1.1",
            f"Host: {HOST}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
        ]
        if extensions:
            lines.append(f"Sec-WebSocket-Extensions: {extensions}")
        if origin:
            lines.append(f"Origin: {origin}")
        await self.send(("\r\n".join(lines) + "\r\n\r\n").encode())
        status, _, _ = await self.response()
        return status

    @property
    def negotiated(self) -> str:
        """The Sec-WebSocket-Extensions the server accepted ('' for none)."""
        for line in self.head.decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            if name.strip().lower() == "sec-websocket-extensions":
                return value.strip()
        return ""

    async def close_code(self, timeout: float = 5.0) -> int | None:
        """Read server frames until a close frame: its code (None when the connection ends without one).
        Raises TimeoutError when neither comes in time."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            while True:
                async with asyncio.timeout_at(deadline):
                    head = await self.reader.readexactly(2)
                    size = head[1] & 0x7F
                    if size == 126:
                        (size,) = struct.unpack("!H", await self.reader.readexactly(2))
                    elif size == 127:
                        (size,) = struct.unpack("!Q", await self.reader.readexactly(8))
                    payload = await self.reader.readexactly(size)
                if head[0] & 0x0F == OPCODE_CLOSE:
                    return struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
        except (asyncio.IncompleteReadError, ConnectionError):
            return None

    async def closed(self, timeout: float = 5.0) -> bool:
        """True once the server has ended the connection (EOF or reset) within ``timeout``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            while True:
                async with asyncio.timeout_at(deadline):
                    if not await self.reader.read(65536):
                        return True
        except ConnectionError:
            return True
        except TimeoutError:
            return False

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


BOMB = deflated(b" " * (16 * 1024 * 1024 - 64))  # 16 MiB of spaces in ~16 KB
