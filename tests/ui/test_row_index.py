"""RowIndex against a plain list model: every answer equal after any sequence of changes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from cti_tui.ui.row_index import RowIndex

ops = st.lists(
    st.one_of(
        st.tuples(st.just("append"), st.integers(0, 300), st.integers(0, 4)),
        st.tuples(st.just("remove"), st.integers(0, 300), st.just(0)),
        st.tuples(st.just("height"), st.integers(0, 300), st.integers(0, 4)),
    ),
    max_size=400,
)


@settings(max_examples=150, deadline=None)
@given(ops)
def test_row_index_matches_a_list(changes: list[tuple[str, int, int]]) -> None:
    index = RowIndex()
    model: list[tuple[str, int]] = []
    for op, n, height in changes:
        key = f"k{n}"
        present = [k for k, _ in model]
        if op == "append" and key not in present:
            index.append(key, height)
            model.append((key, height))
        elif op == "remove" and key in present:
            index.remove(key)
            model.pop(present.index(key))
        elif op == "height" and key in present:
            at = present.index(key)
            assert index.set_height(key, height) == height - model[at][1]
            model[at] = (key, height)
    assert list(index) == [k for k, _ in model]
    assert len(index) == len(model)
    rows = [(k, r) for k, h in model for r in range(h)]
    assert index.total_rows == len(rows)
    for row, expected in enumerate(rows):
        assert index.locate(row) == expected
    assert index.locate(len(rows)) is None
    start = 0
    for position, (key, height) in enumerate(model):
        assert index.position(key) == position
        assert index.key_at(position) == key
        assert index.start(key) == start
        assert index.height(key) == height
        start += height
