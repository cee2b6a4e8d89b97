"""What the Asterisk tests start: one Asterisk for the whole session (the cached root, built here if it is
missing), baresip phones registered to it, an AMI client that keeps every event — each stopped by its PID,
every wait bounded.

A helper module, not a conftest: the root conftest owns that module name (tests import from it by name).
Test modules import the fixtures (``from amilab import asterisk_fixture  # noqa: F401``); each module that
does gets its own session-scoped fixture definition, so the lab itself is shared through :func:`acquire`
and :func:`release`: one Asterisk per test process however many modules use it.

Locally, a machine that cannot run it (not root, no mmdebstrap and no cached root, no baresip or sipp)
skips these tests with the reason; under CI (``CI`` set) that is a failure, never a skip: .ci/run builds the
root first.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from cti_tui.backends.asterisk import AmiLink
from cti_tui.backends.softphone import ManagedBaresip
from cti_tui.protocol.ami import Event

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))
import asterisk_lab  # noqa: E402 - the lab lives in tools/, for users and tests alike

Lab = asterisk_lab.Lab


RegisteredPhone = ManagedBaresip  # with ``registrar`` and ``password``: the product's own registrar settings


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
        registrar="{}:{}".format(*lab.sip_address),
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


# --- fixtures -------------------------------------------------------------------------------------------------

_shared: dict[str, object] = {"lab": None, "users": 0}


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"CI: the Asterisk lab cannot run: {reason}", pytrace=False)
    pytest.skip(f"the Asterisk lab cannot run: {reason}")


def acquire() -> asterisk_lab.Lab:
    """The process's lab, started on first use (skip or fail, as above, when it cannot run)."""
    lab = _shared["lab"]
    if not isinstance(lab, asterisk_lab.Lab):
        missing = [tool for tool in ("baresip", "sipp") if shutil.which(tool) is None]
        if missing:
            _unavailable(f"{' and '.join(missing)} not installed (Debian: apt-get install baresip-core sip-tester)")
        if os.geteuid() != 0:
            _unavailable("it needs root (Asterisk runs in a chroot)")
        try:
            asterisk_lab.build_root()  # reuses the cached root at once; builds it (20-60 s) only if missing
        except asterisk_lab.LabError as exc:
            _unavailable(str(exc))
        asterisk_lab.sweep("pytest-")  # labs of test runs that were killed before their teardown
        lab = Lab(f"pytest-{os.getpid()}", asterisk_lab.free_base())
        lab.start(timeout=60)
        _shared["lab"] = lab
    _shared["users"] = int(_shared["users"]) + 1  # type: ignore[call-overload]
    return lab


def release() -> list[str]:
    """One user less; the last one stops and removes the lab and gets the ERRORs Asterisk logged."""
    _shared["users"] = int(_shared["users"]) - 1  # type: ignore[call-overload]
    lab = _shared["lab"]
    if _shared["users"] or not isinstance(lab, asterisk_lab.Lab):
        return []
    _shared["lab"] = None
    lab.stop()
    problems = lab.problems()
    lab.remove()
    return problems


@pytest.fixture(name="asterisk", scope="session")
def asterisk_fixture() -> Iterator[asterisk_lab.Lab]:
    """A running Asterisk 22 (tools/asterisk_lab.py), ready (FullyBooted), shared by the whole session."""
    lab = acquire()
    try:
        yield lab
    finally:
        problems = release()
    assert not problems, f"Asterisk logged errors: {problems}"


@pytest.fixture(name="ami")
async def ami_fixture(asterisk: asterisk_lab.Lab) -> AsyncIterator[AmiRecorder]:
    """An AMI client logged in to the session's Asterisk, keeping every event."""
    recorder = await AmiRecorder.open(asterisk)
    try:
        yield recorder
    finally:
        await recorder.link.close()


@pytest.fixture(name="phones")
async def phones_fixture(asterisk: asterisk_lab.Lab, tmp_path: Path) -> AsyncIterator[Callable[..., RegisteredPhone]]:
    """``phones(user, answermode="manual")`` → a baresip registered as that user (started by the test with
    ``await phone.start()``); each is stopped by its PID at the end."""
    made: list[RegisteredPhone] = []

    def make(user: str, answermode: str = "manual") -> RegisteredPhone:
        phone = phone_for(asterisk, tmp_path, len(made), user, answermode)
        made.append(phone)
        return phone

    try:
        yield make
    finally:
        for phone in made:
            await phone.stop()
