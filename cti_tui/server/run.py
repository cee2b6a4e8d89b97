"""Run the server: the exchange, the hub, the ASGI app and uvicorn, wired together."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from cti_tui.core.clock import Clock
from cti_tui.pbx.org import Organisation
from cti_tui.pbx.runtime import start_exchange
from cti_tui.server.app import build_server_app
from cti_tui.server.sessions import SessionHub
from cti_tui.store.history import HistoryStore


@dataclass
class ServerParts:
    hub: SessionHub
    server: uvicorn.Server


def make_server(
    org: Organisation,
    clock: Clock,
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    history: HistoryStore | None = None,
    traffic: bool = True,
    grace_seconds: float = 300.0,
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
    log_level: str = "warning",
) -> ServerParts:
    exchange = start_exchange(org, clock, traffic=False)
    hub = SessionHub(exchange, clock, grace_seconds=grace_seconds)
    world = exchange.world
    app = build_server_app(hub, history, on_start=world.start if traffic and world is not None else lambda: None)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        ws="websockets-sansio",
        log_level=log_level,
        ssl_certfile=str(tls_cert) if tls_cert else None,
        ssl_keyfile=str(tls_key) if tls_key else None,
        lifespan="on",
    )
    return ServerParts(hub, uvicorn.Server(config))


def bound_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening socket on a free port (tests and benchmarks pass it to ``server.serve(sockets=[...])``)."""
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets whose proto says TCP (a bare 0 gets
    # Nagle's algorithm, and every reply that follows an event waits ~40 ms for the peer's delayed ACK)
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock
