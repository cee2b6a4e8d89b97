"""Event → screen on a real Asterisk: the app in tmux against a raw AMI client reading the same event (issue 16).

One run starts everything on 127.0.0.1 and stops it in a ``finally``: an Asterisk lab (tools/asterisk_lab.py),
a baresip phone registered as 1001 (manual answer, so it keeps ringing), ``cti-tui --pbx asterisk://…`` in a
private tmux server logged in as 1001, and a raw AMI client in its own process (a blocking socket and the
project's ``AmiParser``, logged in as the same AMI user, doing nothing else). For each event the bench sends
``Originate Local/1001@internal`` with a unique caller ID (``LATnnnn``): Asterisk dials 1001's phone and
sends ``DialBegin`` to both AMI connections. It records (a) when the raw client read that ``DialBegin`` and
(b) when the caller ID appeared in the app's pane (capture-pane over a tmux control client, every
``--poll-ms``), both from the moment the Originate was written (on a third AMI connection, events off); then
it hangs the call up and waits (bounded) for the row to leave before the next. A difference can be negative:
the raw client is a process like the app, and either may be scheduled first. No timed assertion: the
figures go to bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT / "tools"))

import asterisk_lab  # noqa: E402
from _tmux import ControlClient, TmuxServer  # noqa: E402
from wall import fmt_summary, machine, summary  # noqa: E402

from cti_tui.backends.softphone import ManagedBaresip  # noqa: E402
from cti_tui.protocol.ami import AmiParser, Event, encode_action, encode_login  # noqa: E402

AGENT = "1001"


SECRET_ENV = "CTI_TUI_AMI_SECRET"


def raw_client(host: str, port: int) -> int:
    """The baseline, run as its own process (as the app is): a blocking socket and ``AmiParser``, nothing else.
    It prints ``<what> <caller name> <monotonic ns at the read>`` for each ``DialBegin`` / ``DialEnd`` to the
    agent's phone and ``login`` / ``reachable`` once; CLOCK_MONOTONIC is one clock for every process."""
    sock = socket.create_connection((host, port), timeout=10)
    sock.settimeout(None)
    sock.sendall(encode_login(asterisk_lab.AMI_USER, os.environ[SECRET_ENV], "login"))
    parser = AmiParser()
    out = sys.stdout
    while data := sock.recv(65536):
        now = time.monotonic_ns()
        for item in parser.feed(data):
            if not isinstance(item, Event):
                if getattr(item, "action_id", "") == "login":
                    out.write(f"login {'ok' if getattr(item, 'ok', False) else 'refused'} {now}\n")
                continue
            name = item.name
            if name in ("DialBegin", "DialEnd") and item.get("DestChannel").startswith(f"PJSIP/{AGENT}-"):
                extra = f" {item.get('DialStatus')}" if name == "DialEnd" else ""
                out.write(f"{name} {item.get('CallerIDName')} {now}{extra}\n")
            elif name == "ContactStatus" and item.get("AOR") == AGENT and item.get("ContactStatus") == "Reachable":
                out.write(f"reachable - {now}\n")
        out.flush()
    return 0


