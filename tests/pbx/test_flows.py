"""The typical flows of SPEC §2, event by event, on the embedded PBX and virtual time."""

from __future__ import annotations

from datetime import timedelta

from conftest import Pbx

from cti_tui.core.clock import DEFAULT_EPOCH
from cti_tui.core.model import ActivityEvent, ActivityName, CallEvent, Cause, Direction

T0 = DEFAULT_EPOCH
ACME = "+12025550101"  # answers after 3 rings of 2 s


def at(seconds: float):
    return T0 + timedelta(seconds=seconds)


def assert_seq_contiguous(events: list) -> None:
    assert [e.seq for e in events] == list(range(1, len(events) + 1))


async def test_login_flow_is_logged_in_then_ready(pbx: Pbx) -> None:
    connector, events = pbx.connector()
    assert await connector.login("agent@demo.local", "demo")
    assert [(e.name, e.seq) for e in events] == [(ActivityName.LOGGED_IN, 1), (ActivityName.READY, 2)]
    assert all(isinstance(e, ActivityEvent) for e in events)
    assert connector.is_connected()
    assert connector.identity is not None
    assert connector.identity.extension == "1001"
    assert connector.identity.line == "user:1001"


async def test_outbound_flow_initial_accepted_ringing_connected_hangup(pbx: Pbx) -> None:
    agent = await pbx.login()
    call_id = (await agent.connector.call(ACME)).value
    assert call_id is not None
    assert agent.names(call_id) == ["INITIAL"]
    first = agent.last(call_id)
    assert first.direction is Direction.OUTBOUND
    assert (first.source, first.destination, first.destination_name) == ("1001", ACME, "Acme Corp")
    assert first.line == "user:1001"
    assert first.setup_at == at(0)

    pbx.advance(0.99)
    assert agent.names(call_id) == ["INITIAL"]  # the agent's own phone still rings
    pbx.advance(0.01)  # t = 1: picked up, the far end rings at once
    assert agent.names(call_id) == ["INITIAL", "ACCEPTED", "RINGING"]
    pbx.advance(5.99)
    assert agent.names(call_id)[-1] == "RINGING"
    pbx.advance(0.01)  # t = 7: 3 rings of 2 s after RINGING
    assert agent.names(call_id) == ["INITIAL", "ACCEPTED", "RINGING", "CONNECTED"]
    connected = agent.last(call_id)
    assert (connected.setup_at, connected.connect_at, connected.release_at) == (at(0), at(7), None)

    pbx.advance(13)
    assert await agent.connector.terminate(call_id)
    assert agent.names(call_id) == ["INITIAL", "ACCEPTED", "RINGING", "CONNECTED", "HANGUP"]
    ended = agent.last(call_id)
    assert ended.cause == Cause.NORMAL
    assert (ended.setup_at, ended.connect_at, ended.release_at) == (at(0), at(7), at(20))
    assert ended.ringing_seconds(at(99)) == 7
    assert ended.talk_seconds(at(99)) == 13
    assert all(e.call.id == call_id for e in agent.call_events())
    # the whole session: LOGGED_IN, READY, then the five call events, seq 1..7
    assert [e.name for e in agent.events] == [
        ActivityName.LOGGED_IN,
        ActivityName.READY,
        "INITIAL",
        "ACCEPTED",
        "RINGING",
        "CONNECTED",
        "HANGUP",
    ]
    assert_seq_contiguous(agent.events)


async def test_outbound_flow_with_auto_answer_skips_the_pickup_wait(pbx: Pbx) -> None:
    agent = await pbx.login()
    assert await agent.connector.set_auto_answer(True)
    call_id = (await agent.connector.call(ACME)).value
    assert call_id is not None
    assert agent.names(call_id) == ["INITIAL", "ACCEPTED", "RINGING"]
    pbx.advance(5.99)
    assert agent.names(call_id)[-1] == "RINGING"
    pbx.advance(0.01)
    assert agent.names(call_id)[-1] == "CONNECTED"
    assert agent.last(call_id).connect_at == at(6)


