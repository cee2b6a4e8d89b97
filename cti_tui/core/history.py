"""Call history as the front ends see it: its plain data, its errors, and the protocol a history store offers.

The UI shows pages of ended calls and exports them; it must not know SQLite (``cti_tui.store`` implements
:class:`CallHistory`). Everything here is pure data and imports nothing of cti_tui outside ``core``.

Ended calls reach the history through the store's recorder, which the composition root attaches to the
connector: the UI only reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from cti_tui.core.model import Call, CallStatus, Cause, Direction


class HistoryError(Exception):
    """The history file cannot be used or written; whatever is on disk was left as it was."""

    def __init__(self, message: str, path: Path) -> None:
        super().__init__(message)
        self.path = path


class Outcome(StrEnum):
    ANSWERED = "answered"
    MISSED = "missed"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    TRANSFERRED = "transferred"


def derive_outcome(call: Call) -> Outcome:
    """How history labels a call: an explicit cause wins, then whether it ever connected, then direction."""
    if call.cause == Cause.REJECTED:
        return Outcome.REJECTED
    if call.cause == Cause.TRANSFERRED:
        return Outcome.TRANSFERRED
    if call.connect_at is not None:
        return Outcome.ANSWERED
    return Outcome.MISSED if call.direction is Direction.INBOUND else Outcome.CANCELLED


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One ended call as its owner line saw it."""

    id: str
    owner: str
    direction: Direction
    source: str
    source_name: str
    destination: str
    destination_name: str
    line: str
    cause: str
    outcome: Outcome
    setup_at: datetime | None
    connect_at: datetime | None
    release_at: datetime | None
    ringing_seconds: float
    talk_seconds: float
    status: CallStatus

    @property
    def party(self) -> str:
        """The other end's number: what "call back" dials."""
        return self.source if self.direction is Direction.INBOUND else self.destination

    @property
    def party_name(self) -> str:
        return self.source_name if self.direction is Direction.INBOUND else self.destination_name


@dataclass(frozen=True, slots=True)
class HistoryPage:
    """One page of a query, newest first, and how many rows match in all (for "41–60 of 1 234").

    ``exact`` is False when the caller let a search stop counting: ``total`` is then a lower bound.
    """

    rows: list[HistoryRow]
    total: int
    exact: bool = True


class CallHistory(Protocol):
    """What the front ends need from a call history (implemented by ``cti_tui.store.HistoryStore``)."""

    path: Path

    def query(
        self,
        owner: str,
        *,
        search: str | None = None,
        outcome: Outcome | None = None,
        direction: Direction | None = None,
        limit: int = 50,
        offset: int = 0,
        exact_total: bool = True,
    ) -> HistoryPage:
        """One page of ``owner``'s calls, newest first. Raises :class:`HistoryError`."""
        ...

    def export_csv(
        self,
        owner: str,
        destination: Path,
        *,
        search: str | None = None,
        outcome: Outcome | None = None,
        direction: Direction | None = None,
    ) -> int:
        """Write every matching row to ``destination`` as CSV; returns the row count. Raises
        :class:`HistoryError` (or ``OSError`` for the path)."""
        ...

    def close(self) -> None:
        """Close the file (the app closes its history when it exits)."""
        ...
