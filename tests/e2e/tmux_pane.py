"""The real app in a real terminal: a private tmux server (its own socket, no user config) and one pane.

For the end-to-end terminal tests: what the terminal really received (``capture-pane -e`` keeps the cells'
attributes), its title, and keys typed as a user would. Every wait is bounded; the server is killed at the end.
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

WIDTH, HEIGHT = 120, 36
SGR = re.compile(r"\x1b\[([0-9;:]*)m")


def require_tmux() -> None:
    """Skip locally without tmux; fail under CI (CI must not skip silently)."""
    if shutil.which("tmux") is None:
        if os.environ.get("CI"):
            pytest.fail("CI: tmux not installed", pytrace=False)
        pytest.skip("tmux not installed")


def sgr_attributes(screen: str) -> set[int]:
    """The plain SGR attributes (bold, blink, a 16-colour background…) the captured cells carry; the
    parameters of 256-colour and true-colour selections (38/48/58;5;n and ;2;r;g;b) are not attributes."""
    found: set[int] = set()
    for match in SGR.finditer(screen):
        params = [int(p) if p.isdigit() else 0 for p in re.split("[;:]", match.group(1)) if p != ""]
        i = 0
        while i < len(params):
            if params[i] in (38, 48, 58) and i + 1 < len(params):
                i += 3 if params[i + 1] == 5 else 5
                continue
            found.add(params[i])
            i += 1
    return found


class Pane:
    """``python3 -m cti_tui ARGS`` in a detached tmux session of WIDTH × HEIGHT."""

    def __init__(self, tmp: Path, args: list[str]) -> None:
        self.socket = f"cti-tui-test-{os.getpid()}-{id(self)}"
        self.tmux = ["tmux", "-L", self.socket, "-f", "/dev/null"]
        env = {
            "PYTHONPATH": os.environ.get("PYTHONPATH", str(Path(__file__).resolve().parents[2])),
            "CTI_TUI_DATA_DIR": str(tmp / "data"),
            "CTI_TUI_CONFIG_DIR": str(tmp / "config"),
            "TERM": "xterm-256color",
        }
        # COLUMNS/LINES (pytest sets them) would override the pane's size: the app must see the terminal's own
        unset = ["-u", "COLUMNS", "-u", "LINES"]
        command = ["env", *unset, *(f"{k}={v}" for k, v in env.items()), sys.executable, "-m", "cti_tui", *args]
        self.run("new-session", "-d", "-s", "app", "-x", str(WIDTH), "-y", str(HEIGHT), shlex.join(command))
        self.run("set-option", "-g", "remain-on-exit", "on")
        self.title_at_start = self.title()
        self.socket_path = self.run("display-message", "-p", "#{socket_path}").strip()

    def run(self, *args: str) -> str:
        done = subprocess.run([*self.tmux, *args], capture_output=True, text=True, timeout=20)
        assert done.returncode == 0, f"tmux {' '.join(args)}: {done.stderr.strip()}"
        return done.stdout

    def title(self) -> str:
        return self.run("display-message", "-p", "-t", "app", "#{pane_title}").rstrip("\n")

    def text(self) -> str:
        return self.run("capture-pane", "-p", "-t", "app")

    def cells(self) -> str:
        """The screen with every cell's attributes as SGR sequences (what the terminal made of the bytes)."""
        return self.run("capture-pane", "-e", "-p", "-t", "app")

    def type(self, text: str) -> None:
        self.run("send-keys", "-t", "app", "-l", text)

    def press(self, *keys: str) -> None:
        self.run("send-keys", "-t", "app", *keys)

    async def until(self, predicate: str, timeout: float = 30.0) -> str:
        """Wait until ``predicate`` is on the screen; the screen."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            screen = self.text()
            if predicate in screen:
                return screen
            if loop.time() > deadline:
                raise AssertionError(f"{predicate!r} never showed; the screen:\n{screen}")
            await asyncio.sleep(0.1)

    def close(self) -> None:
        subprocess.run([*self.tmux, "kill-server"], capture_output=True, timeout=20)
        Path(self.socket_path).unlink(missing_ok=True)  # tmux leaves it behind
