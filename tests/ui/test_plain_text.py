"""Text from a user, a file or a backend is plain text, never markup: typed into every dialog, set in the
config file or carried by a caller's name, ``[/x]`` and friends are shown as they are and crash nothing."""

from __future__ import annotations

from scenes import answered_call, as_agent, settle
from textual.widgets import Input, Label

from cti_tui.config import AppConfig
from cti_tui.ui.screens.modals import DestinationModal, DigitsModal

HOSTILE = ("[/x]", "[b]bold[/b]", "[red", "[@click=app.quit]q[/]", "\\[x]", "[/]", "]][[")


def _notifications(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def _error_after(pilot, modal: type, text: str) -> str:
    field = pilot.app.screen.query_one(Input)
    field.value = text
    await pilot.press("enter")
    await settle(pilot)
    assert isinstance(pilot.app.screen, modal), "the dialog closed on a bad entry"
    return str(pilot.app.screen.query_one("#error", Label).render())


async def test_markup_typed_into_every_destination_dialog_is_an_error_not_a_crash(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await as_agent(pilot)
        await answered_call(pilot)
        for key in ("d", "t", "T"):  # dial, transfer, supervised transfer
            await pilot.press(key)
            await settle(pilot)
            assert isinstance(app.screen, DestinationModal), key
            for text in HOSTILE:
                shown = await _error_after(pilot, DestinationModal, text)
                assert text in shown, (key, text, shown)
            await pilot.press("escape")
            await settle(pilot)
        await pilot.press("number_sign")
        await settle(pilot)
        assert isinstance(app.screen, DigitsModal)
        await pilot.press("[", "/", "x", "]", "enter")  # restricted to digits: nothing typed, a clear error
        await settle(pilot)
        assert "at least one digit" in str(app.screen.query_one("#error", Label).render())


async def test_markup_in_config_strings_is_shown_as_text(make_app) -> None:
    config = AppConfig(bell=False, flash=False, email="[/x]@demo.local", keymap={"cti.dial": "[/x]"})
    config.problems.append("config.toml: 'bell' should be bool, got '[/x]'; using the default")
    app = make_app(config=config)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        shown = _notifications(app)
        assert any("got '[/x]'" in m for m in shown), shown
        assert any("'[/x]' is not a key" in m for m in shown), shown
        assert app.screen.query_one("#email", Input).value == "[/x]@demo.local"


async def test_a_callers_name_with_markup_reaches_the_screen_as_text(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await as_agent(pilot)
        await answered_call(pilot, name="[/x][red]Eve[/red]")
        await pilot.press("t")
        await settle(pilot)
        assert isinstance(app.screen, DestinationModal)
        await pilot.press("escape")
        await settle(pilot)
        assert "[/x][red]Eve[/red]" in app.export_screenshot()


ATTACK = "\x1b]2;PWNED\x07Eve\x1b[5;41mZ"


async def test_a_callers_escape_sequences_are_shown_not_obeyed(make_app) -> None:
    """Issue 14 #1: the name reached the terminal raw (title changed, blinking red row)."""
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await as_agent(pilot)
        await answered_call(pilot, number="+12025550143", name=ATTACK)
        screen = app.export_screenshot()
        assert "␛]2;PWNED␇Eve␛[5;41mZ" in screen
        assert "\x1b" not in screen and "\x07" not in screen
        calls = app.connector.active_calls()
        assert [c.source_name for c in calls] == ["␛]2;PWNED␇Eve␛[5;41mZ"]


async def test_the_engine_boundary_makes_every_backends_text_visible(pbx) -> None:
    agent = await pbx.login()
    leg = pbx.exchange.inbound_call("+12025550143", "1001", ATTACK + "\u202e\x9b")
    assert leg is not None
    (call,) = agent.connector.active_calls()
    assert call.source_name == "␛]2;PWNED␇Eve␛[5;41mZ\\u202e\\x9b"
    assert call.id == leg.id  # ids are keys, kept as the backend sent them
    assert await agent.connector.answer(call.id), agent.events
