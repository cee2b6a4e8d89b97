"""The terminal driver reads keys on the event loop: typed into a real pseudo-terminal, they reach the app."""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import sys
import threading
import time
import tty
from collections.abc import Iterator

import pytest
from textual import constants, events
from textual.app import App

from cti_tui.assembly import build_app
from cti_tui.config import AppConfig
from cti_tui.ui.textual_ext.driver import LoopWriter, PromptLinuxDriver

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the Linux terminal driver")


def test_the_app_runs_on_the_prompt_driver() -> None:
    assert build_app(config=AppConfig()).driver_class is PromptLinuxDriver


class Keys(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.keys: list[str] = []
        self.characters: list[str | None] = []

    def on_key(self, event: events.Key) -> None:
        self.keys.append(event.key)
        self.characters.append(event.character)


async def until(condition, seconds: float = 2.0) -> bool:
    for _ in range(int(seconds / 0.01)):
        if condition():
            return True
        await asyncio.sleep(0.01)
    return condition()


async def test_keys_typed_into_a_terminal_reach_the_app_without_a_thread() -> None:
    app = Keys()
    typist, terminal = os.openpty()
    tty.setraw(terminal)  # as the driver sets it when the app starts: keys as they come, not lines
    try:
        async with app.run_test() as pilot:
            await pilot.pause()
            driver = PromptLinuxDriver(app)  # (the test's app draws headless: this one only reads)
            driver.fileno = terminal
            driver._wanted = True
            driver._loop_thread = threading.get_ident()
            driver._start_reading()
            threads = threading.active_count()

            os.write(typist, b"x\x1b[A")  # a letter, then the up arrow's escape sequence
            assert await until(lambda: app.keys == ["x", "up"])
            os.write(typist, "é".encode()[:1])  # half a character: nothing yet
            await asyncio.sleep(0.05)
            os.write(typist, "é".encode()[1:])
            assert await until(lambda: app.characters[-1:] == ["é"])
            os.write(typist, b"\x1b")  # a lone Escape is a key once the escape delay has passed
            await asyncio.sleep(constants.ESCAPE_DELAY / 2)
            assert app.keys[-1] != "escape", app.keys
            assert await until(lambda: app.keys[-1:] == ["escape"])
            assert threading.active_count() == threads  # read on the loop's thread, none started for it

            driver.disable_input()
            os.write(typist, b"y")
            await asyncio.sleep(0.1)
            assert "y" not in app.keys  # no longer read
    finally:
        os.close(typist)
        os.close(terminal)


@pytest.fixture
def terminal() -> Iterator[tuple[int, int]]:
    """A pseudo-terminal opened as the driver opens its own: (the side that shows it, our non-blocking end).
    Its first descriptor stays open, as the app's stdout does: the terminal outlives ours."""
    shown, terminal = os.openpty()
    tty.setraw(terminal)  # bytes as written: no newline translation
    ours = os.open(os.ttyname(terminal), os.O_WRONLY | os.O_NOCTTY | os.O_NONBLOCK)
    yield shown, ours
    for fd in (shown, terminal):
        with contextlib.suppress(OSError):
            os.close(fd)


def read_available(fd: int) -> bytes:
    chunks = []
    while select.select([fd], [], [], 0.05)[0]:
        chunks.append(os.read(fd, 1 << 16))
    return b"".join(chunks)


async def test_frames_are_written_on_the_loop_and_a_terminal_that_stops_reading_blocks_nothing(
    terminal: tuple[int, int],
) -> None:
    loop = asyncio.get_running_loop()
    shown, ours = terminal
    writer = LoopWriter(loop, ours)
    try:
        writer.write("frame ")
        writer.write("é\n")
        assert read_available(shown) == b""  # nothing before the flush (a frame goes out whole)
        writer.flush()
        assert read_available(shown) == "frame é\n".encode()  # at once: no thread, no turn of the loop

        # Nobody reads the terminal now: far more than it can hold is written, and the loop goes on.
        frames = [f"{n:06d}".encode() * 2000 for n in range(60)]  # 60 frames of 12 kB
        for frame in frames:
            writer.write(frame.decode())
            writer.flush()
        assert writer.waiting > 0  # the terminal is full: the rest waits
        ticked = asyncio.Event()
        loop.call_soon(ticked.set)
        await asyncio.wait_for(ticked.wait(), 1.0)  # the loop was not blocked

        # The terminal reads again: everything arrives, in order, written as room came.
        received = bytearray()
        for _ in range(500):
            await asyncio.sleep(0.005)
            received += read_available(shown)
            if len(received) >= sum(map(len, frames)):
                break
        assert bytes(received) == b"".join(frames)
        assert writer.waiting == 0
    finally:
        writer.close()


async def test_closing_writes_what_waits(terminal: tuple[int, int]) -> None:
    shown, ours = terminal
    writer = LoopWriter(asyncio.get_running_loop(), ours)
    big = "x" * 200_000  # more than the terminal holds: close must wait for room
    received = bytearray()

    def reader() -> None:
        while len(received) < len(big) + 4:
            received.extend(read_available(shown))

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    writer.write(big)
    writer.flush()
    writer.write("\x1b[?25h")  # (the last thing an app writes: the cursor back)
    writer.close()
    thread.join(5)
    assert bytes(received) == (big + "\x1b[?25h").encode()


def test_a_gone_terminal_loses_the_output_not_the_app(terminal: tuple[int, int]) -> None:
    shown, ours = terminal
    os.close(shown)  # the terminal window was closed
    loop = asyncio.new_event_loop()
    try:
        writer = LoopWriter(loop, ours)
        writer.write("frame")
        writer.flush()  # no exception: there is nobody to show it to
        assert writer.waiting == 0
        writer.close()
    finally:
        loop.close()


class UnwatchableLoop:
    """A loop that cannot watch the terminal for room (kqueue and some terminals on older macOS)."""

    def add_writer(self, fd: int, callback: object) -> None:
        raise OSError(22, "Invalid argument")

    def remove_writer(self, fd: int) -> bool:
        return False


def test_where_the_loop_cannot_watch_the_terminal_a_flush_waits_for_room(terminal: tuple[int, int]) -> None:
    shown, ours = terminal
    writer = LoopWriter(UnwatchableLoop(), ours)  # type: ignore[arg-type]
    big = "y" * 200_000  # more than the terminal holds
    received = bytearray()

    def reader() -> None:
        time.sleep(0.2)  # the terminal is slow to start reading
        while len(received) < len(big):
            received.extend(read_available(shown))

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    writer.write(big)
    writer.flush()  # no exception, and nothing left behind for a watcher that will never come
    assert writer.waiting == 0
    thread.join(5)
    assert bytes(received) == big.encode()
    writer.close()


async def test_what_another_thread_sends_or_writes_is_done_on_the_loop_in_order(terminal: tuple[int, int]) -> None:
    shown, ours = terminal
    app = Keys()
    async with app.run_test() as pilot:
        await pilot.pause()
        driver = PromptLinuxDriver(app)
        driver._loop_thread = threading.get_ident()
        driver._writer = LoopWriter(asyncio.get_running_loop(), ours)

        def elsewhere() -> None:
            driver.write("one ")
            driver.write("two")
            driver.flush()
            driver.send_message(events.Key("z", "z"))

        other = threading.Thread(target=elsewhere)
        other.start()
        other.join(5)
        assert driver._writer.waiting == 0 and read_available(shown) == b""  # nothing done off the loop's thread
        assert await until(lambda: app.keys == ["z"])
        assert read_available(shown) == b"one two"
        driver._writer.close()
