"""Keeping Python's cycle collector off the frames of a busy dashboard.

CPython's collector walks the objects it tracks. On a supervisor wall (10,000 watched lines, a thousand
changes a second) its full passes took 60-120 ms about once a second, and its middle-generation passes
10-15 ms as often; no frame is drawn and no key handled meanwhile: most of the wall's worst latencies.

At start-up (:func:`pause_collection`, :func:`resume_collection`): from ``cti-tui``'s first import to the login
form, Python allocates a few hundred thousand objects (Textual's modules and classes, the form) and frees
almost none: the collector's ~70 passes over them free nothing and cost ~20 ms of the ~0.5 s to the form.
It is off until the form is drawn; the first pass after that walks them once.

Two things, once the dashboard has drawn its first screen (:func:`settle_long_lived`):

* Nearly everything alive then (the organisation's directory, the widgets, the watched lines, Textual's own
  caches) lives as long as the session: collect once and move it to the permanent generation
  (``gc.freeze``), so later passes walk only what came after. Reference counting still frees frozen
  objects; only a cycle among them would outlive its use, and those were built to last.
* A youngest-generation threshold of 5,000 net allocations instead of 700. A frame briefly holds a few
  thousand new objects (strips and their caches) that reference counting frees a moment later; at 700 a
  pass started in nearly every frame and pushed those objects into the older generations, whose passes are
  the long ones. At 5,000 most die before any pass sees them. Measured with ``bench/wall.py wall
  --trace-frames``: collector time 470 ms → 70-90 ms per 15-20 s of a busy wall, its pauses from
  ~1 a second (14 ms, and 20-45 ms full passes) to one of 20-35 ms every ~7 s; memory unchanged (75 MiB).
  CPython 3.13 raised its own default to 2,000 for the same reason.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 5_000
_paused = False


def pause_collection() -> None:
    """Off for the start-up (only if it is on: whoever turned it off keeps it so)."""
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True


def resume_collection() -> None:
    """On again, if :func:`pause_collection` turned it off."""
    global _paused
    if _paused:
        gc.enable()
        _paused = False


def settle_long_lived() -> None:
    """Collect once, leave everything alive now out of later collections, and collect the young rarely."""
    gc.collect()
    gc.freeze()
    young, middle, old = gc.get_threshold()
    if young:  # (0: someone turned automatic collection off; leave it so)
        gc.set_threshold(max(YOUNG_THRESHOLD, young), middle, old)
