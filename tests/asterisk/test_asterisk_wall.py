"""``cti-tui wall --pbx asterisk://…`` in a real pseudo-terminal on a real Asterisk 22: the wallboard runs on
a real PBX as on the demo (the org file's supervisor logs in; the Sales card shows its figures); q quits."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
from amilab import Lab, asterisk_fixture  # noqa: F401 - fixtures
from test_asterisk_serve import PEOPLE, environment, org_file

from tests.e2e.test_tui_signals import TIMEOUT, _read_until

pytestmark = pytest.mark.timeout(300)


def test_cti_tui_wall_on_asterisk_shows_the_org_files_queue(asterisk: Lab, tmp_path: Path) -> None:
    leader, follower = pty.openpty()
    os.set_blocking(leader, True)
    env = {**environment(tmp_path, asterisk.ami_secret), "TERM": "xterm-256color", "COLUMNS": "100", "LINES": "30"}
    env.pop("NO_COLOR", None)
    command = [sys.executable, "-m", "cti_tui", "wall", "--pbx", asterisk.url(), "--org", str(org_file(tmp_path)),
               "--no-history"]  # fmt: skip
    process = subprocess.Popen(
        command, stdin=follower, stdout=follower, stderr=follower, env=env, start_new_session=True
    )
    os.close(follower)
    seen = bytearray()
    try:
        assert _read_until(leader, b"Email", seen), f"the login form never showed: {bytes(seen[-400:])!r}"
        os.write(leader, f"sue@lab.example\t{PEOPLE['sue@lab.example'][2]}\r".encode())
        assert _read_until(leader, b"service level %", seen), f"no wall: {bytes(seen[-600:])!r}"
        assert _read_until(leader, b"offered 0", seen), f"no figures: {bytes(seen[-600:])!r}"
        assert b"Sales" in seen, bytes(seen[-600:])  # the org file's queue, by its name
        wall = bytes(seen[seen.find(b"cti-tui wall") :])
        assert b"may not watch" not in wall and b"no queues to show" not in wall, wall[-600:]
        os.write(leader, b"q")
        assert process.wait(timeout=TIMEOUT) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=TIMEOUT)
        os.close(leader)
