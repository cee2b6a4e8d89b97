"""History search and export at a million rows: how long the event loop is blocked, per keystroke and during a
CSV export, in the real app — one source tree against another, alternated.

Issue 13 wants no keystroke in the history search to block the UI loop for more than 50 ms with 1,000,000 rows
in the history, and the export not to freeze the app. This bench runs the app as ``cti-tui`` builds it
(``build_app`` of :mod:`cti_tui.assembly`, the embedded demo PBX, no simulated traffic) headless under Textual's
Pilot, logs in as ``agent@demo.local`` (whose line owns the million rows) and then:

* **search**: focuses the history search and types each ``--terms`` term a key at a time, ``--gap`` seconds
  apart (0.2 s: slower than the pane's debounce, so every prefix is searched — the worst case for a typist),
  then waits until the pane shows the answer for the whole term (bounded by ``--timeout``); ctrl+u clears
  the box between terms. Per term: the longest event-loop callback from the first key to the answer (the
  loop block a keystroke can meet), and the time from the last key to the answer on screen;
* **export**: clears the search, calls the dashboard's export (what ctrl+p → "Export call history to CSV"
  runs) to a temporary file, and until the file is complete measures the longest event-loop callback and the
  lateness of a 20 ms heartbeat task (what any key or frame would wait), and the export's wall time.

Each (tree, round) runs in a fresh child process with ``sys.path`` pointing at that tree, so ``--before`` can be
another checkout (``git worktree``) of cti-tui; the history file is copied once into a temporary folder and
opened by both. The app's background integrity check is waited for before measuring (it reads the whole
file). Every wait is bounded; a child that overruns ``--timeout`` is killed by its PID and reported as such.

    python3 bench/history_search.py --before ../other-checkout   # 2 rounds, alternated (a slow before: ~25 min)
    python3 bench/history_search.py --terms 99 --rounds 3        # this tree only
    python3 bench/history_search.py --budget-terms --rounds 1    # the 50 terms of the budget test (issue 15)

Timing figures vary with the VM (±40 % minute to minute here): compare within a run, and the calibration
printed with each child. Results and how to read them: bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CACHE = Path("/tmp/cti-tui-bench")
ROWS = 1_000_000
HEARTBEAT = 0.02  # seconds


# --- the child: one tree, one app -----------------------------------------------------------------------------


def _label(callback: Any) -> str:
    """What an event-loop callback is: for a task step, its coroutine (as ``bench/_frames.py`` names them)."""
    owner = getattr(callback, "__self__", None)
    if isinstance(owner, asyncio.Task):
        coro = owner.get_coro()
        name = getattr(coro, "__qualname__", repr(coro))
        frame = getattr(coro, "cr_frame", None)
        holder = frame.f_locals.get("self") if frame is not None else None
        timed = getattr(holder, "_callback", None)  # a Textual timer: say what it runs
        if timed is not None:
            name += f" → {getattr(timed, '__qualname__', repr(timed))}"
        return f"task {name}"
    return getattr(callback, "__qualname__", repr(callback))


class LoopTimer:
    """Times every event-loop callback (``asyncio.events.Handle._run``, as ``bench/_frames.py`` does) and keeps
    what the longest one was."""

    def __init__(self) -> None:
        self.longest = 0.0
        self.what = ""
        run = asyncio.events.Handle._run
        timer = self

        def timed(handle: asyncio.events.Handle) -> None:
            started = time.perf_counter()
            try:
                return run(handle)
            finally:
                spent = (time.perf_counter() - started) * 1000
                if spent > timer.longest:
                    timer.longest, timer.what = spent, _label(handle._callback)

        asyncio.events.Handle._run = timed  # type: ignore[method-assign]

    def reset(self) -> None:
        self.longest, self.what = 0.0, ""


def calibration_ms() -> float:
    """The VM's speed now: a fixed pure-Python loop, fastest of three (as ``bench/wall.py`` prints it)."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        total = 0
        for i in range(1_000_000):
            total += i
        best = min(best, (time.perf_counter() - started) * 1000)
    return best


