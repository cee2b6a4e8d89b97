"""Issue 17: truncation never hides a control or a message. Every key that can act is on the key bar at
80x24 and 120x40, and errors on the login form and in dialogs wrap inside their box instead of running past
its edge (where the terminal cut them: "cannot start baresip: [Errno")."""

from __future__ import annotations

import pytest
from conftest import until
from scenes import answered_call, as_agent, ring, settle
from test_app_on_server import server_login
from textual.geometry import Region
from textual.widget import Widget
from textual.widgets import Label

from cti_tui.ui.screens.dashboard import Dashboard
from cti_tui.ui.screens.modals import DestinationModal
from cti_tui.ui.widgets.key_bar import KeyBar


def drawn(widget: Widget) -> str:
    """What the widget puts on the terminal, line by line, clipped to the screen."""
    width = min(widget.size.width, widget.screen.size.width - widget.region.x)
    strips = widget.render_lines(Region(0, 0, width, widget.size.height))
    return "\n".join(strip.text for strip in strips)


def assert_whole_inside(label: Label, box: Widget, message: str) -> None:
    assert box.region.x <= label.region.x and label.region.right <= box.region.right, (label.region, box.region)
    assert label.region.right <= label.screen.size.width
    text = " ".join(drawn(label).split())
    assert " ".join(message.split()) in text, (message, drawn(label))


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_every_available_key_is_visible(size, make_app) -> None:
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await as_agent(pilot)
        await answered_call(pilot, "+12025550143", "Ada Lovelace")
        await pilot.press("h")
        await settle(pilot)
        await answered_call(pilot, "+442079460123", "Grace Hopper")  # most keys: merge, park, unpark...
        await ring(pilot, "+33199001234", "1001", "Alan Turing")
        screen = app.screen
        assert isinstance(screen, Dashboard)
        text = drawn(screen.query_one(KeyBar))
        available = [
            binding
            for _node, binding, enabled, _tip in screen.active_bindings.values()
            if enabled and binding.show and binding.action in screen.KEY_ACTIONS
        ]
        assert len(available) >= 12
        for binding in available:
            shown = f" {app.get_key_display(binding)} {binding.description} "
            assert shown in text, (shown, text)


async def test_a_long_login_error_wraps_inside_the_form(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await server_login(pilot, "http://127.0.0.1:9")  # nothing listens on the discard port
        error = app.screen.query_one("#login-error", Label)
        await until(pilot, lambda: "unreachable" in str(error.render()), "the error")
        await settle(pilot)
        message = str(error.render())
        assert len(message) > 70  # longer than the form is wide: it needs a second line
        assert error.size.height >= 2
        assert_whole_inside(error, app.screen.query_one("#login-box"), message)


async def test_a_long_dialog_error_wraps_inside_the_dialog(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await as_agent(pilot)
        await pilot.press("d")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, DestinationModal)
        modal.query_one("#destination").value = "12ab"
        await pilot.press("enter")
        await settle(pilot)
        error = modal.query_one("#error", Label)
        message = str(error.render())
        assert "not a phone number" in message and len(message) > 60
        assert error.size.height >= 2
        assert_whole_inside(error, error.parent, message)
