"""What a supervisor's keys may do on a watched agent's call: listen / whisper / barge, and whether a
hang-up needs asking first (pure functions over the selected call; the PBX checks again)."""

from __future__ import annotations

from collections.abc import Collection

from cti_tui.core.agent_commands import SpyMode
from cti_tui.core.model import Call, CallStatus, Identity, Role
from cti_tui.core.numbers import format_for_display

# dashboard action -> the mode it asks for
SPY_ACTIONS: dict[str, SpyMode] = {"listen": SpyMode.LISTEN, "whisper": SpyMode.WHISPER, "barge": SpyMode.BARGE}
SPIED_STATES = (CallStatus.CONNECTED, CallStatus.ON_HOLD)


def spied_extension(call: Call, identity: Identity, watched: Collection[str]) -> str | None:
    """The agent whose call ``call`` is, when ``identity`` may listen in on it: a supervisor, on a watched
    user line that is not its own, a call with someone on it, and not itself a listening leg."""
    if identity.role is not Role.SUPERVISOR or call.monitor or call.line == identity.line:
        return None
    if call.status not in SPIED_STATES or call.line not in watched:
        return None
    kind, _, extension = call.line.partition(":")
    return extension if kind == "user" and extension else None


def hangup_question(call: Call, identity: Identity) -> str | None:
    """Hanging up someone else's call cuts off a customer mid-sentence: ask first (None: one's own call)."""
    if call.line == identity.line:
        return None
    party = format_for_display(call.party) or "anonymous"
    return f"Hang up {party} on {call.line}? It is not your call."
