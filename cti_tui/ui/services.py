"""What the app needs from the outside world, gathered in one place so tests and screenshots can build
the very same app on virtual time with an in-memory keyring (see :mod:`cti_tui.ui.factory`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cti_tui.core.clock import Clock
from cti_tui.credentials import CredentialStore

if TYPE_CHECKING:
    from cti_tui.engine.connector import Connector
    from cti_tui.store.history import HistoryStore


@dataclass
class Services:
    # (backend kind, server URL or baresip host:port, the login form's email) -> a new connector
    make_connector: Callable[[str, str | None, str], Connector]
    clock: Clock
    credentials: CredentialStore
    history: HistoryStore | None = None
    history_problem: str | None = None
    backend_label: str = "Embedded demo PBX"
    server_url: str = "http://127.0.0.1:8765"
    backend_kind: str = "embedded"
    softphone_address: str = ""
    demo_hint: str = ""
    # What only a session needs (the engine, the demo PBX, the history file) is built by ``prepare``, not
    # before the login form: the app runs it once the form is drawn, having imported ``preload`` on a thread
    # (the form keeps taking keys meanwhile); whatever needs it sooner calls it. It must be idempotent.
    prepare: Callable[[], None] = lambda: None
    preload: tuple[str, ...] = ()
    start_world: Callable[[], None] = lambda: None
    save_email: Callable[[str], str | None] = lambda email: None
    extra: dict[str, object] = field(default_factory=dict)
