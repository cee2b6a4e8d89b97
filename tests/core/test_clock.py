"""Clocks: the virtual one is exact and sleep-free; the real one can run faster than the wall."""

from __future__ import annotations

import asyncio
import contextlib
import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cti_tui.core.clock import DEFAULT_EPOCH, RealClock, VirtualClock

START = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return START + timedelta(seconds=seconds)


# --- VirtualClock -------------------------------------------------------------------------------------------


def test_virtual_clock_starts_where_told_and_only_moves_on_advance() -> None:
    assert VirtualClock().now() == DEFAULT_EPOCH
    assert DEFAULT_EPOCH.tzinfo is not None and DEFAULT_EPOCH.utcoffset() == timedelta(0)
    clock = VirtualClock(START)
    assert clock.now() == START
    assert clock.now() == START
    assert clock.elapsed == 0
    clock.advance(2.5)
    assert clock.now() == at(2.5)
    assert clock.elapsed == 2.5


def test_timers_fire_in_time_order_at_their_exact_time() -> None:
    clock = VirtualClock(START)
    fired: list[tuple[str, datetime]] = []
    for name, delay in (("c", 5.0), ("a", 1.0), ("b", 3.0)):
        clock.call_later(delay, lambda name=name: fired.append((name, clock.now())))
    clock.advance(10)
    assert fired == [("a", at(1)), ("b", at(3)), ("c", at(5))]
    assert clock.now() == at(10)


def test_timers_due_at_the_same_time_fire_in_scheduling_order() -> None:
    clock = VirtualClock(START)
    fired: list[int] = []
    for i in range(5):
        clock.call_later(2, lambda i=i: fired.append(i))
    clock.advance(2)
    assert fired == [0, 1, 2, 3, 4]


def test_only_due_timers_fire() -> None:
    clock = VirtualClock(START)
    fired: list[str] = []
    clock.call_later(1, lambda: fired.append("early"))
    clock.call_later(3, lambda: fired.append("boundary"))
    clock.call_later(3.001, lambda: fired.append("late"))
    clock.advance(3)
    assert fired == ["early", "boundary"]
    clock.advance(0.001)
    assert fired == ["early", "boundary", "late"]


def test_delays_are_relative_to_the_current_time() -> None:
    clock = VirtualClock(START)
    seen: list[datetime] = []
    clock.advance(10)
    clock.call_later(5, lambda: seen.append(clock.now()))
    clock.advance(4)
    assert seen == []
    clock.advance(1)
    assert seen == [at(15)]


def test_timers_scheduled_in_callbacks_fire_within_the_same_advance() -> None:
    clock = VirtualClock(START)
    fired: list[tuple[str, datetime]] = []

    def first() -> None:
        fired.append(("first", clock.now()))
        clock.call_later(2, lambda: fired.append(("second", clock.now())))
        clock.call_later(0, lambda: fired.append(("immediate", clock.now())))
        clock.call_later(100, lambda: fired.append(("too late", clock.now())))

    clock.call_later(1, first)
    clock.call_later(2, lambda: fired.append(("between", clock.now())))
    clock.advance(5)
    assert fired == [
        ("first", at(1)),
        ("immediate", at(1)),
        ("between", at(2)),
        ("second", at(3)),
    ]
    assert clock.now() == at(5)
    assert clock.next_due() == pytest.approx(96)


def test_a_chain_of_timers_runs_to_the_end_of_the_advance() -> None:
    clock = VirtualClock(START)
    ticks: list[datetime] = []

    def tick() -> None:
        ticks.append(clock.now())
        clock.call_later(1, tick)

    clock.call_later(1, tick)
    clock.advance(5)
    assert ticks == [at(s) for s in (1, 2, 3, 4, 5)]


def test_cancel() -> None:
    clock = VirtualClock(START)
    fired: list[str] = []
    keep = clock.call_later(1, lambda: fired.append("keep"))
    drop = clock.call_later(2, lambda: fired.append("drop"))
    drop.cancel()
    clock.advance(5)
    assert fired == ["keep"]
    keep.cancel()  # cancelling a timer that already fired is harmless
    drop.cancel()  # so is cancelling twice
    clock.advance(5)
    assert fired == ["keep"]


