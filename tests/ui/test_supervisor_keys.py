"""A supervisor's keys on a watched agent's call (issue 18): listen / whisper / barge, pickup of a ringing
call, and a hang-up that asks first; an agent gets none of them. The real app on the embedded PBX."""

from __future__ import annotations

import dataclasses

from cti_tui.core.model import CallStatus
from cti_tui.ui.screens.modals import ConfirmModal
from tests.conftest import log_in, settle
from tests.ui.test_flows_keys import (
    CALLER,
    CALLER_NAME,
    SIZE,
    active_keys,
    advance,
    calls_table,
    can,
    dashboard,
    exchange_of,
    rows,
    select_row,
    wait_until,
)

S = CallStatus
SPY_KEYS = {"l", "W", "B"}


async def select_watched(pilot, call_id: str) -> None:
    """Focus the watched-calls pane and move its cursor to ``call_id`` with the arrow keys."""
    pane = dashboard(pilot.app).watched
    assert pane is not None
    pane.focus()
    await settle(pilot)
    for _ in range(pane.row_count + 1):
        if pane.selected_call_id == call_id:
            break
        await pilot.press("down" if pane.cursor_row < pane.position(call_id) else "up")
    assert pane.selected_call_id == call_id


async def watching_bruno_talk(pilot) -> str:
    """Logged in (as whoever the test did), watching user:1002 whose call with a caller is connected."""
    app = pilot.app
    dashboard(app).subscribe("user:1002")
    assert await wait_until(pilot, lambda: "user:1002" in app.connector.subscriptions())
    leg = exchange_of(app).inbound_call(CALLER, "1002", CALLER_NAME)
    assert leg is not None
    exchange_of(app).answer_leg(leg)
    assert await wait_until(pilot, lambda: rows(app).get(leg.id) is S.CONNECTED)
    if dashboard(app).watched is not None:
        await select_watched(pilot, leg.id)
    else:
        await select_row(pilot, leg.id)
    return leg.id


async def test_the_supervisor_listens_to_a_watched_call_with_l(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "supervisor@demo.local")
        theirs = await watching_bruno_talk(pilot)
        assert active_keys(app) >= SPY_KEYS
        assert all(can(app, action) for action in ("listen", "whisper", "barge"))
        await pilot.press("l")
        exchange = exchange_of(app)
        assert await wait_until(pilot, lambda: any(leg.owner == "1100" for leg in exchange.legs.values()))
        await advance(pilot, exchange.org.world.pickup_seconds)
        (mine,) = [c for c in calls_table(app).calls() if c.monitor]
        assert (mine.monitor, mine.status, mine.destination) == ("listen", S.CONNECTED, "1002")
        assert exchange.monitors.spied[exchange.legs[mine.id]] is exchange.legs[theirs]
        row = " ".join(calls_table(app).render_item_row(mine.id, 0, 118, calls_table(app).rich_style).plain.split())
        assert "◉ LISTENING" in row and "Bruno Costa" in row
        assert mine.id in calls_table(app)  # the supervisor's own call, not a watched one
        await pilot.press("shift+tab")  # back to its own calls
        await settle(pilot)
        await select_row(pilot, mine.id)
        assert not SPY_KEYS & active_keys(app)  # one does not listen to one's own listening leg


async def test_hanging_up_a_watched_call_asks_first(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "supervisor@demo.local")
        theirs = await watching_bruno_talk(pilot)
        await pilot.press("x")
        assert await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal))
        assert "not your call" in app.screen.question
        await pilot.press("enter")  # Cancel has the focus: the safe answer
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmModal)
        assert exchange_of(app).legs[theirs].status is S.CONNECTED
        await pilot.press("x")
        assert await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal))
        await pilot.click("#yes")
        assert await wait_until(pilot, lambda: exchange_of(app).legs[theirs].status is S.HANGUP)


