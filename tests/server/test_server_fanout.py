"""Broadcast speed (issue 19): an event's body is encoded once for every session watching it, and every
connection's frames are written in one pass, straight to its transport — with each session's own seq, in order.
And the same app on a server that offers no direct writer still delivers everything, one ASGI send a frame."""

from __future__ import annotations

import asyncio
import itertools

import uvicorn
from ws_helpers import Wire, login_token, seqs, wait_for

from cti_tui.server.app import build_server_app
from cti_tui.server.run import bound_socket

WATCHERS = 5
numbers = (f"+1303555{n:04d}" for n in itertools.count(1000))


async def watchers(base: str, count: int) -> list[Wire]:
    """``count`` sessions of one supervisor token, each subscribed to line 1001."""
    token = await login_token(base, "supervisor@demo.local")
    wires = []
    for _ in range(count):
        wire = await Wire.open(base)
        await wire.start(token)
        assert (await wire.request("subscribe", node="user:1001"))["ok"]
        await wire.ping()  # after the subscription's events
        wire.events.clear()
        wires.append(wire)
    return wires


async def test_one_call_event_is_encoded_once_and_written_to_every_socket_in_one_pass(cti_server) -> None:
    server = await cti_server(no_answer_timeout=3600)
    hub = server.hub
    wires = await watchers(server.url, WATCHERS)
    try:
        sessions = [hub.sessions[w.session_id] for w in wires]
        connections = [next(iter(s.connections)) for s in sessions]
        assert all(c.writer is not None for c in connections)  # uvicorn's protocol writes the frames itself
        bodies, passes = hub.frames.bodies, hub.outbox.passes
        starts = [s.connector.last_seq for s in sessions]

        leg = server.exchange.inbound_call(next(numbers), "1001", "Caller")  # ringing on every watcher
        server.exchange.remote_hangup(leg.id)  # and over, before the loop turns
        assert all(c.frames for c in connections) and not any(w.events for w in wires)  # nothing written yet
        lasts = [s.connector.last_seq for s in sessions]
        await wait_for(lambda: hub.outbox.passes > passes, "the write pass")

        assert hub.outbox.passes == passes + 1  # one pass wrote them all
        assert not any(c.frames for c in connections)
        per_session = lasts[0] - starts[0]
        assert per_session >= 2 and all(b - a == per_session for a, b in zip(starts, lasts, strict=True))
        assert hub.frames.bodies - bodies == per_session  # not per_session x WATCHERS
        for wire, start, last in zip(wires, starts, lasts, strict=True):
            events = await wire.events_until(last)
            assert seqs(events) == list(range(start + 1, last + 1))  # its own numbering, in order, once
            assert [e["call"]["id"] for e in events] == [leg.id] * per_session
            assert events[-1]["name"] in ("CANCEL", "HANGUP")
        # the frames each session logged for a restore are the ones it was sent
        log = sessions[0].log
        assert [m["seq"] for m in log.messages()][-per_session:] == list(range(starts[0] + 1, lasts[0] + 1))
    finally:
        for wire in wires:
            await wire.close()


async def test_the_app_on_a_server_without_the_direct_writer_sends_everything_itself(cti_server) -> None:
    parts = (await cti_server(no_answer_timeout=3600)).parts
    app = build_server_app(parts.hub)  # on uvicorn's stock protocols: no frame writer in the scope
    plain = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning"))
    sock = bound_socket()
    task = asyncio.create_task(plain.serve(sockets=[sock]))
    try:
        await wait_for(lambda: plain.started, "the plain server")
        base = f"http://127.0.0.1:{sock.getsockname()[1]}"
        (wire,) = await watchers(base, 1)
        session = parts.hub.sessions[wire.session_id]
        (connection,) = session.connections
        assert connection.writer is None
        start = session.connector.last_seq
        for _ in range(3):
            leg = parts.exchange.inbound_call(next(numbers), "1001", "Caller")
            parts.exchange.remote_hangup(leg.id)
        await wire.ping()  # replies and events share the one ordered stream
        events = await wire.events_until(session.connector.last_seq)
        assert seqs(events) == list(range(start + 1, session.connector.last_seq + 1))
        reply = await wire.request("destroy_session")
        assert reply["ok"]
        await asyncio.wait_for(wire.ws.wait_closed(), 5)
        assert wire.ws.close_code == 1000  # what was queued went, then the close
    finally:
        plain.should_exit = True
        await asyncio.wait_for(task, 10)
