"""Queue figures for ``cti-tui serve``: computed once per change, sent to every session watching the queue.

Every session's connector feeds the one :class:`QueueFiguresFeed` (the book counts a call once however many
sessions saw it). A change marks its queue; at most every ``interval`` seconds the marked queues' figures are
computed — once each — and the same message goes to each connection of each session subscribed to that
queue. Every ``refresh`` seconds the watched queues are sent again even without a change, so rolling windows
slide and waits grow on a quiet wallboard. A session (re)attaching gets its queues' current figures at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from cti_tui.core.clock import Clock, Timer
from cti_tui.core.model import ActivityEvent, ActivityName, Event
from cti_tui.core.service_level import QUEUE_PREFIX, queue_of_line
from cti_tui.engine.queue_figures import QueueFiguresFeed
from cti_tui.protocol.queue_figures import figures_to_wire

if TYPE_CHECKING:
    from cti_tui.server.outbox import Connection
    from cti_tui.server.sessions import Session

PUBLISH_INTERVAL = 1.0  # seconds: changes within it go out together
REFRESH_INTERVAL = 15.0  # seconds: a quiet queue's figures are sent again


class FiguresPublisher:
    """Sends ``queueFigures`` messages to the sessions (``sessions()``) that watch each queue."""

    def __init__(
        self,
        feed: QueueFiguresFeed,
        clock: Clock,
        sessions: Callable[[], Iterable[Session]],
        *,
        interval: float = PUBLISH_INTERVAL,
        refresh: float = REFRESH_INTERVAL,
    ) -> None:
        self.feed = feed
        self.clock = clock
        self.sessions = sessions
        self.interval = interval
        self.refresh = refresh
        self.dirty: set[str] = set()
        self._due: Timer | None = None
        self._refresh_due: Timer | None = None
        self.sent = 0  # messages pushed to connections
        feed.add_listener(self._changed)

    def watch(self, session: Session) -> None:
        """Feed the session's events to the book; answer its subscribing to a queue with the figures."""
        session.connector.add_listener(self.feed.observe)

        def subscribed(event: Event) -> None:
            if isinstance(event, ActivityEvent) and event.name is ActivityName.SUBSCRIBED and event.node:
                queue = queue_of_line(event.node)
                if queue is not None:
                    self._push(session.connections, figures_to_wire(self.feed.figures(queue)))

        session.connector.add_listener(subscribed)
        if self._refresh_due is None:
            self._refresh_due = self.clock.call_later(self.refresh, self._refresh_all)

    def send_current(self, session: Session, connection: Connection) -> None:
        """A connection (re)attached: the current figures of every queue its session watches."""
        for node in session.connector.subscriptions():
            queue = queue_of_line(node)
            if queue is not None:
                self._push([connection], figures_to_wire(self.feed.figures(queue)))

    def _changed(self, queue: str) -> None:
        self.dirty.add(queue)
        if self._due is None:
            self._due = self.clock.call_later(self.interval, self.flush)

    def flush(self) -> None:
        """Compute each changed queue's figures once and send them to everyone watching it."""
        self._due = None
        dirty, self.dirty = self.dirty, set()
        self._publish({QUEUE_PREFIX + queue for queue in dirty})

    def _refresh_all(self) -> None:
        self._refresh_due = self.clock.call_later(self.refresh, self._refresh_all)
        self._publish(None)

    def _publish(self, lines: set[str] | None) -> None:
        """Send the figures of ``lines`` (every watched queue when None) to the sessions watching them."""
        watchers: dict[str, list[Session]] = {}
        for session in self.sessions():
            if session.closed or not session.connections:
                continue
            for node in session.connector.subscriptions():
                if node.startswith(QUEUE_PREFIX) and (lines is None or node in lines):
                    watchers.setdefault(node, []).append(session)
        for node, sessions in watchers.items():
            message = figures_to_wire(self.feed.figures(node[len(QUEUE_PREFIX) :]))
            for session in sessions:
                self._push(session.connections, message)

    def _push(self, connections: Iterable[Connection], message: dict[str, Any]) -> None:
        for connection in list(connections):
            connection.push(message)
            self.sent += 1

    def close(self) -> None:
        for timer in (self._due, self._refresh_due):
            if timer is not None:
                timer.cancel()
        self._due = self._refresh_due = None
