"""The asterisk backend (cti_tui.backends.asterisk) against a real Asterisk 22: login through the registry,
click-to-call through the agent's real baresip to a sipp UAS, and a dropped AMI connection mid-call."""

from __future__ import annotations

import asyncio

import pytest
from amilab import AmiRecorder, Lab, ami_fixture, asterisk_fixture, phones_fixture, stop_process  # noqa: F401 - fixtures
from softphone_lab import Recorder

from cti_tui.backends.asterisk import SECRET_ENV, AsteriskBackend
from cti_tui.backends.registry import BackendOptions, open_provider
from cti_tui.backends.softphone import ControlLink
from cti_tui.core.model import ActivityName, ErrorCode
from cti_tui.engine.connector import Connector
from cti_tui.protocol.baresip import BaresipEvent

pytestmark = pytest.mark.timeout(300)  # the first test may build the root (20-60 s) when no cache exists


def connector_for(lab: Lab, monkeypatch: pytest.MonkeyPatch, secret: str | None = None) -> Recorder:
    monkeypatch.setenv(SECRET_ENV, secret or lab.ami_secret)
    provider = open_provider("asterisk", BackendOptions(address=lab.url()))
    return Recorder(Connector(provider.new_backend()))


def collapsed(statuses: list[str]) -> list[str]:
    """Statuses in order; an update that only names the party (same status) is not a new step."""
    return [s for i, s in enumerate(statuses) if i == 0 or s != statuses[i - 1]]


