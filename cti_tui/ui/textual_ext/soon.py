"""Running a widget's bookkeeping at the next turn of the event loop, cheaply.

Textual's ``call_next`` wraps every callback in a new ``functools.partial`` and asks ``inspect.signature``
how many arguments it takes, then wakes the widget's message queue to run it: ~50 µs a call. The
dashboard schedules three such callbacks per turn of the loop on a busy wall (apply the queued engine
events; tell a row view's scroll bar its new size; say where its cursor went), hundreds of times a second.
:func:`soon` runs them with the loop's own ``call_soon``, in the context they were scheduled from (so the
active app and message pump are the same), and hands an exception to the app the way ``call_next`` does.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable

from textual.dom import DOMNode


def soon(pump: DOMNode, callback: Callable[[], object]) -> None:
    """Call ``callback()`` at the next turn of the loop, as ``pump.call_next(callback)`` would."""

    def run() -> None:
        if not pump.is_attached:  # (call_next does not run for a widget that has gone either)
            return
        try:
            callback()
        except Exception as error:  # as Textual's call_next: the app shows it and exits
            pump.app._handle_exception(error)

    asyncio.get_running_loop().call_soon(run, context=contextvars.copy_context())
