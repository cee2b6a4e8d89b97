"""Real baresip and sipp processes on loopback for the softphone tests (a helper module, not a conftest:
the root conftest owns that module name): unique ports per test, bounded waits,
every process stopped by its PID."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import shutil
import signal
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from cti_tui.backends.softphone import ManagedBaresip, SoftphoneBackend
from cti_tui.core.model import ActivityEvent, Call, CallEvent, Event
from cti_tui.engine.connector import Connector

BLOCK = 100  # ports per test: SIP at base+0/2/4/6 (2 apart: baresip binds TLS on +1), ctrl at +10.., RTP above
# Below Linux's ephemeral range (32768-60999): a port there may be taken, between the check and baresip's bind,
# by any outgoing connection (the control link's own probes included), or be in TIME_WAIT from one.
FIRST_PORT, BLOCKS = 20000, 127
_blocks = itertools.count((os.getpid() * 7) % BLOCKS)


def require_tools() -> None:
    """Skip locally when baresip or sipp is missing; fail under CI (CI must not skip silently)."""
    missing = [tool for tool in ("baresip", "sipp") if shutil.which(tool) is None]
    if not missing:
        return
    reason = f"{' and '.join(missing)} not installed (Debian: apt-get install baresip-core sip-tester)"
    if os.environ.get("CI"):
        pytest.fail(f"CI: {reason}", pytrace=False)
    pytest.skip(reason)


def _free(port: int) -> bool:
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        with socket.socket(socket.AF_INET, kind) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def port_block() -> int:
    """A block of BLOCK ports in 20000–32699 whose SIP/control ports are free now, different for every test."""
    for _ in range(400):
        base = FIRST_PORT + (next(_blocks) % BLOCKS) * BLOCK
        if all(_free(base + offset) for offset in (*range(0, 8), *range(10, 14), *range(20, 24))):
            return base
    raise RuntimeError("no free port block on 127.0.0.1")


@dataclass
class Recorder:
    """A connector and every event it emitted; wait on conditions with a bound."""

    connector: Connector
    events: list[Event] = field(default_factory=list)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.connector.add_listener(self._on_event)

    def _on_event(self, event: Event) -> None:
        self.events.append(event)
        self._changed.set()

    async def wait_for(self, predicate: Callable[[], object], timeout: float = 10.0, what: str = "") -> object:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = predicate()
            if value:
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"timed out waiting for {what or predicate}; events: {self.events}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    def statuses(self, call_id: str) -> list[str]:
        return [e.call.status.value for e in self.events if isinstance(e, CallEvent) and e.call.id == call_id]

    def calls_in(self, status: str) -> list[Call]:
        return [c for c in self.connector.calls() if c.status.value == status]

    async def call_in(self, status: str, timeout: float = 10.0) -> Call:
        await self.wait_for(lambda: self.calls_in(status), timeout, f"a call in {status}")
        return self.calls_in(status)[-1]

    async def call_reaches(self, call_id: str, status: str, timeout: float = 10.0) -> Call:
        def reached() -> Call | None:
            call = self.connector.get_call(call_id)
            return call if call is not None and call.status.value == status else None

        await self.wait_for(reached, timeout, f"call {call_id} {status}")
        call = self.connector.get_call(call_id)
        assert call is not None
        return call

    def activities(self) -> list[ActivityEvent]:
        return [e for e in self.events if isinstance(e, ActivityEvent)]


@dataclass
class Lab:
    """What a test started: baresips (stopped by PID at the end), sipp runs, connectors."""

    tmp: Path
    base: int
    phones: list[ManagedBaresip] = field(default_factory=list)
    connectors: list[Connector] = field(default_factory=list)
    sipps: list[asyncio.subprocess.Process] = field(default_factory=list)

    def phone(self, index: int, user: str, name: str, answermode: str = "manual") -> ManagedBaresip:
        low = self.base + 40 + index * 20
        phone = ManagedBaresip(
            self.tmp / f"baresip-{user}",
            sip_port=self.base + 2 * index,
            ctrl_port=self.base + 10 + index,
            user=user,
            display_name=name,
            answermode=answermode,
            rtp_ports=(low, low + 19),
        )
        self.phones.append(phone)
        return phone

    @property
    def sipp_port(self) -> int:
        return self.base + 6

    async def agent(self, phone: ManagedBaresip, dial_domain: str | None = None) -> Recorder:
        """A connector on a SoftphoneBackend that starts and drives ``phone``, logged in."""
        connector = Connector(SoftphoneBackend(managed=phone, dial_domain=dial_domain))
        self.connectors.append(connector)
        recorder = Recorder(connector)
        assert await asyncio.wait_for(connector.login("agent@example.com", "any"), 20), recorder.events
        return recorder

    async def sipp(self, *args: str) -> asyncio.subprocess.Process:
        process = await asyncio.create_subprocess_exec(
            "sipp",
            *args,
            "-p",
            str(self.sipp_port),
            "-i",
            "127.0.0.1",
            "-mi",
            "127.0.0.1",
            "-mp",
            str(self.base + 20),
            "-bind_local",
            "-m",
            "1",
            "-nostdin",
            "-timeout",
            "20s",
            "-timeout_error",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            cwd=self.tmp,
        )
        self.sipps.append(process)
        return process

    async def call_from_sipp(self, phone: ManagedBaresip, scenario: str) -> asyncio.subprocess.Process:
        path = self.tmp / f"uac-{len(self.sipps)}.xml"
        path.write_text(scenario)
        return await self.sipp("-sf", str(path), f"127.0.0.1:{phone.sip_port}", "-s", phone.user, "-l", "1")

    async def cleanup(self) -> None:
        for connector in self.connectors:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connector.logout(), 10)
        for process in self.sipps:
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGKILL)
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(process.wait(), 5)
        for phone in self.phones:
            await phone.stop()


async def sipp_exit(process: asyncio.subprocess.Process, timeout: float = 25.0) -> int:
    return await asyncio.wait_for(process.wait(), timeout)


@pytest.fixture(name="lab")
async def lab_fixture(tmp_path: Path):
    """The processes a softphone test starts, all stopped by PID at the end."""
    require_tools()
    started = Lab(tmp_path, port_block())
    try:
        yield started
    finally:
        await started.cleanup()
