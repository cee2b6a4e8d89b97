#!/usr/bin/env python3
"""Softphone dial benchmark: dial -> CONNECTED through cti-tui versus baresip driven directly, same run.

    python3 bench/softphone_dial.py [--calls 50]

Two headless baresips on 127.0.0.1, started here (``ManagedBaresip``, a free block of ports):

* **A**, the agent's phone (``answermode manual``), whose ``ctrl_tcp`` socket both methods drive in turn;
* **B**, the far end (``answermode auto``), which answers every INVITE at once.

For each call, one of two methods drives A:

* **cti-tui** -- a ``Connector(SoftphoneBackend(control=A, account=A's AOR, dial_domain=B's host:port))``,
  logged in. t0 just before ``await connector.call(B's user)``, t1 when the connector emits the call's
  CONNECTED event (in a listener); then ``connector.terminate`` and wait for HANGUP.
* **direct** -- a minimal ctrl_tcp client written here (a non-blocking socket, netstring JSON, TCP_NODELAY and
  TCP_QUICKACK): t0 just before sending ``dial sip:B``, t1 when A's CALL_ESTABLISHED event for that URI is
  parsed; then ``hangup`` and wait for CALL_CLOSED.

baresip takes one control client at a time (a new connection silently replaces the old one), so the methods
take turns in blocks of ``--block`` calls: the cti-tui connector logs in (attaches to A) for its block and logs
out (closes its socket) after it, then the direct client connects for its block, and so on; the method that
goes first alternates every round. ``--warmup`` calls per method are made first and not counted. Between calls
the bench drains a second raw connection to B's control socket until B reported the previous call closed, then
waits ``--gap`` seconds, so no call overlaps the next. Everything is on 127.0.0.1, every count and wait is
bounded (``--timeout`` for the whole run), and both baresips are stopped by PID in a ``finally``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import math
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from cti_tui.backends.softphone import ManagedBaresip, SoftphoneBackend  # noqa: E402
from cti_tui.core.model import CallEvent, CallStatus, Event  # noqa: E402
from cti_tui.engine.connector import Connector  # noqa: E402
from cti_tui.protocol.baresip import BaresipEvent  # noqa: E402

HOST = "127.0.0.1"
A_USER, B_USER = "1001", "1002"
BLOCK = 100  # ports per run: SIP A/B at base+0/+2 (baresip binds TLS on +1), ctrl at +10/+11, RTP at +40..+79
PORT_RANGE = (10000, 19999)  # below the ephemeral range (32768-60999) and the softphone tests' 20000-55000
CALL_TIMEOUT = 5.0  # one call's dial -> connected, or hang-up -> closed
QUICKACK = getattr(socket, "TCP_QUICKACK", None)


# --------------------------------------------------------------------------------------------------
# Ports and processes
# --------------------------------------------------------------------------------------------------


def _free(port: int) -> bool:
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        with socket.socket(socket.AF_INET, kind) as probe:
            try:
                probe.bind((HOST, port))
            except OSError:
                return False
    return True


def port_block() -> int:
    """A block of BLOCK ports whose SIP, control and RTP ports are free now."""
    low, high = PORT_RANGE
    blocks = (high - low + 1) // BLOCK
    start = (os.getpid() * 7) % blocks
    for i in range(blocks):
        base = low + ((start + i) % blocks) * BLOCK
        if all(_free(base + offset) for offset in (*range(0, 4), 10, 11, *range(40, 80))):
            return base
    raise RuntimeError(f"no free port block in {low}-{high} on {HOST}")


def phones(folder: Path, base: int) -> tuple[ManagedBaresip, ManagedBaresip]:
    a = ManagedBaresip(
        folder / "a",
        sip_port=base,
        ctrl_port=base + 10,
        user=A_USER,
        display_name="Agent",
        answermode="manual",
        rtp_ports=(base + 40, base + 59),
    )
    b = ManagedBaresip(
        folder / "b",
        sip_port=base + 2,
        ctrl_port=base + 11,
        user=B_USER,
        display_name="Far end",
        answermode="auto",
        rtp_ports=(base + 60, base + 79),
    )
    return a, b


# --------------------------------------------------------------------------------------------------
# A minimal ctrl_tcp client (nothing from cti-tui's codec or backend)
# --------------------------------------------------------------------------------------------------


def _quickack(sock: socket.socket) -> None:
    if QUICKACK is not None:  # Linux; the kernel clears it, so it is re-armed before every read
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, QUICKACK, 1)


class RawControl:
    """One ctrl_tcp connection: ``send`` a netstring JSON request, ``receive`` the next decoded message."""

    def __init__(self) -> None:
        self.sock: socket.socket | None = None
        self.buf = bytearray()
        self.tokens = 0

    async def connect(self, port: int, timeout: float = 2.0) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        _quickack(sock)
        try:
            await asyncio.wait_for(asyncio.get_running_loop().sock_connect(sock, (HOST, port)), timeout)
        except BaseException:
            sock.close()
            raise
        self.sock = sock
        self.buf.clear()

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    async def send(self, command: str, params: str | None = None) -> str:
        """Send one request (every field a string: a number crashes baresip 1.0.0); returns its token."""
        assert self.sock is not None
        self.tokens += 1
        token = f"d-{self.tokens}"
        body = {"command": command, "token": token}
        if params is not None:
            body["params"] = params
        payload = json.dumps(body).encode()
        await asyncio.get_running_loop().sock_sendall(self.sock, b"%d:%s," % (len(payload), payload))
        return token

    def _pop(self) -> dict[str, object] | None:
        colon = self.buf.find(b":")
        if colon < 0:
            return None
        length = int(self.buf[:colon])
        end = colon + 1 + length
        if len(self.buf) <= end:
            return None
        if self.buf[end] != ord(","):
            raise ConnectionError("bad netstring from baresip")
        payload = bytes(self.buf[colon + 1 : end])
        del self.buf[: end + 1]
        return json.loads(payload)

    async def receive(self, deadline: float) -> dict[str, object]:
        """The next message; TimeoutError at ``deadline`` (loop time)."""
        assert self.sock is not None
        loop = asyncio.get_running_loop()
        while True:
            message = self._pop()
            if message is not None:
                return message
            _quickack(self.sock)
            data = await asyncio.wait_for(loop.sock_recv(self.sock, 65536), max(0.0, deadline - loop.time()))
            if not data:
                raise ConnectionError("baresip closed the control connection")
            self.buf += data

    async def request(self, command: str, params: str | None = None, timeout: float = 2.0) -> dict[str, object]:
        """Send and wait for the response (events in between are dropped: use only when nothing happens)."""
        token = await self.send(command, params)
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            message = await self.receive(deadline)
            if message.get("response") and message.get("token") == token:
                return message


class FarEnd:
    """B's control socket, read only between calls: counts the calls B answered and closed.

    Not read while a call is being measured (the bench's loop does nothing for it then; B's events wait in
    the kernel's buffer), so it costs neither method anything."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.link = RawControl()
        self.established = 0
        self.closed = 0

    async def open(self) -> None:
        await self.link.connect(self.port)

    async def settle(self, calls: int, timeout: float = CALL_TIMEOUT) -> bool:
        """Drain B's events until it has closed ``calls`` calls in all; False on timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.closed < calls:
            try:
                message = await self.link.receive(deadline)
            except TimeoutError:
                return False
            if message.get("event") and message.get("class") == "call":
                if message.get("type") == "CALL_ESTABLISHED":
                    self.established += 1
                elif message.get("type") == "CALL_CLOSED":
                    self.closed += 1
        return True

    def close(self) -> None:
        self.link.close()


# --------------------------------------------------------------------------------------------------
# The two methods
# --------------------------------------------------------------------------------------------------


@dataclass
class Sample:
    method: str
    connect_ms: float  # dial -> CONNECTED / CALL_ESTABLISHED
    hangup_ms: float  # hang-up command -> HANGUP / CALL_CLOSED
    cpu_us: float  # this process's CPU time over dial -> connected
    returned_ms: float = math.nan  # cti-tui: when connector.call() returned
    raw_ms: float = math.nan  # cti-tui: when baresip's CALL_ESTABLISHED reached the backend's socket reader
    seq: int = 0  # the call's rank among all calls A made in this run (warm-up included)
    in_block: int = 0  # its rank in its block (0: first call after the method attached to A)


@dataclass
class Tally:
    samples: dict[str, list[Sample]] = field(default_factory=lambda: {"cti-tui": [], "direct": []})
    failures: list[str] = field(default_factory=list)
    placed: int = 0  # calls that reached B (for FarEnd.settle)


class CtiTuiMethod:
    """cti-tui's Connector on a SoftphoneBackend attached to A; logged in for one block at a time."""

    name = "cti-tui"

    def __init__(self, a: ManagedBaresip, b: ManagedBaresip) -> None:
        self.a, self.b = a, b
        self.connector: Connector | None = None
        self.connected_at: dict[str, float] = {}
        self.ended: dict[str, tuple[float, CallStatus]] = {}
        self.raw_established: dict[str, float] = {}
        self.changed = asyncio.Event()

    def _on_event(self, event: Event) -> None:
        now = time.perf_counter()
        if isinstance(event, CallEvent):
            call = event.call
            if call.status is CallStatus.CONNECTED and call.id not in self.connected_at:
                self.connected_at[call.id] = now
            elif call.ended and call.id not in self.ended:
                self.ended[call.id] = (now, call.status)
            self.changed.set()

    def _on_raw(self, event: BaresipEvent) -> None:
        if event.type == "CALL_ESTABLISHED" and event.call_id not in self.raw_established:
            self.raw_established[event.call_id] = time.perf_counter()

    async def begin(self) -> None:
        backend = SoftphoneBackend(
            control=self.a.control, account=self.a.aor, dial_domain=f"{HOST}:{self.b.sip_port}", reconnect=False
        )
        backend.add_event_listener(self._on_raw)
        connector = Connector(backend)
        connector.add_listener(self._on_event)
        if not await asyncio.wait_for(connector.login("agent@example.com", "any"), 10):
            raise RuntimeError("cti-tui could not log in to baresip A")
        self.connector = connector

    async def end(self) -> None:
        if self.connector is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.connector.logout(), 10)
            self.connector = None

    async def _until(self, predicate: Callable[[], bool], timeout: float) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), remaining)
        return True

    async def one_call(self) -> Sample | str:
        connector = self.connector
        assert connector is not None
        cpu0 = time.process_time()
        t0 = time.perf_counter()
        call_id = await connector.call(B_USER)
        returned = time.perf_counter()
        if call_id is None:
            return "connector.call() returned None"
        if not await self._until(lambda: call_id in self.connected_at or call_id in self.ended, CALL_TIMEOUT):
            return f"no CONNECTED for {call_id} within {CALL_TIMEOUT:g} s"
        if call_id not in self.connected_at:
            return f"call {call_id} ended {self.ended[call_id][1]} before CONNECTED"
        t1 = self.connected_at[call_id]
        cpu1 = time.process_time()
        h0 = time.perf_counter()
        if not await connector.terminate(call_id):
            return f"terminate({call_id}) refused"
        if not await self._until(lambda: call_id in self.ended, CALL_TIMEOUT):
            return f"no HANGUP for {call_id} within {CALL_TIMEOUT:g} s"
        h1, status = self.ended[call_id]
        if status is not CallStatus.HANGUP:
            return f"call {call_id} ended {status}, not HANGUP"
        raw = self.raw_established.get(call_id, math.nan)
        return Sample(
            self.name,
            (t1 - t0) * 1e3,
            (h1 - h0) * 1e3,
            (cpu1 - cpu0) * 1e6,
            (returned - t0) * 1e3,
            (raw - t0) * 1e3,
        )


