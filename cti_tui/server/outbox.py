"""What waits to go out on each WebSocket, and the one pass per loop turn that writes it.

A session's events reach all its connections inside the exchange's fan-out, one session after another. Writing
each frame at once (an ASGI ``send`` and a task wake-up per frame per connection, one syscall each) cost more
than everything else the server did per event. Instead a frame is appended to its connection's list, the
connection is marked in the hub's :class:`Outbox`, and once the loop turn is over one callback writes every
marked connection's frames in one ``transport.write`` each — all the events of one command or one timer, to
every socket, in one pass, with no await per client.

Writing goes through a :class:`FrameWriter` the transport gives (cti_tui.server.transport: uvicorn's WebSocket
protocol). A connection without one (an ASGI server that is not the guarded uvicorn) is drained by its
socket's own task through plain ASGI sends instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol

from cti_tui.protocol import session as protocol

QUEUE_LIMIT = 2_000  # messages waiting for one slow connection before it is told to restore


class FrameWriter(Protocol):
    """The socket side of a connection: writes text frames straight to the transport."""

    def ready(self) -> bool:
        """Open and not pushing back (its transport's buffer is under the high-water mark)."""

    def write_frames(self, frames: list[bytes]) -> None:
        """Write each UTF-8 JSON text as one text frame, all in one transport write."""

    def on_resume(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` whenever the transport can take more again."""


class Outbox:
    """The connections with frames to write; written once per loop turn, all in one pass."""

    def __init__(self) -> None:
        self.dirty: list[Connection] = []
        self.passes = 0  # write passes so far

    def mark(self, connection: Connection) -> None:
        if not self.dirty:
            asyncio.get_running_loop().call_soon(self.flush)
        self.dirty.append(connection)

    def flush(self) -> None:
        dirty, self.dirty = self.dirty, []
        self.passes += 1
        for connection in dirty:  # (Connection.flush inlined for the common case: it runs N times an event)
            writer = connection.writer
            if writer is not None and connection.frames and not connection.overflowed and writer.ready():
                connection.marked = False
                frames, connection.frames, connection.waiting = connection.frames, [], 0
                writer.write_frames(frames)
            else:
                connection.flush()


class Connection:
    """One WebSocket's outgoing side: frames to write, bounded. Live messages are bounded: past ``limit``
    waiting, the connection is marked overflowed (the transport says so and closes; the client restores from
    its last seq). A replay does not count against the bound: it is the session's log, already in memory and
    bounded by it — counting it would overflow at once every client that restores after falling behind."""

    def __init__(self, limit: int = QUEUE_LIMIT, outbox: Outbox | None = None) -> None:
        self.limit = limit
        self.outbox = outbox or Outbox()
        self.frames: list[bytes] = []  # UTF-8 JSON texts not yet written, in order
        self.waiting = 0  # live messages among them
        self.marked = False  # in the outbox for the next pass
        self.overflowed = False
        self.closing = False
        self.writer: FrameWriter | None = None
        self.wake = asyncio.Event()  # the socket's task: to overflow, to close, or (no writer) to send

    def use(self, writer: FrameWriter) -> None:
        """Write through ``writer`` from now on (set before anything is pushed)."""
        self.writer = writer
        writer.on_resume(self.flush)

    def push(self, message: dict[str, Any] | bytes) -> None:
        """A live message: a dict to encode, or the frame of an event (encoded once for the session's log
        and every connection)."""
        if self.overflowed or self.closing:
            return
        if self.waiting >= self.limit:
            self.overflowed = True
            self.frames.clear()
            self.wake.set()
            return
        self.waiting += 1
        self.frames.append(message if isinstance(message, bytes) else protocol.encode(message).encode("utf-8"))
        if not self.marked:
            self.marked = True
            self.outbox.mark(self)

    def push_replay(self, frames: list[bytes]) -> None:
        if self.overflowed or self.closing:
            return
        self.frames.extend(frames)
        if not self.marked:
            self.marked = True
            self.outbox.mark(self)

    def close(self) -> None:
        """No more messages: what is queued goes, then the socket closes."""
        self.closing = True
        self.wake.set()

    def flush(self) -> None:
        """Write what waits, if the socket takes it now; else it waits for the transport's resume."""
        self.marked = False
        if not self.frames or self.overflowed:
            return
        writer = self.writer
        if writer is None:
            self.wake.set()
        elif writer.ready():
            frames, self.frames, self.waiting = self.frames, [], 0
            writer.write_frames(frames)

    def take(self) -> list[bytes]:
        """Everything waiting, for the socket's task to send itself (no writer, or closing)."""
        frames, self.frames, self.waiting = self.frames, [], 0
        return frames
