#!/usr/bin/env python3
"""Server fan-out benchmark: call events per second delivered to N clients, cti-tui vs a bare broadcast.

    python3 bench/fanout.py [--clients 1,10,100,1000] [--events 600]

For every N it runs, one after the other, each against a fresh server in its own subprocess:

* **cti-tui** -- ``python3 -m cti_tui serve`` on 127.0.0.1 (a free port, a temporary data dir, no demo
  traffic, no history). One supervisor login token opens N WebSocket sessions that each ``subscribe`` to
  ``user:1001``; one agent session (its own login) sets auto-answer and places calls to the demo's
  unreachable number, each call giving every subscriber INITIAL, ACCEPTED, CANCEL.
* **bare websockets** -- this file with ``--baseline-server``: ``websockets.asyncio.server.serve`` plus
  ``broadcast`` of the very event frames captured from the cti-tui run, as many per client.

Both are measured the same way: wall time from the first command (or broadcast) to the moment the last
client got its last event; events/s = N x events per client / that time. Clients are lean asyncio
protocols in this process (see bench/README.md for why). Everything talks to 127.0.0.1 only, is bounded in
count and time, and every subprocess is terminated by PID in a ``finally``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import resource
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
CALL_DESTINATION = "+12025550104"  # the demo's unreachable number: INITIAL, ACCEPTED, then CANCEL
EVENTS_PER_CALL = 3
FLOOD_FRAMES = 200  # the server cuts a connection sending more frames than this per second
CONNECT_PARALLEL = 64  # sessions being opened at once
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------------------------------
# A lean WebSocket client (RFC 6455, client side only, no extensions)
#
# websockets' own asyncio client costs tens of microseconds per received frame (a future, the
# assembler, UTF-8 decoding); with 1,000 sockets on the same two cores as the server that would
# measure the clients, not the servers. This protocol parses unmasked server frames straight from
# the receive buffer and only looks at the bytes it needs.
# --------------------------------------------------------------------------------------------------


def _frame(opcode: int, payload: bytes) -> bytes:
    """A masked client frame."""
    mask = os.urandom(4)
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    key = (mask * (n // 4 + 1))[:n]
    body = (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(n, "big")
    return head + mask + body


class LeanClient(asyncio.Protocol):
    """One WebSocket connection. Until ``counting`` is set every text frame is JSON-decoded and replies
    resolve ``request`` futures; after it, frames go to ``on_frame`` as raw bytes."""

    def __init__(self, path: str = "/") -> None:
        self.path = path
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.handshaken = False
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.pending: dict[Any, asyncio.Future[dict[str, Any]]] = {}
        self.early: list[dict[str, Any]] = []
        self.counting = False
        self.on_frame: Callable[[bytes], None] = lambda frame: None
        self.next_id = 0

    # transport side
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {self.path} HTTP/1.1\r\nHost: {HOST}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        transport.write(request.encode())  # type: ignore[attr-defined]

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(ConnectionError("closed before the handshake"))
        if not self.closed.done():
            self.closed.set_result(1006)
        for future in self.pending.values():
            if not future.done():
                future.set_exception(ConnectionError("connection lost"))

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        if not self.handshaken:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(buf[: buf.find(b"\r\n")])
            del buf[: end + 4]
            if b" 101 " not in status:
                self.opened.set_exception(ConnectionError(status.decode(errors="replace")))
                self.transport.close()  # type: ignore[union-attr]
                return
            self.handshaken = True
            self.opened.set_result(None)
        pos, size = 0, len(buf)
        on_frame = self.on_frame if self.counting else self._setup_frame
        while size - pos >= 2:
            b0, b1 = buf[pos], buf[pos + 1]
            n = b1 & 0x7F
            start = pos + 2
            if n == 126:
                if size - pos < 4:
                    break
                n = (buf[pos + 2] << 8) | buf[pos + 3]
                start = pos + 4
            elif n == 127:
                if size - pos < 10:
                    break
                n = int.from_bytes(buf[pos + 2 : pos + 10], "big")
                start = pos + 10
            if b1 & 0x80:  # a server never masks; be tolerant anyway
                start += 4
            if size < start + n:
                break
            opcode = b0 & 0x0F
            payload = bytes(buf[start : start + n])
            pos = start + n
            if opcode in (1, 2, 0):
                on_frame(payload)
            elif opcode == 9:  # ping
                self.transport.write(_frame(10, payload))  # type: ignore[union-attr]
            elif opcode == 8:  # close: answer and remember the code
                code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
                if not self.closed.done():
                    self.closed.set_result(code)
                with contextlib.suppress(Exception):
                    self.transport.write(_frame(8, payload[:2]))  # type: ignore[union-attr]
                    self.transport.close()  # type: ignore[union-attr]
        if pos:
            del buf[:pos]

    # setup: request/response
    def _setup_frame(self, payload: bytes) -> None:
        message = json.loads(payload)
        if message.get("type") == "reply" and message.get("id") in self.pending:
            future = self.pending.pop(message["id"])
            if not future.done():
                future.set_result(message)
        else:
            self.early.append(message)

    def send_json(self, message: dict[str, Any]) -> None:
        self.transport.write(_frame(1, json.dumps(message, separators=(",", ":")).encode()))  # type: ignore[union-attr]

    async def request(self, action: str, timeout: float = 15.0, **fields: Any) -> dict[str, Any]:
        self.next_id += 1
        future = asyncio.get_running_loop().create_future()
        self.pending[self.next_id] = future
        self.send_json({"id": self.next_id, "action": action, **fields})
        reply = await asyncio.wait_for(future, timeout)
        if not reply.get("ok"):
            raise RuntimeError(f"{action} refused: {reply}")
        return reply

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            with contextlib.suppress(Exception):
                self.transport.write(_frame(8, struct.pack("!H", 1000)))
            self.transport.close()


async def open_client(port: int, path: str) -> LeanClient:
    loop = asyncio.get_running_loop()
    _, client = await loop.create_connection(lambda: LeanClient(path), HOST, port)
    await asyncio.wait_for(client.opened, 15)
    return client


# --------------------------------------------------------------------------------------------------
# Counting what every client receives
# --------------------------------------------------------------------------------------------------

CALL_EVENT = b'{"type":"event"'
CALL_KEY = b'"call":{"id":"'
INITIAL = b'"name":"INITIAL"'


@dataclass
class Tally:
    """What one subscriber received once counting started."""

    target: int
    done: asyncio.Future[None]
    count: int = 0
    last: float = 0.0
    initial: list[tuple[int, float, bytes]] = field(default_factory=list)  # (frame index, time, call id)
    capture: list[bytes] | None = None

    def frame(self, payload: bytes) -> None:
        now = time.monotonic()
        if not payload.startswith(CALL_EVENT):
            return
        at = payload.find(CALL_KEY)
        if at < 0:
            return
        if INITIAL in payload:
            start = at + len(CALL_KEY)
            self.initial.append((self.count, now, payload[start : payload.index(b'"', start)]))
        if self.capture is not None:
            self.capture.append(payload)
        self.count += 1
        self.last = now
        if self.count >= self.target and not self.done.done():
            self.done.set_result(None)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return float("nan")


def peak_rss_mb(pid: int) -> float:
    """The peak resident set size of a process, in MiB (Linux /proc)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


