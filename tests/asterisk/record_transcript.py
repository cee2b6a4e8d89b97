"""Record a real AMI session of the lab's Asterisk into tests/asterisk/transcripts/ (run by hand, as root).

    python3 tests/asterisk/record_transcript.py [OUT.ami]

What Asterisk sent, byte for byte from the banner on (our actions are not in it, so neither is the secret):
list actions on an idle PBX, three baresip phones registering (auto-answer), a click-to-call (Originate
1001 → 1002) with CoreShowChannels while it is up, an AMI Hangup, a call out through the trunk to a sipp
UAS, a sipp caller through queue sales, a Park and a QueuePause. The codec tests and bench/ami_parse.py
replay it.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

from amilab import AmiRecorder, Lab, asterisk_lab, phone_for, stop_process


async def sipp(lab: Lab, folder: Path, *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        "sipp",
        *args,
        "-i",
        "127.0.0.1",
        "-m",
        "1",
        "-nostdin",
        "-timeout",
        "30s",
        "-timeout_error",
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        cwd=folder,
    )


async def scenario(lab: Lab, folder: Path) -> bytes:
    ami = await AmiRecorder.open(lab, keep_raw=True)
    link = ami.link
    for action in ("CoreShowChannels", "QueueStatus", "ParkedCalls", "DeviceStateList", "Ping"):
        await link.action(action)
    await link.action("Command", {"Command": "core show version"})
    await link.action(
        "Originate", {"Channel": "PJSIP/nobody", "Exten": "1", "Context": "internal", "Priority": 1}, check=False
    )
    phones = [phone_for(lab, folder, i, user, "auto") for i, user in enumerate(("1001", "1002", "1003"))]
    try:
        for phone in phones:
            await phone.start()
        for user in ("1001", "1002", "1003"):
            await ami.event("ContactStatus", AOR=user, ContactStatus="Reachable", timeout=15)
        # click-to-call 1001 -> 1002
        click_to_call = [
            ("Channel", "PJSIP/1001"),
            ("Context", "internal"),
            ("Exten", "1002"),
            ("Priority", 1),
            ("CallerID", "Click2Call <1002>"),
            ("Timeout", 20000),
            ("Async", "true"),
            ("Variable", "CTI_CALL=c2c-1"),
            ("Variable", "CTI_AGENT=1001"),
        ]
        await link.action("Originate", click_to_call)
        await ami.wait_for(lambda: len(ami.named("BridgeEnter")) >= 2, 15, "both legs bridged")
        await link.action("CoreShowChannels")
        await link.action("QueueStatus")
        peer = ami.named("Newchannel")[-1].get("Channel")
        await link.action("Hangup", {"Channel": peer, "Cause": 16})
        await ami.wait_for(lambda: len(ami.named("Hangup")) >= 2, 10, "both legs hung up")
        # out through the trunk to a sipp UAS
        uas = await sipp(lab, folder, "-sn", "uas", "-p", str(lab.ports.trunk), "-mp", str(lab.ports.sipp_media(0)))
        await asyncio.sleep(0.3)
        await link.action(
            "Originate",
            {
                "Channel": "PJSIP/1003",
                "Context": "internal",
                "Exten": "+12025550123",
                "Priority": 1,
                "Timeout": 20000,
                "Async": "true",
            },
        )
        await ami.wait_for(lambda: len(ami.named("BridgeEnter")) >= 4, 15, "trunk call bridged")
        await link.action("CoreShowChannels")
        await link.action("Hangup", {"Channel": "/^PJSIP/1003-.*$/", "Cause": 16})
        await asyncio.wait_for(uas.wait(), 15)
        # a sipp caller into queue sales, 2 s of talk
        hangups = len(ami.named("Hangup"))
        uac = await sipp(
            lab,
            folder,
            "-sn",
            "uac",
            "-s",
            "6001",
            "-d",
            "2000",
            "-p",
            str(lab.ports.sipp),
            "-mp",
            str(lab.ports.sipp_media(1)),
            f"127.0.0.1:{lab.ports.sip}",
        )
        await ami.event("AgentConnect", timeout=15)
        await link.action("QueueStatus")
        await asyncio.wait_for(uac.wait(), 20)
        await ami.wait_for(lambda: len(ami.named("Hangup")) >= hangups + 2, 10, "queue call over")
        # park: 1001 calls 1002, 1002's peer (1001) is parked
        await link.action(
            "Originate",
            {
                "Channel": "PJSIP/1001",
                "Context": "internal",
                "Exten": "1002",
                "Priority": 1,
                "Timeout": 20000,
                "Async": "true",
            },
        )
        bridged = len(ami.named("BridgeEnter"))
        await ami.wait_for(lambda: len(ami.named("BridgeEnter")) >= bridged + 2, 15, "park call bridged")
        channels = (await link.action("CoreShowChannels")).events("CoreShowChannel")
        caller = next(c.get("Channel") for c in channels if c.get("Channel").startswith("PJSIP/1001"))
        callee = next(c.get("Channel") for c in channels if c.get("Channel").startswith("PJSIP/1002"))
        await link.action("Park", {"Channel": caller, "TimeoutChannel": callee, "Parkinglot": "default"})
        await ami.event("ParkedCall", timeout=10)
        await link.action("ParkedCalls")
        await link.action("Hangup", {"Channel": callee})
        await link.action("Hangup", {"Channel": caller})
        await ami.event("ParkedCallGiveUp", timeout=10)
        await link.action(
            "QueuePause", {"Queue": "sales", "Interface": "PJSIP/1001", "Paused": "true", "Reason": "lunch"}
        )
        await link.action("QueueStatus")
        await link.action("QueuePause", {"Queue": "sales", "Interface": "PJSIP/1001", "Paused": "false"})
        await asyncio.sleep(0.5)
    finally:
        for phone in phones:
            await phone.stop()
        await asyncio.sleep(0.3)
        await link.close()
    for name in ("uas", "uac"):
        process = locals().get(name)
        if process is not None:
            await stop_process(process)
    return bytes(ami.raw)


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "transcripts" / "session.ami"
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
