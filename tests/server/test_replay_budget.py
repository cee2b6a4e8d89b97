"""The replay logs' byte budget (issue 14 #3): per session and in total, oldest dropped first, checked against
what Python really allocates (tracemalloc), with the event messages the server really sends."""

from __future__ import annotations

import gc
import json
import tracemalloc
from datetime import UTC, datetime

import pytest

from cti_tui.core.model import Call, CallEvent, CallStatus, Direction
from cti_tui.protocol import session as protocol
from cti_tui.server import replay
from cti_tui.server.replay import LOG_OVERHEAD, PER_SESSION_BYTES, TOTAL_BYTES, ReplayBudget, ReplayLog

SESSIONS = 1_000


def event_text(seq: int, session: int) -> bytes:
    """The frame the server sends for a call event (a realistic size: ~600 bytes)."""
    call = Call(
        id=f"2026010509{session:06d}{seq:08d}",
        cid=str(seq),
        direction=Direction.INBOUND,
        status=CallStatus.RINGING if seq % 2 else CallStatus.HANGUP,
        line=f"user:{1000 + session}",
        source=f"+1202555{seq % 10_000:04d}",
        destination=str(1000 + session),
        source_name="Ada Lovelace",
        destination_name=f"Agent {session}",
        setup_at=datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
    )
    return protocol.encode(protocol.event_message(CallEvent(seq, call))).encode()


def fill(log: ReplayLog, session: int, nbytes: int) -> int:
    """Append events until ``nbytes`` of text went in; the last seq appended. (Each text is the session's
    real event message with its seq put in: building a Call for each would make the test ten times slower.)"""
    head, tail = event_text(0, session).split(b'"seq":0', 1)
    seq, written = log.next_seq - 1, 0
    while written < nbytes:
        seq += 1
        text = b'%s"seq":%d%s' % (head, seq, tail)
        log.append(seq, text)
        written += len(text)
    return seq


def test_the_documented_budget_holds_a_thousand_sessions() -> None:
    # docs/protocol.md: 1 MiB per session, 256 MiB in all; 1,000 sessions each keep about a quarter MiB
    assert (PER_SESSION_BYTES, TOTAL_BYTES) == (1024 * 1024, 256 * 1024 * 1024)


def test_a_thousand_full_logs_stay_within_the_total_as_really_allocated() -> None:
    budget = ReplayBudget(per_session=64 * 1024, total=16 * 1024 * 1024)  # 1,000 full logs would be 64 MiB
    gc.collect()
    tracemalloc.start()
    try:
        logs = [budget.log() for _ in range(SESSIONS)]
        last = [fill(log, n, 2 * budget.per_session) for n, log in enumerate(logs)]
        # what the replay module itself holds: the event bytes, the deques, the logs and the budget's set
        held = sum(
            stat.size
            for stat in tracemalloc.take_snapshot()
            .filter_traces([tracemalloc.Filter(True, replay.__file__)])
            .statistics("filename")
        )
    finally:
        tracemalloc.stop()
    assert budget.used <= budget.total
    assert budget.used == sum(log.size for log in logs) + SESSIONS * LOG_OVERHEAD
    assert held <= budget.total, f"{held} bytes allocated for a budget of {budget.total}"
    for log, seq in zip(logs, last, strict=True):
        assert log.size <= budget.per_session
        assert log.next_seq == seq + 1  # the newest events are kept, the oldest dropped
        assert log.first_seq > 1
        kept = [m["seq"] for m in log.messages()]
        assert kept == list(range(log.first_seq, seq + 1))
    # the sessions filled first kept about as much as the last ones: no log was emptied for the others
    fair_share = (budget.total - SESSIONS * LOG_OVERHEAD) / SESSIONS
    assert min(log.size for log in logs) >= 0.8 * fair_share


def test_each_session_keeps_its_own_budget_when_the_total_has_room() -> None:
    budget = ReplayBudget(per_session=8 * 1024, total=10 * 1024 * 1024)
    logs = [budget.log() for _ in range(10)]
    for n, log in enumerate(logs):
        fill(log, n, 5 * budget.per_session)
    assert all(budget.per_session - 1024 <= log.size <= budget.per_session for log in logs)
    quiet = budget.log()
    fill(quiet, 99, 1000)
    assert quiet.first_seq == 1  # a quiet session loses nothing


def test_replay_after_reaches_back_only_as_far_as_the_log() -> None:
    budget = ReplayBudget(per_session=4 * 1024, total=4 * 1024)
    log = budget.log()
    last = fill(log, 1, 20 * 1024)
    assert log.after(0) is None  # too far behind
    assert log.after(log.first_seq - 2) is None
    texts = log.after(log.first_seq - 1)
    assert texts is not None and [json.loads(t)["seq"] for t in texts] == list(range(log.first_seq, last + 1))
    assert log.after(last) == []
    assert log.after(last + 1) is None  # a seq this log never had


def test_a_gap_in_the_sequence_restarts_the_log_and_a_released_log_keeps_nothing() -> None:
    budget = ReplayBudget(per_session=64 * 1024, total=64 * 1024)
    log = budget.log()
    fill(log, 1, 2_000)
    log.append(100, event_text(100, 1))
    assert (log.first_seq, len(log)) == (100, 1)
    assert log.after(50) is None
    budget.release(log)
    assert budget.used == 0 and not budget.logs
    log.append(101, event_text(101, 1))
    assert budget.used == 0 and len(log) == 0


@pytest.mark.parametrize(("per_session", "total"), [(0, 10), (10, 5)])
def test_a_budget_that_cannot_hold_anything_is_refused(per_session: int, total: int) -> None:
    with pytest.raises(ValueError, match="replay budget"):
        ReplayBudget(per_session, total)
