"""Run a parsed :class:`~cti_tui.protocol.actions.Action` on a :class:`Connector` (headless mode, the server)."""

from __future__ import annotations

from typing import Any

from cti_tui.engine.connector import Connector
from cti_tui.protocol.actions import Action
from cti_tui.protocol.events import agent_to_wire, call_to_wire


async def perform(connector: Connector, action: Action) -> Any:
    """Run ``action`` on ``connector``. A query returns its answer in wire form (what ``cti-tui events``
    prints and the server replies); a command returns its :class:`~cti_tui.core.results.Done` or
    :class:`~cti_tui.core.results.Refused`, whose refusal the connector has also emitted as an event.

    Commands go by their Command (:data:`cti_tui.core.verbs.VERBS`); the rest are named here, each once."""
    command = action.command()
    if command is not None:
        return await connector.perform(command)
    args = action.args
    match action.name:
        case "login":
            return await connector.login(**args)
        case "two_factor_auth":
            return await connector.two_factor_auth(**args)
        case "logout":
            return await connector.logout()
        case "is_connected":
            return connector.is_connected()
        case "subscriptions":
            return connector.subscriptions()
        case "auto_answer":
            return connector.auto_answer()
        case "calls":
            return [call_to_wire(c) for c in connector.calls()]
        case "agents":
            return [agent_to_wire(a) for a in connector.agents()]
        case "get_call":
            call = connector.get_call(args["call_id"])
            return None if call is None else call_to_wire(call)
    raise ValueError(f"{action.name!r} is not something a connector does")  # "quit" ends the caller's loop