def test_a_callback_can_cancel_a_later_timer() -> None:
    clock = VirtualClock(START)
    fired: list[str] = []
    later = clock.call_later(3, lambda: fired.append("later"))
    clock.call_later(1, later.cancel)
    clock.advance(10)
    assert fired == []


def test_next_due() -> None:
    clock = VirtualClock(START)
    assert clock.next_due() is None
    first = clock.call_later(5, lambda: None)
    clock.call_later(8, lambda: None)
    assert clock.next_due() == 5
    clock.advance(2)
    assert clock.next_due() == 3
    first.cancel()
    assert clock.next_due() == 6
    clock.advance(6)
    assert clock.next_due() is None


def test_zero_and_negative_delays_fire_on_the_next_advance_at_the_current_time() -> None:
    clock = VirtualClock(START)
    clock.advance(1)
    seen: list[datetime] = []
    clock.call_later(0, lambda: seen.append(clock.now()))
    clock.call_later(-3, lambda: seen.append(clock.now()))
    assert clock.next_due() == 0
    assert seen == []  # nothing runs until the clock is advanced
    clock.advance(0)
    assert seen == [at(1), at(1)]


def test_time_never_goes_backwards() -> None:
    clock = VirtualClock(START)
    clock.advance(10)
    with contextlib.suppress(ValueError):
        clock.advance(-5)
    assert clock.now() >= at(10)


def test_reentrant_advance_does_not_wind_time_back() -> None:
    clock = VirtualClock(START)
    clock.call_later(1, lambda: clock.advance(10))
    clock.advance(2)
    assert clock.now() >= at(11)


@given(st.lists(st.integers(min_value=0, max_value=10_000), max_size=30), st.integers(0, 10_000))
def test_virtual_clock_property(delays_ms: list[int], horizon_ms: int) -> None:
    clock = VirtualClock(START)
    fired: list[tuple[int, int, datetime]] = []
    for index, delay in enumerate(delays_ms):
        clock.call_later(delay / 1000, lambda i=index, d=delay: fired.append((d, i, clock.now())))
    clock.advance(horizon_ms / 1000)
    due = sorted((d, i) for i, d in enumerate(delays_ms) if d <= horizon_ms)
    assert [(d, i) for d, i, _ in fired] == due
    for delay, _, when in fired:
        assert when == START + timedelta(seconds=delay / 1000)
    assert clock.now() == START + timedelta(seconds=horizon_ms / 1000)
    pending = [d for d in delays_ms if d > horizon_ms]
    if pending:
        assert clock.next_due() == pytest.approx((min(pending) - horizon_ms) / 1000)
    else:
        assert clock.next_due() is None


# --- RealClock ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("speed", [0, -1, -0.5])
def test_real_clock_rejects_non_positive_speed(speed: float) -> None:
    with pytest.raises(ValueError):
        RealClock(speed=speed)


@pytest.mark.parametrize("speed", [math.nan, math.inf], ids=["nan", "inf"])
def test_real_clock_rejects_non_finite_speed(speed: float) -> None:
    with pytest.raises(ValueError):
        RealClock(speed=speed)


def test_real_clock_now_is_utc_and_close_to_the_wall() -> None:
    clock = RealClock()
    now = clock.now()
    assert now.utcoffset() == timedelta(0)
    assert abs((now - datetime.now(UTC)).total_seconds()) < 5
    assert clock.now() >= now


async def test_real_clock_call_later_is_sped_up() -> None:
    clock = RealClock(speed=1000)
    fired = asyncio.Event()
    started = clock.now()
    clock.call_later(1.0, fired.set)
    await asyncio.wait_for(fired.wait(), timeout=0.5)
    # a second of simulated time has passed by the time it fires
    assert (clock.now() - started).total_seconds() >= 0.9


async def test_real_clock_timer_can_be_cancelled() -> None:
    clock = RealClock(speed=1000)
    cancelled = asyncio.Event()
    fired = asyncio.Event()
    timer = clock.call_later(0.5, cancelled.set)
    timer.cancel()
    clock.call_later(1.0, fired.set)  # fires after the cancelled one would have
    await asyncio.wait_for(fired.wait(), timeout=0.5)
    assert not cancelled.is_set()
