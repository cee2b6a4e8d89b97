"""The login screen: backend, email + password or API key, remember me, and the 2FA prompt.

Errors land on the form with focus where the user fixes them (wrong password → password, wrong code →
code). Remember me stores the secret in the system keyring; with no usable keyring it says so and stays
off rather than failing. The keyring is asked on a thread once the form is drawn (importing ``keyring``
and finding the system's backend would delay the first screen): the box is greyed until it answers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container, Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widget import Widget
from textual.widgets import Checkbox, Input, Label, RadioButton, RadioSet, Static

from cti_tui.credentials import CredentialStore

if TYPE_CHECKING:  # the engine is imported once the form is drawn (cti_tui.ui.app)
    from cti_tui.core.results import LoginResult
    from cti_tui.engine.connector import Connector


SIP_ACCOUNT = re.compile(r"sip:[A-Za-z0-9._+-]{1,64}@[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?", re.IGNORECASE)


def valid_softphone_address(text: str) -> bool:
    """Empty (start a baresip of our own), ``host:port`` of a running baresip's ctrl_tcp, or the account
    ``sip:user@registrar[:port]`` (start one registered there; the password row is its SIP password)."""
    if not text:
        return True
    if text.lower().startswith("sip:"):
        return SIP_ACCOUNT.fullmatch(text) is not None
    _, colon, port = text.rpartition(":")
    return bool(colon) and port.isdigit() and 0 < int(port) < 65536


# backend kind -> (label, field id, placeholder) of the address it needs
ADDRESS_FIELDS = {
    "server": ("Server", "server-url", "http://127.0.0.1:8765"),
    "softphone": ("baresip", "softphone-control", "ctrl_tcp host:port, sip:user@registrar, or empty"),
}


class TwoFactorPrompt(ModalScreen[str | None]):
    """Asks for the authenticator code; the login screen keeps it open until the code is right."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="login.cancel_2fa")]
    DEFAULT_CSS = """
    TwoFactorPrompt { align: center middle; }
    TwoFactorPrompt > Vertical { width: 50; height: auto; border: round $accent; background: $surface; padding: 0 1; }
    TwoFactorPrompt .title { text-style: bold; padding-bottom: 1; }
    TwoFactorPrompt #otp-error { color: $error; width: 100%; height: auto; }
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
    """ "Remember me": space toggles it, Enter logs in (as in every other field of the form)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("space", "toggle_button", "Toggle", show=False)]


class SubmitLink(Static):
    """The form's "Log in", for the mouse (Enter logs in from every field). Not a Textual Button: the form is
    the first screen, and Button's 7 KB of CSS (every variant and state) took ~7 ms to parse at each start and
    more to match against; this has one rule and no focus stop, so Tab goes round the fields only."""

    DEFAULT_CSS = """
    SubmitLink { width: auto; padding: 0 2; background: $primary; color: $text; text-style: bold; }
    SubmitLink:hover { background: $primary-lighten-1; }
    SubmitLink.busy { background: $panel; color: $text-muted; text-style: italic; }
    """

    class Pressed(Message):
        """Clicked (and not busy)."""

    def on_click(self) -> None:
        if not self.has_class("busy"):
            self.post_message(self.Pressed())

    def set_busy(self, busy: bool) -> None:
        self.set_class(busy, "busy")
        self.update("Logging in…" if busy else "Log in")


