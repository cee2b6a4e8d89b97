"""Issue 14 #3, end to end in the app: back from a drop longer than the server's replay log reaches, the app
takes the present (``too_far_behind``) and nothing is lost from the user's view: the call that ended while it
was away leaves the calls pane and is in the history pane, with the ones that rang and ended unseen."""

from __future__ import annotations

import socket

from conftest import until
from test_app_on_server import server_login

from cti_tui.ui.screens.dashboard import Dashboard


def refused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_back_from_too_far_behind_every_call_that_ended_is_in_the_history(make_app, cti_server) -> None:
    server = await cti_server(no_answer_timeout=3600)
    server.hub.replay.per_session = 3_000  # a few events: what happens while away pushes the rest out
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await server_login(pilot, server.url)
        await until(pilot, lambda: isinstance(app.screen, Dashboard), "the dashboard")
        seen = server.exchange.inbound_call("+12025550143", "1001", "Ada Lovelace")
        kept = server.exchange.inbound_call("+12025550144", "1001", "Bob Kept")
        calls, history = app.screen.query_one("#calls"), app.screen.query_one("#history")
        await until(pilot, lambda: {c.id for c in calls.calls()} == {seen.id, kept.id}, "both calls shown")

        backend = app.connector.backend
        session = server.hub.sessions[backend.session_id]
        real_url, backend.ws_url = backend.ws_url, f"ws://127.0.0.1:{refused_port()}/v1/ws"
        backend._socket.transport.abort()
        await until(pilot, lambda: not session.connections, "the server notices")
        server.exchange.remote_hangup(seen.id)
        unseen = [server.exchange.inbound_call(f"+1202555015{n}", "1001", f"Caller {n}") for n in range(5)]
        for leg in unseen:
            server.exchange.remote_hangup(leg.id)
        assert session.log.first_seq > backend.last_seq + 1  # the log no longer reaches back
        backend.ws_url = real_url

        status = app.screen.query_one("#status")
        await until(pilot, lambda: status.state == "ready", "ready again", timeout=20)
        await until(pilot, lambda: [c.id for c in calls.calls()] == [kept.id], "only the live call is shown")
        await until(pilot, lambda: len(history.rows) == 6, "every ended call in the history pane", timeout=20)
        assert {r.id for r in history.rows} == {seen.id, *(leg.id for leg in unseen)}
        await app.connector.logout()
