"""Compact replay logs: each session's recent events as encoded bytes, within a byte budget.

A session keeps what it sent so a client that drops can restore and get exactly what it missed. Kept as
one dict per event (10,000 per session), 100 busy sessions held 903 MiB and the collector's pauses over that
heap were the server's p99 latency. Here an event is the frame already sent on the wire, UTF-8 JSON (one
bytes object — the very one written to the sockets — which the collector does not track), sequence numbers
are implied by position, and the bytes are counted: each log holds at most ``per_session`` bytes and all
logs together at most ``total``, the oldest events dropped first. A restore from before a log's first event
gets the present instead (``too_far_behind``).
"""

from __future__ import annotations

import itertools
import json
import sys
from collections import deque
from collections.abc import Iterator
from typing import Any

PER_SESSION_BYTES = 1024 * 1024
TOTAL_BYTES = 256 * 1024 * 1024
# What one kept event costs beyond its text: the bytes object's header and the deque's slot (measured with
# tracemalloc in tests/server/test_replay_budget.py, which checks the budget against real allocations).
ENTRY_OVERHEAD = sys.getsizeof(b"") + 8
# What one log costs beyond its events: its deque (and up to three more 528-byte blocks as events flow
# through it, as tracemalloc saw), itself (five slots, two of them ints of their own), its place in the set.
LOG_OVERHEAD = sys.getsizeof(deque()) + 3 * 528 + 72 + 2 * 32 + 32
TRIM_TO = 0.9  # past the total, trim to this share of it, so the trimming scan runs once per 10 % of appends


class ReplayBudget:
    """The bytes every session's log holds together (each log's own fixed cost included), and the caps on one
    log's events and on all of it."""

    def __init__(self, per_session: int = PER_SESSION_BYTES, total: int = TOTAL_BYTES) -> None:
        if per_session < 1 or total < per_session:
            raise ValueError("the replay budget needs 1 <= per_session <= total bytes")
        self.per_session = per_session
        self.total = total
        self.used = 0
        self.logs: set[ReplayLog] = set()

    def log(self) -> ReplayLog:
        """A new, empty log counted against this budget."""
        log = ReplayLog(self)
        self.logs.add(log)
        self.used += LOG_OVERHEAD
        return log

    def release(self, log: ReplayLog) -> None:
        """Forget ``log`` (its session ended) and give its bytes back."""
        if log in self.logs:
            self.logs.discard(log)
            log.clear()
            log.released = True
            self.used -= LOG_OVERHEAD

    def _over_total(self) -> None:
        """Bring the total down to TRIM_TO of the cap: every log longer than a common level is cut (oldest
        first) to that level, so the busiest sessions give up their oldest events and quiet ones keep theirs."""
        target = int(self.total * TRIM_TO)
        sizes = sorted((log.size for log in self.logs), reverse=True)
        excess, level = self.used - target, 0
        for index, size in enumerate(sizes):
            below = sizes[index + 1] if index + 1 < len(sizes) else 0
            # lowering the first index+1 logs from `size` to `below` frees (size - below) each
            if (index + 1) * (size - below) >= excess:
                level = size - -(-excess // (index + 1))
                break
            excess -= (index + 1) * (size - below)
        for log in list(self.logs):
            log.trim_to(max(0, level))


class ReplayLog:
    """One session's events after ``first_seq - 1``, oldest first, as the frames sent to clients."""

    __slots__ = ("budget", "entries", "first_seq", "released", "size")

    def __init__(self, budget: ReplayBudget) -> None:
        self.budget = budget
        self.entries: deque[bytes] = deque()
        self.first_seq = 1  # the sequence number of entries[0]
        self.size = 0
        self.released = False  # its session ended: what still arrives (the logout's events) is not kept

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def next_seq(self) -> int:
        return self.first_seq + len(self.entries)

    def append(self, seq: int, data: bytes) -> None:
        """Keep event ``seq`` (its frame, ``data``). A gap in the sequence starts the log again: nothing
        before a gap could be replayed without it."""
        if self.released:
            return
        entries, budget = self.entries, self.budget
        if seq != self.first_seq + len(entries):
            self.clear()
            self.first_seq = seq
        entries.append(data)
        cost = len(data) + ENTRY_OVERHEAD
        self.size += cost
        budget.used += cost
        if self.size > budget.per_session:
            self.trim_to(budget.per_session)
        if budget.used > budget.total:
            budget._over_total()

    def trim_to(self, size: int) -> None:
        """Drop the oldest events until this log holds at most ``size`` bytes."""
        while self.entries and self.size > size:
            cost = len(self.entries.popleft()) + ENTRY_OVERHEAD
            self.size -= cost
            self.budget.used -= cost
            self.first_seq += 1

    def clear(self) -> None:
        self.first_seq = self.next_seq
        self.budget.used -= self.size
        self.size = 0
        self.entries.clear()

    def after(self, last_seq: int) -> list[bytes] | None:
        """The frames of the events after ``last_seq``, or None when the log no longer reaches back that far."""
        if last_seq + 1 < self.first_seq or last_seq + 1 > self.next_seq:
            return None
        skip = last_seq + 1 - self.first_seq
        return list(itertools.islice(self.entries, skip, None))

    def messages(self) -> Iterator[dict[str, Any]]:
        """The kept events decoded (for tests and inspection; the server sends the bytes as they are)."""
        for data in self.entries:
            yield json.loads(data)
