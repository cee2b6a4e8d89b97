"""The hard limits of ``cti-tui serve``, in one place: sizes, counts and times, each with its default.

They are enforced where the bytes arrive, not after they are parsed: the WebSocket message limit in the
WebSocket protocol (uvicorn's ``ws_max_size``: a frame whose header announces more is refused before its
payload is read, and a compressed one is never inflated past it), the body limit while the body streams in,
the connection counts when a connection is accepted. docs/security.md lists them with their flags.
"""

from __future__ import annotations

import resource
from dataclasses import dataclass, field, replace

from cti_tui.protocol.session import MAX_FRAME_BYTES

RESERVED_FDS = 256  # descriptors kept for everything but client connections (logs, the history, the PBX)


@dataclass(frozen=True)
class ServerLimits:
    """What one server accepts; every field has a default that suits one office on one machine."""

    # --- sizes -------------------------------------------------------------------------------------
    # A WebSocket message (after decompression, all fragments together): the protocol's frame limit. A larger
    # one closes the connection with 1009 as soon as its header says so; nothing of it is buffered.
    max_message_bytes: int = MAX_FRAME_BYTES
    # An HTTP request body: counted while it streams in (and from Content-Length first); 413 past it.
    max_body_bytes: int = MAX_FRAME_BYTES
    # permessage-deflate: tens of KiB of zlib state per connection and CPU on every frame, for frames of a few
    # hundred bytes; with the old 16 MiB limit it let a 15 KB frame become 16 MiB. Off unless asked for; when
    # on, inflating stops at the message limit (1009).
    ws_deflate: bool = False

    # --- counts ------------------------------------------------------------------------------------
    # Open TCP connections (HTTP and WebSocket alike), in all and from one address. One office behind one
    # NAT is one address: the per-address cap must leave room for every agent's socket.
    max_connections: int = 10_000
    max_connections_per_address: int = 2_000
    # Connections refused with 503 that may wait for their request head at once; past it they are dropped.
    max_refusing: int = 64
    # New connections one address may open a second (in bursts of twice that): past it they are dropped at
    # once, unread. An office logging in 1,000 agents in a minute opens ~50 a second; an attacker opening
    # hundreds a second took the loop from every logged-in client (each handshake costs ~1 ms).
    new_connections_per_second: float = 100.0

    # --- times (seconds) ---------------------------------------------------------------------------
    # The request line and headers must arrive within this of the connection (or of the previous response).
    head_timeout: float = 10.0
    # A request body must arrive whole within this of its headers.
    body_timeout: float = 10.0
    # A WebSocket must create or restore a session within this of opening, else it is closed (1008).
    session_timeout: float = 10.0
    # An idle keep-alive HTTP connection is closed after this.
    keep_alive_timeout: float = 5.0
    # WebSocket keepalive: the server pings every interval and closes (1011) a peer that does not answer in time.
    ws_ping_interval: float = 20.0
    ws_ping_timeout: float = 20.0

    # --- browsers ----------------------------------------------------------------------------------
    # Origins (scheme://host[:port]) whose pages may call the API or open a session. A request that carries
    # an Origin header (every browser sends one for a cross-site POST or WebSocket) is refused with 403
    # unless its origin is listed; clients that are not browsers send none and are not affected.
    allowed_origins: frozenset[str] = field(default_factory=frozenset)

    # --- proxies -----------------------------------------------------------------------------------
    # Addresses (or networks) of reverse proxies whose X-Forwarded-For/-Proto are believed: a client's address
    # is what login failures count against, and anyone can write that header. uvicorn's own default believes
    # 127.0.0.1, so a local process could choose its address; here nobody is believed unless listed.
    trusted_proxies: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        for name in ("max_message_bytes", "max_body_bytes", "max_connections", "max_connections_per_address"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        for name in (
            "head_timeout",
            "body_timeout",
            "session_timeout",
            "keep_alive_timeout",
            "new_connections_per_second",
        ):
            if not getattr(self, name) > 0:  # NaN fails this too
                raise ValueError(f"{name} must be positive")

    def fitted_to_descriptors(self) -> tuple[ServerLimits, str | None]:
        """These limits with ``max_connections`` within what the process may open: the soft descriptor limit
        is raised towards the hard one as far as needed; if that is not enough, the cap is lowered. The
        second value says so when it had to be (a server that runs out of descriptors stops accepting
        anyone, the cap at least refuses with 503)."""
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        wanted = self.max_connections + RESERVED_FDS
        if soft != resource.RLIM_INFINITY and soft < wanted:
            target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
            try:
                resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
                soft = target
            except (ValueError, OSError):
                pass
        if soft == resource.RLIM_INFINITY or soft >= wanted:
            return self, None
        fitted = max(1, soft - RESERVED_FDS)
        return replace(self, max_connections=fitted), (
            f"at most {fitted} connections: the process may open {soft} files (ulimit -n)"
        )
