"""``cti-tui events``: the engine as JSON lines — events out on stdout, commands in on stdin.

A pipe-friendly face of the same Connector the app uses, for scripts and integrations (CRMs). Every event
is one JSON object per line in the wire form; every stdin line is one command. A bad line gets an ERROR
event that says what is wrong, and the process keeps going. See docs/events.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, TextIO

from cti_tui.core.model import ActivityName, ErrorCode, Event
from cti_tui.engine.actions import perform
from cti_tui.engine.connector import Connector
from cti_tui.protocol.actions import MAX_LINE_BYTES, QUERIES, ActionError, parse_line
from cti_tui.protocol.events import event_to_wire

DEMO_EMAIL = "agent@demo.local"
DEMO_PASSWORD = "demo"
DRAIN_SECONDS = 10.0
"""At the end of a run, how long events held back for their history rows may wait to be printed."""

Filer = Callable[[Event], "Future[None] | None"]
"""Files an event's ended call in the history; the future resolves once its row is committed."""


@dataclass
class EventsOptions:
    """How ``cti-tui events`` logs in and what it watches; which backend it runs on is the assembly's."""

    email: str | None = None
    password: str | None = field(default=None, repr=False)
    api_key: str | None = field(default=None, repr=False)
    otp: str | None = field(default=None, repr=False)
    subscribe: list[str] = field(default_factory=list)
    exit_on_eof: bool = False


