"""One way to build the app, shared by ``cti-tui``, the tests and ``screenshots/generate.py``.

Tests pass a :class:`VirtualClock`, no random traffic, an in-memory keyring and a temporary history
file, and get exactly the app a user runs — only time and chance are theirs to drive.
"""

from __future__ import annotations

import re
from pathlib import Path

from cti_tui import paths
from cti_tui.config import AppConfig, save_email
from cti_tui.credentials import CredentialStore
from cti_tui.engine.backends.embedded import EmbeddedBackend
from cti_tui.engine.clock import Clock, RealClock
from cti_tui.engine.connector import Connector
from cti_tui.pbx.exchange import Exchange
from cti_tui.pbx.org import Organisation, load_demo
from cti_tui.pbx.runtime import start_exchange
from cti_tui.store.history import HistoryError, HistoryStore
from cti_tui.ui.app import CtiApp
from cti_tui.ui.services import Services

DEMO_HINT = (
    "Demo accounts (password demo): agent@demo.local · supervisor@demo.local · "
    "secure@demo.local (2FA) · API key demo-api-key"
)


def connector_for(
    kind: str, address: str | None, exchange: Exchange, *, email: str = "", config: AppConfig | None = None
) -> Connector:
    """A connector on the embedded exchange, a CTI server at ``address`` (a URL), or a baresip softphone:
    attached at ``address`` (``host:port`` of its ctrl_tcp) or, with no address, one cti-tui starts — its
    SIP account is the login form's user (the email's local part) on the configured interface and ports."""
    if kind == "server":
        from cti_tui.engine.backends.server import ServerBackend

        return Connector(ServerBackend(address or ""))
    if kind == "softphone":
        from cti_tui.engine.backends.softphone import ManagedBaresip, SoftphoneBackend

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
    return Connector(EmbeddedBackend(exchange))


def build_app(
    *,
    org: Organisation | None = None,
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
    clock = clock or RealClock()
    organisation = org or load_demo()
    exchange = start_exchange(organisation, clock, traffic=False)
    store: HistoryStore | None = None
    problem: str | None = None
    if history:
        try:
            # The full integrity check reads the whole file: off the start-up path, once the login screen is
            # up (nothing is written before it passes; a damaged file is refused, shown as the pane's error).
            store = HistoryStore(history_path, check_in_background=True, check_delay=1.0)
        except (HistoryError, OSError) as exc:
            problem = f"call history is off: {exc}"
    world = exchange.world
    services = Services(
        make_connector=lambda kind, address, email: connector_for(
            kind, address, exchange, email=email, config=config or AppConfig()
        ),
        clock=clock,
        credentials=credentials or CredentialStore(),
        history=store,
        history_problem=problem,
        backend_label="Embedded demo PBX",
        demo_hint=DEMO_HINT if organisation.user_by_email("agent@demo.local") else "",
        start_world=(lambda: world.start()) if traffic and world is not None else (lambda: None),
        save_email=save_email if remember_email else (lambda email: None),
        extra={"exchange": exchange},
        server_url=server_url or (config.server_url if config and config.server_url else "http://127.0.0.1:8765"),
        backend_kind="server" if server_url else ("softphone" if softphone is not None else "embedded"),
        softphone_address=softphone or "",
    )
    return CtiApp(services, config, email=email, api_key=api_key)
