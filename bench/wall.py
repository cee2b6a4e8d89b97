"""Event → screen latency, the supervisor wall at scale, and keys under load — in a real terminal (tmux).

    python3 bench/wall.py latency        # goal 1: 1,000 watched lines, 1,000 line changes/s, 30 s measured
    python3 bench/wall.py wall           # goals 2, 3, 5: 10,000 lines, 1,000 changes/s, 60 s, 1,000,000 history rows
    python3 bench/wall.py latency --quick    # smoke runs: small and short
    python3 bench/wall.py wall --quick

The real app (``bench/wall_app.py``: ``build_app``, the supervisor logged in through the login form, N lines
subscribed) runs in a detached 120×40 tmux session on a private tmux server, with a load generator and latency
probes inside its event loop. This process polls the pane with ``capture-pane`` over a tmux control-mode
client and takes the time a probe's marker first shows; in another 120×40 session a plain program prints a
marker when told to (the baseline, measured the same way in the same run). Keys go in with ``send-keys``.
CPU and memory come from ``/proc/<app pid>``. With ``--real`` the app is ``cti-tui`` as its command line starts it
(config, keyring, history folder, simulated world) under the same load. Every wait is bounded; the tmux server
(and with it the app and the baseline program) is killed in ``finally``. See bench/README.md for what each
figure means.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import itertools
import json
import math
import os
import platform
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

from _tmux import ControlClient, TmuxServer  # noqa: E402

WIDTH, HEIGHT = 120, 40
SUPERVISOR_LINE = "user:1100"  # supervisor@demo.local: the history pane shows this line's calls
MARKER = re.compile(rb"PRB\d{5,}")
BASE_MARKER = "BAS"
CLK_TCK = os.sysconf("SC_CLK_TCK")
GOALS = {
    "latency": "goal 1: event → screen p50 ≤ 20 ms, p99 ≤ 50 ms (1,000 lines, 1,000 events/s)",
    "wall": "goal 2: p99 ≤ 60 ms, no growing backlog, CPU ≤ 50 % · goal 3: keys p99 ≤ 10 ms · goal 5: RSS ≤ 100 MB",
}

DEFAULTS: dict[str, dict[str, Any]] = {
    "latency": {"lines": 1000, "rate": 1000.0, "seconds": 30.0, "history_rows": 0, "keys": 0.0},
    "wall": {"lines": 10000, "rate": 1000.0, "seconds": 60.0, "history_rows": 1_000_000, "keys": 5.0},
}
QUICK: dict[str, dict[str, Any]] = {
    "latency": {"lines": 200, "rate": 200.0, "seconds": 5.0, "warmup": 1.0, "history_rows": 0},
    "wall": {"lines": 1000, "rate": 300.0, "seconds": 6.0, "warmup": 1.0, "history_rows": 10_000},
}


# --- small helpers ------------------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float | None:
    """Nearest rank: with n samples, p99 is the ceil(0.99 n)-th smallest (the max when n < 100)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def summary(values: list[float]) -> dict[str, Any]:
    return {
        "n": len(values),
        "p50": percentile(values, 50),
        "p90": percentile(values, 90),
        "p99": percentile(values, 99),
        "max": max(values) if values else None,
    }


def fmt(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "-"
    return "unseen" if value == math.inf else f"{value:.{digits}f}"


def fmt_summary(s: dict[str, Any]) -> str:
    return f"p50 {fmt(s['p50'])} / p90 {fmt(s['p90'])} / p99 {fmt(s['p99'])} / max {fmt(s['max'])} ms (n={s['n']})"


def proc_cpu(pid: int) -> float | None:
    """utime + stime of ``pid`` in seconds (children not included)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_mem(pid: int) -> dict[str, float]:
    out: dict[str, float] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0]) / 1024  # MiB
    except OSError:
        pass
    return out


def memory_map(pid: int) -> dict[str, Any]:
    """Where the process's resident memory is, from ``/proc/<pid>/smaps``, in MiB: file-backed (code and
    shared libraries), the main malloc heap (``[heap]``), other threads' malloc arenas (glibc reserves each
    one as a 64 MiB-aligned region: a read-write anonymous mapping that starts on a 64 MiB boundary and,
    unless full, is followed by the rest of the region mapped without access), the rest of the anonymous
    memory (pymalloc's 1 MiB arenas, mmap'd large blocks, thread stacks), and the thread count."""
    out: dict[str, Any] = {}
    try:
        text = Path(f"/proc/{pid}/smaps").read_text()
        out["threads"] = int(re.search(r"^Threads:\s+(\d+)", Path(f"/proc/{pid}/status").read_text(), re.M).group(1))
    except (OSError, AttributeError):
        return out
    maps: list[list[Any]] = []  # [start, end, perms, name, rss kB]
    for line in text.splitlines():
        head = line.split()
        if head and "-" in head[0] and len(head) >= 5 and not head[0].endswith(":"):
            low, high = (int(part, 16) for part in head[0].split("-"))
            maps.append([low, high, head[1], head[5] if len(head) > 5 else "", 0])
        elif head and head[0] == "Rss:" and maps:
            maps[-1][4] = int(head[1])
    arena = 64 << 20
    kinds = {"file": 0, "heap": 0, "thread_arenas": 0, "other_anon": 0}
    for i, (low, high, perms, name, rss) in enumerate(maps):
        if name == "[heap]":
            kinds["heap"] += rss
        elif name.startswith("/"):
            kinds["file"] += rss
        elif not name and perms.startswith("rw") and low % arena == 0:
            after = maps[i + 1] if i + 1 < len(maps) else None
            reserved = after is not None and not after[3] and after[2].startswith("---") and after[0] == high
            if high - low == arena or (reserved and after is not None and after[1] == low + arena):
                kinds["thread_arenas"] += rss
            else:
                kinds["other_anon"] += rss
        else:
            kinds["other_anon"] += rss
    out.update({k: round(v / 1024, 1) for k, v in kinds.items()})
    return out


def alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def calibration_ms() -> float:
    """The VM's speed now: a fixed pure-Python loop, fastest of three. On this shared VM it moves by up to ~40 %
    from one minute to the next with nothing else running; a run's figures scale with it."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        total = 0
        for i in range(1_000_000):
            total += i
        best = min(best, (time.perf_counter() - started) * 1000)
    return best


