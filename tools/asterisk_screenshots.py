"""Screenshots of the app on a real Asterisk 22 (the lab of tools/asterisk_lab.py): a queued call ringing,
answered and on hold on an agent's screen (its baresip attached, as ``--sip-registrar`` attaches it), and
a supervisor watching queue sales, agent 1001 and the park lot while a caller waits. Real processes, real
events: the Textual app is driven by a Pilot, sipp calls queue sales (6001), and ``app.save_screenshot``
writes the SVGs to screenshots/ (``rsvg-convert x.svg -o x.png`` for a PNG).

    sudo python3 tools/asterisk_screenshots.py      # root: Asterisk runs in a chroot

Everything it starts (Asterisk, baresip, sipp) is stopped by its PID at the end; every wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHOTS = REPO / "screenshots"
sys.path.insert(0, str(REPO / "tests"))  # the sipp scenarios are the tests' own
sys.path.insert(0, str(REPO / "tools"))

import asterisk_lab  # noqa: E402
from sipp_scenarios import uac  # noqa: E402
from textual.pilot import Pilot  # noqa: E402

from cti_tui.assembly import build_app  # noqa: E402
from cti_tui.backends.registry import BackendOptions, SoftphoneSettings  # noqa: E402
from cti_tui.backends.softphone import ManagedBaresip  # noqa: E402
from cti_tui.config import AppConfig  # noqa: E402
from cti_tui.core.model import CallStatus  # noqa: E402
from cti_tui.credentials import CredentialStore, MemoryKeyring  # noqa: E402
from cti_tui.engine.connector import Connector  # noqa: E402
from cti_tui.ui.app import CtiApp  # noqa: E402
from cti_tui.ui.screens.dashboard import Dashboard  # noqa: E402

SIZE = (120, 36)
ORG = REPO / "tools" / "asterisk_lab_org.toml"  # every password "demo"
CALLER = "+33612345678"


def app_for(lab: asterisk_lab.Lab, folder: Path, options: BackendOptions) -> CtiApp:
    return build_app(
        pbx=("asterisk", options),
        history_path=folder / "history.sqlite3",
        credentials=CredentialStore(MemoryKeyring()),
        config=AppConfig(bell=False, flash=False),
        remember_email=False,
    )


async def until(pilot: Pilot[None], predicate: Callable[[], object], what: str, timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


async def log_in(pilot: Pilot[None], email: str, password: str) -> Connector:
    from textual.widgets import Input

    app = pilot.app
    await until(pilot, lambda: app.screen.query("#email"), "the login form")
    app.screen.query_one("#email", Input).value = email
    field = app.screen.query_one("#password", Input)
    field.value = password
    field.focus()
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(app.screen, Dashboard), f"{email} on the dashboard", 40)
    connector = app.connector  # type: ignore[attr-defined]
    assert isinstance(connector, Connector)
    return connector


def status_of(connector: Connector, status: CallStatus) -> Callable[[], bool]:
    return lambda: any(c.status is status and c.source == CALLER for c in connector.calls())


async def caller(lab: asterisk_lab.Lab, folder: Path, media: int, **how: int | bool) -> asyncio.subprocess.Process:
    scenario = folder / f"caller-{media}.xml"
    scenario.write_text(uac(CALLER, "Ada Caller", **how))
    return await asyncio.create_subprocess_exec(
        "sipp", "-sf", str(scenario), "-s", "6001", "-p", str(lab.ports.sipp + media),
        "-mp", str(lab.ports.sipp_media(media)), f"127.0.0.1:{lab.ports.sip}",
        "-i", "127.0.0.1", "-mi", "127.0.0.1", "-bind_local", "-m", "1", "-nostdin", "-timeout", "60s",
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        cwd=folder,
    )  # fmt: skip


async def stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(process.wait(), 5)


def save(app: CtiApp, name: str) -> None:
    app.save_screenshot(filename=f"{name}.svg", path=str(SHOTS))
    print(f"screenshots/{name}.svg")


async def agent_scenes(lab: asterisk_lab.Lab, folder: Path) -> None:
    """Agent 1001, its baresip attached: a queued call ringing, connected, on hold."""
    ports = lab.ports
    phone = SoftphoneSettings(
        folder=folder / "phone",
        sip_port=ports.phone_sip(0),
        ctrl_port=ports.phone_ctrl(0),
        registrar=f"127.0.0.1:{ports.sip}",
    )
    app = app_for(lab, folder, BackendOptions(address=lab.url(), secret=lab.ami_secret, softphone=phone))
    sipp = None
    async with app.run_test(size=SIZE) as pilot:
        connector = await log_in(pilot, "1001@lab.example", lab.sip_passwords["1001"])
        try:
            await pilot.pause(3)  # the phone's registration settles (Asterisk's ContactStatus)
            sipp = await caller(lab, folder, 0, await_bye=True)
            await until(pilot, status_of(connector, CallStatus.RINGING), "the queue ringing the agent")
            await pilot.pause(2.2)
            save(app, "asterisk-call-ringing")
            await pilot.press("a")
            await until(pilot, status_of(connector, CallStatus.CONNECTED), "the call answered")
            await pilot.pause(2.2)
            save(app, "asterisk-call-connected")
            await pilot.press("h")
            await until(pilot, status_of(connector, CallStatus.ON_HOLD), "Asterisk's Hold")
            await pilot.pause(1.2)
            save(app, "asterisk-call-on-hold")
            await pilot.press("h")
            await until(pilot, status_of(connector, CallStatus.CONNECTED), "Asterisk's Unhold")
            await pilot.press("x")
            await until(pilot, lambda: not connector.active_calls(), "the call ended")
        finally:
            if sipp is not None:
                await stop(sipp)
            await connector.logout()


async def supervisor_scene(lab: asterisk_lab.Lab, folder: Path) -> None:
    """The supervisor (org file) watching queue:sales, user:1001 and the park lot; a caller waits while the
    queue rings 1001's phone (a plain baresip, not answering)."""
    ports = lab.ports
    handset = ManagedBaresip(
        folder / "baresip-1001",
        sip_port=ports.phone_sip(1),
        ctrl_port=ports.phone_ctrl(1),
        user="1001",
        display_name="Agent 1001",
        rtp_ports=ports.phone_rtp(1),
        registrar=f"127.0.0.1:{ports.sip}",
        password=lab.sip_passwords["1001"],
    )
    await handset.start()
    app = app_for(lab, folder, BackendOptions(address=lab.url(), secret=lab.ami_secret, org_file=ORG))
    sipp = None
    try:
        async with app.run_test(size=SIZE) as pilot:
            connector = await log_in(pilot, "supervisor@lab.local", "demo")
            try:
                for node in ("queue:sales", "user:1001", "callpark"):
                    app.screen.subscribe(node)  # type: ignore[attr-defined]
                    await pilot.pause(0.3)
                await pilot.pause(2)  # 1001's registration reaches the lamps
                sipp = await caller(lab, folder, 1, hangup_after_ms=15000)
                await until(pilot, lambda: any(c.line == "queue:sales" for c in connector.calls()), "the caller queued")
                await pilot.pause(3.2)  # the longest wait counts a few seconds
                save(app, "asterisk-supervisor-queue")
            finally:
                if sipp is not None:
                    await stop(sipp)
                await connector.logout()
    finally:
        await handset.stop()


async def main() -> None:
    asterisk_lab.build_root()
    lab = asterisk_lab.Lab(f"shots-{os.getpid()}", asterisk_lab.free_base())
    lab.start(timeout=60)
    try:
        with tempfile.TemporaryDirectory(prefix="cti-tui-ast-shots-") as folder:
            await agent_scenes(lab, Path(folder) / "agent")
            await supervisor_scene(lab, Path(folder) / "supervisor")
    finally:
        lab.stop()
        problems = lab.problems()
        lab.remove()
    if problems:
        print(f"Asterisk logged errors: {problems}", file=sys.stderr)


if __name__ == "__main__":
    asyncio.run(main())
