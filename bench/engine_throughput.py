"""Embedded PBX + Connector throughput with N concurrent calls, against a bare asyncio.Queue pass-through.

    python3 bench/engine_throughput.py [--calls 10000]

A generated organisation (the demo plus N agents in ~N/50 queues, no simulated traffic or colleagues) on
a VirtualClock; one supervisor Connector (EmbeddedBackend) subscribed to every queue and every generated
agent's line. The bench then, through the exchange, rings one inbound call on every agent (N calls live
at once), answers them all, holds them all and hangs them all up: 4 call events per call reach the
supervisor. events/s = call events the supervisor's listener received / wall time of the four phases.
Baseline: the same number of event objects through an asyncio.Queue (``await put`` + ``await get``).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cti_tui.backends.embedded import EmbeddedBackend
from cti_tui.core.clock import VirtualClock
from cti_tui.core.model import CallEvent, Event
from cti_tui.engine.connector import Connector
from cti_tui.pbx.bigorg import USER_BASE, generate_org
from cti_tui.pbx.exchange import Exchange


async def engine_run(calls: int) -> tuple[list[Event], dict[str, float]]:
    started = time.perf_counter()
    org = generate_org(calls, rate=0)
    org = dataclasses.replace(org, world=dataclasses.replace(org.world, colleagues=False))
    clock = VirtualClock()
    exchange = Exchange(org, clock)
    supervisor = Connector(EmbeddedBackend(exchange))
    events: list[Event] = []
    supervisor.add_listener(events.append)
    assert await supervisor.login("supervisor@demo.local", "demo")
    for queue in org.queues:
        assert await supervisor.subscribe(queue.line)
    for i in range(calls):
        assert await supervisor.subscribe(f"user:{USER_BASE + i}")
    setup = time.perf_counter() - started
    events.clear()
    timings: dict[str, float] = {"setup": setup}
    t0 = time.perf_counter()
    legs = []
    for i in range(calls):
        leg = exchange.inbound_call(f"+1202555{i % 10_000:04d}", str(USER_BASE + i), "Caller")
        assert leg is not None
        legs.append(leg)
    timings["ring"] = time.perf_counter() - t0
    live = sum(1 for leg in exchange.legs.values() if leg.live)
    t = time.perf_counter()
    for leg in legs:
        exchange.answer_leg(leg)
    timings["answer"] = time.perf_counter() - t
    t = time.perf_counter()
    for leg in legs:
        exchange.hold(leg)
    timings["hold"] = time.perf_counter() - t
    t = time.perf_counter()
    for leg in legs:
        exchange.hangup(leg)
    timings["hangup"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - t0
    timings["live"] = live
    await asyncio.sleep(0)
    return events, timings


async def queue_run(items: list[Event]) -> float:
    queue: asyncio.Queue[Event] = asyncio.Queue()
    t = time.perf_counter()
    for item in items:
        await queue.put(item)
        await queue.get()
    return time.perf_counter() - t


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=10_000, help="concurrent calls (default 10000)")
    args = parser.parse_args()
    events, timings = asyncio.run(engine_run(args.calls))
    call_events = [e for e in events if isinstance(e, CallEvent)]
    assert len(call_events) == 4 * args.calls, (len(call_events), len(events))
    baseline = asyncio.run(queue_run(call_events))
    rate = len(call_events) / timings["total"]
    base_rate = len(call_events) / baseline
    print(f"python {platform.python_version()} on {platform.machine()} ({platform.processor() or '?'})")
    print(f"calls: {args.calls} (live at once: {int(timings['live'])}); setup {timings['setup']:.2f} s")
    for phase in ("ring", "answer", "hold", "hangup"):
        print(f"  {phase:7s} {timings[phase]:7.3f} s  {args.calls / timings[phase]:10,.0f} events/s")
    print(f"engine:   {len(call_events)} call events in {timings['total']:.3f} s = {rate:,.0f} events/s")
    print(
        f"baseline: asyncio.Queue put+get of the same {len(call_events)} events in {baseline:.3f} s "
        f"= {base_rate:,.0f} events/s"
    )
    print(f"ratio: baseline / engine = {base_rate / rate:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
