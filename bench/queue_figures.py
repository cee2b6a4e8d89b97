#!/usr/bin/env python3
"""Queue figures on the server: 200 queues, 10,000 agents, 1,000 call events/s — next to plain fan-out.

    python3 bench/queue_figures.py [--seconds 20] [--rate 1000] [--watchers 20]

The server's own parts in one process, on one event loop: ``make_server`` over the embedded PBX with
``generate_org(10_000)`` (10,000 agents in 200 queues), its :class:`SessionHub` with real sessions (logged
in, subscribed through their connectors): ``--watchers`` supervisors who split the 200 queues between them
and one wall session that watches all 200, each with one attached :class:`Connection`. No sockets: what the
transport adds is the same for an event and for a figures message, and bench/fanout.py measures it.

A timeline of synthetic queue calls is replayed in real time at ``--rate`` events/s: a caller joins (RINGING
on ``queue:qN``), is offered to an agent (RINGING on ``user:EXT``, the queue in ``also``), is answered
(CONNECTED) and hangs up; one in five gives up while waiting (CANCEL). Each event goes, as a backend report
would, to every session watching its queue, two ways, each timed with ``time.process_time``:

* **plain fan-out**: ``Session.on_event`` — the event message built, logged and pushed to the connection;
* **figures**: ``QueueFiguresFeed.observe`` once per watching session (each session's connector feeds the one
  book) plus the publisher's flushes (each changed queue's figures computed once a second and pushed to its
  watchers) and its 15-s refreshes.

Latency to a watching client: a task per connection drains it; an event message's latency is from its feed
to its receipt; a figures message's from the first change it reflects (the feed marking its queue) to its
receipt (the 1-s publishing pause included: that is what a wallboard sees). Bounded: the run lasts
``--seconds``, then everything stops.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cti_tui.assembly import make_server, open_pbx
from cti_tui.backends.registry import BackendOptions
from cti_tui.core.clock import RealClock
from cti_tui.core.model import Call, CallEvent, CallStatus, Direction
from cti_tui.pbx.bigorg import generate_org
from cti_tui.server.queue_figures import FiguresPublisher
from cti_tui.server.sessions import Connection, Session, SessionHub

S = CallStatus
WARM_UP = 75.0  # seconds: longer than any call's wait plus talk, so every kind of event flows from the start


@dataclass
class Timings:
    fanout_cpu: float = 0.0
    observe_cpu: float = 0.0
    publish_cpu: float = 0.0
    events: int = 0
    event_latency: list[float] = field(default_factory=list)
    figures_latency: list[float] = field(default_factory=list)
    figures_messages: int = 0


def timeline(org_queues: list[tuple[str, list[str]]], seconds: float, rate: float, seed: int = 7) -> list[Any]:
    """(at, seq, queue, call) for every event of the run, in time order, ~``rate`` per second."""
    pick = random.Random(seed)
    calls_per_second = rate / 3.6  # 4 events per answered call, 2 per abandon, one in five abandons
    events: list[tuple[float, int, str, Call]] = []
    order = 0
    at = -WARM_UP  # calls began before the run: it starts at the steady rate, waits and talks under way
    clock = RealClock()
    start = clock.now()
    n = 0
    while at < seconds:
        at += pick.expovariate(calls_per_second)
        queue, members = org_queues[pick.randrange(len(org_queues))]
        n += 1
        joined = Call(
            id=f"b{n}",
            cid=str(n),
            direction=Direction.INBOUND,
            status=S.RINGING,
            line=f"queue:{queue}",
            source=f"+1202555{n % 10_000:04d}",
            destination=queue,
            setup_at=start + timedelta(seconds=at),
            queue_position=1,
        )
        steps: list[tuple[float, Call]] = [(at, joined)]
        wait = pick.uniform(1, 40)
        if pick.random() < 0.2:
            steps.append((at + wait, joined.evolve(status=S.CANCEL, cause="cancelled", queue_position=None)))
        else:
            agent = pick.choice(members)
            offered = joined.evolve(line=f"user:{agent}", also=(f"queue:{queue}",), queue_position=None)
            answered = offered.evolve(status=S.CONNECTED, also=(), connect_at=start + timedelta(seconds=at + wait))
            steps += [
                (at + wait - 0.5, offered),
                (at + wait, answered),
                (at + wait + pick.uniform(5, 30), answered.evolve(status=S.HANGUP)),
            ]
        for when, call in steps:
            if 0 <= when < seconds:
                order += 1
                events.append((when, order, queue, call))
    events.sort(key=lambda e: (e[0], e[1]))
    return events


async def open_watchers(hub: SessionHub, queues: list[str], watchers: int) -> dict[str, list[Session]]:
    """``watchers`` supervisors splitting the queues, one wall watching all; queue -> its sessions."""
    by_queue: dict[str, list[Session]] = {q: [] for q in queues}
    plans = [queues[i::watchers] for i in range(watchers)] + [queues]
    for plan in plans:
        login = await hub.login({"email": "supervisor@demo.local", "password": "demo"}, "127.0.0.1")
        session = await hub.create_session(login["token"])
        for queue in plan:
            assert await session.connector.subscribe(f"queue:{queue}")
            by_queue[queue].append(session)
        hub.attach(session, Connection(limit=10**9))
    return by_queue


async def drain(connection: Connection, sent: dict[int, float], changed: dict[str, float], t: Timings) -> None:
    while (message := await connection.next()) is not None:
        now = time.perf_counter()
        if message.get("type") == "event":
            t.event_latency.append(now - sent[message["seq"]])
        elif message.get("type") == "queueFigures":
            t.figures_messages += 1
            first = changed.pop(message["queue"], None)
            if first is not None:
                t.figures_latency.append(now - first)


def timed_publisher(publisher: FiguresPublisher, t: Timings) -> None:
    """Count the publisher's CPU: its flushes and refreshes, wherever the clock calls them from."""
    publish = publisher._publish

    def timed(lines: set[str] | None) -> None:
        start = time.process_time()
        publish(lines)
        t.publish_cpu += time.process_time() - start

    publisher._publish = timed  # type: ignore[method-assign]


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def run(seconds: float, rate: float, watchers: int) -> dict[str, Any]:
    clock = RealClock()
    org = generate_org(10_000, rate=0)
    provider = open_pbx("embedded", BackendOptions(clock=clock, org=org, traffic=False))
    parts = make_server(provider, clock)
    hub = parts.hub
    assert hub.figures is not None
    generated = [q for q in org.queues if q.id.startswith("q")]
    queues = [(q.id, list(q.members)) for q in generated]
    by_queue = await open_watchers(hub, [q for q, _ in queues], watchers)
    t = Timings()
    timed_publisher(hub.figures, t)
    sent: dict[int, float] = {}
    changed: dict[str, float] = {}
    drains = [asyncio.create_task(drain(c, sent, changed, t)) for s in hub.sessions.values() for c in s.connections]
    plan = timeline(queues, seconds, rate)
    feed = hub.figures.feed
    # a queue's figures changed when the feed says so (a caller of the run joined or left it): from then on
    feed.add_listener(lambda queue: changed.setdefault(queue, time.perf_counter()))
    began = time.perf_counter()
    for seq, (at, _, queue, call) in enumerate(plan, start=1):
        delay = began + at - time.perf_counter()
        if delay > 0.002:
            await asyncio.sleep(delay)  # the events arrive on time, as a PBX sends them; the loop runs meanwhile
        watching = by_queue[queue]
        event = CallEvent(seq, call)
        now = time.perf_counter()
        sent[seq] = now
        start = time.process_time()
        for session in watching:
            session.on_event(event)
        middle = time.process_time()
        for _ in watching:
            feed.observe(event)
        t.observe_cpu += time.process_time() - middle
        t.fanout_cpu += middle - start
        t.events += 1
    elapsed = time.perf_counter() - began
    await asyncio.sleep(1.5)  # the last changes' figures go out within a second
    for session in list(hub.sessions.values()):
        for connection in session.connections:
            connection.close()
    await asyncio.wait_for(asyncio.gather(*drains), 30)
    hub.figures.close()
    hub.auth_pool.shutdown(wait=False, cancel_futures=True)
    figures_cpu = t.observe_cpu + t.publish_cpu
    return {
        "queues": len(queues),
        "agents": sum(len(m) for _, m in queues),
        "sessions": len(hub.sessions),
        "events": t.events,
        "seconds": round(elapsed, 2),
        "events_per_second": round(t.events / elapsed),
        "fanout_cpu_us_per_event": round(1e6 * t.fanout_cpu / t.events, 1),
        "figures_cpu_us_per_event": round(1e6 * figures_cpu / t.events, 1),
        "figures_observe_us_per_event": round(1e6 * t.observe_cpu / t.events, 1),
        "figures_publish_us_per_event": round(1e6 * t.publish_cpu / t.events, 1),
        "figures_computed": feed.computations,
        "figures_messages": t.figures_messages,
        "event_latency_ms": {
            "p50": round(1e3 * percentile(t.event_latency, 50), 2),
            "p99": round(1e3 * percentile(t.event_latency, 99), 2),
            "max": round(1e3 * max(t.event_latency), 2),
        },
        "figures_latency_ms": {
            "p50": round(1e3 * percentile(t.figures_latency, 50), 1),
            "p99": round(1e3 * percentile(t.figures_latency, 99), 1),
            "max": round(1e3 * max(t.figures_latency), 1),
            "mean": round(1e3 * statistics.fmean(t.figures_latency), 1),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rate", type=float, default=1000.0, help="call events per second")
    parser.add_argument("--watchers", type=int, default=20, help="supervisor sessions splitting the queues")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.seconds, args.rate, args.watchers)), indent=2))


if __name__ == "__main__":
    main()
