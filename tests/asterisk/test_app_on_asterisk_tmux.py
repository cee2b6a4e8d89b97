"""Issue 16, must show: the real app (``python3 -m cti_tui --pbx asterisk://…``) in a real terminal on a real
Asterisk 22, with the agent's baresip attached (``--sip-registrar``): a sipp caller into queue sales rings the
agent, the row shows RINGING; ``a`` answers it (CONNECTED), ``h`` holds it (ON HOLD, from Asterisk's Hold
event) and resumes it, ``x`` hangs up, and the call is in the history pane. Keys typed as a user would."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from amilab import AmiRecorder, Lab, ami_fixture, asterisk_fixture, stop_process  # noqa: F401 - fixtures
from sipp_scenarios import uac

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
from tmux_pane import Pane, require_tmux

pytestmark = pytest.mark.timeout(300)

PHONE_INDEX = 6  # the lab's phone slot for this agent's baresip (test_attached_phone uses 7)
CALLER = "+33612345678"


def app_config(lab: Lab, folder: Path) -> None:
    """The agent's baresip on the lab's templated ports (the config file's settings, as a user sets them)."""
    folder.mkdir(parents=True)
    (folder / "config.toml").write_text(
        f"softphone_sip_port = {lab.ports.phone_sip(PHONE_INDEX)}\n"
        f"softphone_ctrl_port = {lab.ports.phone_ctrl(PHONE_INDEX)}\n"
        "bell = false\nflash = false\n"
    )


async def queue_caller(lab: Lab, folder: Path) -> asyncio.subprocess.Process:
    """sipp calling queue sales (6001) from CALLER; it stays until the agent's side hangs up."""
    scenario = folder / "caller.xml"
    scenario.write_text(uac(CALLER, "Ada Caller", await_bye=True))
    return await asyncio.create_subprocess_exec(
        "sipp", "-sf", str(scenario), "-s", "6001", "-p", str(lab.ports.sipp),
        "-mp", str(lab.ports.sipp_media(4)), f"127.0.0.1:{lab.ports.sip}",
        "-i", "127.0.0.1", "-mi", "127.0.0.1", "-bind_local", "-m", "1", "-nostdin", "-timeout", "60s",
        "-timeout_error",
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        cwd=folder,
    )  # fmt: skip


async def row_shows(pane: Pane, status: str, timeout: float) -> str:
    """Wait until the caller's row in the calls pane shows ``status``; that row."""
    screen = await pane.until(status, timeout)
    rows = [line for line in screen.splitlines() if "+33 6 12 34 56 78" in line and status in line]
    assert rows and "Ada Caller" in rows[0], screen
    return rows[0]


async def test_a_queued_call_answered_held_resumed_and_hung_up_in_a_terminal(
    asterisk: Lab, ami: AmiRecorder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_tmux()
    monkeypatch.setenv("CTI_TUI_AMI_SECRET", asterisk.ami_secret)  # the pane's environment, not a file
    app_config(asterisk, tmp_path / "config")
    registrar = f"127.0.0.1:{asterisk.ports.sip}"
    pane = Pane(tmp_path, ["--pbx", asterisk.url(), "--sip-registrar", registrar])
    caller = None
    try:
        await pane.until("Password")
        pane.type("1001@lab.example")
        pane.press("Tab")
        pane.type(asterisk.sip_passwords["1001"])  # no org file: the extension is the login, the SIP password
        pane.press("Enter")
        await pane.until("READY", timeout=40)
        await ami.event("ContactStatus", AOR="1001", ContactStatus="Reachable", timeout=20)

        caller = await queue_caller(asterisk, tmp_path)
        ringing = await row_shows(pane, "RINGING", 30)  # the queue rings the agent's phone
        assert "↓ in" in ringing and "user:1001" in ringing
        pane.press("a")
        await row_shows(pane, "CONNECTED", 20)
        await ami.event("AgentConnect", Interface="PJSIP/1001", timeout=10)  # Asterisk saw the phone answer
        pane.press("h")
        await row_shows(pane, "ON HOLD", 15)
        await ami.event("Hold", timeout=5)  # the row follows Asterisk's Hold event
        pane.press("h")
        await row_shows(pane, "CONNECTED", 15)
        await ami.event("Unhold", timeout=5)
        pane.press("x")
        screen = await pane.until("History · 1", timeout=20)
        calls, history = screen.split("History · 1", 1)
        assert "Ada Caller" not in calls.split("Lines (", 1)[0], screen  # the row is gone from the calls pane
        filed = [line for line in history.splitlines() if "+33 6 12 34 56 78" in line]
        assert filed and "answered" in filed[0] and "↓ in" in filed[0], screen
        assert await asyncio.wait_for(caller.wait(), 20) == 0  # the caller got its BYE
    finally:
        if caller is not None:
            await stop_process(caller)
        pane.close()
