"""``cti-tui wall`` in a real pseudo-terminal: the same login form, then the read-only wallboard; q quits."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

from test_tui_signals import TIMEOUT, _read_until


def test_cti_tui_wall_logs_in_and_shows_the_queues(tmp_path: Path) -> None:
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
        [sys.executable, "-m", "cti_tui", "wall", "--queue", "support", "--demo-rate", "0", "--no-history"],
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
        os.write(leader, b"supervisor@demo.local\tdemo\r")
        assert _read_until(leader, b"service level % today", seen), f"no wall: {bytes(seen[-600:])!r}"
        assert _read_until(leader, b"Support", seen)
        assert b"Sales" not in seen[seen.find(b"cti-tui wall") :]  # only the queue asked for
        os.write(leader, b"q")
        assert process.wait(timeout=TIMEOUT) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=TIMEOUT)
        os.close(leader)
