"""The login screen: backend, email + password or API key, remember me, and the 2FA prompt.

Errors land on the form with focus where the user fixes them (wrong password → password, wrong code →
code). Remember me stores the secret in the system keyring; with no usable keyring it says so and stays
off rather than failing. The keyring is asked on a thread once the form is drawn (importing ``keyring``
and finding the system's backend would delay the first screen): the box is greyed until it answers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Center, Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Checkbox, Input, Label, RadioButton, RadioSet, Select, Static

from cti_tui.credentials import CredentialStore

if TYPE_CHECKING:  # the engine is imported once the form is drawn (cti_tui.ui.app)
    from cti_tui.engine.connector import Connector
    from cti_tui.engine.model import ActivityEvent, Event


def valid_softphone_address(text: str) -> bool:
    """Empty (start a baresip of our own) or ``host:port`` of a running baresip's ctrl_tcp."""
    if not text:
        return True
    _, colon, port = text.rpartition(":")
    return bool(colon) and port.isdigit() and 0 < int(port) < 65536


# backend kind -> (label, field id, placeholder) of the address it needs
ADDRESS_FIELDS = {
    "server": ("Server", "server-url", "http://127.0.0.1:8765"),
    "softphone": ("baresip", "softphone-control", "host:port of its ctrl_tcp — empty: start one"),
}


class TwoFactorPrompt(ModalScreen[str | None]):
    """Asks for the authenticator code; the login screen keeps it open until the code is right."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="login.cancel_2fa")]
    DEFAULT_CSS = """
    TwoFactorPrompt { align: center middle; }
    TwoFactorPrompt > Vertical { width: 50; height: auto; border: round $accent; background: $surface; padding: 0 1; }
    TwoFactorPrompt .title { text-style: bold; padding-bottom: 1; }
    TwoFactorPrompt #otp-error { color: $error; height: auto; }
    """

    def __init__(self, submit: Callable[[str], None]) -> None:
        super().__init__()
        self.submit = submit

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Two-factor authentication", classes="title")
            yield Label("Enter the 6-digit code from your authenticator app.")
            yield Input(placeholder="123456", id="otp", restrict=r"[0-9]*", max_length=8)
            yield Label("", id="otp-error")

    @on(Input.Submitted, "#otp")
    def _submitted(self, event: Input.Submitted) -> None:
        if len(event.value) < 6:
            self.show_error("a code has 6 digits")
            return
        self.submit(event.value)

    def show_error(self, message: str) -> None:
        self.query_one("#otp-error", Label).update(f"✕ {message}")
        field = self.query_one("#otp", Input)
        field.value = ""
        field.focus()

    def action_cancel(self) -> None:
        self.dismiss(None)


class RememberBox(Checkbox, inherit_bindings=False):
    """"Remember me": space toggles it, Enter logs in (as in every other field of the form)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("space", "toggle_button", "Toggle", show=False)]


