"""Agent states and after-call work in the app, by keys and the palette, on the embedded PBX and (through the
same tests) a CTI server on loopback: the status bar shows the state and its time, a break keeps queue calls
away until ready, a queue call's end starts wrap-up, and the disposition and note reach the history."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest
from conftest import settle, until
from scenes import advance, exchange_of, type_login
from test_app_on_server import server_login
from textual.command import CommandPalette
from textual.widgets import Input, OptionList

from cti_tui.backends.embedded import EmbeddedBackend
from cti_tui.backends.server import ServerBackend
from cti_tui.core.availability import AgentState
from cti_tui.core.model import CallStatus
from cti_tui.engine.connector import Connector
from cti_tui.pbx.exchange import Exchange
from cti_tui.ui.screens.dashboard import Dashboard
from cti_tui.ui.screens.modals import ChoiceModal
from cti_tui.ui.widgets.history_pane import party_text
from cti_tui.ui.widgets.wrap_up import WrapUpModal

SIZE = (120, 36)
SALES = "6001"


@dataclass
class World:
    """Where the app logs in, and the PBX behind it (in the app, or in the server)."""

    login: Callable[..., Awaitable[None]]
    exchange: Callable[[object], Exchange]
    colleague: Callable[[object, str], Awaitable[Connector]]  # another person on the same PBX


@pytest.fixture(params=["embedded", "server"])
async def world(request, cti_server) -> World:
    if request.param == "embedded":

        async def login(pilot, email: str = "agent@demo.local") -> None:
            await type_login(pilot, email, "demo")

        async def embedded_colleague(app, email: str) -> Connector:
            connector = Connector(EmbeddedBackend(exchange_of(app)))
            assert await connector.login(email, "demo")
            return connector

        return World(login, lambda app: exchange_of(app), embedded_colleague)
    server = await cti_server(no_answer_timeout=3600)

    async def on_server(pilot, email: str = "agent@demo.local") -> None:
        await server_login(pilot, server.url, email)

    async def server_colleague(app, email: str) -> Connector:
        connector = Connector(ServerBackend(server.url))
        assert await connector.login(email, "demo")
        return connector

    return World(on_server, lambda app: server.exchange, server_colleague)


def status_text(app) -> str:
    return app.screen.query_one("#status").render().plain


def agent_state(exchange: Exchange) -> AgentState | None:
    agent = exchange.agents.of("1001")
    return None if agent is None else agent.state


async def test_break_with_a_reason_then_ready_offers_the_waiting_queue_call(make_app, world: World) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await world.login(pilot)
        await until(pilot, lambda: isinstance(app.screen, Dashboard), "the dashboard")
        exchange = world.exchange(app)
        await until(pilot, lambda: "AVAILABLE 00:00" in status_text(app), "available, since just now")
        await pilot.press("b")
        await until(pilot, lambda: isinstance(app.screen, ChoiceModal), "the break reasons")
        assert app.screen.query_one(OptionList).option_count == len(exchange.org.agents.break_reasons)
        await pilot.press("down", "enter")  # the second reason: training
        await until(pilot, lambda: agent_state(exchange) is AgentState.BREAK, "on a break in the PBX")
        await until(pilot, lambda: "BREAK training" in status_text(app), "the break shown with its reason")
        leg = exchange.inbound_call("+12025551001", SALES, "Ada Lovelace")
        assert leg is not None
        await settle(pilot)
        assert exchange.legs[leg.id].line == "queue:sales"  # waits in the queue: the agent is not offered it
        assert app.connector.get_call(leg.id) is None
        await pilot.press("R")
        calls = app.screen.query_one("#calls")
        await until(pilot, lambda: calls.selected_call_id == leg.id, "the queue call, offered once ready")
        assert "AVAILABLE" in status_text(app)


async def test_a_supervisor_sees_a_watched_agents_state_on_its_line(make_app, world: World) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await world.login(pilot, "supervisor@demo.local")
        await until(pilot, lambda: isinstance(app.screen, Dashboard), "the dashboard")
        alice = await world.colleague(app, "agent@demo.local")
        try:
            dashboard = app.screen
            assert "AVAILABLE" not in status_text(app)  # a supervisor in no queue has no state of its own
            dashboard.subscribe("user:1001")
            lines = dashboard.query_one("#lines")

            def heading() -> str:
                return lines.row_texts("user:1001")[0] if "user:1001" in lines.nodes else ""

            await until(pilot, lambda: "AVAILABLE" in heading(), "the agent's state on its line")
            assert await alice.take_break("lunch")
            await until(pilot, lambda: "BREAK lunch" in heading(), "the break, seen by the supervisor")
        finally:
            await alice.logout()
        await until(pilot, lambda: "OFFLINE" in heading(), "logged out: offline")
        await app.connector.logout()


async def test_a_queue_calls_end_starts_wrap_up_and_the_disposition_reaches_history(make_app, world: World) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await world.login(pilot)
        await until(pilot, lambda: isinstance(app.screen, Dashboard), "the dashboard")
        exchange = world.exchange(app)
        leg = exchange.inbound_call("+12025551001", SALES, "Ada Lovelace")
        assert leg is not None
        calls = app.screen.query_one("#calls")
        await until(pilot, lambda: calls.selected_call_id == leg.id, "the queue call rings")
        await pilot.press("a")
        await until(pilot, lambda: exchange.legs[leg.id].status is CallStatus.CONNECTED, "answered")
        assert exchange.remote_hangup(leg.id)
        await until(pilot, lambda: "WRAP-UP" in status_text(app), "wrap-up shown")
        assert agent_state(exchange) is AgentState.WRAP_UP
        await pilot.press("w")
        await until(pilot, lambda: isinstance(app.screen, WrapUpModal), "the wrap-up form")
        form = app.screen
        assert "Ada Lovelace" in str(form.query_one(".title").render())
        await pilot.press("down", "enter")  # the second disposition: sale; the note gets the focus
        assert isinstance(form.focused, Input)
        await pilot.press(*"two licences", "enter")
        await until(pilot, lambda: isinstance(app.screen, Dashboard), "the form closed")
        agent = exchange.agents.of("1001")
        await until(pilot, lambda: exchange.agents.of("1001").disposition == "sale", "the disposition in the PBX")
        agent = exchange.agents.of("1001")
        assert agent is not None and (agent.call_id, agent.note) == (leg.id, "two licences")
        pane = app.screen.history_pane

        def kept() -> bool:
            return any(r.id == leg.id and (r.disposition, r.note) == ("sale", "two licences") for r in pane.rows)

        await until(pilot, kept, "the disposition and note in the history pane's rows")
        row = next(r for r in pane.rows if r.id == leg.id)
        assert "· sale" in party_text(row).plain  # shown on the row
        await pilot.press("R")  # ready ends wrap-up early
        await until(pilot, lambda: agent_state(exchange) is AgentState.AVAILABLE, "available again")
        await until(pilot, lambda: "AVAILABLE" in status_text(app), "shown")


async def test_the_wrap_up_countdown_runs_out_in_the_status_bar_and_the_form(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        from scenes import as_agent

        await as_agent(pilot)
        exchange = exchange_of(app)
        leg = exchange.inbound_call("+12025551001", SALES, "Ada Lovelace")
        assert leg is not None
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        await pilot.press("x")
        await settle(pilot)
        assert "WRAP-UP 00:30 left" in status_text(app)
        await pilot.press("w")
        await settle(pilot)
        assert isinstance(app.screen, WrapUpModal)
        await advance(pilot, 10)
        app.screen.tick()
        await settle(pilot)
        assert "00:20 left" in str(app.screen.query_one("#countdown").render())
        await pilot.press("escape")
        await settle(pilot)
        await advance(pilot, 20)
        assert "AVAILABLE 00:00" in status_text(app)
        await advance(pilot, 65)
        assert "AVAILABLE 01:05" in status_text(app)  # time in state


async def test_queue_logout_by_key_and_offline_from_the_palette(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        from scenes import as_agent

        await as_agent(pilot)
        exchange = exchange_of(app)
        await pilot.press("Q")
        await settle(pilot)
        assert isinstance(app.screen, ChoiceModal)
        await pilot.press("enter")  # the first queue, sales: logged in, so this logs out
        await settle(pilot)
        assert exchange.agents.of("1001").queues == ("support",)  # type: ignore[union-attr]
        leg = exchange.inbound_call("+12025551001", SALES, "Ada Lovelace")
        assert leg is not None
        await settle(pilot)
        assert app.connector.get_call(leg.id) is None
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette), "the palette")
        await pilot.press(*"Offline")
        palette = app.screen
        await until(pilot, lambda: palette.query_one(OptionList).option_count > 0, "offered")
        await pilot.press("enter")
        await until(pilot, lambda: agent_state(exchange) is AgentState.OFFLINE, "offline")
        assert "OFFLINE" in status_text(app)
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette), "the palette")
        await pilot.press(*"Break: meeting")
        palette = app.screen
        await until(pilot, lambda: palette.query_one(OptionList).option_count > 0, "offered")
        await pilot.press("enter")
        await until(pilot, lambda: agent_state(exchange) is AgentState.BREAK, "on a break")
        assert exchange.agents.of("1001").reason == "meeting"  # type: ignore[union-attr]


async def test_keys_that_cannot_act_are_not_offered(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        from scenes import as_agent

        await as_agent(pilot)
        dashboard = app.screen
        assert not dashboard.check_action("ready", ())  # already available
        assert not dashboard.check_action("dispose", ())  # no call to wrap up yet
        assert dashboard.check_action("take_break", ()) and dashboard.check_action("queues", ())
        await pilot.press("w")  # nothing happens
        await settle(pilot)
        assert isinstance(app.screen, Dashboard)


async def test_the_state_survives_a_dropped_connection_to_the_server(make_app, cti_server) -> None:
    from cti_tui.core import commands as cmd

    server = await cti_server()
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await server_login(pilot, server.url)
        await until(pilot, lambda: isinstance(app.screen, Dashboard), "the dashboard")
        await pilot.press("b", "enter")  # lunch
        await until(pilot, lambda: "BREAK lunch" in status_text(app), "on a break")
        status = app.screen.query_one("#status")
        backend = app.connector.backend
        backend._socket.transport.abort()
        # while away, the agent's other window (same PBX state) says ready
        identity = app.connector.identity
        with server.exchange.registry.batch():
            server.exchange.agents.execute(identity, cmd.TakeBreak("training"))
        await until(pilot, lambda: status.state == "ready", "ready again")
        await until(pilot, lambda: "BREAK training" in status_text(app), "the change made while away")
        assert app.connector.availability().reason == "training"
        await app.connector.logout()


def test_the_agent_keys_are_remappable_and_clash_with_nothing() -> None:
    from textual.app import App
    from textual.binding import Binding

    from cti_tui.ui.keymap import check_keymap, key_name
    from cti_tui.ui.screens.agent_states import AGENT_KEYS

    scope = list(Binding.make_bindings(Dashboard.BINDINGS))
    reserved = [*Binding.make_bindings(App.BINDINGS), Binding("ctrl+p", "command_palette", "the palette")]
    keys = [key_name(b.key) for b in scope]
    assert len(keys) == len(set(keys)), keys  # one key, one binding
    assert not {key_name(b.key) for b in AGENT_KEYS} & {key_name(k) for b in reserved for k in b.key.split(",")}
    accepted, problems = check_keymap({"cti.ready": "y", "cti.dispose": "Z"}, scope, reserved)
    assert (accepted, problems) == ({"cti.ready": "y", "cti.dispose": "Z"}, [])
    accepted, problems = check_keymap({"cti.take_break": "a"}, scope, reserved)
    assert accepted == {} and "cti.answer" in problems[0]  # a break never steals answer's key


async def test_the_palette_exports_history_as_json_with_the_disposition(make_app, tmp_path, monkeypatch) -> None:
    import json

    from cti_tui.store.history import STRICT_OFF_LOOP_ENV

    monkeypatch.setenv(STRICT_OFF_LOOP_ENV, "1")  # SQLite on the event loop would fail the test
    monkeypatch.chdir(tmp_path)  # where the palette's export writes
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        from scenes import as_agent

        await as_agent(pilot)
        exchange = exchange_of(app)
        leg = exchange.inbound_call("+12025551001", SALES, "Ada Lovelace")
        assert leg is not None
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        await pilot.press("x")
        await settle(pilot)
        await pilot.press("w")
        await settle(pilot)
        await pilot.press("enter")  # resolved; the note gets the focus
        await pilot.press(*"all good", "enter")
        await settle(pilot)
        pane = app.screen.history_pane
        await until(pilot, lambda: any(r.disposition == "resolved" for r in pane.rows), "filed with its disposition")
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette), "the palette")
        await pilot.press(*"Export call history to JSON")
        palette = app.screen
        await until(pilot, lambda: palette.query_one(OptionList).option_count > 0, "offered")
        await pilot.press("enter")
        await until(pilot, lambda: list(tmp_path.glob("cti-tui-history-*.json")), "the export written")
        (written,) = tmp_path.glob("cti-tui-history-*.json")
        rows = json.loads(written.read_text(encoding="utf-8"))
        assert [(r["id"], r["outcome"], r["disposition"], r["note"]) for r in rows] == [
            (leg.id, "answered", "resolved", "all good")
        ]
