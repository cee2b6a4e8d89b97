"""The lamps logic (plain unit tests) and the subscriptions pane driven through Pilot."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from textual.app import App, ComposeResult

from cti_tui.core.model import Call, CallStatus, Direction, DirectoryEntry, EntryKind
from cti_tui.ui.lamps import Lamp, LineBoard, lamp_for, summarise
from cti_tui.ui.widgets.subscriptions_pane import EMPTY_HINT, SubscriptionsPane, summary_text

T0 = datetime(2024, 5, 1, 9, 0, 0, tzinfo=UTC)
NOW = T0 + timedelta(minutes=2)

DIRECTORY = [
    DirectoryEntry("Alice Agent", "1001", EntryKind.USER, "user:1001"),
    DirectoryEntry("Bob Builder", "1002", EntryKind.USER, "user:1002"),
    DirectoryEntry("Sales", "2001", EntryKind.QUEUE, "queue:sales"),
    DirectoryEntry("Call park", "700", EntryKind.PARK, "callpark"),
]


def make_call(
    call_id: str,
    status: CallStatus,
    line: str,
    *,
    setup: float = 0.0,
    connect: float | None = None,
    also: tuple[str, ...] = (),
    queue_position: int | None = None,
    park_slot: int | None = None,
) -> Call:
    """An inbound call from +442079460000 set up ``setup`` seconds after T0."""
    return Call(
        id=call_id,
        cid=f"c-{call_id}",
        direction=Direction.INBOUND,
        status=status,
        line=line,
        source="+442079460000",
        destination="2001",
        source_name="Carol Caller",
        setup_at=T0 + timedelta(seconds=setup),
        connect_at=None if connect is None else T0 + timedelta(seconds=connect),
        release_at=NOW if status.ended else None,
        also=also,
        queue_position=queue_position,
        park_slot=park_slot,
    )


# --- lamps -----------------------------------------------------------------------------------------


def test_no_calls_is_idle() -> None:
    summary = summarise("user:1001", [], NOW)
    assert summary.lamp is Lamp.IDLE
    assert summary.calls == ()
    assert summary.waiting == 0
    assert summary.longest_wait_seconds == 0.0


@pytest.mark.parametrize(
    ("status", "lamp"),
    [
        (CallStatus.RINGING, Lamp.RINGING),
        (CallStatus.CONNECTED, Lamp.BUSY),
        (CallStatus.INITIAL, Lamp.BUSY),
        (CallStatus.ACCEPTED, Lamp.BUSY),
        (CallStatus.ON_HOLD, Lamp.HELD),
        (CallStatus.PARKED, Lamp.HELD),
        (CallStatus.HANGUP, Lamp.IDLE),
        (CallStatus.CANCEL, Lamp.IDLE),
    ],
)
def test_lamp_for_one_call(status: CallStatus, lamp: Lamp) -> None:
    assert summarise("user:1001", [make_call("a", status, "user:1001")], NOW).lamp is lamp


@pytest.mark.parametrize(
    ("statuses", "lamp"),
    [
        ((CallStatus.ON_HOLD, CallStatus.CONNECTED, CallStatus.RINGING), Lamp.RINGING),
        ((CallStatus.ON_HOLD, CallStatus.CONNECTED), Lamp.BUSY),
        ((CallStatus.PARKED, CallStatus.ACCEPTED), Lamp.BUSY),
        ((CallStatus.PARKED, CallStatus.ON_HOLD), Lamp.HELD),
        ((CallStatus.HANGUP, CallStatus.ON_HOLD), Lamp.HELD),
        ((CallStatus.HANGUP, CallStatus.CANCEL), Lamp.IDLE),
    ],
)
def test_lamp_precedence(statuses: tuple[CallStatus, ...], lamp: Lamp) -> None:
    calls = [make_call(str(i), status, "user:1001") for i, status in enumerate(statuses)]
    assert lamp_for(calls) is lamp
    assert summarise("user:1001", calls, NOW).lamp is lamp


def test_calls_on_other_lines_do_not_count() -> None:
    summary = summarise("user:1001", [make_call("a", CallStatus.RINGING, "user:1002")], NOW)
    assert summary.lamp is Lamp.IDLE
    assert summary.calls == ()


def test_call_seen_through_also_belongs_to_that_node() -> None:
    offered = make_call("a", CallStatus.RINGING, "user:1001", also=("queue:sales",))
    summary = summarise("queue:sales", [offered], NOW)
    assert summary.lamp is Lamp.RINGING
    assert summary.calls == (offered,)
    assert summary.waiting == 0  # offered to an agent: no longer waiting in the queue


def test_ended_calls_are_left_out() -> None:
    calls = [make_call("a", CallStatus.HANGUP, "user:1001"), make_call("b", CallStatus.CONNECTED, "user:1001")]
    assert [c.id for c in summarise("user:1001", calls, NOW).calls] == ["b"]


def test_queue_waiting_and_longest_wait() -> None:
    calls = [
        make_call("late", CallStatus.RINGING, "queue:sales", setup=90, queue_position=2),
        make_call("early", CallStatus.RINGING, "queue:sales", setup=37, queue_position=1),
        make_call("talking", CallStatus.CONNECTED, "user:1001", setup=0, connect=5, also=("queue:sales",)),
    ]
    summary = summarise("queue:sales", calls, NOW)
    assert summary.lamp is Lamp.RINGING
    assert summary.waiting == 2
    assert summary.longest_wait_seconds == 83.0
    assert summary.others == 1
    assert [c.id for c in summary.calls] == ["early", "late", "talking"]
    assert summary_text(summary) == "2 waiting · longest 01:23 · 1 call"


def test_ringing_on_a_user_line_is_not_waiting() -> None:
    summary = summarise("user:1002", [make_call("a", CallStatus.RINGING, "user:1002", setup=10)], NOW)
    assert summary.lamp is Lamp.RINGING
    assert summary.waiting == 0
    assert summary.longest_wait_seconds == 0.0
    assert summary_text(summary) == "1 call"


def test_summary_texts() -> None:
    assert summary_text(summarise("user:1001", [], NOW)) == "idle"
    two = [make_call("a", CallStatus.CONNECTED, "user:1001"), make_call("b", CallStatus.ON_HOLD, "user:1001")]
    assert summary_text(summarise("user:1001", two, NOW)) == "2 calls"


def test_line_board_keeps_latest_and_drops_ended() -> None:
    board = LineBoard(["queue:sales", "user:1001", "queue:sales"])
    assert board.nodes == ("queue:sales", "user:1001")
    waiting = make_call("a", CallStatus.RINGING, "queue:sales", queue_position=1)
    assert board.update(waiting) == ("queue:sales",)
    offered = make_call("a", CallStatus.RINGING, "user:1001", also=("queue:sales",))
    assert board.update(offered) == ("queue:sales", "user:1001")
    talking = offered.evolve(status=CallStatus.CONNECTED, line="user:1001", also=())
    assert board.update(talking) == ("queue:sales", "user:1001")  # it left the queue's view
    assert [s.lamp for s in board.summaries(NOW)] == [Lamp.IDLE, Lamp.BUSY]
    assert board.update(talking.evolve(status=CallStatus.HANGUP, release_at=NOW)) == ("user:1001",)
    assert board.calls() == []
    assert [s.lamp for s in board.summaries(NOW)] == [Lamp.IDLE, Lamp.IDLE]


def test_line_board_replace_and_set_nodes() -> None:
    board = LineBoard(["user:1001"])
    board.replace(
        [
            make_call("a", CallStatus.ON_HOLD, "user:1001"),
            make_call("b", CallStatus.HANGUP, "user:1001"),
            make_call("c", CallStatus.PARKED, "callpark", park_slot=3),
        ]
    )
    assert {c.id for c in board.calls()} == {"a", "c"}
    assert board.update(make_call("z", CallStatus.RINGING, "user:1002")) == ()  # not watched
    board.set_nodes(["callpark", "user:1001"])
    assert [(s.node, s.lamp) for s in board.summaries(NOW)] == [
        ("callpark", Lamp.HELD),
        ("user:1001", Lamp.HELD),
    ]
    assert board.summary("user:1002", NOW).lamp is Lamp.RINGING  # known, shown once watched


# --- the pane --------------------------------------------------------------------------------------


class PaneApp(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.unsubscribed: list[str] = []

    def compose(self) -> ComposeResult:
        yield SubscriptionsPane(DIRECTORY, lambda: NOW, id="lines")

    @property
    def pane(self) -> SubscriptionsPane:
        return self.query_one("#lines", SubscriptionsPane)

    def on_subscriptions_pane_unsubscribe(self, message: SubscriptionsPane.Unsubscribe) -> None:
        self.unsubscribed.append(message.node)


def prompt(pane: SubscriptionsPane, node: str) -> str:
    """The node's rows as plain text, each stripped, runs of spaces between columns shown as two."""
    return "\n".join(re.sub(r" {2,}", "  ", row.strip()) for row in pane.row_texts(node, width=90))


