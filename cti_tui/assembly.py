"""The composition root: the one place that wires config, clock, backend, connector, history and a front end.

Every front end — the Textual app, ``cti-tui events`` and ``cti-tui serve`` — is assembled here from a
backend chosen by name (:mod:`cti_tui.backends.registry`), so each runs on any backend that can carry it and
none of them imports the demo PBX, a concrete adapter or the history store's recorder itself. Tests and
``screenshots/generate.py`` build the very same app through :func:`build_app` on virtual time.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from cti_tui import paths
from cti_tui.backends.registry import KINDS, BackendOptions, BackendUnavailable, Provider, SoftphoneSettings, kind
from cti_tui.config import AppConfig, save_email
from cti_tui.core.clock import Clock, RealClock
from cti_tui.credentials import CredentialStore

if TYPE_CHECKING:
    from concurrent.futures import Future

    import uvicorn

    from cti_tui.core.model import Call, Event
    from cti_tui.engine.connector import Connector
    from cti_tui.engine.queue_figures import QueueFiguresFeed
    from cti_tui.headless import EventsOptions
    from cti_tui.pbx.org import Organisation
    from cti_tui.server.limits import ServerLimits
    from cti_tui.server.sessions import SessionHub
    from cti_tui.server.transport import ConnectionGate
    from cti_tui.store.history import HistoryStore
    from cti_tui.ui.app import CtiApp

# The engine, the PBX and the history store are not imported before the login form is drawn (~100 ms here:
# the connector's commands, phonenumbers, the exchange, sqlite3); the app imports them first, a module per
# turn of its loop, then prepares the session's parts (bench/README.md, startup.py).
SESSION_MODULES = (  # leaves first: each step imports little that is not yet there
    "cti_tui.core.model",
    "cti_tui.core.commands",
    "phonenumbers",
    "cti_tui.core.numbers",
    "cti_tui.core.machine",
    "cti_tui.engine.connector",
    "pyotp",
    "cti_tui.pbx.org",
    "cti_tui.pbx.exchange",
    "cti_tui.backends.embedded",
    "cti_tui.pbx.runtime",
    "sqlite3",
    "cti_tui.store.history",
)

DEMO_HINT = (
    "Demo accounts (password demo): agent@demo.local · supervisor@demo.local · "
    "secure@demo.local (2FA) · API key demo-api-key"
)
DEFAULT_SERVER_URL = "http://127.0.0.1:8765"


def softphone_settings(config: AppConfig) -> SoftphoneSettings:
    """The baresip cti-tui starts when given no control address, as the config file sets it."""
    return SoftphoneSettings(
        folder=paths.data_dir() / "baresip",
        interface=config.softphone_interface,
        sip_port=config.softphone_sip_port,
        ctrl_port=config.softphone_ctrl_port,
        display_name=config.softphone_name or "",
        registrar=config.softphone_registrar,
        proxy=config.softphone_proxy,
        sip_user=config.softphone_user,
        auth_user=config.softphone_auth_user,
    )


def open_history(path: Path | None = None, **options: Any) -> HistoryStore:
    """The call history (``path`` or the platform's data folder); raises HistoryError or OSError."""
    from cti_tui.store.history import HistoryStore

    return HistoryStore(path or paths.history_path(), **options)


def history_listener(
    history: HistoryStore, connector: Connector, on_error: Callable[[Exception], None]
) -> Callable[[Event], Future[None] | None]:
    """Records every call that ends on the logged-in user's own line (whoever logs in, on any backend).

    It returns the future of the call's row (None for an event that files nothing): ``cti-tui events`` holds
    HANGUP/CANCEL back until the row is committed, so a reader never sees an end that a kill could lose."""
    from cti_tui.store.history import HistoryRecorder

    recorders: dict[str, HistoryRecorder] = {}

    def record(event: Event) -> Future[None] | None:
        identity = connector.identity
        if identity is None:
            return None
        line = identity.line
        return recorders.setdefault(line, HistoryRecorder(history, line, on_error=on_error)).record(event)

    return record


def pbx_login_hint(provider: Provider) -> str:
    """What the login form says about logging in to a real PBX: who vouches for whom."""
    if provider.authenticator is not None:
        return f"{provider.label}: log in with your e-mail and password (or API key) from the org file"
    return (
        f"{provider.label}, no org file: log in as <extension>@… (your PJSIP endpoint); the password is not "
        "checked: whoever holds the AMI secret controls the PBX"
    )


# --- the app ------------------------------------------------------------------------------------------------


@dataclass
class AppWiring:
    """What one app's sessions are built from: a provider per backend kind, made when first asked for.

    ``home`` is the app's own PBX, the login form's first choice (which the form calls ``embedded``): the
    demo PBX, or a real one given with ``--pbx`` (``asterisk``), whose options are then :attr:`options`.
    """

    options: BackendOptions
    config: AppConfig
    history_path: Path | None
    history_wanted: bool
    providers: dict[str, Provider] = field(default_factory=dict)
    history: HistoryStore | None = None
    history_problem: str | None = None
    _watching_damage: bool = False
    _report_damage: Callable[[Exception], None] = field(default=lambda damage: None, repr=False)
    prepared: bool = False
    home: str = "embedded"
    figures: QueueFiguresFeed | None = None

    def provider(self, name: str, address: str = "", user: str = "") -> Provider:
        """The app's own PBX is one per app (every session shares it, and a real PBX's connection); a
        server or a softphone is opened for the address (and, for a baresip cti-tui starts, the SIP user)
        the login form gives."""
        if name in ("embedded", self.home):
            name = self.home
            if name not in self.providers:
                self.providers[name] = kind(name).open(self.options)
            return self.providers[name]
        options = BackendOptions(
            clock=self.options.clock, address=address, user=user, softphone=softphone_settings(self.config)
        )
        return kind(name).open(options)

    def prepare(self) -> None:
        """The embedded PBX (idle) and the history store, once."""
        if self.prepared:
            return
        self.prepared = True
        if self.home == "embedded":  # a real PBX is checked by the command line, before the screen is taken
            self.provider("embedded").prepare()
        if self.history_wanted:
            from cti_tui.store.history import HistoryError

            try:
                # The full integrity check reads the whole file: off the start-up path, once the login screen
                # is up (nothing is written before it passes; a damaged file is refused, shown as the pane's
                # error).
                self.history = open_history(self.history_path, check_in_background=True, check_delay=1.0)
            except (HistoryError, OSError) as exc:
                self.history_problem = f"call history is off: {exc}"

    def connect(self, kind_name: str, address: str | None, email: str) -> Connector:
        """A connector for the login form's choice: its backend kind, address and email."""
        from cti_tui.engine.connector import Connector

        if kind_name in ("embedded", self.home):
            self.prepare()
        user = email.partition("@")[0] or "agent"
        return Connector(self.provider(kind_name, address or "", user).new_backend())

    def start_world(self) -> None:
        """The demo's simulated callers and colleagues (on the running loop: they schedule timers)."""
        if self.home == "embedded":
            self.provider("embedded").start()

    def watch_queues(self, connector: Connector) -> None:
        """Queue figures for a connector whose backend does not send its own (all but a CTI server)."""
        from cti_tui.backends.embedded import EmbeddedBackend
        from cti_tui.engine.queue_figures import LocalFigures

        if getattr(connector.backend, "sends_queue_figures", False):
            return
        if self.figures is None:
            own = self.home == "embedded" and isinstance(connector.backend, EmbeddedBackend)
            targets = getattr(self.provider(self.home), "queue_targets", None) or {} if own else {}
            self.figures = queue_figures_feed(targets, self.options.clock, self.history, wait=False)
        LocalFigures(connector, self.figures, self.options.clock)

    def record_history(self, connector: Connector, on_error: Callable[[Exception], None]) -> None:
        """File the session's ended calls; ``on_error`` hears (on this loop) of a call not saved, and at once of
        damage the history's background check finds (the latest session's ``on_error``: one report)."""
        if self.history is not None:
            self._report_damage = on_error
            if not self._watching_damage:
                self._watching_damage = True
                loop = asyncio.get_running_loop()

                def damaged(damage: Exception) -> None:  # on the check's thread, or here if already known
                    with contextlib.suppress(RuntimeError):  # the app's loop is closed: the log has it
                        loop.call_soon_threadsafe(lambda: self._report_damage(damage))

                self.history.when_damaged(damaged)
            record = history_listener(self.history, connector, on_error)

            def file(event: Event) -> None:  # the app shows the end at once; its row follows on the writer
                record(event)

            connector.add_listener(file)

    @property
    def exchange(self) -> Any:
        """The embedded demo PBX (tests and scenes drive its callers)."""
        self.prepare()
        return self.providers["embedded"].exchange  # type: ignore[attr-defined]


_WIRINGS: weakref.WeakKeyDictionary[CtiApp, AppWiring] = weakref.WeakKeyDictionary()


def wiring_of(app: CtiApp) -> AppWiring:
    """How ``app`` was assembled (tests reach the demo PBX's scripted callers through it)."""
    return _WIRINGS[app]


def build_app(
    *,
    org: Organisation | None = None,
    demo_seed: int | None = None,
    demo_rate: float | None = None,
    clock: Clock | None = None,
    traffic: bool = True,
    history_path: Path | None = None,
    history: bool = True,
    credentials: CredentialStore | None = None,
    config: AppConfig | None = None,
    email: str | None = None,
    api_key: str | None = None,
    remember_email: bool = True,
    server_url: str | None = None,
    softphone: str | None = None,
    pbx: tuple[str, BackendOptions] | None = None,
    watched_path: Path | None = None,
    front: str = "dashboard",
    wall_queues: tuple[str, ...] = (),
) -> CtiApp:
    """The app on ``org``, or on the bundled demo (with ``demo_seed`` / ``demo_rate`` when given) loaded when
    the session's parts are prepared: the demo is checked by the tests, a user's file is checked before.
    ``pbx``: a real PBX instead of the demo (its backend name and options, e.g. ``asterisk`` and its AMI
    address), checked beforehand with :meth:`AppWiring.provider`'s ``prepare``. Watched lines are remembered
    in ``watched_path`` (default: the config folder's watched-lines.json)."""
    from cti_tui import watched
    from cti_tui.ui.app import CtiApp
    from cti_tui.ui.services import Services

    clock = clock or RealClock()
    settings = config or AppConfig()
    home, options = pbx or (
        "embedded",
        BackendOptions(clock=clock, org=org, seed=demo_seed, rate=demo_rate, traffic=traffic),
    )
    wiring = AppWiring(options, settings, history_path, history, home=home)
    label, hint = "Embedded demo PBX", DEMO_HINT if org is None or org.user_by_email("agent@demo.local") else ""
    if pbx is not None:
        provider = wiring.provider(home)
        label, hint = provider.label, pbx_login_hint(provider)

    def prepare() -> None:
        wiring.prepare()
        services.history = wiring.history
        services.history_problem = wiring.history_problem

    services = Services(
        make_connector=wiring.connect,
        clock=clock,
        credentials=credentials or CredentialStore(allow_plaintext=settings.allow_plaintext_keyring),
        backend_label=label,
        demo_hint=hint,
        preload=SESSION_MODULES,
        save_email=save_email if remember_email else (lambda email: None),
        server_url=server_url or settings.server_url or DEFAULT_SERVER_URL,
        backend_kind="server" if server_url else ("softphone" if softphone is not None else "embedded"),
        softphone_address=softphone or "",
        prepare=prepare,
        start_world=wiring.start_world,
        record_history=wiring.record_history,
        recall_lines=lambda backend, email: watched.recall(backend, email, watched_path),
        remember_lines=lambda backend, email, nodes: watched.remember(backend, email, nodes, watched_path),
        watch_queues=wiring.watch_queues,
        front=front,
        wall_queues=wall_queues,
    )
    app = CtiApp(services, config, email=email, api_key=api_key)
    _WIRINGS[app] = wiring
    return app


# --- cti-tui serve ------------------------------------------------------------------------------------------


@dataclass
class ServerParts:
    hub: SessionHub
    server: uvicorn.Server
    provider: Provider
    gate: ConnectionGate

    @property
    def exchange(self) -> Any:
        """The embedded PBX behind the server, when that is what it fronts (tests script its callers)."""
        return self.provider.exchange  # type: ignore[attr-defined]


def pbx_choice(text: str) -> tuple[str, str]:
    """``--pbx``'s value as (backend name, address): ``embedded``, or an address whose scheme names the
    backend (``asterisk://USER@HOST:PORT``)."""
    scheme, sep, _ = text.partition("://")
    if not sep:
        return text, ""
    if scheme not in KINDS or not KINDS[scheme].serves_many:
        raise BackendUnavailable(f"no PBX is reached as {scheme}://… (try asterisk://USER@HOST:PORT)")
    return scheme, text


def open_pbx(name: str, options: BackendOptions) -> Provider:
    """A backend that can serve many users, by name; :class:`BackendUnavailable` says why another cannot."""
    chosen = kind(name)
    if not chosen.serves_many:
        raise BackendUnavailable(
            f"the {name} backend is {chosen.summary}, one user's world: `cti-tui serve` needs a PBX "
            f"({', '.join(n for n, k in KINDS.items() if k.serves_many)})"
        )
    provider = chosen.open(options)
    if provider.authenticator is None:
        raise BackendUnavailable(
            f"the {name} backend serves many users only with an org file saying who is who: --org FILE "
            "(docs/asterisk.md)"
        )
    return provider


def make_server(
    provider: Provider,
    clock: Clock,
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    history: HistoryStore | None = None,
    grace_seconds: float = 300.0,
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
    log_level: str = "warning",
    limits: ServerLimits | None = None,
    **hub_options: Any,
) -> ServerParts:
    """``cti-tui serve`` over ``provider``: the hub gets its backend factory and its authenticator, never the
    PBX itself; its live activity starts when the server's loop runs. ``clock`` is the PBX's time (the one in
    the provider's options)."""
    from cti_tui.server.run import build_uvicorn
    from cti_tui.server.sessions import SessionHub

    authenticator = provider.authenticator
    if authenticator is None:
        raise BackendUnavailable(f"the {provider.name} backend cannot vouch for many users")
    provider.prepare()
    targets = getattr(provider, "queue_targets", None) or {}  # known where an org file sets them
    hub_options.setdefault("queue_figures", queue_figures_feed(targets, clock, history))
    hub = SessionHub(provider.new_backend, authenticator, clock, grace_seconds=grace_seconds, **hub_options)
    server, gate = build_uvicorn(
        hub,
        history,
        on_start=provider.start,
        host=host,
        port=port,
        tls_cert=tls_cert,
        tls_key=tls_key,
        log_level=log_level,
        limits=limits,
    )
    return ServerParts(hub, server, provider, gate)


def queue_figures_feed(
    targets: Mapping[str, float], clock: Clock, history: HistoryStore | None, *, wait: bool = True
) -> QueueFiguresFeed:
    """One queue-figures feed for a process: ``targets`` (queue id -> service-level seconds, from an org file
    when the backend has one), each departure filed in ``history`` and today's taken back from it, on a
    thread (the store refuses the event loop's): awaited with ``wait`` (a server, before it serves), else in
    the background (the app: the book skips calls it has already seen live)."""
    import threading

    from cti_tui.core.service_level import ServiceLevelBook
    from cti_tui.engine.queue_figures import QueueFiguresFeed, load_outcomes

    feed = QueueFiguresFeed(ServiceLevelBook(targets), clock.now)
    if history is None:
        return feed
    store = history

    def record(call: Call) -> None:
        store.submit(call, call.line)  # a failure is the store's to log; the figures stay right

    feed.record = record
    day_start = clock.now().replace(hour=0, minute=0, second=0, microsecond=0)
    queues = sorted(targets)
    if wait:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(1, thread_name_prefix="cti-tui-figures") as pool:
            feed.restore(pool.submit(load_outcomes, store, queues, day_start).result())
        return feed
    loop = asyncio.get_running_loop()

    def load() -> None:
        from cti_tui.core.history import HistoryError

        try:
            outcomes = load_outcomes(store, queues, day_start)
        except HistoryError:
            return  # the history pane says what is wrong with the file; the figures start from now
        with contextlib.suppress(RuntimeError):  # the app has exited
            loop.call_soon_threadsafe(feed.restore, outcomes)

    threading.Thread(target=load, name="cti-tui-figures", daemon=True).start()
    return feed


# --- cti-tui events -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventsRequest:
    """``cti-tui events``: which backend, how to log in, what to watch."""

    backend: str = "embedded"
    options: BackendOptions = field(default_factory=BackendOptions)
    history: bool = True
    history_path: Path | None = None


async def run_events(
    request: EventsRequest,
    login: EventsOptions,
    stdin_fd: int | None = None,
    stdout: TextIO | None = None,
) -> int:
    """Assemble ``cti-tui events`` on the requested backend and run it until it ends; its exit code."""
    from cti_tui.engine.connector import Connector
    from cti_tui.headless import run_headless

    provider = kind(request.backend).open(request.options)
    provider.prepare()
    connector = Connector(provider.new_backend(), default_region=None)

    history: HistoryStore | None = None
    problem = None
    if request.history:
        from cti_tui.store.history import HistoryError

        try:
            history = open_history(request.history_path)
        except (HistoryError, OSError) as exc:
            problem = f"call history is off: {exc}"

    def record(on_error: Callable[[Exception], None]) -> Callable[[Event], Future[None] | None] | None:
        return None if history is None else history_listener(history, connector, on_error)

    try:
        return await run_headless(
            connector,
            login,
            start=provider.start,
            record=record,
            history_problem=problem,
            stdin_fd=stdin_fd,
            stdout=stdout,
        )
    finally:
        if history is not None:
            history.close()
