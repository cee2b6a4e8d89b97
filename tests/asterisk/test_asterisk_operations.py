"""The Asterisk call operations (cti_tui.backends.asterisk_calls) against a real Asterisk 22, with real baresip
phones and sipp: supervised transfer (complete and cancel), park by one agent and unpark by another, merge
into a ConfBridge, DTMF received by sipp, and rejecting a ringing call (direct and from a queue)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from amilab import AmiRecorder, Lab, ami_fixture, asterisk_fixture, phones_fixture, stop_process  # noqa: F401 - fixtures
from softphone_lab import Recorder

from cti_tui.backends.asterisk import SECRET_ENV, AsteriskBackend
from cti_tui.backends.registry import BackendOptions, open_provider
from cti_tui.backends.softphone import ControlLink
from cti_tui.core.model import ActivityName, ErrorCode
from cti_tui.engine.connector import Connector

pytestmark = pytest.mark.timeout(300)  # the first test may build the root (20-60 s) when no cache exists
FAR_END = "+12025550123"


def agent_for(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> Recorder:
    monkeypatch.setenv(SECRET_ENV, lab.ami_secret)
    return Recorder(Connector(open_provider("asterisk", BackendOptions(address=lab.url())).new_backend()))


async def logged_in(lab: Lab, monkeypatch: pytest.MonkeyPatch, extension: str) -> Recorder:
    agent = agent_for(lab, monkeypatch)
    assert await asyncio.wait_for(agent.connector.login(f"{extension}@lab.example", "unused"), 20), agent.events
    return agent


def collapsed(statuses: list[str]) -> list[str]:
    return [s for i, s in enumerate(statuses) if i == 0 or s != statuses[i - 1]]


async def sipp(lab: Lab, folder: Path, *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        "sipp", "-i", "127.0.0.1", "-m", "1", "-nostdin", "-timeout", "60s", "-timeout_error", *args,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        cwd=folder,
    )  # fmt: skip


async def far_end(lab: Lab, folder: Path, scenario: Path | None = None) -> asyncio.subprocess.Process:
    """A sipp UAS on the lab's trunk port: what an agent's click-to-call to ``FAR_END`` reaches."""
    how = ["-sf", str(scenario)] if scenario else ["-sn", "uas"]
    return await sipp(lab, folder, *how, "-p", str(lab.ports.trunk), "-mp", str(lab.ports.sipp_media(0)))


async def ready(ami: AmiRecorder, phones, *users: str, answermode: str = "auto") -> list:  # type: ignore[no-untyped-def]
    made = [phones(user, answermode=answermode) for user in users]
    for phone in made:
        await phone.start()
    for user in users:
        await ami.event("ContactStatus", AOR=user, ContactStatus="Reachable", timeout=15)
    return made


async def connected_to_far_end(agent: Recorder, ami: AmiRecorder) -> tuple[str, str]:
    """A click-to-call to ``FAR_END``, connected and bridged: (call id, the trunk channel)."""
    placed = await agent.connector.call(FAR_END)
    call_id = placed.value  # type: ignore[union-attr]
    await agent.call_reaches(call_id, "CONNECTED", timeout=15)
    trunk = (await ami.event("DialBegin", DialString=f"{FAR_END}@trunk")).get("DestChannel")
    await bridged(ami, trunk)
    await peer_known(agent, call_id)
    return call_id, trunk


async def peer_known(agent: Recorder, call_id: str, timeout: float = 10.0) -> None:
    """Until the backend's own AMI connection has seen the agent's channel bridged (the test's recorder is
    another AMI session: its events may come a moment earlier); operations on the peer need it."""
    backend = agent.connector.backend
    assert isinstance(backend, AsteriskBackend) and backend.book is not None
    book = backend.book
    for _ in range(int(timeout / 0.05)):
        if book.peers_of(call_id):
            return
        await asyncio.sleep(0.05)  # polled: the book changes without telling the connector
    raise AssertionError(f"the backend never saw call {call_id} bridged")


async def bridged(ami: AmiRecorder, channel: str, kind: str = "basic") -> None:
    """Until ``channel`` is in a bridge of ``kind`` (an operation on a call needs both ends bridged)."""
    await ami.wait_for(
        lambda: ami.named("BridgeEnter", Channel=channel, BridgeType=kind), 15, f"{channel} in a {kind} bridge"
    )


def together(ami: AmiRecorder, first: str, second_prefix: str) -> bool:
    """Are ``first`` and a channel starting with ``second_prefix`` in the same bridge now (by BridgeEnter/Leave)?"""
    where: dict[str, str] = {}
    for event in ami.events:
        if event.name == "BridgeEnter":
            where[event.get("Channel")] = event.get("BridgeUniqueid")
        elif event.name in ("BridgeLeave", "Hangup"):
            where.pop(event.get("Channel"), None)
    bridge = where.get(first)
    return bridge is not None and any(c.startswith(second_prefix) and b == bridge for c, b in where.items())


def no_refused_reports(agent: Recorder) -> None:
    """No call update the engine refused as an illegal move (the book reported something wrong)."""
    refused = [e for e in agent.activities() if e.code is ErrorCode.WRONG_STATE and "legal move" in e.message]
    assert not refused, refused


# --- supervised transfer ------------------------------------------------------------------------------------


@pytest.mark.parametrize("ending", ["complete", "cancel", "merge"])
async def test_supervised_transfer_consults_then_completes_or_cancels(
    asterisk: Lab, ami: AmiRecorder, phones, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ending: str
) -> None:
    await ready(ami, phones, "1001", "1003")
    uas = await far_end(asterisk, tmp_path)
    agent = await logged_in(asterisk, monkeypatch, "1001")
    try:
        call_id, trunk = await connected_to_far_end(agent, ami)
        assert await agent.connector.supervised_transfer(call_id, "1003")
        await agent.call_reaches(call_id, "ON_HOLD", timeout=10)  # the caller hears hold
        # the consult call: a second call of the agent, to 1003, connected when 1003 answers
        consult = await agent.wait_for(
            lambda: [c for c in agent.connector.active_calls() if c.id != call_id], 15, "the consult call"
        )
        (consult_call,) = consult  # type: ignore[misc]
        assert consult_call.destination == "1003" and consult_call.direction.value == "OUTBOUND"
        await agent.call_reaches(consult_call.id, "CONNECTED", timeout=15)
        await agent.wait_for(  # its name, from the agent's connected line
            lambda: agent.connector.get_call(consult_call.id).destination_name == "Agent 1003",  # type: ignore[union-attr]
            10,
            "the consulted party named",
        )
        original = agent.connector.get_call(call_id)
        assert original is not None
        await ami.wait_for(lambda: together(ami, original.cid, "Local/1003@"), 10, "the agent talks to 1003")

        if ending == "complete":
            assert await agent.connector.terminate(consult_call.id)  # the transferer hangs up: complete
            ended = await agent.call_reaches(call_id, "HANGUP", timeout=15)
            gone = await agent.call_reaches(consult_call.id, "HANGUP", timeout=15)
            assert (ended.cause, gone.cause) == ("transferred", "transferred")
            await ami.event("AttendedTransfer", Result="Success", TransfereeChannel=trunk)
            await ami.wait_for(lambda: together(ami, trunk, "PJSIP/1003-"), 15, "the caller talks to 1003")
            assert agent.connector.active_calls() == []
            await ami.link.action("Hangup", {"Channel": trunk})
        elif ending == "merge":  # a three-way call: the agent, the caller and the target
            assert await agent.connector.merge(call_id, consult_call.id)
            gone = await agent.call_reaches(consult_call.id, "HANGUP", timeout=15)
            assert gone.cause == "merged"
            both = await agent.call_reaches(call_id, "CONNECTED", timeout=15)
            assert both.destination_name == f"{FAR_END} & Agent 1003"
            await ami.event("AttendedTransfer", Result="Success", DestType="Threeway", timeout=10)
            await ami.wait_for(lambda: together(ami, trunk, "PJSIP/1003-"), 15, "the caller talks to 1003")
            await ami.wait_for(lambda: together(ami, trunk, "PJSIP/1001-"), 15, "and to the agent")
            assert [c.id for c in agent.connector.active_calls()] == [call_id]
            assert await agent.connector.terminate(call_id)  # the agent leaves; the two others talk on
            assert (await agent.call_reaches(call_id, "HANGUP", timeout=15)).cause == "normal"
            await ami.link.action("Hangup", {"Channel": trunk})
        else:
            refused = await agent.connector.send_dtmf(consult_call.id, "1")
            assert not refused and refused.code is ErrorCode.NOT_SUPPORTED  # type: ignore[union-attr]
            assert await agent.connector.cancel_supervised_transfer(call_id)
            gone = await agent.call_reaches(consult_call.id, "HANGUP", timeout=15)
            assert gone.cause == "cancelled"
            back = await agent.call_reaches(call_id, "CONNECTED", timeout=15)  # back with the caller
            assert back.destination == FAR_END and "1003" not in back.destination_name, back
            await ami.wait_for(lambda: together(ami, trunk, "PJSIP/1001-"), 15, "the agent talks to the caller again")
            assert not ami.named("AttendedTransfer")
            assert [c.id for c in agent.connector.active_calls()] == [call_id]
            assert await agent.connector.terminate(call_id)
            assert (await agent.call_reaches(call_id, "HANGUP", timeout=15)).cause == "normal"
            assert collapsed(agent.statuses(call_id))[-4:] == ["CONNECTED", "ON_HOLD", "CONNECTED", "HANGUP"]
        assert collapsed(agent.statuses(consult_call.id)) == ["RINGING", "CONNECTED", "HANGUP"]
        assert await asyncio.wait_for(uas.wait(), 15) == 0
        no_refused_reports(agent)
    finally:
        await stop_process(uas)
        await agent.connector.logout()


@pytest.mark.parametrize("failure", ["busy", "no_answer"])
async def test_supervised_transfer_that_fails_gives_the_caller_back(
    asterisk: Lab, ami: AmiRecorder, phones, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    """busy: 1003 refuses (cause 17); no_answer: it rings past the agent's invite timeout (6 s: the lab
    dials 1003 after the 3 s transferdigittimeout, as it could still grow into a longer number)."""
    await ready(ami, phones, "1001")
    await ready(ami, phones, "1003", answermode="manual")  # it rings and is never picked up
    uas = await far_end(asterisk, tmp_path)
    agent = await logged_in(asterisk, monkeypatch, "1001")
    try:
        call_id, trunk = await connected_to_far_end(agent, ami)
        timeout = 6.0 if failure == "no_answer" else None
        assert await agent.connector.supervised_transfer(call_id, "1003", invite_timeout=timeout)
        consult = await agent.wait_for(lambda: [c for c in agent.connector.calls() if c.id != call_id], 15)
        (consult_call,) = consult  # type: ignore[misc]
        target = (await ami.event("DialBegin", DialString="1003", timeout=15)).get("DestChannel")
        if failure == "busy":
            await ami.link.action("Hangup", {"Channel": target, "Cause": 17})
        failed = await agent.call_reaches(consult_call.id, "CANCEL", timeout=20)
        assert failed.cause == failure, failed
        if failure == "no_answer":  # cancelled by cti-tui's timer: CancelAtxfer "presses" atxferabort (*1)
            after = ami.events[ami.events.index(ami.named("DialBegin", DestChannel=target)[0]) :]
            pressed = [
                e.get("Digit") for e in after if e.name == "DTMFEnd" and e.get("Channel").startswith("PJSIP/1001-")
            ]
            assert pressed == ["*", "1"], pressed
        await agent.call_reaches(call_id, "CONNECTED", timeout=15)
        await ami.wait_for(lambda: together(ami, trunk, "PJSIP/1001-"), 15, "the agent talks to the caller again")
        notices = [e for e in agent.activities() if e.code is ErrorCode.TRANSFER_FAILED]
        assert notices and "1003" in notices[0].message and notices[0].call_id == call_id
        assert await agent.connector.terminate(call_id)
        assert (await agent.call_reaches(call_id, "HANGUP", timeout=15)).cause == "normal"
        assert await asyncio.wait_for(uas.wait(), 15) == 0
        no_refused_reports(agent)
    finally:
        await stop_process(uas)
        await agent.connector.logout()


# --- park ---------------------------------------------------------------------------------------------------


async def test_park_by_one_agent_and_unpark_by_another(
    asterisk: Lab, ami: AmiRecorder, phones, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await ready(ami, phones, "1001", "1002")
    uas = await far_end(asterisk, tmp_path)
    parker = await logged_in(asterisk, monkeypatch, "1001")
    picker = await logged_in(asterisk, monkeypatch, "1002")
    try:
        call_id, trunk = await connected_to_far_end(parker, ami)
        assert await parker.connector.park(call_id, 3)
        parked = await parker.call_reaches(call_id, "PARKED", timeout=15)
        assert parked.park_slot == 3 and "callpark" in parked.also
        await ami.event("ParkedCall", ParkeeChannel=trunk, ParkingSpace="703")
        await ami.wait_for(lambda: ami.named("Hangup", Channel=parked.cid), 10, "the parker's phone is free")
        assert parker.connector.get_call(call_id).status.value == "PARKED"  # type: ignore[union-attr]

        assert await picker.connector.unpark(3)
        picked = await picker.call_in("CONNECTED", timeout=20)
        assert picked.destination == FAR_END, picked
        assert collapsed(picker.statuses(picked.id)) == ["INITIAL", "ACCEPTED", "RINGING", "CONNECTED"]
        unparked = await ami.event("UnParkedCall", ParkeeChannel=trunk, ParkingSpace="703")
        assert unparked.get("RetrieverChannel").startswith("PJSIP/1002-")
        assert (await parker.call_reaches(call_id, "HANGUP", timeout=10)).cause == "normal"
        await ami.wait_for(lambda: together(ami, trunk, "PJSIP/1002-"), 15, "1002 talks to the parked caller")

        assert await picker.connector.terminate(picked.id)
        assert (await picker.call_reaches(picked.id, "HANGUP", timeout=15)).cause == "normal"
        assert await asyncio.wait_for(uas.wait(), 15) == 0
        no_refused_reports(parker)
        no_refused_reports(picker)
    finally:
        await stop_process(uas)
        await parker.connector.logout()
        await picker.connector.logout()


async def test_the_parker_hangs_up_its_parked_call(
    asterisk: Lab, ami: AmiRecorder, phones, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await ready(ami, phones, "1001")
    uas = await far_end(asterisk, tmp_path)
    parker = await logged_in(asterisk, monkeypatch, "1001")
    try:
        call_id, trunk = await connected_to_far_end(parker, ami)
        assert await parker.connector.park(call_id)  # a free slot, Asterisk's choice (findslot=next)
        parked = await parker.call_reaches(call_id, "PARKED", timeout=15)
        assert parked.park_slot is not None and 1 <= parked.park_slot <= 10
        await ami.event("ParkedCall", ParkeeChannel=trunk, ParkingSpace=str(700 + parked.park_slot))
        await ami.wait_for(lambda: ami.named("Hangup", Channel=parked.cid), 10, "the parker's phone is free")
        assert await parker.connector.terminate(call_id)
        assert (await parker.call_reaches(call_id, "HANGUP", timeout=15)).cause == "normal"
        await ami.event("ParkedCallGiveUp", ParkeeChannel=trunk)
        assert await asyncio.wait_for(uas.wait(), 15) == 0  # the caller got its BYE
        no_refused_reports(parker)
    finally:
        await stop_process(uas)
        await parker.connector.logout()


# --- merge --------------------------------------------------------------------------------------------------


async def test_merge_joins_the_agents_two_calls_in_a_confbridge(
    asterisk: Lab, ami: AmiRecorder, phones, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await ready(ami, phones, "1001", "1003")
    uas = await far_end(asterisk, tmp_path)
    agent = await logged_in(asterisk, monkeypatch, "1001")
    try:
        first, trunk = await connected_to_far_end(agent, ami)
        placed = await agent.connector.call("1003")
        second = placed.value  # type: ignore[union-attr]
        await agent.call_reaches(second, "CONNECTED", timeout=15)
        target = (await ami.event("DialBegin", DialString="1003")).get("DestChannel")
        await bridged(ami, target)
        await peer_known(agent, second)

        assert await agent.connector.merge(first, second)
        merged = await agent.call_reaches(second, "HANGUP", timeout=15)
        assert merged.cause == "merged"
        for channel in (trunk, target, agent.connector.get_call(first).cid):  # type: ignore[union-attr]
            await ami.event("ConfbridgeJoin", Channel=channel, Conference="800", timeout=15)
        call = agent.connector.get_call(first)
        assert call is not None and not call.ended and "conf:800" in call.also
        assert "1003" in call.destination_name and FAR_END in call.destination_name

        assert collapsed(agent.statuses(first)) == ["INITIAL", "ACCEPTED", "RINGING", "CONNECTED"]
        assert await agent.connector.terminate(first)
        await agent.call_reaches(first, "HANGUP", timeout=15)
        for channel in (trunk, target):
            await ami.link.action("Hangup", {"Channel": channel})
        assert await asyncio.wait_for(uas.wait(), 15) == 0
    finally:
        await stop_process(uas)
        await agent.connector.logout()


# --- DTMF ---------------------------------------------------------------------------------------------------


def dtmf_uas(count: int) -> str:
    """A sipp UAS that answers, takes ``count`` SIP INFO digits (logging each ``Signal``), then the BYE."""
    info = """
  <recv request="INFO">
    <action>
      <ereg regexp="Signal=([0-9A-D*#])" search_in="body" check_it="true" assign_to="all,digit" />
      <log message="DIGIT [$digit]" />
    </action>
  </recv>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>
