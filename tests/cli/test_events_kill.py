"""Issue 15 #8: an ended call that ``cti-tui events`` printed is in the history, however hard the process dies.

A real subprocess on the demo PBX with many calls ending, killed with SIGKILL right after it printed an ended
call (the moment a row still on the writer thread would be lost), 30 times; each run writes its own history
file, so a call id can only be found where that run put it.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from events_process import TIMEOUT, EventsProcess

KILLS = 30
# 240 simulated calls a minute at 40× speed: ~160 calls a second reach the demo, most end unanswered within
# the second, so every kill lands while rows are being written.
LOAD = ("--demo-rate", "240", "--speed", "40")


def _ended(item: dict[str, Any]) -> bool:
    return item.get("name") in ("HANGUP", "CANCEL")


def _stored(data: Path) -> set[str]:
    connection = sqlite3.connect(data / "history.sqlite3")
    try:
        return {row[0] for row in connection.execute("SELECT id FROM calls")}
    finally:
        connection.close()


def _printed_then_killed(folder: Path, ends: int) -> tuple[set[str], Path]:
    """Start ``events``, read ``ends`` ended calls, SIGKILL it at once; the ids printed and its data folder."""
    process = EventsProcess(folder, *LOAD)
    try:
        printed = {process.expect(_ended, "HANGUP or CANCEL")["call"]["id"] for _ in range(ends)}
    finally:
        process.proc.kill()
        process.proc.wait(timeout=TIMEOUT)
    return printed, folder / "data"


def test_no_printed_end_is_missing_from_history_after_kill_9(tmp_path: Path) -> None:
    printed_in_all = 0
    missing: list[str] = []
    for run in range(KILLS):
        printed, data = _printed_then_killed(tmp_path / f"run-{run}", 1 + run % 4)
        printed_in_all += len(printed)
        missing += sorted(printed - _stored(data))
    assert printed_in_all >= KILLS
    assert missing == []
