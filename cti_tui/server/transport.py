"""Connection limits at the transport: how many connections, from whom, and how long a request head may take.

uvicorn counts nothing per address and its ``limit_concurrency`` lets WebSocket upgrades through, nor does
it time out a connection that never finishes its first request head. Those checks need the connection
itself, before any ASGI app sees a request, so they live here, in the two uvicorn protocol classes that
``cti-tui serve`` uses (h11 for HTTP, websockets' Sans-I/O layer for WebSockets), subclassed for one
server's :class:`ConnectionGate`. Every override of uvicorn internals is in this module, and
:func:`check_uvicorn` refuses to start on a uvicorn whose classes no longer look like the ones these
overrides were written for.

The WebSocket protocol also writes the server's frames straight to its transport (:meth:`write_frames`,
offered to the app as the ASGI scope extension ``FRAME_WRITER``): several frames in one write, no ASGI
``send`` and no await per frame.

A connection over a cap gets ``503 too_many_connections`` (JSON, ``Retry-After``) once its request head has
arrived — a WebSocket client sees its handshake refused — and is closed; it is never handed to the app.
"""

from __future__ import annotations

import asyncio
import json
import struct
import time
from collections.abc import Callable
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request
from websockets.protocol import State

REFUSAL_RETRY_AFTER = 5  # seconds a refused client is told to wait
LINGER_SECONDS = 1.0  # how long a WebSocket closed for a bad frame is still read (and discarded) ...
LINGER_BYTES = 1 << 20  # ... and how much of it
FRAME_WRITER = "cti_tui.frame_writer"  # the scope extension holding the protocol that writes frames directly

_MEDIUM = struct.Struct("!BBH")  # a frame header with a 16-bit length
_LONG = struct.Struct("!BBQ")  # ... and with a 64-bit one

# what the overrides below call or replace, by class; checked once, when a server is built
_RELIED_ON = {
    H11Protocol: ("connection_made", "connection_lost", "data_received", "on_response_complete"),
    WebSocketsSansIOProtocol: (
        "connection_lost",
        "data_received",
        "handle_parser_exception",
        "handle_connect",
        "resume_writing",
    ),
}


def check_uvicorn() -> None:
    """Raise RuntimeError when uvicorn's protocol classes lack what this module overrides."""
    for cls, names in _RELIED_ON.items():
        missing = [name for name in names if not callable(getattr(cls, name, None))]
        if missing:
            raise RuntimeError(
                f"uvicorn {uvicorn.__version__}: {cls.__name__} has no {', '.join(missing)}; "
                "cti_tui/server/transport.py needs updating for this version"
            )


