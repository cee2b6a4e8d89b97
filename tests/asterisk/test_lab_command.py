"""``tools/asterisk_lab.py start --phones --traffic``, run as a user would: the agents' baresips register to
the lab's Asterisk, sipp's outside calls reach a queue, and ``stop`` leaves none of those processes behind."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from amilab import REPO, AmiRecorder, asterisk_lab

pytestmark = pytest.mark.timeout(300)
TOOL = REPO / "tools" / "asterisk_lab.py"


def lab_command(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, str(TOOL), *args], capture_output=True, text=True, timeout=180, env=env,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip


def alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


async def until(probe, what: str, attempts: int = 60):  # type: ignore[no-untyped-def]
    """Ask AMI again (0.25 s apart, bounded) until ``probe`` returns something."""
    for _ in range(attempts):
        found = await probe()
        if found:
            return found
        await asyncio.sleep(0.25)
    raise AssertionError(f"never saw {what}")


async def test_start_with_phones_and_traffic_then_stop_leaves_nothing() -> None:
    missing = [tool for tool in ("baresip", "sipp") if shutil.which(tool) is None]
    if missing or os.geteuid() != 0:
        pytest.skip(f"the lab cannot run here: {missing or 'not root'}")
    asterisk_lab.build_root(lambda _text: None)
    name = f"labcmd-{os.getpid()}"
    started = lab_command("start", "--name", name, "--phones", "1001-1002", "--traffic", "60/min", "--calls", "2")
    try:
        assert started.returncode == 0, started.stderr
        lab = asterisk_lab.Lab.load(name)
        assert f"cti-tui --pbx {lab.url()}" in started.stdout
        assert lab.ami_secret not in started.stdout + started.stderr  # only the command that reads it
        recorded = json.loads((lab.host / "extras.json").read_text())
        assert sorted(entry["kind"] for entry in recorded) == [
            "phone 1001", "phone 1002", "traffic 6001", "traffic 6002"
        ]  # fmt: skip
        ami = await AmiRecorder.open(lab)
        try:

            async def registered() -> set[str]:
                reply = await ami.link.action("PJSIPShowContacts")
                return {e.get("Endpoint") for e in reply.items if e.get("Status") == "Reachable"} >= {
                    "1001",
                    "1002",
                }

            async def queued() -> list[str]:
                reply = await ami.link.action("QueueStatus")
                return [e.get("Queue") for e in reply.items if e.name == "QueueEntry"]

            await until(registered, "1001 and 1002 registered")
            assert set(await until(queued, "a caller waiting in a queue")) <= {"sales", "support"}
        finally:
            await ami.link.close()
    finally:
        stopped = lab_command("stop", "--name", name, "--remove")
    assert stopped.returncode == 0, stopped.stderr
    left = [entry["kind"] for entry in recorded if alive(entry["pid"])]
    assert not left, f"still running after stop: {left}"
    assert lab.pid is not None and not alive(lab.pid)