async def _until(pilot: Any, condition: Any, timeout: float) -> bool:
    """Let the app run until ``condition()`` holds, polling every 5 ms (so time passes for its timers)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        await pilot.pause()
        await asyncio.sleep(0.005)
    return bool(condition())


async def child_run(args: argparse.Namespace) -> dict[str, Any]:
    from textual.widgets import Input

    from cti_tui.config import AppConfig
    from cti_tui.core.clock import VirtualClock
    from cti_tui.credentials import CredentialStore, MemoryKeyring

    try:
        from cti_tui.assembly import build_app
    except ImportError:  # a tree from before the composition root
        from cti_tui.ui.factory import build_app  # type: ignore[no-redef]

    result: dict[str, Any] = {"calibration_ms_before": round(calibration_ms(), 1), "terms": {}}
    timer = LoopTimer()
    app = build_app(
        clock=VirtualClock(),
        traffic=False,
        history_path=Path(args.history),
        credentials=CredentialStore(MemoryKeyring()),
        config=AppConfig(bell=False, flash=False, cursor_blink=False),
        remember_email=False,
        watched_path=Path(args.history).with_name("watched-lines.json"),  # never the user's own lines
    )
    async with app.run_test(size=(120, 40)) as pilot:
        assert await _until(pilot, lambda: app.screen.query("#email"), args.timeout), "no login form"
        app.screen.query_one("#email", Input).value = "agent@demo.local"
        password = app.screen.query_one("#password", Input)
        password.value = "demo"
        password.focus()
        await pilot.press("enter")
        assert await _until(pilot, lambda: app.screen.query("#history"), args.timeout), "no dashboard"
        screen = app.screen
        pane = screen.query_one("#history")
        history = app.services.history
        assert history is not None, "the history did not open"
        assert await asyncio.to_thread(history.wait_checked, 120), "the integrity check did not finish"

        def settled() -> bool:
            return not getattr(pane, "busy", False) and not any(
                w.group.startswith("history") and w.is_running for w in app.workers
            )

        assert await _until(pilot, lambda: pane.total > 0 and settled(), args.timeout), "no first page"
        result["rows"] = pane.total
        for term in args.terms:
            pane.focus_search()
            await pilot.pause()
            timer.reset()
            for key in term:
                await pilot.press("space" if key == " " else key)
                await asyncio.sleep(args.gap)
            last_key = time.perf_counter()
            ok = await _until(pilot, lambda t=term: pane.search_text == t and settled(), args.timeout)
            answered = time.perf_counter()
            result["terms"][term] = {
                "longest_block_ms": round(timer.longest, 1),
                "longest_block_was": timer.what,
                "answer_after_last_key_ms": round((answered - last_key) * 1000, 1) if ok else None,
                "rows_shown": len(pane.rows),
                "title": str(pane.border_title),
                "search_text": pane.search_text,
            }
            await pilot.press("ctrl+u")
            await _until(pilot, lambda: pane.search_text == "" and settled(), args.timeout)
        pane.focus_table()

        target = Path(args.out_dir) / "export.csv"
        lateness: list[float] = []
        stop = asyncio.Event()

        async def heartbeat() -> None:
            while not stop.is_set():
                asked = time.perf_counter()
                await asyncio.sleep(HEARTBEAT)
                lateness.append((time.perf_counter() - asked - HEARTBEAT) * 1000)

        beat = asyncio.create_task(heartbeat())
        await asyncio.sleep(0.1)
        timer.reset()
        started = time.perf_counter()
        screen.export_history(target)  # the old tree writes the whole file here, on the loop
        done = await _until(pilot, lambda: target.exists() and not getattr(pane, "exporting", False), args.timeout)
        exported = time.perf_counter()
        stop.set()
        await beat
        result["export"] = {
            "seconds": round(exported - started, 2) if done else None,
            "longest_block_ms": round(timer.longest, 1),
            "longest_block_was": timer.what,
            "heartbeat_late_max_ms": round(max(lateness, default=0.0), 1),
            "heartbeat_beats": len(lateness),
            "lines": sum(1 for _ in target.open(encoding="utf-8")) - 1 if done else None,
        }
    result["calibration_ms_after"] = round(calibration_ms(), 1)
    return result


def child_main(args: argparse.Namespace) -> int:
    sys.path.insert(0, str(Path(args.tree).resolve()))
    result = asyncio.run(child_run(args))
    print("RESULT " + json.dumps(result), flush=True)
    return 0


# --- the parent: the file, the children, the table -------------------------------------------------------------


def history_file(rows: int) -> Path:
    """The million-row file of ``bench/startup.py`` (the demo agent's line, built through the store), built
    by that bench's own code in a child process if it is not cached yet."""
    code = (
        "import sys; from pathlib import Path; sys.path.insert(0, sys.argv[1]); import startup; "
        "print(startup.cached_history(int(sys.argv[2]), Path(sys.argv[3]), False))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(HERE), str(rows), str(CACHE)],
        check=True,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    return Path(out.stdout.strip().splitlines()[-1])


def describe(tree: Path) -> str:
    try:
        head = subprocess.run(
            ["git", "-C", str(tree), "log", "-1", "--format=%h"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(tree), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return str(tree)
    if not head:  # not a git checkout (an exported tree)
        return str(tree)
    return f"{tree} at {head}{' + changes' if dirty else ''}"


def run_child(tree: Path, history: Path, args: argparse.Namespace, workdir: Path) -> dict[str, Any] | None:
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        "--tree",
        str(tree),
        "--history",
        str(history),
        "--out-dir",
        str(workdir),
        "--gap",
        str(args.gap),
        "--timeout",
        str(args.timeout),
        "--terms-json",
        json.dumps(args.terms),  # (a term such as "--" could not follow --terms)
    ]
    env = {**os.environ, "CTI_TUI_CONFIG_DIR": str(workdir / "config"), "CTI_TUI_DATA_DIR": str(workdir / "data")}
    env.pop("CTI_TUI_STRICT_OFF_LOOP", None)
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=workdir)
    budget = args.timeout * (len(args.terms) * 2 + 4) + 180
    try:
        out, err = proc.communicate(timeout=budget)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
        print(f"  child for {tree} overran {budget:.0f} s and was killed", flush=True)
        return None
    for line in out.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line.removeprefix("RESULT "))
    print(f"  child for {tree} failed ({proc.returncode}):\n{err[-3000:]}", flush=True)
    return None


def show(label: str, result: dict[str, Any] | None) -> None:
    if result is None:
        print(f"| {label} | failed or overran |")
        return
    cells = []
    for term, figures in result["terms"].items():
        answer = figures["answer_after_last_key_ms"]
        cells.append(
            f"{term!r}: block {figures['longest_block_ms']:,} ms, answer {'-' if answer is None else f'{answer:,}'} ms"
        )
    export = result["export"]
    seconds = export["seconds"]
    cells.append(
        f"export {'-' if seconds is None else seconds} s: block {export['longest_block_ms']:,} ms, "
        f"heartbeat late ≤ {export['heartbeat_late_max_ms']:,} ms ({export['heartbeat_beats']} beats)"
    )
    calibration = f"{result['calibration_ms_before']} → {result['calibration_ms_after']} ms"
    print(f"| {label} | " + " | ".join(cells) + f" | {calibration} |", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", type=Path, default=None, help="another cti-tui checkout to compare with")
    parser.add_argument("--after", type=Path, default=ROOT, help="the tree measured as 'after' (this one)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--terms", nargs="+", default=["99", "Caller 1"])
    parser.add_argument(
        "--budget-terms",
        action="store_true",
        help="type the 50 terms of tests/store/test_history_budget.py instead (issue 15)",
    )
    parser.add_argument("--terms-json", help=argparse.SUPPRESS)
    parser.add_argument("--gap", type=float, default=0.2, help="seconds between two keys")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds for any one answer or the export")
    parser.add_argument("--json", type=Path, default=None, help="also write every result here")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--tree", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--history", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.terms_json is not None:
        args.terms = json.loads(args.terms_json)
    elif args.budget_terms:
        sys.path.insert(0, str(ROOT))
        from tests.store.test_history_budget import TERMS

        args.terms = list(TERMS)
    if args.child:
        return child_main(args)
    if not 1 <= args.rounds <= 20:
        parser.error("--rounds must be 1-20")

    source = history_file(args.rows)
    trees = [("after", args.after)] + ([("before", args.before)] if args.before else [])
    for name, tree in trees:
        print(f"{name}: {describe(tree)}")
    print(f"history: {args.rows:,} rows ({source}); terms {args.terms}, a key every {args.gap} s")
    print(f"machine: nproc {os.cpu_count()}, Python {sys.version.split()[0]}, load {os.getloadavg()[0]:.1f}")
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="cti-tui-history-bench-") as folder:
        work = Path(folder)
        history = work / "history.sqlite3"
        shutil.copyfile(source, history)
        print(f"| run | {' | '.join(repr(t) for t in args.terms)} | export | calibration |", flush=True)
        for round_ in range(args.rounds):
            order = trees if round_ % 2 == 0 else list(reversed(trees))  # alternate who goes first
            for name, tree in order:
                run_dir = work / f"{name}-{round_}"
                run_dir.mkdir()
                result = run_child(tree, history, args, run_dir)
                show(f"{name} {round_ + 1}", result)
                results.append({"tree": name, "round": round_ + 1, "result": result})
                with contextlib.suppress(FileNotFoundError):
                    (run_dir / "export.csv").unlink()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