async def test_outbound_call_the_far_end_hangs_up(pbx: Pbx) -> None:
    agent = await pbx.login()
    call_id = (await agent.connector.call(ACME)).value
    pbx.advance(10)
    assert pbx.exchange.remote_hangup(call_id)
    assert agent.names(call_id) == ["INITIAL", "ACCEPTED", "RINGING", "CONNECTED", "HANGUP"]
    assert agent.last(call_id).cause == Cause.NORMAL
    assert agent.last(call_id).release_at == at(10)


async def test_inbound_flow_ringing_connected_hangup(pbx: Pbx) -> None:
    agent = await pbx.login()
    pbx.advance(3)
    leg = pbx.exchange.inbound_call("+12025550199", "+12025550111", "Zed Caller")
    assert leg is not None
    assert agent.names(leg.id) == ["RINGING"]
    ringing = agent.last(leg.id)
    assert ringing.direction is Direction.INBOUND
    assert (ringing.source, ringing.source_name) == ("+12025550199", "Zed Caller")
    assert (ringing.destination, ringing.line) == ("1001", "user:1001")
    assert ringing.setup_at == at(3)

    pbx.advance(4)
    assert await agent.connector.answer(leg.id)
    assert agent.names(leg.id) == ["RINGING", "CONNECTED"]
    assert agent.last(leg.id).connect_at == at(7)

    pbx.advance(30)
    assert await agent.connector.terminate(leg.id)
    assert agent.names(leg.id) == ["RINGING", "CONNECTED", "HANGUP"]
    ended = agent.last(leg.id)
    assert (ended.setup_at, ended.connect_at, ended.release_at) == (at(3), at(7), at(37))
    assert ended.cause == Cause.NORMAL
    assert_seq_contiguous(agent.events)


async def test_inbound_flow_the_caller_hangs_up(pbx: Pbx) -> None:
    agent = await pbx.login()
    leg = pbx.exchange.inbound_call("+12025550199", "1001", "Zed Caller")
    assert leg is not None
    await agent.connector.answer(leg.id)
    pbx.advance(12)
    assert pbx.exchange.remote_hangup(leg.id)
    assert agent.names(leg.id) == ["RINGING", "CONNECTED", "HANGUP"]
    assert agent.last(leg.id).cause == Cause.NORMAL
    assert agent.last(leg.id).release_at == at(12)
    assert not pbx.exchange.remote_hangup(leg.id)  # nobody left to hang up


async def test_inbound_call_not_answered_is_cancelled_no_answer(pbx: Pbx) -> None:
    agent = await pbx.login()
    leg = pbx.exchange.inbound_call("+12025550199", "1001")
    assert leg is not None
    pbx.advance(29.9)
    assert agent.names(leg.id) == ["RINGING"]
    pbx.advance(0.1)
    assert agent.names(leg.id) == ["RINGING", "CANCEL"]
    missed = agent.last(leg.id)
    assert missed.cause == Cause.NO_ANSWER
    assert missed.connect_at is None
    assert missed.release_at == at(30)


async def test_caller_gives_up_while_ringing(pbx: Pbx) -> None:
    agent = await pbx.login()
    leg = pbx.exchange.inbound_call("+12025550199", "1001")
    assert leg is not None
    pbx.advance(5)
    assert pbx.exchange.remote_hangup(leg.id)
    assert agent.names(leg.id) == ["RINGING", "CANCEL"]
    assert agent.last(leg.id).cause == Cause.CANCELLED


async def test_two_factor_login_flow(pbx: Pbx) -> None:
    import pyotp

    secret = pbx.exchange.org.user_by_email("secure@demo.local").totp_secret
    connector, events = pbx.connector()
    assert not await connector.login("secure@demo.local", "demo")
    assert [e.name for e in events] == [ActivityName.TWO_FACTOR_AUTH]
    nonce = events[0].nonce
    assert nonce
    assert not connector.is_connected()
    code = pyotp.TOTP(secret).at(pbx.clock.now())
    assert await connector.two_factor_auth(code, nonce)
    assert [(e.name, e.seq) for e in events] == [
        (ActivityName.TWO_FACTOR_AUTH, 1),
        (ActivityName.LOGGED_IN, 2),
        (ActivityName.READY, 3),
    ]
    assert connector.identity.extension == "1008"


