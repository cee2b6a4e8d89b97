"""The login screen as a person uses it: wrong password, two-factor codes, API key, remember me.

The real app on the embedded demo PBX and virtual time; remember me goes to an in-memory keyring, never to
the machine's, and a test checks that no password lands in a file.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import keyring.backend
import pyotp
import pytest
from scenes import login_form, open_options
from textual import events
from textual.widgets import Checkbox, Input, Label

from cti_tui.credentials import SERVICE, MemoryKeyring
from cti_tui.ui.app import CtiApp
from cti_tui.ui.screens.dashboard import Dashboard
from cti_tui.ui.screens.login import LoginScreen, SubmitLink, TwoFactorPrompt
from tests.conftest import log_in, settle

SIZE = (120, 40)
TOTP_SECRET = "IIDSOVZMMF5MQLLU6SXN6M52XUGGFCXN"


class NoKeyring(keyring.backend.KeyringBackend):
    """What a headless machine has: a keyring backend nobody should use (priority 0)."""

    priority = 0  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def get_password(self, service: str, username: str) -> str | None:
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        self.writes += 1

    def delete_password(self, service: str, username: str) -> None:
        pass


def login_screen(app: CtiApp) -> LoginScreen:
    return next(s for s in app.screen_stack if isinstance(s, LoginScreen))


def field(app: CtiApp, selector: str) -> Input:
    return login_screen(app).query_one(selector, Input)


def error_text(app: CtiApp) -> str:
    return str(login_screen(app).query_one("#login-error", Label).render())


async def wait_until(pilot, predicate: Callable[[], object], rounds: int = 40) -> bool:
    for _ in range(rounds):
        if predicate():
            return True
        await settle(pilot, rounds=1)
    return bool(predicate())


def totp_code(app: CtiApp) -> str:
    return pyotp.TOTP(TOTP_SECRET).at(app.services.clock.now())


def wrong_code(app: CtiApp) -> str:
    """A 6-digit code that is not valid now, nor in the window either side."""
    totp = pyotp.TOTP(TOTP_SECRET)
    now = app.services.clock.now().timestamp()
    valid = {totp.at(now + drift) for drift in (-30, 0, 30)}
    return next(c for c in ("000000", "111111", "123456", "654321") if c not in valid)


async def type_into(pilot, widget: Input, text: str) -> None:
    widget.focus()
    await pilot.pause()
    await pilot.press(*text)
    assert widget.value == text


async def type_agent(pilot) -> None:
    """The demo agent's email and password, typed into the login form once it is up."""
    app = pilot.app
    await settle(pilot)
    await type_into(pilot, field(app, "#email"), "agent@demo.local")
    await type_into(pilot, field(app, "#password"), "demo")


# --- email + password ----------------------------------------------------------------------------------------------


async def test_login_screen_comes_first_with_the_email_field_focused(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, LoginScreen)
        assert field(app, "#email").has_focus
        assert field(app, "#password").password  # the password is masked
        assert not login_screen(app).query_one("#remember", Checkbox).disabled
        assert not login_screen(app).query_one("#login-error").display  # no blank rows for an error not made


@pytest.mark.parametrize("blink", [True, False])
async def test_cursor_blink_setting_reaches_every_focused_field(make_app, blink: bool) -> None:
    from cti_tui.config import AppConfig

    app = make_app(config=AppConfig(bell=False, flash=False, cursor_blink=blink))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for selector in ("#email", "#password"):
            widget = field(app, selector)
            widget.focus()
            await settle(pilot)
            assert widget.cursor_blink is blink
            if not blink:
                assert widget._cursor_visible  # a solid cursor, never caught mid-blink


