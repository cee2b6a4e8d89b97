"""The small least-recently-used caches the row views and the calls pane keep their drawn rows in."""

from __future__ import annotations

from cti_tui.ui.recent import recall, remember


def test_the_least_recently_used_entry_goes_first() -> None:
    cache: dict[str, int] = {}
    for key, value in (("a", 1), ("b", 2), ("c", 3)):
        remember(cache, key, value, cap=3)
    assert recall(cache, "a") == 1  # now the most recently used
    remember(cache, "d", 4, cap=3)
    assert list(cache) == ["c", "a", "d"]  # "b" went, not "a"
    assert recall(cache, "b") is None


def test_a_replaced_entry_becomes_the_most_recently_used() -> None:
    cache: dict[str, int] = {}
    for key, value in (("a", 1), ("b", 2)):
        remember(cache, key, value, cap=2)
    remember(cache, "a", 10, cap=2)  # a stale entry drawn again
    remember(cache, "c", 3, cap=2)
    assert cache == {"a": 10, "c": 3}
