"""The queue service-level panel and the wall draw the figures the connector holds: the server's on a CTI
server (no local feed then), the local feed's on the embedded PBX."""

from __future__ import annotations

from conftest import settle, until
from scenes import as_supervisor, exchange_of, scene_app
from test_app_on_server import server_login

from cti_tui.assembly import wiring_of
from cti_tui.core.model import EntryKind
from cti_tui.ui.screens.dashboard import Dashboard
from cti_tui.ui.screens.wall import QueueCard, WallScreen
from cti_tui.ui.widgets.service_level import ServiceLevelPanel

SALES = "+12025550120"


def panel_text(app) -> str:
    panel = app.screen.query_one("#service-level", ServiceLevelPanel)
    return "\n".join(" ".join(str(cell) for cell in column.cells) for column in panel.table().columns)


async def test_the_panel_shows_the_servers_figures(make_app, cti_server) -> None:
    server = await cti_server(speed=1.0)
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await server_login(pilot, server.url, "supervisor@demo.local")
        await until(pilot, lambda: isinstance(app.screen, Dashboard), "the dashboard")
        panel = app.screen.query_one("#service-level", ServiceLevelPanel)
        assert not panel.display  # nothing watched: no panel
        app.screen.subscribe("queue:sales")
        await until(pilot, lambda: "sales" in app.connector.queue_figures(), "the figures on subscribing")
        assert panel.display
        leg = server.exchange.inbound_call("+12025550143", SALES, "Ada Lovelace")
        assert leg is not None
        await until(pilot, lambda: app.connector.queue_figures()["sales"].waiting == 1, "the caller, counted")
        assert server.exchange.remote_hangup(leg.id)
        await until(pilot, lambda: app.connector.queue_figures()["sales"].window("today").abandoned == 1, "the abandon")
        await settle(pilot)
        assert panel.figures["sales"].window("today").service_level == 0.0
        assert "Sales" in panel_text(app)
        # one computation, on the server: the app keeps no feed of its own on a CTI server
        assert server.parts.hub.figures.feed.computations >= 2
        assert wiring_of(app).figures is None
        await app.connector.logout()


async def test_the_wall_watches_every_queue_and_shows_its_figures(tmp_path) -> None:
    app = scene_app(tmp_path)
    app.services.front = "wall"
    async with app.run_test(size=(100, 30)) as pilot:
        await as_supervisor(pilot)
        await until(pilot, lambda: isinstance(app.screen, WallScreen), "the wall")
        await settle(pilot)
        queues = {e.node for e in await app.connector.directory() if e.kind is EntryKind.QUEUE}
        assert set(app.connector.subscriptions()) == queues
        cards = {card.queue for card in app.screen.query(QueueCard)}
        assert {f"queue:{q}" for q in cards} == queues
        leg = exchange_of(app).inbound_call("+12025550143", SALES, "Ada Lovelace")
        assert leg is not None
        app.services.clock.advance(1.5)
        await settle(pilot)
        card = app.screen.query_one("#card-sales", QueueCard)
        assert card.figures is not None and card.figures.waiting == 1
        await pilot.press("d")  # read-only: no call keys (d would open the dial dialog on the dashboard)
        await settle(pilot)
        assert isinstance(app.screen, WallScreen)


async def test_the_wall_says_why_a_queue_shows_nothing(tmp_path) -> None:
    app = scene_app(tmp_path)
    app.services.front = "wall"
    app.services.wall_queues = ("sales", "nosuch")
    async with app.run_test(size=(100, 30)) as pilot:
        await as_supervisor(pilot)
        await until(pilot, lambda: isinstance(app.screen, WallScreen), "the wall")
        await settle(pilot)
        assert app.connector.subscriptions() == ["queue:sales"]
        title = str(app.screen.query_one("#wall-title").render())
        assert "nosuch" in title, title


async def test_the_apps_figures_survive_a_restart(tmp_path) -> None:
    """Without a server the app files each caller's outcome in its own history and reads today's back."""
    first = scene_app(tmp_path)
    async with first.run_test(size=(100, 30)) as pilot:
        await as_supervisor(pilot)
        first.screen.subscribe("queue:sales")
        await settle(pilot)
        leg = exchange_of(first).inbound_call("+12025550143", SALES, "Ada Lovelace")
        assert leg is not None
        first.services.clock.advance(12)
        assert exchange_of(first).remote_hangup(leg.id)
        first.services.clock.advance(1.5)
        await settle(pilot)
        assert first.connector.queue_figures()["sales"].window("today").abandoned == 1
        await first.connector.logout()
    first.services.history.close()

    again = scene_app(tmp_path)  # a new process: the same history file, a new PBX, no live callers
    async with again.run_test(size=(100, 30)) as pilot:
        await as_supervisor(pilot)
        await settle(pilot)
        again.screen.subscribe("queue:sales")
        await until(pilot, lambda: "sales" in again.connector.queue_figures(), "the figures")
        wiring = wiring_of(again)
        await until(
            pilot,
            lambda: wiring.figures.figures("sales").window("today").abandoned == 1,
            "today's caller, taken back from history",
        )
        assert wiring.figures.figures("sales").window("today").longest_abandon == 12.0
        await again.connector.logout()


async def test_the_panel_follows_the_watched_queues(tmp_path) -> None:
    app = scene_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await as_supervisor(pilot)
        panel = app.screen.query_one("#service-level", ServiceLevelPanel)
        for node in ("queue:sales", "queue:support"):
            app.screen.subscribe(node)
            await settle(pilot)
        assert panel.display and set(panel.figures) == {"sales", "support"}
        await app.connector.unsubscribe("queue:sales")
        await settle(pilot)
        assert set(panel.figures) == {"support"}
        await app.connector.unsubscribe("queue:support")
        await settle(pilot)
        assert not panel.display
