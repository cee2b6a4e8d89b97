"""Start-up to the first usable screen: ``python3 -m cti_tui`` in tmux, with a million rows of call history.

Goals (issue 6): the login form usable ≤ 400 ms after the command starts, ≤ 100 MB RSS with 1,000,000 history
rows. The app runs exactly as the README's run command starts it (embedded demo PBX, default options) in a
fresh detached tmux session of 120×40 on a private tmux server (``-L``, no user config), and the bench polls
``tmux capture-pane`` until the form is drawn. In every round it also times two baselines the same way —
``python3 -c "print('ready')"``, ``python3 -c "import textual.app; print('ready')"`` and the smallest Textual app
with a form (``MINIMAL_FORM_APP``: a label and two inputs, the floor for any Textual app) — then logs in as the
demo agent with ``send-keys`` and times login → dashboard with the history pane's first page shown, reading
the app's VmRSS / VmHWM from ``/proc/<pid>/status`` at the login screen and on the dashboard.

Nothing is written outside temporary folders: the app gets its own ``CTI_TUI_DATA_DIR`` and
``CTI_TUI_CONFIG_DIR`` and the null keyring. The history file is built once (through ``HistoryStore``, so
its search index is filled by the store's own triggers) and cached under ``/tmp``; each bench run copies it
into its temporary data folder, so the cache is never opened by the app. Every wait is bounded; the tmux
server, its sessions and the app processes are killed in ``finally``.

    python3 bench/startup.py                      # 1,000,000 rows, 15 rounds (~1 min once the file is cached)
    python3 bench/startup.py --rows 0 --runs 5    # an empty history
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import textual

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cti_tui.core.model import Call, CallStatus, Direction  # noqa: E402
from cti_tui.store.history import SCHEMA_VERSION, HistoryStore  # noqa: E402

OWNER = "user:1001"  # agent@demo.local's line: the dashboard's history pane shows these rows
EMAIL, PASSWORD = "agent@demo.local", "demo"
WIDTH, HEIGHT = 120, 40
GENERATOR_VERSION = 1  # bump when the rows below change, so a stale cache is rebuilt
NEWEST = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)

# The login form is usable once every row of it is drawn: the fields' labels, the button and the hint below.
# The floor for any Textual app: mount a screen with a label and two inputs and draw it.
MINIMAL_FORM_APP = """
from textual.app import App
from textual.widgets import Input, Label

class Form(App):
    def compose(self):
        yield Label("ready")
        yield Input(placeholder="email")
        yield Input(placeholder="password", password=True)

Form().run()
"""
LOGIN_READY = ("sign in", "Email", "Password", "Remember me", "Log in", "Demo accounts")
DASHBOARD_HISTORY = re.compile(r"History · (\d+)")


# --- the history file ---------------------------------------------------------------------------------------


def generated_calls(rows: int) -> Iterator[Call]:
    """``rows`` ended calls of the demo agent, oldest first, one every 30 s up to ``NEWEST`` (seeded)."""
    rng = random.Random(6)
    first = NEWEST - timedelta(seconds=30 * max(rows - 1, 0))
    for i in range(rows):
        setup = first + timedelta(seconds=30 * i)
        inbound = rng.random() < 0.6
        answered = rng.random() < 0.8
        party, name = f"+1202{rng.randrange(10**7):07d}", f"Caller {i}"
        if inbound:
            source, source_name, destination, destination_name = party, name, "1001", "Alice Agent"
        else:
            source, source_name, destination, destination_name = "1001", "Alice Agent", party, name
        connect = setup + timedelta(seconds=rng.uniform(1, 20)) if answered else None
        release = (connect + timedelta(seconds=rng.uniform(5, 600))) if connect else setup + timedelta(seconds=25)
        yield Call(
            id=f"bench-{i:07d}",
            cid=f"cid-{i}",
            direction=Direction.INBOUND if inbound else Direction.OUTBOUND,
            status=CallStatus.HANGUP if answered or not inbound else CallStatus.CANCEL,
            line=OWNER,
            source=source,
            destination=destination,
            source_name=source_name,
            destination_name=destination_name,
            cause="normal" if answered else ("no_answer" if inbound else "busy"),
            setup_at=setup,
            connect_at=connect,
            release_at=release,
        )


def cached_history(rows: int, cache_dir: Path, rebuild: bool) -> Path:
    """The history file with ``rows`` calls, built once (in batches, through the store) and kept."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / f"history-{rows}-schema{SCHEMA_VERSION}-gen{GENERATOR_VERSION}.sqlite3"
    if path.exists() and not rebuild:
        return path
    partial = path.with_suffix(".partial")
    for leftover in cache_dir.glob(partial.name + "*"):
        leftover.unlink()
    started = time.perf_counter()
    calls = generated_calls(rows)
    batch = 50_000
    with HistoryStore(partial) as store:
        done = 0
        while done < rows:
            done += store.record_many((next(calls) for _ in range(min(batch, rows - done))), OWNER)
            elapsed = time.perf_counter() - started
            print(f"  building {path.name}: {done:,}/{rows:,} rows, {elapsed:.0f} s", file=sys.stderr, flush=True)
    os.replace(partial, path)
    print(f"  built in {time.perf_counter() - started:.0f} s: {path.stat().st_size / 1e6:.0f} MB", file=sys.stderr)
    return path