class _Output:
    """Writes one compact JSON object per line. A closed stdout (the reader went away) ends the run quietly;
    any other write failure ends it with ``failure`` set, so the exit code says so."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.encoding = getattr(stream, "encoding", None) or "utf-8"
        self.closed = asyncio.Event()
        self.failure: str | None = None

    def write(self, obj: dict[str, Any]) -> None:
        if self.closed.is_set():
            return
        text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
        try:
            text.encode(self.encoding)
        except UnicodeError:  # a lone surrogate, or a name the terminal's encoding cannot carry: escape it
            text = json.dumps(obj, ensure_ascii=True, separators=(",", ":"))
        try:
            self.stream.write(text + "\n")
            self.stream.flush()
        except BrokenPipeError:
            self.closed.set()
        except (OSError, ValueError) as exc:  # ValueError: the stream was closed under us
            self.failure = f"cannot write to stdout: {exc}"
            self.closed.set()

    def event(self, event: Event) -> None:
        self.write(event_to_wire(event))


class _InOrder:
    """Prints events in the order they came, each only once its history row (if any) is committed.

    A reader that saw HANGUP/CANCEL may rely on the call being in the history, even if this process is killed
    the next moment (issue 15 #8). An event whose row is still on the writer thread holds back itself and every
    event after it, so the order never changes. A row that could not be written releases its event too: the
    failure is reported as an ERROR event of its own."""

    def __init__(self, out: _Output, loop: asyncio.AbstractEventLoop) -> None:
        self._out = out
        self._loop = loop
        self._held: deque[tuple[Event, Future[None] | None]] = deque()
        self._empty = asyncio.Event()
        self._empty.set()

    def put(self, event: Event, written: Future[None] | None) -> None:
        self._held.append((event, written))
        if written is not None and not written.done():
            written.add_done_callback(self._wake)
        self._release()

    def _wake(self, _written: Future[None]) -> None:
        """On the history's writer thread: release what waits, on the loop."""
        with contextlib.suppress(RuntimeError):  # the loop is closed: the run is over
            self._loop.call_soon_threadsafe(self._release)

    def _release(self) -> None:
        while self._held:
            event, written = self._held[0]
            if written is not None and not written.done():
                self._empty.clear()
                return
            self._held.popleft()
            self._out.event(event)
        self._empty.set()

    async def drained(self, timeout: float) -> bool:
        """Wait (bounded) until every event is printed; False if some still wait for their rows."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._empty.wait(), timeout)
        return self._empty.is_set()


@dataclass(frozen=True, slots=True)
class LineTooLong:
    """A stdin line over the limit: skipped, not buffered (only its length is kept, for the error)."""

    size: int


def _start_reader(
    loop: asyncio.AbstractEventLoop, fd: int, limit: int = MAX_LINE_BYTES
) -> asyncio.Queue[bytes | LineTooLong | None]:
    """Read stdin lines in a daemon thread: works for ttys, pipes and regular files alike.

    It reads the raw descriptor with ``os.read``: a thread blocked inside a buffered ``readline`` holds
    the buffer's lock, and the interpreter aborts at exit when it cannot take that lock. A line longer than
    ``limit`` is dropped as it streams in (memory stays bounded however long it is, newline or not) and
    delivered as :class:`LineTooLong`.
    """
    queue: asyncio.Queue[bytes | LineTooLong | None] = asyncio.Queue()

    def deliver(item: bytes | LineTooLong | None) -> None:
        with contextlib.suppress(RuntimeError):  # the loop may already be closed at exit
            loop.call_soon_threadsafe(queue.put_nowait, item)

    def pump() -> None:
        pending = b""
        skipped = 0  # bytes of an over-long line dropped so far
        try:
            while chunk := os.read(fd, 65536):
                *lines, rest = chunk.split(b"\n")
                for line in lines:
                    if skipped:
                        deliver(LineTooLong(skipped + len(line)))
                        skipped = 0
                    elif len(pending) + len(line) > limit:
                        deliver(LineTooLong(len(pending) + len(line)))
                    else:
                        deliver(pending + line)
                    pending = b""
                if skipped:
                    skipped += len(rest)
                elif len(pending) + len(rest) > limit:
                    skipped, pending = len(pending) + len(rest), b""
                else:
                    pending += rest
        except OSError:
            pass
        if skipped:
            deliver(LineTooLong(skipped))
        elif pending:
            deliver(pending)
        deliver(None)

    threading.Thread(target=pump, name="stdin-reader", daemon=True).start()
    return queue


async def run_headless(
    connector: Connector,
    options: EventsOptions,
    *,
    start: Callable[[], None] = lambda: None,
    record: Callable[[Callable[[Exception], None]], Filer | None] | None = None,
    history_problem: str | None = None,
    stdin_fd: int | None = None,
    stdout: TextIO | None = None,
) -> int:
    """Log in on ``connector`` (any backend), stream events, obey commands until ``quit``, a signal, or
    (optionally) end of input. ``start`` begins the backend's live activity on this loop; ``record`` gives the
    call history's filer, which reports its failures through the given callback: an ended call is printed
    only once its row is committed."""
    out = _Output(stdout or sys.stdout)
    loop = asyncio.get_running_loop()
    printer = _InOrder(out, loop)
    filer: Filer | None = None

    def deliver(event: Event) -> None:
        printer.put(event, None if filer is None else filer(event))

    connector.add_listener(deliver)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    start()
    if history_problem is not None:
        connector.notify(ActivityName.ERROR, ErrorCode.BACKEND_FAILURE, history_problem)
    if record is not None:

        def failed(exc: Exception) -> None:
            connector.notify(ActivityName.ERROR, ErrorCode.BACKEND_FAILURE, f"call history: {exc}")

        filer = record(failed)

    try:
        if not await _login(connector, options) and connector.pending_nonce is None:
            return 1
        for node in options.subscribe:
            await connector.subscribe(node)
        commands = _start_reader(loop, sys.stdin.fileno() if stdin_fd is None else stdin_fd)
        code = await _serve(connector, commands, out, stop, options.exit_on_eof)
        if out.failure is not None:
            print(f"cti-tui: error: {out.failure}", file=sys.stderr)
            return 1
        return code
    finally:
        if connector.identity is not None:
            await connector.logout()
        if not await printer.drained(DRAIN_SECONDS):
            print(
                f"cti-tui: error: events not printed: history rows not written in {DRAIN_SECONDS:g} s", file=sys.stderr
            )


async def _login(connector: Connector, options: EventsOptions) -> bool:
    """Whether the login is complete (a pending second factor is not: the caller checks the nonce)."""
    if options.api_key:
        return bool(await connector.login(api_key=options.api_key))
    email = options.email or DEMO_EMAIL
    password = options.password if options.password is not None else (DEMO_PASSWORD if not options.email else "")
    if not password:
        connector.notify(ActivityName.ERROR, ErrorCode.BAD_CREDENTIALS, "--password is required with --email")
        return False
    result = await connector.login(email, password)
    if not result and options.otp and connector.pending_nonce is not None:
        result = await connector.two_factor_auth(options.otp)
    return bool(result)


async def _serve(
    connector: Connector,
    commands: asyncio.Queue[bytes | LineTooLong | None],
    out: _Output,
    stop: asyncio.Event,
    exit_on_eof: bool,
) -> int:
    line_number = 0
    stopped = asyncio.ensure_future(stop.wait())
    closed = asyncio.ensure_future(out.closed.wait())
    try:
        while True:
            next_line = asyncio.ensure_future(commands.get())
            done, _ = await asyncio.wait({next_line, stopped, closed}, return_when=asyncio.FIRST_COMPLETED)
            if next_line not in done:
                next_line.cancel()
                return 0
            line = next_line.result()
            if line is None:
                if exit_on_eof:
                    return 0
                await asyncio.wait({stopped, closed}, return_when=asyncio.FIRST_COMPLETED)
                return 0
            line_number += 1
            if isinstance(line, LineTooLong):
                message = f"line {line_number}: command too long ({line.size} bytes; limit {MAX_LINE_BYTES}); skipped"
                connector.notify(ActivityName.ERROR, ErrorCode.BAD_REQUEST, message)
                continue
            if not line.strip():
                continue
            if await _handle(connector, line, line_number, out):
                return 0
    finally:
        stopped.cancel()
        closed.cancel()


async def _handle(connector: Connector, line: bytes, line_number: int, out: _Output) -> bool:
    """Run one command line; True when it asks to quit."""
    try:
        action = parse_line(line.strip())
    except ActionError as exc:
        connector.notify(ActivityName.ERROR, ErrorCode.BAD_REQUEST, f"line {line_number}: {exc}")
        return False
    if action.name == "quit":
        return True
    try:
        result = await perform(connector, action)
    except Exception as exc:  # a bug must cost one command, not the stream: say so and go on
        connector.notify(ActivityName.ERROR, ErrorCode.BACKEND_FAILURE, f"line {line_number}: failed: {exc!r}")
        return False
    if action.name in QUERIES:
        reply: dict[str, Any] = {"reply": action.name, "result": result}
        if action.request_id is not None:
            reply["id"] = action.request_id
        out.write(reply)
    return False
