"""The terminal driver reads keys on the event loop: typed into a real pseudo-terminal, they reach the app."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import tty

import pytest
from textual import constants, events
from textual.app import App

from cti_tui.config import AppConfig
from cti_tui.ui.driver import PromptLinuxDriver
from cti_tui.ui.factory import build_app

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
