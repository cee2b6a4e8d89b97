"""Clocks: real time (optionally sped up) for people, virtual time for exact, sleep-free tests.

The PBX and the connector never read the system clock or sleep themselves; they ask a :class:`Clock` for
the time and for timers. :class:`VirtualClock` only moves when a test says so, so a test of a 30-second
no-answer timeout runs in microseconds and always the same way.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Timer(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        """Run ``callback`` after ``delay`` seconds of this clock's time."""
        ...


class RealClock:
    """Wall-clock time; ``speed`` > 1 makes simulated time run faster (a demo that rings sooner)."""

    def __init__(self, speed: float = 1.0) -> None:
        if not (math.isfinite(speed) and speed > 0):
            raise ValueError(f"speed must be a positive finite number, got {speed!r}")
        self.speed = speed
        self._wall0 = datetime.now(UTC)
        self._mono0 = time.monotonic()

    def now(self) -> datetime:
        return self._wall0 + timedelta(seconds=(time.monotonic() - self._mono0) * self.speed)

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        return asyncio.get_running_loop().call_later(max(0.0, delay) / self.speed, callback)


def _never() -> None:
    return None


class _VirtualTimer:
    __slots__ = ("callback", "cancelled", "when")

    def __init__(self, when: float, callback: Callable[[], None]) -> None:
        self.when = when
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        """Never fires; lets go of the callback (and what it holds) at once, as asyncio's timers do."""
        self.cancelled = True
        self.callback = _never


DEFAULT_EPOCH = datetime(2026, 1, 5, 9, 0, 0, tzinfo=UTC)


class VirtualClock:
    """Time that moves only through :meth:`advance`; timers fire in order, at their exact time."""

    def __init__(self, start: datetime = DEFAULT_EPOCH) -> None:
        self._start = start
        self._elapsed = 0.0
        self._heap: list[tuple[float, int, _VirtualTimer]] = []
        self._order = itertools.count()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self._elapsed)

    @property
    def elapsed(self) -> float:
        return self._elapsed

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        timer = _VirtualTimer(self._elapsed + max(0.0, delay), callback)
        heapq.heappush(self._heap, (timer.when, next(self._order), timer))
        return timer

    def advance(self, seconds: float) -> None:
        """Move time forward, firing every timer that falls due (including ones scheduled meanwhile)."""
        if seconds < 0 or math.isnan(seconds):
            raise ValueError(f"time only moves forward, got {seconds!r}")
        target = self._elapsed + seconds
        while self._heap and self._heap[0][0] <= target:
            when, _, timer = heapq.heappop(self._heap)
            if timer.cancelled:
                continue
            self._elapsed = max(self._elapsed, when)
            timer.callback()
        self._elapsed = max(self._elapsed, target)  # a callback may itself have advanced further

    def next_due(self) -> float | None:
        """Seconds until the next live timer, or None if nothing is scheduled."""
        while self._heap and self._heap[0][2].cancelled:
            heapq.heappop(self._heap)
        return None if not self._heap else self._heap[0][0] - self._elapsed
