"""An agent's availability: whether queues may offer it calls, and the after-call work that follows a call.

Plain data shared by the PBX (which decides who is offered a queue call), the engine (which shows it and
keeps it across a reconnect), the wire and the UI. The PBX owns the truth; everyone else sees
:class:`Availability` values as it changes them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class AgentState(StrEnum):
    """``available``: queues may offer calls. ``break``: not, with a reason code. ``wrap_up``: after-call
    work, not offered calls until the countdown ends or the agent says ``ready``. ``offline``: logged out
    of the queues (or of the app)."""

    AVAILABLE = "available"
    BREAK = "break"
    WRAP_UP = "wrap_up"
    OFFLINE = "offline"

    @property
    def label(self) -> str:
        return {"available": "AVAILABLE", "break": "BREAK", "wrap_up": "WRAP-UP", "offline": "OFFLINE"}[self.value]


MAX_NOTE_CHARS = 2000


@dataclass(frozen=True, slots=True)
class Availability:
    """One agent's state as its own line (and whoever watches that line) sees it.

    ``queues``: the queues the agent is logged in to (of those it is a member of). ``wrap_up_until`` and
    ``call_id``: during wrap-up, when it ends and which call it follows. ``disposition`` and ``note``: what
    the agent said about ``call_id`` (the history keeps them with the call). ``break_reasons`` and
    ``dispositions``: the codes the organisation allows, so every front end offers the same choice.
    """

    extension: str
    state: AgentState = AgentState.OFFLINE
    since: datetime | None = None
    reason: str = ""
    queues: tuple[str, ...] = ()
    member_of: tuple[str, ...] = ()
    wrap_up_until: datetime | None = None
    call_id: str = ""
    disposition: str = ""
    note: str = ""
    break_reasons: tuple[str, ...] = ()
    dispositions: tuple[str, ...] = ()

    @property
    def line(self) -> str:
        return f"user:{self.extension}"

    def seconds_in_state(self, now: datetime) -> float:
        return 0.0 if self.since is None else max(0.0, (now - self.since).total_seconds())

    def wrap_up_left(self, now: datetime) -> float:
        """Seconds of wrap-up left (0 when not wrapping up)."""
        if self.state is not AgentState.WRAP_UP or self.wrap_up_until is None:
            return 0.0
        return max(0.0, (self.wrap_up_until - now).total_seconds())

    def takes_calls_from(self, queue_id: str) -> bool:
        return self.state is AgentState.AVAILABLE and queue_id in self.queues


def time_in_states(changes: Iterable[Availability], start: datetime, end: datetime) -> dict[AgentState, float]:
    """Seconds spent in each state between ``start`` and ``end``, from the agent's successive states (in
    order; a change that repeats the state, a new disposition say, does not restart it)."""
    totals = dict.fromkeys(AgentState, 0.0)
    state, since = AgentState.OFFLINE, start
    for change in changes:
        moment = min(max(change.since or since, start), end)
        if change.state is state:
            continue
        totals[state] += (moment - since).total_seconds()
        state, since = change.state, moment
    totals[state] += (end - since).total_seconds()
    return totals


def clock_text(seconds: float) -> str:
    """``mm:ss`` (``h:mm:ss`` from an hour): the time in a state as the status bar shows it."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes:02}:{secs:02}"