async def test_login_through_the_registry_and_its_refusals(asterisk: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    agent = connector_for(asterisk, monkeypatch)
    assert await asyncio.wait_for(agent.connector.login("1001@lab.example", "unused"), 20), agent.events
    names = [e.name for e in agent.activities()]
    assert names[:2] == [ActivityName.LOGGED_IN, ActivityName.READY]
    identity = agent.connector.identity
    assert identity is not None and (identity.extension, identity.name) == ("1001", "Agent 1001")
    await agent.connector.logout()

    nobody = connector_for(asterisk, monkeypatch)
    assert not await nobody.connector.login("4242@lab.example", "unused")
    (refusal,) = [e for e in nobody.activities() if e.name is ActivityName.ERROR]
    assert refusal.code is ErrorCode.BAD_CREDENTIALS and "4242" in refusal.message

    wrong = connector_for(asterisk, monkeypatch, secret="not-the-secret")
    assert not await wrong.connector.login("1001@lab.example", "unused")
    (failure,) = [e for e in wrong.activities() if e.name is ActivityName.ERROR]
    assert "refused" in failure.message and "not-the-secret" not in failure.message


async def test_click_to_call_in_order_and_a_dropped_ami_connection_keeps_the_call(
    asterisk: Lab, ami: AmiRecorder, phones, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    phone = phones("1001")  # answermode manual: the agent picks up
    await phone.start()
    await ami.event("ContactStatus", AOR="1001", ContactStatus="Reachable", timeout=15)
    uas = await asyncio.create_subprocess_exec(
        "sipp", "-sn", "uas", "-i", "127.0.0.1", "-p", str(asterisk.ports.trunk),
        "-mp", str(asterisk.ports.sipp_media(0)), "-m", "1", "-nostdin", "-timeout", "40s", "-timeout_error",
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        cwd=tmp_path,
    )  # fmt: skip
    incoming = asyncio.Event()

    def on_phone_event(event: BaresipEvent) -> None:
        if event.type == "CALL_INCOMING":
            incoming.set()

    handset = ControlLink(*phone.control, on_phone_event)
    await handset.connect()
    agent = connector_for(asterisk, monkeypatch)
    try:
        assert await asyncio.wait_for(agent.connector.login("1001@lab.example", "unused"), 20), agent.events
        placed = await agent.connector.call("+12025550123")
        call_id = placed.value  # type: ignore[union-attr]
        await agent.call_reaches(call_id, "INITIAL")
        await asyncio.wait_for(incoming.wait(), 10)  # the agent's own phone rings first
        assert agent.connector.get_call(call_id).status.value == "INITIAL"  # type: ignore[union-attr]
        assert (await handset.request("accept")).ok
        connected = await agent.call_reaches(call_id, "CONNECTED", timeout=15)
        assert connected.destination == "+12025550123" and connected.direction.value == "OUTBOUND"

        # the AMI connection drops mid-call: LinkDown, reconnect, re-sync, LinkUp; the same call, once
        backend = agent.connector.backend
        assert isinstance(backend, AsteriskBackend) and backend.link is not None
        readies = len([e for e in agent.activities() if e.name is ActivityName.READY])
        backend.link.abort()
        await agent.wait_for(
            lambda: len([e for e in agent.activities() if e.name is ActivityName.READY]) > readies, 15, "READY again"
        )
        assert any(e.code is ErrorCode.RECONNECTING for e in agent.activities())
        assert backend.reconnects == 1
        live = agent.connector.active_calls()
        assert [(c.id, c.status.value) for c in live] == [(call_id, "CONNECTED")]

        assert await agent.connector.terminate(call_id)
        ended = await agent.call_reaches(call_id, "HANGUP", timeout=15)
        assert ended.cause == "normal"
        assert collapsed(agent.statuses(call_id)) == ["INITIAL", "ACCEPTED", "RINGING", "CONNECTED", "HANGUP"]
        assert not [e for e in agent.activities() if e.code is ErrorCode.WRONG_STATE]  # no report refused
        assert await asyncio.wait_for(uas.wait(), 15) == 0
    finally:
        await handset.close()
        await stop_process(uas)
        await agent.connector.logout()


def refusing_uas(code: int, reason: str) -> str:
    """A sipp UAS scenario that answers an INVITE with ``code reason`` (and takes the ACK)."""
    return f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="refuse {code}">
  <recv request="INVITE" />
  <send>
    <![CDATA[
      SIP/2.0 {code} {reason}
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>
  <recv request="ACK" />
</scenario>
"""


@pytest.mark.parametrize(
    ("code", "reason", "cause"),
    [(486, "Busy Here", "busy"), (404, "Not Found", "unreachable"), (603, "Decline", "rejected")],
)
async def test_a_refused_destination_shows_its_reason(
    asterisk: Lab,
    ami: AmiRecorder,
    phones,
    tmp_path,
    monkeypatch: pytest.MonkeyPatch,
    code: int,
    reason: str,
    cause: str,
) -> None:
    phone = phones("1002", answermode="auto")
    await phone.start()
    await ami.event("ContactStatus", AOR="1002", ContactStatus="Reachable", timeout=15)
    scenario = tmp_path / f"refuse-{code}.xml"
    scenario.write_text(refusing_uas(code, reason))
    uas = await asyncio.create_subprocess_exec(
        "sipp", "-sf", str(scenario), "-i", "127.0.0.1", "-p", str(asterisk.ports.trunk),
        "-m", "1", "-nostdin", "-timeout", "30s", "-timeout_error",
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        cwd=tmp_path,
    )  # fmt: skip
    agent = connector_for(asterisk, monkeypatch)
    try:
        assert await asyncio.wait_for(agent.connector.login("1002@lab.example", "unused"), 20), agent.events
        placed = await agent.connector.call("+12025550199")
        call_id = placed.value  # type: ignore[union-attr]
        ended = await agent.call_reaches(call_id, "CANCEL", timeout=15)
        said = [(e.name, e.get("DialStatus"), e.get("Cause")) for e in ami.events if e.name in ("DialEnd", "Hangup")]
        assert ended.cause == cause, (ended.cause, said)
        assert collapsed(agent.statuses(call_id)) == ["INITIAL", "ACCEPTED", "RINGING", "CANCEL"]
        assert await asyncio.wait_for(uas.wait(), 15) == 0
    finally:
        await stop_process(uas)
        await agent.connector.logout()


async def test_blind_transfer_sends_the_far_end_on_and_ends_the_agents_leg(
    asterisk: Lab, ami: AmiRecorder, phones, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    agent_phone, target = phones("1001", answermode="auto"), phones("1003", answermode="auto")
    await agent_phone.start()
    await target.start()
    for user in ("1001", "1003"):
        await ami.event("ContactStatus", AOR=user, ContactStatus="Reachable", timeout=15)
    uas = await asyncio.create_subprocess_exec(
        "sipp", "-sn", "uas", "-i", "127.0.0.1", "-p", str(asterisk.ports.trunk),
        "-mp", str(asterisk.ports.sipp_media(0)), "-m", "1", "-nostdin", "-timeout", "40s", "-timeout_error",
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        cwd=tmp_path,
    )  # fmt: skip
    agent = connector_for(asterisk, monkeypatch)
    try:
        assert await asyncio.wait_for(agent.connector.login("1001@lab.example", "unused"), 20), agent.events
        placed = await agent.connector.call("+12025550123")
        call_id = placed.value  # type: ignore[union-attr]
        await agent.call_reaches(call_id, "CONNECTED", timeout=15)
        trunk_leg = (await ami.event("DialBegin", DialString="+12025550123@trunk")).get("DestChannel")
        # Asterisk refuses a BlindTransfer ("Transfer invalid") until the far end is in the bridge; the row
        # may say CONNECTED a moment before (CI saw it once). TODO(issue 16): report CONNECTED on BridgeEnter.
        await ami.wait_for(
            lambda: any(e.get("Channel") == trunk_leg for e in ami.named("BridgeEnter")), 15, "the far end bridged"
        )

        assert await agent.connector.transfer(call_id, "1003")
        ended = await agent.call_reaches(call_id, "HANGUP", timeout=15)
        assert ended.cause == "transferred"
        # the far end is now bridged with 1003's phone
        await ami.event("BlindTransfer", TransfereeChannel=trunk_leg, Result="Success")
        await ami.wait_for(
            lambda: any(e.get("Channel").startswith("PJSIP/1003-") for e in ami.named("BridgeEnter")), 15, "1003 up"
        )
        assert [c.id for c in agent.connector.active_calls()] == []
        await ami.link.action("Hangup", {"Channel": trunk_leg})
        assert await asyncio.wait_for(uas.wait(), 15) == 0
        assert not [e for e in agent.activities() if e.code is ErrorCode.WRONG_STATE]
    finally:
        await stop_process(uas)
        await agent.connector.logout()