class LoginScreen(Screen[None]):
    # Enter logs in from any field that does not use Enter itself (the remember-me box, for one)
    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "submit", "Log in", show=False)]
    DEFAULT_CSS = """
    LoginScreen { align: center middle; }
    LoginScreen #login-box {
        width: 68; max-width: 100%; height: auto; border: round $accent; padding: 0 1; background: $surface;
    }
    LoginScreen .title { text-style: bold; color: $accent; width: 100%; text-align: center; margin-bottom: 1; }
    LoginScreen .row { height: 1; margin-bottom: 1; }
    LoginScreen .row > Label { width: 10; color: $text-muted; }
    LoginScreen .row > Input, LoginScreen .row > Select { width: 1fr; }
    LoginScreen RadioSet { width: 1fr; height: 1; layout: horizontal; }
    LoginScreen RadioButton { margin-right: 2; }
    LoginScreen #remember-note { color: $text-muted; width: 100%; height: auto; padding-left: 10; }
    LoginScreen #login-error { color: $error; height: auto; margin-top: 1; }
    LoginScreen #buttons { height: 1; align-horizontal: right; margin-top: 1; }
    LoginScreen #demo-hint { color: $text-muted; height: auto; margin-top: 1; }
    LoginScreen .hidden { display: none; }
    """

    def __init__(
        self,
        make_connector: Callable[[str, str | None, str], Connector],
        credentials: CredentialStore,
        on_ready: Callable[[Connector, bool], None],
        *,
        backend_label: str,
        server_url: str = "http://127.0.0.1:8765",
        softphone_address: str = "",
        backend_kind: str = "embedded",
        email: str | None = None,
        use_api_key: bool = False,
        api_key: str | None = None,
        demo_hint: str = "",
    ) -> None:
        super().__init__()
        self.make_connector = make_connector
        self.credentials = credentials
        self.on_ready = on_ready
        self.backend_label = backend_label
        self.server_url = server_url
        self.softphone_address = softphone_address
        self.backend_kind = backend_kind
        self.initial_email = email or ""
        self.use_api_key = use_api_key
        self.initial_api_key = api_key
        self.demo_hint = demo_hint
        self.connector: Connector | None = None
        self.last_activity: ActivityEvent | None = None  # what the engine last said about this attempt
        self._stop_listening: Callable[[], None] = lambda: None
        self.prompt: TwoFactorPrompt | None = None

    def compose(self) -> ComposeResult:
        with Center(), Vertical(id="login-box"):
            yield Static("☎ cti-tui · sign in", classes="title")
            with Horizontal(classes="row"):
                yield Label("Backend")
                yield Select(
                    [
                        (self.backend_label, "embedded"),
                        ("CTI server (cti-tui serve)", "server"),
                        ("Softphone (baresip)", "softphone"),
                    ],
                    value=self.backend_kind,
                    allow_blank=False,
                    id="backend",
                    compact=True,
                )
            if self.backend_kind in ADDRESS_FIELDS:
                yield self._address_row(self.backend_kind)
            with Horizontal(classes="row", id="method-row"):
                yield Label("Sign in")
                with RadioSet(id="method", compact=True):
                    yield RadioButton("Email + password", value=not self.use_api_key, id="by-password", compact=True)
                    yield RadioButton("API key", value=self.use_api_key, id="by-key", compact=True)
            with Horizontal(classes="row", id="email-row"):
                yield Label("Email")
                yield Input(value=self.initial_email, placeholder="you@example.com", id="email", compact=True)
            with Horizontal(classes="row", id="password-row"):
                yield Label("Password")
                yield Input(password=True, placeholder="password", id="password", compact=True)
            with Horizontal(classes="row hidden", id="key-row"):
                yield Label("API key")
                yield Input(password=True, placeholder="API key", id="api-key", compact=True)
            with Horizontal(classes="row"):
                yield Label("")
                yield RememberBox("Remember me", value=False, id="remember", disabled=True, compact=True)
            yield Label("asking the system keyring…", id="remember-note")
            yield Label("", id="login-error")
            with Horizontal(id="buttons"):
                yield Button("Log in", variant="primary", id="login", compact=True)
            if self.demo_hint:
                yield Static(self.demo_hint, id="demo-hint")

    def on_mount(self) -> None:
        self._show_backend(self.backend_kind)
        self._show_method(self.use_api_key)
        if self.initial_api_key:
            self.query_one("#api-key", Input).value = self.initial_api_key
        target = "#api-key" if self.use_api_key else ("#password" if self.initial_email else "#email")
        self.query_one(target, Input).focus()
        self.call_after_refresh(self._ask_keyring)

    def _secret_field(self) -> Input:
        return self.query_one("#api-key" if self.use_api_key else "#password", Input)

    def _account(self) -> str:
        return self.credentials.account(self.query_one("#email", Input).value.strip(), api_key=self.use_api_key)

    @work(thread=True, exclusive=True, group="keyring")
    def _ask_keyring(self) -> None:
        """On a thread: is there a keyring, and a secret remembered for the prefilled account?"""
        account = self.app.call_from_thread(self._account)
        usable, note = self.credentials.available()
        secret = self.credentials.load(account) if usable else None
        self.app.call_from_thread(self._keyring_answered, usable, note, account, secret)

    def _keyring_answered(self, usable: bool, note: str, account: str, secret: str | None) -> None:
        self.query_one("#remember", Checkbox).disabled = not usable
        self.query_one("#remember-note", Label).update(note)
        field = self._secret_field()
        if secret and account == self._account() and not field.value:  # never over what the user typed
            field.value = secret
            self.query_one("#remember", Checkbox).value = True

    def _prefill_secret(self) -> None:
        secret = self.credentials.load(self._account())
        if secret:
            self._secret_field().value = secret
            self.query_one("#remember", Checkbox).value = True

    def _show_method(self, api_key: bool) -> None:
        self.use_api_key = api_key
        for selector in ("#email-row", "#password-row"):
            self.query_one(selector).set_class(api_key, "hidden")
        self.query_one("#key-row").set_class(not api_key, "hidden")

    @on(Select.Changed, "#backend")
    def _backend_changed(self, event: Select.Changed) -> None:
        self._show_backend(str(event.value))

    def _address_row(self, kind: str) -> Horizontal:
        """The server URL or baresip address row, made when that backend is first chosen: a login screen
        with fewer widgets is drawn sooner, and most people never leave the default backend."""
        label, field_id, placeholder = ADDRESS_FIELDS[kind]
        value = self.server_url if kind == "server" else self.softphone_address
        field = Input(value=value, placeholder=placeholder, id=field_id, compact=True)
        return Horizontal(Label(label), field, classes="row", id=f"{kind}-row")

    def _show_backend(self, kind: str) -> None:
        for other in ADDRESS_FIELDS:
            rows = self.query(f"#{other}-row")
            if rows:
                rows.set_class(other != kind, "hidden")
            elif other == kind:
                self.query_one("#login-box").mount(self._address_row(kind), before="#method-row")

    def _address(self, kind: str) -> str:
        """What the server URL or baresip field holds ("" for the embedded PBX, which has none)."""
        if kind not in ADDRESS_FIELDS:
            return ""
        fields = self.query(f"#{ADDRESS_FIELDS[kind][1]}").results(Input)
        return next((field.value.strip() for field in fields), "")

    @on(RadioSet.Changed, "#method")
    def _method_changed(self, event: RadioSet.Changed) -> None:
        self._show_method(event.pressed.id == "by-key")
        self._prefill_secret()

    def action_submit(self) -> None:
        if not self.query_one("#login", Button).disabled:
            self._submit()

    @on(Input.Submitted)
    @on(Button.Pressed, "#login")
    def _submit(self) -> None:
        self.query_one("#login-error", Label).update("")
        backend = self.query_one("#backend", Select).value
        if backend == "server":
            url = self._address("server")
            if not url.startswith(("http://", "https://")) or len(url) < 10:
                self.show_error("the server URL looks like http://host:8765", "#server-url")
                return
        if backend == "softphone" and not valid_softphone_address(self._address("softphone")):
            self.show_error(
                "baresip's control socket looks like 127.0.0.1:4444 (or leave it empty)", "#softphone-control"
            )
            return
        email = self.query_one("#email", Input).value.strip()
        if self.use_api_key:
            key = self.query_one("#api-key", Input).value.strip()
            if not key:
                self.show_error("enter your API key", "#api-key")
                return
        else:
            if not email:
                self.show_error("enter your email", "#email")
                return
            if not self.query_one("#password", Input).value:
                self.show_error("enter your password", "#password")
                return
        self.query_one("#login", Button).disabled = True
        self._login()

    @work(exclusive=True, group="login")
    async def _login(self) -> None:
        kind = str(self.query_one("#backend", Select).value)
        address = self._address(kind)
        connector = self.connector = self.make_connector(kind, address, self.query_one("#email", Input).value.strip())
        self._stop_listening()
        self.last_activity = None
        self._stop_listening = connector.add_listener(self._heard)
        email = self.query_one("#email", Input).value.strip()
        if self.use_api_key:
            ok = await connector.login(api_key=self.query_one("#api-key", Input).value)
        else:
            ok = await connector.login(email, self.query_one("#password", Input).value)
        self._after_attempt(ok)

    def _after_attempt(self, ok: bool) -> None:
        from cti_tui.engine.model import ActivityName, ErrorCode

        assert self.connector is not None
        if ok:
            self._succeeded()
            return
        last = self.last_activity
        if last is not None and last.name is ActivityName.TWO_FACTOR_AUTH:
            if self.prompt is None:
                self.prompt = TwoFactorPrompt(self._submit_code)
                self.app.push_screen(self.prompt, self._prompt_closed)
            return
        message = last.message if last is not None else "login failed"
        code = last.code if last is not None else None
        if self.prompt is not None and code is ErrorCode.BAD_OTP and self.connector.pending_nonce:
            self.prompt.show_error(message)
            return
        if self.prompt is not None:
            self.prompt.dismiss(None)
        field = "#api-key" if self.use_api_key else "#password"
        if code is ErrorCode.BACKEND_FAILURE:
            field = {"server": "#server-url", "softphone": "#softphone-control"}.get(
                str(self.query_one("#backend", Select).value), "#backend"
            )
        self.show_error(message, field)

    def _submit_code(self, code: str) -> None:
        self._verify(code)

    @work(exclusive=True, group="login")
    async def _verify(self, code: str) -> None:
        assert self.connector is not None
        ok = await self.connector.two_factor_auth(code)
        self._after_attempt(ok)

    def _prompt_closed(self, _: str | None) -> None:
        self.prompt = None
        if not (self.connector and self.connector.is_connected()):
            self.query_one("#login", Button).disabled = False

    def _heard(self, event: Event) -> None:
        """Only the latest activity matters to the form (and nothing is kept once logged in: a wall's
        session brings a thousand events a second)."""
        from cti_tui.engine.model import ActivityEvent

        if isinstance(event, ActivityEvent):
            self.last_activity = event

    def _succeeded(self) -> None:
        assert self.connector is not None
        self._stop_listening()
        self._stop_listening = lambda: None
        remember = self.query_one("#remember", Checkbox).value
        email = self.query_one("#email", Input).value.strip()
        if self.use_api_key and self.connector.identity is not None:
            email = self.connector.identity.email  # the email row is hidden: file the key under who logged in
        account = self.credentials.account(email, api_key=self.use_api_key)
        if remember:
            secret = self.query_one("#api-key" if self.use_api_key else "#password", Input).value
            problem = self.credentials.save(account, secret)
            if problem:
                self.notify(problem, severity="warning")
        else:
            self.credentials.forget(account)
        if self.prompt is not None:
            self.prompt.dismiss(None)
            self.prompt = None
        self.on_ready(self.connector, remember)

    def show_error(self, message: str, field: str) -> None:
        self.query_one("#login-error", Label).update(f"✕ {message}")
        self.query_one("#login", Button).disabled = False
        widget = self.query_one(field)
        if isinstance(widget, Input):
            widget.value = "" if field in ("#password", "#api-key") else widget.value
        widget.focus()
