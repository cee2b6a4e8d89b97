"""The calls pane draws its rows straight to segments; they must be the very cells its Text rows give."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.style import Style

from cti_tui.core.model import Call, CallStatus, Direction
from cti_tui.ui.widgets.active_calls import ActiveCalls

T0 = datetime(2024, 5, 1, 9, 0, 0, tzinfo=UTC)
BASE = Style(color="#e0e0e0", bgcolor="#1e1e1e")
CURSOR = Style(color="#ddedf9", bgcolor="#0178d4", bold=True)

names = st.text(alphabet=st.sampled_from("abcXYZ é漢字 -'\a"), max_size=40)
# (a bell in a caller's number or name must be dropped on both paths, never reach the terminal)
numbers = st.sampled_from(["+12025550143", "+442079460123", "1002", "", "+33199001234", "anonymous", "+1202\a555"])
calls = st.builds(
    Call,
    id=st.just("c1"),
    cid=st.just("x"),
    direction=st.sampled_from(Direction),
    status=st.sampled_from([s for s in CallStatus if s not in (CallStatus.HANGUP, CallStatus.CANCEL)]),
    line=st.sampled_from(["user:1001", "queue:sales", "user:100000", "conf:room1", "user:\a1002"]),
    source=numbers,
    destination=numbers,
    source_name=names,
    destination_name=names,
    setup_at=st.just(T0),
    connect_at=st.sampled_from([None, T0 + timedelta(seconds=3)]),
    park_slot=st.sampled_from([None, 4]),
    queue_position=st.sampled_from([None, 1, 12]),
    also=st.sampled_from([(), ("queue:support",), ("conf:room1", "queue:sales")]),
)


def cells(strip: object) -> list[tuple[str, Style | None]]:
    return [(char, segment.style) for segment in strip for char in segment.text]  # type: ignore[attr-defined]


@settings(max_examples=300, deadline=None)
@given(call=calls, width=st.integers(min_value=20, max_value=220), base=st.sampled_from([BASE, CURSOR]))
def test_segment_rows_draw_the_same_cells_as_text_rows(call: Call, width: int, base: Style) -> None:
    pane = ActiveCalls(lambda: T0 + timedelta(seconds=75))
    pane._calls[call.id] = call
    fast = pane.render_item_strip(call.id, 0, width, base)
    slow = pane._strip(pane.render_item_row(call.id, 0, width, base), width, base)
    assert fast.cell_length == width
    assert cells(fast) == cells(slow)
