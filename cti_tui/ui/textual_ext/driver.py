"""Keys read and frames written on the event loop, not on threads of their own.

Textual's Linux driver reads the terminal on an input thread, which hands each key to the app with
``asyncio.run_coroutine_threadsafe``. On a busy dashboard that costs a key twice: the thread must win the
interpreter lock back after its ``select`` and again after its ``read`` (the loop thread, drawing, gives it up
only at a system call or when its 5 ms switch interval runs out), and the coroutine takes three turns of the
loop (make a task, run it to queue the key, run the handler), each behind whatever was ready then.

Here the loop itself watches the terminal (``add_reader``): a key is read, parsed and queued on the app in
the turn after it arrives, with no lock to wait for, and handled in the next. Textual's parser, its Escape
delay and everything else the driver does (mouse, paste, resize, suspend) are Textual's own.
bench/README.md, wall.py (goal 3).

Output has the same cost the other way: Textual hands each frame to a writer thread, which must win the lock
from the loop thread to write it, and the loop is often busy by then (drawing the next frame; as the app
starts, laying the screen out again for the terminal's size): the login form reached the terminal ~25 ms
after it was drawn.
Here the loop writes it at once to a non-blocking descriptor of its own for the terminal; what the terminal
cannot take yet waits, in order, and is written as room comes (the loop watches for it), so a slow terminal
never blocks keys or the engine (:class:`LoopWriter`). bench/README.md, startup.py (goal 4).
"""

from __future__ import annotations

import asyncio
import os
import select
import threading
import time
from asyncio import TimerHandle
from codecs import getincrementaldecoder
from collections.abc import Callable, Iterable

from textual import constants
from textual._xterm_parser import XTermParser
from textual.drivers.linux_driver import LinuxDriver
from textual.message import Message


