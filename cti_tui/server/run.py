"""Serve a :class:`SessionHub` over HTTP and WebSockets with uvicorn (the hub is assembled elsewhere)."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from pathlib import Path

import uvicorn

from cti_tui.server.app import build_server_app
from cti_tui.server.limits import ServerLimits
from cti_tui.server.sessions import SessionHub
from cti_tui.server.transport import ConnectionGate, NewConnectionRate, check_uvicorn, guarded_protocols
from cti_tui.store.history import HistoryStore


def build_uvicorn(
    hub: SessionHub,
    history: HistoryStore | None,
    *,
    on_start: Callable[[], None] = lambda: None,
    host: str = "127.0.0.1",
    port: int = 8765,
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
    log_level: str = "warning",
    limits: ServerLimits | None = None,
) -> tuple[uvicorn.Server, ConnectionGate]:
    """The ASGI app for ``hub`` on uvicorn, within ``limits``; ``on_start`` runs once the server's loop runs.
    The gate counts the server's open connections (per address and in all)."""
    limits = limits or ServerLimits()
    check_uvicorn()
    rate = NewConnectionRate(limits.new_connections_per_second, 2 * limits.new_connections_per_second)
    gate = ConnectionGate(limits.max_connections, limits.max_connections_per_address, limits.max_refusing, rate)
    http_protocol, ws_protocol = guarded_protocols(gate, limits.head_timeout)
    app = build_server_app(hub, history, on_start=on_start, limits=limits)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        http=http_protocol,
        ws=ws_protocol,
        # the message limit in the WebSocket protocol itself: refused from the frame header, never buffered
        ws_max_size=limits.max_message_bytes,
        ws_per_message_deflate=limits.ws_deflate,
        ws_ping_interval=limits.ws_ping_interval,
        ws_ping_timeout=limits.ws_ping_timeout,
        timeout_keep_alive=max(1, round(limits.keep_alive_timeout)),
        # X-Forwarded-For only from the proxies named (--trusted-proxy); by default from nobody
        proxy_headers=bool(limits.trusted_proxies),
        forwarded_allow_ips=sorted(limits.trusted_proxies) or [],
        log_level=log_level,
        ssl_certfile=str(tls_cert) if tls_cert else None,
        ssl_keyfile=str(tls_key) if tls_key else None,
        lifespan="on",
    )
    logging.getLogger("uvicorn.access").addFilter(_without_query)
    return uvicorn.Server(config), gate


def _without_query(record: logging.LogRecord) -> bool:
    """uvicorn's access log line without the query string: a URL may carry a token (refused and revoked, but
    it must not be written down either), and a history search is the user's business."""
    args = record.args
    if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str) and "?" in args[2]:
        record.args = (*args[:2], args[2].split("?", 1)[0] + "?…", *args[3:])
    return True


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
