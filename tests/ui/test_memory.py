"""settle_long_lived changes the whole process's collector, so it is checked in a child process."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import gc
from cti_tui.ui.textual_ext.memory import YOUNG_THRESHOLD, settle_long_lived
gc.set_threshold({young}, 10, 10)
kept = [[n] for n in range(1000)]  # alive now: frozen
settle_long_lived()
print(gc.get_freeze_count() >= 1000, gc.get_threshold()[0] == max({young}, YOUNG_THRESHOLD) if {young} else
      gc.get_threshold()[0] == 0, len(gc.get_objects(2)) < gc.get_freeze_count())
"""


def run(young: int) -> str:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(young=young)], capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout.strip()


def test_survivors_frozen_and_the_young_collected_rarely() -> None:
    assert run(700) == "True True True"


def test_a_collector_turned_off_stays_off() -> None:
    assert run(0) == "True True True"


# `cti-tui` pauses the collector for the start-up; the app turns it back on once the login form is drawn
# and the session's modules are in. A real app, on virtual time, in a child process.
START = """
import asyncio, gc, tempfile
from pathlib import Path
from cti_tui.credentials import CredentialStore, MemoryKeyring
from cti_tui.core.clock import VirtualClock
from cti_tui.assembly import build_app, wiring_of
from cti_tui.ui.textual_ext.memory import pause_collection

{before}
pause_collection()
app = build_app(clock=VirtualClock(), traffic=False, history_path=Path(tempfile.mkdtemp()) / "h.sqlite3",
                credentials=CredentialStore(MemoryKeyring()), remember_email=False,
                watched_path=Path(tempfile.mkdtemp()) / "watched-lines.json")

async def main():
    async with app.run_test(size=(100, 30)) as pilot:
        paused = not gc.isenabled()
        for _ in range(200):
            await pilot.pause()
            if wiring_of(app).prepared and not app.workers:
                break
        print(paused, gc.isenabled(), wiring_of(app).prepared)

asyncio.run(main())
"""


def start(before: str = "") -> str:
    done = subprocess.run(
        [sys.executable, "-c", START.format(before=before)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


def test_the_collector_is_paused_until_the_login_form_is_up() -> None:
    assert start() == "True True True"


def test_a_collector_turned_off_before_start_stays_off() -> None:
    assert start("gc.disable()") == "True False True"
