"""The agent's own baresip attached to the Asterisk backend (cti_tui.backends.attached_phone), against a real
Asterisk 22: a sipp caller into queue sales rings the agent's phone, cti-tui answers it, holds and resumes it
(Asterisk reports Hold/Unhold and the row follows) and hangs up; a click-to-call goes through the agent's
phone to a sipp UAS; without a phone, answer and hold are refused with the reason."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from amilab import AmiRecorder, Lab, ami_fixture, asterisk_fixture, phones_fixture, stop_process  # noqa: F401
from sipp_scenarios import uac
from softphone_lab import Recorder

from cti_tui.backends.asterisk import SECRET_ENV, AsteriskBackend
from cti_tui.backends.attached_phone import AttachedPhoneBackend, AttachedPhoneProvider
from cti_tui.backends.registry import BackendOptions, SoftphoneSettings, open_provider
from cti_tui.core import commands as cmd
from cti_tui.core.model import ActivityName, CallStatus, Direction, ErrorCode, Operation
from cti_tui.engine.connector import Connector

pytestmark = pytest.mark.timeout(300)  # the first test may build the root (20-60 s) when no cache exists

PHONE_INDEX = 7  # the lab's phone slot for the agent's own baresip


def agent_on(lab: Lab, folder: Path, monkeypatch: pytest.MonkeyPatch, *, with_phone: bool = True) -> Recorder:
    """Agent 1001 on Asterisk, with its baresip registered there by the product's own settings."""
    monkeypatch.setenv(SECRET_ENV, lab.ami_secret)
    ports = lab.ports
    settings = SoftphoneSettings(
        folder=folder,
        sip_port=ports.phone_sip(PHONE_INDEX),
        ctrl_port=ports.phone_ctrl(PHONE_INDEX),
        display_name="Agent 1001",
        registrar=f"127.0.0.1:{ports.sip}" if with_phone else "",
    )
    provider = open_provider("asterisk", BackendOptions(address=lab.url(), user="1001", softphone=settings))
    assert isinstance(provider, AttachedPhoneProvider)
    if not with_phone:  # what the provider gives without a phone is Asterisk's own backend; the wrapper's refusal:
        assert isinstance(provider.new_backend(), AsteriskBackend)
        return Recorder(Connector(AttachedPhoneBackend(provider.asterisk.new_backend(), None)))
    backend = provider.new_backend()
    assert isinstance(backend, AttachedPhoneBackend) and backend.phone is not None and backend.phone.managed
    backend.phone.managed.rtp_ports = ports.phone_rtp(PHONE_INDEX)
    return Recorder(Connector(backend))


async def sipp(lab: Lab, folder: Path, *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        "sipp", *args, "-i", "127.0.0.1", "-mi", "127.0.0.1", "-bind_local", "-m", "1", "-nostdin",
        "-timeout", "40s", "-timeout_error",
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        cwd=folder,
    )  # fmt: skip


def collapsed(statuses: list[str]) -> list[str]:
    return [s for i, s in enumerate(statuses) if i == 0 or s != statuses[i - 1]]


