"""Issue 17 #2 on the softphone: answering a second call while on one holds the first (baresip is told to
hold it, and the screen shows it held once baresip agreed), and selects the new one. Real baresips on
127.0.0.1: two customers call the agent's baresip, which the app drives."""

from __future__ import annotations

from conftest import until
from scenes import open_options
from softphone_lab import Lab, lab_fixture  # noqa: F401 - lab_fixture provides `lab`
from textual.widgets import Input

from cti_tui.core.model import CallStatus
from cti_tui.ui.screens.dashboard import Dashboard

S = CallStatus


async def test_answering_a_second_call_holds_the_first_on_screen_and_on_the_wire(lab: Lab, make_app) -> None:
    agent_phone = lab.phone(0, "1001", "Agent One")
    await agent_phone.start()
    reach_agent = f"127.0.0.1:{agent_phone.sip_port}"
    first_customer = await lab.agent(lab.phone(1, "1003", "Bea Customer"), dial_domain=reach_agent)
    second_customer = await lab.agent(lab.phone(2, "1005", "Carl Customer"), dial_domain=reach_agent)
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.screen
        await open_options(pilot)
        await pilot.click("#backend-softphone")
        await pilot.pause()
        screen.query_one("#softphone-control", Input).value = f"127.0.0.1:{agent_phone.ctrl_port}"
        screen.query_one("#email", Input).value = "agent@example.com"
        screen.query_one("#password", Input).value = "any"
        screen.query_one("#password", Input).focus()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, Dashboard), "the dashboard")
        calls = app.screen.query_one("#calls")

        def shown() -> dict[str, S]:
            return {call.source: call.status for call in calls.calls()}

        assert await first_customer.connector.call("1001")
        await until(pilot, lambda: shown().get("1003") is S.RINGING, "Bea ringing")
        await pilot.press("a")
        await until(pilot, lambda: shown().get("1003") is S.CONNECTED, "Bea answered")
        bea = await first_customer.call_in("CONNECTED")

        assert await second_customer.connector.call("1001")
        await until(pilot, lambda: shown().get("1005") is S.RINGING, "Carl ringing")
        await pilot.press("a")  # the selected call (Bea's) cannot be answered: Carl's is, and Bea is held first
        await until(pilot, lambda: shown() == {"1003": S.ON_HOLD, "1005": S.CONNECTED}, "Bea held, Carl talking")
        await second_customer.call_in("CONNECTED")
        carl_id = next(call.id for call in calls.calls() if call.source == "1005")
        assert calls.selected_call_id == carl_id
        # (the softphone shows ON_HOLD only once baresip has answered its hold command for Bea's call)
        assert first_customer.connector.get_call(bea.id).status is S.CONNECTED  # Bea's side still up, waiting

        await pilot.press("x")  # hangs up Carl, the new call, never Bea (baresip may then resume her by itself)
        await until(pilot, lambda: "1005" not in shown(), "Carl gone")
        assert shown().get("1003") in (S.ON_HOLD, S.CONNECTED)
        await app.connector.logout()
