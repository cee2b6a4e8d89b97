"""Small caches that drop the least recently used entry first, on a plain dict (dicts keep insertion order).

The row views and the calls pane keep what they drew this way. Not Textual's ``LRUCache``: it links its
entries in lists that point at each other, which the cycle collector must walk (what the wall's caches are
kept small for, ``cti_tui/ui/textual_ext/memory.py``), and it does not replace a stale value on ``set``.
"""

from __future__ import annotations

from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


def recall(cache: dict[K, V], key: K) -> V | None:
    """The entry for ``key`` (now the most recently used), or None."""
    value = cache.pop(key, None)
    if value is not None:
        cache[key] = value
    return value


def remember(cache: dict[K, V], key: K, value: V, cap: int) -> None:
    """Keep ``value`` as the most recently used entry, dropping the least recently used beyond ``cap``."""
    cache.pop(key, None)
    cache[key] = value
    if len(cache) > cap:
        del cache[next(iter(cache))]
