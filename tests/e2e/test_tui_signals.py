"""The real ``cti-tui`` in a real pseudo-terminal: SIGTERM and SIGHUP end it as ctrl+q does.

Killed by the default handler, the TUI left the shell in the alternate screen with mouse reporting on and
exited 143 without logging out. Now the terminal gets Textual's restore sequences and the exit code is
128 + the signal's number (documented in the README).
"""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

TIMEOUT = 20.0
LEAVE_ALTERNATE_SCREEN = b"\x1b[?1049l"
MOUSE_OFF = b"\x1b[?1000l"


def _read_until(fd: int, wanted: bytes, seen: bytearray, timeout: float = TIMEOUT) -> bool:
    deadline = time.monotonic() + timeout
    while wanted not in seen:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: the child closed the terminal
                return wanted in seen
            if not chunk:
                return wanted in seen
            seen.extend(chunk)
    return True


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_termination_signal_restores_the_terminal(tmp_path: Path, signum: signal.Signals) -> None:
    leader, follower = pty.openpty()
    os.set_blocking(leader, True)
    env = {
        **os.environ,
        "TERM": "xterm-256color",
        "COLUMNS": "100",
        "LINES": "30",
        "CTI_TUI_DATA_DIR": str(tmp_path / "data"),
        "CTI_TUI_CONFIG_DIR": str(tmp_path / "config"),
    }
    env.pop("NO_COLOR", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "cti_tui", "--demo-rate", "0", "--no-history"],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env=env,
        start_new_session=True,
    )
    os.close(follower)
    seen = bytearray()
    try:
        assert _read_until(leader, b"Email", seen), f"the login form never showed: {bytes(seen[-400:])!r}"
        assert b"\x1b[?1049h" in seen  # in the alternate screen now
        process.send_signal(signum)
        _read_until(leader, LEAVE_ALTERNATE_SCREEN, seen)
        code = process.wait(timeout=TIMEOUT)
        tail = bytes(seen[seen.rfind(b"Email") :])
        assert LEAVE_ALTERNATE_SCREEN in tail and MOUSE_OFF in tail, tail[-300:]
        assert code == 128 + signum
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=TIMEOUT)
        os.close(leader)
