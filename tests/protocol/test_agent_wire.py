"""Agent availability on the wire: an AGENT event and a snapshot's agents come back as they went out, and a
malformed agent object is a MessageError naming it, never a crash."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from test_session_client import live_client, opened_reply

from cti_tui.core import commands as cmd
from cti_tui.core.availability import AgentState, Availability
from cti_tui.core.model import AgentEvent
from cti_tui.protocol import session as protocol
from cti_tui.protocol.actions import parse_action
from cti_tui.protocol.events import agent_from_wire, agent_to_wire, event_from_wire, event_to_wire
from cti_tui.protocol.session import ClientSession, MessageError

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
AGENT = Availability(
    "1001",
    AgentState.WRAP_UP,
    T0,
    queues=("sales",),
    member_of=("sales", "support"),
    wrap_up_until=T0 + timedelta(seconds=30),
    call_id="c1",
    disposition="sale",
    note="two licences",
    break_reasons=("lunch",),
    dispositions=("sale", "resolved"),
)


def test_an_agent_event_goes_on_the_wire_and_comes_back_the_same() -> None:
    event = AgentEvent(12, AGENT)
    wire = event_to_wire(event)
    assert wire["name"] == "AGENT" and wire["agent"]["state"] == "wrap_up"
    assert wire["agent"]["wrapUpUntil"] == "2026-01-05T09:00:30Z"
    assert event_from_wire(json.loads(json.dumps(wire))) == event
    assert agent_from_wire(agent_to_wire(Availability("1002"))) == Availability("1002")


def test_a_live_client_reads_an_agent_event_as_an_agent_update() -> None:
    client = live_client()
    message = json.dumps(protocol.event_message(AgentEvent(8, AGENT)))
    assert client.receive(message) == [cmd.AgentUpdate(AGENT)]


def test_a_snapshot_carries_the_agents_the_session_knows() -> None:
    client = ClientSession()
    client.create("login-token")
    client.receive(opened_reply(1))
    snapshot = {"type": "snapshot", "seq": 7, "calls": [], "subscriptions": [], "agents": [agent_to_wire(AGENT)]}
    received = client.receive(json.dumps(snapshot))
    assert cmd.AgentUpdate(AGENT) in received
    assert received.index(cmd.Snapshot((), ())) < received.index(cmd.AgentUpdate(AGENT))


@pytest.mark.parametrize(
    "agent",
    [
        "not an object",
        {"state": "available"},  # no extension
        {"extension": "1001", "state": "asleep"},
        {"extension": "1001", "state": "break", "queues": "sales"},
        {"extension": "1001", "state": "break", "since": "yesterday"},
    ],
)
def test_a_malformed_agent_is_refused(agent: object) -> None:
    client = live_client()
    before = client.last_seq
    with pytest.raises(MessageError, match="agent"):
        client.receive(json.dumps({"type": "event", "seq": 99, "name": "AGENT", "agent": agent}))
    assert client.last_seq == before


def test_the_agent_actions_parse_with_their_fields() -> None:
    assert parse_action({"action": "take_break", "reason": "lunch"}).command() == cmd.TakeBreak("lunch")
    assert parse_action({"action": "dispose", "callId": "c1", "disposition": "sale"}).command() == cmd.Dispose(
        "c1", "sale"
    )
    assert parse_action({"action": "ready"}).command() == cmd.SetReady()
    assert parse_action({"action": "agents"}).command() is None  # a query