def screen_rows(pane: SubscriptionsPane) -> list[str]:
    """What the pane shows right now, row by row, as the terminal gets it."""
    return [pane.render_line(y).text.rstrip() for y in range(pane.size.height)]


WATCHED = ["queue:sales", "user:1001", "user:1002"]


async def test_empty_pane_shows_a_hint() -> None:
    app = PaneApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        pane = app.pane
        assert pane.row_count == 0
        assert screen_rows(pane)[0].strip() == EMPTY_HINT
        assert pane.highlighted_node is None
        assert pane.border_title == "Lines (0)"
        pane.focus()
        await pilot.press("delete")
        await pilot.pause()
        assert app.unsubscribed == []


async def test_set_nodes_shows_options_in_order_with_names() -> None:
    app = PaneApp()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.pane
        pane.set_nodes(WATCHED)
        await pilot.pause()
        assert list(pane.keys) == WATCHED
        assert prompt(pane, "queue:sales") == "● queue:sales  Sales  idle"
        assert prompt(pane, "user:1001") == "● user:1001  Alice Agent  idle"
        assert prompt(pane, "user:1002") == "● user:1002  Bob Builder  idle"
        assert pane.border_title == "Lines (3)"
        assert pane.highlighted_node == "queue:sales"


async def test_ringing_queue_call_lights_the_queue() -> None:
    app = PaneApp()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.pane
        pane.set_nodes(WATCHED)
        pane.show(make_call("a", CallStatus.RINGING, "queue:sales", setup=37, queue_position=1))
        await pilot.pause()
        assert pane.summary("queue:sales").lamp is Lamp.RINGING
        lines = prompt(pane, "queue:sales").splitlines()
        assert lines[0] == "● queue:sales  Sales  1 waiting · longest 01:23"
        assert lines[1].startswith("◌ WAITING  #1")  # a row of its own: waiting, with its place, not RINGING
        assert "RINGING" not in lines[1] and "Carol Caller" in lines[1]
        assert lines[1].endswith("01:23")
        assert pane.summary("user:1001").lamp is Lamp.IDLE


