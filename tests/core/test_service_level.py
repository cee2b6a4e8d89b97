"""Queue service level against a shift worked out by hand, on the virtual clock.

The shift: 100 callers join ``queue:sales`` one a minute from 09:00 (caller i at 09:00 + i min). Caller i
with i % 4 == 0 hangs up after 30 s; 1, 2 and 3 are answered after 10, 20 and 40 s. The target is 20 s
(answered *within* 20 s counts, so the 20-s ones are in target).

Today, at 10:40:00 (100 min after 09:00): offered 100, answered 75, abandoned 25, in target 50, so service
level 50/100 = 50 %; average wait (10 + 20 + 40) / 3 = 70/3 s, longest 40 s; abandons 30 s each.

Last 15 minutes (since 10:25:00 = minute 85): caller 84 left at 84 min 30 s (before), caller 85 at 85 min
10 s (in). Callers 85..99 are 15: four each of 10 s, 20 s and 40 s answers (85, 89, 93, 97 / 86, 90, 94, 98 /
87, 91, 95, 99) and three abandons (88, 92, 96). Service level 8/15, average wait 280/12 s.

Last 60 minutes (since 09:40:00 = minute 40): caller 39 (i % 4 == 3) left at 39 min 40 s (before); callers
40..99 are 60, fifteen of each kind: service level 30/60 = 50 %.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from cti_tui.core.clock import VirtualClock
from cti_tui.core.history import HistoryRow, Outcome
from cti_tui.core.model import Call, CallStatus, Direction
from cti_tui.core.service_level import (
    AgentCounts,
    QueueOutcome,
    ServiceLevelBook,
    outcome_from_row,
    outcome_to_call,
)

S = CallStatus
WAITS = {0: 30.0, 1: 10.0, 2: 20.0, 3: 40.0}  # i % 4 -> seconds; 0 abandons


def _waiting(i: int, clock: VirtualClock) -> Call:
    return Call(
        id=f"c{i}",
        cid=str(i),
        direction=Direction.INBOUND,
        status=S.RINGING,
        line="queue:sales",
        source=f"+1202555{i:04d}",
        destination="6001",
        setup_at=clock.now(),
        queue_position=1,
    )


def _run_shift(observe: Callable[[Call, datetime], object], clock: VirtualClock, *, repeat: int = 1) -> None:
    """Feed the shift's events in time order (each ``repeat`` times, as several watching sessions would)."""
    timeline: list[tuple[float, int, str]] = []
    for i in range(100):
        timeline.append((i * 60.0, i, "join"))
        timeline.append((i * 60.0 + WAITS[i % 4], i, "leave"))
    timeline.sort()
    start = clock.elapsed
    calls: dict[int, Call] = {}
    for at, i, what in timeline:
        clock.advance(start + at - clock.elapsed)
        if what == "join":
            calls[i] = _waiting(i, clock)
            events = [calls[i]]
        elif i % 4 == 0:
            events = [calls[i].evolve(status=S.CANCEL, cause="cancelled", release_at=clock.now(), queue_position=None)]
        else:
            offered = calls[i].evolve(line="user:1001", also=("queue:sales",), queue_position=None)
            answered = offered.evolve(status=S.CONNECTED, also=(), connect_at=clock.now())
            ended = answered.evolve(status=S.HANGUP, release_at=clock.now() + timedelta(seconds=90))
            events = [offered, answered] if i >= 99 else [offered, answered, ended]
        for event in events:
            for _ in range(repeat):
                observe(event, clock.now())


def _shift_book(repeat: int = 1, *, count_on_call: bool = False) -> tuple[ServiceLevelBook, VirtualClock]:
    clock = VirtualClock()  # 2026-01-05 09:00:00 UTC
    book = ServiceLevelBook({"sales": 20.0}, count_on_call=count_on_call)
    _run_shift(book.observe, clock, repeat=repeat)
    clock.advance(100 * 60.0 - clock.elapsed)  # 10:40:00
    return book, clock


def test_today_matches_the_hand_computed_shift() -> None:
    book, clock = _shift_book()
    today = book.figures("sales", clock.now()).window("today")
    assert (today.offered, today.answered, today.abandoned, today.answered_in_target) == (100, 75, 25, 50)
    assert today.service_level == pytest.approx(50.0)
    assert today.average_wait == pytest.approx(70 / 3)
    assert today.longest_wait == 40.0
    assert today.average_abandon == pytest.approx(30.0)
    assert today.longest_abandon == 30.0


