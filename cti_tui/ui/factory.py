"""One way to build the app, shared by ``cti-tui``, the tests and ``screenshots/generate.py``.

Tests pass a :class:`VirtualClock`, no random traffic, an in-memory keyring and a temporary history
file, and get exactly the app a user runs — only time and chance are theirs to drive.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from cti_tui import paths
from cti_tui.config import AppConfig, save_email
from cti_tui.core.clock import Clock, RealClock
from cti_tui.credentials import CredentialStore
from cti_tui.ui.app import CtiApp
from cti_tui.ui.services import Services

if TYPE_CHECKING:
    from cti_tui.engine.connector import Connector
    from cti_tui.pbx.exchange import Exchange
    from cti_tui.pbx.org import Organisation

# The engine, the PBX and the history store are not imported before the login form is drawn (~100 ms here:
# the connector's commands, phonenumbers, the exchange, sqlite3); Services.prepare builds them, and the app
# imports them first, a module per turn of its loop (bench/README.md, startup.py).
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


def connector_for(
    kind: str,
    address: str | None,
    exchange: Callable[[], Exchange],
    *,
    email: str = "",
    config: AppConfig | None = None,
) -> Connector:
    """A connector on the embedded exchange (built when first asked for), a CTI server at ``address`` (a URL),
    or a baresip softphone: attached at ``address`` (``host:port`` of its ctrl_tcp) or, with no address, one
    cti-tui starts — its SIP account is the login form's user (the email's local part) on the configured
    interface and ports."""
    from cti_tui.engine.connector import Connector

    if kind == "server":
        from cti_tui.backends.server import ServerBackend

        return Connector(ServerBackend(address or ""))
    if kind == "softphone":
        from cti_tui.backends.softphone import ManagedBaresip, SoftphoneBackend

        if address:
            host, _, port = address.rpartition(":")
            return Connector(SoftphoneBackend((host or "127.0.0.1", int(port))))
        settings = config or AppConfig()
        user = email.partition("@")[0] or "agent"
        if not re.fullmatch(r"[A-Za-z0-9._+-]{1,64}", user):
            user = "agent"
        managed = ManagedBaresip(
            paths.data_dir() / "baresip",
            sip_port=settings.softphone_sip_port,
            ctrl_port=settings.softphone_ctrl_port,
            user=user,
            display_name=settings.softphone_name or user,
            host=settings.softphone_interface,
        )
        return Connector(SoftphoneBackend(managed=managed))
    from cti_tui.backends.embedded import EmbeddedBackend

    return Connector(EmbeddedBackend(exchange()))


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
) -> CtiApp:
    """The app on ``org``, or on the bundled demo (with ``demo_seed`` / ``demo_rate`` when given) loaded when
    the session's parts are prepared: the demo is checked by the tests, a user's file is checked before."""
    clock = clock or RealClock()
    settings = config or AppConfig()
    services = Services(
        make_connector=lambda kind, address, email: connector_for(
            kind, address, lambda: _exchange(services), email=email, config=settings
        ),
        clock=clock,
        credentials=credentials or CredentialStore(),
        backend_label="Embedded demo PBX",
        demo_hint=DEMO_HINT if org is None or org.user_by_email("agent@demo.local") else "",
        preload=SESSION_MODULES,
        save_email=save_email if remember_email else (lambda email: None),
        server_url=server_url or (config.server_url if config and config.server_url else "http://127.0.0.1:8765"),
        backend_kind="server" if server_url else ("softphone" if softphone is not None else "embedded"),
        softphone_address=softphone or "",
    )
    services.prepare = lambda: _prepare(services, org, demo_seed, demo_rate, clock, history, history_path)
    if traffic:
        services.start_world = lambda: _start_world(services)
    return CtiApp(services, config, email=email, api_key=api_key)


def _prepare(
    services: Services,
    org: Organisation | None,
    demo_seed: int | None,
    demo_rate: float | None,
    clock: Clock,
    history: bool,
    history_path: Path | None,
) -> None:
    """The embedded exchange (idle) and the history store, once."""
    if "exchange" in services.extra:
        return
    from cti_tui.pbx.runtime import load_organisation, start_exchange
    from cti_tui.store.history import HistoryError, HistoryStore

    organisation = org or load_organisation(seed=demo_seed, rate=demo_rate)
    services.extra["exchange"] = start_exchange(organisation, clock, traffic=False)
    if history:
        try:
            # The full integrity check reads the whole file: off the start-up path, once the login screen is
            # up (nothing is written before it passes; a damaged file is refused, shown as the pane's error).
            services.history = HistoryStore(history_path, check_in_background=True, check_delay=1.0)
        except (HistoryError, OSError) as exc:
            services.history_problem = f"call history is off: {exc}"


def _exchange(services: Services) -> Exchange:
    services.prepare()
    return services.extra["exchange"]  # type: ignore[return-value]


def _start_world(services: Services) -> None:
    """The demo's simulated callers and colleagues (on the running loop: they schedule timers)."""
    world = _exchange(services).world
    if world is not None:
        world.start()
