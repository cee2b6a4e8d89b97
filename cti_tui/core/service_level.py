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
from dataclasses import dataclass
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


class _Window:
    """Running figures over one window (today, or the last ``span`` seconds), kept up to date as callers join
    and leave, and as the window's start moves: asking for figures costs what left the window since the last
    time, not a walk over the day's calls. The longest waits are sliding maxima (monotonic deques)."""

    __slots__ = (
        "abandon_sum",
        "abandoned",
        "answered",
        "in_target",
        "joins",
        "longest_abandons",
        "longest_answers",
        "outcomes",
        "span",
        "target",
        "wait_sum",
    )

    def __init__(self, span: float | None, target: float) -> None:
        self.span = span  # None: since midnight (UTC)
        self.target = target
        self.joins: deque[datetime] = deque()  # when each caller joined, in order
        self.outcomes: deque[QueueOutcome] = deque()  # in order of leaving
        self.longest_answers: deque[QueueOutcome] = deque()  # waits decreasing: the first is the longest
        self.longest_abandons: deque[QueueOutcome] = deque()
        self.answered = self.abandoned = self.in_target = 0
        self.wait_sum = self.abandon_sum = 0.0

    def since(self, now: datetime) -> datetime:
        return _day_start(now) if self.span is None else now - timedelta(seconds=self.span)

    def join(self, joined: datetime) -> None:
        self.joins.append(joined)

    def leave(self, outcome: QueueOutcome) -> None:
        wait = outcome.wait_seconds
        self.outcomes.append(outcome)
        if outcome.answered:
            self.answered += 1
            self.wait_sum += wait
            self.in_target += wait <= self.target
            longest = self.longest_answers
        else:
            self.abandoned += 1
            self.abandon_sum += wait
            longest = self.longest_abandons
        while longest and longest[-1].wait_seconds <= wait:
            longest.pop()
        longest.append(outcome)

    def evict(self, since: datetime) -> list[QueueOutcome]:
        """Drop what is now before the window's start; the outcomes dropped."""
        while self.joins and self.joins[0] < since:
            self.joins.popleft()
        for longest in (self.longest_answers, self.longest_abandons):
            while longest and longest[0].left_at < since:
                longest.popleft()
        gone = []
        while self.outcomes and self.outcomes[0].left_at < since:
            outcome = self.outcomes.popleft()
            gone.append(outcome)
            wait = outcome.wait_seconds
            if outcome.answered:
                self.answered -= 1
                self.wait_sum -= wait
                self.in_target -= wait <= self.target
            else:
                self.abandoned -= 1
                self.abandon_sum -= wait
        return gone

    def figures(self, waits_now: list[float]) -> WindowFigures:
        settled = self.answered + self.abandoned
        longest_answer = self.longest_answers[0].wait_seconds if self.longest_answers else 0.0
        return WindowFigures(
            offered=len(self.joins),
            answered=self.answered,
            abandoned=self.abandoned,
            answered_in_target=self.in_target,
            service_level=100.0 * self.in_target / settled if settled else None,
            average_wait=self.wait_sum / self.answered if self.answered else None,
            longest_wait=max(longest_answer, *waits_now) if waits_now else longest_answer,
            average_abandon=self.abandon_sum / self.abandoned if self.abandoned else None,
            longest_abandon=self.longest_abandons[0].wait_seconds if self.longest_abandons else 0.0,
        )


class _QueueState:
    __slots__ = ("agents", "talking", "target_seconds", "waiting", "windows")

    def __init__(self, target_seconds: float) -> None:
        self.target_seconds = target_seconds
        self.waiting: dict[str, datetime] = {}  # call id -> joined at
        self.talking: set[str] = set()  # answered from this queue and still live
        self.agents: AgentCounts | None = None
        self.windows = {name: _Window(span, target_seconds) for name, span in WINDOWS}

    def retarget(self, seconds: float) -> None:
        self.target_seconds = seconds
        self.windows = {name: _Window(span, seconds) for name, span in WINDOWS}

    @property
    def today(self) -> _Window:
        return self.windows["today"]


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
        self._seen: set[str] = set()  # call ids that have left their queue today (answered or abandoned)
        self._waiting_in: dict[str, str] = {}  # call id -> the queue it waits in (any event finds it in O(1))
        for queue, seconds in (targets or {}).items():
            self._state(queue).retarget(seconds)

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
            queue = self._waiting_in.get(call.id)
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
            self._waiting_in[call.id] = queue
            for window in state.windows.values():
                window.join(now)
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
        self._waiting_in.pop(call_id, None)
        self._seen.add(call_id)
        if talking:
            state.talking.add(call_id)
        outcome = QueueOutcome(queue, call_id, joined, max(left, joined), answered)
        for window in state.windows.values():
            window.leave(outcome)
        return outcome

    def restore(self, outcomes: Iterable[QueueOutcome]) -> int:
        """Take back outcomes kept from before (history, at start); repeats of a known call are skipped.
        The windows are rebuilt in time order (a restore may come after live calls: the app loads history in
        the background)."""
        fresh = [o for o in outcomes if o.call_id not in self._seen]
        if not fresh:
            return 0
        by_queue: dict[str, list[QueueOutcome]] = {}
        for outcome in fresh:
            self._seen.add(outcome.call_id)
            by_queue.setdefault(outcome.queue, []).append(outcome)
        for queue, added in by_queue.items():
            state = self._state(queue)
            known = list(state.today.outcomes)
            joins = sorted([*state.today.joins, *(o.joined_at for o in added)])
            state.windows = {name: _Window(span, state.target_seconds) for name, span in WINDOWS}
            for window in state.windows.values():
                window.joins.extend(joins)
                for outcome in sorted([*known, *added], key=lambda o: o.left_at):
                    window.leave(outcome)
        return len(fresh)

    def set_agents(self, queue: str, agents: AgentCounts) -> None:
        """Agents available / paused as the agent states know them (on call is counted here when absent)."""
        self._state(queue).agents = agents

    def figures(self, queue: str, now: datetime) -> QueueFigures:
        state = self._state(queue)
        waits_now = [max(0.0, (now - joined).total_seconds()) for joined in state.waiting.values()]
        windows = {}
        for name, window in state.windows.items():
            since = window.since(now)
            gone = window.evict(since)
            if window is state.today:
                self._seen.difference_update(o.call_id for o in gone)
            windows[name] = window.figures(waits_now)  # whoever waits now, waits within every window
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
