"""The softphone backend with a registrar (Asterisk 22 in the lab): the product's own settings register
baresip, numbers and transfers go via the registrar, a wrong SIP password is refused at login with the
reason, and the password never reaches a file."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from amilab import AmiRecorder, Lab, ami_fixture, asterisk_fixture, phones_fixture  # noqa: F401 - fixtures
from events_process import EventsProcess
from softphone_lab import Recorder

from cti_tui.backends.registry import BackendOptions, SoftphoneSettings, open_provider
from cti_tui.backends.softphone import SoftphoneBackend
from cti_tui.core.model import ActivityName, ErrorCode
from cti_tui.engine.connector import Connector

pytestmark = pytest.mark.timeout(300)  # the first test may build the root (20-60 s) when no cache exists

AGENT_INDEX = 6  # lab phone slot for the product's own baresip (the phones fixture counts up from 0)


def agent_for(lab: Lab, folder: Path, user: str = "1001") -> Recorder:
    """A connector on the softphone backend as the registry builds it from the settings a user gives."""
    ports = lab.ports
    settings = SoftphoneSettings(
        folder=folder,
        sip_port=ports.phone_sip(AGENT_INDEX),
        ctrl_port=ports.phone_ctrl(AGENT_INDEX),
        display_name=f"Agent {user}",
        registrar=f"127.0.0.1:{ports.sip}",
    )
    backend = open_provider("softphone", BackendOptions(user=user, softphone=settings)).new_backend()
    assert isinstance(backend, SoftphoneBackend) and backend.managed is not None
    backend.managed.rtp_ports = ports.phone_rtp(AGENT_INDEX)  # inside the lab's block (the default is derived)
    return Recorder(Connector(backend))


async def test_registers_with_its_settings_and_dials_and_transfers_via_the_registrar(
    asterisk: Lab, ami: AmiRecorder, phones, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CTI_TUI_SIP_PASSWORD", raising=False)
    far, target = phones("1002", "auto"), phones("1003", "auto")
    for phone in (far, target):
        await phone.start()
    agent = agent_for(asterisk, tmp_path / "agent")
    password = asterisk.sip_passwords["1001"]
    try:
        assert await asyncio.wait_for(agent.connector.login("1001@lab.example", password), 20), agent.events
        await ami.event("ContactStatus", AOR="1001", ContactStatus="Reachable", timeout=15)
        registrar = f"127.0.0.1:{asterisk.ports.sip}"
        assert agent.connector.backend.name == f"baresip sip:1001@{registrar}"  # what callers dial
        written = [p.read_bytes() for p in (tmp_path / "agent").rglob("*") if p.is_file()]
        assert written and not any(password.encode() in data for data in written)

        placed = await agent.connector.call("1002")  # a bare number: sip:1002@registrar
        call = await agent.call_reaches(placed.value, "CONNECTED", 15)  # type: ignore[arg-type]
        assert call.destination == "1002"
        await ami.event("DialBegin", DialString="1002", timeout=5)  # Asterisk routed it, not a direct call

        assert await agent.connector.transfer(call.id, "1003")  # REFER to sip:1003@registrar
        ended = await agent.call_reaches(call.id, "HANGUP", 15)
        assert ended.cause == "transferred"
        await ami.event("DialBegin", DialString="1003", timeout=10)

        uri = await agent.connector.call(f"sip:1003@{registrar}")  # a SIP address, as given
        call = await agent.call_reaches(uri.value, "CONNECTED", 15)  # type: ignore[arg-type]
        assert await agent.connector.terminate(call.id)
        await agent.call_reaches(call.id, "HANGUP", 10)
    finally:
        await agent.connector.logout()


async def test_a_wrong_sip_password_is_refused_at_login_with_the_reason(
    asterisk: Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CTI_TUI_SIP_PASSWORD", raising=False)
    agent = agent_for(asterisk, tmp_path / "agent", user="1004")
    assert not await asyncio.wait_for(agent.connector.login("1004@lab.example", "not-the-password"), 20)
    (refusal,) = [e for e in agent.activities() if e.name is ActivityName.ERROR]
    assert refusal.code is ErrorCode.BAD_CREDENTIALS
    assert "refused sip:1004@" in refusal.message and "401" in refusal.message
    assert "not-the-password" not in refusal.message
    backend = agent.connector.backend
    assert isinstance(backend, SoftphoneBackend) and backend.managed is not None
    process = backend.managed.process
    assert process is not None and process.poll() is not None  # the baresip it started is stopped


async def test_the_cli_flags_register_a_softphone_it_starts(asterisk: Lab, ami: AmiRecorder, tmp_path: Path) -> None:
    """``cti-tui events --softphone --sip-registrar HOST:PORT``, the login password is the SIP password."""
    ports = asterisk.ports
    config = tmp_path / "config"
    config.mkdir()
    (config / "config.toml").write_text(
        f"softphone_sip_port = {ports.phone_sip(AGENT_INDEX + 1)}\n"
        f"softphone_ctrl_port = {ports.phone_ctrl(AGENT_INDEX + 1)}\n"
    )
    env = {"CTI_TUI_CONFIG_DIR": str(config), "CTI_TUI_PASSWORD": asterisk.sip_passwords["1005"]}
    registrar = f"127.0.0.1:{ports.sip}"
    bad = EventsProcess(tmp_path, "--softphone", "--sip-registrar", "pbx example", env=env)
    assert bad.finish() == 2 and "--sip-registrar is HOST or HOST:PORT" in bad.stderr()

    agent = EventsProcess(
        tmp_path, "--softphone", "--sip-registrar", registrar, "--email", "1005@lab.example", "--no-history", env=env
    )
    try:
        await asyncio.to_thread(agent.expect_event, "LOGGED_IN")
        ready = await asyncio.to_thread(agent.expect_event, "READY")
        assert f"sip:1005@{registrar}" in ready["message"], ready
        await ami.event("ContactStatus", AOR="1005", ContactStatus="Reachable", timeout=15)
        agent.send({"action": "quit"})
        assert await asyncio.to_thread(agent.finish) == 0
    finally:
        if agent.proc.poll() is None:
            agent.proc.kill()
            agent.proc.wait(timeout=10)


async def test_the_login_form_takes_the_sip_account_and_shows_the_address_to_dial(
    asterisk: Lab, ami: AmiRecorder, make_app, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The baresip field takes ``sip:USER@REGISTRAR``; the password row is the SIP password (a wrong one is
    refused there, with the registrar's reason); the status bar then shows the address callers dial."""
    from conftest import until
    from scenes import open_options
    from textual.widgets import Input, Label

    from cti_tui.config import AppConfig
    from cti_tui.ui.screens.dashboard import Dashboard

    monkeypatch.setenv("CTI_TUI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CTI_TUI_SIP_PASSWORD", raising=False)
    ports = asterisk.ports
    config = AppConfig(
        bell=False,
        flash=False,
        softphone_sip_port=ports.phone_sip(AGENT_INDEX + 2),
        softphone_ctrl_port=ports.phone_ctrl(AGENT_INDEX + 2),
    )
    account = f"sip:1006@127.0.0.1:{ports.sip}"
    app = make_app(config=config)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.screen
        await open_options(pilot)
        await pilot.click("#backend-softphone")
        await pilot.pause()
        screen.query_one("#softphone-control", Input).value = account
        screen.query_one("#email", Input).value = "agent6@example.com"
        error = screen.query_one("#login-error", Label)
        for password in ("wrong-password", asterisk.sip_passwords["1006"]):
            screen.query_one("#password", Input).value = password
            screen.query_one("#password", Input).focus()
            await pilot.press("enter")
            if password == "wrong-password":
                await until(pilot, lambda: "refused" in str(error.render()), "the registrar's refusal", 20)
                assert "401" in str(error.render()) and "wrong-password" not in str(error.render())
        await until(pilot, lambda: isinstance(app.screen, Dashboard), "the dashboard", 20)
        assert account in app.screen.query_one("#status").render().plain
        await ami.event("ContactStatus", AOR="1006", ContactStatus="Reachable", timeout=15)
        await app.connector.logout()


