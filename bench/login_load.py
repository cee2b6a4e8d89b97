#!/usr/bin/env python3
"""Logins (issue 14, item 4): does the answer's time tell who exists, and what a login storm costs the others.

    python3 bench/login_load.py [--rounds 300] [--agents 1000] [--concurrency 16] [--checkout DIR]

The server runs in its own process (this file with ``--serve``): ``make_server`` over the demo organisation plus
``--agents`` generated agents (all with the demo password, whose PBKDF2 hash has 20,000 rounds), no simulated
traffic, on a free port of 127.0.0.1. Its failed-login limits are raised out of the way (10^9 per account and per
address), or the timing phase would be locked out after 5 wrong passwords (a checkout from before the failure
counts gets its attempt limits raised the same way); the storm logs in with right passwords only.

1. **timing** -- ``--rounds`` rounds, one after the other, each of three logins in a random order: a known email
   with a wrong password, an unknown email, a known email with its password. Each round uses a fresh account and
   a fresh unknown email. The median and p90 of each kind, and the gap between known-wrong and unknown.
2. **storm** -- one agent holds a session and pings every 20 ms from its own process (bench/transport_attack.py's
   pinger) while ``--agents`` agents log in, ``--concurrency`` at a time, all from 127.0.0.1: wall time, logins
   per second, and the pings' p50/p99 during the storm against 3 s of quiet before it.

Loopback only; every count and wait is bounded; the server is stopped by its PID.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "tests" / "server")]

from transport_attack import Pinger, percentile  # noqa: E402
from wire_attacks import HOST, free_port  # noqa: E402

EMAIL_DOMAIN = "big.demo.local"  # cti_tui.pbx.bigorg's


def serve(port: int, agents: int) -> None:
    """The server process: the big demo organisation, failed-login limits out of the way."""
    import dataclasses

    from cti_tui.assembly import make_server, open_pbx
    from cti_tui.backends.registry import BackendOptions
    from cti_tui.core.clock import RealClock
    from cti_tui.pbx.bigorg import generate_org

    org = generate_org(agents, rate=0.0)
    org = dataclasses.replace(org, world=dataclasses.replace(org.world, colleagues=False))
    clock = RealClock()
    pbx = open_pbx("embedded", BackendOptions(clock=clock, org=org, traffic=False))
    try:
        parts = make_server(pbx, clock, host=HOST, port=port, failures_per_account=10**9, failures_per_address=10**9)
    except TypeError:  # a checkout from before the failure counts (48de427): it counted every attempt
        parts = make_server(pbx, clock, host=HOST, port=port, attempts_per_account=10**9, attempts_per_address=10**9)
    parts.server.run()


async def wait_port(proc: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + 30
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}")
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(HOST, port), 1)
            writer.close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not listen within 30 s") from None
            await asyncio.sleep(0.05)


def ms(values: list[float], q: float) -> str:
    return f"{1000 * percentile(values, q):6.2f}"


async def timing(http: object, rounds: int) -> list[str]:
    import httpx

    assert isinstance(http, httpx.AsyncClient)
    kinds = {"known, wrong password": [], "unknown email": [], "known, right password": []}
    expected = {"known, wrong password": 401, "unknown email": 401, "known, right password": 200}
    pick = random.Random(7)
    for n in range(rounds):
        attempts = [
            ("known, wrong password", {"email": f"agent{2 * n}@{EMAIL_DOMAIN}", "password": "guess"}),
            ("unknown email", {"email": f"nobody{n}@{EMAIL_DOMAIN}", "password": "guess"}),
            ("known, right password", {"email": f"agent{2 * n + 1}@{EMAIL_DOMAIN}", "password": "demo"}),
        ]
        pick.shuffle(attempts)
        for kind, body in attempts:
            started = time.perf_counter()
            answer = await http.post("/api/login", json=body)
            kinds[kind].append(time.perf_counter() - started)
            assert answer.status_code == expected[kind], (kind, answer.status_code, answer.text)
    lines = [f"timing: {rounds} rounds, sequential            median      p90   (ms)"]
    for kind, values in kinds.items():
        lines.append(f"  {kind:<24} {ms(values, 0.5)}   {ms(values, 0.9)}")
    gap = statistics.median(kinds["known, wrong password"]) - statistics.median(kinds["unknown email"])
    lines.append(f"  known-wrong minus unknown: {1000 * gap:+.2f} ms (median)")
    return lines


async def storm(url: str, agents: int, concurrency: int) -> list[str]:
    import httpx

    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        token = (await http.post("/api/login", json={"email": "agent@demo.local", "password": "demo"})).json()["token"]
    pings = Pinger(url, token)
    try:
        await pings.ready()
        await asyncio.sleep(3)
        quiet, _ = await pings.collect()
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        codes: list[int] = []
        async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http:
            queue: asyncio.Queue[int] = asyncio.Queue()
            for n in range(agents):
                queue.put_nowait(n)

            async def agent() -> None:
                while not queue.empty():
                    n = queue.get_nowait()
                    body = {"email": f"agent{n}@{EMAIL_DOMAIN}", "password": "demo"}
                    codes.append((await http.post("/api/login", json=body)).status_code)

            started = time.monotonic()
            await asyncio.wait_for(asyncio.gather(*(agent() for _ in range(concurrency))), 300)
            seconds = time.monotonic() - started
        during, lost = await pings.collect()
    finally:
        pings.stop()
    answers = {code: codes.count(code) for code in sorted(set(codes))}
    return [
        f"storm: {agents} logins from {HOST}, {concurrency} at a time: {seconds:.1f} s, "
        f"{agents / seconds:.0f} logins/s, answers {answers}",
        f"  pings quiet   p50 {ms(quiet, 0.5)}  p99 {ms(quiet, 0.99)} ms ({len(quiet)})",
        f"  pings storm   p50 {ms(during, 0.5)}  p99 {ms(during, 0.99)} ms ({len(during)}, {lost} lost)",
    ]


async def bench(args: argparse.Namespace) -> int:
    import httpx

    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(args.checkout))
    command = [sys.executable, __file__, "--serve", str(port), "--agents", str(args.agents)]
    proc = subprocess.Popen(command, cwd=args.checkout, env=env, stdin=subprocess.DEVNULL)
    try:
        await wait_port(proc, port)
        url = f"http://{HOST}:{port}"
        print(f"checkout {args.checkout}  agents {args.agents}  cpus {os.cpu_count()}")
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            for text in await timing(http, args.rounds):
                print(text, flush=True)
        for text in await storm(url, args.agents, args.concurrency):
            print(text, flush=True)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--checkout", default=str(REPO), help="the tree whose server is measured")
    parser.add_argument("--serve", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        with contextlib.suppress(KeyboardInterrupt):
            serve(args.serve, args.agents)
        return 0
    if not 1 <= args.rounds <= 5000 or not 1 <= args.agents <= 20000 or not 1 <= args.concurrency <= 256:
        parser.error("--rounds 1-5000, --agents 1-20000, --concurrency 1-256")
    if 2 * args.rounds > args.agents:
        parser.error("--agents must be at least twice --rounds (each round uses two fresh accounts)")
    args.checkout = Path(args.checkout).resolve()
    return asyncio.run(bench(args))


if __name__ == "__main__":
    sys.exit(main())
