"""Keys read on the event loop, not on a thread of their own.

Textual's Linux driver reads the terminal on an input thread, which hands each key to the app with
``asyncio.run_coroutine_threadsafe``. On a busy dashboard that costs a key twice: the thread must win the
interpreter lock back after its ``select`` and again after its ``read`` (the loop thread, drawing, gives it up
only at a system call or when its 5 ms switch interval runs out), and the coroutine takes three turns of the
loop (make a task, run it to queue the key, run the handler), each behind whatever was ready then.

Here the loop itself watches the terminal (``add_reader``): a key is read, parsed and queued on the app in
the turn after it arrives, with no lock to wait for, and handled in the next. Textual's parser, its Escape
delay and everything else the driver does (output, mouse, paste, resize, suspend) are Textual's own.
bench/README.md, wall.py (goal 3).
"""

from __future__ import annotations

import os
import threading
from asyncio import TimerHandle
from codecs import getincrementaldecoder
from collections.abc import Iterable

from textual import constants
from textual._xterm_parser import XTermParser
from textual.drivers.linux_driver import LinuxDriver
from textual.message import Message


class PromptLinuxDriver(LinuxDriver):
    """Textual's Linux driver, but the event loop reads the terminal (the module's docstring says why)."""

    _reading = False
    _wanted = False
    _tick_due: TimerHandle | None = None
    _loop_thread: int | None = None

    def start_application_mode(self) -> None:
        self._wanted = True
        self._loop_thread = threading.get_ident()  # (called on the loop's thread)
        super().start_application_mode()

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
        # (_timeout_time is the parser's own deadline for it; Textual is pinned in pyproject.toml.)
        if self._parser._timeout_time is not None and self._tick_due is None and self._reading:
            self._tick_due = self._loop.call_later(constants.ESCAPE_DELAY, self._tick)

    def send_message(self, message: Message) -> None:
        """Queue ``message`` on the app: at once on the loop's thread, else from its next turn."""
        if threading.get_ident() == self._loop_thread:
            self._app.post_message(message)
        else:
            self._loop.call_soon_threadsafe(self._app.post_message, message)

    def disable_input(self) -> None:
        self._wanted = False
        self._stop_reading()
        super().disable_input()