async def test_sequence_numbers_are_per_session(pbx: Pbx) -> None:
    agent = await pbx.login()
    bruno = await pbx.login("bruno@demo.local")
    call_id = (await agent.connector.call("1002")).value
    pbx.advance(1)
    ringing = bruno.ringing()
    assert len(ringing) == 1
    await bruno.connector.answer(ringing[0].id)
    pbx.advance(5)
    await bruno.connector.terminate(ringing[0].id)
    assert agent.names(call_id) == ["INITIAL", "ACCEPTED", "RINGING", "CONNECTED", "HANGUP"]
    assert bruno.names(ringing[0].id) == ["RINGING", "CONNECTED", "HANGUP"]
    assert_seq_contiguous(agent.events)
    assert_seq_contiguous(bruno.events)
    assert agent.connector.last_seq == len(agent.events)
    assert bruno.connector.last_seq == len(bruno.events)
    assert all(isinstance(e, CallEvent) for e in bruno.events[2:])


async def test_internal_call_both_sides(pbx: Pbx) -> None:
    agent = await pbx.login()
    bruno = await pbx.login("bruno@demo.local")
    call_id = (await agent.connector.call("1002")).value
    pbx.advance(1)
    (offered,) = bruno.ringing()
    assert offered.direction is Direction.INBOUND
    assert (offered.source, offered.source_name) == ("1001", "Alice Martin")
    assert (offered.destination, offered.line) == ("1002", "user:1002")
    assert offered.id != call_id
    pbx.advance(2)
    await bruno.connector.answer(offered.id)
    assert agent.last(call_id).status == "CONNECTED"
    assert agent.last(call_id).connect_at == at(3)
    # the caller hangs up: the callee's leg ends too
    await agent.connector.terminate(call_id)
    assert bruno.names(offered.id) == ["RINGING", "CONNECTED", "HANGUP"]
    assert bruno.last(offered.id).cause == Cause.NORMAL
    assert not pbx.exchange.live_legs("1001")
    assert not pbx.exchange.live_legs("1002")


async def test_internal_call_not_answered_cancels_both_legs(pbx: Pbx) -> None:
    agent = await pbx.login()
    bruno = await pbx.login("bruno@demo.local")
    call_id = (await agent.connector.call("1002")).value
    pbx.advance(1)
    (offered,) = bruno.ringing()
    pbx.advance(30)
    assert bruno.names(offered.id) == ["RINGING", "CANCEL"]
    assert bruno.last(offered.id).cause == Cause.NO_ANSWER
    assert agent.names(call_id) == ["INITIAL", "ACCEPTED", "RINGING", "CANCEL"]
    assert agent.last(call_id).cause == Cause.NO_ANSWER


async def test_call_to_an_unknown_extension_is_unreachable(pbx: Pbx) -> None:
    agent = await pbx.login()
    call_id = (await agent.connector.call("4242")).value
    pbx.advance(1)
    assert agent.names(call_id) == ["INITIAL", "ACCEPTED"]
    pbx.advance(0.5)
    assert agent.names(call_id) == ["INITIAL", "ACCEPTED", "CANCEL"]
    assert agent.last(call_id).cause == Cause.UNREACHABLE


async def test_internal_call_rejected_gives_caller_busy(pbx: Pbx) -> None:
    agent = await pbx.login()
    bruno = await pbx.login("bruno@demo.local")
    call_id = (await agent.connector.call("1002")).value
    pbx.advance(1)
    (offered,) = bruno.ringing()
    assert await bruno.connector.reject(offered.id)
    assert bruno.names(offered.id) == ["RINGING", "CANCEL"]
    assert bruno.last(offered.id).cause == Cause.REJECTED
    assert agent.names(call_id)[-1] == "CANCEL"
    assert agent.last(call_id).cause == Cause.BUSY


async def test_caller_hangs_up_while_internal_target_rings(pbx: Pbx) -> None:
    agent = await pbx.login()
    bruno = await pbx.login("bruno@demo.local")
    call_id = (await agent.connector.call("1002")).value
    pbx.advance(1)
    (offered,) = bruno.ringing()
    assert await agent.connector.terminate(call_id)
    assert agent.names(call_id)[-1] == "HANGUP"
    assert bruno.names(offered.id) == ["RINGING", "CANCEL"]
    assert bruno.last(offered.id).cause == Cause.CANCELLED
