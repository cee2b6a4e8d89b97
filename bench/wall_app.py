"""The app side of ``bench/wall.py``: the real cti-tui app in a real terminal (a tmux pane), logged in as the
supervisor, watching N lines, with a load generator and latency probes running inside its event loop.

Not meant to be run by hand: ``bench/wall.py`` starts it inside a detached tmux session and reads what it
writes to ``--run-dir``. Everything it needs from the product is a stable interface or plain screen text:

* the app is :func:`cti_tui.assembly.build_app` (the one ``cti-tui`` runs), on a ``RealClock``, with a
  generated organisation (:func:`cti_tui.pbx.bigorg.generate_org`, as ``--demo-org-size``) whose simulated
  world is off, so every call is one this script makes;
* it logs in through the login form (``#email``, ``#password``, submitted as Enter would) as
  ``supervisor@demo.local``; the N lines are subscribed with ``Connector.subscribe`` — by default inside
  the login (``Services.make_connector`` is wrapped so the connector subscribes right after it logged in and
  before the dashboard is built), or with ``--subscribe live`` from the running dashboard, in chunks, each
  waited for on screen (the screen's message queue drained), within ``--subscribe-budget`` seconds;
* load goes through the exchange's public operations (``inbound_call``, ``answer_leg``, ``hold``, ``resume``,
  ``remote_hangup``: the ones the simulated world uses), so every change travels
  exchange → embedded backend → connector → UI. Each operation is exactly one call event on a watched line;
* a probe is an inbound call on one of the first ``--probe-lines`` lines (subscribed first, so they are the
  top rows of the lines pane) whose caller name is a unique marker ``PRB00001``…; the time is taken with
  ``time.monotonic_ns()`` right before ``Exchange.inbound_call``. ``bench/wall.py`` polls the pane and writes
  ``SEEN <marker>`` to a FIFO when it sees one; the probe call is then hung up and its line reused;
* key presses (sent by ``bench/wall.py`` with ``tmux send-keys``) are timed where the action handler starts:
  the focused lines widget's ``action_cursor_down``/``action_cursor_up`` are wrapped on the instance, so
  this keeps working when the widget class changes as long as it has those actions.

With ``--real`` it runs ``cti-tui`` itself instead (``cti_tui.cli.main``: its config and data folders, the system
keyring, the collector paused until the login form, the generated organisation's simulated world running) and
only wraps the app that ``build_app`` returns, with the same lines, load, probes and keys: the memory figures
are then the real process's.

Output: ``app.jsonl`` in the run directory, one JSON object per line (phases, probes, keys, one stats record
per second); with ``--profile``, ``app.pstats`` (cProfile over the measured window).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import dataclasses
import functools
import json
import os
import random
import signal
import sys
import time
import traceback
import tracemalloc
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from textual.pilot import Pilot
from textual.widgets import Input

from cti_tui.assembly import build_app, wiring_of
from cti_tui.config import AppConfig
from cti_tui.core.clock import RealClock
from cti_tui.core.model import CallEvent
from cti_tui.credentials import CredentialStore, MemoryKeyring
from cti_tui.pbx.bigorg import USER_BASE, generate_org

EMAIL = "supervisor@demo.local"
PASSWORD = "demo"
NAMES = ("Ada Lovelace", "Grace Hopper", "Alan Turing", "Hedy Lamarr", "Katherine Johnson", "Edsger Dijkstra")


def now_ns() -> int:
    return time.monotonic_ns()


class JsonLog:
    """One JSON object per line, line-buffered (a few dozen small writes a second)."""

    def __init__(self, path: Path) -> None:
        self._file = path.open("a", buffering=1, encoding="utf-8")

    def write(self, kind: str, **fields: Any) -> None:
        fields = {"k": kind, "t": fields.pop("t", None) or now_ns(), **fields}
        self._file.write(json.dumps(fields, separators=(",", ":")) + "\n")

    def close(self) -> None:
        self._file.close()


class Load:
    """Call life cycles on the load lines: ring → answer → hold → resume → hang up, one step per operation.

    Up to ``concurrent`` calls are live; an operation starts a call when fewer are, else moves the oldest live
    call one step on (round robin). Every operation is one call event on one watched line.
    """

    def __init__(self, exchange: Any, extensions: list[str], concurrent: int, seed: int = 1) -> None:
        self.exchange = exchange
        self.idle = list(extensions)
        self.random = random.Random(seed)
        self.concurrent = max(1, min(concurrent, len(extensions)))
        self.live: deque[tuple[Any, int, str]] = deque()
        self.calls = 0
        self.failed = 0

    def op(self) -> None:
        if len(self.live) < self.concurrent and self.idle:
            i = self.random.randrange(len(self.idle))
            self.idle[i], self.idle[-1] = self.idle[-1], self.idle[i]
            extension = self.idle.pop()
            self.calls += 1
            number = f"+1202555{self.calls % 10_000:04d}"
            leg = self.exchange.inbound_call(number, extension, NAMES[self.calls % len(NAMES)])
            if leg is None:
                self.failed += 1
                self.idle.append(extension)
                return
            self.live.append((leg, 0, extension))
            return
        if not self.live:
            return
        leg, step, extension = self.live.popleft()
        if not getattr(leg, "live", True):  # ended by something else: free the line, count it
            self.failed += 1
            self.idle.append(extension)
            return
        if step == 0:
            self.exchange.answer_leg(leg)
        elif step == 1:
            self.exchange.hold(leg)
        elif step == 2:
            self.exchange.resume(leg)
        else:
            self.exchange.remote_hangup(leg.id)
            self.idle.append(extension)
            return
        self.live.append((leg, step + 1, extension))

    def stop(self) -> None:
        """Hang up whatever is still live (after the run; not timed)."""
        while self.live:
            leg, _, extension = self.live.popleft()
            if getattr(leg, "live", True):
                self.exchange.remote_hangup(leg.id)
            self.idle.append(extension)


class Probes:
    """Inbound calls with a unique caller name on the probe lines, one at a time per line; a probe's call is
    hung up once ``bench/wall.py`` reports it seen (or after ``timeout`` seconds), freeing its line."""

    def __init__(self, exchange: Any, extensions: list[str], log: JsonLog, timeout: float) -> None:
        self.exchange = exchange
        self.free = deque(extensions)
        self.log = log
        self.timeout_ns = int(timeout * 1e9)
        self.out: dict[str, tuple[Any, str, int]] = {}
        self.count = 0
        self.skipped = 0
        self.phase = "warmup"

    def inject(self) -> None:
        if not self.free:
            self.skipped += 1
            return
        extension = self.free.popleft()
        self.count += 1
        marker = f"PRB{self.count:05d}"
        t = now_ns()  # the event enters the engine here
        # the marker is the caller's number (shown first, unformatted: it does not start with "+") and its name
        leg = self.exchange.inbound_call(marker, extension, marker)
        done = now_ns()
        if leg is None:
            self.free.append(extension)
            self.log.write("probe_failed", m=marker)
            return
        self.out[marker] = (leg, extension, t)
        self.log.write("probe", t=t, m=marker, line=f"user:{extension}", ret=done, phase=self.phase)

    def seen(self, marker: str) -> None:
        entry = self.out.pop(marker, None)
        if entry is None:
            return
        leg, extension, _ = entry
        self.exchange.remote_hangup(leg.id)
        self.free.append(extension)

    def expire(self) -> None:
        limit = now_ns() - self.timeout_ns
        for marker, (_, _, t) in list(self.out.items()):
            if t < limit:
                self.seen(marker)
                self.log.write("probe_timeout", m=marker)

    def hang_up_all(self) -> None:
        for marker in list(self.out):
            self.seen(marker)


class SeenFifo:
    """Reads ``SEEN <marker>`` lines from bench/wall.py without blocking the loop (add_reader on a FIFO we
    also hold open for writing, so it never reads EOF)."""

    def __init__(self, path: Path, on_seen: Callable[[str], None]) -> None:
        self.read_fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        self.keep_fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        self.on_seen = on_seen
        self.buffer = b""
        asyncio.get_running_loop().add_reader(self.read_fd, self._readable)

    def _readable(self) -> None:
        try:
            data = os.read(self.read_fd, 65536)
        except BlockingIOError:
            return
        self.buffer += data
        *lines, self.buffer = self.buffer.split(b"\n")
        for line in lines:
            parts = line.decode("ascii", "replace").split()
            if len(parts) == 2 and parts[0] == "SEEN":
                self.on_seen(parts[1])

    def close(self) -> None:
        asyncio.get_running_loop().remove_reader(self.read_fd)
        os.close(self.read_fd)
        os.close(self.keep_fd)


def queue_depth(node: Any) -> int | None:
    """Messages waiting in a Textual node's queue (a private attribute: diagnostics only, None if gone)."""
    queue = getattr(node, "_message_queue", None)
    try:
        return int(queue.qsize()) if queue is not None else None
    except Exception:
        return None


