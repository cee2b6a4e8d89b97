"""The terminal driver hands a key to the app one turn of the event loop sooner than Textual's own."""

from __future__ import annotations

import asyncio
import sys
import threading

import pytest
from textual import events
from textual.app import App
from textual.drivers.linux_driver import LinuxDriver

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

    def on_key(self, event: events.Key) -> None:
        self.keys.append(event.key)


async def queued_after_one_turn(driver_class: type[LinuxDriver]) -> bool:
    """Send a key from another thread (as the driver's input thread does), let the loop take one turn, and
    say whether the key is in the app's queue by then; then check it reaches the app's handler."""
    app = Keys()
    async with app.run_test() as pilot:
        await pilot.pause()
        driver = driver_class(app)
        key = events.Key("x", "x")
        sender = threading.Thread(target=driver.send_message, args=(key,))
        sender.start()
        sender.join()
        waiting = app._message_queue.qsize()
        await asyncio.sleep(0)
        queued = app._message_queue.qsize() > waiting
        await pilot.pause()
        assert app.keys == ["x"]
        return queued


async def test_a_key_is_queued_on_the_app_after_one_turn_of_the_loop() -> None:
    assert await queued_after_one_turn(PromptLinuxDriver)
    assert not await queued_after_one_turn(LinuxDriver)  # Textual's takes a turn more (a task to post it)