def machine() -> dict[str, Any]:
    cpu = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = "?"
    with contextlib.suppress(OSError):
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kb / 1024 / 1024:.0f} GiB"
    commit = "not a git checkout"
    with contextlib.suppress(Exception):
        commit = (
            subprocess.run(
                ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5
            ).stdout.strip()
            or commit
        )
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
        if dirty:
            commit += f" (+{len(dirty.splitlines())} modified files)"
    tmux = subprocess.run(["tmux", "-V"], capture_output=True, text=True).stdout.strip()
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram": mem,
        "python": platform.python_version(),
        "tmux": tmux,
        "kernel": platform.release(),
        "commit": commit,
        "loadavg_before": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "calibration_ms_before": round(calibration_ms(), 1),
    }


# --- the history file (goal 5) -------------------------------------------------------------------------------


def cached_history(rows: int, cache_dir: Path) -> Path:
    """A history file with ``rows`` ended calls of the supervisor's own line, built once and kept.

    The schema comes from ``HistoryStore`` itself (so the search index and its triggers are the real ones); the
    rows go in with one ``executemany`` per 50,000, filling the columns by name.
    """
    sys.path.insert(0, str(ROOT))
    from cti_tui.store.history import SCHEMA_VERSION, HistoryStore

    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / f"wall-history-{rows}-{SUPERVISOR_LINE.replace(':', '')}-schema{SCHEMA_VERSION}.sqlite3"
    if path.exists():
        return path
    partial = path.with_suffix(".partial")
    for leftover in cache_dir.glob(partial.name + "*"):
        leftover.unlink()
    started = time.monotonic()
    HistoryStore(partial).close()
    conn = sqlite3.connect(partial, isolation_level=None)
    columns = [row[1] for row in conn.execute("PRAGMA table_info(calls)") if row[1] != "row_id"]
    rng = random.Random(5)
    newest = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    first = newest - timedelta(seconds=30 * max(rows - 1, 0))

    def iso(moment: datetime | None) -> str | None:
        return None if moment is None else moment.isoformat(timespec="microseconds").replace("+00:00", "Z")

    def row(i: int) -> tuple[Any, ...]:
        setup = first + timedelta(seconds=30 * i)
        inbound = rng.random() < 0.6
        answered = rng.random() < 0.8
        party = f"+1202{rng.randrange(10**7):07d}"
        name = f"Caller {i}"
        me, my_name = SUPERVISOR_LINE.partition(":")[2], "Sam Supervisor"
        connect = setup + timedelta(seconds=rng.uniform(1, 20)) if answered else None
        release = connect + timedelta(seconds=rng.uniform(5, 600)) if connect else setup + timedelta(seconds=25)
        values = {
            "id": f"wall-{i:07d}",
            "owner": SUPERVISOR_LINE,
            "direction": "INBOUND" if inbound else "OUTBOUND",
            "source": party if inbound else me,
            "source_name": name if inbound else my_name,
            "destination": me if inbound else party,
            "destination_name": my_name if inbound else name,
            "line": SUPERVISOR_LINE,
            "cause": "normal" if answered else ("no_answer" if inbound else "busy"),
            "outcome": "answered" if answered else ("missed" if inbound else "cancelled"),
            "setup_at": iso(setup),
            "connect_at": iso(connect),
            "release_at": iso(release),
            "ringing_seconds": ((connect or release) - setup).total_seconds(),
            "talk_seconds": (release - connect).total_seconds() if connect else 0.0,
            "status": "HANGUP" if answered or not inbound else "CANCEL",
            "source_digits": "",
            "destination_digits": "",
        }
        return tuple(values[c] for c in columns)

    insert = f"INSERT INTO calls ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
    batch = 50_000
    for start in range(0, rows, batch):
        conn.execute("BEGIN")
        conn.executemany(insert, (row(i) for i in range(start, min(rows, start + batch))))
        conn.execute("COMMIT")
        print(
            f"  building {path.name}: {min(rows, start + batch):,}/{rows:,} rows, {time.monotonic() - started:.0f} s",
            file=sys.stderr,
            flush=True,
        )
    conn.close()
    HistoryStore(partial).close()  # the store accepts it (schema version, integrity)
    os.replace(partial, path)
    for suffix in ("-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            Path(str(partial) + suffix).unlink()
    print(f"  built in {time.monotonic() - started:.0f} s: {path.stat().st_size / 1e6:.0f} MB", file=sys.stderr)
    return path


# --- the run -------------------------------------------------------------------------------------------------


@dataclass
class Run:
    """Everything the poll loop records (times are time.monotonic_ns(), comparable across processes)."""

    phases: dict[str, dict[str, Any]] = field(default_factory=dict)
    app_records: list[dict[str, Any]] = field(default_factory=list)
    seen: dict[str, tuple[int, int]] = field(default_factory=dict)  # marker -> (first seen ns, screen row)
    base_probes: list[tuple[str, int, int | None]] = field(default_factory=list)  # (phase, trigger, seen)
    keys_sent: list[tuple[str, int]] = field(default_factory=list)
    key_handled: list[tuple[str, int]] = field(default_factory=list)
    key_arrived: list[tuple[int, int]] = field(default_factory=list)  # (made in the driver, taken by the app)
    polls: list[tuple[int, int]] = field(default_factory=list)  # (request ns, answer ns) of app captures
    samples: list[dict[str, Any]] = field(default_factory=list)  # once a second: cpu, rss of app and tmux
    captures: dict[str, list[str]] = field(default_factory=dict)
    memory: dict[str, dict[str, Any]] = field(default_factory=dict)  # memory_map() when ready and at the end
    notes: list[str] = field(default_factory=list)
    pid: int | None = None


class LogTail:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd: int | None = None
        self.buffer = b""

    def read(self) -> list[dict[str, Any]]:
        if self.fd is None:
            try:
                self.fd = os.open(self.path, os.O_RDONLY)
            except FileNotFoundError:
                return []
        chunks = []
        while chunk := os.read(self.fd, 1 << 16):
            chunks.append(chunk)
        if not chunks:
            return []
        self.buffer += b"".join(chunks)
        *lines, self.buffer = self.buffer.split(b"\n")
        return [json.loads(line) for line in lines if line.strip()]

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)


