"""Commands for an agent's availability in queues and a supervisor's listening in — plain data, no I/O.

Kept apart from :mod:`cti_tui.core.commands` so that the agent states being added to core (Available /
Break / Wrap-up / Offline) can map onto them without a merge fight: a backend that can (Asterisk: QueueAdd,
QueueRemove, QueuePause, ChanSpy) takes them in ``execute`` beside the call commands.
``extension``: whose membership (None: the logged-in agent's own).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class QueueLogin:
    """Become a member of ``queue`` (its calls are offered to me)."""

    queue: str
    extension: str | None = None


@dataclass(frozen=True, slots=True)
class QueueLogout:
    queue: str
    extension: str | None = None


@dataclass(frozen=True, slots=True)
class QueuePause:
    """Paused (with a reason: ``lunch``) or back; ``queue`` None: in every queue of the member."""

    paused: bool
    reason: str = ""
    queue: str | None = None
    extension: str | None = None


class SpyMode(StrEnum):
    LISTEN = "listen"  # hear both sides, say nothing
    WHISPER = "whisper"  # talk to the agent only
    BARGE = "barge"  # talk to both


@dataclass(frozen=True, slots=True)
class Spy:
    """A supervisor listens to (whispers to, barges into) ``extension``'s call: the supervisor's own phone
    rings, and once picked up it is joined to the agent's call."""

    extension: str
    mode: SpyMode = SpyMode.LISTEN


AgentCommand = QueueLogin | QueueLogout | QueuePause | Spy