async def test_the_supervisor_picks_up_a_ringing_watched_call_with_g(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "supervisor@demo.local")
        app.screen.subscribe("user:1002")
        assert await wait_until(pilot, lambda: "user:1002" in app.connector.subscriptions())
        leg = exchange_of(app).inbound_call(CALLER, "1002", CALLER_NAME)
        assert leg is not None
        assert await wait_until(pilot, lambda: rows(app).get(leg.id) is S.RINGING)
        assert leg.id in dashboard(app).watched and leg.id not in calls_table(app)
        await select_watched(pilot, leg.id)
        assert "g" in active_keys(app) and "a" not in active_keys(app)
        await pilot.press("g")
        assert await wait_until(pilot, lambda: rows(app).get(leg.id) is S.CONNECTED)
        assert leg.id in calls_table(app) and leg.id not in dashboard(app).watched  # it moved to my calls
        assert app.connector.get_call(leg.id).line == "user:1100"
        assert leg.owner == "1100"


async def test_an_agent_has_no_spy_or_pickup_keys_on_a_colleagues_call(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        theirs = await watching_bruno_talk(pilot)
        assert not SPY_KEYS & active_keys(app)
        legs = set(exchange_of(app).legs)
        await pilot.press("l", "W", "B")
        await settle(pilot)
        assert set(exchange_of(app).legs) == legs
        assert exchange_of(app).legs[theirs].status is S.CONNECTED
        ringing = exchange_of(app).inbound_call(CALLER, "1002", CALLER_NAME)
        assert ringing is not None
        assert await wait_until(pilot, lambda: ringing.id in rows(app))
        await select_row(pilot, ringing.id)
        assert not can(app, "pickup")
        assert dashboard(app).watched is None  # an agent's one calls pane, as before


def test_a_queued_caller_reads_waiting_and_a_listening_leg_reads_its_mode() -> None:
    from cti_tui.core.model import Call, Direction
    from cti_tui.ui import render

    waiting = Call("c1", "1", Direction.INBOUND, S.RINGING, "queue:sales", CALLER, "6001", queue_position=2)
    assert render.status_badge(waiting).plain.strip() == "◌ WAITING"
    assert render.line_text(waiting).plain == "queue:sales #2"
    offered = Call("c1", "1", Direction.INBOUND, S.RINGING, "user:1001", CALLER, "1001", also=("queue:sales",))
    assert render.status_badge(offered).plain.strip() == "☎ RINGING"  # on a phone now: it rings
    spying = Call("c2", "2", Direction.OUTBOUND, S.CONNECTED, "user:1100", "1100", "1002", monitor="whisper")
    assert render.status_badge(spying).plain.strip() == "◉ WHISPER"
    assert render.status_badge(dataclasses.replace(spying, monitor="barge")).plain.strip() == "◉ BARGED IN"


async def test_the_palette_offers_barge_on_the_selected_watched_call(make_app) -> None:
    from textual.command import CommandPalette
    from textual.widgets import OptionList

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "supervisor@demo.local")
        await watching_bruno_talk(pilot)
        await pilot.press("ctrl+p")
        assert await wait_until(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"Barge")
        palette = app.screen

        def offered() -> bool:
            options = palette.query_one(OptionList)
            return options.option_count > 0 and "Barge — the selected call" in str(
                options.get_option_at_index(0).prompt
            )

        assert await wait_until(pilot, offered)
        await pilot.press("enter")
        exchange = exchange_of(app)
        assert await wait_until(pilot, lambda: any(leg.call.monitor == "barge" for leg in exchange.legs.values()))


async def test_answering_from_the_watched_pane_points_the_keys_at_the_new_call(make_app) -> None:
    """The watched pane has the focus when the supervisor's own phone rings: `a` answers it, and the next key
    acts on that call, not on the agent's call still selected below (x hangs it up, no question asked)."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "supervisor@demo.local")
        theirs = await watching_bruno_talk(pilot)
        mine = exchange_of(app).inbound_call("+33199001234", "1100", "Alan Turing")
        assert mine is not None
        assert await wait_until(pilot, lambda: rows(app).get(mine.id) is S.RINGING)
        assert "a" in active_keys(app)
        await pilot.press("a")
        assert await wait_until(pilot, lambda: rows(app).get(mine.id) is S.CONNECTED)
        assert await wait_until(pilot, lambda: dashboard(app).selected() == app.connector.get_call(mine.id))
        await pilot.press("x")
        assert await wait_until(pilot, lambda: mine.status is S.HANGUP)
        assert not isinstance(app.screen, ConfirmModal)
        assert exchange_of(app).legs[theirs].status is S.CONNECTED
