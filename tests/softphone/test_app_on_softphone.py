"""The Textual app driving a real baresip: sipp calls, the agent answers with a, holds with h, hangs up with x."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sipp_scenarios import uac
from softphone_lab import Lab, port_block, require_tools, sipp_exit
from textual.widgets import Input, Select

from cti_tui.engine.model import CallStatus
from cti_tui.ui.screens.dashboard import Dashboard


@pytest.fixture
async def lab(tmp_path: Path):
    require_tools()
    started = Lab(tmp_path, port_block())
    try:
        yield started
    finally:
        await started.cleanup()


async def until(pilot, predicate, what: str, timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.02)


async def test_inbound_call_answered_held_resumed_and_hung_up_with_keys(lab: Lab, make_app) -> None:
    phone = lab.phone(0, "1001", "Agent One")
    await phone.start()
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.screen
        screen.query_one("#backend", Select).value = "softphone"
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