async def test_keys_typed_behind_a_tab_while_the_app_is_busy_go_to_the_next_field(make_app) -> None:
    """A busy loop (a frame, the engine being loaded) hands the app several keys at once: the ones behind
    a tab belong to the field the tab moves to, not to the one it leaves."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert field(app, "#email").has_focus
        for key, character in [*((c, c) for c in "agent@demo.local"), ("tab", "\t"), *((c, c) for c in "demo")]:
            app.post_message(events.Key(key, character))  # all queued before any is handled
        await settle(pilot)
        assert field(app, "#email").value == "agent@demo.local"
        assert field(app, "#password").value == "demo"
        assert field(app, "#password").has_focus


async def test_keys_typed_as_the_app_starts_wait_for_the_form(make_app) -> None:
    """The form is pushed in the app's first turn, after Textual's start-up: keys that come before it (a fast
    typist, a script) wait behind it and land in the email field, not on the empty screen under it."""
    app = make_app()
    seen: dict[str, object] = {}

    async def type_at_once(pilot) -> None:
        seen["form before the keys"] = bool(app.screen.query("#email"))
        for character in "agent@demo.local":
            app.post_message(events.Key(character, character))
        screen = await login_form(pilot)
        await settle(pilot)
        seen["email"] = screen.query_one("#email", Input).value
        app.exit()

    await app.run_async(headless=True, size=SIZE, auto_pilot=type_at_once)
    assert seen == {"form before the keys": False, "email": "agent@demo.local"}


async def test_right_password_reaches_the_dashboard(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await type_agent(pilot)
        await pilot.press("enter")
        assert await wait_until(pilot, lambda: isinstance(app.screen, Dashboard))
        assert app.connector is not None and app.connector.is_connected()
        assert app.connector.identity.extension == "1001"


async def test_clicking_log_in_logs_in_and_a_login_under_way_takes_no_second_one(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await type_agent(pilot)
        link = login_screen(app).query_one("#login", SubmitLink)
        link.set_busy(True)  # as while an answer is awaited
        await pilot.press("enter")
        await pilot.click("#login")
        await settle(pilot)
        assert isinstance(app.screen, LoginScreen) and app.connector is None
        assert "Logging in" in str(link.render())
        link.set_busy(False)
        await pilot.pause()  # laid out again: "Log in" is narrower than "Logging in…"
        await pilot.click("#login")
        assert await wait_until(pilot, lambda: isinstance(app.screen, Dashboard))


async def test_backend_and_sign_in_rows_come_with_f2_or_a_click(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = login_screen(app)
        assert not screen.query("#backend") and not screen.query("#method")  # the first form: email, password
        assert "F2" in str(screen.query_one("#more-options").render())
        await open_options(pilot)
        assert screen.query_one("#backend").has_focus
        assert screen.query_one("#method") and not screen.query("#more-options")
        assert not any(w.display for w in screen.query(".key-row"))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.click("#more-options")
        await settle(pilot)
        assert login_screen(app).query_one("#backend").has_focus


async def test_wrong_password_shows_an_error_and_focuses_the_password(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "agent@demo.local", "not-the-password")
        assert isinstance(app.screen, LoginScreen)
        assert error_text(app).startswith("✕ ")
        assert len(error_text(app)) > 2
        assert login_screen(app).query_one("#login-error").display
        assert field(app, "#password").has_focus
        assert field(app, "#password").value == ""  # cleared for the retry
        assert field(app, "#email").value == "agent@demo.local"  # kept
        assert not login_screen(app).busy
        assert app.connector is None

        # the retry with the right password works, and the error goes
        await type_into(pilot, field(app, "#password"), "demo")
        await pilot.press("enter")
        assert await wait_until(pilot, lambda: isinstance(app.screen, Dashboard))


async def test_empty_fields_are_caught_before_anything_is_sent(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert "email" in error_text(app)
        assert field(app, "#email").has_focus
        await type_into(pilot, field(app, "#email"), "agent@demo.local")
        await pilot.press("enter")
        await settle(pilot)
        assert "password" in error_text(app)
        assert field(app, "#password").has_focus
        assert isinstance(app.screen, LoginScreen)


# --- two-factor ---------------------------------------------------------------------------------------------------


async def test_two_factor_wrong_code_then_right_code(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "secure@demo.local", "demo")
        assert await wait_until(pilot, lambda: isinstance(app.screen, TwoFactorPrompt))
        prompt = app.screen
        otp = prompt.query_one("#otp", Input)
        assert otp.has_focus

        await pilot.press(*wrong_code(app), "enter")
        await settle(pilot)
        assert app.screen is prompt  # still asking
        message = str(prompt.query_one("#otp-error", Label).render())
        assert message.startswith("✕ ") and "code" in message
        assert otp.value == "" and otp.has_focus
        assert app.connector is None

        await pilot.press(*"123", "enter")  # too short: caught on the form
        await settle(pilot)
        assert app.screen is prompt
        assert "6 digits" in str(prompt.query_one("#otp-error", Label).render())

        otp.value = ""
        await pilot.press(*totp_code(app), "enter")
        assert await wait_until(pilot, lambda: isinstance(app.screen, Dashboard))
        assert app.connector is not None and app.connector.identity.email == "secure@demo.local"
        assert not any(isinstance(s, TwoFactorPrompt) for s in app.screen_stack)


async def test_two_factor_prompt_refuses_letters(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "secure@demo.local", "demo")
        assert await wait_until(pilot, lambda: isinstance(app.screen, TwoFactorPrompt))
        await pilot.press("a", "b", "1")
        assert app.screen.query_one("#otp", Input).value == "1"


async def test_two_factor_cancelled_returns_to_the_form(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "secure@demo.local", "demo")
        assert await wait_until(pilot, lambda: isinstance(app.screen, TwoFactorPrompt))
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, LoginScreen)
        assert not login_screen(app).busy

        # logging in again asks for a code again
        await log_in(pilot, "secure@demo.local", "demo")
        assert await wait_until(pilot, lambda: isinstance(app.screen, TwoFactorPrompt))
        await pilot.press(*totp_code(app), "enter")
        assert await wait_until(pilot, lambda: isinstance(app.screen, Dashboard))


# --- API key -------------------------------------------------------------------------------------------------------


async def test_api_key_login(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = login_screen(app)
        assert not screen.query("#api-key")  # no API key row until the options are asked for
        await open_options(pilot)
        await pilot.click("#by-key")
        await settle(pilot)
        assert all(w.display for w in screen.query(".key-row"))
        assert not any(w.display for w in screen.query(".email-row"))
        assert not any(w.display for w in screen.query(".password-row"))

        key = field(app, "#api-key")
        assert key.password
        await type_into(pilot, key, "wrong-key")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, LoginScreen)
        assert error_text(app).startswith("✕ ")
        assert key.has_focus and key.value == ""

        await type_into(pilot, key, "demo-api-key")
        await pilot.press("enter")
        assert await wait_until(pilot, lambda: isinstance(app.screen, Dashboard))
        assert app.connector.identity.email == "agent@demo.local"


async def test_api_key_prefilled_from_the_command_line(make_app) -> None:
    app = make_app(api_key="demo-api-key")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert field(app, "#api-key").has_focus
        assert field(app, "#api-key").value == "demo-api-key"
        await pilot.press("enter")
        assert await wait_until(pilot, lambda: isinstance(app.screen, Dashboard))


# --- remember me ---------------------------------------------------------------------------------------------------


async def test_remember_me_stores_the_password_in_the_keyring_and_prefills_it(make_app) -> None:
    store = MemoryKeyring()
    app = make_app(keyring_backend=store)
    async with app.run_test(size=SIZE) as pilot:
        await type_agent(pilot)
        remember = login_screen(app).query_one("#remember", Checkbox)
        assert not remember.value
        await pilot.click("#remember")
        await settle(pilot)
        assert remember.value
        field(app, "#password").focus()
        await pilot.press("enter")
        assert await wait_until(pilot, lambda: isinstance(app.screen, Dashboard))
    assert store.secrets == {(SERVICE, "password:agent@demo.local"): "demo"}
    assert SERVICE == "cti-tui"

    again = make_app(keyring_backend=store, email="agent@demo.local")
    async with again.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert field(again, "#email").value == "agent@demo.local"
        assert field(again, "#password").value == "demo"
        assert login_screen(again).query_one("#remember", Checkbox).value
        assert field(again, "#password").has_focus
        await pilot.press("enter")
        assert await wait_until(pilot, lambda: isinstance(again.screen, Dashboard))
        assert again.connector.identity.email == "agent@demo.local"


async def test_space_toggles_remember_me_and_enter_on_it_logs_in(make_app) -> None:
    store = MemoryKeyring()
    app = make_app(keyring_backend=store)
    async with app.run_test(size=SIZE) as pilot:
        await type_agent(pilot)
        remember = login_screen(app).query_one("#remember", Checkbox)
        assert await wait_until(pilot, lambda: not remember.disabled)
        remember.focus()
        await pilot.press("space")
        assert remember.value
        await pilot.press("enter")  # logs in, and does not untick the box
        assert await wait_until(pilot, lambda: isinstance(app.screen, Dashboard))
        assert store.secrets == {(SERVICE, "password:agent@demo.local"): "demo"}  # the box stayed ticked


async def test_logging_in_without_remember_forgets_a_stored_password(make_app) -> None:
    store = MemoryKeyring()
    store.set_password(SERVICE, "password:agent@demo.local", "demo")
    app = make_app(keyring_backend=store, email="agent@demo.local")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        remember = login_screen(app).query_one("#remember", Checkbox)
        assert remember.value
        await pilot.click("#remember")
        await settle(pilot)
        assert not remember.value
        field(app, "#password").focus()
        await pilot.press("enter")
        assert await wait_until(pilot, lambda: isinstance(app.screen, Dashboard))
    assert store.secrets == {}


async def test_a_wrong_password_is_never_remembered(make_app) -> None:
    store = MemoryKeyring()
    app = make_app(keyring_backend=store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.click("#remember")
        await log_in(pilot, "agent@demo.local", "wrong")
        assert isinstance(app.screen, LoginScreen)
    assert store.secrets == {}


async def test_without_a_usable_keyring_remember_me_is_off_and_says_why(make_app) -> None:
    store = NoKeyring()
    app = make_app(keyring_backend=store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = login_screen(app)
        remember = screen.query_one("#remember", Checkbox)
        assert remember.disabled and not remember.value
        note = str(screen.query_one("#remember-note", Label).render())
        assert "no system keyring" in note and "remember me is off" in note
        await log_in(pilot)
        assert isinstance(app.screen, Dashboard)  # logging in still works
    assert store.writes == 0


# --- secrets never in files ----------------------------------------------------------------------------------------


def _password_lines(root: Path) -> list[str]:
    """Every line of every file under ``root`` that looks like it stores the demo password."""
    found: list[str] = []
    for path in root.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        for line in data.splitlines():
            text = line.decode("utf-8", "replace").lower()
            if "demo" in text and any(word in text for word in ("password", "secret", "api_key", "apikey")):
                found.append(f"{path}: {text}")
        if b"demo-api-key" in data:
            found.append(f"{path}: contains the API key")
    return found


@pytest.mark.parametrize("remember", [False, True])
async def test_logging_in_never_writes_the_password_to_a_file(
    make_app, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, remember: bool
) -> None:
    config_dir = tmp_path / "config"
    monkeypatch.setenv("CTI_TUI_CONFIG_DIR", str(config_dir))
    monkeypatch.setenv("CTI_TUI_DATA_DIR", str(tmp_path / "data"))
    store = MemoryKeyring()
    app = make_app(keyring_backend=store, remember_email=True)  # the email is saved: the real config path
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        if remember:
            await pilot.click("#remember")
        await log_in(pilot, "agent@demo.local", "demo")
        assert isinstance(app.screen, Dashboard)
        await app.action_logout()
        await settle(pilot)
        await open_options(pilot)
        await pilot.click("#by-key")
        await settle(pilot)
        await type_into(pilot, field(app, "#api-key"), "demo-api-key")
        if remember and not login_screen(app).query_one("#remember", Checkbox).value:
            await pilot.click("#remember")
        field(app, "#api-key").focus()
        await pilot.press("enter")
        assert await wait_until(pilot, lambda: isinstance(app.screen, Dashboard))

    config = (config_dir / "config.toml").read_text(encoding="utf-8")
    assert 'email = "agent@demo.local"' in config  # the email is not a secret and is kept
    assert _password_lines(tmp_path) == []
    if remember:
        assert store.secrets[(SERVICE, "password:agent@demo.local")] == "demo"
        assert "demo-api-key" in store.secrets.values()
    else:
        assert store.secrets == {}


async def test_a_remembered_api_key_is_offered_on_the_next_start(
    make_app, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As `cti-tui` runs: the config file remembers the email, the keyring the key; the next start finds both."""
    from cti_tui.config import load_config

    monkeypatch.setenv("CTI_TUI_CONFIG_DIR", str(tmp_path / "config"))
    store = MemoryKeyring()
    app = make_app(keyring_backend=store, remember_email=True, config=load_config())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_options(pilot)
        await pilot.click("#by-key")
        await pilot.click("#remember")
        await type_into(pilot, field(app, "#api-key"), "demo-api-key")
        await pilot.press("enter")
        assert await wait_until(pilot, lambda: isinstance(app.screen, Dashboard))
    assert "demo-api-key" in store.secrets.values()

    config = load_config()
    config.bell = config.flash = False
    again = make_app(keyring_backend=store, remember_email=True, config=config)
    async with again.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_options(pilot)
        await pilot.click("#by-key")
        await settle(pilot)
        assert field(again, "#api-key").value == "demo-api-key"
        assert login_screen(again).query_one("#remember", Checkbox).value
        field(again, "#api-key").focus()
        await pilot.press("enter")
        assert await wait_until(pilot, lambda: isinstance(again.screen, Dashboard))


async def test_after_logging_out_the_form_shows_who_was_logged_in(make_app) -> None:
    store = MemoryKeyring()
    app = make_app(keyring_backend=store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.click("#remember")
        await log_in(pilot, "agent@demo.local", "demo")
        assert isinstance(app.screen, Dashboard)
        await app.action_logout()
        await settle(pilot)
        assert isinstance(app.screen, LoginScreen)
        assert field(app, "#email").value == "agent@demo.local"
        assert field(app, "#password").value == "demo"  # remembered
        assert login_screen(app).query_one("#remember", Checkbox).value
        await pilot.press("enter")
        assert await wait_until(pilot, lambda: isinstance(app.screen, Dashboard))
