"""Issue 17 #11: missed calls (a badge, the history's missed filter, a call-back key, cleared when seen)
and the hold timer on held rows. The real app on the embedded PBX, on virtual time."""

from __future__ import annotations

from conftest import until
from scenes import advance, answered_call, as_agent, exchange_of, ring, settle

from cti_tui.core.history import Outcome
from cti_tui.core.model import CallStatus, Direction
from cti_tui.ui.widgets.active_calls import ActiveCalls
from cti_tui.ui.widgets.history_pane import HistoryPane, HistoryTable
from cti_tui.ui.widgets.key_bar import KeyBar

SIZE = (120, 40)


def status_text(app) -> str:
    return str(app.screen.query_one("#status").render())


async def missed_call(pilot, number: str, name: str) -> None:
    call_id = await ring(pilot, number, "1001", name)
    assert exchange_of(pilot.app).remote_hangup(call_id)  # the caller gives up
    await settle(pilot)


async def test_missed_calls_badge_call_back_and_seen(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await as_agent(pilot)
        assert "missed" not in status_text(app)
        bar = app.screen.query_one(KeyBar)
        assert "c Call back" not in bar.shown
        await missed_call(pilot, "+442079460123", "Grace Hopper")
        await missed_call(pilot, "+33199001234", "Alan Turing")
        rejected = await ring(pilot, "+12025550143", "1001", "Ada Lovelace")
        await pilot.press("r")  # rejected by the agent: not a missed call
        await settle(pilot)
        assert app.connector.get_call(rejected).status is CallStatus.CANCEL
        assert "☎ 2 missed" in status_text(app)
        await until(pilot, lambda: {"c Call back", "M Missed calls"} <= set(bar.shown), "the missed-call keys")

        await pilot.press("c")  # calls the newest missed caller back
        calls = app.screen.query_one("#calls", ActiveCalls)
        await until(pilot, lambda: calls.calls(), "the call back")
        (back,) = calls.calls()
        assert back.direction is Direction.OUTBOUND and back.destination == "+33199001234"
        assert "☎ 1 missed" in status_text(app)
        await pilot.press("x")
        await settle(pilot)

        await pilot.press("M")  # the history's missed calls: seen, the badge goes
        await settle(pilot)
        history = app.screen.query_one("#history", HistoryPane)
        assert history.outcome_filter is Outcome.MISSED
        assert app.focused is history.query_one(HistoryTable)
        await until(pilot, lambda: len(history.rows) == 2, "the two missed calls listed")
        assert {row.outcome for row in history.rows} == {Outcome.MISSED}
        assert "missed" not in status_text(app)
        await until(pilot, lambda: "c Call back" not in bar.shown, "the call-back key gone")


async def test_a_held_row_shows_how_long_the_party_has_waited(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await as_agent(pilot)
        call_id = await answered_call(pilot)  # talked 15 s
        await pilot.press("h")
        await settle(pilot)
        await advance(pilot, 9)
        calls = app.screen.query_one("#calls", ActiveCalls)
        row = calls.render_item_row(call_id, 0, calls.size.width, calls.rich_style).plain
        assert "‖ 00:09" in row, row
        await pilot.press("h")
        await settle(pilot)
        await advance(pilot, 1)
        row = calls.render_item_row(call_id, 0, calls.size.width, calls.rich_style).plain
        assert "‖" not in row.split("user:1001")[1] and "00:25" in row, row
