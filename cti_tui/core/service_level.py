"""Queue service level, computed from the call events a supervisor already receives (sans-I/O).

A caller *joins* a queue when a call is first seen ringing on ``queue:ID`` (waiting there, or offered to a
member with the queue still showing it in ``also``); it *leaves* either answered (the call connects) or
abandoned (it ends first). Each departure is a :class:`QueueOutcome`: the figures of a window (today, the
last 15 or 60 minutes) are counted from the outcomes that fell in it, and from the callers waiting now.

Definitions (the ones most contact centres use, stated so a wallboard means one thing):

- offered: callers who joined within the window (answered, abandoned or still waiting);
- service level %: answered within the queue's target seconds ÷ (answered + abandoned), of the outcomes in
  the window; no outcome yet means no figure (``None``), not 100 %;
- average / longest wait: of the answered callers' waits in the window; the longest also counts those who
  wait now; abandons have their own average and longest time-to-abandon.

:meth:`ServiceLevelBook.observe` is idempotent per call and status, so it can be fed the same call seen by
several sessions (every supervisor watching a queue) and still count it once. Agents available / paused come
from whoever knows agent states (:meth:`ServiceLevelBook.set_agents`). On call can be counted from the events
only where the feed sees every agent's line (``count_on_call``): a supervisor watching a queue sees an answered
call leave for the agent's line and never hears it end, so by default it is left unknown.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cti_tui.core.history import HistoryRow
from cti_tui.core.model import Call, CallStatus, Direction

DEFAULT_TARGET_SECONDS = 20.0
WINDOWS: tuple[tuple[str, float | None], ...] = (("today", None), ("15m", 15 * 60.0), ("60m", 60 * 60.0))
QUEUE_PREFIX = "queue:"


@dataclass(frozen=True, slots=True)
class QueueOutcome:
    """One caller leaving a queue: when they joined, when they left, and whether an agent answered."""

    queue: str  # the queue's id (``sales``), not its line
    call_id: str
    joined_at: datetime
    left_at: datetime
    answered: bool

    @property
    def wait_seconds(self) -> float:
        return max(0.0, (self.left_at - self.joined_at).total_seconds())


@dataclass(frozen=True, slots=True)
class WindowFigures:
    """The figures of one queue over one window."""

    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    answered_in_target: int = 0
    service_level: float | None = None  # percent, None until someone answered or abandoned
    average_wait: float | None = None  # seconds, answered callers
    longest_wait: float = 0.0  # answered callers and those waiting now
    average_abandon: float | None = None  # seconds before hanging up, abandoned callers
    longest_abandon: float = 0.0


@dataclass(frozen=True, slots=True)
class AgentCounts:
    """Agents of a queue by state; ``None`` where nothing tells it (no agent states on this backend)."""

    available: int | None = None
    on_call: int | None = None
    paused: int | None = None


@dataclass(frozen=True, slots=True)
class QueueFigures:
    """Everything a panel or a wallboard shows for one queue at one moment."""

    queue: str
    target_seconds: float
    waiting: int
    longest_waiting: float  # seconds, the caller waiting longest now
    windows: Mapping[str, WindowFigures]
    agents: AgentCounts
    at: datetime

    def window(self, name: str) -> WindowFigures:
        return self.windows[name]


@dataclass(slots=True)
class _QueueState:
    target_seconds: float
    waiting: dict[str, datetime] = field(default_factory=dict)  # call id -> joined at
    talking: set[str] = field(default_factory=set)  # answered from this queue and still live
    outcomes: deque[QueueOutcome] = field(default_factory=deque)  # in order of leaving
    agents: AgentCounts | None = None


def queue_of_line(line: str) -> str | None:
    return line[len(QUEUE_PREFIX) :] if line.startswith(QUEUE_PREFIX) else None


def _day_start(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


class ServiceLevelBook:
    """Per-queue waiting callers and outcomes; ``targets`` maps a queue id to its service-level seconds."""

    def __init__(
        self,
        targets: Mapping[str, float] | None = None,
        default_target: float = DEFAULT_TARGET_SECONDS,
        *,
        count_on_call: bool = False,
    ):
        self.default_target = default_target
        self.count_on_call = count_on_call
        self._queues: dict[str, _QueueState] = {}
        self._seen: set[str] = set()  # call ids that have left their queue (answered or abandoned)
        for queue, seconds in (targets or {}).items():
            self._state(queue).target_seconds = seconds

    def _state(self, queue: str) -> _QueueState:
        state = self._queues.get(queue)
        if state is None:
            state = self._queues[queue] = _QueueState(self.default_target)
        return state

    @property
    def queues(self) -> list[str]:
        return sorted(self._queues)

    def observe(self, call: Call, now: datetime) -> QueueOutcome | None:
        """Take in one call event (as any session saw it); the outcome if the caller just left a queue."""
        if call.id in self._seen:
            if call.ended:
                for state in self._queues.values():
                    state.talking.discard(call.id)
            return None
        queue = self._waiting_queue(call)
        if queue is None:
            queue = next((q for q, s in self._queues.items() if call.id in s.waiting), None)
            if queue is None:
                return None  # never seen in a queue
        state = self._state(queue)
        if call.status is CallStatus.CONNECTED:
            left = call.connect_at or now
            return self._leave(state, queue, call.id, left, answered=True, talking=not call.ended)
        if call.ended:
            left = call.connect_at or call.release_at or now
            return self._leave(state, queue, call.id, left, answered=call.connect_at is not None, talking=False)
        if call.status is CallStatus.RINGING and call.id not in state.waiting:
            state.waiting[call.id] = now
        return None

    @staticmethod
    def _waiting_queue(call: Call) -> str | None:
        if call.status is not CallStatus.RINGING:
            return None
        for line in (call.line, *call.also):
            queue = queue_of_line(line)
            if queue is not None:
                return queue
        return None

    def _leave(
        self, state: _QueueState, queue: str, call_id: str, left: datetime, *, answered: bool, talking: bool
    ) -> QueueOutcome | None:
        joined = state.waiting.pop(call_id, None)
        if joined is None:
            return None
        self._seen.add(call_id)
        if talking:
            state.talking.add(call_id)
        outcome = QueueOutcome(queue, call_id, joined, max(left, joined), answered)
        state.outcomes.append(outcome)
        return outcome

    def restore(self, outcomes: Iterable[QueueOutcome]) -> int:
        """Take back outcomes kept from before (history, at start); repeats of a known call are skipped."""
        added = 0
        for outcome in sorted(outcomes, key=lambda o: o.left_at):
            if outcome.call_id in self._seen:
                continue
            self._seen.add(outcome.call_id)
            self._state(outcome.queue).outcomes.append(outcome)
            added += 1
        return added

    def set_agents(self, queue: str, agents: AgentCounts) -> None:
        """Agents available / paused as the agent states know them (on call is counted here when absent)."""
        self._state(queue).agents = agents

    def forget_before(self, moment: datetime) -> None:
        """Drop outcomes (and the memory of their calls) that left before ``moment`` (yesterday's)."""
        for state in self._queues.values():
            while state.outcomes and state.outcomes[0].left_at < moment:
                self._seen.discard(state.outcomes.popleft().call_id)

    def figures(self, queue: str, now: datetime) -> QueueFigures:
        state = self._state(queue)
        self.forget_before(_day_start(now))
        waits_now = [max(0.0, (now - joined).total_seconds()) for joined in state.waiting.values()]
        windows = {}
        for name, seconds in WINDOWS:
            since = _day_start(now) if seconds is None else now - timedelta(seconds=seconds)
            windows[name] = self._window(state, since, now)
        known = state.agents or AgentCounts()
        on_call = known.on_call
        if on_call is None and self.count_on_call:
            on_call = len(state.talking)
        return QueueFigures(
            queue=queue,
            target_seconds=state.target_seconds,
            waiting=len(waits_now),
            longest_waiting=max(waits_now, default=0.0),
            windows=windows,
            agents=AgentCounts(known.available, on_call, known.paused),
            at=now,
        )

    @staticmethod
    def _window(state: _QueueState, since: datetime, now: datetime) -> WindowFigures:
        answered: list[float] = []
        abandoned: list[float] = []
        joined_in = 0
        for outcome in reversed(state.outcomes):
            if outcome.left_at < since:
                break
            (answered if outcome.answered else abandoned).append(outcome.wait_seconds)
        for outcome in state.outcomes:
            if outcome.joined_at >= since:
                joined_in += 1
        waiting = [(now - joined).total_seconds() for joined in state.waiting.values()]
        in_target = sum(1 for wait in answered if wait <= state.target_seconds)
        settled = len(answered) + len(abandoned)
        return WindowFigures(
            offered=joined_in + sum(1 for joined in state.waiting.values() if joined >= since),
            answered=len(answered),
            abandoned=len(abandoned),
            answered_in_target=in_target,
            service_level=100.0 * in_target / settled if settled else None,
            average_wait=sum(answered) / len(answered) if answered else None,
            longest_wait=max([*answered, *waiting], default=0.0),
            average_abandon=sum(abandoned) / len(abandoned) if abandoned else None,
            longest_abandon=max(abandoned, default=0.0),
        )


def outcome_to_call(outcome: QueueOutcome, call: Call | None = None) -> Call:
    """The outcome as an ended call filed under the queue's line in history (owner ``queue:ID``): set-up is
    when the caller joined, connect when answered, release when they left the queue."""
    base = call or Call(outcome.call_id, outcome.call_id, Direction.INBOUND, CallStatus.HANGUP, "", "", "")
    return base.evolve(
        status=CallStatus.HANGUP if outcome.answered else CallStatus.CANCEL,
        line=QUEUE_PREFIX + outcome.queue,
        also=(),
        cause="normal" if outcome.answered else "cancelled",
        setup_at=outcome.joined_at,
        connect_at=outcome.left_at if outcome.answered else None,
        release_at=outcome.left_at,
        queue_position=None,
        park_slot=None,
    )


def outcome_from_row(row: HistoryRow) -> QueueOutcome | None:
    """The outcome a queue's history row keeps (see :func:`outcome_to_call`); None for any other row."""
    queue = queue_of_line(row.owner)
    if queue is None or row.setup_at is None or row.release_at is None:
        return None
    return QueueOutcome(queue, row.id, row.setup_at, row.release_at, answered=row.connect_at is not None)
