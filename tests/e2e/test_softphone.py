"""The softphone backend against REAL processes on 127.0.0.1: a managed baresip driven over ctrl_tcp, sipp as
the far end (or a second/third baresip). Every wait is bounded; every process is stopped by its PID."""

from __future__ import annotations

import asyncio
import socket

import pytest
from sipp_scenarios import uac
from softphone_lab import Lab, Recorder, lab_fixture, sipp_exit  # noqa: F401 - lab_fixture provides `lab`

from cti_tui.backends.softphone import BaresipError, SoftphoneBackend
from cti_tui.core.model import ActivityName, CallStatus, Direction, ErrorCode
from cti_tui.engine.connector import Connector
from cti_tui.store.history import HistoryRecorder, HistoryStore, Outcome

pytestmark = pytest.mark.timeout(90)


CALLER = "+33123456789"
CALLER_NAME = "Alice Caller"


def with_history(agent: Recorder, lab: Lab) -> HistoryStore:
    store = HistoryStore(lab.tmp / "history.sqlite3")
    identity = agent.connector.identity
    assert identity is not None
    agent.connector.add_listener(HistoryRecorder(store, identity.line))
    return store


async def outcomes(store: HistoryStore, agent: Recorder) -> list[Outcome]:
    """The history's outcomes once every ended call is written (the store writes on its own thread)."""
    identity = agent.connector.identity
    assert identity is not None

    def read() -> list[Outcome]:
        assert store.wait_written(10), "the history writer did not catch up within 10 s"
        return [row.outcome for row in store.query(identity.line).rows]

    return await asyncio.to_thread(read)


async def test_login_identity_and_capabilities(lab: Lab) -> None:
    phone = lab.phone(0, "1001", "Agent One")
    agent = await lab.agent(phone)
    identity = agent.connector.identity
    assert identity is not None
    assert (identity.extension, identity.name, identity.email) == ("1001", "Agent One", "agent@example.com")
    assert agent.connector.is_connected()
    names = [e.name for e in agent.activities()]
    assert names[:2] == [ActivityName.LOGGED_IN, ActivityName.READY]
    caps = agent.connector.backend.capabilities
    assert not caps.subscribe and not caps.click_to_call and caps.park_slots == 0
    assert not await agent.connector.park("nope")  # hidden, not faked
    assert agent.activities()[-1].code in (ErrorCode.NOT_SUPPORTED, ErrorCode.UNKNOWN_CALL)


async def test_attach_to_a_running_baresip(lab: Lab) -> None:
    phone = lab.phone(0, "1002", "Desk Two")
    await phone.start()
    assert phone.pid is not None
    connector = Connector(SoftphoneBackend(phone.control))  # no account: the first one baresip lists
    lab.connectors.append(connector)
    agent = Recorder(connector)
    assert await connector.login("desk@example.com", "whatever"), agent.events
    assert connector.identity is not None and connector.identity.extension == "1002"
    await connector.logout()
    assert phone.process is not None and phone.process.poll() is None  # attached, not ours to stop

    stranger = Connector(SoftphoneBackend(phone.control, account="sip:9999@127.0.0.1:1"))
    assert not await stranger.login("x@example.com", "y")  # an account baresip does not have


async def test_a_baresip_that_cannot_start_says_why(lab: Lab) -> None:
    """Its control port taken (bound by another program): the error carries what baresip logged in red."""
    phone = lab.phone(0, "1003", "Desk Three")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", phone.ctrl_port))
        with pytest.raises(BaresipError) as failed:
            await phone.start(timeout=2)
    message = str(failed.value)
    assert message.startswith("baresip did not open its control socket within 2 s: ")
    assert f"127.0.0.1:{phone.ctrl_port} (Address already in use)" in message
    assert phone.process is not None and phone.process.poll() is not None  # stopped, not left behind


