"""Keys into the app one turn of the event loop sooner.

Textual's terminal driver reads keys on its own thread and hands each to the app with
``asyncio.run_coroutine_threadsafe(app._post_message(key))``: one turn of the loop creates a task for that
coroutine, the next runs it (it only queues the key), a third runs the app's handler. On a busy dashboard every
turn may hold a frame or a batch of engine events, so a key waited behind up to three of them. Here the key is
queued on the app in the loop's first turn (``post_message`` is all ``_post_message`` did), and handled in the
next. Output, mouse and everything else are Textual's driver as it is. bench/README.md, wall.py (goal 3).
"""

from __future__ import annotations

from textual.drivers.linux_driver import LinuxDriver
from textual.message import Message


class PromptLinuxDriver(LinuxDriver):
    def send_message(self, message: Message) -> None:
        """Called on the driver's input thread: queue ``message`` on the app from the loop's next turn."""
        self._loop.call_soon_threadsafe(self._app.post_message, message)
