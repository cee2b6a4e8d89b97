"""Commands for an agent's availability in queues and a supervisor's listening in — plain data, no I/O.

Kept apart from :mod:`cti_tui.core.commands` so that the agent states being added to core (Available /
Break / Wrap-up / Offline) can map onto them without a merge fight: a backend that can (Asterisk: QueueAdd,
QueueRemove, QueuePause, ChanSpy) takes them in ``execute`` beside the call commands.
``extension``: whose membership (None: the logged-in agent's own). :func:`refusal` is who may send which.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

from cti_tui.core.model import Role


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


def refusal(command: AgentCommand, role: Role, own: str, watched: Collection[str]) -> str | None:
    """Why ``command`` is not allowed (None: it is), under an org file's roles: anyone may log itself in and
    out of queues and pause itself; acting on another agent — its membership, its pause, listening in — is a
    supervisor's, on a line the supervisor watches (``user:EXT``, or for one queue ``queue:NAME``)."""
    target = command.extension or own
    if not isinstance(command, Spy) and target == own:
        return None
    if role is not Role.SUPERVISOR:
        what = "listen in on calls" if isinstance(command, Spy) else f"change {target}'s queue membership"
        return f"only a supervisor may {what}"
    queue = None if isinstance(command, Spy) else command.queue
    if f"user:{target}" in watched or (queue is not None and f"queue:{queue}" in watched):
        return None
    return f"watch user:{target} first: a supervisor acts on the lines it watches"
