"""``soon``: the row views' and the dashboard's per-turn bookkeeping, scheduled without Textual's call_next."""

from __future__ import annotations

import pytest
from textual import active_app
from textual.app import App, ComposeResult
from textual.widgets import Static

from cti_tui.ui.textual_ext.soon import soon


class Host(App[None]):
    def compose(self) -> ComposeResult:
        yield Static(id="host")


async def test_runs_next_turn_in_the_apps_context() -> None:
    app = Host()
    ran: list[object] = []
    async with app.run_test() as pilot:
        host = app.query_one("#host")
        soon(host, lambda: ran.append(active_app.get()))
        assert ran == []  # not now: at the next turn
        await pilot.pause()
        assert ran == [app]


async def test_not_for_a_widget_that_has_gone() -> None:
    app = Host()
    ran: list[str] = []
    async with app.run_test() as pilot:
        host = app.query_one("#host")
        await host.remove()
        soon(host, lambda: ran.append("ran"))
        await pilot.pause()
        assert ran == []


async def test_an_error_goes_to_the_app_as_with_call_next() -> None:
    app = Host()

    def broken() -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):  # run_test re-raises what the app's handler was given
        async with app.run_test() as pilot:
            soon(app.query_one("#host"), broken)
            await pilot.pause()
            await pilot.pause()
    assert app.return_code == 1  # the app stopped on it, as for an error in call_next
