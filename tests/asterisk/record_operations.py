"""Record the lab's AMI during the call operations of backends/asterisk_calls.py (run by hand, as root).

    python3 tests/asterisk/record_operations.py [OUT.ami]

What Asterisk sent, from the banner on (our actions are not in it, their responses are): agent 1001 calls
a sipp UAS through the trunk (Originate ``ChannelId=rec-done``), ``Atxfer`` to 1003, which answers, then
the agent's channel is hung up (the transfer completes); a second call (``rec-cancel``) consulted and
``CancelAtxfer``-ed, then hung up; a third (``rec-park``) whose far end is ``Park``-ed in 705 and picked up
by 1002 (``Originate`` into parkedcalls, ``ChannelId=rec-unpark``). tests/protocol/test_ami_book_operations.py
replays it.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

from amilab import AmiRecorder, Lab, asterisk_lab, phone_for, stop_process

FAR_END = "+12025550123"


async def far_end(lab: Lab, folder: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        "sipp", "-sn", "uas", "-i", "127.0.0.1", "-p", str(lab.ports.trunk), "-mp", str(lab.ports.sipp_media(0)),
        "-m", "1", "-nostdin", "-timeout", "60s", "-timeout_error",
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        cwd=folder,
    )  # fmt: skip


async def call_out(ami: AmiRecorder, call_id: str) -> tuple[str, str]:
    """Agent 1001 → the far end, both bridged: (the agent's channel, the trunk channel)."""
    fields = {"Channel": "PJSIP/1001", "Context": "internal", "Exten": FAR_END, "Priority": 1}
    await ami.link.action("Originate", {**fields, "Async": "true", "ChannelId": call_id})
    agent = (await ami.event("Newchannel", Uniqueid=call_id, timeout=15)).get("Channel")
    trunk = (await ami.event("DialBegin", Uniqueid=call_id, timeout=15)).get("DestChannel")
    for channel in (agent, trunk):
        await ami.wait_for(lambda c=channel: ami.named("BridgeEnter", Channel=c), 15, f"{channel} bridged")
    return agent, trunk


async def consulted(ami: AmiRecorder, agent: str) -> None:
    await ami.link.action("Atxfer", {"Channel": agent, "Exten": "1003", "Context": "internal"})
    count = len(ami.named("BridgeEnter"))
    await ami.wait_for(
        lambda: any(e.get("Channel").startswith("PJSIP/1003-") for e in ami.named("BridgeEnter")[count:]), 15
    )


async def scenario(lab: Lab, folder: Path) -> bytes:
    ami = await AmiRecorder.open(lab, keep_raw=True)
    phones = [phone_for(lab, folder, i, user, "auto") for i, user in enumerate(("1001", "1002", "1003"))]
    uas = None
    try:
        for phone in phones:
            await phone.start()
        for user in ("1001", "1002", "1003"):
            await ami.event("ContactStatus", AOR=user, ContactStatus="Reachable", timeout=15)
        # supervised transfer, completed by the transferer hanging up
        uas = await far_end(lab, folder)
        agent, trunk = await call_out(ami, "rec-done")
        await consulted(ami, agent)
        await ami.link.action("Hangup", {"Channel": agent, "Cause": 16})
        await ami.event("AttendedTransfer", timeout=15)
        await ami.link.action("Hangup", {"Channel": trunk})
        await asyncio.wait_for(uas.wait(), 15)
        # supervised transfer, cancelled
        uas = await far_end(lab, folder)
        agent, trunk = await call_out(ami, "rec-cancel")
        await consulted(ami, agent)
        await ami.link.action("CancelAtxfer", {"Channel": agent})
        await ami.event("Unhold", Channel=agent, timeout=15)
        await ami.link.action("Hangup", {"Channel": agent, "Cause": 16})
        await asyncio.wait_for(uas.wait(), 15)
        # park by 1001, unpark by 1002
        uas = await far_end(lab, folder)
        agent, trunk = await call_out(ami, "rec-park")
        await ami.link.action("Park", {"Channel": trunk, "TimeoutChannel": agent, "ParkingSpace": 705})
        await ami.link.action("Hangup", {"Channel": agent, "Cause": 16})
        await ami.event("ParkedCall", ParkeeChannel=trunk, timeout=10)
        unpark = {"Channel": "PJSIP/1002", "Context": "parkedcalls", "Exten": "705", "Priority": 1}
        await ami.link.action("Originate", {**unpark, "Async": "true", "ChannelId": "rec-unpark"})
        await ami.event("UnParkedCall", ParkeeChannel=trunk, timeout=15)
        await ami.link.action("Hangup", {"Channel": trunk})
        await asyncio.wait_for(uas.wait(), 15)
        await asyncio.sleep(0.5)
    finally:
        if uas is not None:
            await stop_process(uas)
        for phone in phones:
            await phone.stop()
        await asyncio.sleep(0.3)
        await ami.link.close()
    return bytes(ami.raw)


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "transcripts" / "operations.ami"
    asterisk_lab.build_root()
    lab = Lab(f"record-{asterisk_lab.os.getpid()}", asterisk_lab.free_base())
    started = time.monotonic()
    lab.start()
    try:
        with tempfile.TemporaryDirectory() as folder:
            raw = asyncio.run(scenario(lab, Path(folder)))
    finally:
        lab.stop()
        lab.remove()
    out.write_bytes(raw)
    print(f"{len(raw)} bytes, {raw.count(b'Event: ')} events in {time.monotonic() - started:.1f} s -> {out}")


if __name__ == "__main__":
    main()