def test_rolling_windows_match_the_hand_computed_shift() -> None:
    book, clock = _shift_book()
    figures = book.figures("sales", clock.now())
    last15 = figures.window("15m")
    assert (last15.offered, last15.answered, last15.abandoned, last15.answered_in_target) == (15, 12, 3, 8)
    assert last15.service_level == pytest.approx(100 * 8 / 15)
    assert last15.average_wait == pytest.approx(280 / 12)
    last60 = figures.window("60m")
    assert (last60.offered, last60.answered, last60.abandoned, last60.answered_in_target) == (60, 45, 15, 30)
    assert last60.service_level == pytest.approx(50.0)


def test_a_call_seen_by_many_sessions_counts_once() -> None:
    once, clock = _shift_book()
    thrice, _ = _shift_book(repeat=3)
    assert thrice.figures("sales", clock.now()) == once.figures("sales", clock.now())


def test_waiting_callers_and_agents_on_call() -> None:
    book, clock = _shift_book(count_on_call=True)  # fed every line, as a server whose agents all log in
    assert book.figures("sales", clock.now()).agents == AgentCounts(None, 1, None)  # caller 99 still talking
    book.observe(_waiting(500, clock), clock.now())
    clock.advance(75)
    figures = book.figures("sales", clock.now())
    assert (figures.waiting, figures.longest_waiting) == (1, 75.0)
    assert figures.window("today").offered == 101
    assert figures.window("today").longest_wait == 75.0  # the one waiting now is the longest
    book.set_agents("sales", AgentCounts(available=3, on_call=None, paused=2))
    assert book.figures("sales", clock.now()).agents == AgentCounts(3, 1, 2)


def test_on_call_is_unknown_unless_the_feed_sees_every_agent() -> None:
    book, clock = _shift_book()
    assert book.figures("sales", clock.now()).agents == AgentCounts(None, None, None)


def test_no_outcome_yet_means_no_service_level() -> None:
    clock = VirtualClock()
    book = ServiceLevelBook()
    figures = book.figures("sales", clock.now())
    assert figures.window("today").service_level is None
    assert figures.target_seconds == 20.0


def test_yesterday_does_not_count_today() -> None:
    book, clock = _shift_book()
    clock.advance(timedelta(days=1).total_seconds())
    today = book.figures("sales", clock.now()).window("today")
    assert (today.offered, today.answered, today.abandoned) == (0, 0, 0)


def test_an_outcome_survives_the_round_trip_through_a_history_row() -> None:
    clock = VirtualClock()
    joined = clock.now()
    for answered in (True, False):
        outcome = QueueOutcome("sales", "c1", joined, joined + timedelta(seconds=12), answered)
        call = outcome_to_call(outcome)
        assert call.ended and call.line == "queue:sales"
        row = HistoryRow(
            id=call.id,
            owner=call.line,
            direction=call.direction,
            source=call.source,
            source_name="",
            destination=call.destination,
            destination_name="",
            line=call.line,
            cause=call.cause,
            outcome=Outcome.ANSWERED if answered else Outcome.MISSED,
            setup_at=call.setup_at,
            connect_at=call.connect_at,
            release_at=call.release_at,
            ringing_seconds=0.0,
            talk_seconds=0.0,
            status=call.status,
        )
        assert outcome_from_row(row) == outcome


def test_asking_at_every_event_gives_the_same_figures_as_asking_once() -> None:
    """The windows are kept up to date as callers leave them; asking often must not change the answer."""
    clock = VirtualClock()
    book = ServiceLevelBook({"sales": 20.0})
    seen: list[float | None] = []

    def observe_and_ask(call: Call, now: datetime) -> None:
        book.observe(call, now)
        seen.append(book.figures("sales", now).window("15m").service_level)

    _run_shift(observe_and_ask, clock)
    clock.advance(100 * 60.0 - clock.elapsed)
    once, _ = _shift_book()
    assert book.figures("sales", clock.now()) == once.figures("sales", clock.now())
    assert len(set(seen)) > 3  # the rolling window did move meanwhile


def test_history_taken_back_after_live_calls_merges_in_time_order() -> None:
    """The app loads today's history in the background: live callers may already be counted."""
    full, clock = _shift_book()
    outcomes = [o for state in [full._queues["sales"]] for o in state.today.outcomes]
    late = ServiceLevelBook({"sales": 20.0})
    for outcome in outcomes[50:]:
        late.restore([outcome])  # one at a time, the newest first in effect: each a live departure
    assert late.restore(outcomes) == 50  # the rest, older, arrive after; repeats skipped
    assert late.figures("sales", clock.now()).windows == full.figures("sales", clock.now()).windows