class DirectMethod:
    """The raw ctrl_tcp client on A: ``dial``, CALL_ESTABLISHED, ``hangup``, CALL_CLOSED."""

    name = "direct"

    def __init__(self, a: ManagedBaresip, b: ManagedBaresip) -> None:
        self.a = a
        self.uri = f"sip:{B_USER}@{HOST}:{b.sip_port}"
        self.link = RawControl()
        self.finished: set[str] = set()  # ids of calls already closed: their late events are ignored

    async def begin(self) -> None:
        await self.link.connect(self.a.ctrl_port)

    async def end(self) -> None:
        self.link.close()

    async def one_call(self) -> Sample | str:
        link = self.link
        loop = asyncio.get_running_loop()
        deadline = loop.time() + CALL_TIMEOUT
        cpu0 = time.process_time()
        t0 = time.perf_counter()
        token = await link.send("dial", self.uri)
        answered = False
        call_id = ""
        t1 = math.nan
        try:
            while not (answered and call_id):
                message = await link.receive(deadline)
                if message.get("response") and message.get("token") == token:
                    if not message.get("ok"):
                        return f"dial refused: {message.get('data')!r}"
                    answered = True
                elif (
                    message.get("event")
                    and message.get("class") == "call"
                    and message.get("peeruri") == self.uri
                    and message.get("id") not in self.finished
                ):
                    if message.get("type") == "CALL_ESTABLISHED":
                        t1 = time.perf_counter()
                        call_id = str(message.get("id"))
                    elif message.get("type") == "CALL_CLOSED":
                        return f"call closed before it was established: {message.get('param')!r}"
        except TimeoutError:
            return f"no CALL_ESTABLISHED within {CALL_TIMEOUT:g} s"
        cpu1 = time.process_time()
        deadline = loop.time() + CALL_TIMEOUT
        h0 = time.perf_counter()
        token = await link.send("hangup")
        answered = closed = False
        h1 = math.nan
        try:
            while not (answered and closed):
                message = await link.receive(deadline)
                if message.get("response") and message.get("token") == token:
                    answered = True
                elif message.get("event") and message.get("id") == call_id and message.get("type") == "CALL_CLOSED":
                    h1 = time.perf_counter()
                    closed = True
                    self.finished.add(call_id)
        except TimeoutError:
            return f"no CALL_CLOSED for {call_id} within {CALL_TIMEOUT:g} s"
        return Sample(self.name, (t1 - t0) * 1e3, (h1 - h0) * 1e3, (cpu1 - cpu0) * 1e6)


