"""Record a real AMI session of watched-line traffic into tests/asterisk/transcripts/lines.ami (run by hand,
as root): what tests/protocol/test_ami_lines.py replays.

    python3 tests/asterisk/record_lines_transcript.py [OUT.ami]

Phones 1001, 1002, 1003 and 1100 (auto-answer) on the lab's Asterisk, then: 1001 logs in to queue support
(QueueAdd), everyone in support is paused, a sipp caller waits there and gives up (QueueCallerAbandon); the
pause ends and 1001 logs out again (QueueRemove); 1001 calls 1002, 1002's end is parked (Redirect to 700)
and 1003 picks it up by dialling the slot (UnParkedCall); 1001 and 1002 meet in room 800 and leave it one
after the other; 1003 calls 1001 and 1100 listens in (ChanSpy). Our actions are not in the file, so neither
is the secret.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

from amilab import AmiRecorder, Lab, asterisk_lab, phone_for, stop_process
from record_transcript import sipp

USERS = ("1001", "1002", "1003", "1100")


def originate(user: str, exten: str, context: str = "internal") -> dict[str, object]:
    return {"Channel": f"PJSIP/{user}", "Context": context, "Exten": exten, "Priority": 1, "Async": "true"}


def channel_of(ami: AmiRecorder, user: str) -> str:
    """The newest live channel of ``user``'s phone."""
    up = [e.get("Channel") for e in ami.named("Newchannel") if e.get("Channel").startswith(f"PJSIP/{user}-")]
    gone = {e.get("Channel") for e in ami.named("Hangup")}
    return [c for c in up if c not in gone][-1]


async def scenario(lab: Lab, folder: Path) -> bytes:
    ami = await AmiRecorder.open(lab, keep_raw=True)
    link = ami.link
    for action in ("QueueStatus", "ParkedCalls", "DeviceStateList"):
        await link.action(action)
    phones = [phone_for(lab, folder, i, user, "auto") for i, user in enumerate(USERS)]
    caller = None
    try:
        for phone in phones:
            await phone.start()
        for user in USERS:
            await ami.event("ContactStatus", AOR=user, ContactStatus="Reachable", timeout=15)
        # queue support: 1001 logs in; all paused; a caller waits 3 s and hangs up
        await link.action("QueueAdd", {"Queue": "support", "Interface": "PJSIP/1001", "StateInterface": "PJSIP/1001"})
        for user in ("1001", "1003", "1004"):
            fields = {"Queue": "support", "Interface": f"PJSIP/{user}", "Paused": "true", "Reason": "training"}
            await link.action("QueuePause", fields)
        await link.action("QueueStatus", {"Queue": "support"})
        caller = await sipp(
            lab, folder, "-sn", "uac", "-s", "6002", "-d", "3000", "-p", str(lab.ports.sipp),
            "-mp", str(lab.ports.sipp_media(1)), f"127.0.0.1:{lab.ports.sip}",
        )  # fmt: skip
        await ami.event("QueueCallerJoin", Queue="support", timeout=15)
        await link.action("QueueStatus", {"Queue": "support"})
        await ami.event("QueueCallerAbandon", Queue="support", timeout=20)
        await asyncio.wait_for(caller.wait(), 15)
        for user in ("1001", "1003", "1004"):
            await link.action("QueuePause", {"Queue": "support", "Interface": f"PJSIP/{user}", "Paused": "false"})
        await link.action("QueueRemove", {"Queue": "support", "Interface": "PJSIP/1001"})
        # park and pick up: 1001 calls 1002, 1002's leg goes to the lot, 1003 dials the slot
        bridged = len(ami.named("BridgeEnter"))
        await link.action("Originate", originate("1001", "1002"))
        await ami.wait_for(lambda: len(ami.named("BridgeEnter")) >= bridged + 2, 15, "1001 and 1002 talking")
        await link.action(
            "Redirect", {"Channel": channel_of(ami, "1002"), "Context": "internal", "Exten": "700", "Priority": 1}
        )
        parked = await ami.event("ParkedCall", timeout=10)
        await link.action("ParkedCalls")
        await link.action("Originate", originate("1003", parked.get("ParkingSpace")))
        await ami.event("UnParkedCall", timeout=15)
        await link.action("Hangup", {"Channel": channel_of(ami, "1003")})
        await ami.wait_for(lambda: not [u for u in USERS if _live(ami, u)], 15, "all phones idle")
        # room 800: 1001 and 1002 join, then leave one after the other
        for user in ("1001", "1002"):
            await link.action("Originate", originate(user, "800"))
        await ami.wait_for(lambda: len(ami.named("ConfbridgeJoin")) >= 2, 15, "two in the room")
        await link.action("ConfbridgeList", {"Conference": "800"})
        for user in ("1001", "1002"):
            await link.action("Hangup", {"Channel": channel_of(ami, user)})
            await ami.wait_for(lambda: not _live(ami, user), 15, f"{user} out of the room")  # noqa: B023 - awaited here
        # ChanSpy: 1003 calls 1001, 1100 listens in
        bridged = len(ami.named("BridgeEnter"))
        await link.action("Originate", originate("1003", "1001"))
        await ami.wait_for(lambda: len(ami.named("BridgeEnter")) >= bridged + 2, 15, "1003 and 1001 talking")
        spy = {"Channel": "PJSIP/1100", "Application": "ChanSpy", "Data": "PJSIP/1001-,qE", "Async": "true"}
        await link.action("Originate", spy)
        await ami.event("ChanSpyStart", timeout=15)
        await link.action("Hangup", {"Channel": channel_of(ami, "1003")})
        await ami.wait_for(lambda: not [u for u in USERS if _live(ami, u)], 15, "all phones idle")
        await asyncio.sleep(0.3)
    finally:
        for phone in phones:
            await phone.stop()
        await asyncio.sleep(0.3)
        await link.close()
        if caller is not None:
            await stop_process(caller)
    return bytes(ami.raw)


def _live(ami: AmiRecorder, user: str) -> bool:
    up = {e.get("Channel") for e in ami.named("Newchannel") if e.get("Channel").startswith(f"PJSIP/{user}-")}
    return bool(up - {e.get("Channel") for e in ami.named("Hangup")})


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "transcripts" / "lines.ami"
    asterisk_lab.build_root()
    lab = Lab(f"record-lines-{asterisk_lab.os.getpid()}", asterisk_lab.free_base())
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