class NewConnectionRate:
    """New connections per address: ``rate`` a second, in bursts of up to ``burst`` (a token bucket per
    address). A handshake costs the server about a millisecond (HTTP parsing, the upgrade, routing, a task);
    one address opening hundreds a second took the loop from every logged-in client. What is over the rate is
    dropped at once, before a byte is read. Buckets that are full again are forgotten (at most ``max_addresses``
    are kept; then the fullest go first)."""

    def __init__(
        self, rate: float, burst: float, max_addresses: int = 50_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.max_addresses = max_addresses
        self.clock = clock
        self.buckets: dict[str, tuple[float, float]] = {}  # address -> (tokens, when counted)
        self.dropped = 0

    def allow(self, address: str) -> bool:
        now = self.clock()
        tokens, then = self.buckets.get(address, (self.burst, now))
        tokens = min(self.burst, tokens + (now - then) * self.rate)
        if tokens < 1.0:
            self.buckets[address] = (tokens, now)
            self.dropped += 1
            return False
        self.buckets[address] = (tokens - 1.0, now)
        if len(self.buckets) > self.max_addresses:
            self._forget(now)
        return True

    def _forget(self, now: float) -> None:
        full = [a for a, (t, then) in self.buckets.items() if t + (now - then) * self.rate >= self.burst]
        for address in full:
            del self.buckets[address]
        while len(self.buckets) > self.max_addresses:  # all busy: the oldest counted go
            del self.buckets[min(self.buckets, key=lambda a: self.buckets[a][1])]


class ConnectionGate:
    """Open connections, in all and per address, and new ones per address and second. A connection is counted
    from the moment it is accepted to the moment it is lost, whichever protocol (HTTP, then WebSocket) holds
    it by then."""

    def __init__(
        self, total: int, per_address: int, max_refusing: int = 64, rate: NewConnectionRate | None = None
    ) -> None:
        self.total = total
        self.per_address = per_address
        self.max_refusing = max_refusing
        self.rate = rate
        self.open: dict[asyncio.BaseTransport, str] = {}
        self.by_address: dict[str, int] = {}
        self.refusing = 0
        self.refused = 0  # in all, for the log and the tests

    def too_fast(self, address: str) -> bool:
        """Over its rate of new connections: to be dropped without reading anything."""
        return self.rate is not None and not self.rate.allow(address)

    def admit(self, transport: asyncio.BaseTransport, address: str) -> bool:
        if len(self.open) >= self.total or self.by_address.get(address, 0) >= self.per_address:
            self.refused += 1
            return False
        self.open[transport] = address
        self.by_address[address] = self.by_address.get(address, 0) + 1
        return True

    def release(self, transport: asyncio.BaseTransport) -> None:
        address = self.open.pop(transport, None)
        if address is None:
            return
        left = self.by_address[address] - 1
        if left:
            self.by_address[address] = left
        else:
            del self.by_address[address]


def refusal_body(status: int, code: str, message: str) -> bytes:
    return json.dumps({"status": status, "code": code, "message": message}).encode()


def guarded_protocols(
    gate: ConnectionGate, head_timeout: float
) -> tuple[type[H11Protocol], type[WebSocketsSansIOProtocol]]:
    """uvicorn's HTTP and WebSocket protocol classes, counting their connections in ``gate`` and closing an
    HTTP connection whose request head has not arrived ``head_timeout`` seconds after it opened (or after
    its previous response)."""

    class GuardedH11Protocol(H11Protocol):
        _head_timer: asyncio.TimerHandle | None = None
        _refusing = False

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            address = self.client[0] if self.client else ""
            if gate.too_fast(address):
                transport.abort()  # nothing read, nothing answered: the cheapest refusal there is
                return
            if not gate.admit(transport, address):
                if gate.refusing >= gate.max_refusing:
                    transport.abort()  # too many waiting already: no answer at all
                    return
                self._refusing = True
                gate.refusing += 1
            self._arm_head_timer()

        def connection_lost(self, exc: Exception | None) -> None:
            self._cancel_head_timer()
            if self._refusing:
                self._refusing = False
                gate.refusing -= 1
            gate.release(self.transport)
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if self._refusing:
                self._refuse_when_head_arrives(data)
                return
            super().data_received(data)
            if self.transport.get_protocol() is not self or self.conn.their_state is not h11.IDLE:
                self._cancel_head_timer()  # upgraded to a WebSocket, or the head is in: the app's now

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
                self._arm_head_timer()  # the next request's head gets the same time

        # --- the head timer ---------------------------------------------------------------------------

        def _arm_head_timer(self) -> None:
            self._cancel_head_timer()
            self._head_timer = self.loop.call_later(head_timeout, self._head_timed_out)

        def _cancel_head_timer(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_timed_out(self) -> None:
            self._head_timer = None
            if self.transport.is_closing() or self.transport.get_protocol() is not self:
                return
            if self.conn.their_state is h11.IDLE:  # still no complete request head
                self.transport.close()

        # --- refusing ---------------------------------------------------------------------------------

        def _refuse_when_head_arrives(self, data: bytes) -> None:
            try:
                self.conn.receive_data(data)
                event: Any = self.conn.next_event()
            except h11.RemoteProtocolError:
                self.transport.close()
                return
            if event is h11.NEED_DATA:
                return
            self._cancel_head_timer()
            body = refusal_body(503, "too_many_connections", "too many connections; try again later")
            headers = [
                ("content-type", "application/json"),
                ("content-length", str(len(body))),
                ("retry-after", str(REFUSAL_RETRY_AFTER)),
                ("connection", "close"),
            ]
            try:
                self.transport.write(self.conn.send(h11.Response(status_code=503, headers=headers)) or b"")
                self.transport.write(self.conn.send(h11.Data(data=body)) or b"")
                self.transport.write(self.conn.send(h11.EndOfMessage()) or b"")
            except h11.LocalProtocolError:
                pass
            self.transport.close()

    class GuardedWebSocketProtocol(WebSocketsSansIOProtocol):
        _lingering = False
        _discarded = 0
        _resumed: Callable[[], None] | None = None

        def handle_connect(self, event: Request) -> None:
            super().handle_connect(event)
            scope = getattr(self, "scope", None)  # none when the handshake was refused
            if scope is not None:
                scope["extensions"][FRAME_WRITER] = self

        # --- writing frames directly (the FrameWriter of cti_tui.server.outbox) -------------------------

        def ready(self) -> bool:
            # (a close received, a lost connection, a failed parse: each closes the transport or sets close_sent)
            return self.writable.is_set() and not self.close_sent and not self.transport.is_closing()

        def write_frames(self, frames: list[bytes]) -> None:
            """Each UTF-8 JSON text as one unmasked text frame (RFC 6455 §5.2), all in one write. With an
            extension negotiated (permessage-deflate) websockets' own protocol object frames them."""
            if self.conn.extensions:
                if self.conn.state is State.OPEN:
                    for frame in frames:
                        self.conn.send_text(frame)
                    self.transport.write(b"".join(self.conn.data_to_send()))
                return
            parts: list[bytes] = []
            for frame in frames:
                size = len(frame)
                if size < 126:
                    parts.append(bytes((0x81, size)))
                elif size < 65536:
                    parts.append(_MEDIUM.pack(0x81, 126, size))
                else:
                    parts.append(_LONG.pack(0x81, 127, size))
                parts.append(frame)
            self.transport.write(b"".join(parts))

        def on_resume(self, callback: Callable[[], None]) -> None:
            self._resumed = callback

        def resume_writing(self) -> None:
            super().resume_writing()
            if self._resumed is not None:
                self._resumed()

        def connection_lost(self, exc: Exception | None) -> None:
            gate.release(self.transport)
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if not self._lingering:
                super().data_received(data)
                return
            self._discarded += len(data)
            if self._discarded > LINGER_BYTES:
                self.transport.close()  # it is not reading what we sent: no more courtesy

        def handle_parser_exception(self) -> None:
            """A frame broke a limit or the protocol (1009, 1002, 1007): send the close frame, then half-close
            and discard what still comes, for up to ``LINGER_SECONDS`` and ``LINGER_BYTES``, before closing.
            uvicorn closes at once, and closing a socket with unread bytes makes the kernel send a reset,
            which can overtake the close frame: the client then sees 1006 instead of the code that says what
            it did wrong."""
            if self._lingering:
                return
            self._lingering = True
            assert self.conn.close_sent is not None
            code, reason = self.conn.close_sent.code, self.conn.close_sent.reason
            self.queue.put_nowait({"type": "websocket.disconnect", "code": code, "reason": reason})
            self.transport.write(b"".join(self.conn.data_to_send()))
            self.close_sent = True
            if self.transport.can_write_eof():
                self.transport.write_eof()
            if self.read_paused:  # keep reading, so that nothing is left unread when it closes
                self.read_paused = False
                self.transport.resume_reading()
            if self.close_timer is not None:
                self.close_timer.cancel()
            self.close_timer = self.loop.call_later(LINGER_SECONDS, self.transport.close)

    return GuardedH11Protocol, GuardedWebSocketProtocol