async def test_busy_held_and_ended() -> None:
    app = PaneApp()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.pane
        pane.set_nodes(WATCHED)
        call = make_call("b", CallStatus.CONNECTED, "user:1002", setup=0, connect=60)
        pane.show(call)
        await pilot.pause()
        assert pane.summary("user:1002").lamp is Lamp.BUSY
        assert prompt(pane, "user:1002").splitlines()[0].endswith("1 call")
        assert prompt(pane, "user:1002").splitlines()[1].endswith("01:00")  # talk time
        pane.show(call.evolve(status=CallStatus.ON_HOLD))
        await pilot.pause()
        assert pane.summary("user:1002").lamp is Lamp.HELD
        assert "ON HOLD" in prompt(pane, "user:1002")
        pane.show(call.evolve(status=CallStatus.HANGUP, release_at=NOW))
        await pilot.pause()
        assert pane.summary("user:1002").lamp is Lamp.IDLE
        assert prompt(pane, "user:1002") == "● user:1002  Bob Builder  idle"


async def test_call_seen_through_also_shows_under_the_queue() -> None:
    app = PaneApp()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.pane
        pane.set_nodes(WATCHED)
        pane.show(make_call("c", CallStatus.RINGING, "user:1001", also=("queue:sales",)))
        await pilot.pause()
        queue = prompt(pane, "queue:sales").splitlines()
        assert queue[0] == "● queue:sales  Sales  1 call"
        assert "→ user:1001" in queue[1]
        assert pane.summary("queue:sales").lamp is Lamp.RINGING
        assert pane.summary("user:1001").lamp is Lamp.RINGING
        assert len(prompt(pane, "user:1001").splitlines()) == 2


