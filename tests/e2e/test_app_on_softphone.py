"""The Textual app driving a real baresip: sipp calls, the agent answers with a, holds with h, hangs up with x."""

from __future__ import annotations

from pathlib import Path

from conftest import until
from scenes import open_options
from sipp_scenarios import uac
from softphone_lab import Lab, lab_fixture, sipp_exit  # noqa: F401 - lab_fixture provides `lab`
from textual.widgets import Input

from cti_tui.core.model import CallStatus
from cti_tui.ui.screens.dashboard import Dashboard


async def test_inbound_call_answered_held_resumed_and_hung_up_with_keys(lab: Lab, make_app) -> None:
    phone = lab.phone(0, "1001", "Agent One")
    await phone.start()
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.screen
        await open_options(pilot)
        await pilot.click("#backend-softphone")
        await pilot.pause()
        screen.query_one("#softphone-control", Input).value = f"127.0.0.1:{phone.ctrl_port}"
        screen.query_one("#email", Input).value = "agent@example.com"
        screen.query_one("#password", Input).value = "any"
        screen.query_one("#password", Input).focus()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, Dashboard), "the dashboard")
        assert "baresip" in app.screen.query_one("#status").render().plain

        sipp = await lab.call_from_sipp(phone, uac("+33123456789", "Alice Caller", reinvites=2, await_bye=True))
        calls = app.screen.query_one("#calls")
        await until(pilot, lambda: calls.selected_call_id is not None, "the ringing call, selected")
        call_id = calls.selected_call_id
        assert app.connector.get_call(call_id).status is CallStatus.RINGING
        assert app.connector.get_call(call_id).source == "+33123456789"

        await pilot.press("a")
        await until(pilot, lambda: app.connector.get_call(call_id).status is CallStatus.CONNECTED, "answered")
        await pilot.press("h")
        await until(pilot, lambda: app.connector.get_call(call_id).status is CallStatus.ON_HOLD, "on hold")
        await pilot.press("h")
        await until(pilot, lambda: app.connector.get_call(call_id).status is CallStatus.CONNECTED, "resumed")
        await pilot.press("x")
        await until(pilot, lambda: app.connector.get_call(call_id).status is CallStatus.HANGUP, "hung up")
        assert call_id not in {c.id for c in calls.calls()}
        assert await sipp_exit(sipp) == 0
        history = app.screen.query_one("#history")
        await until(pilot, lambda: [r.outcome.value for r in history.rows] == ["answered"], "history row")
        await app.connector.logout()


async def test_the_app_starts_its_own_baresip_for_the_login_forms_account(
    lab: Lab, make_app, tmp_path, monkeypatch
) -> None:
    from cti_tui.config import AppConfig

    monkeypatch.setenv("CTI_TUI_DATA_DIR", str(tmp_path / "data"))
    base = lab.base
    config = AppConfig(
        bell=False, flash=False, softphone_sip_port=base + 30, softphone_ctrl_port=base + 32, softphone_name="Alice A."
    )
    app = make_app(config=config)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.screen
        await open_options(pilot)
        await pilot.click("#backend-softphone")
        await pilot.pause()
        screen.query_one("#softphone-control", Input).value = ""  # empty: start one
        screen.query_one("#email", Input).value = "alice@example.com"
        screen.query_one("#password", Input).value = "any"
        screen.query_one("#password", Input).focus()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, Dashboard), "the dashboard")
        backend = app.connector.backend
        managed = backend.managed
        assert managed is not None and managed.pid is not None
        assert (managed.user, managed.sip_port, managed.display_name) == ("alice", base + 30, "Alice A.")
        assert f"<sip:alice@127.0.0.1:{base + 30}>" in (tmp_path / "data" / "baresip" / "accounts").read_text()
        assert app.connector.identity.extension == "alice"

        # a real call reaches the account that was typed on the form
        sipp = await lab.sipp(
            "-sf",
            str(_write(tmp_path, uac("+33123456789", "Alice Caller", hangup_after_ms=200))),
            f"127.0.0.1:{base + 30}",
            "-s",
            "alice",
            "-l",
            "1",
        )
        calls = app.screen.query_one("#calls")
        await until(pilot, lambda: calls.selected_call_id is not None, "the ringing call")
        await pilot.press("a")
        assert await sipp_exit(sipp) == 0
        pid = managed.pid
        await app.connector.logout()
        await until(pilot, lambda: managed.process is None or managed.process.poll() is not None, "baresip stopped")
        assert pid is not None


def _write(folder: Path, scenario: str) -> Path:
    path = folder / "uac-app.xml"
    path.write_text(scenario)
    return path