async def test_inbound_answer_hold_resume_far_end_hangs_up(lab: Lab) -> None:
    phone = lab.phone(0, "1001", "Agent One")
    agent = await lab.agent(phone)
    store = with_history(agent, lab)
    sipp = await lab.call_from_sipp(phone, uac(CALLER, CALLER_NAME, reinvites=2, hangup_after_ms=300))

    ringing = await agent.call_in("RINGING")
    assert ringing.direction is Direction.INBOUND
    assert (ringing.source, ringing.source_name, ringing.destination) == (CALLER, CALLER_NAME, "1001")
    assert "@" in ringing.id  # the SIP Call-ID (sipp's are n-pid@ip)

    assert await agent.connector.answer(ringing.id)
    await agent.call_reaches(ringing.id, "CONNECTED")
    assert await agent.connector.hold(ringing.id)
    assert agent.connector.get_call(ringing.id).status is CallStatus.ON_HOLD
    assert await agent.connector.resume(ringing.id)
    assert agent.connector.get_call(ringing.id).status is CallStatus.CONNECTED

    ended = await agent.call_reaches(ringing.id, "HANGUP")
    assert ended.cause == "normal"
    assert await sipp_exit(sipp) == 0
    assert agent.statuses(ringing.id) == ["RINGING", "CONNECTED", "ON_HOLD", "CONNECTED", "HANGUP"]
    assert await outcomes(store, agent) == [Outcome.ANSWERED]
    store.close()


async def test_inbound_rejected_and_missed(lab: Lab) -> None:
    phone = lab.phone(0, "1001", "Agent One")
    agent = await lab.agent(phone)
    store = with_history(agent, lab)

    sipp = await lab.call_from_sipp(phone, uac(CALLER, CALLER_NAME, hangup_after_ms=100))
    ringing = await agent.call_in("RINGING")
    assert await agent.connector.reject(ringing.id)
    rejected = await agent.call_reaches(ringing.id, "CANCEL")
    assert rejected.cause == "rejected"
    assert await sipp_exit(sipp) == 1  # sipp saw 486, not the 200 it expected

    sipp = await lab.call_from_sipp(phone, uac("+33999999999", "Bob Gives-Up", cancel_after_ms=300))
    missed = await agent.wait_for(
        lambda: [c for c in agent.calls_in("RINGING") if c.source == "+33999999999"], what="second call"
    )
    missed_id = missed[0].id
    gone = await agent.call_reaches(missed_id, "CANCEL")
    assert gone.cause == "cancelled"
    assert await sipp_exit(sipp) == 0
    assert sorted(await outcomes(store, agent)) == sorted([Outcome.REJECTED, Outcome.MISSED])
    store.close()


async def test_outbound_to_sipp_uas_and_hang_up(lab: Lab) -> None:
    phone = lab.phone(0, "1001", "Agent One")
    uas = await lab.sipp("-sn", "uas")
    agent = await lab.agent(phone, dial_domain=f"127.0.0.1:{lab.sipp_port}")
    store = with_history(agent, lab)
    await asyncio.sleep(0.2)  # sipp binds its port right after exec; nothing to await on

    call_id = (await agent.connector.call("5555")).value
    assert call_id
    call = await agent.call_reaches(call_id, "CONNECTED")
    assert (call.direction, call.destination, call.source) == (Direction.OUTBOUND, "5555", "1001")
    assert agent.statuses(call_id)[0] == "RINGING"
    assert await agent.connector.terminate(call_id)
    ended = await agent.call_reaches(call_id, "HANGUP")
    assert ended.cause == "normal"
    assert await sipp_exit(uas) == 0
    assert await outcomes(store, agent) == [Outcome.ANSWERED]
    store.close()


async def test_blind_transfer_and_dtmf_between_baresips(lab: Lab) -> None:
    a = lab.phone(0, "1001", "Agent One")
    b = lab.phone(1, "1003", "Bea Customer", answermode="auto")
    c = lab.phone(2, "1005", "Carl Expert", answermode="auto")
    agent = await lab.agent(a, dial_domain=f"127.0.0.1:{b.sip_port}")
    customer = await lab.agent(b)
    expert = await lab.agent(c)

    call_id = (await agent.connector.call("1003")).value
    assert call_id
    await agent.call_reaches(call_id, "CONNECTED")
    far = await customer.call_in("CONNECTED")
    assert far.source == "1001" and far.direction is Direction.INBOUND

    # DTMF reaches B: it reports CALL_DTMF_START with each digit
    assert await agent.connector.send_dtmf(call_id, "12#")
    backend_b = customer.connector.backend
    await customer.wait_for(lambda: backend_b.received_dtmf(far.id) == "12#", 10, "DTMF 12# on B")

    # blind transfer: B is sent (REFER) to C; the agent's leg ends as transferred
    a_backend = agent.connector.backend
    a_backend.dial_domain = f"127.0.0.1:{c.sip_port}"
    assert await agent.connector.transfer(call_id, "1005")
    ended = await agent.call_reaches(call_id, "HANGUP")
    assert ended.cause == "transferred"
    expert_call = await expert.call_in("CONNECTED")
    assert expert_call.source == "1003"
    left = await customer.call_reaches(far.id, "HANGUP")
    assert left.cause == "transferred"


