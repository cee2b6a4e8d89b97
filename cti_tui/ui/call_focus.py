"""Which call a key means, and the hold that keeps one conversation at a time (issue 17 #2, #5).

An agent talks to one party at a time: dialling or answering while connected used to leave two CONNECTED
calls with the cursor on the old one, so ``x`` hung up the customer. A new call now holds the current one
first (``hold_on_new_call`` in config.toml) and the new call is selected. ``a`` answers the ringing call
the agent means: the selected one if it rings, else the one that has rung longest.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from cti_tui.core.model import Call, CallStatus, Direction, Operation
from cti_tui.core.results import Refused
from cti_tui.engine.connector import Connector


def answer_target(connector: Connector, selected: Call | None, shown: Iterable[Call]) -> Call | None:
    """The selected call if it can be answered, else the oldest ringing call on the agent's own line."""
    if selected is not None and Operation.ANSWER in connector.operations(selected.id):
        return selected
    identity = connector.identity
    if identity is None:
        return None
    ringing = [
        call
        for call in shown
        if call.line == identity.line
        and call.direction is Direction.INBOUND
        and Operation.ANSWER in connector.operations(call.id)
    ]
    return min(ringing, key=lambda call: call.setup_at or datetime.max.replace(tzinfo=UTC), default=None)


def talking(connector: Connector) -> list[Call]:
    """The agent's own calls that are connected now (the ones a new call must hold first)."""
    identity = connector.identity
    if identity is None:
        return []
    return [c for c in connector.active_calls() if c.line == identity.line and c.status is CallStatus.CONNECTED]


async def hold_current(connector: Connector, *, keep: str | None = None) -> bool:
    """Hold every connected call of the agent's (but ``keep``); False if one could not be held (the
    refusal is already an event), so the caller does not start a second conversation over the first."""
    if not connector.backend.capabilities.supports(Operation.HOLD):
        return True  # a phone that cannot hold on command holds on its own when it takes the next call
    for call in talking(connector):
        holdable = call.id != keep and Operation.HOLD in connector.operations(call.id)
        if holdable and isinstance(await connector.hold(call.id), Refused):
            return False
    return True


def consult_pair(connector: Connector, call: Call | None) -> tuple[Call, Call] | None:
    """(the call being handed over, the consult call) when ``call`` is either one of a supervised transfer
    at its consult stage; None otherwise."""
    if call is None:
        return None
    if call.consult_for:
        original = connector.get_call(call.consult_for)
        return (original, call) if original is not None and not original.ended else None
    consult = next((c for c in connector.active_calls() if c.consult_for == call.id), None)
    return (call, consult) if consult is not None else None


async def swap(connector: Connector, pair: tuple[Call, Call]) -> str | None:
    """Talk to the other party of a consult: hold the connected one, resume the held one; the id of the
    call now talked to, or None if it could not be done (the refusal is already an event)."""
    talking_to = next((c for c in pair if c.status is CallStatus.CONNECTED), None)
    held = next((c for c in pair if c.status is CallStatus.ON_HOLD), None)
    if held is None:
        return None
    if talking_to is not None and isinstance(await connector.hold(talking_to.id), Refused):
        return None
    return None if isinstance(await connector.resume(held.id), Refused) else held.id