# --------------------------------------------------------------------------------------------------
# Statistics and report
# --------------------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Nearest rank (so with 50 samples p99 is the largest)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def median_diff_ci(a: list[float], b: list[float], rounds: int = 2000) -> tuple[float, float]:
    """95 % bootstrap interval of median(a) - median(b) (fixed seed: the same data give the same interval)."""
    if len(a) < 2 or len(b) < 2:
        return math.nan, math.nan
    rng = random.Random(1)
    diffs = sorted(
        statistics.median(rng.choices(a, k=len(a))) - statistics.median(rng.choices(b, k=len(b))) for _ in range(rounds)
    )
    return diffs[int(0.025 * rounds)], diffs[int(0.975 * rounds) - 1]


def machine() -> str:
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    baresip = "baresip ?"
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run(["baresip", "-h"], capture_output=True, text=True, timeout=5, stdin=subprocess.DEVNULL)
        first = (out.stdout + out.stderr).splitlines()
        baresip = first[0].split(" Copyright")[0] if first else baresip
    return f"nproc {os.cpu_count()}, CPU {model!r}, Python {sys.version.split()[0]}, {baresip}"


def row(name: str, values: list[float]) -> str:
    if not values:
        return f"| {name} | 0 | - | - | - | - | - |"
    return (
        f"| {name} | {len(values)} | {percentile(values, 0.5):.2f} | {percentile(values, 0.9):.2f} | "
        f"{percentile(values, 0.99):.2f} | {max(values):.2f} | {min(values):.2f} |"
    )