async def test_supervised_transfer_completes(lab: Lab) -> None:
    a = lab.phone(0, "1001", "Agent One")
    b = lab.phone(1, "1003", "Bea Customer", answermode="auto")
    c = lab.phone(2, "1005", "Carl Expert", answermode="auto")
    agent = await lab.agent(a, dial_domain=f"127.0.0.1:{b.sip_port}")
    await lab.agent(b)
    expert = await lab.agent(c)
    call_id = (await agent.connector.call("1003")).value
    assert call_id
    await agent.call_reaches(call_id, "CONNECTED")

    agent.connector.backend.dial_domain = f"127.0.0.1:{c.sip_port}"
    assert await agent.connector.supervised_transfer(call_id, "1005", invite_timeout=10)
    ended = await agent.call_reaches(call_id, "HANGUP", 15)
    assert ended.cause == "transferred"
    assert "ON_HOLD" in agent.statuses(call_id)
    # the consult leg was hung up by the agent; the customer now talks to the expert
    await expert.wait_for(lambda: [x for x in expert.calls_in("CONNECTED") if x.source == "1003"], 10, "customer on C")
    await agent.wait_for(lambda: not agent.connector.active_calls(), 10, "agent has no live call")


async def test_supervised_transfer_fails_when_target_does_not_answer(lab: Lab) -> None:
    a = lab.phone(0, "1001", "Agent One")
    b = lab.phone(1, "1003", "Bea Customer", answermode="auto")
    c = lab.phone(2, "1005", "Carl Busy")  # manual answer: it rings, nobody picks up
    agent = await lab.agent(a, dial_domain=f"127.0.0.1:{b.sip_port}")
    await lab.agent(b)
    expert = await lab.agent(c)
    call_id = (await agent.connector.call("1003")).value
    assert call_id
    await agent.call_reaches(call_id, "CONNECTED")

    agent.connector.backend.dial_domain = f"127.0.0.1:{c.sip_port}"
    assert await agent.connector.supervised_transfer(call_id, "1005", invite_timeout=1.0)
    await expert.call_in("RINGING")
    await agent.wait_for(
        lambda: any(e.code is ErrorCode.TRANSFER_FAILED for e in agent.activities()), 10, "transfer_failed"
    )
    back = await agent.call_reaches(call_id, "CONNECTED")
    assert agent.statuses(call_id)[-2:] == ["ON_HOLD", "CONNECTED"]
    assert not back.ended
    await expert.wait_for(lambda: not expert.connector.active_calls(), 10, "consult leg gone on C")


async def test_control_link_loss_reconnects_and_resyncs(lab: Lab) -> None:
    phone = lab.phone(0, "1001", "Agent One")
    agent = await lab.agent(phone)
    sipp = await lab.call_from_sipp(phone, uac(CALLER, CALLER_NAME, reinvites=2, hangup_after_ms=200))
    ringing = await agent.call_in("RINGING")
    assert await agent.connector.answer(ringing.id)
    await agent.call_reaches(ringing.id, "CONNECTED")
    assert await agent.connector.hold(ringing.id)

    # a second control client replaces ours (baresip allows one): the backend must notice, reconnect, resync
    _intruder_reader, intruder = await asyncio.open_connection(*phone.control)
    await agent.wait_for(
        lambda: any(e.code is ErrorCode.RECONNECTING for e in agent.activities()), 10, "LinkDown(retrying)"
    )
    intruder.close()
    await agent.wait_for(
        lambda: [e for e in agent.activities() if e.name is ActivityName.READY][1:], 10, "READY after LinkUp"
    )
    call = agent.connector.get_call(ringing.id)
    assert call is not None and call.status is CallStatus.ON_HOLD  # "(on hold)" from listcalls
    assert await agent.connector.resume(ringing.id)
    await agent.call_reaches(ringing.id, "HANGUP")
    assert await sipp_exit(sipp) == 0
