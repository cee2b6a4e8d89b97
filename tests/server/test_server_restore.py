"""Sessions outlive their sockets (SPEC §4): restore replays every missed event once, in order; grace expiry
ends the session (401) and a fresh login starts clean.

Raw frames show the protocol exactly; the app's own client (Connector + ServerBackend) shows a connection
dropped mid-call coming back by itself with the view equal to the server's.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import socket
from typing import Any

from ws_helpers import Wire, login_token, open_session, seqs, wait_for

from cti_tui.backends.server import ServerBackend
from cti_tui.core.model import ActivityEvent, ActivityName, CallEvent, CallStatus, ErrorCode, Event
from cti_tui.engine.connector import Connector
from cti_tui.protocol.events import call_to_wire
from cti_tui.server import sessions

numbers = (f"+1202555{n:04d}" for n in itertools.count(1000))


def session_of(server, wire: Wire) -> sessions.Session:
    return server.hub.sessions[wire.session_id]


async def test_restore_replays_every_missed_event_once_in_order(cti_server) -> None:
    server = await cti_server(no_answer_timeout=3600)
    alice = await open_session(server.url, "agent@demo.local")
    session = session_of(server, alice)
    assert (await alice.request("subscribe", node="user:1002"))["ok"]
    first = server.exchange.inbound_call(next(numbers), "1001", "Ada")
    assert (await alice.request("answer", callId=first.id))["ok"]
    await alice.events_until(session.connector.last_seq)
    last_seen = alice.events[-1]["seq"]

    alice.ws.transport.abort()  # the network goes, mid-call
    await wait_for(lambda: not session.connections, "the server notices")
    assert session.grace is not None  # the grace timer runs
    # while away: the far end hangs up, a new call rings, a watched colleague's phone rings
    assert server.exchange.remote_hangup(first.id)
    second = server.exchange.inbound_call(next(numbers), "1001", "Grace")
    server.exchange.inbound_call(next(numbers), "1002", "Linus")
    server_seq = session.connector.last_seq
    missed = [m for m in session.log.messages() if m["seq"] > last_seen]
    assert len(missed) >= 3

    back = await Wire.open(server.url)
    try:
        reply = await back.request(
            "restore_session", token=alice.session_token, sessionId=alice.session_id, lastSeq=last_seen
        )
        assert reply["ok"], reply
        result = reply["result"]
        assert result["sessionId"] == alice.session_id and result["token"] == alice.session_token
        assert (result["present"], result["replayCount"], result["seq"]) == ("replay", len(missed), server_seq)
        replayed = [await back.recv() for _ in range(len(missed))]
        assert replayed == missed  # every missed event, once, in order, exactly as first sent
        assert seqs(replayed) == list(range(last_seen + 1, server_seq + 1))
        assert [m["name"] for m in replayed][:2] == ["HANGUP", "RINGING"]
        assert session.grace is None  # restoring stopped the timer
        # the session kept its subscriptions, and live events follow the replay with the next seq
        assert (await back.request("subscriptions"))["result"] == ["user:1002"]
        assert (await back.request("answer", callId=second.id))["ok"]
        await back.events_until(server_seq + 1)
        assert seqs(back.events) == list(range(server_seq + 1, session.connector.last_seq + 1))
        assert back.events[0]["call"]["status"] == "CONNECTED"
        # restoring with the newest seq replays nothing
        again = await Wire.open(server.url)
        try:
            reply = await again.request(
                "restore_session",
                token=alice.session_token,
                sessionId=alice.session_id,
                lastSeq=session.connector.last_seq,
            )
            assert (reply["result"]["present"], reply["result"]["replayCount"]) == ("replay", 0)
            await again.ping()
            await again.close()
            # a seq the session never reached: the client's count is off, so it gets the whole present
            again = await Wire.open(server.url)
            reply = await again.request(
                "restore_session", token=alice.session_token, sessionId=alice.session_id, lastSeq=10**6
            )
            assert reply["result"]["present"] == "snapshot"
            assert "reason" not in reply["result"]  # not behind: ahead (too_far_behind is for a log that ran out)
            snapshot = await again.recv()
            assert snapshot["seq"] == session.connector.last_seq and "ended" not in snapshot
        finally:
            await again.close()
    finally:
        await back.close()


async def test_restore_beyond_the_log_answers_too_far_behind_with_the_present(cti_server) -> None:
    server = await cti_server(no_answer_timeout=3600)
    server.hub.replay.per_session = 2_000  # a few events' worth: the calls below push the old ones out
    alice = await open_session(server.url, "agent@demo.local")
    session = session_of(server, alice)
    last_seen = session.connector.last_seq
    await alice.close()
    await wait_for(lambda: not session.connections, "the server notices")
    legs = [server.exchange.inbound_call(next(numbers), "1001") for _ in range(4)]
    for leg in legs[:3]:
        server.exchange.remote_hangup(leg.id)
    assert session.log.first_seq > last_seen + 1  # the oldest missed events were dropped
    assert session.log.size <= 2_000
    back = await Wire.open(server.url)
    try:
        reply = await back.request(
            "restore_session", token=alice.session_token, sessionId=alice.session_id, lastSeq=last_seen
        )
        assert (reply["result"]["present"], reply["result"]["reason"]) == ("snapshot", "too_far_behind")
        snapshot = await back.recv()
        assert snapshot["type"] == "snapshot" and snapshot["seq"] == session.connector.last_seq
        assert [c["id"] for c in snapshot["calls"]] == [legs[3].id]
        # what ended while the client was away comes with it, in its final state
        assert [c["id"] for c in snapshot["ended"]] == [leg.id for leg in legs[:3]]
        assert {c["status"] for c in snapshot["ended"]} <= {"HANGUP", "CANCEL"}
    finally:
        await back.close()


async def test_grace_expiry_gives_401_and_a_clean_login(cti_server) -> None:
    server = await cti_server(grace_seconds=2)  # 2 clock seconds: 0.1 s real
    alice = await open_session(server.url, "agent@demo.local")
    assert (await alice.request("subscribe", node="queue:sales"))["ok"]
    old_id, old_token = alice.session_id, alice.session_token
    in_exchange = len(server.exchange.sessions)
    await alice.close()
    await wait_for(lambda: old_id not in server.hub.sessions, "the grace period ends")
    assert len(server.exchange.sessions) == in_exchange - 1  # its PBX session is closed too
    back = await Wire.open(server.url)
    try:
        reply = await back.request("restore_session", token=old_token, sessionId=old_id, lastSeq=3)
        assert (reply["ok"], reply["status"], reply["code"]) == (False, 401, "invalid_session_id"), reply
        fresh = await login_token(server.url, "agent@demo.local")
        reply = await back.request("restore_session", token=fresh, sessionId=old_id)
        assert (reply["status"], reply["code"]) == (401, "invalid_session_id")
        # a clean re-login: a new session on the same socket, with nothing of the old one
        result = await back.start(fresh)
        assert result["sessionId"] != old_id and result["present"] == "snapshot"
        assert back.snapshots[-1]["subscriptions"] == []
        assert (await back.request("subscriptions"))["result"] == []
    finally:
        await back.close()


async def test_restoring_in_time_stops_the_grace_timer(cti_server) -> None:
    server = await cti_server(grace_seconds=10)  # 0.5 s real
    alice = await open_session(server.url, "agent@demo.local")
    session = session_of(server, alice)
    await alice.close()
    await wait_for(lambda: session.grace is not None, "the grace timer starts")
    back = await Wire.open(server.url)
    try:
        reply = await back.request("restore_session", token=alice.session_token, sessionId=alice.session_id)
        assert reply["ok"], reply
        assert session.grace is None
        await asyncio.sleep(0.7)  # past the first timer's deadline
        assert alice.session_id in server.hub.sessions
        await back.ping()
        assert (await back.request("is_connected"))["result"] is True
    finally:
        await back.close()
    await wait_for(lambda: alice.session_id not in server.hub.sessions, "expiry after the second close")


async def test_destroy_session_closes_every_connection(cti_server) -> None:
    server = await cti_server()
    first = await open_session(server.url, "agent@demo.local")
    second = await Wire.open(server.url)
    try:
        reply = await second.request("restore_session", token=first.session_token, sessionId=first.session_id)
        assert reply["ok"]
        assert len(session_of(server, first).connections) == 2
        assert (await second.request("destroy_session"))["ok"]
        for wire in (first, second):
            with contextlib.suppress(Exception):
                while True:
                    await wire.recv(2)
            assert wire.ws.close_code == 1000
        assert first.session_id not in server.hub.sessions
    finally:
        await first.close()
        await second.close()


# --- the app's client -----------------------------------------------------------------------------------


class Recorder:
    """A Connector on a ServerBackend, with every event message the backend receives from the server."""

    def __init__(self, url: str) -> None:
        self.backend = ServerBackend(url, max_backoff=0.05)
        self.connector = Connector(self.backend)
        self.events: list[Event] = []
        self.connector.add_listener(self.events.append)
        self.received: list[int] = []  # the seq of every event message the backend receives
        self.restores: list[dict[str, Any]] = []  # the results of the session replies
        receive = self.backend.client.receive

        def recording(frame: str | bytes) -> list[Any]:
            message = json.loads(frame)
            if message.get("type") == "event":
                self.received.append(message["seq"])
            result = message.get("result") if message.get("type") == "reply" else None
            if isinstance(result, dict) and "present" in result:
                self.restores.append(result)
            return receive(frame)

        self.backend.client.receive = recording  # type: ignore[method-assign]

    def activities(self) -> list[tuple[ActivityName, ErrorCode | None]]:
        return [(e.name, e.code) for e in self.events if isinstance(e, ActivityEvent)]

    def view(self) -> list[dict[str, Any]]:
        return sorted((call_to_wire(c) for c in self.connector.active_calls()), key=lambda c: c["id"])


def server_view(session: sessions.Session) -> list[dict[str, Any]]:
    return sorted((call_to_wire(c) for c in session.connector.active_calls()), key=lambda c: c["id"])


async def test_a_connection_dropped_mid_call_comes_back_with_nothing_lost(cti_server) -> None:
    server = await cti_server(no_answer_timeout=3600)
    alice = Recorder(server.url)
    assert await alice.connector.login("agent@demo.local", "demo")
    session = server.hub.sessions[alice.backend.session_id]
    exchange = server.exchange
    try:
        call = exchange.inbound_call(next(numbers), "1001", "Ada")
        await wait_for(lambda: alice.connector.get_call(call.id) is not None, "the call rings")
        assert await alice.connector.answer(call.id)
        assert await alice.connector.subscribe("queue:sales")
        await wait_for(lambda: alice.backend.last_seq == session.connector.last_seq, "the client is up to date")
        start = alice.backend.last_seq

        # traffic keeps flowing on the server the whole time: calls ring and end on alice's line
        stop = asyncio.Event()

        async def traffic() -> None:
            while not stop.is_set():
                leg = exchange.inbound_call(next(numbers), "1001", "Caller")
                await asyncio.sleep(0.003)
                exchange.remote_hangup(leg.id)
                await asyncio.sleep(0.003)

        running = asyncio.create_task(traffic())
        try:
            for drop in range(3):
                alice.events.clear()
                await asyncio.sleep(0.03)
                alice.backend._socket.transport.abort()  # the network goes, mid-call
                if drop == 0:  # and the call changes while it is gone
                    exchange.hold(call)
                await wait_for(
                    lambda: (ActivityName.READY, None) in alice.activities(), f"reconnected after drop {drop}"
                )
                names = alice.activities()
                info = names.index((ActivityName.INFO, ErrorCode.RECONNECTING))
                assert info < names.index((ActivityName.READY, None)), names
                assert alice.connector.is_connected()
        finally:
            stop.set()
            await asyncio.wait_for(running, 5)
        await wait_for(lambda: alice.backend.last_seq == session.connector.last_seq, "the client catches up")

        replays = [r["replayCount"] for r in alice.restores[1:] if r["present"] == "replay"]
        assert len(replays) == 3 and replays[0] >= 1, alice.restores  # each drop missed events; all replayed
        after = [s for s in alice.received if s > start]
        assert after == list(range(start + 1, session.connector.last_seq + 1))  # none lost, none twice
        assert alice.view() == server_view(session)  # the client's view is the server's
        assert alice.connector.get_call(call.id).status is CallStatus.ON_HOLD
        assert alice.connector.subscriptions() == ["queue:sales"]
        assert await alice.connector.resume(call.id)  # and it works as before
        await wait_for(lambda: alice.connector.get_call(call.id).status is CallStatus.CONNECTED, "resumed")
    finally:
        await alice.connector.logout()


async def test_the_client_too_far_behind_resnapshots_and_every_ended_call_ends_on_screen(cti_server) -> None:
    server = await cti_server(no_answer_timeout=3600)
    server.hub.replay.per_session = 3_000
    alice = Recorder(server.url)
    assert await alice.connector.login("agent@demo.local", "demo")
    session = server.hub.sessions[alice.backend.session_id]
    exchange = server.exchange
    try:
        shown = exchange.inbound_call(next(numbers), "1001", "Ada")  # on alice's screen when the link goes
        kept = exchange.inbound_call(next(numbers), "1001", "Bob")
        await wait_for(lambda: alice.connector.get_call(kept.id) is not None, "both calls ring")
        real_url = alice.backend.ws_url
        alice.backend.ws_url = f"ws://127.0.0.1:{refused_port()}/ws"  # out of reach for a while...
        alice.backend._socket.transport.abort()
        await wait_for(lambda: not session.connections, "the server notices")
        exchange.remote_hangup(shown.id)  # ...while a call alice saw ends, and others ring and end unseen
        unseen = [exchange.inbound_call(next(numbers), "1001", f"Caller {n}") for n in range(6)]
        for leg in unseen:
            exchange.remote_hangup(leg.id)
        assert session.log.first_seq > alice.backend.last_seq + 1  # the log no longer reaches back
        alice.events.clear()
        alice.backend.ws_url = real_url
        await wait_for(lambda: (ActivityName.READY, None) in alice.activities(), "reconnected")

        assert alice.restores[-1]["reason"] == "too_far_behind"
        ready = next(e for e in alice.events if isinstance(e, ActivityEvent) and e.name is ActivityName.READY)
        assert "as they are now" in ready.message
        ends = {e.call.id: e.call.status for e in alice.events if isinstance(e, CallEvent) and e.call.ended}
        # every call that ended while away ended in the client's view too (and so reaches its history)
        assert set(ends) == {shown.id, *(leg.id for leg in unseen)}, ends
        assert alice.view() == server_view(session)
        assert [c.id for c in alice.connector.active_calls()] == [kept.id]
        assert alice.backend.last_seq == session.connector.last_seq
        assert await alice.connector.answer(kept.id)  # and it works as before
    finally:
        await alice.connector.logout()


def refused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed on exit: connecting to it is refused


async def test_the_client_after_grace_expiry_reports_it_and_logs_in_again(cti_server) -> None:
    server = await cti_server(grace_seconds=2)
    alice = Recorder(server.url)
    assert await alice.connector.login("agent@demo.local", "demo")
    old_id = alice.backend.session_id
    try:
        real_url = alice.backend.ws_url
        alice.backend.ws_url = f"ws://127.0.0.1:{refused_port()}/ws"  # the server is out of reach...
        alice.backend._socket.transport.abort()
        await wait_for(lambda: old_id not in server.hub.sessions, "the grace period ends")
        leg = server.exchange.inbound_call(next(numbers), "1001", "Missed")  # ...for longer than the grace
        alice.backend.ws_url = real_url
        await wait_for(lambda: (ActivityName.ERROR, ErrorCode.SESSION_LOST) in alice.activities(), "told")
        assert (ActivityName.INFO, ErrorCode.RECONNECTING) in alice.activities()
        assert not alice.connector.is_connected()
        error = [e for e in alice.events if isinstance(e, ActivityEvent) and e.name is ActivityName.ERROR][-1]
        assert "log in again" in error.message
        # a clean re-login: a new session that shows the present
        assert await alice.connector.login("agent@demo.local", "demo")
        assert alice.connector.is_connected()
        assert alice.backend.session_id not in (None, old_id)
        assert [c.id for c in alice.connector.active_calls()] == [leg.id]
        assert alice.view() == server_view(server.hub.sessions[alice.backend.session_id])
    finally:
        await alice.connector.logout()
