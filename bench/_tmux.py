"""A private tmux server for a benchmark, and a control-mode client to talk to it without a fork per command.

``capture-pane`` through ``tmux -C`` costs one round trip to the server (a fraction of a millisecond) instead of
starting a ``tmux`` process per poll (several milliseconds of CPU on a 2-core machine that also runs the app
under test). The control client attaches to its own idle session, so it never receives the output of the
panes it polls (control mode sends ``%output`` only for the attached session's panes).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import subprocess
import time


class TmuxError(RuntimeError):
    pass


class TmuxServer:
    """``tmux -L <socket> -f /dev/null``: nothing from the user's tmux config, killed in :meth:`close`."""

    def __init__(self, socket: str) -> None:
        self.socket = socket
        self.base = ["tmux", "-L", socket, "-f", "/dev/null"]
        self.started = False
        self.socket_path = ""

    def run(self, *args: str) -> str:
        done = subprocess.run([*self.base, *args], capture_output=True, text=True, timeout=20)
        if done.returncode != 0:
            raise TmuxError(f"tmux {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    def new_session(self, name: str, command: list[str], width: int, height: int, env: dict[str, str]) -> None:
        """A detached session of exactly ``width`` × ``height`` running ``command`` (no status line)."""
        shell = " ".join(shlex.quote(part) for part in ["env", *(f"{k}={v}" for k, v in env.items()), *command])
        self.run("new-session", "-d", "-s", name, "-x", str(width), "-y", str(height), shell)
        if not self.started:
            self.started = True
            self.socket_path = self.run("display-message", "-p", "#{socket_path}").strip()
            for option in (("status", "off"), ("remain-on-exit", "on")):  # window-size manual crashes 3.3a
                self.run("set-option", "-g", *option)
        self.run("set-option", "-t", name, "status", "off")
        self.run("set-window-option", "-t", name, "remain-on-exit", "on")
        self.run("resize-window", "-t", name, "-x", str(width), "-y", str(height))

    def pane_size(self, target: str) -> tuple[int, int]:
        out = self.run("display-message", "-p", "-t", target, "#{pane_width} #{pane_height}")
        w, h = out.split()
        return int(w), int(h)

    def pane_pid(self, target: str) -> int:
        return int(self.run("display-message", "-p", "-t", target, "#{pane_pid}").strip())

    def server_pid(self) -> int | None:
        with contextlib.suppress(TmuxError, ValueError):
            return int(self.run("display-message", "-p", "#{pid}").strip())
        return None

    def close(self) -> None:
        """Kill the server (and so every pane's process) whether or not a session got started."""
        with contextlib.suppress(Exception):
            subprocess.run([*self.base, "kill-server"], capture_output=True, timeout=10)
        self.started = False
        if self.socket_path:  # tmux 3.3a leaves the socket file behind
            with contextlib.suppress(OSError):
                os.unlink(self.socket_path)


class ControlClient:
    """``tmux -C attach -t <session>``: one command at a time, its output block returned as lines."""

    def __init__(self, server: TmuxServer, session: str) -> None:
        self.proc = subprocess.Popen(
            [*server.base, "-C", "attach-session", "-t", session],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self._in = self.proc.stdin
        self._out = self.proc.stdout
        # resynchronise: everything before the answer to this marker (the attach's own block, notifications)
        # is discarded
        token = f"sync-{os.getpid()}-{time.monotonic_ns()}"
        self._send(f"display-message -p {token}")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if token in self._block():
                break
        else:
            raise TmuxError("control client did not answer")

    def _send(self, line: str) -> None:
        self._in.write(line.encode() + b"\n")
        self._in.flush()

    def _block(self) -> list[str]:
        """The output of the next command this client sent: a %begin … %end block whose flags are 1. Lines
        outside blocks are notifications; blocks with flags 0 come from tmux itself (the attach, and one more
        right after it): both are skipped."""
        while True:
            raw = self._out.readline()
            if not raw:
                raise TmuxError("control client closed")
            if raw.startswith(b"%begin"):
                if raw.split()[-1] == b"1":
                    break
                self._skip_block()
        lines: list[str] = []
        while True:
            raw = self._out.readline()
            if not raw:
                raise TmuxError("control client closed")
            if raw.startswith((b"%end", b"%error")):
                if raw.startswith(b"%error"):
                    raise TmuxError("tmux: " + " ".join(lines))
                return lines
            lines.append(raw.decode("utf-8", "replace").rstrip("\n"))

    def _skip_block(self) -> None:
        while True:
            raw = self._out.readline()
            if not raw:
                raise TmuxError("control client closed")
            if raw.startswith((b"%end", b"%error")):
                return

    def command(self, line: str) -> list[str]:
        self._send(line)
        return self._block()

    def capture(self, target: str) -> list[str]:
        """The visible text of a pane, one string per row."""
        return self.command(f"capture-pane -p -t {target}")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._in.close()
        with contextlib.suppress(Exception):
            self.proc.terminate()
            self.proc.wait(timeout=5)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)
