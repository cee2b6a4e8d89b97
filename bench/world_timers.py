"""The wall's calls through the exchange with the simulated world attached, on virtual time: CPU per call,
pending timers and legs still alive — the part of ``wall.py wall --real`` that the world's timers change.

    python3 bench/world_timers.py [--calls 20000] [--rounds 3]

A generated organisation of 10,000 agents, simulated colleagues on, no random callers; on each agent's line in
turn an inbound call rings, is answered, held, resumed and hung up at once (the wall's call life), 200 calls a
second of virtual time (the clock advances a second every 200 calls, firing whatever fell due); then 130 s
more, so every timer the world set has fired or been cancelled. Printed per round: CPU (``process_time``) per
call for the calls and for the 130 s after, and, right after the last call, the world's timers still pending
(``VirtualClock`` heap entries not cancelled) and the ``Leg`` objects alive (``gc.get_objects``). Run it in
two trees to compare them (``PYTHONPATH=<tree> python3 <tree>/bench/world_timers.py``); the VM's speed
moves by ±40 % from one minute to the next, so alternate them and compare the fastest rounds.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cti_tui.core.clock import VirtualClock
from cti_tui.pbx.bigorg import USER_BASE, generate_org
from cti_tui.pbx.exchange import Exchange
from cti_tui.pbx.world import SimulatedWorld

AGENTS = 10_000
PER_SECOND = 200


def one_round(calls: int) -> str:
    org = generate_org(AGENTS, rate=0)
    org = dataclasses.replace(org, world=dataclasses.replace(org.world, inbound_per_minute=0.0, colleagues=True))
    clock = VirtualClock()
    exchange = Exchange(org, clock)
    SimulatedWorld(exchange)
    started = time.process_time()
    for n in range(calls):
        leg = exchange.inbound_call(f"+1202555{n % 10_000:04d}", str(USER_BASE + n % AGENTS), "Caller")
        assert leg is not None
        exchange.answer_leg(leg)
        exchange.hold(leg)
        exchange.resume(leg)
        exchange.remote_hangup(leg.id)
        if n % PER_SECOND == PER_SECOND - 1:
            clock.advance(1.0)
    calls_done = time.process_time()
    pending = sum(1 for _, _, timer in clock._heap if not timer.cancelled)  # (private: a diagnosis only)
    legs = sum(1 for obj in gc.get_objects() if type(obj).__name__ == "Leg")
    clock.advance(130.0)
    after = time.process_time()
    return (
        f"calls {1e6 * (calls_done - started) / calls:.1f} µs/call, the 130 s after "
        f"{1e6 * (after - calls_done) / calls:.1f} µs/call; after the last call: {pending:,} timers pending, "
        f"{legs:,} Leg objects alive (the exchange keeps {len(exchange.legs):,})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"{args.calls:,} calls on {AGENTS:,} simulated colleagues' lines, {PER_SECOND}/s of virtual time")
    for i in range(args.rounds):
        print(f"round {i + 1}: {one_round(args.calls)}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