async def test_a_queue_call_answered_held_resumed_and_hung_up_from_cti_tui(
    asterisk: Lab, ami: AmiRecorder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    agent = agent_on(asterisk, tmp_path / "phone", monkeypatch)
    password = asterisk.sip_passwords["1001"]
    caller = None
    try:
        assert await asyncio.wait_for(agent.connector.login("1001@lab.example", password), 20), agent.events
        caps = agent.connector.backend.capabilities
        assert {Operation.ANSWER, Operation.HOLD, Operation.RESUME, Operation.REJECT} <= caps.operations
        await ami.event("ContactStatus", AOR="1001", ContactStatus="Reachable", timeout=15)

        scenario = tmp_path / "caller.xml"
        scenario.write_text(uac("+33612345678", "Ada Caller", await_bye=True))
        caller = await sipp(
            asterisk, tmp_path, "-sf", str(scenario), "-s", "6001", "-p", str(asterisk.ports.sipp),
            "-mp", str(asterisk.ports.sipp_media(0)), f"127.0.0.1:{asterisk.ports.sip}",
        )  # fmt: skip
        ringing = await agent.call_in("RINGING", timeout=20)  # the queue rings the agent's phone
        assert ringing.direction is Direction.INBOUND and ringing.source == "+33612345678"

        assert await agent.connector.answer(ringing.id), agent.activities()
        await agent.call_reaches(ringing.id, "CONNECTED", 15)
        await ami.event("AgentConnect", Interface="PJSIP/1001", timeout=10)

        assert await agent.connector.hold(ringing.id), agent.activities()
        await agent.call_reaches(ringing.id, "ON_HOLD", 10)  # from Asterisk's Hold event
        assert await agent.connector.resume(ringing.id), agent.activities()
        await agent.call_reaches(ringing.id, "CONNECTED", 10)  # from Unhold

        assert await agent.connector.terminate(ringing.id)
        ended = await agent.call_reaches(ringing.id, "HANGUP", 15)
        assert ended.cause == "normal"
        assert collapsed(agent.statuses(ringing.id)) == ["RINGING", "CONNECTED", "ON_HOLD", "CONNECTED", "HANGUP"]
        assert await asyncio.wait_for(caller.wait(), 20) == 0
        # the phone's own view never reached the screen: one row per call, Asterisk's
        assert {c.id for c in agent.connector.calls()} == {ringing.id}
    finally:
        if caller is not None:
            await stop_process(caller)
        await agent.connector.logout()


async def test_click_to_call_through_the_agents_phone_in_order(
    asterisk: Lab, ami: AmiRecorder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    agent = agent_on(asterisk, tmp_path / "phone", monkeypatch)
    uas = await sipp(
        asterisk, tmp_path, "-sn", "uas", "-p", str(asterisk.ports.trunk), "-mp", str(asterisk.ports.sipp_media(1))
    )
    try:
        assert await asyncio.wait_for(agent.connector.login("1001@lab.example", asterisk.sip_passwords["1001"]), 20)
        await ami.event("ContactStatus", AOR="1001", ContactStatus="Reachable", timeout=15)
        placed = await agent.connector.call("+12025550123")
        call_id = placed.value  # type: ignore[union-attr]
        connected = await agent.call_reaches(call_id, "CONNECTED", 20)  # the phone picked up its own ring
        assert connected.destination == "+12025550123"
        assert await agent.connector.terminate(call_id)
        await agent.call_reaches(call_id, "HANGUP", 15)
        assert collapsed(agent.statuses(call_id)) == ["INITIAL", "ACCEPTED", "RINGING", "CONNECTED", "HANGUP"]
        assert await asyncio.wait_for(uas.wait(), 15) == 0
    finally:
        await stop_process(uas)
        await agent.connector.logout()


async def test_without_a_phone_answer_and_hold_are_refused_with_the_reason(
    asterisk: Lab, ami: AmiRecorder, phones, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    handset = phones("1001")  # the agent's phone exists, but cti-tui is not attached to it
    await handset.start()
    await ami.event("ContactStatus", AOR="1001", ContactStatus="Reachable", timeout=15)
    agent = agent_on(asterisk, tmp_path / "phone", monkeypatch, with_phone=False)
    backend = agent.connector.backend
    assert isinstance(backend, AttachedPhoneBackend) and backend.phone is None
    caller = None
    try:
        assert await asyncio.wait_for(agent.connector.login("1001@lab.example", "unused"), 20)
        caps = backend.capabilities
        assert not {Operation.ANSWER, Operation.HOLD, Operation.RESUME} & caps.operations
        assert Operation.REJECT in caps.operations  # Asterisk's own (AMI Hangup Cause=21, asterisk_calls)
        scenario = tmp_path / "caller.xml"
        # the queue answers the caller first, then rings the agents: the caller stays 5 s, then leaves
        scenario.write_text(uac("+33612345678", "Ada Caller", hangup_after_ms=5000))
        caller = await sipp(
            asterisk, tmp_path, "-sf", str(scenario), "-s", "6001", "-p", str(asterisk.ports.sipp),
            "-mp", str(asterisk.ports.sipp_media(2)), f"127.0.0.1:{asterisk.ports.sip}",
        )  # fmt: skip
        ringing = await agent.call_in("RINGING", timeout=20)
        assert not await agent.connector.answer(ringing.id)
        refusal = agent.activities()[-1]
        assert refusal.name is ActivityName.INFO and refusal.code is ErrorCode.NOT_SUPPORTED
        direct = await backend.execute(cmd.Answer(ringing.id))
        assert direct.code is ErrorCode.NOT_SUPPORTED and "no phone is attached" in direct.message
        assert agent.connector.get_call(ringing.id).status is CallStatus.RINGING  # type: ignore[union-attr]
        gone = await agent.wait_for(lambda: agent.connector.get_call(ringing.id).ended, 20, "the caller leaves")  # type: ignore[union-attr]
        assert gone and await asyncio.wait_for(caller.wait(), 20) == 0
    finally:
        if caller is not None:
            await stop_process(caller)
        await agent.connector.logout()


async def test_dtmf_from_cti_tui_reaches_the_far_phone_and_a_reject_is_the_phones(
    asterisk: Lab, ami: AmiRecorder, phones, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cti_tui.backends.softphone import ControlLink
    from cti_tui.protocol.baresip import BaresipEvent

    colleague = phones("1002", "auto")
    await colleague.start()
    digits: list[str] = []

    def heard(event: BaresipEvent) -> None:
        if event.type == "CALL_DTMF_START":
            digits.append(event.param)

    ear = ControlLink(*colleague.control, heard)
    await ear.connect()
    agent = agent_on(asterisk, tmp_path / "phone", monkeypatch)
    caller = None
    try:
        assert await asyncio.wait_for(agent.connector.login("1001@lab.example", asterisk.sip_passwords["1001"]), 20)
        await ami.event("ContactStatus", AOR="1002", ContactStatus="Reachable", timeout=15)
        placed = await agent.connector.call("1002")
        call_id = placed.value  # type: ignore[union-attr]
        await agent.call_reaches(call_id, "CONNECTED", 20)
        assert await agent.connector.send_dtmf(call_id, "42#"), agent.activities()
        await agent.wait_for(lambda: "".join(digits) == "42#", 10, "the digits at 1002")
        assert await agent.connector.terminate(call_id)
        await agent.call_reaches(call_id, "HANGUP", 15)

        # a queue call the agent rejects: the phone answers 486, the row ends, the caller waits on (1002, the
        # queue's other member, is gone first: it would take the call before the agent could reject it)
        await ear.close()
        await colleague.stop()
        await ami.wait_for(
            lambda: [e for e in ami.named("ContactStatus", AOR="1002") if e.get("ContactStatus") != "Reachable"],
            15,
            "1002 unregistered",
        )
        scenario = tmp_path / "caller.xml"
        scenario.write_text(uac("+33612345678", "Ada Caller", hangup_after_ms=4000))
        caller = await sipp(
            asterisk, tmp_path, "-sf", str(scenario), "-s", "6001", "-p", str(asterisk.ports.sipp),
            "-mp", str(asterisk.ports.sipp_media(3)), f"127.0.0.1:{asterisk.ports.sip}",
        )  # fmt: skip
        ringing = await agent.wait_for(
            lambda: [c for c in agent.calls_in("RINGING") if c.source == "+33612345678"], 20, "the queue call"
        )
        rejected_id = ringing[0].id  # type: ignore[index]
        assert await agent.connector.reject(rejected_id), agent.activities()
        ended = await agent.wait_for(lambda: agent.connector.get_call(rejected_id).ended, 10, "the row ends")  # type: ignore[union-attr]
        assert ended and agent.connector.get_call(rejected_id).status.value == "CANCEL"  # type: ignore[union-attr]
        assert await asyncio.wait_for(caller.wait(), 20) == 0  # the queue had answered the caller; it left
    finally:
        await ear.close()
        if caller is not None:
            await stop_process(caller)
        await agent.connector.logout()


async def test_a_wrong_sip_password_refuses_the_login_and_closes_ami(
    asterisk: Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    agent = agent_on(asterisk, tmp_path / "phone", monkeypatch)
    assert not await asyncio.wait_for(agent.connector.login("1001@lab.example", "not-the-password"), 20)
    (refusal,) = [e for e in agent.activities() if e.name is ActivityName.ERROR]
    assert refusal.code is ErrorCode.BAD_CREDENTIALS and "401" in refusal.message
    backend = agent.connector.backend
    assert isinstance(backend, AttachedPhoneBackend) and backend.phone is not None
    assert backend.pbx.link is None  # the AMI session it opened is closed again, not left behind
    managed = backend.phone.managed
    assert managed is not None and managed.process is not None and managed.process.poll() is not None
