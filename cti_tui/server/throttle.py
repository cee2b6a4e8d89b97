"""Failed logins, counted per key (an account, an address), with exponential back-off.

Only failures count: an office behind one NAT logs in a thousand agents a minute from one address, and a right
password is no reason to slow anyone down. The first ``free`` failures of a key cost nothing; each further one
locks the key for ``base`` seconds, doubled per failure up to ``cap``. While a key is locked, attempts are
refused without looking at the password (so they are not failures, and a guesser gets one guess per lock).
A key's failures are forgotten ``forget_after`` seconds after the last one or the end of its lock, whichever
is later (so waiting out a lock does not bring back the free failures); a successful login forgets an account's
at once.

Attempts under way count too, so that a burst sent at once cannot get more guesses than the key has left:
at most ``max(1, free - failures)`` attempts of one key are checked at the same time. Time is the machine's
monotonic clock, not the PBX's (a demo PBX may run at 50x).

Keys are hashed (an email may be 64 KiB of anything) and at most ``max_keys`` are kept, least recently failed
dropped first: an attacker who sprays made-up accounts costs the server a bounded amount of memory.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

BUSY_RETRY = 1.0  # seconds to wait when a key's remaining attempts are all under way


@dataclass
class _Failures:
    count: int
    last: float
    locked_until: float


class LoginThrottle:
    """Failures per key, and the wait each key must observe before its next attempt."""

    def __init__(
        self,
        free: int,
        *,
        base: float = 30.0,
        cap: float = 900.0,
        forget_after: float = 3600.0,
        max_keys: int = 50_000,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.free = free
        self.base = base
        self.cap = cap
        self.forget_after = forget_after
        self.max_keys = max_keys
        self.now = now
        self._failures: OrderedDict[bytes, _Failures] = OrderedDict()  # least recently failed first
        self._pending: dict[bytes, int] = {}

    @staticmethod
    def _key(key: str) -> bytes:
        return hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=16).digest()

    def _forgettable(self, entry: _Failures, now: float) -> bool:
        return now - max(entry.last, entry.locked_until) >= self.forget_after

    def _entry(self, key: bytes) -> _Failures | None:
        entry = self._failures.get(key)
        if entry is not None and self._forgettable(entry, self.now()):
            del self._failures[key]
            return None
        return entry

    def failures(self, key: str) -> int:
        entry = self._entry(self._key(key))
        return entry.count if entry is not None else 0

    def wait(self, key: str) -> float | None:
        """Seconds before ``key`` may try again, or None when it may try now."""
        hashed = self._key(key)
        entry = self._entry(hashed)
        now = self.now()
        if entry is not None and entry.locked_until > now:
            return entry.locked_until - now
        count = entry.count if entry is not None else 0
        if self._pending.get(hashed, 0) >= max(1, self.free - count):
            return BUSY_RETRY
        return None

    def begin(self, key: str) -> None:
        """An attempt of ``key`` is under way (call :meth:`end` when it is over)."""
        hashed = self._key(key)
        self._pending[hashed] = self._pending.get(hashed, 0) + 1

    def end(self, key: str, *, failed: bool) -> None:
        hashed = self._key(key)
        left = self._pending.get(hashed, 0) - 1
        if left > 0:
            self._pending[hashed] = left
        else:
            self._pending.pop(hashed, None)
        if failed:
            self._failed(hashed)

    def succeeded(self, key: str) -> None:
        """The right credentials: the key's failures are forgotten."""
        self._failures.pop(self._key(key), None)

    def _failed(self, key: bytes) -> None:
        now = self.now()
        entry = self._entry(key)
        if entry is None:
            entry = self._failures[key] = _Failures(0, now, now)
        entry.count += 1
        entry.last = now
        beyond = entry.count - self.free
        if beyond > 0:
            entry.locked_until = now + min(self.cap, self.base * 2 ** min(beyond - 1, 32))
        self._failures.move_to_end(key)
        self._prune(now)

    def _prune(self, now: float) -> None:
        while self._failures:
            oldest_key, oldest = next(iter(self._failures.items()))
            if len(self._failures) <= self.max_keys and not self._forgettable(oldest, now):
                return
            del self._failures[oldest_key]
