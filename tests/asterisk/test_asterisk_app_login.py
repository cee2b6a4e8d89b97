"""The Textual app with `--pbx asterisk://…` (built as cti-tui builds it) on a real Asterisk 22: the login form
says how to log in there — with an org file its users' passwords, without one the extension and no password
check — and each way reaches the dashboard; `cti-tui events --pbx` logs in the same way."""

from __future__ import annotations

from pathlib import Path

import pytest
from amilab import Lab, asterisk_fixture  # noqa: F401 - fixtures
from conftest import until
from events_process import EventsProcess
from scenes import login_form, type_login
from test_asterisk_serve import PEOPLE, org_file
from textual.widgets import Label, Static

from cti_tui.assembly import build_app
from cti_tui.backends.registry import BackendOptions
from cti_tui.config import AppConfig
from cti_tui.core.model import Role
from cti_tui.credentials import CredentialStore, MemoryKeyring
from cti_tui.ui.app import CtiApp
from cti_tui.ui.screens.dashboard import Dashboard

pytestmark = pytest.mark.timeout(300)


def app_on(lab: Lab, tmp_path: Path, org: Path | None = None) -> CtiApp:
    options = BackendOptions(address=lab.url(), secret=lab.ami_secret, org_file=org)
    return build_app(
        pbx=("asterisk", options),
        history_path=tmp_path / "history.sqlite3",
        credentials=CredentialStore(MemoryKeyring()),
        config=AppConfig(bell=False, flash=False),
        remember_email=False,
    )


def shown(widget: Static | Label) -> str:
    return str(widget.render())


async def test_without_an_org_file_the_form_says_the_extension_is_the_login(asterisk: Lab, tmp_path: Path) -> None:
    app = app_on(asterisk, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await login_form(pilot)
        hint = shown(screen.query_one("#demo-hint", Static))
        assert "no org file" in hint and "<extension>@" in hint and "password is not checked" in hint, hint
        assert f"Asterisk (AMI) at 127.0.0.1:{asterisk.ports.ami}" in shown(screen.query_one("#more-options", Static))
        await type_login(pilot, "1001@lab.example", "anything")
        await until(pilot, lambda: isinstance(app.screen, Dashboard), "the dashboard")
        identity = app.connector.identity  # type: ignore[union-attr]
        assert identity is not None and (identity.name, identity.extension) == ("Agent 1001", "1001")
        await app.connector.logout()  # type: ignore[union-attr]


async def test_with_an_org_file_the_form_checks_its_passwords(asterisk: Lab, tmp_path: Path) -> None:
    app = app_on(asterisk, tmp_path, org_file(tmp_path))
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await login_form(pilot)
        assert "from the org file" in shown(screen.query_one("#demo-hint", Static))
        await type_login(pilot, "sue@lab.example", "not-her-password")
        error = screen.query_one("#login-error", Label)
        await until(pilot, lambda: "wrong email or password" in shown(error), "the refusal on the form")
        await type_login(pilot, "sue@lab.example", PEOPLE["sue@lab.example"][2])
        await until(pilot, lambda: isinstance(app.screen, Dashboard), "the dashboard")
        identity = app.connector.identity  # type: ignore[union-attr]
        assert identity is not None and (identity.name, identity.role) == ("Sue", Role.SUPERVISOR)
        await app.connector.logout()  # type: ignore[union-attr]


def test_events_on_asterisk_with_an_org_file(asterisk: Lab, tmp_path: Path) -> None:
    email = "ann@lab.example"
    events = EventsProcess(
        tmp_path,
        "--pbx", asterisk.url(), "--org", str(org_file(tmp_path)), "--email", email,
        "--password", PEOPLE[email][2], "--no-history", "--exit-on-eof",
        env={"CTI_TUI_AMI_SECRET": asterisk.ami_secret, "CTI_TUI_CONFIG_DIR": str(tmp_path / "config")},
    )  # fmt: skip
    try:
        assert events.expect_event("LOGGED_IN")["message"] == "logged in as ann@lab.example (agent)"
        assert events.expect_event("READY")["message"].endswith("line user:1001")
        assert events.proc.stdin is not None
        events.proc.stdin.close()
        assert events.proc.wait(timeout=30) == 0
    finally:
        if events.proc.poll() is None:
            events.proc.kill()
            events.proc.wait(timeout=30)
