"""The AMI codec and link against a real Asterisk 22 (tools/asterisk_lab.py): login, whole lists, phones
registering, and a click-to-call (Originate) from a real baresip to a sipp UAS."""

from __future__ import annotations

import asyncio

import pytest
from amilab import AmiRecorder, Lab, ami_fixture, asterisk_fixture, asterisk_lab, phones_fixture, stop_process  # noqa: F401 - fixtures

from cti_tui.backends.asterisk import ActionFailed, AmiError, AmiLink

pytestmark = pytest.mark.timeout(300)  # the first test may build the root (20-60 s) when no cache exists


async def test_login_is_refused_with_a_wrong_secret_and_the_secret_is_never_shown(asterisk: Lab) -> None:
    link = AmiLink(*asterisk.ami_address)
    banner = await link.connect()
    assert banner.text.startswith("Asterisk Call Manager/")
    with pytest.raises(AmiError) as refused:
        await link.login(asterisk_lab.AMI_USER, "not-the-secret")
    assert "refused" in str(refused.value) and "not-the-secret" not in str(refused.value)
    await link.close()
    assert asterisk.ami_secret not in repr(asterisk) and asterisk.ami_secret not in repr(link)


async def test_lists_come_back_whole(ami: AmiRecorder) -> None:
    channels = await ami.link.action("CoreShowChannels")
    assert channels.complete is not None and channels.complete.name == "CoreShowChannelsComplete"
    assert channels.complete.get("ListItems") == str(len(channels.items))

    queues = await ami.link.action("QueueStatus")
    assert queues.complete is not None and queues.complete.name == "QueueStatusComplete"
    assert sorted(q.get("Queue") for q in queues.events("QueueParams")) == ["sales", "support"]
    members = {(m.get("Queue"), m.get("Location")) for m in queues.events("QueueMember")}
    assert members == {(q, f"PJSIP/{u}") for q, users in asterisk_lab.QUEUES.items() for u in users}

    one_queue = await ami.link.action("QueueStatus", {"Queue": "sales"})
    assert [q.get("Queue") for q in one_queue.events("QueueParams")] == ["sales"]

    parked = await ami.link.action("ParkedCalls")
    assert parked.complete is not None and parked.complete.name == "ParkedCallsComplete"
    devices = await ami.link.action("DeviceStateList")
    assert devices.complete is not None and int(devices.complete.get("ListItems")) == len(devices.items) > 0

    with pytest.raises(ActionFailed, match="Extension does not exist"):
        await ami.link.action(
            "Originate", {"Channel": "PJSIP/1001", "Context": "internal", "Exten": "99", "Priority": 1}
        )
    assert not ami.link.parse_errors


async def test_a_registering_phone_shows_in_contact_and_device_state(ami: AmiRecorder, phones) -> None:
    phone = phones("1005")
    await phone.start()
    await ami.event("ContactStatus", AOR="1005", ContactStatus="Reachable", timeout=15)
    await ami.event("PeerStatus", Peer="PJSIP/1005", PeerStatus="Reachable")
    await ami.event("DeviceStateChange", Device="PJSIP/1005", State="NOT_INUSE")
    await phone.stop()  # baresip unregisters as it quits
    await ami.event("ContactStatus", AOR="1005", ContactStatus="Removed", timeout=15)
    await ami.event("DeviceStateChange", Device="PJSIP/1005", State="UNAVAILABLE")


async def test_click_to_call_from_a_real_phone_to_a_sipp_uas(asterisk: Lab, ami: AmiRecorder, phones, tmp_path) -> None:
    agent = phones("1001", answermode="auto")  # the agent's phone rings first and picks up by itself
    await agent.start()
    await ami.event("ContactStatus", AOR="1001", ContactStatus="Reachable", timeout=15)
    uas = await asyncio.create_subprocess_exec(
        "sipp", "-sn", "uas", "-i", "127.0.0.1", "-p", str(asterisk.ports.trunk),
        "-mp", str(asterisk.ports.sipp_media(0)), "-m", "1", "-nostdin", "-timeout", "30s", "-timeout_error",
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        cwd=tmp_path,
    )  # fmt: skip
    try:
        reply = await ami.link.action(
            "Originate",
            [
                ("Channel", "PJSIP/1001"), ("Context", "internal"), ("Exten", "+12025550123"), ("Priority", 1),
                ("CallerID", "Click to call <+12025550123>"), ("Timeout", 20000), ("Async", "true"),
                ("Variable", "__CTI_CALL=t-1"), ("Variable", "CTI_AGENT=1001"),
            ],
        )  # fmt: skip
        assert reply.message == "Originate successfully queued"
        originated = await ami.event("OriginateResponse", timeout=15, ActionID=reply.action_id)
        assert originated.get("Response") == "Success"
        agent_leg = originated.get("Channel")
        assert agent_leg.startswith("PJSIP/1001-")
        out = await ami.event("DialBegin", timeout=15, Channel=agent_leg)
        trunk_leg = out.get("DestChannel")
        assert trunk_leg.startswith("PJSIP/trunk-") and out.get("DialString") == "+12025550123@trunk"
        await ami.event("DialEnd", DestChannel=trunk_leg, DialStatus="ANSWER", timeout=15)
        await ami.wait_for(lambda: {e.get("Channel") for e in ami.named("BridgeEnter")} >= {agent_leg, trunk_leg})

        listed = await ami.link.action("CoreShowChannels")
        assert {agent_leg, trunk_leg} <= {c.get("Channel") for c in listed.items}
        # the variable set with __ is inherited by the far leg: both legs of this call carry its id
        for leg in (agent_leg, trunk_leg):
            tagged = [e for e in ami.events if e.get("Channel") == leg and "CTI_CALL=t-1" in e.get_all("ChanVariable")]
            assert tagged, f"no event of {leg} carries CTI_CALL"

        await ami.link.action("Hangup", {"Channel": trunk_leg, "Cause": 16})
        await ami.event("Hangup", Channel=trunk_leg, Cause="16")
        await ami.event("Hangup", Channel=agent_leg)
        assert await asyncio.wait_for(uas.wait(), 15) == 0  # the UAS saw the BYE and ended its call cleanly

        names = [e.name for e in ami.events if e.get("Channel") == trunk_leg or e.get("DestChannel") == trunk_leg]
        assert names.index("Newchannel") < names.index("DialBegin") < names.index("DialEnd") < names.index("Hangup")
        assert not ami.link.parse_errors
    finally:
        await stop_process(uas)
