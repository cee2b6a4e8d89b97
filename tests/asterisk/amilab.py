"""What the Asterisk tests start besides Asterisk itself: baresip phones registered to it, sipp, an AMI
client that keeps every event — each stopped by its PID, every wait bounded.

(A helper module next to this folder's conftest.py, which owns the session's Asterisk.)
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cti_tui.backends.asterisk import AmiLink
from cti_tui.backends.softphone import ManagedBaresip
from cti_tui.protocol.ami import Event

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))
import asterisk_lab  # noqa: E402 - the lab lives in tools/, for users and tests alike

Lab = asterisk_lab.Lab


@dataclass
class RegisteredPhone(ManagedBaresip):
    """A managed baresip whose account registers to the lab's Asterisk (the project's ManagedBaresip
    runs without a registrar: ``regint=0``, AOR at its own address)."""

    registrar: tuple[str, int] = ("127.0.0.1", 5060)
    password: str = field(default="", repr=False)

    @property
    def aor(self) -> str:
        return f"sip:{self.user}@{self.registrar[0]}:{self.registrar[1]}"

    def write_config(self) -> None:
        super().write_config()
        name = self.display_name.replace('"', "")
        account = f'"{name}" <{self.aor}>;auth_pass={self.password};regint=600;answermode={self.answermode}\n'
        (self.folder / "accounts").write_text(account)


def phone_for(
    lab: asterisk_lab.Lab, folder: Path, index: int, user: str, answermode: str = "manual"
) -> RegisteredPhone:
    ports = lab.ports
    return RegisteredPhone(
        folder / f"baresip-{user}",
        sip_port=ports.phone_sip(index),
        ctrl_port=ports.phone_ctrl(index),
        user=user,
        display_name=f"Agent {user}",
        answermode=answermode,
        rtp_ports=ports.phone_rtp(index),
        registrar=lab.sip_address,
        password=lab.sip_passwords[user],
    )


@dataclass
class AmiRecorder:
    """An AMI client that keeps every event and can wait (bounded) for one."""

    link: AmiLink
    events: list[Event] = field(default_factory=list)
    raw: bytearray = field(default_factory=bytearray)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    @classmethod
    async def open(cls, lab: asterisk_lab.Lab, keep_raw: bool = False) -> AmiRecorder:
        recorder = cls(AmiLink(*lab.ami_address))
        recorder.link.on_event = recorder._on_event
        if keep_raw:
            recorder.link.tap = recorder.raw.extend
        await recorder.link.connect()
        await recorder.link.login(asterisk_lab.AMI_USER, lab.ami_secret)
        return recorder

    def _on_event(self, event: Event) -> None:
        self.events.append(event)
        self._changed.set()

    def named(self, name: str, **where: str) -> list[Event]:
        return [e for e in self.events if e.name == name and all(e.get(k) == v for k, v in where.items())]

    async def wait_for(self, predicate: Callable[[], object], timeout: float = 10.0, what: str = "") -> object:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = predicate()
            if value:
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                names = [e.name for e in self.events[-40:]]
                raise AssertionError(f"timed out waiting for {what or predicate}; last events: {names}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    async def event(self, name: str, timeout: float = 10.0, **where: str) -> Event:
        await self.wait_for(lambda: self.named(name, **where), timeout, f"{name} {where}")
        return self.named(name, **where)[0]


async def stop_process(process: asyncio.subprocess.Process, timeout: float = 5.0) -> None:
    """SIGKILL by PID if still running, then reap it (bounded)."""
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGKILL)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(process.wait(), timeout)