def report(tally: Tally, args: argparse.Namespace, seconds: float, load0: float) -> None:
    cti, direct = tally.samples["cti-tui"], tally.samples["direct"]
    c_ms = [s.connect_ms for s in cti]
    d_ms = [s.connect_ms for s in direct]
    print()
    print(
        f"dial -> connected, ms ({args.calls} calls per method, blocks of {args.block}, alternating; "
        f"{args.warmup} warm-up calls each not counted)"
    )
    print("| method | calls | p50 | p90 | p99 | max | min |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    print(row("cti-tui (Connector + SoftphoneBackend)", c_ms))
    print(row("direct ctrl_tcp client", d_ms))
    if c_ms and d_ms:
        diff = statistics.median(c_ms) - statistics.median(d_ms)
        low, high = median_diff_ci(c_ms, d_ms)
        ratio = statistics.median(c_ms) / statistics.median(d_ms)
        print(
            f"overhead of cti-tui (difference of medians): {diff:+.2f} ms (95 % bootstrap CI {low:+.2f} .. "
            f"{high:+.2f} ms), x{ratio:.2f}; p90 difference {percentile(c_ms, 0.9) - percentile(d_ms, 0.9):+.2f} ms"
        )
    if cti:
        raw = [s.raw_ms for s in cti if not math.isnan(s.raw_ms)]
        lag = [s.connect_ms - s.raw_ms for s in cti if not math.isnan(s.raw_ms)]
        ret = [s.returned_ms for s in cti]
        before = sum(1 for s in cti if s.returned_ms > s.connect_ms)
        print(
            f"cti-tui, medians: baresip's CALL_ESTABLISHED read by the backend at {statistics.median(raw):.2f} ms; "
            f"CONNECTED emitted {statistics.median(lag) * 1e3:.0f} us after that; connector.call() returned at "
            f"{statistics.median(ret):.2f} ms ({before}/{len(cti)} calls connected before call() returned)"
        )
    for name, samples in (("cti-tui", cti), ("direct", direct)):
        if samples:
            hangup = [s.hangup_ms for s in samples]
            print(
                f"{name:>7}: hang-up -> HANGUP/CALL_CLOSED p50 {percentile(hangup, 0.5):.2f} ms "
                f"p90 {percentile(hangup, 0.9):.2f} ms; this process's CPU (user+sys) over "
                f"dial -> connected p50 {percentile([s.cpu_us for s in samples], 0.5):.0f} us"
            )
    if tally.failures:
        print(f"FAILURES ({len(tally.failures)}):")
        for failure in tally.failures[:10]:
            print(f"  {failure}")
    print(f"whole run {seconds:.1f} s; load average before {load0:.2f}, after {os.getloadavg()[0]:.2f}")


# --------------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------------


async def run_block(
    method: CtiTuiMethod | DirectMethod, count: int, far: FarEnd, tally: Tally, args: argparse.Namespace, keep: bool
) -> None:
    """``count`` calls with ``method`` (attached for the block only); samples kept if ``keep``."""
    await method.begin()
    try:
        for position in range(count):
            outcome = await method.one_call()
            tally.placed += 1  # B saw it (or will time out settling below)
            if isinstance(outcome, str):
                tally.failures.append(f"{method.name}: {outcome}")
                if len(tally.failures) > 5:
                    raise RuntimeError("too many failed calls")
            elif keep:
                outcome.seq, outcome.in_block = tally.placed, position
                tally.samples[method.name].append(outcome)
            if not await far.settle(tally.placed):
                tally.failures.append(f"{method.name}: B did not report the call closed within {CALL_TIMEOUT:g} s")
                tally.placed = far.closed
            await asyncio.sleep(args.gap)
    finally:
        await method.end()


async def bench(args: argparse.Namespace) -> int:
    print(f"softphone dial bench: {args.calls} calls per method; {machine()}")
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; load average before: {os.getloadavg()[0]:.2f}")
    load0 = os.getloadavg()[0]
    folder = Path(tempfile.mkdtemp(prefix="softphone-dial-"))
    a, b = phones(folder, port_block())
    far = FarEnd(b.ctrl_port)
    tally = Tally()
    started = time.monotonic()
    # Ctrl-C / SIGTERM: cancel the run once (a second signal is ignored), so the finally below stops both
    # baresips by PID (they run in their own sessions and would not get the terminal's signal)
    loop, main_task = asyncio.get_running_loop(), asyncio.current_task()
    assert main_task is not None

    def interrupt() -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, lambda: None)
        main_task.cancel()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, interrupt)
    ok = False
    try:
        await asyncio.gather(a.start(), b.start())
        await far.open()
        print(
            f"A {a.aor} (ctrl {a.ctrl_port}, PID {a.pid}); B {b.aor} answermode auto (ctrl {b.ctrl_port}, PID {b.pid})"
        )
        methods = (CtiTuiMethod(a, b), DirectMethod(a, b))

        async def rounds() -> None:
            for method in methods:
                await run_block(method, args.warmup, far, tally, args, keep=False)
            left = {m.name: args.calls for m in methods}
            turn = 0
            while any(left.values()):
                order = methods if turn % 2 == 0 else methods[::-1]
                for method in order:
                    count = min(args.block, left[method.name])
                    if count:
                        await run_block(method, count, far, tally, args, keep=True)
                        left[method.name] -= count
                turn += 1

        await asyncio.wait_for(rounds(), args.timeout)
        ok = True
    except TimeoutError:
        tally.failures.append(f"the run did not finish within --timeout {args.timeout:g} s")
    except Exception as exc:  # report what was measured, then fail
        tally.failures.append(f"aborted: {exc!r}")
    except asyncio.CancelledError:
        main_task.uncancel()
        tally.failures.append("interrupted")
    finally:
        far.close()
        for phone in (a, b):
            await phone.stop()
        for phone in (a, b):
            if phone.process is not None and phone.process.poll() is None:
                tally.failures.append(f"baresip PID {phone.pid} still running after stop()")
        if ok and not tally.failures and not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            print(f"baresip configs and logs kept in {folder}")
    if ok and not (far.established == far.closed == tally.placed):
        tally.failures.append(f"A placed {tally.placed} calls but B answered {far.established} and closed {far.closed}")
    report(tally, args, time.monotonic() - started, load0)
    print(f"A placed {tally.placed} calls (warm-up included); B answered {far.established} and closed {far.closed}")
    if args.json is not None:
        samples = [dataclasses.asdict(x) for side in tally.samples.values() for x in side]
        args.json.write_text(
            json.dumps(
                {
                    "machine": machine(),
                    "args": vars(args) | {"json": str(args.json)},
                    "samples": samples,
                    "failures": tally.failures,
                },
                indent=1,
            )
        )
        print(f"samples written to {args.json}")
    return 1 if tally.failures else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=50, help="measured calls per method (default 50)")
    parser.add_argument("--block", type=int, default=5, help="calls per method before the other takes over (default 5)")
    parser.add_argument("--warmup", type=int, default=3, help="unmeasured calls per method first (default 3)")
    parser.add_argument("--gap", type=float, default=0.02, help="seconds of quiet between calls (default 0.02)")
    parser.add_argument("--timeout", type=float, default=50.0, help="seconds for the whole run (default 50)")
    parser.add_argument("--keep", action="store_true", help="keep the baresip configs and logs")
    parser.add_argument("--json", type=Path, help="also write every sample (ms, order, rank in block) to this file")
    args = parser.parse_args()
    if args.calls < 1 or args.block < 1 or args.warmup < 0 or args.gap < 0:
        parser.error("--calls and --block must be >= 1, --warmup and --gap >= 0")
    if shutil.which("baresip") is None:
        parser.error("baresip is not installed (Debian: apt-get install baresip-core)")
    return asyncio.run(bench(args))


if __name__ == "__main__":
    sys.exit(main())
