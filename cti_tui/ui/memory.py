"""Keeping Python's cycle collector off the frames of a busy dashboard.

CPython's full collection walks every object it tracks. On a supervisor wall (10,000 watched lines, a
thousand changes a second) that was 60-120 ms about once a second, during which no frame was drawn and no
key handled: most of the wall's worst latencies. Nearly all of those objects are built at login and live as
long as the session (the organisation's directory, the widgets, the watched lines, Textual's own caches), so
once the dashboard has drawn its first screen :func:`settle_long_lived` collects once and moves the survivors
to the permanent generation (``gc.freeze``): later collections walk only what came after. Reference counting
still frees frozen objects; only a cycle among them would outlive its use, and those were built to last.
"""

from __future__ import annotations

import gc


def settle_long_lived() -> None:
    """Collect once, then leave everything alive now out of later collections."""
    gc.collect()
    gc.freeze()