@dataclass
class Result:
    side: str
    clients: int
    per_client: int
    delivered: int
    seconds: float
    lat_p50: float
    lat_p99: float
    server_cpu: float
    bench_cpu: float
    closed_early: int
    note: str = ""
    rss_mb: float = float("nan")

    @property
    def rate(self) -> float:
        return self.delivered / self.seconds if self.seconds > 0 else 0.0


async def wait_tallies(tallies: list[Tally], clients: list[LeanClient], timeout: float) -> int:
    """Wait for every subscriber to reach its target (or close, or the timeout); the number cut off early."""
    waits = [
        asyncio.ensure_future(asyncio.wait([t.done, c.closed], return_when=asyncio.FIRST_COMPLETED))
        for t, c in zip(tallies, clients, strict=True)
    ]
    await asyncio.wait(waits, timeout=timeout)
    for w in waits:
        w.cancel()
    return sum(1 for t in tallies if not t.done.done())


# --------------------------------------------------------------------------------------------------
# Subprocesses
# --------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


async def wait_port(proc: subprocess.Popen[bytes], port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before listening")
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(HOST, port), 1)
            writer.close()
            return
        except (TimeoutError, OSError):
            await asyncio.sleep(0.05)
    raise RuntimeError(f"server did not listen on {HOST}:{port} within {timeout:.0f} s")


