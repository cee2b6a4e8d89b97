"""Call queues: who waits, in what place, and which member each waiting call is offered to.

A waiting call is on the queue's line with its place; offered to a member it rings on the member's line
(the queue still watching it) for ``offer_timeout`` seconds, then comes back and goes to the next member.
The longest-waiting call goes to the member idle longest; a member who is busy or absent is skipped.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime

from cti_tui.core.model import CallStatus
from cti_tui.pbx.calls import Calls
from cti_tui.pbx.context import Context
from cti_tui.pbx.legs import Leg, LegBook
from cti_tui.pbx.org import Queue
from cti_tui.pbx.sessions import SessionRegistry

S = CallStatus


class QueueDesk:
    """The queues' waiting calls (in arrival order, offered ones included) and the members' idle times."""

    def __init__(self, context: Context, calls: Calls, book: LegBook, sessions: SessionRegistry) -> None:
        self.context = context
        self.calls = calls
        self.book = book
        self.sessions = sessions
        org = context.org
        self.waiting: dict[str, list[Leg]] = {q.id: [] for q in org.queues}
        self._queues_of: dict[str, list[str]] = {}  # member extension -> the queues it answers
        for queue in org.queues:
            for member in queue.members:
                self._queues_of.setdefault(member, []).append(queue.id)
        self.may_offer: Callable[[str, str], bool] = lambda extension, queue_id: True  # the agent's availability
        self.on_taken: list[Callable[[Leg], None]] = []  # a member answered a queued call (before it leaves)
        now = context.clock.now()
        self.idle_since: dict[str, datetime] = {u.extension: now for u in org.users}

    def enqueue(self, queue: Queue, leg: Leg) -> None:
        """``leg`` joins the back of ``queue`` and is offered if a member is free."""
        self.show_waiting(leg, queue)
        leg.queue_id = queue.id
        self.waiting[queue.id].append(leg)
        self.renumber(queue.id)
        self.distribute(queue.id)

    def show_waiting(self, leg: Leg, queue: Queue) -> None:
        """Put ``leg`` on the queue's line at its place among the waiting calls (one event, if any)."""
        position = self.position(queue.id, leg)
        shown = (leg.line, leg.owner, leg.call.queue_position, leg.call.destination_name)
        if shown != (queue.line, None, position, queue.name):
            leg.owner = None
            self.calls.move(
                leg,
                S.RINGING,
                line=queue.line,
                also=(),
                queue_position=position,
                destination_name=queue.name,
                via=queue.name,
            )

    def position(self, queue_id: str, leg: Leg | None) -> int:
        """The place ``leg`` has (or, not yet queued, will have at the back) among the waiting calls."""
        queued = self.waiting[queue_id]
        ahead = queued[: queued.index(leg)] if leg in queued else queued
        return 1 + sum(1 for other in ahead if other.owner is None and other is not leg)

    def renumber(self, queue_id: str) -> None:
        waiting_legs = [leg for leg in self.waiting[queue_id] if leg.owner is None]
        for position, waiting in enumerate(waiting_legs, start=1):
            if waiting.call.queue_position != position:
                self.calls.move(waiting, S.RINGING, queue_position=position)

    def distribute(self, queue_id: str) -> None:
        """Offer the longest-waiting call to the member idle longest; unanswered offers come back."""
        if not self.waiting.get(queue_id):
            return  # nobody waits: nothing to offer
        queue = self.context.org.queue(queue_id)
        if queue is None:
            return
        busy: set[str] | None = None  # who has a live call, worked out once (not once per member)

        def available(extension: str) -> bool:
            nonlocal busy
            if busy is None:
                busy = self.book.busy_extensions()
            return extension not in busy and self.sessions.is_present(extension) and self.may_offer(extension, queue_id)

        for leg in list(self.waiting[queue_id]):
            if leg.owner is not None or not leg.live:
                continue
            candidates = [m for m in queue.members if m not in leg.skipped_agents and available(m)]
            if not candidates and leg.skipped_agents:
                leg.skipped_agents.clear()  # everyone had a go: start the round again
                candidates = [m for m in queue.members if available(m)]
            if not candidates:
                return
            agent = min(candidates, key=lambda m: (self.idle_since[m], m))
            user = self.context.org.user_by_extension(agent)
            assert user is not None
            leg.owner = agent
            self.calls.move(
                leg,
                S.RINGING,
                line=user.line,
                also=(queue.line,),
                queue_position=None,
                destination_name=f"{queue.name} → {user.name}",
                via=queue.name,
            )
            if busy is not None:
                busy.add(agent)
            self.renumber(queue_id)
            self.sessions.later(queue.offer_timeout, functools.partial(self._offer_timeout, leg, agent, queue))
            if self.context.world is not None:
                self.context.world.leg_ringing(leg)

    def distribute_all(self) -> None:
        for queue_id in self.waiting:
            self.distribute(queue_id)

    def _offer_timeout(self, leg: Leg, agent: str, queue: Queue) -> None:
        if leg.status is S.RINGING and leg.owner == agent and leg.queue_id == queue.id:
            leg.skipped_agents.add(agent)
            self.show_waiting(leg, queue)
            self.renumber(queue.id)
            self.distribute(queue.id)

    def take(self, leg: Leg) -> None:
        """``leg`` was answered: it leaves its queue, and the calls behind it move up."""
        for taken in self.on_taken:
            taken(leg)
        if leg.queue_id and leg in self.waiting.get(leg.queue_id, []):
            self.waiting[leg.queue_id].remove(leg)
            self.renumber(leg.queue_id)
        leg.queue_id = None

    # --- what ending a leg means here (subscribed to Calls) -----------------------------------------

    def leg_ended(self, leg: Leg) -> None:
        """An ended leg leaves its queue (the others move up after it was seen leaving); its member is idle."""
        if leg.owner:
            self.idle_since[leg.owner] = self.context.clock.now()
        if leg.queue_id and leg in self.waiting.get(leg.queue_id, []):
            self.waiting[leg.queue_id].remove(leg)
            self.renumber(leg.queue_id)

    def phone_free(self, extension: str) -> None:
        """A member is free again: only the queues it serves can offer it a waiting call."""
        for queue_id in self._queues_of.get(extension, ()):
            self.distribute(queue_id)
