"""A client that stops reading cannot hold up anyone else: its queue is bounded, it is told it overflowed
and must restore — and the restore then gives it every event it missed.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
from typing import Any

import websockets
from ws_helpers import Wire, login_token, open_session, seqs, wait_for, ws_url

from cti_tui.backends.server import ServerBackend
from cti_tui.core.model import ActivityEvent, ActivityName, ErrorCode, Event
from cti_tui.engine.connector import Connector

numbers = (f"+1404555{n:04d}" for n in itertools.count(1000))
QUEUE_LIMIT = 100


async def sluggish_wire(server) -> Wire:
    """A raw client on a thin pipe: small socket buffers at both ends (loopback would otherwise buffer
    megabytes in the kernel before the server's queue saw any backlog) and a one-frame websockets queue."""
    port = int(server.url.rsplit(":", 1)[1])
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.setblocking(False)
    ws = await websockets.connect(ws_url(server.url), sock=sock, open_timeout=5, max_queue=1, max_size=2**22)
    here = sock.getsockname()
    (protocol,) = [p for p in server.parts.server.server_state.connections if getattr(p, "client", None) == here]
    server_side = protocol.transport.get_extra_info("socket")
    server_side.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    protocol.transport.set_write_buffer_limits(high=4096)
    return Wire(ws)


async def test_a_slow_consumer_does_not_delay_a_fast_one(cti_server) -> None:
    server = await cti_server(no_answer_timeout=3600)
    server.hub.queue_limit = QUEUE_LIMIT  # connections opened from now on
    exchange = server.exchange

    slow = await sluggish_wire(server)
    await slow.start(await login_token(server.url, "agent@demo.local"))
    fast = await open_session(server.url, "bruno@demo.local")
    slow_session, fast_session = server.hub.sessions[slow.session_id], server.hub.sessions[fast.session_id]
    (slow_connection,) = slow_session.connections
    slow_start = slow_session.connector.last_seq

    fast_events: list[dict[str, Any]] = []

    async def read_fast() -> None:
        while True:
            message = await fast.recv(30)
            if message["type"] == "event":
                fast_events.append(message)

    def caught_up(seq: int) -> bool:
        return bool(fast_events) and fast_events[-1]["seq"] >= seq

    reader = asyncio.create_task(read_fast())
    rounds_after_overflow = 0
    try:
        for _ in range(100):  # each round: 10 calls ring and end on each line; the fast one keeps up
            for extension in ("1001", "1002"):
                for _ in range(10):
                    leg = exchange.inbound_call(next(numbers), extension, "Caller")
                    exchange.remote_hangup(leg.id)
            await wait_for(lambda: caught_up(fast_session.connector.last_seq), "the fast client", 2.0)
            assert slow_connection.waiting <= QUEUE_LIMIT  # the slow one's backlog stays bounded
            if slow_connection.overflowed:
                rounds_after_overflow += 1
                if rounds_after_overflow == 5:  # and the fast one goes on as before after it
                    break
        assert slow_connection.overflowed, "the slow client never overflowed"
    finally:
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)

    # the fast client got every one of its events, once, in order
    first = fast_events[0]["seq"]
    assert seqs(fast_events) == list(range(first, fast_session.connector.last_seq + 1))
    assert slow_session.connector.last_seq - slow_start > QUEUE_LIMIT

    # the slow client finally reads: what was sent before, then the overflow notice, then close code 4000
    received: list[dict[str, Any]] = []
    notice = None
    try:
        while True:
            message = await slow.recv(5)
            if message["type"] == "overflow":
                notice = message
            else:
                assert notice is None, "nothing after the overflow notice"
                received.append(message)
    except websockets.ConnectionClosed:
        pass
    assert notice == {"type": "overflow", "message": "restore"}
    assert slow.ws.close_code == 4000
    assert seqs(received) == list(range(slow_start + 1, slow_start + 1 + len(received)))
    last_seen = received[-1]["seq"] if received else slow_start

    # it restores from its last seq and gets every event it missed, once, in order, live ones after
    await wait_for(lambda: not slow_session.connections, "the server drops the overflowed connection")
    back = await Wire.open(server.url)
    try:
        reply = await back.request(
            "restore_session", token=slow.session_token, sessionId=slow.session_id, lastSeq=last_seen
        )
        assert reply["ok"] and reply["result"]["present"] == "replay", reply
        assert reply["result"]["replayCount"] > QUEUE_LIMIT  # more than the live bound: the replay is not cut
        exchange.inbound_call(next(numbers), "1001", "Live")
        await back.events_until(slow_session.connector.last_seq, timeout=10)
        assert seqs(back.events) == list(range(last_seen + 1, slow_session.connector.last_seq + 1))
        await back.ping()
    finally:
        await back.close()
        await fast.close()


async def test_the_app_client_that_overflows_restores_by_itself_and_misses_nothing(cti_server) -> None:
    """A burst bigger than the queue: the server tells the client, the client restores from its last seq."""
    server = await cti_server(no_answer_timeout=3600)
    server.hub.queue_limit = 5
    backend = ServerBackend(server.url, max_backoff=0.05)
    connector = Connector(backend)
    events: list[Event] = []
    connector.add_listener(events.append)
    received: list[int] = []
    receive = backend.client.receive

    def recording(frame: str | bytes) -> list[Any]:
        message = json.loads(frame)
        if message.get("type") == "event":
            received.append(message["seq"])
        return receive(frame)

    backend.client.receive = recording  # type: ignore[method-assign]
    assert await connector.login("agent@demo.local", "demo")
    session = server.hub.sessions[backend.session_id]
    start = backend.last_seq
    try:
        legs = [server.exchange.inbound_call(next(numbers), "1001", "Burst") for _ in range(12)]  # one tick
        (connection,) = session.connections
        assert connection.overflowed
        await wait_for(lambda: backend.last_seq == session.connector.last_seq, "the client restores and catches up")
        names = [(e.name, e.code) for e in events if isinstance(e, ActivityEvent)]
        assert (ActivityName.INFO, ErrorCode.RECONNECTING) in names and names[-1] == (ActivityName.READY, None)
        assert [s for s in received if s > start] == list(range(start + 1, session.connector.last_seq + 1))
        assert sorted(c.id for c in connector.active_calls()) == sorted(leg.id for leg in legs)
    finally:
        await connector.logout()