class LoopWriter:
    """Text written to the terminal from the event loop, never waiting on it.

    ``flush`` writes what it can at once; the rest waits in order and is written as the terminal drains (the
    loop watches the descriptor for room). Past ``limit`` bytes waiting (a terminal that stopped reading), or
    where the loop cannot watch the descriptor, it waits for room, as Textual's writer does when its queue is
    full. ``close`` writes everything (the terminal's restore sequences) unless the terminal takes nothing for
    ``patience`` seconds.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        fd: int,
        *,
        encoding: str = "utf-8",
        errors: str = "strict",
        limit: int = 4 << 20,
        patience: float = 10.0,
    ) -> None:
        self._loop = loop
        self.fd = fd
        self._encoding = encoding
        self._errors = errors
        self._limit = limit
        self._patience = patience
        self._parts: list[str] = []  # written since the last flush
        self._waiting = bytearray()  # flushed, not yet taken by the terminal
        self._watching = False
        self._unwatchable = False

    @property
    def waiting(self) -> int:
        """Bytes the terminal has not taken yet."""
        return len(self._waiting)

    def write(self, text: str) -> None:
        self._parts.append(text)

    def flush(self) -> None:
        if self._parts:
            self._waiting += "".join(self._parts).encode(self._encoding, self._errors)
            self._parts.clear()
        if not self._watching:
            self._drain()
        if self._waiting and (self._unwatchable or len(self._waiting) > self._limit):
            self._drain_waiting_for_room()

    def close(self) -> None:
        """Everything out, then the descriptor closed."""
        self.flush()
        self._drain_waiting_for_room()
        self._watch(False)
        os.close(self.fd)

    def _drain(self) -> None:
        """Write what the terminal takes now; watch for room if some is left."""
        while self._waiting:
            try:
                written = os.write(self.fd, self._waiting)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:  # the terminal is gone: nobody to show it to
                self._waiting.clear()
                break
            del self._waiting[:written]
        self._watch(bool(self._waiting))

    def _drain_waiting_for_room(self) -> None:
        deadline = time.monotonic() + self._patience
        while self._waiting and time.monotonic() < deadline:
            try:
                select.select([], [self.fd], [], max(0.0, deadline - time.monotonic()))
            except InterruptedError:
                continue
            before = len(self._waiting)
            self._drain()
            if len(self._waiting) < before:
                deadline = time.monotonic() + self._patience
        self._waiting.clear()  # (what a terminal that took nothing for so long did not take)

    def _watch(self, wanted: bool) -> None:
        if wanted == self._watching or (wanted and self._unwatchable):
            return
        if wanted:
            try:
                self._loop.add_writer(self.fd, self._drain)
            except (OSError, ValueError):  # a descriptor this loop cannot watch: flush waits for room instead
                self._unwatchable = True
                return
        else:
            self._loop.remove_writer(self.fd)
        self._watching = wanted


class PromptLinuxDriver(LinuxDriver):
    """Textual's Linux driver, but the event loop reads the terminal (the module's docstring says why)."""

    _reading = False
    _wanted = False
    _tick_due: TimerHandle | None = None
    _loop_thread: int | None = None
    _writer: LoopWriter | None = None

    def start_application_mode(self) -> None:
        self._wanted = True
        self._loop_thread = threading.get_ident()  # (called on the loop's thread)
        self._writer = self._open_writer()
        super().start_application_mode()  # type: ignore[no-untyped-call]  # (Textual leaves it unannotated)

    def _open_writer(self) -> LoopWriter | None:
        """The terminal opened again, non-blocking: a descriptor of our own, so the flag is not shared with the
        shell's. None (Textual's writer thread) when the output is not a terminal we can open."""
        if self._file is None:  # (sys.__stderr__: None when Python started with no descriptor 2)
            return None
        try:
            output = self._file.fileno()
            fd = os.open(os.ttyname(output), os.O_WRONLY | os.O_NOCTTY | os.O_NONBLOCK | os.O_CLOEXEC)
        except (OSError, ValueError, AttributeError):
            return None
        encoding = getattr(self._file, "encoding", None) or "utf-8"
        errors = getattr(self._file, "errors", None) or "strict"
        return LoopWriter(self._loop, fd, encoding=encoding, errors=errors)

    def _passed_to_loop(self, callback: Callable[..., object], *args: object) -> bool:
        """Off the loop's thread, ``callback(*args)`` is handed to the loop's next turn (in order) and this says
        True; on it, False: the caller does the work at once."""
        if threading.get_ident() == self._loop_thread:
            return False
        self._loop.call_soon_threadsafe(callback, *args)
        return True

    def write(self, data: str) -> None:
        if self._writer is None:
            super().write(data)
        elif not self._passed_to_loop(self.write, data):  # (Textual writes on the loop's thread)
            self._writer.write(data)

    def flush(self) -> None:
        if self._writer is not None and not self._passed_to_loop(self.flush):
            self._writer.flush()

    def stop_application_mode(self) -> None:
        super().stop_application_mode()  # (its last writes restore the terminal, then it flushes)
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def run_input_thread(self) -> None:
        """Called once on Textual's input thread as the app starts: hand the reading to the loop and end."""
        self._loop.call_soon_threadsafe(self._start_reading)

    def _start_reading(self) -> None:
        if not self._wanted or self._reading:
            return
        self._parser = XTermParser(self._debug)
        self._decode = getincrementaldecoder("utf-8")().decode
        try:
            self._loop.add_reader(self.fileno, self._readable)
        except (OSError, ValueError):  # input the loop cannot watch (a regular file): Textual's thread reads it
            self._key_thread = threading.Thread(target=LinuxDriver.run_input_thread, args=(self,), daemon=True)
            self._key_thread.start()
            return
        self._reading = True

    def _stop_reading(self) -> None:
        if self._reading:
            self._loop.remove_reader(self.fileno)
            self._reading = False
        if self._tick_due is not None:
            self._tick_due.cancel()
            self._tick_due = None

    def _readable(self) -> None:
        try:
            data = os.read(self.fileno, 4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:  # the terminal is gone (or stdin was a pipe that ended): nothing more to read
            self._stop_reading()
            return
        text = self._decode(data)
        if text:  # (half a character so far decodes to nothing; the parser takes "" for the end of input)
            self._deliver(self._parser.feed(text))

    def _tick(self) -> None:
        """A lone Escape is a key once the escape delay passes with nothing after it (the parser decides)."""
        self._tick_due = None
        self._deliver(self._parser.tick())

    def _deliver(self, parsed: Iterable[Message]) -> None:
        try:
            for event in parsed:
                self.process_message(event)
        except Exception:  # as Textual's input thread: the app shows the error and exits
            import rich.traceback

            self._stop_reading()
            self._app.call_later(self._app.panic, rich.traceback.Traceback())
            return
        # The parser holds an incomplete sequence (an Escape, so far): look again once the delay has passed.
        # (_timeout_time is the parser's own deadline for it: listed in textual_ext's TEXTUAL_INTERNALS.)
        if self._parser._timeout_time is not None and self._tick_due is None and self._reading:
            self._tick_due = self._loop.call_later(constants.ESCAPE_DELAY, self._tick)

    def send_message(self, message: Message) -> None:
        """Queue ``message`` on the app: at once on the loop's thread, else from its next turn."""
        if not self._passed_to_loop(self.send_message, message):
            self._app.post_message(message)

    def disable_input(self) -> None:
        self._wanted = False
        self._stop_reading()
        super().disable_input()