# --- tmux ---------------------------------------------------------------------------------------------------


class Tmux:
    """A private tmux server (own socket, no user config) whose sessions this bench starts and kills."""

    def __init__(self) -> None:
        self.socket = f"cti-tui-startup-{os.getpid()}"

    def run(self, *args: str, check: bool = True) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            timeout=10,
        )
        if check and done.returncode != 0:
            raise RuntimeError(f"tmux {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    def start_server(self) -> None:
        """A keeper session holds the server up, so no measured spawn pays for starting tmux itself."""
        self.run("new-session", "-d", "-s", "keeper", "-x", str(WIDTH), "-y", str(HEIGHT), "sleep 900")
        self.run("set-option", "-g", "remain-on-exit", "on")  # a baseline's "ready" stays readable

    def spawn(self, name: str, command: str) -> None:
        self.run("new-session", "-d", "-s", name, "-x", str(WIDTH), "-y", str(HEIGHT), command)

    def capture(self, name: str) -> str:
        return self.run("capture-pane", "-p", "-t", name, check=False)

    def pane_pid(self, name: str) -> int:
        return int(self.run("display-message", "-p", "-t", name, "#{pane_pid}").strip())

    def keys(self, name: str, *keys: str, literal: bool = False) -> None:
        self.run("send-keys", "-t", name, *(["-l"] if literal else []), *keys)

    def kill_session(self, name: str) -> None:
        self.run("kill-session", "-t", name, check=False)

    def kill_server(self) -> None:
        """Stop the server and remove its socket file (tmux leaves it behind)."""
        socket = self.run("display-message", "-p", "#{socket_path}", check=False).strip()
        self.run("kill-server", check=False)
        if socket.endswith(self.socket):
            Path(socket).unlink(missing_ok=True)


def wait_for(tmux: Tmux, name: str, ready: Callable[[str], bool], started: float, timeout: float) -> tuple[float, str]:
    """Poll the pane as fast as tmux answers; seconds from ``started`` to the first screen that is ready."""
    while True:
        screen = tmux.capture(name)
        now = time.perf_counter()
        if ready(screen):
            return now - started, screen
        if now - started > timeout:
            raise TimeoutError(f"{name}: not ready after {timeout:.0f} s; the screen was:\n{screen}")


def memory(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM (peak RSS) of ``pid`` in MiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return fields


def stop(tmux: Tmux, name: str, pid: int | None) -> None:
    """Kill the session, then make sure its process is gone (SIGKILL after 5 s)."""
    tmux.kill_session(name)
    if pid is None:
        return
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists() or "zombie" in _state(pid):
            return
        time.sleep(0.02)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _state(pid: int) -> str:
    try:
        return next(
            (line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("State")), ""
        )
    except OSError:
        return "gone"


# --- one round ----------------------------------------------------------------------------------------------


@dataclass
class Samples:
    plain: list[float] = field(default_factory=list)
    textual: list[float] = field(default_factory=list)
    form: list[float] = field(default_factory=list)
    login: list[float] = field(default_factory=list)
    dashboard: list[float] = field(default_factory=list)
    rss_login: list[float] = field(default_factory=list)
    rss_dashboard: list[float] = field(default_factory=list)
    hwm_dashboard: list[float] = field(default_factory=list)
    hwm_late: list[float] = field(default_factory=list)


def time_baseline(tmux: Tmux, name: str, command: str, timeout: float) -> float:
    started = time.perf_counter()
    tmux.spawn(name, command)
    pid = None
    try:
        pid = tmux.pane_pid(name)
        seconds, _ = wait_for(tmux, name, lambda screen: "ready" in screen, started, timeout)
    finally:
        stop(tmux, name, pid)
    return seconds


def time_app(
    tmux: Tmux, name: str, command: str, rows: int, settle: float, timeout: float, samples: Samples, linger: float = 0
) -> None:
    started = time.perf_counter()
    tmux.spawn(name, command)
    pid = None
    try:
        pid = tmux.pane_pid(name)
        seconds, _ = wait_for(tmux, name, lambda screen: all(text in screen for text in LOGIN_READY), started, timeout)
        samples.login.append(seconds)
        time.sleep(settle)
        samples.rss_login.append(memory(pid)["VmRSS"])
        # Typed like a person, one field at a time: keys that reach the app in one burst are taken as a paste.
        tmux.keys(name, EMAIL, literal=True)
        wait_for(tmux, name, lambda screen: EMAIL in screen, started, timeout)
        time.sleep(0.1)
        tmux.keys(name, "Tab")
        time.sleep(0.1)
        tmux.keys(name, PASSWORD, literal=True)
        wait_for(tmux, name, lambda screen: "•" * len(PASSWORD) in screen, started, timeout)
        time.sleep(0.1)
        submitted = time.perf_counter()
        tmux.keys(name, "Enter")

        def history_shown(screen: str) -> bool:
            found = DASHBOARD_HISTORY.search(screen)
            return found is not None and int(found.group(1)) >= rows

        seconds, _ = wait_for(tmux, name, history_shown, submitted, timeout)
        samples.dashboard.append(seconds)
        time.sleep(settle)
        mem = memory(pid)
        samples.rss_dashboard.append(mem["VmRSS"])
        samples.hwm_dashboard.append(mem["VmHWM"])
        if linger:  # long enough for the history's background check to have read the whole file
            time.sleep(linger)
            samples.hwm_late.append(memory(pid)["VmHWM"])
    finally:
        stop(tmux, name, pid)


# --- report -------------------------------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    """Nearest rank: with 15 samples p90 is the 14th."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * fraction // 1))
    return ordered[int(rank) - 1]


def report(samples: Samples, args: argparse.Namespace) -> dict[str, object]:
    rows = [
        ("python3 -c print('ready')", samples.plain, 1000, "ms"),
        ("python3 -c import textual.app", samples.textual, 1000, "ms"),
        ("minimal Textual app with a form", samples.form, 1000, "ms"),
        ("cti-tui → login form usable", samples.login, 1000, "ms"),
        ("Enter → dashboard, history page 1", samples.dashboard, 1000, "ms"),
        ("RSS at the login screen", samples.rss_login, 1, "MiB"),
        ("RSS on the dashboard", samples.rss_dashboard, 1, "MiB"),
        ("peak RSS (VmHWM) on the dashboard", samples.hwm_dashboard, 1, "MiB"),
        (f"peak RSS {args.linger:.0f} s later (last round)", samples.hwm_late, 1, "MiB"),
    ]
    print(f"\n{args.rows:,} history rows, {len(samples.login)} rounds, tmux {WIDTH}×{HEIGHT}\n")
    print(f"{'':38} {'p50':>8} {'p90':>8} {'max':>8} {'min':>8}")
    summary: dict[str, object] = {}
    for label, values, scale, unit in rows:
        if not values:
            continue
        p50, p90 = percentile(values, 0.5) * scale, percentile(values, 0.9) * scale
        top, low = max(values) * scale, min(values) * scale
        print(f"{label:38} {p50:8.1f} {p90:8.1f} {top:8.1f} {low:8.1f}  {unit}")
        summary[label] = {"p50": p50, "p90": p90, "max": top, "min": low, "unit": unit, "samples": values}
    paired = [app / form for app, form in zip(samples.login, samples.form, strict=False)]
    if paired:
        ratio = percentile(paired, 0.5)
        print(f"\ncti-tui ÷ minimal Textual app, paired by round: p50 {ratio:.2f}×  (a load-independent view)")
        summary["login ÷ minimal app"] = {"p50": ratio, "samples": paired}
    print(f"load average now {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
    return summary


def machine() -> dict[str, str]:
    """What the figures were taken on, printed before the run (for bench/README.md)."""
    names = [line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")]
    cpu = names[0].split(":", 1)[1].strip() if names else "?"
    memory_kib = int(Path("/proc/meminfo").read_text().split()[1])
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "describe", "--always", "--dirty"], capture_output=True, text=True
    ).stdout.strip()
    return {
        "commit": commit or "?",
        "cpu": f"{os.cpu_count()} × {cpu}",
        "ram": f"{memory_kib / 2**20:.0f} GiB",
        "kernel": os.uname().release,
        "python": sys.version.split()[0],
        "textual": textual.__version__,
        "sqlite": sqlite3.sqlite_version,
        "tmux": subprocess.run(["tmux", "-V"], capture_output=True, text=True).stdout.strip(),
        "load average before": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
    }


@dataclass
class Commands:
    """The shell commands tmux runs: every one ``exec``s Python with the same environment.

    Bytecode is kept as a user has it (written on the first start, read after) but in the temporary folder
    (``PYTHONPYCACHEPREFIX``): this environment may say ``PYTHONDONTWRITEBYTECODE``, which would compile every
    module on every start. A warm-up round, not counted, writes it.
    """

    temp: Path

    def _python(self, extra: dict[str, str], arguments: str) -> str:
        env = {"PYTHONPATH": str(ROOT), "PYTHONPYCACHEPREFIX": str(self.temp / "pycache"), **extra}
        settings = " ".join(f"{key}={shlex.quote(value)}" for key, value in env.items())
        return (
            f"cd {shlex.quote(str(ROOT))} && exec env -u PYTHONDONTWRITEBYTECODE {settings} "
            f"{shlex.quote(sys.executable)} {arguments}"
        )

    def baseline(self, code: str) -> str:
        return self._python({}, f"-c {shlex.quote(code)}")

    def app(self, round_: int) -> str:
        """A config folder of its own each round: logging in saves the email, which would prefill the form."""
        return self._python(
            {
                "CTI_TUI_DATA_DIR": str(self.temp / "data"),
                "CTI_TUI_CONFIG_DIR": str(self.temp / f"config-{round_}"),
                "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
            },
            "-m cti_tui",
        )


def run_round(
    tmux: Tmux, commands: Commands, round_: int, args: argparse.Namespace, samples: Samples, linger: float = 0
) -> None:
    """The baselines and the app, each going first in turn, so that slow moments of the machine hit them all."""
    steps: list[Callable[[], None]] = [
        lambda: samples.plain.append(time_baseline(tmux, "plain", commands.baseline("print('ready')"), args.timeout)),
        lambda: samples.textual.append(
            time_baseline(tmux, "textual", commands.baseline("import textual.app; print('ready')"), args.timeout)
        ),
        lambda: samples.form.append(time_baseline(tmux, "form", commands.baseline(MINIMAL_FORM_APP), args.timeout)),
        lambda: time_app(tmux, "app", commands.app(round_), args.rows, args.settle, args.timeout, samples, linger),
    ]
    first = round_ % len(steps)
    for step in steps[first:] + steps[:first]:
        step()
        time.sleep(0.2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="history rows (default 1,000,000)")
    parser.add_argument("--runs", type=int, default=15, help="rounds (default 15)")
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "cti-tui-bench",
        help="where the built history file is kept between runs (default /tmp/cti-tui-bench)",
    )
    parser.add_argument("--rebuild", action="store_true", help="build the history file again even if cached")
    parser.add_argument("--settle", type=float, default=0.5, help="seconds on a screen before reading RSS")
    parser.add_argument("--timeout", type=float, default=30, help="seconds for any one screen to appear")
    parser.add_argument(
        "--linger", type=float, default=8, help="seconds on the dashboard in the last round before a last VmHWM"
    )
    parser.add_argument("--json", type=Path, help="also write every sample to this file")
    args = parser.parse_args()
    if not 0 <= args.rows <= 10_000_000 or not 1 <= args.runs <= 200:
        parser.error("--rows must be 0–10,000,000 and --runs 1–200")
    if shutil.which("tmux") is None:
        parser.error("needs tmux (apt-get install tmux)")

    source = cached_history(args.rows, args.cache_dir, args.rebuild)
    about = machine()
    print("  " + "; ".join(f"{key}: {value}" for key, value in about.items()), file=sys.stderr)
    tmux = Tmux()
    with tempfile.TemporaryDirectory(prefix="cti-tui-startup-") as temp:
        commands = Commands(Path(temp))
        (commands.temp / "data").mkdir()
        shutil.copyfile(source, commands.temp / "data" / "history.sqlite3")
        samples = Samples()
        try:
            tmux.start_server()
            run_round(tmux, commands, -1, args, Samples())  # warm-up: bytecode, page cache
            for round_ in range(args.runs):
                last = round_ == args.runs - 1
                run_round(tmux, commands, round_, args, samples, args.linger if last else 0)
                print(
                    f"  round {round_ + 1}/{args.runs}: login {samples.login[-1] * 1000:.0f} ms, "
                    f"dashboard {samples.dashboard[-1] * 1000:.0f} ms, RSS {samples.rss_dashboard[-1]:.0f} MiB",
                    file=sys.stderr,
                    flush=True,
                )
        finally:
            tmux.kill_server()
    summary = report(samples, args)
    if args.json:
        args.json.write_text(
            json.dumps({"rows": args.rows, "runs": args.runs, "machine": about, "results": summary}, indent=1)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
