"""The app's client (Connector + ServerBackend) on a real server: what it makes of replies, notices and junk.

The protocol itself is tested without sockets (test_protocol_client.py); here its I/O shell is, end to end.
"""

from __future__ import annotations

from conftest import RunningServer
from ws_helpers import wait_for

from cti_tui.backends.server import ServerBackend
from cti_tui.core.model import ActivityEvent, ActivityName, CallStatus, ErrorCode, Event
from cti_tui.core.results import Refused
from cti_tui.engine.connector import Connector

BUSY = "+12025550102"


async def logged_in(server: RunningServer) -> tuple[Connector, ServerBackend, list[Event]]:
    backend = ServerBackend(server.url, max_backoff=0.05)
    connector = Connector(backend)
    events: list[Event] = []
    connector.add_listener(events.append)
    assert await connector.login("agent@demo.local", "demo"), events
    return connector, backend, events


def activities(events: list[Event]) -> list[tuple[ActivityName, ErrorCode | None]]:
    return [(e.name, e.code) for e in events if isinstance(e, ActivityEvent)]


async def test_a_refusal_is_heard_once_and_a_later_notice_is_heard_too(cti_server) -> None:
    server = await cti_server(no_answer_timeout=3600)
    connector, _, events = await logged_in(server)
    try:
        leg = server.exchange.inbound_call("+12025550199", "1001", "Zed")
        await wait_for(lambda: connector.get_call(leg.id) is not None, "the call rings")
        assert await connector.answer(leg.id)
        await wait_for(lambda: connector.get_call(leg.id).status is CallStatus.CONNECTED, "answered")
        # refused by the server (the slot is empty): the reply says why, and the event is not heard twice
        refused = await connector.unpark(3)
        assert isinstance(refused, Refused) and (refused.level, refused.code) == (
            ActivityName.INFO,
            ErrorCode.SLOT_EMPTY,
        )
        assert refused.message == "park slot 3 is empty"
        # a notice nobody asked for: the supervised transfer fails later, on its own
        assert await connector.supervised_transfer(leg.id, BUSY)
        await wait_for(lambda: (ActivityName.INFO, ErrorCode.TRANSFER_FAILED) in activities(events), "told")
        await wait_for(lambda: connector.get_call(leg.id).status is CallStatus.CONNECTED, "the call is back")
        heard = activities(events)
        assert heard.count((ActivityName.INFO, ErrorCode.SLOT_EMPTY)) == 1
        assert heard.count((ActivityName.INFO, ErrorCode.TRANSFER_FAILED)) == 1
    finally:
        await connector.logout()


async def test_a_malformed_message_is_reported_and_the_session_goes_on(cti_server) -> None:
    server = await cti_server()
    connector, backend, events = await logged_in(server)
    session = server.hub.sessions[backend.session_id]
    try:
        (connection,) = session.connections
        seq = backend.last_seq
        connection.push({"type": "event", "seq": "soon", "name": "RINGING"})
        await wait_for(lambda: (ActivityName.ERROR, ErrorCode.BACKEND_FAILURE) in activities(events), "reported")
        error = [e for e in events if isinstance(e, ActivityEvent) and e.name is ActivityName.ERROR][-1]
        assert error.message.startswith("bad message from the server")
        assert backend.last_seq == seq  # the junk counted for nothing
        assert connector.is_connected()
        assert await connector.subscribe("queue:sales")  # the socket is still the session's
        leg = server.exchange.inbound_call("+12025550199", "1001", "Zed")
        await wait_for(lambda: connector.get_call(leg.id) is not None, "live events still arrive")
        assert backend.last_seq == session.connector.last_seq
    finally:
        await connector.logout()