"""
    return f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="dtmf uas">
  <recv request="INVITE" />
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[local_ip]:[local_port];transport=[transport]>
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0
      a=rtpmap:0 PCMU/8000
    ]]>
  </send>
  <recv request="ACK" />
{info * count}
  <recv request="BYE" />
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>
</scenario>
"""


async def test_dtmf_reaches_the_far_end(
    asterisk: Lab, ami: AmiRecorder, phones, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    digits = "7#A*0"
    await ready(ami, phones, "1001")
    scenario = tmp_path / "dtmf.xml"
    scenario.write_text(dtmf_uas(len(digits)))
    uas = await sipp(
        asterisk, tmp_path, "-sf", str(scenario), "-p", str(asterisk.ports.trunk),
        "-mp", str(asterisk.ports.sipp_media(0)), "-trace_logs", "-log_file", str(tmp_path / "dtmf.log"),
    )  # fmt: skip
    agent = await logged_in(asterisk, monkeypatch, "1001")
    try:
        call_id, _trunk = await connected_to_far_end(agent, ami)
        refused = await agent.connector.send_dtmf(call_id, "5X")
        assert not refused and refused.code is ErrorCode.BAD_REQUEST  # type: ignore[union-attr]
        assert not ami.named("DTMFBegin")
        assert await agent.connector.send_dtmf(call_id, digits.lower())
        assert await agent.connector.terminate(call_id)
        assert await asyncio.wait_for(uas.wait(), 15) == 0  # every INFO came, then the BYE
        logged = (tmp_path / "dtmf.log").read_text()
        received = [line.split("DIGIT ", 1)[1].strip() for line in logged.splitlines() if "DIGIT " in line]
        assert "".join(received) == digits
    finally:
        await stop_process(uas)
        await agent.connector.logout()


# --- reject -------------------------------------------------------------------------------------------------


BYE_RECEIVED = """
  <recv request="BYE" />
  <send><![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

  ]]></send>
"""


def caller(final: int, *, waits_for_bye: bool = False) -> str:
    """A sipp UAC (From user ``sipp``: the lab's outside caller) that expects ``final`` as the answer; a 200
    is acknowledged, then held 1 s and hung up, or (``waits_for_bye``) held until the far end hangs up."""
    after = (
        """
  <send><![CDATA[
      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Outside" <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0

  ]]></send>
  <pause milliseconds="1000" />
  <send retrans="500"><![CDATA[
      BYE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Outside" <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 2 BYE
      Max-Forwards: 70
      Content-Length: 0

  ]]></send>
  <recv response="200" />
"""
        if final == 200
        else """
  <send><![CDATA[
      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Outside" <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0

  ]]></send>
"""
    )
    text = f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="caller expecting {final}">
  <send retrans="500"><![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Outside" <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: sip:sipp@[local_ip]:[local_port]
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0
      a=rtpmap:0 PCMU/8000
  ]]></send>
  <recv response="100" optional="true" />
  <recv response="180" optional="true" />
  <recv response="183" optional="true" />
  <recv response="{final}" />
{after}
</scenario>
"""
    if waits_for_bye:
        answered = text.index("<pause")
        text = text[:answered] + BYE_RECEIVED + "</scenario>\n"
    return text


async def test_reject_a_direct_call_the_caller_gets_403(
    asterisk: Lab, ami: AmiRecorder, phones, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await ready(ami, phones, "1001", answermode="manual")
    agent = await logged_in(asterisk, monkeypatch, "1001")
    scenario = tmp_path / "caller.xml"
    scenario.write_text(caller(403))
    uac = await sipp(
        asterisk, tmp_path, "-sf", str(scenario), "-s", "1001", "-p", str(asterisk.ports.sipp),
        "-mp", str(asterisk.ports.sipp_media(1)), f"127.0.0.1:{asterisk.ports.sip}",
    )  # fmt: skip
    try:
        ringing = await agent.call_in("RINGING", timeout=15)
        assert ringing.direction.value == "INBOUND"
        assert await agent.connector.reject(ringing.id)
        ended = await agent.call_reaches(ringing.id, "CANCEL", timeout=15)
        assert ended.cause == "rejected"
        await ami.event("Hangup", Channel=ended.cid, Cause="21")
        assert await asyncio.wait_for(uac.wait(), 15) == 0  # Cause 21 → the caller got 403 Forbidden
        no_refused_reports(agent)
    finally:
        await stop_process(uac)
        await agent.connector.logout()


async def test_reject_a_queue_call_the_queue_rings_on(
    asterisk: Lab, ami: AmiRecorder, phones, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, other = await ready(ami, phones, "1001", "1002", answermode="manual")
    agent = await logged_in(asterisk, monkeypatch, "1001")
    scenario = tmp_path / "caller.xml"
    scenario.write_text(caller(200))
    handset = ControlLink(*other.control, lambda _event: None)
    await handset.connect()
    uac = await sipp(
        asterisk, tmp_path, "-sf", str(scenario), "-s", "6001", "-p", str(asterisk.ports.sipp),
        "-mp", str(asterisk.ports.sipp_media(1)), f"127.0.0.1:{asterisk.ports.sip}",
    )  # fmt: skip
    try:
        ringing = await agent.call_in("RINGING", timeout=15)
        await ami.event("AgentCalled", Interface="PJSIP/1002", timeout=10)
        assert await agent.connector.reject(ringing.id)
        assert (await agent.call_reaches(ringing.id, "CANCEL", timeout=15)).cause == "rejected"
        await ami.event("AgentRingNoAnswer", Interface="PJSIP/1001", timeout=10)
        assert not ami.named("QueueCallerLeave")  # the caller is still queued: 1002 still rings
        assert (await handset.request("accept")).ok
        await ami.event("AgentConnect", Interface="PJSIP/1002", timeout=15)
        assert await asyncio.wait_for(uac.wait(), 20) == 0  # answered by 1002, then hung up by the caller
        no_refused_reports(agent)
        assert [e for e in agent.activities() if e.name is ActivityName.ERROR] == []
    finally:
        await handset.close()
        await stop_process(uac)
        await agent.connector.logout()


async def test_supervised_transfer_of_a_queue_call(
    asterisk: Lab, ami: AmiRecorder, phones, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The call-centre case: an outside caller through queue sales, answered by 1001, handed to 1003 after a
    consult (the queue's ``t`` option lets the answering agent transfer)."""
    await ready(ami, phones, "1001", "1003")
    await ready(ami, phones, "1002", answermode="manual")  # the queue rings it too; it never answers
    agent = await logged_in(asterisk, monkeypatch, "1001")
    scenario = tmp_path / "caller.xml"
    scenario.write_text(caller(200, waits_for_bye=True))
    uac = await sipp(
        asterisk, tmp_path, "-sf", str(scenario), "-s", "6001", "-p", str(asterisk.ports.sipp),
        "-mp", str(asterisk.ports.sipp_media(1)), f"127.0.0.1:{asterisk.ports.sip}",
    )  # fmt: skip
    try:
        connected = await agent.call_in("CONNECTED", timeout=20)
        assert connected.direction.value == "INBOUND"
        outside = (await ami.event("AgentConnect", Interface="PJSIP/1001", timeout=10)).get("Channel")
        await bridged(ami, outside)
        await peer_known(agent, connected.id)
        assert await agent.connector.supervised_transfer(connected.id, "1003")
        consult = await agent.wait_for(lambda: [c for c in agent.connector.calls() if c.id != connected.id], 15)
        (consult_call,) = consult  # type: ignore[misc]
        await agent.call_reaches(consult_call.id, "CONNECTED", timeout=15)
        assert await agent.connector.terminate(connected.id)  # hanging up the held call completes it too
        assert (await agent.call_reaches(connected.id, "HANGUP", timeout=15)).cause == "transferred"
        assert (await agent.call_reaches(consult_call.id, "HANGUP", timeout=15)).cause == "transferred"
        await ami.wait_for(lambda: together(ami, outside, "PJSIP/1003-"), 15, "the caller talks to 1003")
        await ami.link.action("Hangup", {"Channel": outside})
        assert await asyncio.wait_for(uac.wait(), 15) == 0
        no_refused_reports(agent)
    finally:
        await stop_process(uac)
        await agent.connector.logout()
