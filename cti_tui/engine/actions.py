"""Run a parsed :class:`~cti_tui.protocol.actions.Action` on a :class:`Connector` (headless mode, the server)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from cti_tui.engine.connector import Connector
from cti_tui.protocol.actions import Action
from cti_tui.protocol.events import call_to_wire


async def perform(connector: Connector, action: Action) -> Any:
    """Run ``action`` on ``connector``. A query returns its answer in wire form (what ``cti-tui events``
    prints and the server replies); a command returns its :class:`~cti_tui.core.results.Done` or
    :class:`~cti_tui.core.results.Refused`, whose refusal the connector has also emitted as an event."""
    method: Callable[..., Any] = getattr(connector, action.name)
    result = method(**action.args)
    if isinstance(result, Awaitable):
        result = await result
    if action.name == "calls":
        return [call_to_wire(c) for c in result]
    if action.name == "get_call":
        return None if result is None else call_to_wire(result)
    return result
