"""The subscribe picker over the big demo org: how long one typed key takes to filter and redraw the list.

Builds the real app on the big demo org (``--demo-org-size``, default 10,000 agents: 10,213 lines), logs in as
the supervisor, opens the picker and types a query a key at a time, timing each key from the press to the list
redrawn (``pilot.press`` + one pause), next to the filter alone (``matches``) and to the same keys with every
match drawn (no cap), which is what the cap exists for.

    python3 bench/line_picker.py [--size 10000] [--query "user:1"]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from scenes import as_supervisor, scene_app, settle
from textual.pilot import Pilot

from cti_tui.ui.widgets import line_picker


async def per_key(pilot: Pilot[None], query: str) -> list[float]:
    """Milliseconds: opening the picker (every line listed), then each key of ``query``."""
    started = time.perf_counter()
    await pilot.press("s")
    await pilot.pause()
    took = [(time.perf_counter() - started) * 1000]
    await settle(pilot)
    for key in query:
        started = time.perf_counter()
        await pilot.press("colon" if key == ":" else key)
        await pilot.pause()
        took.append((time.perf_counter() - started) * 1000)
    await pilot.press("escape")
    await settle(pilot)
    return took


async def run(size: int, query: str) -> None:
    app = scene_app(Path(tempfile.mkdtemp(prefix="cti-tui-picker-")), size)
    async with app.run_test(size=(120, 36)) as pilot:
        await as_supervisor(pilot)
        entries = pilot.app.screen.directory  # type: ignore[attr-defined]
        candidates = [line_picker.Candidate.of(e) for e in entries]
        started = time.perf_counter()
        for end in range(1, len(query) + 1):
            line_picker.matches(candidates, query[:end])
        filter_ms = (time.perf_counter() - started) * 1000 / len(query)
        capped = await per_key(pilot, query)
        line_picker.SHOWN = len(candidates)  # every match drawn: what the cap avoids
        uncapped = await per_key(pilot, query)
    print(f"{len(candidates):,} lines, query {query!r} typed a key at a time")
    print(f"  filter alone (matches)          {filter_ms:8.2f} ms per key")
    for name, took in (("capped at 100 rows", capped), ("every match drawn", uncapped)):
        opened, keys = took[0], took[1:]
        print(
            f"  {name:<18}  open {opened:7.1f} ms; key -> list redrawn: median {statistics.median(keys):7.1f} ms, "
            f"first key {keys[0]:7.1f} ms, max {max(keys):7.1f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000, help="generated agents (default 10000)")
    parser.add_argument("--query", default="user:1", help="what is typed (default user:1)")
    args = parser.parse_args()
    asyncio.run(run(args.size, args.query))


if __name__ == "__main__":
    main()