def open_fifo_writer(path: Path, timeout: float) -> int | None:
    """A non-blocking writer on a FIFO, once a reader has it open (ENXIO until then)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            return os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno != errno.ENXIO:
                raise
        time.sleep(0.01)
    return None


def print_program(fifo: str) -> int:
    """The baseline: a plain program that prints each line it is sent, at once."""
    with open(fifo, "rb", buffering=0) as source:
        for line in iter(source.readline, b""):
            sys.stdout.write(line.decode())
            sys.stdout.flush()
    return 0


def app_command(args: argparse.Namespace, run_dir: Path, history: Path | None) -> list[str]:
    command = [
        sys.executable,
        str(BENCH / "wall_app.py"),
        "--run-dir", str(run_dir),
        "--lines", str(args.lines),
        "--rate", str(args.rate),
        "--seconds", str(args.seconds),
        "--warmup", str(args.warmup),
        "--concurrent", str(args.concurrent),
        "--probe-rate", str(args.probe_rate),
        "--probe-lines", str(args.probe_lines),
        "--probe-timeout", str(args.probe_timeout),
        "--drain", str(args.drain),
        "--subscribe", args.subscribe,
        "--subscribe-budget", str(args.subscribe_budget),
        "--setup-budget", str(args.setup_budget),
    ]  # fmt: skip
    if args.real:  # the history is where `cti-tui` looks for it: CTI_TUI_DATA_DIR (main() put it there)
        command.append("--real")
        if args.real_args:
            command += ["--real-args", args.real_args]
    elif history is not None:
        command += ["--history", str(history)]
    for flag in ("profile", "bell", "no_flash", "world", "tracemalloc", "trace_frames", "object_counts"):
        if getattr(args, flag):
            command.append("--" + flag.replace("_", "-"))
    if args.gc_threshold:
        command += ["--gc-threshold", args.gc_threshold]
    return command


def measure(args: argparse.Namespace, run_dir: Path, history: Path | None) -> Run:
    run = Run()
    for name in ("seen.fifo", "base.fifo"):
        os.mkfifo(run_dir / name)
    server = TmuxServer(f"cti-wall-{os.getpid()}")
    control: ControlClient | None = None
    tail = LogTail(run_dir / "app.jsonl")
    seen_fd: int | None = None
    base_fd: int | None = None
    pending_seen: list[bytes] = []
    try:
        env = {"COLORTERM": "truecolor", "LANG": os.environ.get("LANG", "C.UTF-8")}
        server.new_session("ctl", ["sleep", "86400"], WIDTH, HEIGHT, env)
        server.new_session(
            "base", [sys.executable, str(Path(__file__).resolve()), "_print", str(run_dir / "base.fifo")],
            WIDTH, HEIGHT, env,
        )  # fmt: skip
        control = ControlClient(server, "ctl")
        base_fd = open_fifo_writer(run_dir / "base.fifo", 10)
        if base_fd is None:
            run.notes.append("the baseline program did not open its FIFO")
        tmux_pid = server.server_pid()

        def base_probe(phase: str, n: int) -> None:
            """Trigger the print program and poll its pane until the marker shows (bounded, 1 s)."""
            marker = f"{BASE_MARKER}{n:05d}"
            t = time.monotonic_ns()
            os.write(base_fd, marker.encode() + b"\n")  # type: ignore[arg-type]
            end = t + 1_000_000_000
            while time.monotonic_ns() < end:
                poll_start = time.monotonic()
                screen = control.capture("base")  # type: ignore[union-attr]
                if any(marker in line for line in screen):
                    run.base_probes.append((phase, t, time.monotonic_ns()))
                    return
                time.sleep(max(0.0, args.poll_ms / 1000 - (time.monotonic() - poll_start)))  # the app's period
            run.base_probes.append((phase, t, None))

        # the baseline on an idle machine (before the app exists)
        base_n = 0
        if base_fd is not None:
            for _ in range(args.baseline_idle):
                base_n += 1
                base_probe("idle", base_n)
                time.sleep(0.03)

        app_env = {
            **env,
            "CTI_TUI_DATA_DIR": str(run_dir / "data"),
            "CTI_TUI_CONFIG_DIR": str(run_dir / "config"),
            "PYTHONPATH": str(ROOT),
        }
        server.new_session("app", app_command(args, run_dir, history), WIDTH, HEIGHT, app_env)
        size = server.pane_size("app")
        if size != (WIDTH, HEIGHT):
            run.notes.append(f"app pane is {size[0]}x{size[1]}, not {WIDTH}x{HEIGHT}")
        started = time.monotonic()
        deadline = started + args.setup_budget + 30
        poll_period = args.poll_ms / 1000
        next_sample = 0.0
        next_key = 0.0
        key_out: tuple[str, int] | None = None
        key_toggle = 0
        key_jitter = random.Random(11)
        next_base = 0.0
        base_out: tuple[str, int] | None = None
        measuring = False
        window_end = middle = math.inf
        finished_at: float | None = None
        last_screen: list[str] = []

        def sample(tag: str = "") -> None:
            if run.pid is None:
                return
            record = {
                "t": time.monotonic_ns(),
                "tag": tag,
                "cpu": proc_cpu(run.pid),
                **proc_mem(run.pid),
                "tmux_cpu": proc_cpu(tmux_pid) if tmux_pid else None,
                "self_cpu": sum(os.times()[:2]),
            }
            run.samples.append(record)

        def close_window() -> None:
            """The window ends when the app says so or ``--seconds`` after it began, whichever is first (an app
            whose loop is starved runs its own end-of-window timer late)."""
            nonlocal measuring, deadline
            measuring = False
            sample("measure_end")
            if run.pid is not None:
                run.memory["end"] = memory_map(run.pid)
            if run.pid is not None and alive(run.pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(run.pid, signal.SIGUSR1)  # the app logs its totals (and dumps the profile) now
            deadline = min(deadline, time.monotonic() + args.drain + 20)

        while True:
            loop_start = time.monotonic()
            if measuring and loop_start >= window_end:
                close_window()
            if loop_start > deadline:
                run.notes.append(f"stopped by the time limit ({loop_start - started:.0f} s after the app started)")
                break
            # 1. the app's pane
            t0 = time.monotonic_ns()
            screen = control.capture("app")
            t1 = time.monotonic_ns()
            run.polls.append((t0, t1))
            last_screen = screen
            if time.monotonic() >= middle:
                run.captures["middle"] = list(screen)
                middle = math.inf
            if measuring or seen_fd is not None:
                blob = "\n".join(screen).encode()
                if b"PRB" in blob:
                    for row, line in enumerate(screen):
                        for match in MARKER.finditer(line.encode()):
                            marker = match.group().decode()
                            if marker not in run.seen:
                                run.seen[marker] = (t1, row)
                                pending_seen.append(f"SEEN {marker}\n".encode())
                                if measuring and "measure" not in run.captures:
                                    run.captures["measure"] = list(screen)
            if seen_fd is not None and pending_seen:
                data = b"".join(pending_seen)
                try:
                    written = os.write(seen_fd, data)
                    pending_seen = [data[written:]] if written < len(data) else []
                except BlockingIOError:
                    pass
            # 2. what the app logged
            for record in tail.read():
                kind = record["k"]
                run.app_records.append(record)
                if kind == "key":
                    run.key_handled.append((record["action"], record["t"]))
                elif kind == "key_in":
                    run.key_arrived.append((record["made"], record["t"]))
                elif kind not in ("probe", "sec", "probe_timeout"):
                    run.phases.setdefault(kind, record)
                if kind in ("ready", "measure_start"):
                    run.captures[kind] = list(screen)
                if kind == "start":
                    run.pid = record["pid"]
                    sample("start")
                elif kind == "ready":
                    if run.pid is not None:
                        run.memory["ready"] = memory_map(run.pid)
                    seen_fd = open_fifo_writer(run_dir / "seen.fifo", 10)
                    deadline = time.monotonic() + args.warmup + args.seconds + args.drain + 60
                elif kind == "measure_start":
                    measuring = True
                    sample("measure_start")
                    next_key = time.monotonic()
                    middle = time.monotonic() + args.seconds / 2
                    window_end = time.monotonic() + args.seconds
                    deadline = window_end + args.drain + 30
                elif kind == "measure_end" and measuring:
                    close_window()
                elif kind in ("done", "crash", "setup_failed") and finished_at is None:
                    finished_at = time.monotonic()
            # 3. keys (one at a time: the next goes once the previous one's handler ran, or after 2 s)
            now = time.monotonic()
            if key_out is not None:
                handled = [h for h in run.key_handled if h[1] >= key_out[1]]
                if handled or now - key_out[1] / 1e9 > 2.0:
                    key_out = None
            if measuring and args.keys > 0 and key_out is None and now >= next_key:
                action, key = ("cursor_down", "Down") if key_toggle % 2 == 0 else ("cursor_up", "Up")
                key_toggle += 1
                t = time.monotonic_ns()
                control.command(f"send-keys -t app {key}")
                run.keys_sent.append((action, t))
                key_out = (action, t)
                # jittered like the probes (wall_app.py): at exactly 5 a second every key came 12 frames of
                # Textual's 60 Hz clock after the last, at the same point of a frame, and a run measured one phase
                next_key = max(next_key + key_jitter.uniform(0.5, 1.5) / args.keys, now)
            # 4. the baseline during the run
            if base_fd is not None and args.baseline_rate > 0:
                if measuring and base_out is None and now >= next_base:
                    base_n += 1
                    marker = f"{BASE_MARKER}{base_n:05d}"
                    t = time.monotonic_ns()
                    os.write(base_fd, marker.encode() + b"\n")
                    base_out = (marker, t)
                    next_base = max(next_base + 1 / args.baseline_rate, now)
                if base_out is not None:  # polled right after its trigger, then once per loop (as when idle)
                    base_screen = control.capture("base")
                    if any(base_out[0] in line for line in base_screen):
                        run.base_probes.append(("run", base_out[1], time.monotonic_ns()))
                        base_out = None
                    elif time.monotonic_ns() - base_out[1] > 1_000_000_000:
                        run.base_probes.append(("run", base_out[1], None))
                        base_out = None
            # 5. once a second: CPU and memory
            if now >= next_sample:
                sample()
                next_sample = now + 1.0
            if finished_at is not None and now - finished_at > 0.5:
                break
            if run.pid is not None and not alive(run.pid) and "done" not in run.phases:
                run.notes.append("the app process ended before it was done (see app.jsonl / the last screen)")
                break
            rest = poll_period - (time.monotonic() - loop_start)
            if rest > 0:
                time.sleep(rest)
        run.captures["last"] = last_screen
        with contextlib.suppress(Exception):
            run.captures["base"] = control.capture("base")
        # let the app exit by itself (bounded), then make sure
        end = time.monotonic() + 15
        while alive(run.pid) and time.monotonic() < end:
            for record in tail.read():
                run.app_records.append(record)
                run.phases.setdefault(record["k"], record)
            time.sleep(0.05)
        for record in tail.read():
            run.app_records.append(record)
            run.phases.setdefault(record["k"], record)
        if alive(run.pid):
            run.notes.append("the app did not exit within 15 s of the end; killed")
    finally:
        for fd in (seen_fd, base_fd):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        if control is not None:
            control.close()
        if run.pid is not None and alive(run.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(run.pid, signal.SIGKILL)
        server.close()
        tail.close()
    return run


# --- the report ----------------------------------------------------------------------------------------------


def analyse(args: argparse.Namespace, run: Run) -> dict[str, Any]:
    ms = 1e6
    phases = run.phases
    out: dict[str, Any] = {"notes": list(run.notes)}
    start = phases.get("measure_start", {}).get("t")
    # the window ends at the app's end-of-window timer or at bench/wall.py's SIGUSR1, whichever came first
    end = min((phases[k]["t"] for k in ("measure_end", "window_closed") if k in phases), default=None)
    if start and "measure_end" in phases:
        timer = (phases["measure_end"]["t"] - start) / 1e9
        if timer > args.seconds * 1.05 + 0.5:
            out["notes"].append(f"the app's end-of-window timer fired after {timer:.1f} s, not {args.seconds:.0f} s: "
                                "its event loop was busy")  # fmt: skip
    # setup
    setup: dict[str, Any] = {}
    if "start" in phases:
        setup["package"] = phases["start"].get("package")
    if "built" in phases:
        setup["build_org_and_app_ms"] = phases["built"]["ms"]
    if "subscribed" in phases:
        sub = phases["subscribed"]
        setup["subscribe"] = {k: sub[k] for k in ("mode", "count", "ms") if k in sub}
        if "chunks" in sub:
            setup["subscribe"]["chunks"] = sub["chunks"]
            setup["subscribe"]["complete"] = sub["complete"]
    if "dashboard" in phases:
        setup["login_to_dashboard_drained_ms"] = phases["dashboard"]["ms_since_submit"]
    if "ready" in phases:
        setup["ready"] = {k: phases["ready"].get(k) for k in ("subscribed", "focused", "key_actions")}
    for bad in ("setup_failed", "crash"):
        if bad in phases:
            out["notes"].append(f"{bad}: {phases[bad].get('why') or phases[bad].get('error')}")
    out["setup"] = setup
    # probes
    probes = [
        r
        for r in run.app_records
        if r["k"] == "probe" and r.get("phase") == "measure" and (end is None or r["t"] <= end)
    ]
    timeouts = {r["m"] for r in run.app_records if r["k"] == "probe_timeout"}
    latencies, unseen, late, rows = [], 0, 0, []
    by_time: list[tuple[int, float]] = []
    for p in probes:
        seen = run.seen.get(p["m"])
        if seen is None:  # counts as infinitely late in the percentiles
            unseen += 1
            latencies.append(math.inf)
            by_time.append((p["t"], math.inf))
            continue
        latency = (seen[0] - p["t"]) / ms
        if p["m"] in timeouts:
            late += 1
        latencies.append(latency)
        by_time.append((p["t"], latency))
        rows.append(seen[1])
    probe = summary(latencies)
    probe.update(
        seen=len(latencies) - unseen,
        injected=len(probes),
        never_seen=unseen,
        seen_after_timeout=late,
        timeout_s=args.probe_timeout,
        rate_per_s=len(probes) / ((end - start) / 1e9) if start and end else None,
        skipped_all_probe_lines_busy=max(
            (r.get("probes_skipped", 0) for r in run.app_records if r["k"] == "sec"), default=0
        ),
        screen_rows=[min(rows), max(rows)] if rows else None,
    )
    bins = []
    if start and end:
        width = 10e9 if (end - start) >= 20e9 else (end - start) / 2
        edge = start
        while edge + width / 2 < end:  # no sliver of a bin at the end
            part = [lat for t, lat in by_time if edge <= t < edge + width]
            missing = sum(1 for lat in part if lat == math.inf)
            bins.append({"from_s": (edge - start) / 1e9, **summary(part), "never_seen": missing})
            edge += width
    probe["bins"] = bins
    out["probe"] = probe
    # baseline
    base = {}
    for phase in ("idle", "run"):
        values = [(s - t) / ms for ph, t, s in run.base_probes if ph == phase and s is not None]
        lost = sum(1 for ph, _, s in run.base_probes if ph == phase and s is None)
        base[phase] = {**summary(values), "never_seen": lost}
    out["baseline"] = base
    # keys
    # the terminal delivers keys in order and each one runs one handler: the k-th handler is the k-th key's
    key_lat: list[float] = []
    unmatched = mismatched = 0
    handled = sorted(run.key_handled, key=lambda h: h[1])
    for i, (action, t) in enumerate(run.keys_sent):
        if i >= len(handled):
            unmatched += 1
            key_lat.append(math.inf)
        elif handled[i][0] != action or handled[i][1] < t:
            mismatched += 1
        else:
            key_lat.append((handled[i][1] - t) / ms)
    out["keys"] = {
        **summary(key_lat),
        "sent": len(run.keys_sent),
        "no_handler_seen": unmatched,
        "out_of_order": mismatched,
        "handlers_logged": len(handled),
    }
    # where a key's time goes: until the app's driver made its event (tmux, the pty, the driver reading it: on
    # the event loop since c339ad6, on Textual's input thread before), then waiting in the event loop until the
    # app takes it, then to its handler
    arrived = sorted(run.key_arrived)
    if len(arrived) >= len(run.keys_sent) and len(handled) >= len(run.keys_sent):
        out["keys"]["to_driver"] = summary([(arrived[i][0] - t) / ms for i, (_, t) in enumerate(run.keys_sent)])
        out["keys"]["in_loop"] = summary([(arrived[i][1] - arrived[i][0]) / ms for i in range(len(run.keys_sent))])
        out["keys"]["to_handler"] = summary([(handled[i][1] - arrived[i][1]) / ms for i in range(len(run.keys_sent))])
    # polling
    gaps = [(b[0] - a[0]) / ms for a, b in zip(run.polls, run.polls[1:], strict=False)
            if start and end and start <= a[0] <= end]  # fmt: skip
    rtt = [(b - a) / ms for a, b in run.polls if start and end and start <= a <= end]
    out["poll"] = {"period": summary(gaps), "capture_round_trip": summary(rtt), "target_ms": args.poll_ms}
    # load
    secs = [r for r in run.app_records if r["k"] == "sec" and r.get("phase") == "measure"]
    ends = [phases[k] for k in ("measure_end", "window_closed") if k in phases]
    if secs and "measure_start" in phases and ends:
        a, b = phases["measure_start"], min(ends, key=lambda r: r["t"])  # whichever came first
        window = (b["t"] - a["t"]) / 1e9
        out["window_s"] = window
        out["load"] = {
            "target_per_s": args.rate,
            "achieved_per_s": (b["ops"] - a["ops"]) / window,
            "events_per_s": (b["events"] - a["events"]) / window,
            "dropped": b["dropped"] - a["dropped"],
            "lag_max_ms": max(r["lag_max_ms"] for r in secs),
            "lag_max_ms_first_last": [secs[0]["lag_max_ms"], secs[-1]["lag_max_ms"]],
            "screen_queue_first_last_max": [
                secs[0].get("screen_queue"), secs[-1].get("screen_queue"),
                max((r.get("screen_queue") or 0) for r in secs),
            ],
            "live_calls": secs[-1]["live_calls"],
            "generator_reports": len(secs),
            "generator_ticks_per_s_min": min(r["ticks"] for r in secs),
        }  # fmt: skip
    if "load_total" in phases:
        out.setdefault("load", {})["total"] = {k: phases["load_total"][k] for k in ("ops", "dropped", "calls")}
    # CPU and memory over the window
    window = [s for s in run.samples if start and end and start <= s["t"] <= end + 50_000_000]
    marks = {s["tag"]: s for s in run.samples if s["tag"]}
    if "measure_start" in marks and "measure_end" in marks:
        a, b = marks["measure_start"], marks["measure_end"]
        wall = (b["t"] - a["t"]) / 1e9
        resources: dict[str, Any] = {"window_s": wall}
        if a["cpu"] is not None and b["cpu"] is not None:
            resources["app_cpu_pct"] = 100 * (b["cpu"] - a["cpu"]) / wall
        if a["tmux_cpu"] is not None and b["tmux_cpu"] is not None:
            resources["tmux_server_cpu_pct"] = 100 * (b["tmux_cpu"] - a["tmux_cpu"]) / wall
        resources["bench_cpu_pct"] = 100 * (b["self_cpu"] - a["self_cpu"]) / wall
        rss = [s["VmRSS"] for s in window if "VmRSS" in s]
        if rss:
            resources["rss_mib_first_max_last"] = [rss[0], max(rss), rss[-1]]
            step, target, trend = (10e9 if wall >= 20 else 2e9), 0.0, []
            for s in window:  # the first sample at or after 0, 10, 20 … s, and the last
                if "VmRSS" in s and s["t"] - a["t"] >= target:
                    trend.append((round((s["t"] - a["t"]) / 1e9), round(s["VmRSS"])))
                    target = (s["t"] - a["t"]) // step * step + step
            if trend and "VmRSS" in window[-1] and trend[-1][0] != round((window[-1]["t"] - a["t"]) / 1e9):
                trend.append((round((window[-1]["t"] - a["t"]) / 1e9), round(window[-1]["VmRSS"])))
            resources["rss_mib_trend"] = trend
        hwm = [s["VmHWM"] for s in run.samples if "VmHWM" in s]
        if hwm:
            resources["hwm_mib"] = max(hwm)
        per_s = []
        for x, y in itertools.pairwise(window):
            if x["cpu"] is not None and y["cpu"] is not None and y["t"] - x["t"] > 0.5e9:  # CPU ticks are 10 ms
                per_s.append(100 * (y["cpu"] - x["cpu"]) / ((y["t"] - x["t"]) / 1e9))
        resources["app_cpu_pct_per_s_min_max"] = [round(min(per_s)), round(max(per_s))] if per_s else None
        ready = [s["VmRSS"] for s in run.samples if "VmRSS" in s and s["t"] <= a["t"]]
        if ready:
            resources["rss_mib_before_load"] = ready[-1]  # the last sample before the window (after the warm-up)
        resources["memory_map"] = run.memory
        out["resources"] = resources
    out["verdict"] = verdict(args, out)
    return out


def verdict(args: argparse.Namespace, out: dict[str, Any]) -> dict[str, Any]:
    v: dict[str, Any] = {}
    probe, load = out.get("probe", {}), out.get("load", {})
    reasons = []
    if not probe.get("seen"):
        reasons.append("no probe was seen")
    if load.get("achieved_per_s") is not None and load["achieved_per_s"] < 0.97 * args.rate:
        reasons.append(f"generator reached {load['achieved_per_s']:.0f}/s of {args.rate:.0f}/s")
    if load.get("dropped"):
        reasons.append(f"{load['dropped']} operations dropped (generator > 1 s behind)")
    if probe.get("never_seen"):
        reasons.append(f"{probe['never_seen']} probes never seen")
    if probe.get("seen_after_timeout"):
        reasons.append(f"{probe['seen_after_timeout']} probes seen only after {args.probe_timeout:.0f} s")
    bins = [b for b in probe.get("bins", []) if b["n"]]
    if len(bins) >= 2 and bins[0]["p50"] is not None and bins[-1]["p50"] is not None:
        first, last = bins[0]["p50"], bins[-1]["p50"]
        if last > 2 * first and last - first > 20:
            reasons.append(f"probe p50 grew from {first:.0f} ms (first bin) to {last:.0f} ms (last bin)")
    queue = load.get("screen_queue_first_last_max")
    if queue and queue[1] is not None and queue[1] > max(100, 2 * (queue[0] or 0)):
        reasons.append(f"screen message queue grew from {queue[0]} to {queue[1]}")
    v["kept_up"] = not reasons
    v["did_not_keep_up_because"] = reasons
    p50, p99 = probe.get("p50"), probe.get("p99")
    if args.mode == "latency":
        v["goal1_p50_le_20ms"] = p50 is not None and p50 <= 20 and not probe.get("never_seen")
        v["goal1_p99_le_50ms"] = p99 is not None and p99 <= 50 and not probe.get("never_seen")
    else:
        res = out.get("resources", {})
        v["goal2_p99_le_60ms"] = p99 is not None and p99 <= 60 and not probe.get("never_seen")
        v["goal2_no_growing_backlog"] = not reasons
        v["goal2_cpu_le_50pct"] = res.get("app_cpu_pct") is not None and res["app_cpu_pct"] <= 50
        keys = out.get("keys", {})
        v["goal3_keys_p99_le_10ms"] = keys.get("p99") is not None and keys["p99"] <= 10 and not keys["out_of_order"]
        rss = res.get("rss_mib_first_max_last")
        v["goal5_rss_le_100MB"] = rss is not None and max(rss) * 1.048576 <= 100
    return v


def report(args: argparse.Namespace, info: dict[str, Any], out: dict[str, Any]) -> str:
    lines = []
    add = lines.append
    add(f"wall.py {args.mode}: {args.lines:,} lines, target {args.rate:,.0f} line changes/s, {args.seconds:.0f} s "
        f"measured after {args.warmup:.0f} s warm-up; probes {args.probe_rate:.0f}/s on {args.probe_lines} lines; "
        f"keys {args.keys:.0f}/s; history rows {args.history_rows:,}; subscribe: {args.subscribe}")  # fmt: skip
    add(f"machine: nproc {info['nproc']}, {info['cpu']}, {info['ram']}, Python {info['python']}, {info['tmux']}, "
        f"load avg before {info['loadavg_before']}; commit {info['commit']}; {info['date']}"
        + (f"; {args.label}" if args.label else ""))  # fmt: skip
    add(f"calibration (a fixed Python loop, the VM's speed): {info['calibration_ms_before']} ms before, "
        f"{info.get('calibration_ms_after', '?')} ms after")  # fmt: skip
    s = out["setup"]
    command = " ".join(["cti-tui", *args.real_args.split()])
    add(f"app: {s.get('package')}" + (f" — `{command}` itself (--real)" if args.real else ""))
    if "build_org_and_app_ms" in s:
        add(f"setup: org + app built in {s['build_org_and_app_ms']:.0f} ms")
    if "login_to_dashboard_drained_ms" in s:
        took = s["login_to_dashboard_drained_ms"]
        add(f"setup: login submitted → dashboard built and its queue drained: {took:.0f} ms"
            + (" (the lines were subscribed inside the login)" if args.subscribe == "login" else ""))  # fmt: skip
    if "subscribe" in s:
        sub = s["subscribe"]
        add(f"setup: subscribed {sub['count']:,} lines ({sub['mode']}) in {sub['ms']:.0f} ms"
            + ("" if sub.get("complete", True) else " — INCOMPLETE: budget ran out"))  # fmt: skip
        if sub.get("chunks"):
            marks = sub["chunks"][:: max(1, len(sub["chunks"]) // 6)]
            add("   lines watched after ms on screen: " + ", ".join(f"{n:,} @ {t:.0f}" for n, _, t in marks))
    p = out["probe"]
    add(f"event → screen (probe injected → marker in capture-pane): {fmt_summary(p)}")
    add(f"   probes injected {p['injected']} ({fmt(p['rate_per_s'])}/s; unseen ones count as infinitely late), "
        f"never seen {p['never_seen']}, seen only after "
        f"the {p['timeout_s']:.0f} s timeout {p['seen_after_timeout']}; screen rows {p['screen_rows']}")  # fmt: skip
    for b in p["bins"]:
        add(f"   from {b['from_s']:4.0f} s: p50 {fmt(b['p50'])} p99 {fmt(b['p99'])} max {fmt(b['max'])} ms "
            f"(n={b['n']}, never seen {b['never_seen']})")  # fmt: skip
    for phase, label in (("idle", "before the app started"), ("run", "during the run")):
        add(f"baseline print program, {label}: {fmt_summary(out['baseline'][phase])}")
    k = out["keys"]
    if k["sent"]:
        add(
            f"key → action handler: {fmt_summary(k)}; sent {k['sent']}, no handler seen {k['no_handler_seen']} "
            f"(counted as infinitely late), out of order {k['out_of_order']}"
        )
        if "in_loop" in k:
            add(f"   of which: until the driver read it (tmux, the pty) {fmt_summary(k['to_driver'])}")
            add(f"             waiting in the event loop {fmt_summary(k['in_loop'])}")
            add(f"             app → handler {fmt_summary(k['to_handler'])}")
    pl = out["poll"]
    add(f"poll: period {fmt_summary(pl['period'])}; capture round trip p50 {fmt(pl['capture_round_trip']['p50'], 2)} "
        f"p99 {fmt(pl['capture_round_trip']['p99'], 2)} ms")  # fmt: skip
    if "load" in out and "achieved_per_s" in out["load"]:
        ld = out["load"]
        add(f"load: achieved {ld['achieved_per_s']:.0f}/s of {ld['target_per_s']:.0f}/s (call events at the connector "
            f"{ld['events_per_s']:.0f}/s), dropped {ld['dropped']}, generator lag max {ld['lag_max_ms']:.0f} ms "
            f"(first/last second {ld['lag_max_ms_first_last']}), screen queue first/last/max "
            f"{ld['screen_queue_first_last_max']}, live load calls {ld['live_calls']}, generator ticks/s min "
            f"{ld['generator_ticks_per_s_min']} (200 when idle)")  # fmt: skip
    if "resources" in out:
        r = out["resources"]
        add(f"app CPU {fmt(r.get('app_cpu_pct'))} % of one core over {r['window_s']:.1f} s "
            f"(per-second min/max {r.get('app_cpu_pct_per_s_min_max')}); "
            f"tmux server {fmt(r.get('tmux_server_cpu_pct'))} %; "
            f"this bench {fmt(r.get('bench_cpu_pct'))} %")  # fmt: skip
        if "rss_mib_first_max_last" in r:
            a, b, c = r["rss_mib_first_max_last"]
            hwm = r.get("hwm_mib", 0)
            add(f"app RSS first/max/last {a:.0f}/{b:.0f}/{c:.0f} MiB during the window; VmHWM {hwm:.0f} MiB")
            trend = ", ".join(f"{t} s: {m}" for t, m in r.get("rss_mib_trend", []))
            slope = (c - a) / r["window_s"] * 60 if r["window_s"] else 0.0
            add(f"   RSS (MiB) over the window: {trend} ({slope:+.0f} MiB a minute)")
        for when, m in r.get("memory_map", {}).items():
            if m:
                add(f"   resident at {when} (MiB, /proc/PID/smaps): files {m['file']}, malloc heap {m['heap']}, "
                    f"threads' malloc arenas {m['thread_arenas']}, other anonymous {m['other_anon']} "
                    f"(pymalloc arenas, large blocks, stacks); {m['threads']} threads")  # fmt: skip
    v = out["verdict"]
    add("kept up" if v["kept_up"] else "DID NOT KEEP UP: " + "; ".join(v["did_not_keep_up_because"]))
    add(GOALS[args.mode])
    add("   " + ", ".join(f"{k}: {'yes' if ok else 'NO'}" for k, ok in v.items() if k.startswith("goal")))
    for note in out["notes"]:
        add(f"note: {note}")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("mode", choices=("latency", "wall"))
    p.add_argument("--quick", action="store_true", help="a short smoke run (small, few seconds)")
    p.add_argument("--lines", type=int, help="watched lines (latency 1000, wall 10000)")
    p.add_argument("--rate", type=float, help="line changes per second (1000)")
    p.add_argument("--seconds", type=float, help="measured window (latency 30, wall 60)")
    p.add_argument("--warmup", type=float, default=3.0, help="load before the window, not measured (3)")
    p.add_argument("--concurrent", type=int, default=200, help="live load calls at once (200)")
    p.add_argument("--probe-rate", type=float, default=20.0, help="probes per second (20)")
    p.add_argument("--probe-lines", type=int, default=6, help="lines reserved for probes, the first subscribed (6)")
    p.add_argument("--probe-timeout", type=float, default=5.0, help="a probe not seen by then is hung up (5 s)")
    p.add_argument("--drain", type=float, default=10.0, help="wait this long for outstanding probes after (10 s)")
    p.add_argument("--keys", type=float, help="key presses per second during the window (wall 5, latency 0)")
    p.add_argument("--history-rows", type=int, help="history rows of the supervisor (wall 1,000,000, latency 0)")
    p.add_argument("--cache-dir", type=Path, default=Path("/tmp/cti-tui-bench"), help="where history files are kept")
    p.add_argument("--subscribe", choices=("login", "live"), default="login",
                   help="login: lines subscribed as the supervisor logs in (one rebuild); live: from the running "
                        "dashboard, 100 at a time, within --subscribe-budget")  # fmt: skip
    p.add_argument("--subscribe-budget", type=float, default=60.0)
    p.add_argument("--setup-budget", type=float, default=150.0, help="seconds for the app to come up (150)")
    p.add_argument("--poll-ms", type=float, default=2.0, help="capture-pane poll period (2 ms)")
    p.add_argument("--baseline-idle", type=int, default=30, help="baseline probes before the app starts (30)")
    p.add_argument("--baseline-rate", type=float, default=5.0, help="baseline probes per second during the run (5)")
    p.add_argument("--bell", action="store_true", help="let the app ring the bell on new calls (off)")
    p.add_argument("--no-flash", action="store_true", help="no flash of the calls pane on new calls")
    p.add_argument("--profile", action="store_true", help="cProfile the app over the window (app.pstats)")
    p.add_argument(
        "--world",
        action="store_true",
        help="keep the (idle) simulated world attached: it schedules a pick-up, a next move and a hang-up per call",
    )
    p.add_argument("--tracemalloc", action="store_true", help="where the app's memory grew over the window (slow)")
    p.add_argument("--gc-threshold", default="", help="try other cycle-collector thresholds: a,b,c (gc.set_threshold)")
    p.add_argument("--object-counts", action="store_true", help="objects by type at the window's start and end")
    p.add_argument(
        "--trace-frames",
        action="store_true",
        help="slow event-loop callbacks, refresh times and lines drawn per widget (frames.txt)",
    )
    p.add_argument(
        "--real",
        action="store_true",
        help="run `cti-tui` itself (its command line: config and data folders, system keyring, simulated world "
        "on) with the same lines, load, probes and keys",
    )
    p.add_argument("--real-args", default="", help="more `cti-tui` arguments with --real, e.g. '--demo-rate 1000'")
    p.add_argument("--json", type=Path, help="also write the results here")
    p.add_argument("--label", default="", help="a note printed with the machine line (e.g. which tree this is)")
    args = p.parse_args(argv)
    defaults = {**DEFAULTS[args.mode], **(QUICK[args.mode] if args.quick else {})}
    for name, value in defaults.items():
        if name == "warmup":
            if args.quick:
                args.warmup = value
            continue
        if getattr(args, name, None) is None:
            setattr(args, name, value)
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_print"]:
        return print_program(argv[1])
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the finally blocks kill what was started
    if not shutil.which("tmux"):
        print("wall.py: tmux is not installed (apt-get install -y tmux)", file=sys.stderr)
        return 2
    info = machine()
    history = None
    if args.history_rows:
        history = cached_history(args.history_rows, args.cache_dir)
    run_dir = Path(tempfile.mkdtemp(prefix=f"cti-wall-{args.mode}-"))
    if history is not None:
        copy = run_dir / "data" / "history.sqlite3" if args.real else run_dir / "history.sqlite3"
        copy.parent.mkdir(exist_ok=True)
        shutil.copyfile(history, copy)  # the cache is never opened by the app
        history = copy
    started = time.monotonic()
    run = measure(args, run_dir, history)
    elapsed = time.monotonic() - started
    out = analyse(args, run)
    info["calibration_ms_after"] = round(calibration_ms(), 1)
    out["machine"] = info
    out["args"] = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    out["elapsed_s"] = elapsed
    for name, screen in run.captures.items():
        (run_dir / f"screen-{name}.txt").write_text("\n".join(screen) + "\n", encoding="utf-8")
    (run_dir / "results.json").write_text(json.dumps(out, indent=2), encoding="utf-8")
    raw = {  # what the analysis used besides app.jsonl, to look again later
        "seen": run.seen,
        "base_probes": run.base_probes,
        "keys_sent": run.keys_sent,
        "samples": run.samples,
        "polls": len(run.polls),
    }
    (run_dir / "raw.json").write_text(json.dumps(raw), encoding="utf-8")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2), encoding="utf-8")
    if history is not None:
        with contextlib.suppress(OSError):
            for suffix in ("", "-wal", "-shm"):
                Path(str(history) + suffix).unlink()
    print(report(args, info, out))
    print(f"run took {elapsed:.0f} s; screens, app.jsonl and results.json in {run_dir}"
          + (f" (profile: {run_dir / 'app.pstats'})" if args.profile else ""))  # fmt: skip
    return 0 if out["verdict"]["kept_up"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
