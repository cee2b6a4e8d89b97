"""bench/asterisk_latency.py with two events: its own Asterisk, phone, app in tmux and raw AMI client run, each
call shows on the app's screen as a ringing row with its marker, the raw client read the same DialBegin, and
everything it started is gone afterwards. The figures themselves are not asserted (bench/README.md)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from amilab import asterisk_lab

pytestmark = pytest.mark.timeout(300)
ROOT = Path(__file__).resolve().parents[2]


def test_the_latency_bench_sees_each_call_on_the_screen_and_at_the_raw_client() -> None:
    if os.geteuid() != 0 or not asterisk_lab.root_ready() or shutil.which("baresip") is None:
        pytest.skip("the Asterisk lab cannot run here (root, the cached Asterisk root and baresip are needed)")
    labs = asterisk_lab.root_path() / "lab"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "asterisk_latency.py"), "--events", "2", "--json"],
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout)
    assert (out["seen"], out["missed"]) == (2, [])
    assert [s["marker"] for s in out["samples"]] == ["LAT0000", "LAT0001"]
    for name in ("raw", "app", "app_minus_raw"):
        assert out[name]["n"] == 2
    row = next(line for line in out["first_screen"] if "LAT0000" in line)
    assert "RINGING" in row and "700000" in row and "user:1001" in row, row
    assert out["machine"]["loadavg_before"] and out["machine"]["commit"]
    started = out["started"]
    assert not (labs / started["lab"]).exists(), "the bench left its lab's folder behind"
    for pid in (started["asterisk_pid"], started["baresip_pid"], started["raw_client_pid"]):
        assert not running(pid), f"process {pid} still runs"
    tmux = subprocess.run(["tmux", "-L", started["tmux_socket"], "ls"], capture_output=True, text=True, timeout=20)
    assert tmux.returncode != 0, "the bench's tmux server still runs"


def running(pid: int) -> bool:
    """Alive and not a zombie (a zombie has exited; its parent, gone with the bench, no longer reaps it)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"
