"""Issue 17, the screen tells the truth: one conversation at a time, ``a`` answers the ringing call.

Each test runs on the embedded PBX (virtual time) and on the CTI server backend (a real server on
127.0.0.1), through the same keys: only how the agent logs in and where the exchange lives differ.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from conftest import until
from scenes import as_agent, dial, exchange_of
from test_app_on_server import server_login
from textual.widgets import Input

from cti_tui.backends.embedded import EmbeddedBackend
from cti_tui.config import AppConfig
from cti_tui.core.model import CallStatus
from cti_tui.engine.connector import Connector
from cti_tui.pbx.exchange import Exchange
from cti_tui.ui.app import CtiApp
from cti_tui.ui.screens.dashboard import Dashboard
from cti_tui.ui.screens.modals import DestinationModal
from cti_tui.ui.widgets.active_calls import ActiveCalls
from cti_tui.ui.widgets.key_bar import KeyBar

S = CallStatus
SIZE = (120, 40)


@dataclass
class Desk:
    """An agent at the dashboard, and the exchange the calls come from (in-process or the server's)."""

    app: CtiApp
    exchange: Exchange

    @property
    def table(self) -> ActiveCalls:
        return self.app.screen.query_one("#calls", ActiveCalls)

    def status(self, call_id: str) -> S | None:
        assert self.app.connector is not None
        call = self.app.connector.get_call(call_id)
        return None if call is None else call.status

    def shown(self) -> dict[str, S]:
        return {call.id: call.status for call in self.table.calls()}


async def sit_down(kind: str, pilot, cti_server) -> Desk:
    app = pilot.app
    if kind == "embedded":
        await as_agent(pilot)
        exchange = exchange_of(app)
    else:
        server = await cti_server(speed=1.0)
        await server_login(pilot, server.url)
        exchange = server.exchange
    await until(pilot, lambda: isinstance(app.screen, Dashboard), "the dashboard")
    return Desk(app, exchange)


async def ringing(desk: Desk, pilot, number: str, name: str) -> str:
    leg = desk.exchange.inbound_call(number, "1001", name)
    assert leg is not None
    await until(pilot, lambda: desk.shown().get(leg.id) is S.RINGING, f"{name} ringing")
    return leg.id


BACKENDS = pytest.mark.parametrize("kind", ["embedded", "server"])


@BACKENDS
async def test_a_answers_the_ringing_call_and_holds_the_current_one(kind, make_app, cti_server) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        desk = await sit_down(kind, pilot, cti_server)
        first = await ringing(desk, pilot, "+12025550143", "Ada Lovelace")
        await pilot.press("a")
        await until(pilot, lambda: desk.shown().get(first) is S.CONNECTED, "Ada connected")
        second = await ringing(desk, pilot, "+442079460123", "Grace Hopper")
        assert desk.table.selected_call_id == first  # the cursor stays on the conversation

        await pilot.press("a")  # the selected call cannot be answered: the ringing one is
        await until(pilot, lambda: desk.shown().get(second) is S.CONNECTED, "Grace connected")
        await until(pilot, lambda: desk.shown().get(first) is S.ON_HOLD, "Ada held")
        assert desk.table.selected_call_id == second
        assert [s for s in desk.shown().values() if s is S.CONNECTED] == [S.CONNECTED]

        await pilot.press("x")  # hangs up the new call, never the held customer
        await until(pilot, lambda: second not in desk.shown(), "Grace hung up")
        assert desk.status(first) is S.ON_HOLD


@BACKENDS
async def test_a_answers_the_oldest_ringing_call_when_the_selection_cannot_be_answered(
    kind, make_app, cti_server
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        desk = await sit_down(kind, pilot, cti_server)
        talking = await ringing(desk, pilot, "+12025550143", "Ada Lovelace")
        await pilot.press("a")
        await until(pilot, lambda: desk.shown().get(talking) is S.CONNECTED, "Ada connected")
        older = await ringing(desk, pilot, "+442079460123", "Grace Hopper")
        newer = await ringing(desk, pilot, "+33199001234", "Alan Turing")
        assert desk.table.selected_call_id == talking
        await pilot.press("a")
        await until(pilot, lambda: desk.shown().get(older) is S.CONNECTED, "the oldest ringing call answered")
        assert desk.status(newer) is S.RINGING


@BACKENDS
async def test_dialling_while_on_a_call_holds_it_and_selects_the_new_call(kind, make_app, cti_server) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        desk = await sit_down(kind, pilot, cti_server)
        first = await ringing(desk, pilot, "+12025550143", "Ada Lovelace")
        await pilot.press("a")
        await until(pilot, lambda: desk.shown().get(first) is S.CONNECTED, "Ada connected")

        await dial(pilot, "+12025550101")
        await until(pilot, lambda: len(desk.shown()) == 2, "the new call shown")
        (new,) = [cid for cid in desk.shown() if cid != first]
        await until(pilot, lambda: desk.table.selected_call_id == new, "the new call selected")
        assert desk.status(first) is S.ON_HOLD

        await pilot.press("x")
        await until(pilot, lambda: new not in desk.shown(), "the new call hung up")
        assert desk.status(first) is S.ON_HOLD


async def test_hold_on_new_call_off_leaves_the_current_call_connected(make_app) -> None:
    app = make_app(config=AppConfig(bell=False, flash=False, hold_on_new_call=False))
    async with app.run_test(size=SIZE) as pilot:
        desk = await sit_down("embedded", pilot, None)
        first = await ringing(desk, pilot, "+12025550143", "Ada Lovelace")
        await pilot.press("a")
        await until(pilot, lambda: desk.shown().get(first) is S.CONNECTED, "Ada connected")
        second = await ringing(desk, pilot, "+442079460123", "Grace Hopper")
        await pilot.press("a")
        await until(pilot, lambda: desk.shown().get(second) is S.CONNECTED, "Grace connected")
        assert desk.status(first) is S.CONNECTED


def row_text(desk: Desk, call_id: str) -> str:
    table = desk.table
    return table.render_item_row(call_id, 0, table.size.width, table.rich_style).plain


@BACKENDS
async def test_the_queue_a_call_came_through_shows_while_ringing_and_once_answered(kind, make_app, cti_server) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        desk = await sit_down(kind, pilot, cti_server)
        sales = desk.exchange.inbound_call("+12025550188", "+12025550120", "Katherine Johnson")
        support = desk.exchange.inbound_call("+12025550199", "+12025550130", "Hedy Lamarr")
        assert sales is not None and support is not None
        await until(pilot, lambda: desk.shown().get(sales.id) is S.RINGING, "the Sales call offered")
        assert "Sales" in row_text(desk, sales.id)
        assert "Katherine Johnson" in row_text(desk, sales.id)  # the caller's name whole at 80x24
        await pilot.press("a")
        await until(pilot, lambda: desk.shown().get(sales.id) is S.CONNECTED, "the Sales call answered")
        assert "Sales" in row_text(desk, sales.id)
        assert "Katherine Johnson" in row_text(desk, sales.id)
        await pilot.press("x")
        await until(pilot, lambda: "R Ready" in keys_shown(desk), "wrap-up after the Sales call")
        await pilot.press("R")  # the queues offer the next caller only once the agent is ready again
        await until(pilot, lambda: desk.shown().get(support.id) is S.RINGING, "the Support call offered")
        assert "Support" in row_text(desk, support.id)


# --- supervised transfer with a consult stage (issue 17 #6) ------------------------------------------------


async def consulting(desk: Desk, pilot) -> tuple[str, str, Connector]:
    """Ada connected, ``T 1002``, Bruno picks up: the agent is at the consult stage."""
    bruno = Connector(EmbeddedBackend(desk.exchange))
    assert await bruno.login("bruno@demo.local", "demo")
    ada = await ringing(desk, pilot, "+12025550143", "Ada Lovelace")
    await pilot.press("a")
    await until(pilot, lambda: desk.shown().get(ada) is S.CONNECTED, "Ada connected")
    await pilot.press("T")
    await until(pilot, lambda: isinstance(desk.app.screen, DestinationModal), "the transfer dialog")
    desk.app.screen.query_one("#destination", Input).value = "1002"
    await pilot.press("enter")
    await until(pilot, lambda: len(desk.shown()) == 2, "the consult call")
    (consult,) = [cid for cid in desk.shown() if cid != ada]
    await until(pilot, lambda: bruno.active_calls(), "Bruno's phone ringing")
    assert await bruno.answer(bruno.active_calls()[0].id)
    await until(pilot, lambda: desk.shown().get(consult) is S.CONNECTED, "Bruno answered the consult")
    await until(pilot, lambda: desk.table.selected_call_id == consult, "the consult call selected")
    return ada, consult, bruno


def keys_shown(desk: Desk) -> list[str]:
    return desk.app.screen.query_one(KeyBar).shown


@BACKENDS
async def test_consult_stage_talk_to_the_target_swap_then_complete(kind, make_app, cti_server) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        desk = await sit_down(kind, pilot, cti_server)
        ada, consult, bruno = await consulting(desk, pilot)
        assert desk.shown() == {ada: S.ON_HOLD, consult: S.CONNECTED}  # talking to Bruno, Ada waits
        assert desk.app.connector.get_call(consult).consult_for == ada
        await until(pilot, lambda: "C Complete transfer" in keys_shown(desk), "the consult keys")
        assert {"X Cancel transfer", "S Swap"} <= set(keys_shown(desk))
        assert "consult" in row_text(desk, consult) and "transfer" in row_text(desk, ada)

        await pilot.press("S")  # back to Ada for a moment
        await until(pilot, lambda: desk.shown() == {ada: S.CONNECTED, consult: S.ON_HOLD}, "swapped to Ada")
        assert desk.table.selected_call_id == ada
        await pilot.press("S")
        await until(pilot, lambda: desk.shown() == {ada: S.ON_HOLD, consult: S.CONNECTED}, "swapped back")

        await pilot.press("C")
        await until(pilot, lambda: desk.shown() == {}, "both of the agent's calls handed over")
        for call_id in (ada, consult):
            ended = desk.app.connector.get_call(call_id)
            assert ended is not None and ended.cause == "transferred"
        (with_bruno,) = bruno.active_calls()
        assert with_bruno.status is S.CONNECTED and with_bruno.party == "+12025550143"
        await bruno.logout()


@BACKENDS
async def test_consult_stage_cancel_brings_the_customer_back(kind, make_app, cti_server) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        desk = await sit_down(kind, pilot, cti_server)
        ada, consult, bruno = await consulting(desk, pilot)
        await pilot.press("X")
        await until(pilot, lambda: desk.shown() == {ada: S.CONNECTED}, "Ada back, Bruno gone")
        assert desk.app.connector.get_call(consult).cause == "cancelled"
        assert bruno.active_calls() == []
        await bruno.logout()


@BACKENDS
async def test_v_mutes_and_unmutes_the_call_on_the_pbx(kind, make_app, cti_server) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        desk = await sit_down(kind, pilot, cti_server)
        ada = await ringing(desk, pilot, "+12025550143", "Ada Lovelace")
        await until(pilot, lambda: "v Mute/Unmute" not in keys_shown(desk), "no mute while ringing")
        await pilot.press("a")
        await until(pilot, lambda: desk.shown().get(ada) is S.CONNECTED, "Ada connected")
        await until(pilot, lambda: "v Mute/Unmute" in keys_shown(desk), "the mute key")
        await pilot.press("v")
        await until(pilot, lambda: desk.exchange.legs[ada].call.muted, "muted on the PBX")
        await until(pilot, lambda: "muted" in row_text(desk, ada), "the row says muted")
        assert desk.status(ada) is S.CONNECTED  # muting is not holding
        await pilot.press("v")
        await until(pilot, lambda: not desk.exchange.legs[ada].call.muted, "unmuted on the PBX")
        await until(pilot, lambda: "muted" not in row_text(desk, ada), "the mark gone")
