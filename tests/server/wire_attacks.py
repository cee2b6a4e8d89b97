"""Hostile clients on raw sockets, for the limit tests and bench/transport_attack.py: exact WebSocket frames
(compressed bits set or not, lengths that lie), bodies that never end, heads that never finish; and the server
subprocess they attack, with its memory read from /proc.

Nothing here talks to anything but the given port on 127.0.0.1 (or another 127.0.0.0/8 source address), and
every read waits with a deadline.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import signal
import socket
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

HOST = "127.0.0.1"
REPO = Path(__file__).resolve().parents[2]
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


# --- the attack of issue 14: 100 unauthenticated sockets, oversized and compressed frames ---------------------

BOMB = deflated(b" " * (16 * 1024 * 1024 - 64))  # 16 MiB of spaces in ~16 KB
OVERSIZED = 16 * 1024 * 1024 - 64  # what an oversized frame announces (under the old 16 MiB limit)
CHUNK = b"\0" * 65536


@dataclass
class AttackResult:
    codes: list[int | None] = field(default_factory=list)  # how each attacker was closed (None: no close frame)
    refused: int = 0  # handshakes refused (503)
    sent_bytes: int = 0
    seconds: float = 0.0


async def _attacker(port: int, result: AttackResult, extensions: str | None, frames: list[bytes]) -> None:
    """Opens a WebSocket and sends ``frames`` until the server closes it; records how it was closed. The close
    frame is read while sending, so that it is not lost to the reset that writing on would cause."""
    raw = await Raw.connect(port)
    try:
        if await raw.upgrade(extensions=extensions) != 101:
            result.refused += 1
            return
        closing = asyncio.ensure_future(raw.close_code(30))
        with contextlib.suppress(ConnectionError):
            for data in frames:
                if closing.done():
                    break
                await raw.send(data)
                result.sent_bytes += len(data)
                await asyncio.sleep(0)
        result.codes.append(await closing)
    finally:
        raw.close()


async def compressed_attacker(port: int, result: AttackResult, rounds: int) -> None:
    """Offers permessage-deflate, then sends a deflate bomb ``rounds`` times (RSV1 set, whatever was agreed)."""
    bomb = frame(OPCODE_TEXT, BOMB, rsv1=True)
    await _attacker(port, result, "permessage-deflate; client_max_window_bits", [bomb] * rounds)


async def oversized_attacker(port: int, result: AttackResult, megabytes: int) -> None:
    """Announces a 16 MiB text frame and streams up to ``megabytes`` of it while the server lets it."""
    head = frame(OPCODE_TEXT, b"", length=OVERSIZED)
    await _attacker(port, result, None, [head] + [CHUNK] * (megabytes * 16))


async def attack(port: int, sockets: int = 100, rounds: int = 4, megabytes: int = 15) -> AttackResult:
    """Half the sockets send deflate bombs, half oversized frames, all at once; bounded in count and bytes."""
    result = AttackResult()
    started = time.monotonic()
    tasks = [
        compressed_attacker(port, result, rounds) if n % 2 else oversized_attacker(port, result, megabytes)
        for n in range(sockets)
    ]
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            result.codes.append(None)
    result.seconds = time.monotonic() - started
    return result


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def serve_subprocess(
    data_dir: Path, *flags: str, checkout: Path = REPO
) -> AsyncIterator[tuple[subprocess.Popen[bytes], str]]:
    """``cti-tui serve`` from ``checkout`` (this one) on a free port of 127.0.0.1; stopped by its PID on the way
    out."""
    port = free_port()
    command = [sys.executable, "-m", "cti_tui", "serve", "--host", HOST, "--port", str(port)]
    command += ["--demo-rate", "0", "--no-history", *flags]
    env = dict(os.environ, CTI_TUI_DATA_DIR=str(data_dir), PYTHONPATH=str(checkout))
    with (data_dir / "serve.log").open("wb") as log:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(command, cwd=checkout, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:
            assert proc.poll() is None, (data_dir / "serve.log").read_text(errors="replace")[-2000:]
            try:
                _, writer = await asyncio.wait_for(asyncio.open_connection(HOST, port), 1)
                writer.close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the server did not listen within 20 s"
                await asyncio.sleep(0.05)
        yield proc, f"http://{HOST}:{port}"
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


class Sampler:
    """A server's VmRSS every 10 ms; kills that server (by its PID) past ``abort_mib``."""

    def __init__(self, proc: subprocess.Popen[bytes], abort_mib: float) -> None:
        self.proc = proc
        self.abort_mib = abort_mib
        self.peak = 0.0
        self.killed = False

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(OSError, LookupError):
                self.peak = max(self.peak, rss_mib(self.proc.pid))
            if self.peak > self.abort_mib and not self.killed:
                self.killed = True
                self.proc.kill()
                return
            await asyncio.sleep(0.01)


def rss_mib(pid: int, field_name: str = "VmRSS") -> float:
    """A process's resident set (VmRSS) or its peak (VmHWM), in MiB, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1]) / 1024
    raise LookupError(field_name)