class RawAmi:
    """The raw client's process and what it printed; actions go out on a second AMI connection (events off),
    so the raw client only reads."""

    def __init__(self, lab: asterisk_lab.Lab) -> None:
        self.dial_read: dict[str, int] = {}
        self.dial_status: dict[str, str] = {}  # DialEnd's DialStatus: why a call that never showed ended
        self.reachable = threading.Event()
        self.logged_in = threading.Event()
        self._lock = threading.Lock()
        host, port = lab.ami_address
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--raw-client", f"{host}:{port}"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            env={**os.environ, SECRET_ENV: lab.ami_secret},
        )
        self._thread = threading.Thread(target=self._collect, daemon=True)
        self._thread.start()
        self.driver = socket.create_connection(lab.ami_address, timeout=10)
        self.driver.sendall(encode_login(asterisk_lab.AMI_USER, lab.ami_secret, "driver", events="off"))
        self.driver.setblocking(False)

    def _collect(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            what, marker, ns, *rest = raw.decode().split()
            with self._lock:
                if what == "DialBegin":
                    self.dial_read.setdefault(marker, int(ns))
                elif what == "DialEnd":
                    self.dial_status[marker] = rest[0] if rest else ""
            if what == "login" and marker == "ok":
                self.logged_in.set()
            elif what == "reachable":
                self.reachable.set()

    def read_at(self, marker: str, timeout: float) -> int | None:
        """When the raw client read the marker's DialBegin (waiting for its line a bounded while: the app may
        draw before the line crossed the pipe)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                read = self.dial_read.get(marker)
            if read is not None or time.monotonic() > deadline:
                return read
            time.sleep(0.002)

    def status(self, marker: str) -> str:
        with self._lock:
            return self.dial_status.get(marker, "")

    def action(self, name: str, fields: dict[str, str]) -> None:
        with contextlib.suppress(BlockingIOError):
            while self.driver.recv(65536):  # its answers: drained so they never fill the buffer
                pass
        self.driver.setblocking(True)
        self.driver.sendall(encode_action(name, fields))
        self.driver.setblocking(False)

    def close(self) -> None:
        self.driver.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        self._thread.join(timeout=5)


def wait_screen(
    control: ControlClient, check: Any, timeout: float, poll_ms: float
) -> tuple[int | None, float, list[str]]:
    """Poll the pane until ``check(text)``: the monotonic ns at which the matching capture came back, the width
    in ms of the window in which the text appeared (from the request of the capture before it: the
    measurement's resolution), and the screen."""
    deadline = time.monotonic() + timeout
    screen: list[str] = []
    previous: int | None = None
    while time.monotonic() < deadline:
        asked = time.monotonic_ns()
        screen = control.capture("app")
        now = time.monotonic_ns()
        if check("\n".join(screen)):
            return now, (now - (previous if previous is not None else asked)) / 1e6, screen
        previous = asked
        time.sleep(poll_ms / 1000)
    return None, 0.0, screen


def phone(lab: asterisk_lab.Lab, folder: Path) -> ManagedBaresip:
    ports = lab.ports
    return ManagedBaresip(
        folder / "baresip",
        sip_port=ports.phone_sip(0),
        ctrl_port=ports.phone_ctrl(0),
        user=AGENT,
        display_name=f"Agent {AGENT}",
        answermode="manual",
        rtp_ports=ports.phone_rtp(0),
        registrar="{}:{}".format(*lab.sip_address),
        password=lab.sip_passwords[AGENT],
    )


def measure(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    deadline = time.monotonic() + args.timeout
    lab = asterisk_lab.Lab(f"bench-{os.getpid()}", asterisk_lab.free_base())
    tmux = TmuxServer(f"cti-astbench-{os.getpid()}")
    raw: RawAmi | None = None
    control: ControlClient | None = None
    handset: ManagedBaresip | None = None
    samples: list[dict[str, Any]] = []
    missed: list[dict[str, Any]] = []
    first_screen: list[str] = []
    started: dict[str, Any] = {"lab": lab.name, "tmux_socket": tmux.socket}
    try:
        lab.start(60)
        started["asterisk_pid"] = lab.pid
        raw = RawAmi(lab)
        started["raw_client_pid"] = raw.process.pid
        if not raw.logged_in.wait(10):
            raise RuntimeError("the raw AMI client was not logged in within 10 s")
        handset = phone(lab, folder)
        asyncio.run(handset.start())
        started["baresip_pid"] = handset.pid
        if not raw.reachable.wait(15):
            raise RuntimeError(f"{AGENT}'s phone did not register within 15 s")
        env = {
            "CTI_TUI_AMI_SECRET": lab.ami_secret,
            "CTI_TUI_CONFIG_DIR": str(folder / "config"),
            "CTI_TUI_DATA_DIR": str(folder / "data"),
            "PYTHONPATH": os.environ.get("PYTHONPATH", str(ROOT)),
            "TERM": "xterm-256color",
        }
        app = [sys.executable, "-m", "cti_tui", "--pbx", lab.url(), "--email", f"{AGENT}@lab.example", "--no-history"]
        tmux.new_session("app", app, 120, 36, env)
        control = ControlClient(tmux, "app")
        shown, _, screen = wait_screen(control, lambda text: "Password" in text, 30, 50)
        if shown is None:
            raise RuntimeError("no login form within 30 s:\n" + "\n".join(screen))
        control.command("send-keys -t app x Enter")  # no org file: the extension logs in, any password
        shown, _, screen = wait_screen(control, lambda text: "READY" in text, 30, 50)
        if shown is None:
            raise RuntimeError("no dashboard within 30 s:\n" + "\n".join(screen))
        time.sleep(1.0)  # let the login's own AMI traffic settle
        for index in range(args.events):
            if time.monotonic() > deadline:
                break
            marker = f"LAT{index:04d}"
            number = f"7{index:05d}"
            sent = time.monotonic_ns()
            raw.action(
                "Originate",
                {
                    "Channel": f"Local/{AGENT}@internal",
                    "Application": "Wait",
                    "Data": "30",
                    "CallerID": f"{marker} <{number}>",
                    "Async": "true",
                },
            )
            seen, window, screen = wait_screen(
                control, lambda text, m=marker: m in text, args.event_timeout, args.poll_ms
            )
            read = raw.read_at(marker, 5.0)
            if seen is None or read is None:
                missed.append(
                    {"marker": marker, "raw_read": read is not None, "on_screen": seen is not None,
                     "dial_status": raw.status(marker)}
                )  # fmt: skip
            else:
                if not samples:
                    first_screen = screen
                samples.append(
                    {"marker": marker, "raw_ms": (read - sent) / 1e6, "app_ms": (seen - sent) / 1e6,
                     "app_minus_raw_ms": (seen - read) / 1e6, "window_ms": window}
                )  # fmt: skip
            raw.action("Hangup", {"Channel": f"/^Local\\/{AGENT}@internal-.*/"})
            wait_screen(control, lambda text, m=marker: m not in text, args.event_timeout, 20)
            time.sleep(args.gap_ms / 1000)
    finally:
        if control is not None:
            control.close()
        tmux.close()
        if handset is not None:
            with contextlib.suppress(Exception):
                asyncio.run(handset.stop())
        if raw is not None:
            raw.close()
        lab.stop()
        lab.remove()
    return {
        "events": args.events,
        "seen": len(samples),
        "missed": missed,
        "raw": summary([s["raw_ms"] for s in samples]),
        "app": summary([s["app_ms"] for s in samples]),
        "app_minus_raw": summary([s["app_minus_raw_ms"] for s in samples]),
        "window": summary([s["window_ms"] for s in samples]),
        "samples": samples,
        "first_screen": first_screen,
        "started": started,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--events", type=int, default=100, help="calls placed, one at a time (100)")
    p.add_argument("--poll-ms", type=float, default=2.0, help="capture-pane poll period (2 ms)")
    p.add_argument("--gap-ms", type=float, default=200.0, help="pause after a row left the screen (200 ms)")
    p.add_argument("--event-timeout", type=float, default=10.0, help="seconds to wait for one row (10)")
    p.add_argument("--timeout", type=float, default=600.0, help="stop placing calls after this many seconds")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--raw-client", metavar="HOST:PORT", help=argparse.SUPPRESS)  # the baseline's own process
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.raw_client:
        host, port = args.raw_client.rsplit(":", 1)
        return raw_client(host, int(port))
    info = machine()
    with tempfile.TemporaryDirectory(prefix="cti-astbench-") as folder:
        out = measure(args, Path(folder))
    info["loadavg_after"] = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    if args.json:
        print(json.dumps({"machine": info, **out}, indent=1))
    else:
        print(f"commit {info['commit']} · {info['date']} · load {info['loadavg_before']} → {info['loadavg_after']}")
        print(f"events {out['seen']}/{out['events']} seen (missed: {out['missed'] or 'none'})")
        print(f"raw AMI client, Originate → DialBegin read: {fmt_summary(out['raw'])}")
        print(f"cti-tui, Originate → caller on screen:      {fmt_summary(out['app'])}")
        print(f"screen minus raw read, per event:          {fmt_summary(out['app_minus_raw'])}")
        print(f"resolution (capture before → matching one): {fmt_summary(out['window'])}")
    return 0 if out["seen"] and not out["missed"] else 1


if __name__ == "__main__":
    sys.exit(main())
