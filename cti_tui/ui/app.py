"""The cti-tui app: login, then the dashboard; both render from the engine and post intents to it."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import signal
from typing import TYPE_CHECKING, ClassVar

from textual import events, work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.command import Provider
from textual.widgets import Input

from cti_tui.config import AppConfig
from cti_tui.ui.screens.login import LoginScreen
from cti_tui.ui.services import Services
from cti_tui.ui.textual_ext.memory import resume_collection

if TYPE_CHECKING:
    from textual.driver import Driver

    from cti_tui.engine.connector import Connector
    from cti_tui.ui.screens.dashboard import Dashboard

# The first screen is the login form: the engine, the dashboard, its panes and the modals are imported once
# it is drawn, a module per turn of the loop, so keys typed meanwhile wait one module at most (bench/README.md,
# startup.py: ~0.1 s less before the form shows, and the dashboard is up sooner after Enter). Leaves first,
# so no step imports a large tree. The palette's commands are imported when the palette first opens.
UI_MODULES = (
    "cti_tui.ui.render",
    "cti_tui.ui.widgets.row_view",
    "cti_tui.ui.screens.modals",
    "cti_tui.ui.screens.dashboard",
)


def _cti_commands() -> type[Provider]:
    from cti_tui.ui.commands import CtiCommands

    return CtiCommands


class CtiApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "cti-tui"
    COMMANDS = App.COMMANDS | {_cti_commands}
    ENABLE_COMMAND_PALETTE = True
    # Focus moves where the key arrives, before the keys behind it are handed to whoever has the focus.
    # Textual's own tab binding runs after the key has been passed down to the focused widget and back up:
    # keys typed behind it while the loop is busy (a frame of a busy wall, the engine being loaded after
    # the login form is drawn) went to the field being left ("agent@demo.localdemo" in the email field).
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("tab", "focus_next", "Focus next", show=False, priority=True),
        Binding("shift+tab", "focus_previous", "Focus previous", show=False, priority=True),
    ]

    def get_driver_class(self) -> type[Driver]:
        """Textual's choice, but on Linux a driver that hands keys over sooner (ui/textual_ext/driver.py)."""
        chosen = super().get_driver_class()
        if chosen.__name__ == "LinuxDriver" and chosen.__module__ == "textual.drivers.linux_driver":
            from cti_tui.ui.textual_ext.driver import PromptLinuxDriver

            return PromptLinuxDriver
        return chosen

    def __init__(
        self,
        services: Services,
        config: AppConfig | None = None,
        *,
        email: str | None = None,
        api_key: str | None = None,
    ) -> None:
        super().__init__()
        self.services = services
        self.config = config or AppConfig()
        self.prefill_email = email or self.config.email
        self.prefill_api_key = api_key
        self.connector: Connector | None = None
        self.applied_keymap: dict[str, str] = {}  # the [keymap] remaps in force (the help screen shows them)

    def on_mount(self) -> None:
        self._handle_termination_signals()
        problems = list(self.config.problems)
        if self.config.keymap:  # (only then: the dashboard's modules are otherwise imported after the form)
            keymap, refused = self._checked_keymap(self.config.keymap)
            self.set_keymap(keymap)
            self.applied_keymap = keymap
            problems += refused
        for problem in problems:
            self.notify(problem, title="Config", severity="warning", timeout=10, markup=False)
        self.call_later(self._show_login)

    def _checked_keymap(self, keymap: dict[str, str]) -> tuple[dict[str, str], list[str]]:
        from cti_tui.ui.keymap import check_keymap, remappable

        movable = [binding for _where, bindings in remappable() for binding in bindings]
        reserved = [
            *Binding.make_bindings(App.BINDINGS),
            *Binding.make_bindings(self.BINDINGS),
            Binding(self.COMMAND_PALETTE_BINDING, "command_palette", "the command palette"),
        ]
        return check_keymap(keymap, movable, reserved)

    async def _show_login(self) -> None:
        """The login form, pushed as the app's first turn: pushed from on_mount (inside Textual's start-up
        batch, which holds repaints back) it was drawn, thrown away and shown only a layout later, and what
        follows it started before it was on the terminal (bench/README.md, startup.py item 11)."""
        await self.push_screen(self._login_screen())
        self.call_after_refresh(self._prepare_session)

    @work(group="prepare")
    async def _prepare_session(self) -> None:
        """Once the form is drawn: what a session needs, imported a module per turn of the loop, then built.
        (Not on a thread: the login's own imports would race it for the same modules.)"""
        try:
            for name in (*self.services.preload, *UI_MODULES):
                importlib.import_module(name)
                await asyncio.sleep(0)
            self.services.prepare()
        finally:
            resume_collection()  # paused by `cti-tui` for the start-up (cti_tui.ui.textual_ext.memory)
        if self.services.history_problem:
            self.notify(self.services.history_problem, title="History", severity="error", timeout=10, markup=False)
        self.services.start_world()

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        """Honour `cursor_blink = false`: Textual's Input blinks unless told otherwise, field by field."""
        if not self.config.cursor_blink and isinstance(event.widget, Input):
            event.widget.cursor_blink = False

    def _login_screen(self) -> LoginScreen:
        return LoginScreen(
            self.services.make_connector,
            self.services.credentials,
            self._logged_in,
            backend_label=self.services.backend_label,
            server_url=self.services.server_url,
            softphone_address=self.services.softphone_address,
            backend_kind=self.services.backend_kind,
            email=self.prefill_email,
            use_api_key=self.config.use_api_key or self.prefill_api_key is not None,
            api_key=self.prefill_api_key,
            demo_hint=self.services.demo_hint,
        )

    def _logged_in(self, connector: Connector, remember: bool) -> None:
        self.connector = connector
        identity = connector.identity
        assert identity is not None
        self.services.prepare()  # a quick login may come before the form's preparation ran
        self.services.record_history(
            connector, lambda exc: self.notify(str(exc), title="History", severity="error", markup=False)
        )
        self.services.watch_queues(connector)
        if remember or self.prefill_email != identity.email:
            problem = self.services.save_email(identity.email)
            if problem:
                self.notify(problem, severity="warning", markup=False)
        self.prefill_email = identity.email  # after logging out, the form shows who was logged in
        now = connector.backend.now
        if self.services.front == "wall":
            from cti_tui.ui.screens.wall import WallScreen

            self.switch_screen(
                WallScreen(connector, now=now, queues=self.services.wall_queues, backend_label=connector.backend.name)
            )
            return
        from cti_tui.ui.screens.dashboard import Dashboard
        from cti_tui.ui.widgets.screen_pop import PopSettings

        backend, email = connector.backend.name, identity.email  # watched lines are remembered per both
        self.switch_screen(
            Dashboard(
                connector,
                now=now,
                history=self.services.history,
                backend_label=connector.backend.name,
                bell=self.config.bell,
                flash=self.config.flash,
                recall_lines=lambda: self.services.recall_lines(backend, email),
                remember_lines=lambda nodes: self.services.remember_lines(backend, email, nodes),
                hold_first=self.config.hold_on_new_call,
                screen_pop=PopSettings(tuple(self.config.contacts), self.config.crm_url, connector.default_region),
            )
        )

    async def action_quit(self) -> None:
        """ctrl+q and the palette's Quit ask first while calls are live, as q does (asked twice: quit)."""
        from cti_tui.ui.screens.dashboard import Dashboard
        from cti_tui.ui.screens.modals import ConfirmModal

        dashboard = next((s for s in self.screen_stack if isinstance(s, Dashboard)), None)
        if dashboard is None or isinstance(self.screen, ConfirmModal):
            self.exit()
        else:
            dashboard.action_quit()

    async def on_dashboard_session_lost(self, message: Dashboard.SessionLost) -> None:
        """Back to the login form, the email filled in; the dashboard has said why."""
        await self.action_logout()

    async def action_logout(self) -> None:
        if self.connector is not None:
            await self.connector.logout()
            self.connector = None
        self.switch_screen(self._login_screen())

    def _handle_termination_signals(self) -> None:
        """SIGTERM and SIGHUP end the app as ctrl+q does: logged out, the terminal restored (Textual restores it
        only on its own exit; killed by the default handler, the shell was left in the alternate screen with
        mouse reporting on). The exit code is the shell's usual 128 + the signal's number."""
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGHUP):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):  # not the main thread: tests
                loop.add_signal_handler(signum, self.exit, None, 128 + signum)

    async def on_unmount(self) -> None:
        if self.connector is not None and self.connector.identity is not None:
            await self.connector.logout()
