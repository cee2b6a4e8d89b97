"""The hard limits of ``cti-tui serve``, in one place: sizes, counts and times, each with its default.

They are enforced where the bytes arrive, not after they are parsed: the WebSocket message limit in the
WebSocket protocol (uvicorn's ``ws_max_size``: a frame whose header announces more is refused before its
payload is read, and a compressed one is never inflated past it), and the body limit while the body streams in.
"""

from __future__ import annotations

from dataclasses import dataclass

from cti_tui.protocol.session import MAX_FRAME_BYTES


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

    # --- times (seconds) ---------------------------------------------------------------------------
    # A request body must arrive whole within this of its headers.
    body_timeout: float = 10.0

    def __post_init__(self) -> None:
        for name in ("max_message_bytes", "max_body_bytes"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        for name in ("body_timeout",):
            if not getattr(self, name) > 0:  # NaN fails this too
                raise ValueError(f"{name} must be positive")