def stop(proc: subprocess.Popen[bytes] | None, sig: int = signal.SIGTERM) -> None:
    """Stop one subprocess we started, by its PID (SIGTERM, or ``sig``); kill it if it does not stop.
    (uvicorn re-raises SIGTERM after its graceful shutdown, which would lose a cProfile dump: SIGINT
    ends ``cti-tui serve`` through KeyboardInterrupt instead, so ``--profile`` uses that.)"""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def login(port: int, email: str) -> str:
    import httpx

    reply = httpx.post(f"http://{HOST}:{port}/api/login", json={"email": email, "password": "demo"}, timeout=10)
    reply.raise_for_status()
    return reply.json()["token"]


# --------------------------------------------------------------------------------------------------
# cti-tui side
# --------------------------------------------------------------------------------------------------


@dataclass
class CtiRun:
    result: Result
    capture: list[bytes]


async def run_cti(n: int, calls: int, args: argparse.Namespace, capture: bool) -> CtiRun:
    port = free_port()
    data_dir = tempfile.mkdtemp(prefix="cti-bench-")
    log_path = Path(data_dir) / "server.log"
    env = dict(os.environ, CTI_TUI_DATA_DIR=data_dir, PYTHONPATH=str(REPO))
    command = [sys.executable]
    if args.profile:
        command += ["-m", "cProfile", "-o", str(Path(data_dir) / f"serve-{n}.prof")]
    command += [
        "-m",
        "cti_tui",
        "serve",
        "--host",
        HOST,
        "--port",
        str(port),
        "--demo-rate",
        "0",
        "--no-history",
        "--speed",
        str(args.speed),
        # 1,000 sessions open in about a second from one address: over the default rate (100/s, bursts of 200)
        "--new-connections-per-second",
        "100000",
    ]
    proc = None
    clients: list[LeanClient] = []
    with open(log_path, "wb") as log:
        try:
            proc = subprocess.Popen(
                command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
            await wait_port(proc, port)
            loop = asyncio.get_running_loop()
            supervisor = await loop.run_in_executor(None, login, port, "supervisor@demo.local")
            agent_token = await loop.run_in_executor(None, login, port, "agent@demo.local")

            # N subscriber sessions, all from the one supervisor token
            target = calls * EVENTS_PER_CALL
            tallies = [Tally(target, loop.create_future()) for _ in range(n)]
            if capture:
                tallies[0].capture = []
            gate = asyncio.Semaphore(CONNECT_PARALLEL)

            async def subscriber(tally: Tally) -> LeanClient:
                async with gate:
                    client = await open_client(port, "/ws")
                    clients.append(client)
                    await client.request("create_session", token=supervisor)
                    await client.request("subscribe", node="user:1001")
                    client.on_frame = tally.frame
                    client.counting = True
                    return client

            t_setup = time.monotonic()
            subscribers = await asyncio.wait_for(asyncio.gather(*(subscriber(t) for t in tallies)), 120)
            setup_seconds = time.monotonic() - t_setup

            # the agent(s): each its own session on the agent token, paced under the flood limit
            agents = []
            for _ in range(args.agents):
                client = await open_client(port, "/ws")
                clients.append(client)
                await client.request("create_session", token=agent_token)
                await client.request("set_auto_answer", enabled=True)
                agents.append(client)
            sent: dict[int, tuple[LeanClient, float]] = {}
            call_ids: dict[bytes, float] = {}
            refused: list[str] = []
            in_flight = {id(agent): asyncio.Semaphore(args.window) for agent in agents}

            def agent_frame(agent: LeanClient) -> Callable[[bytes], None]:
                def frame(payload: bytes) -> None:
                    if payload.startswith(b'{"type":"reply"'):
                        reply = json.loads(payload)
                        origin = sent.get(reply.get("id"))
                        if origin is None:
                            return
                        in_flight[id(agent)].release()
                        if reply.get("ok"):
                            call_ids[reply["result"].encode()] = origin[1]
                        else:
                            refused.append(reply.get("message", "?"))

                return frame

            for agent in agents:
                agent.on_frame = agent_frame(agent)
                agent.counting = True

            server_cpu0, bench_cpu0 = cpu_seconds(proc.pid), time.process_time()
            interval = 1.0 / args.rate  # never faster than this per connection, even to catch up
            t_start = time.monotonic()
            next_due = {id(agent): t_start for agent in agents}
            next_id = 1000
            for i in range(calls):
                agent = agents[i % len(agents)]
                await asyncio.wait_for(in_flight[id(agent)].acquire(), args.timeout)
                delay = next_due[id(agent)] - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                next_id += 1
                now = time.monotonic()
                next_due[id(agent)] = now + interval
                sent[next_id] = (agent, now)
                agent.send_json({"id": next_id, "action": "call", "destination": CALL_DESTINATION})
            cut = await wait_tallies(tallies, subscribers, args.timeout)
            t_end = max((t.last for t in tallies), default=t_start)
            server_cpu, bench_cpu = cpu_seconds(proc.pid) - server_cpu0, time.process_time() - bench_cpu0
            await asyncio.sleep(0.2)  # the last replies

            latencies = [when - call_ids[cid] for t in tallies for _, when, cid in t.initial if cid in call_ids]
            delivered = sum(t.count for t in tallies)
            closes = sum(1 for c in subscribers if c.closed.done())
            note = f"setup {setup_seconds:.1f} s"
            if refused:
                note += f"; {len(refused)} calls refused ({refused[0]})"
            if cut:
                note += f"; {cut} clients short of {target} events"
            if closes:
                codes = sorted({c.closed.result() for c in subscribers if c.closed.done()})
                note += f"; {closes} closed by the server (codes {codes})"
            result = Result(
                "cti-tui",
                n,
                target,
                delivered,
                t_end - t_start,
                percentile(latencies, 0.5),
                percentile(latencies, 0.99),
                server_cpu,
                bench_cpu,
                cut,
                note,
                peak_rss_mb(proc.pid),
            )
            return CtiRun(result, tallies[0].capture or [])
        except BaseException:
            if log_path.exists():
                sys.stderr.write(log_path.read_text(errors="replace")[-3000:])
            raise
        finally:
            for client in clients:
                client.close()
            await asyncio.sleep(0.1)
            stop(proc, signal.SIGINT if args.profile else signal.SIGTERM)
            if args.profile:
                print(f"  profile: {Path(data_dir) / f'serve-{n}.prof'}")
            else:
                shutil.rmtree(data_dir, ignore_errors=True)


# --------------------------------------------------------------------------------------------------
# Baseline: a bare websockets broadcast server (runs in a subprocess: fanout.py --baseline-server)
# --------------------------------------------------------------------------------------------------

BUFFER_HIGH = 32 * 1024 * 1024  # pause broadcasting while the write buffers hold more than this in all


async def baseline_server(port: int, payload_file: Path, expect: int) -> None:
    """Accept ``expect`` clients; on "go" (stdin) broadcast every payload, then print the broadcast times."""
    from websockets.asyncio.server import broadcast, serve

    payloads = json.loads(payload_file.read_text())
    connections: set[Any] = set()

    async def handler(ws: Any) -> None:
        connections.add(ws)
        try:
            await ws.wait_closed()
        finally:
            connections.discard(ws)

    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    async with serve(handler, HOST, port, compression=None, max_size=2**20):
        print("listening", flush=True)
        while True:
            line = (await reader.readline()).strip()
            if line != b"go":
                return  # "quit" or EOF
            deadline = time.monotonic() + 15
            while len(connections) < expect and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            conns = list(connections)
            times = array("d")
            for i, payload in enumerate(payloads):
                times.append(time.monotonic())
                broadcast(conns, payload)
                if i % 16 == 15:
                    await asyncio.sleep(0)
                    while sum(c.transport.get_write_buffer_size() for c in conns) > BUFFER_HIGH:
                        await asyncio.sleep(0.001)
            print(json.dumps({"connections": len(conns), "times": list(times)}), flush=True)


async def _baseline_round(
    proc: subprocess.Popen[bytes],
    n: int,
    payloads: list[bytes],
    subscribers: list[LeanClient],
    args: argparse.Namespace,
) -> Result:
    """One broadcast of every payload to the connected clients, measured."""
    loop = asyncio.get_running_loop()
    assert proc.stdin is not None and proc.stdout is not None
    tallies = [Tally(len(payloads), loop.create_future()) for _ in range(n)]
    for client, tally in zip(subscribers, tallies, strict=True):
        client.on_frame = tally.frame
    server_cpu0, bench_cpu0 = cpu_seconds(proc.pid), time.process_time()
    proc.stdin.write(b"go\n")
    proc.stdin.flush()
    cut = await wait_tallies(tallies, subscribers, args.timeout)
    server_cpu, bench_cpu = cpu_seconds(proc.pid) - server_cpu0, time.process_time() - bench_cpu0
    line = b""
    while not line.startswith(b"{"):  # skip the "listening" line
        line = await asyncio.wait_for(loop.run_in_executor(None, proc.stdout.readline), 30)
        if not line:
            raise RuntimeError("the baseline server exited without its report")
    report = json.loads(line)
    times = report["times"]
    t_start = times[0]
    t_end = max((t.last for t in tallies), default=t_start)
    latencies = [when - times[index] for t in tallies for index, when, _ in t.initial if index < len(times)]
    notes = []
    if report["connections"] != n:
        notes.append(f"server saw {report['connections']} connections")
    if cut:
        notes.append(f"{cut} clients short of {len(payloads)} events")
    return Result(
        "websockets",
        n,
        len(payloads),
        sum(t.count for t in tallies),
        t_end - t_start,
        percentile(latencies, 0.5),
        percentile(latencies, 0.99),
        server_cpu,
        bench_cpu,
        cut,
        "; ".join(notes),
    )


async def run_baseline(n: int, payloads: list[bytes], args: argparse.Namespace) -> Result:
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="ws-bench-")
    payload_file = Path(workdir) / "payloads.json"
    payload_file.write_text(json.dumps([p.decode() for p in payloads]))
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--baseline-server",
        "--port",
        str(port),
        "--payloads",
        str(payload_file),
        "--expect",
        str(n),
    ]
    proc = None
    clients: list[LeanClient] = []
    try:
        proc = subprocess.Popen(
            command, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        await wait_port(proc, port)
        gate = asyncio.Semaphore(CONNECT_PARALLEL)

        async def subscriber() -> LeanClient:
            async with gate:
                client = await open_client(port, "/")
                clients.append(client)
                client.counting = True
                return client

        subscribers = await asyncio.wait_for(asyncio.gather(*(subscriber() for _ in range(n))), 120)
        assert proc.stdin is not None and proc.stdout is not None
        # a burst to 1 or 10 clients lasts milliseconds: repeat it (same payloads, same clients) and keep
        # the median round, as long as the rounds stay short
        rounds: list[Result] = []
        spent = 0.0
        while len(rounds) < args.baseline_rounds and (not rounds or spent < 5.0):
            rounds.append(await _baseline_round(proc, n, payloads, subscribers, args))
            spent += rounds[-1].seconds
        rounds.sort(key=lambda r: r.rate)
        result = rounds[len(rounds) // 2]
        result.note = "; ".join(x for x in (f"median of {len(rounds)} rounds", result.note) if x)
        result.rss_mb = peak_rss_mb(proc.pid)
        result.closed_early = max(r.closed_early for r in rounds)
        return result
    finally:
        for client in clients:
            client.close()
        if proc is not None and proc.stdin is not None:
            with contextlib.suppress(OSError):
                proc.stdin.write(b"quit\n")
                proc.stdin.close()
        await asyncio.sleep(0.1)
        stop(proc)
        shutil.rmtree(workdir, ignore_errors=True)


# --------------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------------


def raise_fd_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))  # subprocesses inherit it