class LoginScreen(Screen[None]):
    """The form is the first screen anyone sees, so it is lean: every widget on it is styled twice before the
    first frame (when mounted and when the screen is shown), so the fields sit in one grid of label + field
    cells (not a row container each), the title is the box's border title and the backend a radio set like the
    sign-in method (Select brought four widgets and its own CSS). bench/README.md, startup.py."""

    # Enter logs in from any field that does not use Enter itself (the remember-me box, for one)
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "submit", "Log in", show=False),
        Binding("f2", "more_options", "Backend and sign-in options", show=False),
    ]
    DEFAULT_CSS = """
    LoginScreen { align: center middle; }
    LoginScreen #more-options { color: $text-muted; margin-bottom: 1; }
    LoginScreen #more-options:hover { color: $text; }
    LoginScreen #login-box {
        width: 68; max-width: 100%; height: auto; border: round $accent; padding: 1 1 0 1; background: $surface;
        border-title-align: center; border-title-color: $accent; border-title-style: bold;
    }
    LoginScreen #fields {
        layout: grid; grid-size: 2; grid-columns: 10 1fr; grid-rows: 1; grid-gutter: 1 0; height: auto;
        margin-bottom: 1;
    }
    LoginScreen #fields > Label { color: $text-muted; }
    LoginScreen RadioSet { width: 1fr; height: 1; layout: horizontal; }
    LoginScreen RadioSet > RadioButton { width: auto; margin-right: 2; }
    LoginScreen #remember { margin-left: 10; }
    LoginScreen #remember-note { color: $text-muted; width: 100%; height: auto; padding-left: 10; margin-top: 1; }
    /* errors as wide as the box, so they wrap: a Label is as wide as its text, and a long one was cut */
    LoginScreen #login-error { color: $error; width: 100%; height: auto; margin-top: 1; }
    LoginScreen #login { dock: right; }
    LoginScreen #submit-row { height: 1; margin-top: 1; }
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
        self.prompt: TwoFactorPrompt | None = None

    def compose(self) -> ComposeResult:
        box = Vertical(id="login-box")
        box.border_title = "☎ cti-tui · sign in"
        with box:
            if not self._options_shown:
                yield Static(
                    f"{self.backend_label} · password  [dim]F2: CTI server, baresip, API key[/]",
                    id="more-options",
                )
            with Container(id="fields"):
                if self._options_shown:
                    yield from self._option_rows()
                yield Label("Email", id="email-label", classes="email-row")
                email = Input(value=self.initial_email, placeholder="you@example.com", id="email", compact=True)
                yield email.add_class("email-row")
                yield Label("Password", classes="password-row")
                yield Input(password=True, placeholder="password", id="password", classes="password-row", compact=True)
                if self._options_shown:
                    yield from self._key_row()
            with Horizontal(id="submit-row"):
                yield RememberBox("Remember me", value=False, id="remember", disabled=True, compact=True)
                yield SubmitLink("Log in", id="login")
            yield Label("asking the system keyring…", id="remember-note")
            yield Label("", id="login-error", classes="hidden")
            if self.demo_hint:
                yield Static(self.demo_hint, id="demo-hint")

    @property
    def _options_shown(self) -> bool:
        """The backend and sign-in rows are on the form (from the start only when not the defaults)."""
        if self.is_mounted:
            return bool(self.query("#backend"))
        return self.backend_kind != "embedded" or self.use_api_key

    def _option_rows(self) -> list[Widget]:
        backends = [
            RadioButton(label, value=kind == self.backend_kind, id=f"backend-{kind}", compact=True)
            for kind, label in self._backend_labels().items()
        ]
        rows: list[Widget] = [Label("Backend"), RadioSet(*backends, id="backend", compact=True)]
        if self.backend_kind in ADDRESS_FIELDS:
            rows += self._address_row(self.backend_kind)
        methods = [
            RadioButton("Email + password", value=not self.use_api_key, id="by-password", compact=True),
            RadioButton("API key", value=self.use_api_key, id="by-key", compact=True),
        ]
        return [*rows, Label("Sign in", id="method-label"), RadioSet(*methods, id="method", compact=True)]

    def _key_row(self) -> list[Widget]:
        field = Input(password=True, placeholder="API key", id="api-key", classes="key-row hidden", compact=True)
        return [Label("API key", classes="key-row hidden"), field]

    def action_more_options(self) -> None:
        """F2 (or a click on the line that says so): the backend and sign-in rows, made when first asked for.
        Most people log in to the default backend with a password: a form without them is drawn sooner."""
        if not self._options_shown:
            self.query_one("#more-options").remove()
            fields = self.query_one("#fields")
            fields.mount(*self._option_rows(), before="#email-label")
            fields.mount(*self._key_row(), after="#password")  # (hidden: the options start at email + password)
        self.call_after_refresh(lambda: self.query_one("#backend", RadioSet).focus())

    @on(events.Click, "#more-options")
    def _more_clicked(self) -> None:
        self.action_more_options()

    def _backend_labels(self) -> dict[str, str]:
        return {"embedded": self.backend_label, "server": "CTI server", "softphone": "baresip"}

    def on_mount(self) -> None:
        if self._options_shown:
            self._show_backend(self.backend_kind)
            self._show_method(self.use_api_key)
        if self.initial_api_key:
            self.query_one("#api-key", Input).value = self.initial_api_key
        target = "#api-key" if self.use_api_key else ("#password" if self.initial_email else "#email")
        self.query_one(target, Input).focus()
        self.call_after_refresh(self._ask_keyring)

    @property
    def busy(self) -> bool:
        """A login is under way (Enter and clicks wait for its answer)."""
        return self.query_one("#login", SubmitLink).has_class("busy")

    @property
    def backend(self) -> str:
        """The backend kind chosen: embedded, server or softphone."""
        chosen = self.query("#backend").results(RadioSet)
        pressed = next((radio.pressed_button for radio in chosen), None)
        return pressed.id.removeprefix("backend-") if pressed is not None and pressed.id else self.backend_kind

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
        self.query(".email-row, .password-row").set_class(api_key, "hidden")
        self.query(".key-row").set_class(not api_key, "hidden")

    @on(RadioSet.Changed, "#backend")
    def _backend_changed(self) -> None:
        self._show_backend(self.backend)

    def _address_row(self, kind: str) -> tuple[Label, Input]:
        """The server URL or baresip address row, made when that backend is first chosen: a login screen
        with fewer widgets is drawn sooner, and most people never leave the default backend."""
        label, field_id, placeholder = ADDRESS_FIELDS[kind]
        value = self.server_url if kind == "server" else self.softphone_address
        row = f"{kind}-row"
        field = Input(value=value, placeholder=placeholder, id=field_id, classes=row, compact=True)
        return Label(label, classes=row), field

    def _show_backend(self, kind: str) -> None:
        for other in ADDRESS_FIELDS:
            rows = self.query(f".{other}-row")
            if rows:
                rows.set_class(other != kind, "hidden")
            elif other == kind:
                self.query_one("#fields").mount(*self._address_row(kind), before="#method-label")

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

    @on(Input.Submitted)
    @on(SubmitLink.Pressed)
    def action_submit(self) -> None:
        if self.busy:  # one attempt at a time: Enter again while the answer is awaited does nothing
            return
        error = self.query_one("#login-error", Label)
        error.update("")
        error.add_class("hidden")  # no blank rows while there is no error
        backend = self.backend
        if backend == "server":
            url = self._address("server")
            if not url.startswith(("http://", "https://")) or len(url) < 10:
                self.show_error("the server URL looks like http://host:8765", "#server-url")
                return
        if backend == "softphone" and not valid_softphone_address(self._address("softphone")):
            self.show_error(
                "baresip: its control socket (127.0.0.1:4444), an account (sip:1001@pbx.example:5060) or empty",
                "#softphone-control",
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
        self.query_one("#login", SubmitLink).set_busy(True)
        self._login()

    @work(exclusive=True, group="login")
    async def _login(self) -> None:
        kind = self.backend
        address = self._address(kind)
        connector = self.connector = self.make_connector(kind, address, self.query_one("#email", Input).value.strip())
        email = self.query_one("#email", Input).value.strip()
        if self.use_api_key:
            result = await connector.login(api_key=self.query_one("#api-key", Input).value)
        else:
            result = await connector.login(email, self.query_one("#password", Input).value)
        self._after_attempt(result)

    def _after_attempt(self, result: LoginResult) -> None:
        """Done: on to the dashboard; a challenge: ask for the code; refused: say why, by the field to fix."""
        from cti_tui.core.model import ErrorCode
        from cti_tui.core.results import Done, TwoFactorRequired

        assert self.connector is not None
        if isinstance(result, Done):
            self._succeeded()
            return
        if isinstance(result, TwoFactorRequired):
            if self.prompt is None:
                self.prompt = TwoFactorPrompt(self._submit_code)
                self.app.push_screen(self.prompt, self._prompt_closed)
            return
        message, code = result.message, result.code
        if self.prompt is not None and code is ErrorCode.BAD_OTP and self.connector.pending_nonce:
            self.prompt.show_error(message)
            return
        if self.prompt is not None:
            self.prompt.dismiss(None)
        field = "#api-key" if self.use_api_key else "#password"
        if code is ErrorCode.BACKEND_FAILURE:
            field = {"server": "#server-url", "softphone": "#softphone-control"}.get(self.backend, "#backend")
        self.show_error(message, field)

    def _submit_code(self, code: str) -> None:
        self._verify(code)

    @work(exclusive=True, group="login")
    async def _verify(self, code: str) -> None:
        assert self.connector is not None
        self._after_attempt(await self.connector.two_factor_auth(code))

    def _prompt_closed(self, _: str | None) -> None:
        self.prompt = None
        if not (self.connector and self.connector.is_connected()):
            self.query_one("#login", SubmitLink).set_busy(False)

    def _succeeded(self) -> None:
        assert self.connector is not None
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
        error = self.query_one("#login-error", Label)
        error.update(f"✕ {message}")
        error.remove_class("hidden")
        self.query_one("#login", SubmitLink).set_busy(False)
        widget = next(iter(self.query(field)), None) or self.query_one("#email")  # (a row not on the form)
        if isinstance(widget, Input):
            widget.value = "" if field in ("#password", "#api-key") else widget.value
        widget.focus()