async def test_replace_and_tick() -> None:
    clock = [NOW]
    app = PaneApp()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.pane
        pane._now = lambda: clock[0]
        pane.set_nodes(WATCHED)
        pane.replace([make_call("p", CallStatus.CONNECTED, "user:1001", connect=0)])
        await pilot.pause()
        assert prompt(pane, "user:1001").endswith("02:00")
        clock[0] = NOW + timedelta(seconds=5)
        pane.tick()
        await pilot.pause()
        assert prompt(pane, "user:1001").endswith("02:05")
        pane.replace([])
        await pilot.pause()
        assert pane.summary("user:1001").lamp is Lamp.IDLE


async def test_delete_posts_unsubscribe_for_the_highlighted_node() -> None:
    app = PaneApp()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.pane
        pane.set_nodes(WATCHED)
        pane.focus()
        await pilot.press("down")
        await pilot.pause()
        assert pane.highlighted_node == "user:1001"
        await pilot.press("delete")
        await pilot.pause()
        assert app.unsubscribed == ["user:1001"]
        assert list(pane.keys) == WATCHED  # the pane does not unsubscribe by itself


async def test_highlighted_node_is_stable() -> None:
    app = PaneApp()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.pane
        pane.set_nodes(WATCHED)
        pane.focus()
        await pilot.press("down", "down")
        await pilot.pause()
        assert pane.highlighted_node == "user:1002"
        pane.show(make_call("a", CallStatus.RINGING, "queue:sales", queue_position=1))
        pane.show(make_call("b", CallStatus.CONNECTED, "user:1001", connect=3))
        pane.show(make_call("c", CallStatus.RINGING, "user:1002"))
        pane.tick()
        await pilot.pause()
        assert pane.highlighted_node == "user:1002"
        pane.set_nodes(["callpark", *WATCHED])  # a node added in front
        await pilot.pause()
        assert pane.highlighted_node == "user:1002"
        assert list(pane.keys) == ["callpark", *WATCHED]
        assert prompt(pane, "callpark") == "● callpark  Call park  idle"
        pane.set_nodes(["callpark", "queue:sales"])  # the highlighted node went away
        await pilot.pause()
        assert pane.highlighted_node == "queue:sales"
        pane.set_nodes([])
        await pilot.pause()
        assert pane.highlighted_node is None
        assert pane.border_title == "Lines (0)"
        assert screen_rows(pane)[0].strip() == EMPTY_HINT


async def test_a_line_watched_again_shows_what_changed_while_it_was_not() -> None:
    app = PaneApp()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.pane
        pane.add_line("queue:sales")  # the cursor stays here throughout
        pane.add_line("user:1001")
        await pilot.pause()
        assert prompt(pane, "user:1001") == "● user:1001  Alice Agent  idle"
        pane.discard_line("user:1001")
        pane.show(make_call("r", CallStatus.RINGING, "user:1001"))  # known, but not shown: not watched now
        pane.add_line("user:1001")
        await pilot.pause()
        rows = prompt(pane, "user:1001").splitlines()
        assert rows[0] == "● user:1001  Alice Agent  1 call"
        assert "RINGING" in rows[1]
        assert "RINGING" in screen_rows(pane)[2]