def machine() -> str:
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} CPUs ({model}), Python {sys.version.split()[0]}"


def per_cpu(result: Result) -> str:
    """Events delivered per second of server CPU: the ceiling were the server saturated (CPU time is counted
    in clock ticks of 10 ms, so short runs give rough figures)."""
    return f"{result.delivered / result.server_cpu:,.0f}" if result.server_cpu >= 0.05 else "-"


def ms(seconds: float) -> str:
    return "-" if seconds != seconds else f"{max(0.0, seconds) * 1000:.0f}"


async def bench(args: argparse.Namespace) -> int:
    counts = [int(x) for x in args.clients.split(",") if x.strip()]
    calls = max(1, args.events // EVENTS_PER_CALL)
    raise_fd_limit(2 * max(counts) + 256)
    print(
        f"fan-out bench: {calls} calls x {EVENTS_PER_CALL} events per client; {args.agents} agent "
        f"connection(s), each at most {args.rate:g} calls/s and {args.window} unanswered; PBX speed x{args.speed:g}"
    )
    print(f"machine: {machine()}; load average before: {os.getloadavg()[0]:.2f}")
    captured: list[bytes] = []
    rows: list[tuple[Result, Result]] = []
    for n in counts:
        cti = await run_cti(n, calls, args, capture=not captured)
        if not captured:
            captured = cti.capture
            if len(captured) < calls * EVENTS_PER_CALL:
                print("error: too few frames captured from cti-tui for the baseline", file=sys.stderr)
                return 1
        payloads = [captured[i % len(captured)] for i in range(calls * EVENTS_PER_CALL)]
        bare = await run_baseline(n, payloads, args)
        rows.append((cti.result, bare))
        for r in (cti.result, bare):
            print(
                f"  N={n:<5} {r.side:<10} {r.rate:>10,.0f} events/s  {r.delivered:>9,} events in "
                f"{r.seconds:6.2f} s  latency p50 {ms(r.lat_p50)} ms p99 {ms(r.lat_p99)} ms  "
                f"cpu server {r.server_cpu:5.1f} s bench {r.bench_cpu:5.1f} s  server peak RSS "
                f"{r.rss_mb:,.0f} MiB  {r.note}",
                flush=True,
            )

    size = sum(len(p) for p in captured) / max(1, len(captured))
    input_cap = args.agents * args.rate * EVENTS_PER_CALL
    print()
    print(
        f"events per client: {calls * EVENTS_PER_CALL}, mean frame {size:.0f} bytes; "
        f"cti-tui input cap {input_cap:,.0f} events/s per client (flood limit)"
    )
    header = (
        "N",
        "cti-tui ev/s",
        "websockets ev/s",
        "ratio",
        "cti-tui ev per server CPU-s",
        "websockets ev per server CPU-s",
        "cti-tui server CPU",
        "cti-tui p50/p99 ms",
        "websockets p50/p99 ms",
    )
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---:" for _ in header) + "|")
    for cti, bare in rows:
        ratio = bare.rate / cti.rate if cti.rate else float("inf")
        bound = " (input-bound)" if cti.rate >= 0.85 * input_cap * cti.clients else ""
        print(
            f"| {cti.clients:,} | {cti.rate:,.0f}{bound} | {bare.rate:,.0f} | {ratio:.1f}x | "
            f"{per_cpu(cti)} | {per_cpu(bare)} | {100 * cti.server_cpu / cti.seconds if cti.seconds else 0:.0f}% | "
            f"{ms(cti.lat_p50)} / {ms(cti.lat_p99)} | {ms(bare.lat_p50)} / {ms(bare.lat_p99)} |"
        )
    print(f"load average after: {os.getloadavg()[0]:.2f} (this bench keeps about 1.5 cores busy itself)")
    failed = any(r.closed_early for pair in rows for r in pair)
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", default="1,10,100,1000", help="comma-separated client counts")
    parser.add_argument("--events", type=int, default=600, help="call events each client receives (default 600)")
    parser.add_argument("--agents", type=int, default=1, help="agent connections placing calls (default 1)")
    parser.add_argument(
        "--rate",
        type=float,
        default=180.0,
        help=f"calls per second per agent connection (the server cuts above {FLOOD_FRAMES})",
    )
    parser.add_argument(
        "--window",
        type=int,
        default=2,
        help="calls one agent connection may have unanswered (default 2); the reply to a call "
        "follows its events in the agent's own queue, so this keeps the server's backlog bounded",
    )
    parser.add_argument(
        "--speed",
        type=float,
        default=50.0,
        help="PBX clock speed: the unreachable number's CANCEL comes 0.5 s / speed after the call",
    )
    parser.add_argument(
        "--baseline-rounds",
        type=int,
        default=5,
        help="bare-websockets bursts per N, median kept; no new round once 5 s were spent (default 5)",
    )
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the last event of a run")
    parser.add_argument("--profile", action="store_true", help="run cti-tui serve under cProfile (slower)")
    parser.add_argument("--baseline-server", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--payloads", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--expect", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline_server:
        asyncio.run(baseline_server(args.port, args.payloads, args.expect))
        return 0
    if args.rate >= FLOOD_FRAMES:
        parser.error(f"--rate must stay under the server's flood limit ({FLOOD_FRAMES} frames/s)")
    return asyncio.run(bench(args))


if __name__ == "__main__":
    sys.exit(main())