async def test_a_killed_registered_baresip_comes_back_registered(
    asterisk: Lab, ami: AmiRecorder, phones, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The restart re-registers with the password held in memory (it is in no file to read back)."""
    import os
    import signal

    monkeypatch.delenv("CTI_TUI_SIP_PASSWORD", raising=False)
    far = phones("1002", "auto")
    await far.start()
    agent = agent_for(asterisk, tmp_path / "agent", user="1007")
    try:
        assert await asyncio.wait_for(agent.connector.login("1007@lab.example", asterisk.sip_passwords["1007"]), 20)
        await ami.event("ContactStatus", AOR="1007", ContactStatus="Reachable", timeout=15)
        backend = agent.connector.backend
        assert isinstance(backend, SoftphoneBackend) and backend.managed is not None and backend.managed.pid
        dead = backend.managed.pid
        os.kill(dead, signal.SIGKILL)
        await agent.wait_for(
            lambda: [e for e in agent.activities() if e.name is ActivityName.READY][1:], 20, "READY after the restart"
        )
        assert backend.managed.pid not in (None, dead)
        placed = await agent.connector.call("1002")  # registered again: Asterisk takes its INVITE
        call = await agent.call_reaches(placed.value, "CONNECTED", 15)  # type: ignore[arg-type]
        assert await agent.connector.terminate(call.id)
        await agent.call_reaches(call.id, "HANGUP", 10)
    finally:
        await agent.connector.logout()
