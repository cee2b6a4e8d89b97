"""Call history as the front ends see it: its plain data, its errors, and the protocol a history store offers.

The UI shows pages of ended calls and exports them; it must not know SQLite (``cti_tui.store`` implements
:class:`CallHistory`). Everything here is pure data and imports nothing of cti_tui outside ``core``.

Every method of :class:`CallHistory` but :meth:`CallHistory.close` may wait on the disk: call them from a
worker thread, never from the event loop (the store refuses, in tests). Ended calls reach the history through
the store's recorder, which the composition root attaches to the connector: the UI never writes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
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


class HistoryCancelled(HistoryError):
    """A query or export was cancelled (its answer was no longer wanted); nothing is wrong with the file."""


class Outcome(StrEnum):
    ANSWERED = "answered"
    MISSED = "missed"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    TRANSFERRED = "transferred"
    INTERRUPTED = "interrupted"
    """The backend or session was lost while the call was live: how it really ended is not known here."""


def derive_outcome(call: Call) -> Outcome:
    """How history labels a call: an explicit cause wins, then whether it ever connected, then direction."""
    if call.cause == Cause.INTERRUPTED:
        return Outcome.INTERRUPTED
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
    disposition: str = ""  # the agent's after-call work: its code and note
    note: str = ""

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
    ``searched_newest``: a search too short for the index looked through only this many of the newest calls
    (the caller's ``scan_at_most``; older ones exist), else None.
    """

    rows: list[HistoryRow]
    total: int
    exact: bool = True
    searched_newest: int | None = None


class Cancellation:
    """Lets the thread that wanted an answer say it no longer does (a newer keystroke, a closed screen).

    The store that runs the query registers a way to stop it (``sqlite3.Connection.interrupt``) for as long as
    the query runs; :meth:`cancel` calls it at once. Registering and cancelling hold one lock, so a stop never
    reaches work that was not the cancelled one.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cancelled = False
        self._stops: list[Callable[[], None]] = []

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True
            for stop in self._stops:
                stop()

    def register(self, stop: Callable[[], None]) -> Callable[[], None]:
        """Call ``stop`` on :meth:`cancel` (now, if already cancelled); returns the undo, which must be
        called once the work ``stop`` stops is over."""
        with self._lock:
            if self._cancelled:
                stop()
            self._stops.append(stop)

        def unregister() -> None:
            with self._lock:
                self._stops.remove(stop)

        return unregister


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
        cancel: Cancellation | None = None,
        scan_at_most: int | None = None,
    ) -> HistoryPage:
        """One page of ``owner``'s calls, newest first. Blocking; raises :class:`HistoryError`."""
        ...

    def export_csv(
        self,
        owner: str,
        destination: Path,
        *,
        search: str | None = None,
        outcome: Outcome | None = None,
        direction: Direction | None = None,
        progress: Callable[[int], None] | None = None,
        cancel: Cancellation | None = None,
    ) -> int:
        """Write every matching row to ``destination`` as CSV; ``progress(rows so far)`` now and then.
        Blocking; returns the row count; raises :class:`HistoryError` (or ``OSError`` for the path)."""
        ...

    def export_json(
        self,
        owner: str,
        destination: Path,
        *,
        search: str | None = None,
        outcome: Outcome | None = None,
        direction: Direction | None = None,
        progress: Callable[[int], None] | None = None,
        cancel: Cancellation | None = None,
    ) -> int:
        """As :meth:`export_csv`, as one JSON array of objects with the CSV's columns as keys."""
        ...

    def wait_written(self, timeout: float | None = None) -> bool:
        """Block until every call handed to a recorder before now is committed (or failed); False on timeout."""
        ...

    def close(self) -> None:
        """Write what recorders handed over, then close."""
        ...
