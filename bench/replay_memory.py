#!/usr/bin/env python3
"""Server memory and collector pauses with busy sessions: what the replay logs cost (issue 14 #3).

    python3 bench/replay_memory.py [--sessions 100] [--events 10500]

In one process, on the embedded demo PBX (no random traffic): the server's own SessionHub (no sockets:
the logs are what is measured, not the transport) opens ``--sessions`` supervisor sessions that all watch
user:1001, then calls ring and are hung up on that line until every session has logged ``--events`` events
(three or so per call each). It reports the process's RSS before and after, its peak (VmHWM), the replay
logs' own size where the hub counts it, and every pause of Python's cyclic collector during the fill
(gc.callbacks, start to stop): p50, p99, max and how many. Run it on two checkouts to compare (PYTHONPATH
picks the tree). Nothing leaves the process; the loop stops when the events are in.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import itertools
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def status(field: str) -> float:
    """A VmRSS/VmHWM figure of this process, in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


async def run(sessions: int, events: int) -> None:
    from cti_tui.assembly import make_server, open_pbx
    from cti_tui.backends.registry import BackendOptions
    from cti_tui.core.clock import RealClock
    from cti_tui.pbx.org import load_demo

    org = load_demo()
    org = dataclasses.replace(org, world=dataclasses.replace(org.world, inbound_per_minute=0.0, colleagues=False))
    clock = RealClock(speed=20.0)
    pbx = open_pbx("embedded", BackendOptions(clock=clock, org=org, traffic=False))
    parts = make_server(pbx, clock)
    hub, exchange = parts.hub, parts.exchange
    login = await hub.login({"email": "supervisor@demo.local", "password": "demo"}, "127.0.0.1")
    opened = []
    for _ in range(sessions):
        session = await hub.create_session(login["token"])
        subscribed = await session.connector.subscribe("user:1001")
        assert type(subscribed).__name__ == "Done", subscribed
        opened.append(session)
    gc.collect()
    rss_before = status("VmRSS")

    pauses: list[float] = []
    started: list[float] = []

    def watch(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started.append(time.perf_counter())
        elif started:
            pauses.append((time.perf_counter() - started.pop()) * 1000)

    gc.callbacks.append(watch)
    numbers = (f"+1202555{n % 10_000:04d}" for n in itertools.count())
    first = opened[0].connector.last_seq
    t0 = time.perf_counter()
    try:
        while opened[0].connector.last_seq - first < events:
            leg = exchange.inbound_call(next(numbers), "1001", "Ada Lovelace")
            await asyncio.sleep(0)
            exchange.remote_hangup(leg.id)
            await asyncio.sleep(0)
    finally:
        gc.callbacks.remove(watch)
    elapsed = time.perf_counter() - t0
    logged = sum(len(s.log) for s in opened)
    replay = getattr(hub, "replay", None)
    print(f"sessions {sessions}, events per session {opened[0].connector.last_seq - first}, fill {elapsed:.1f} s")
    print(f"RSS before {rss_before:.0f} MiB, after {status('VmRSS'):.0f} MiB, peak (VmHWM) {status('VmHWM'):.0f} MiB")
    if replay is not None:
        print(f"replay logs: {replay.used / 2**20:.1f} MiB counted, {logged} events kept")
    else:
        print(f"replay logs: {logged} events kept (as dicts)")
    print(
        f"GC pauses: {len(pauses)}, p50 {statistics.median(pauses) if pauses else 0:.2f} ms, "
        f"p99 {percentile(pauses, 0.99):.2f} ms, max {max(pauses, default=0):.2f} ms"
    )
    for session in opened:
        await hub.destroy(session)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=100)
    parser.add_argument("--events", type=int, default=10_500)
    args = parser.parse_args()
    asyncio.run(run(args.sessions, args.events))


if __name__ == "__main__":
    main()