async def drained(node: Any, timeout: float) -> bool:
    """Wait (bounded) until ``node`` has handled every message posted to it before this call."""
    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    node.call_later(lambda: future.done() or future.set_result(None))
    try:
        await asyncio.wait_for(future, timeout)
        return True
    except TimeoutError:
        return False


async def until(condition: Callable[[], bool], timeout: float, step: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        await asyncio.sleep(step)
    return condition()


def object_counts(exchange: Any) -> dict[str, int]:
    """Objects the cycle collector tracks, by type (not the ones ``gc.freeze`` put aside when the dashboard
    came up), plus a few counts read from private attributes, for this diagnosis only."""
    import gc

    counts: dict[str, int] = {}
    for obj in gc.get_objects():
        name = type(obj).__qualname__
        counts[name] = counts.get(name, 0) + 1
    counts["(gc.get_freeze_count)"] = gc.get_freeze_count()
    counts["(sys.getallocatedblocks)"] = sys.getallocatedblocks()
    counts["(exchange.legs)"] = len(exchange.legs)
    counts["(asyncio timers pending)"] = len(getattr(asyncio.get_running_loop(), "_scheduled", ()))
    return counts


def write_object_counts(path: Path, start: dict[str, int], end: dict[str, int]) -> None:
    rows = sorted(end, key=lambda name: -abs(end[name] - start.get(name, 0)))
    lines = [f"{'start':>10} {'end':>10} {'change':>10}  type"]
    lines += [f"{start.get(n, 0):10,} {end[n]:10,} {end[n] - start.get(n, 0):+10,}  {n}" for n in rows[:50]]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def wrap_key_actions(widget: Any, log: JsonLog) -> list[str]:
    """Log when the focused widget's cursor actions start (instance attributes shadow the class's)."""
    wrapped = []
    for name in ("action_cursor_down", "action_cursor_up"):
        original = getattr(widget, name, None)
        if not callable(original):
            continue

        def make(original: Callable[..., Any], name: str) -> Callable[..., Any]:
            @functools.wraps(original)
            def timed(*args: Any, **kwargs: Any) -> Any:
                log.write("key", action=name.removeprefix("action_"))
                return original(*args, **kwargs)

            return timed

        setattr(widget, name, make(original, name))
        wrapped.append(name)
    return wrapped


def log_key_arrivals(app: Any, log: JsonLog) -> None:
    """For each key: when the terminal driver made its event (``Event.time``, monotonic) and when the
    app's queue got to it, so a key's wait splits into the terminal's part and the event loop's."""
    from textual import events

    original = app.on_event

    async def on_event(event: Any) -> Any:
        if isinstance(event, events.Key) and not event.is_forwarded:
            log.write("key_in", made=int(event.time * 1e9), key=event.key)
        return await original(event)

    app.on_event = on_event


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--run-dir", type=Path, required=True)
    p.add_argument("--lines", type=int, default=1000)
    p.add_argument("--rate", type=float, default=1000.0, help="line changes per second (target)")
    p.add_argument("--seconds", type=float, default=30.0, help="measured window")
    p.add_argument("--warmup", type=float, default=3.0)
    p.add_argument("--concurrent", type=int, default=200, help="live load calls at once")
    p.add_argument("--probe-rate", type=float, default=20.0)
    p.add_argument("--probe-lines", type=int, default=6)
    p.add_argument("--probe-timeout", type=float, default=5.0)
    p.add_argument("--drain", type=float, default=10.0, help="seconds to wait for outstanding probes after")
    p.add_argument("--history", type=Path, default=None, help="history database (default: a new one)")
    p.add_argument("--subscribe", choices=("login", "live"), default="login")
    p.add_argument("--subscribe-budget", type=float, default=60.0)
    p.add_argument("--subscribe-chunk", type=int, default=100)
    p.add_argument("--setup-budget", type=float, default=150.0)
    p.add_argument("--bell", action="store_true", help="ring the bell on new calls (default: off)")
    p.add_argument("--no-flash", action="store_true")
    p.add_argument("--profile", action="store_true")
    p.add_argument("--world", action="store_true", help="keep the simulated world attached to the exchange")
    p.add_argument("--tracemalloc", action="store_true", help="where memory grew over the window (slow)")
    p.add_argument("--trace-frames", action="store_true", help="slow callbacks, refreshes, lines per widget")
    p.add_argument("--object-counts", action="store_true", help="objects by type at the window's start and end")
    p.add_argument("--gc-threshold", default="", help="gc.set_threshold(a, b, c) once the dashboard is up: a,b,c")
    p.add_argument(
        "--real",
        action="store_true",
        help="run `cti-tui` itself (cti_tui.cli.main: its config, keyring, history folder, simulated world)",
    )
    p.add_argument("--real-args", default="", help="more `cti-tui` arguments with --real (split on spaces)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    log = JsonLog(args.run_dir / "app.jsonl")
    import cti_tui

    log.write("start", pid=os.getpid(), package=str(Path(cti_tui.__file__).parent))
    try:
        return run(args, log)
    except BaseException as exc:
        log.write("crash", error=repr(exc), traceback=traceback.format_exc())
        raise
    finally:
        log.close()


def run(args: argparse.Namespace, log: JsonLog) -> int:
    t0 = now_ns()
    frames = None
    if args.trace_frames:  # patched before the app exists: its screens' timers hold the methods they bound
        from _frames import FrameTrace

        frames = FrameTrace()
    if args.real:
        return run_real(args, log, frames)
    size = max(args.lines, 1)
    org = generate_org(size, rate=0)
    org = dataclasses.replace(org, world=dataclasses.replace(org.world, inbound_per_minute=0.0, colleagues=False))
    nodes = [f"user:{USER_BASE + i}" for i in range(args.lines)]
    history = args.history or args.run_dir / "history.sqlite3"
    app = build_app(
        org=org,
        clock=RealClock(),
        traffic=False,
        history_path=history,
        credentials=CredentialStore(MemoryKeyring()),
        config=AppConfig(bell=args.bell, flash=not args.no_flash),
        email=EMAIL,
        remember_email=False,
        watched_path=args.run_dir / "watched-lines.json",
    )
    exchange = wiring_of(app).exchange  # built once the form is drawn, or when first asked for
    if not args.world:
        # Every call here is the bench's: with the (idle) simulated world attached, it schedules a colleague's
        # pick-up and next move and the caller's hang-up for each of them (cancelled when the call ends).
        exchange.world = None
    log.write("built", org_users=len(org.users), org_queues=len(org.queues), ms=(now_ns() - t0) / 1e6)
    app.run(auto_pilot=instrument(app, args, log, nodes, frames))
    log.write("exited")
    return 0


def run_real(args: argparse.Namespace, log: JsonLog, frames: Any) -> int:
    """``cti-tui`` as its command line starts it (``cti_tui.cli.main``): the user's config folder
    (``CTI_TUI_CONFIG_DIR``), the system keyring, the history in ``CTI_TUI_DATA_DIR``, the generated
    organisation with its simulated world running (colleagues answer, hold, transfer and hang up; outside
    callers at the demo's rate unless ``--real-args`` says ``--demo-rate``), the collector paused until the
    login form. The bench only wraps the app ``build_app`` returns: the same connector hook and pilot as
    above, the exchange taken once the dashboard is up."""
    from cti_tui import assembly, cli

    nodes = [f"user:{USER_BASE + i}" for i in range(args.lines)]
    build = assembly.build_app

    def build_app(**kwargs: Any) -> Any:
        app = build(**kwargs)
        log.write("built", real=True, ms=(now_ns() - t0) / 1e6)
        app.run = functools.partial(app.run, auto_pilot=instrument(app, args, log, nodes, frames))
        return app

    t0 = now_ns()
    assembly.build_app = build_app  # cli._app imports it from the module when it runs
    argv = ["--email", EMAIL, "--demo-org-size", str(max(args.lines, 1)), *args.real_args.split()]
    log.write("real", argv=argv)
    code = cli.main(argv)
    log.write("exited", code=code)
    return 0


def instrument(
    app: Any, args: argparse.Namespace, log: JsonLog, nodes: list[str], frames: Any
) -> Callable[[Pilot[None]], Any]:
    """Subscribe the lines inside the login (unless ``--subscribe live``); the pilot that logs in and drives
    the load."""
    subscribed: list[str] = []
    made: list[Any] = []
    make_connector = app.services.make_connector

    def make(kind: str, address: str | None, email: str) -> Any:
        connector = make_connector(kind, address, email)
        made.append(connector)
        if args.subscribe == "login":
            login = connector.login

            @functools.wraps(login)
            async def login_then_subscribe(*a: Any, **kw: Any) -> bool:
                ok = await login(*a, **kw)
                if ok:
                    start = now_ns()
                    for node in nodes:
                        if await connector.subscribe(node):
                            subscribed.append(node)
                    log.write("subscribed", mode="login", count=len(subscribed), ms=(now_ns() - start) / 1e6)
                return ok

            connector.login = login_then_subscribe
        return connector

    app.services.make_connector = make

    async def pilot_run(pilot: Pilot[None]) -> None:
        try:
            await drive(pilot, args, log, nodes, subscribed, made, frames)
        finally:
            pilot.app.exit()

    return pilot_run


async def drive(
    pilot: Pilot[None],
    args: argparse.Namespace,
    log: JsonLog,
    nodes: list[str],
    subscribed: list[str],
    made: list[Any],
    frames: Any = None,
) -> None:
    app = pilot.app
    setup_deadline = time.monotonic() + args.setup_budget

    def left() -> float:
        return max(0.1, setup_deadline - time.monotonic())

    if not await until(lambda: bool(app.screen.query("#password")), left()):
        log.write("setup_failed", why="no login form")
        return
    screen = app.screen
    screen.query_one("#email", Input).value = EMAIL
    password = screen.query_one("#password", Input)
    password.value = PASSWORD
    password.focus()
    t_submit = now_ns()
    log.write("login_submit", t=t_submit)
    await password.action_submit()

    def dashboard_up() -> bool:
        return bool(app.screen.query("#lines")) and getattr(app, "connector", None) is not None

    if not await until(dashboard_up, left()):
        log.write("setup_failed", why=f"no dashboard after {args.setup_budget:.0f} s", subscribed=len(subscribed))
        return
    dashboard = app.screen
    await drained(dashboard, left())
    log.write("dashboard", ms_since_submit=(now_ns() - t_submit) / 1e6)
    connector = app.connector
    assert connector is not None and connector in made

    if args.subscribe == "live":
        start = now_ns()
        chunks = []
        budget_end = time.monotonic() + args.subscribe_budget
        for i in range(0, len(nodes), args.subscribe_chunk):
            for node in nodes[i : i + args.subscribe_chunk]:
                if await connector.subscribe(node):
                    subscribed.append(node)
            connector_ms = (now_ns() - start) / 1e6
            ok = await drained(dashboard, max(0.1, budget_end - time.monotonic()))
            chunks.append((len(subscribed), connector_ms, (now_ns() - start) / 1e6))
            if not ok or time.monotonic() > budget_end:
                break
        log.write(
            "subscribed",
            mode="live",
            count=len(subscribed),
            wanted=len(nodes),
            ms=(now_ns() - start) / 1e6,
            chunks=chunks,
            complete=len(subscribed) == len(nodes),
        )
    await drained(dashboard, left())
    await pilot.pause()

    events = [0]

    def count(event: Any) -> None:
        if isinstance(event, CallEvent):
            events[0] += 1

    remove = connector.add_listener(count)

    lines_widget = next(iter(dashboard.query("#lines")), None)
    wrapped: list[str] = []
    if lines_widget is not None:
        lines_widget.focus()
        wrapped = wrap_key_actions(lines_widget, log)
        log_key_arrivals(app, log)
        await until(lambda: app.focused is lines_widget, 5.0)
    if args.gc_threshold:
        import gc

        gc.set_threshold(*(int(part) for part in args.gc_threshold.split(",")))
    log.write(
        "ready",
        subscribed=len(subscribed),
        focused=type(app.focused).__name__ if app.focused else None,
        key_actions=wrapped,
    )

    exchange = wiring_of(app).exchange  # (in --real, the app built it once the login form was drawn)
    watched = [n for n in nodes if n in set(subscribed)]
    extensions = [n.partition(":")[2] for n in watched]
    probe_exts = extensions[: args.probe_lines]
    load = Load(exchange, extensions[args.probe_lines :], args.concurrent)
    probes = Probes(exchange, probe_exts, log, args.probe_timeout)
    fifo = SeenFifo(args.run_dir / "seen.fifo", probes.seen)
    profiler = cProfile.Profile() if args.profile else None
    stop = asyncio.Event()
    totals = {"ops": 0, "dropped": 0}

    async def generate() -> None:
        """Open-loop pacing at --rate, catching up in bursts of at most 250 ms worth of operations; a
        generator more than 1 s behind drops the excess (counted) instead of bursting."""
        rate = args.rate
        burst = max(1, int(rate * 0.25))
        start = time.monotonic()
        done = dropped = 0
        second = {"ops": 0, "dropped": 0, "lag_max": 0.0, "ticks": 0}
        events_before = events[0]
        next_report = start + 1.0
        while not stop.is_set():
            now = time.monotonic()
            scheduled = start + (done + dropped) / rate
            lag = max(0.0, now - scheduled)
            due = int((now - start) * rate) - done - dropped
            if due > rate:  # more than a second behind: do not burst, drop
                skip = due - burst
                dropped += skip
                second["dropped"] += skip
                due = burst
            n = min(due, burst)
            for _ in range(n):
                load.op()
            done += n
            totals["ops"], totals["dropped"] = done, dropped
            second["ops"] += n
            second["ticks"] += 1
            second["lag_max"] = max(second["lag_max"], lag)
            if now >= next_report:
                log.write(
                    "sec",
                    ops=second["ops"],
                    dropped=second["dropped"],
                    lag_max_ms=round(second["lag_max"] * 1e3, 2),
                    ticks=second["ticks"],
                    events=events[0] - events_before,
                    live_calls=len(load.live),
                    probes_out=len(probes.out),
                    probes_skipped=probes.skipped,
                    screen_queue=queue_depth(app.screen),
                    app_queue=queue_depth(app),
                    phase=probes.phase,
                )
                events_before = events[0]
                second = {"ops": 0, "dropped": 0, "lag_max": 0.0, "ticks": 0}
                next_report += 1.0
            await asyncio.sleep(0.005)
        log.write("load_total", ops=done, dropped=dropped, calls=load.calls, failed=load.failed)

    async def probe() -> None:
        """Probes at jittered intervals (0.5-1.5 periods, seeded): at exactly 20 a second a probe would come
        every third frame of Textual's 60 Hz clock, always at the same point of it, and a whole run would
        measure one phase (p50 10 ms in one run, 22 ms in the next, same build)."""
        period = 1.0 / args.probe_rate
        jitter = random.Random(7)
        next_at = time.monotonic()
        while not stop.is_set():
            probes.expire()
            probes.inject()
            next_at = max(next_at + period * jitter.uniform(0.5, 1.5), time.monotonic())  # late: no burst
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    finished = False

    def finish_diagnostics() -> None:
        """Stop the profiler and the frame trace and write what they saw, once: the window's end and the
        SIGUSR1 below may both get here, whichever comes first."""
        nonlocal finished
        if finished:
            return
        finished = True
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(args.run_dir / "app.pstats")
        if frames is not None:
            frames.stop()
            frames.report(args.run_dir / "frames.txt")

    def close_window(signum: int, frame: object) -> None:
        """SIGUSR1 from bench/wall.py when its window ends: a Python signal handler runs between two bytecodes
        of whatever the main thread is doing, so the totals and the profile are taken on time even while the
        event loop is stuck in a long handler (and would run the end-of-window timer late)."""
        try:
            finish_diagnostics()
            log.write("window_closed", events=events[0], probes=probes.count, **totals)
            if tracemalloc.is_tracing() and memory_start:
                growth = tracemalloc.take_snapshot().compare_to(memory_start[0], "lineno")
                lines = [str(stat) for stat in growth[:40]]
                (args.run_dir / "tracemalloc.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
                tracemalloc.stop()
            if counts_start:
                write_object_counts(args.run_dir / "objects.txt", counts_start[0], object_counts(exchange))
        except Exception as exc:  # a signal may land in the middle of a log write
            print(f"window_closed: {exc!r}", file=sys.stderr)

    memory_start: list[tracemalloc.Snapshot] = []
    counts_start: list[dict[str, int]] = []
    signal.signal(signal.SIGUSR1, close_window)
    tasks = [asyncio.create_task(generate()), asyncio.create_task(probe())]
    try:
        log.write("warmup")
        await asyncio.sleep(args.warmup)
        probes.phase = "measure"
        if args.object_counts:
            counts_start.append(object_counts(exchange))
        if args.tracemalloc:
            tracemalloc.start()
            memory_start.append(tracemalloc.take_snapshot())
        if profiler is not None:
            profiler.enable()
        if frames is not None:
            frames.start()
        log.write("measure_start", events=events[0], probes=probes.count, **totals)
        await asyncio.sleep(args.seconds)
        log.write("measure_end", events=events[0], probes=probes.count, **totals)
        finish_diagnostics()
        probes.phase = "drain"
        stop.set()
        await asyncio.gather(*tasks)
        drain_end = time.monotonic() + args.drain
        while probes.out and time.monotonic() < drain_end:
            probes.expire()
            await asyncio.sleep(0.05)
        log.write("drained", probes_out=len(probes.out))
    finally:
        stop.set()
        for task in tasks:
            task.cancel()
        probes.hang_up_all()
        load.stop()
        fifo.close()
        remove()
        log.write("done")


if __name__ == "__main__":
    raise SystemExit(main())
