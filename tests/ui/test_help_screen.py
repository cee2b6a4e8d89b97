"""Issue 17: ``?`` opens a help screen listing every key, what it does and its binding id (the keymap's own
list of bindings, with the user's remaps in force)."""

from __future__ import annotations

from scenes import as_agent, settle
from textual.binding import Binding
from textual.geometry import Region
from textual.widgets import Static

from cti_tui.config import AppConfig
from cti_tui.ui.screens.dashboard import Dashboard
from cti_tui.ui.screens.help import HelpScreen
from cti_tui.ui.widgets.history_pane import HistorySearch
from cti_tui.ui.widgets.subscriptions_pane import SubscriptionsPane


def help_lines(app) -> list[str]:
    """What the help screen draws, line by line (all of it: the test's terminal is tall enough)."""
    screen = app.screen
    assert isinstance(screen, HelpScreen)
    keys = screen.query_one("#keys", Static)
    assert keys.region.bottom <= app.size.height  # every row on screen, none scrolled away
    return [strip.text for strip in keys.render_lines(Region(0, 0, keys.size.width, keys.size.height))]


def row_of(lines: list[str], binding_id: str) -> list[str]:
    (words,) = [line.split() for line in lines if binding_id in line.split()]
    return words


async def test_question_mark_lists_every_key_with_its_binding_id(make_app) -> None:
    app = make_app(config=AppConfig(bell=False, flash=False, keymap={"cti.dial": "D"}))
    async with app.run_test(size=(100, 60)) as pilot:
        await as_agent(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        lines = help_lines(app)
        every = [
            *Binding.make_bindings(Dashboard.BINDINGS),
            *Binding.make_bindings(SubscriptionsPane.BINDINGS),
            *Binding.make_bindings(HistorySearch.BINDINGS),
        ]
        for binding in every:
            assert binding.id is not None
            words = row_of(lines, binding.id)
            assert binding.description.split()[0] in words, (binding.id, words)
        assert row_of(lines, "cti.dial")[0] == "D"  # the remap in force, not the default
        assert row_of(lines, "cti.dtmf")[0] == "#"
        assert any(line.startswith("^p ") for line in lines) and any(line.startswith("^q ") for line in lines)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, Dashboard)
