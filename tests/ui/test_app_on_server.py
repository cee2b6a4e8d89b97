"""The app on a real CTI server (started on 127.0.0.1 in the test): log in, take a call, survive a drop."""

from __future__ import annotations

from conftest import settle, until
from scenes import open_options
from textual.widgets import Input, Label

from cti_tui.core.model import CallStatus
from cti_tui.ui.screens.dashboard import Dashboard


async def server_login(pilot, url: str, email: str = "agent@demo.local", password: str = "demo") -> None:
    screen = pilot.app.screen
    await open_options(pilot)
    await pilot.click("#backend-server")
    await pilot.pause()
    screen.query_one("#server-url", Input).value = url
    screen.query_one("#email", Input).value = email
    screen.query_one("#password", Input).value = password
    screen.query_one("#password", Input).focus()
    await pilot.press("enter")
    await settle(pilot)


async def test_log_in_to_a_server_take_a_call_and_survive_a_drop(make_app, cti_server) -> None:
    server = await cti_server()
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await server_login(pilot, server.url)
        await until(pilot, lambda: isinstance(app.screen, Dashboard), "the dashboard")
        assert "CTI server" in app.screen.query_one("#status").render().plain
        leg = server.exchange.inbound_call("+12025550143", "1001", "Ada Lovelace")
        assert leg is not None
        calls = app.screen.query_one("#calls")
        await until(pilot, lambda: calls.selected_call_id == leg.id, "the ringing call, selected")
        await pilot.press("a")
        await until(
            pilot, lambda: server.exchange.legs[leg.id].status is CallStatus.CONNECTED, "answered on the server"
        )
        await until(pilot, lambda: app.connector.get_call(leg.id).status is CallStatus.CONNECTED, "shown connected")

        # the socket drops: the status bar says reconnecting, the call stays, and the session comes back
        status = app.screen.query_one("#status")
        states: list[str] = []  # a loopback reconnect may take less than a frame: record every state shown
        app.screen.watch(status, "state", lambda state: states.append(state), init=False)
        backend = app.connector.backend
        backend._socket.transport.abort()
        await until(pilot, lambda: "reconnecting" in states, "reconnecting shown")
        assert leg.id in {c.id for c in calls.calls()}
        server.exchange.hold(server.exchange.legs[leg.id])  # the world moves on while we are away
        await until(pilot, lambda: status.state == "ready", "ready again")
        await until(pilot, lambda: app.connector.get_call(leg.id).status is CallStatus.ON_HOLD, "the missed hold")
        assert {c.id: c.status for c in calls.calls()} == {leg.id: CallStatus.ON_HOLD}
        await app.connector.logout()


async def test_an_unreachable_server_is_reported_on_the_form(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await server_login(pilot, "http://127.0.0.1:9")  # nothing listens on the discard port
        await until(pilot, lambda: "unreachable" in str(app.screen.query_one("#login-error", Label).render()), "error")
        assert app.focused is app.screen.query_one("#server-url", Input)


async def test_a_malformed_server_url_is_refused_before_anything_is_sent(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await server_login(pilot, "ftp:/nope")
        assert "server URL" in str(app.screen.query_one("#login-error", Label).render())
        assert app.focused is app.screen.query_one("#server-url", Input)
        assert app.connector is None


async def test_a_session_the_server_lost_ends_the_calls_and_returns_to_the_login_form(make_app, cti_server) -> None:
    """Issue 14 #5: after a server restart the app stayed on RECONNECTING with a ghost call ticking."""
    from cti_tui.ui.screens.login import LoginScreen

    server = await cti_server()
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await server_login(pilot, server.url)
        await until(pilot, lambda: isinstance(app.screen, Dashboard), "the dashboard")
        leg = server.exchange.inbound_call("+12025550143", "1001", "Ada Lovelace")
        assert leg is not None
        await until(pilot, lambda: app.connector.get_call(leg.id) is not None, "the ringing call")
        await pilot.press("a")
        await until(pilot, lambda: app.connector.get_call(leg.id).status is CallStatus.CONNECTED, "answered")
        seen: list = []
        app.connector.add_listener(seen.append)
        (session,) = server.hub.sessions.values()
        await server.hub.destroy(session)  # what a restart does to it: the client cannot restore it
        await until(
            pilot,
            lambda: isinstance(app.screen, LoginScreen) and app.screen.query("#email"),
            "back on the login form",
        )
        assert app.screen.query_one("#email", Input).value == "agent@demo.local"
        ended = [e.call for e in seen if getattr(e, "call", None) is not None and e.call.id == leg.id]
        assert ended and ended[-1].status is CallStatus.HANGUP and ended[-1].cause == "interrupted"
        messages = [str(n.message) for n in app._notifications]
        assert any("interrupted" in m for m in messages), messages
