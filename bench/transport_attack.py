#!/usr/bin/env python3
"""Hostile input before login (issue 14, item 2): the server's memory and a logged-in client's pings under attack.

    python3 bench/transport_attack.py [--runs 3] [--sockets 100] [--duration 10] [--phases quiet,frames,...]
                                      [--checkout DIR] [--abort-mib 1024]

Each run starts ``python -m cti_tui serve`` from ``--checkout`` (default: this one) in a subprocess on a free
port of 127.0.0.1, logs one agent in, and starts a **pinger** in its own process (a session sending ``ping``
every 20 ms and timing each reply). Then, one phase after the other:

1. **quiet** -- 3 s of pings alone;
2. **frames** -- ``--sockets`` unauthenticated WebSockets at once, half sending 4 deflate bombs each (16 MiB of
   spaces in ~16 KB, RSV1 set, permessage-deflate offered), half announcing a 16 MiB frame and streaming up to
   15 MiB of it -- the attack of tests/server/test_server_attack.py, from tests/server/wire_attacks.py;
3. **sustain** -- the same for ``--duration`` seconds (default 10): each attacker, once closed, is replaced
   by a new one, so that ``--sockets`` of them are at work all the time;
4. **bodies** -- 5 clients each POST a 100 MiB body to /api/login (Content-Length declared, streamed in 1 MiB
   pieces until the server answers or closes).

Reported per phase: ping p50/p99/max (ms) and count, the server's peak RSS (VmRSS every 10 ms), how the
attackers were closed, and how long the phase took. The server is killed by its PID if its RSS passes
``--abort-mib`` (so an old checkout can be measured without taking the machine down). Loopback only; every
count, byte and wait is bounded; every subprocess is stopped by its PID.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "tests" / "server")]

from wire_attacks import (  # noqa: E402
    HOST,
    AttackResult,
    Raw,
    Sampler,
    attack,
    compressed_attacker,
    oversized_attacker,
    rss_mib,
    serve_subprocess,
)

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return float("nan")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# --- the pinger (its own process, so that the attack's client side does not slow its clock) -------------------


async def pinger(url: str, token: str) -> None:
    """Open a session, then ping every 20 ms; on each stdin line print the round trips since the last one
    (JSON, seconds) and, on 'quit', stop."""
    import websockets
    from ws_helpers import Wire

    wire = await Wire.open(url)
    await wire.start(token)
    times: list[float] = []
    failures = 0
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    command = asyncio.ensure_future(reader.readline())
    print("ready", flush=True)
    while True:
        started = time.perf_counter()
        try:
            await wire.ping()
            times.append(time.perf_counter() - started)
        except (AssertionError, TimeoutError):
            failures += 1
        except websockets.ConnectionClosed:
            failures += 1
            await asyncio.sleep(0.02)  # the server is gone (killed past the RSS bound): keep answering stdin
        done, _ = await asyncio.wait([command], timeout=0.02)
        if done:
            line = command.result().strip()
            print(json.dumps({"times": times, "failures": failures}), flush=True)
            times, failures = [], 0
            if line in (b"quit", b""):
                break
            command = asyncio.ensure_future(reader.readline())
    with contextlib.suppress(Exception):
        await wire.close()


class Pinger:
    def __init__(self, url: str, token: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--pinger", url, token],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=REPO,
        )

    async def ready(self) -> None:
        assert self.proc.stdout is not None
        line = await asyncio.to_thread(self.proc.stdout.readline)
        assert line.strip() == b"ready", f"the pinger did not start ({self.proc.poll()}): {line!r}"

    async def collect(self) -> tuple[list[float], int]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(b"next\n")
        self.proc.stdin.flush()
        data = json.loads(await asyncio.to_thread(self.proc.stdout.readline))
        return data["times"], data["failures"]

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(OSError):
                assert self.proc.stdin is not None
                self.proc.stdin.write(b"quit\n")
                self.proc.stdin.close()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


# --- phases ----------------------------------------------------------------------------------------------------


async def post_huge_body(port: int, megabytes: int = 100) -> tuple[int | None, int]:
    """POST /api/login announcing ``megabytes`` of body: (status, body bytes sent before the answer). The head
    goes first and the answer is awaited 0.5 s (a server that refuses by Content-Length answers then; writing
    on into a closed connection would only turn its answer into a reset); then the body is streamed in 1 MiB
    pieces while the server reads it."""
    raw = await Raw.connect(port)
    sent = 0
    try:
        head = (
            f"POST /api/login HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {megabytes << 20}\r\n\r\n"
        )
        answer = asyncio.ensure_future(raw.response(timeout=60))
        with contextlib.suppress(ConnectionError):
            await raw.send(head.encode())
            await asyncio.wait([answer], timeout=0.5)
            piece = b" " * (1 << 20)
            for _ in range(megabytes):
                if answer.done():
                    break
                await raw.send(piece)
                sent += len(piece)
                await asyncio.sleep(0)
        try:
            status, _, _ = await answer
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError, ValueError, IndexError):
            return None, sent
        return status, sent
    finally:
        raw.close()


async def sustained_attack(port: int, sockets: int, seconds: float) -> AttackResult:
    """``sockets`` attackers at all times for ``seconds``: each one, once closed, comes back as a new one."""
    result = AttackResult()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds

    async def slot(n: int) -> None:
        while loop.time() < deadline:
            try:
                if n % 2:
                    await compressed_attacker(port, result, rounds=4)
                else:
                    await oversized_attacker(port, result, megabytes=15)
            except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError, IndexError):
                result.codes.append(None)

    started = time.monotonic()
    await asyncio.gather(*(slot(n) for n in range(sockets)))
    result.seconds = time.monotonic() - started
    return result


def line(name: str, pings: tuple[list[float], int], peak: float, seconds: float, cpu: float, note: str) -> str:
    times, failures = pings
    ms = [t * 1000 for t in times]
    busy = f"{100 * cpu / seconds:3.0f} %" if seconds >= 0.5 else "  - "  # too short to say
    return (
        f"  {name:<7} pings {len(ms):4d} (failed {failures})  p50 {percentile(ms, 0.5):6.1f}  "
        f"p99 {percentile(ms, 0.99):6.1f}  max {max(ms, default=float('nan')):7.1f} ms   "
        f"peak RSS {peak:6.1f} MiB   {seconds:5.1f} s, server CPU {busy}   {note}"
    )


def closed_note(result: AttackResult) -> str:
    codes = {str(code): result.codes.count(code) for code in sorted(set(result.codes), key=str)}
    return f"closed {codes}, {result.sent_bytes / 2**20:.0f} MiB sent"


async def one_run(args: argparse.Namespace, number: int) -> list[str]:
    lines = [f"run {number}"]
    with tempfile.TemporaryDirectory() as data_dir:
        async with serve_subprocess(Path(data_dir), checkout=args.checkout) as (proc, url):
            port = int(url.rsplit(":", 1)[1])
            import httpx

            async with httpx.AsyncClient(timeout=10) as http:
                reply = await http.post(f"{url}/api/login", json={"email": "agent@demo.local", "password": "demo"})
            pings = Pinger(url, reply.json()["token"])
            stop = asyncio.Event()
            sampler = Sampler(proc, abort_mib=args.abort_mib)
            sampling = asyncio.ensure_future(sampler.run(stop))
            try:
                await pings.ready()
                baseline = rss_mib(proc.pid)

                async def bodies() -> str:
                    outcomes = await asyncio.gather(*(post_huge_body(port) for _ in range(5)))
                    return "answers " + ", ".join(f"{s} after {b / 2**20:.0f} MiB" for s, b in outcomes)

                async def frames() -> str:
                    return closed_note(await asyncio.wait_for(attack(port, sockets=args.sockets), 120))

                async def sustain() -> str:
                    result = await asyncio.wait_for(sustained_attack(port, args.sockets, args.duration), 180)
                    return closed_note(result)

                phases = {"quiet": lambda: asyncio.sleep(3, ""), "frames": frames, "sustain": sustain, "bodies": bodies}
                for name in args.phases:
                    run = phases[name]
                    sampler.peak = 0.0
                    started, cpu = time.monotonic(), cpu_seconds(proc.pid)
                    note = await run()
                    seconds, cpu = time.monotonic() - started, cpu_seconds(proc.pid) - cpu
                    with contextlib.suppress(OSError, LookupError):  # a phase shorter than a sample
                        sampler.peak = max(sampler.peak, rss_mib(proc.pid))
                    if sampler.killed:
                        note += f"  KILLED past {args.abort_mib:.0f} MiB"
                    lines.append(line(name, await pings.collect(), sampler.peak, seconds, cpu, note))
                    if sampler.killed:
                        break
                lines.append(f"  server RSS at rest {baseline:.1f} MiB")
            finally:
                stop.set()
                await sampling
                pings.stop()
    return lines


async def bench(args: argparse.Namespace) -> int:
    args.checkout = Path(args.checkout).resolve()
    print(f"checkout {args.checkout}  sockets {args.sockets}  runs {args.runs}  abort at {args.abort_mib:.0f} MiB")
    for number in range(1, args.runs + 1):
        for text in await one_run(args, number):
            print(text, flush=True)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sockets", type=int, default=100)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of the sustained phase")
    parser.add_argument(
        "--phases", default="quiet,frames,sustain,bodies", help="which phases, in order (default: all four)"
    )
    parser.add_argument("--checkout", default=str(REPO), help="the tree whose `cti_tui serve` is attacked")
    parser.add_argument("--abort-mib", type=float, default=1024.0, help="kill the server past this RSS")
    parser.add_argument("--pinger", nargs=2, metavar=("URL", "TOKEN"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.pinger:
        asyncio.run(pinger(*args.pinger))
        return 0
    args.phases = args.phases.split(",")
    if not set(args.phases) <= {"quiet", "frames", "sustain", "bodies"}:
        parser.error("--phases: quiet, frames, sustain, bodies")
    if not 1 <= args.sockets <= 1000 or not 1 <= args.runs <= 20 or not 0 < args.duration <= 120:
        parser.error("--sockets must be 1-1000, --runs 1-20 and --duration 0-120")
    return asyncio.run(bench(args))


if __name__ == "__main__":
    sys.exit(main())
