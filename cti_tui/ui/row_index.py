"""Keyed items of varying height in display order, with O(log n) answers to "which row does item k start at"
and "which item is at row r" — what a wall of 10,000 lines needs when one line grows by a call.

Two Fenwick trees over slots: one of item heights (rows), one of presence (item positions). Items are
appended at the end; a removed item leaves a zero-height tombstone until tombstones outnumber the items,
when the slots are compacted (amortised O(1) per removal). Pure logic, no Textual: tested on its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator


class _Fenwick:
    """Prefix sums over a list that grows at the end."""

    def __init__(self, values: Iterable[int] = ()) -> None:
        self._tree: list[int] = [0]
        for value in values:
            self.append(value)

    def __len__(self) -> int:
        return len(self._tree) - 1

    def append(self, value: int) -> None:
        index = len(self._tree)
        lowbit = index & -index
        self._tree.append(value + self.prefix(index - 1) - self.prefix(index - lowbit))

    def add(self, slot: int, delta: int) -> None:
        index = slot + 1
        tree = self._tree
        while index < len(tree):
            tree[index] += delta
            index += index & -index

    def prefix(self, count: int) -> int:
        """Sum of the first ``count`` values."""
        total = 0
        tree = self._tree
        while count > 0:
            total += tree[count]
            count -= count & -count
        return total

    def search(self, target: int) -> int:
        """The first slot whose running sum (including it) exceeds ``target``; len(self) if none does."""
        position = 0
        tree = self._tree
        step = 1 << (len(tree) - 1).bit_length()
        while step:
            nxt = position + step
            if nxt < len(tree) and tree[nxt] <= target:
                position = nxt
                target -= tree[nxt]
            step >>= 1
        return position


class RowIndex:
    """Keys in display order with a height each (rows ≥ 0)."""

    def __init__(self, items: Iterable[tuple[str, int]] = ()) -> None:
        self.reset(items)

    def reset(self, items: Iterable[tuple[str, int]]) -> None:
        self._slots: list[str | None] = []
        self._slot_of: dict[str, int] = {}
        self._height: list[int] = []
        for key, height in items:
            if key not in self._slot_of:
                self._slot_of[key] = len(self._slots)
                self._slots.append(key)
                self._height.append(height)
        self._rows = _Fenwick(self._height)
        self._present = _Fenwick([1] * len(self._slots))

    # --- reading -----------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._slot_of)

    def __contains__(self, key: object) -> bool:
        return key in self._slot_of

    def __iter__(self) -> Iterator[str]:
        return (key for key in self._slots if key is not None)

    @property
    def total_rows(self) -> int:
        return self._rows.prefix(len(self._slots))

    def height(self, key: str) -> int:
        return self._height[self._slot_of[key]]

    def position(self, key: str) -> int:
        """The item's place among the items (0-based); KeyError if absent."""
        return self._present.prefix(self._slot_of[key])

    def start(self, key: str) -> int:
        """The row the item starts at."""
        return self._rows.prefix(self._slot_of[key])

    def key_at(self, position: int) -> str:
        """The item at ``position`` (0-based, clamped to the ends); IndexError when empty."""
        if not self._slot_of:
            raise IndexError("no items")
        position = max(0, min(position, len(self._slot_of) - 1))
        key = self._slots[self._present.search(position)]
        assert key is not None
        return key

    def locate(self, row: int) -> tuple[str, int] | None:
        """The item shown at ``row`` and which of its rows that is, or None past the end."""
        if row < 0 or row >= self.total_rows:
            return None
        slot = self._rows.search(row)
        key = self._slots[slot]
        assert key is not None
        return key, row - self._rows.prefix(slot)

    # --- changing ----------------------------------------------------------------------------------

    def append(self, key: str, height: int) -> None:
        if key in self._slot_of:
            raise KeyError(f"{key!r} is already there")
        self._slot_of[key] = len(self._slots)
        self._slots.append(key)
        self._height.append(height)
        self._rows.append(height)
        self._present.append(1)

    def set_height(self, key: str, height: int) -> int:
        """Change an item's height; returns the change in rows."""
        slot = self._slot_of[key]
        delta = height - self._height[slot]
        if delta:
            self._height[slot] = height
            self._rows.add(slot, delta)
        return delta

    def remove(self, key: str) -> None:
        slot = self._slot_of.pop(key)
        self._rows.add(slot, -self._height[slot])
        self._present.add(slot, -1)
        self._slots[slot] = None
        self._height[slot] = 0
        if len(self._slots) > 64 and len(self._slots) > 2 * len(self._slot_of):
            self.reset([(k, h) for k, h in zip(self._slots, self._height, strict=True) if k is not None])
