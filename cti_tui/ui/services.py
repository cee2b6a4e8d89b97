"""What the app needs from the outside world, gathered in one place so tests and screenshots can build
the very same app on virtual time with an in-memory keyring. Filled in by the composition root
(:mod:`cti_tui.assembly`); the UI never builds a backend, a PBX or a history store itself."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cti_tui.core.clock import Clock
from cti_tui.credentials import CredentialStore

if TYPE_CHECKING:
    from cti_tui.core.history import CallHistory
    from cti_tui.engine.connector import Connector


def _nothing() -> None:
    return None


@dataclass
class Services:
    # (backend kind, server URL or baresip host:port, the login form's email) -> a new connector
    make_connector: Callable[[str, str | None, str], Connector]
    clock: Clock
    credentials: CredentialStore
    history: CallHistory | None = None
    history_problem: str | None = None
    backend_label: str = "Embedded demo PBX"
    server_url: str = "http://127.0.0.1:8765"
    backend_kind: str = "embedded"
    softphone_address: str = ""
    demo_hint: str = ""
    # What only a session needs (the engine, the demo PBX, the history file) is built by ``prepare``, not
    # before the login form: the app runs it once the form is drawn, having imported ``preload`` a module per
    # turn (the form keeps taking keys meanwhile); whatever needs it sooner calls it. It must be idempotent.
    prepare: Callable[[], None] = _nothing
    preload: tuple[str, ...] = ()
    start_world: Callable[[], None] = _nothing
    save_email: Callable[[str], str | None] = lambda email: None
    # the lines a user watched last time, by (backend name, email): (nodes, a problem to show or None)
    recall_lines: Callable[[str, str], tuple[list[str], str | None]] = lambda backend, email: ([], None)
    # store the lines watched now, by (backend name, email, nodes): a problem to show, or None
    remember_lines: Callable[[str, str, list[str]], str | None] = lambda backend, email, nodes: None
    # attach the call history to a logged-in connector; failures go to the callback
    record_history: Callable[[Connector, Callable[[Exception], None]], None] = lambda connector, on_error: None
    # queue figures for a logged-in connector whose backend does not send them (it computes them locally)
    watch_queues: Callable[[Connector], None] = lambda connector: None
    # what follows the login: "dashboard", or "wall" (cti-tui wall: read-only queue figures, of wall_queues
    # or else every queue)
    front: str = "dashboard"
    wall_queues: tuple[str, ...] = ()
