"""Queue figures kept live from connectors' events, and taken back from history after a restart.

One :class:`QueueFiguresFeed` per process: the server feeds it every session's events (the book counts a
call once however many sessions saw it), the app feeds it its own connector's. Each caller who leaves a
queue is filed in history under the queue's line (owner ``queue:ID``), so a restart rebuilds today's figures
with :func:`load_outcomes` before the first new event. Figures are computed when asked, never per event.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from cti_tui.core.clock import Clock, Timer
from cti_tui.core.history import CallHistory, HistoryError
from cti_tui.core.model import ActivityEvent, ActivityName, Call, CallEvent, Event
from cti_tui.core.service_level import (
    QUEUE_PREFIX,
    AgentCounts,
    QueueFigures,
    QueueOutcome,
    ServiceLevelBook,
    outcome_from_row,
    outcome_to_call,
)

if TYPE_CHECKING:
    from cti_tui.engine.connector import Connector

log = logging.getLogger("cti_tui.queue_figures")

PAGE = 500  # history rows read per query while rebuilding


class QueueFiguresFeed:
    """A :class:`ServiceLevelBook` fed with events; ``record`` files each departure (an ended call under
    ``queue:ID``); listeners hear the id of a queue whose figures changed."""

    def __init__(
        self,
        book: ServiceLevelBook,
        now: Callable[[], datetime],
        record: Callable[[Call], None] | None = None,
    ) -> None:
        self.book = book
        self.now = now
        self.record = record
        self.computations = 0  # figures computed (what the server must do once per change, not per client)
        self._listeners: list[Callable[[str], None]] = []

    def add_listener(self, listener: Callable[[str], None]) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def observe(self, event: Event) -> None:
        """A connector listener: take in a call event; tell listeners which queue it changed."""
        if not isinstance(event, CallEvent):
            return
        call = event.call
        before = self._touched_queue(call)
        outcome = self.book.observe(call, self.now())
        if outcome is not None and self.record is not None:
            try:
                self.record(outcome_to_call(outcome, call))
            except HistoryError as exc:  # the figures stay right; only a restart would miss this caller
                log.warning("queue outcome of call %s not saved: %s", call.id, exc)
        queue = outcome.queue if outcome is not None else before
        if queue is not None:
            for listener in list(self._listeners):
                listener(queue)

    @staticmethod
    def _touched_queue(call: Call) -> str | None:
        for line in (call.line, *call.also):
            if line.startswith(QUEUE_PREFIX):
                return line[len(QUEUE_PREFIX) :]
        return None

    def set_agents(self, queue: str, agents: AgentCounts) -> None:
        """Where agent states plug in (available / on call / paused per queue, from whoever knows them): the
        queue's figures change, and go out as any change does."""
        self.book.set_agents(queue, agents)
        for listener in list(self._listeners):
            listener(queue)

    def figures(self, queue: str) -> QueueFigures:
        self.computations += 1
        return self.book.figures(queue, self.now())

    def restore(self, outcomes: Iterable[QueueOutcome]) -> int:
        return self.book.restore(outcomes)


def load_outcomes(history: CallHistory, queues: Iterable[str], since: datetime) -> list[QueueOutcome]:
    """The departures filed under each queue's line since ``since`` (blocking: call it off the event loop)."""
    found: list[QueueOutcome] = []
    for queue in queues:
        offset = 0
        while True:
            page = history.query(QUEUE_PREFIX + queue, limit=PAGE, offset=offset, exact_total=False)
            for row in page.rows:
                outcome = outcome_from_row(row)
                if outcome is not None and outcome.left_at >= since:
                    found.append(outcome)
            oldest = page.rows[-1].release_at if page.rows else None
            if len(page.rows) < PAGE or oldest is None or oldest < since:
                break
            offset += PAGE
    return found


class LocalFigures:
    """Queue figures for one connector whose backend does not send them (the embedded PBX, Asterisk, a
    softphone): its events feed ``feed``; within ``interval`` of a change, and every ``refresh`` seconds, the
    figures of the queues it watches are handed to the connector (:meth:`Connector.take_figures`)."""

    def __init__(
        self,
        connector: Connector,
        feed: QueueFiguresFeed,
        clock: Clock,
        *,
        interval: float = 1.0,
        refresh: float = 15.0,
    ) -> None:
        self.connector = connector
        self.feed = feed
        self.clock = clock
        self.interval = interval
        self.refresh = refresh
        self.dirty: set[str] = set()
        self._due: Timer | None = None
        self._refresh_due: Timer | None = None
        self._removers = [connector.add_listener(self._event), feed.add_listener(self._changed)]

    def _watched(self) -> list[str]:
        return [node[len(QUEUE_PREFIX) :] for node in self.connector.subscriptions() if node.startswith(QUEUE_PREFIX)]

    def _event(self, event: Event) -> None:
        if isinstance(event, ActivityEvent):
            if event.name is ActivityName.SUBSCRIBED and event.node and event.node.startswith(QUEUE_PREFIX):
                self.connector.take_figures(self.feed.figures(event.node[len(QUEUE_PREFIX) :]))
                if self._refresh_due is None:
                    self._refresh_due = self.clock.call_later(self.refresh, self._refresh_all)
            elif event.name is ActivityName.LOGGED_OUT:
                self.close()
            return
        self.feed.observe(event)

    def _changed(self, queue: str) -> None:
        self.dirty.add(queue)
        if self._due is None:
            self._due = self.clock.call_later(self.interval, self.flush)

    def flush(self) -> None:
        self._due = None
        dirty, self.dirty = self.dirty, set()
        for queue in self._watched():
            if queue in dirty:
                self.connector.take_figures(self.feed.figures(queue))

    def _refresh_all(self) -> None:
        self._refresh_due = self.clock.call_later(self.refresh, self._refresh_all)
        for queue in self._watched():
            self.connector.take_figures(self.feed.figures(queue))

    def close(self) -> None:
        for timer in (self._due, self._refresh_due):
            if timer is not None:
                timer.cancel()
        self._due = self._refresh_due = None
        for remove in self._removers:
            remove()
        self._removers = []
