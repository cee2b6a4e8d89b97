"""Queue figures survive a restart: every caller who left a queue is filed in the SQLite history under the
queue's line, and a new process rebuilds today's figures from it before any new event arrives."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from cti_tui.core.clock import VirtualClock
from cti_tui.core.model import Call, CallEvent
from cti_tui.core.service_level import ServiceLevelBook
from cti_tui.engine.queue_figures import QueueFiguresFeed, load_outcomes
from cti_tui.store.history import HistoryStore
from tests.core.test_service_level import _run_shift


def _feeding(feed: QueueFiguresFeed) -> Callable[[Call, datetime], None]:
    """The shift script's events, handed to the feed as a connector would hand them."""
    return lambda call, now: feed.observe(CallEvent(0, call))


def test_figures_are_rebuilt_from_history_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    clock = VirtualClock()
    store = HistoryStore(path)
    feed = QueueFiguresFeed(ServiceLevelBook({"sales": 20.0}), clock.now, lambda call: store.record(call, call.line))
    _run_shift(_feeding(feed), clock)
    clock.advance(100 * 60.0 - clock.elapsed)
    before = feed.figures("sales")
    store.close()

    reopened = HistoryStore(path)  # a new process: a new book, only the file is left
    fresh = QueueFiguresFeed(ServiceLevelBook({"sales": 20.0}), clock.now)
    day_start = clock.now().replace(hour=0, minute=0, second=0, microsecond=0)
    assert fresh.restore(load_outcomes(reopened, ["sales"], day_start)) == 100
    after = fresh.figures("sales")
    reopened.close()

    assert after.windows == before.windows
    assert after.window("today").service_level == 50.0
    assert after.window("15m").answered_in_target == 8


def test_yesterdays_callers_are_not_taken_back(tmp_path: Path) -> None:
    clock = VirtualClock()
    with HistoryStore(tmp_path / "history.sqlite3") as store:
        feed = QueueFiguresFeed(ServiceLevelBook(), clock.now, lambda call: store.record(call, call.line))
        _run_shift(_feeding(feed), clock)
        clock.advance(24 * 3600.0)
        day_start = clock.now().replace(hour=0, minute=0, second=0, microsecond=0)
        assert load_outcomes(store, ["sales"], day_start) == []
