"""settle_long_lived changes the whole process's collector, so it is checked in a child process."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import gc
from cti_tui.ui.memory import YOUNG_THRESHOLD, settle_long_lived
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
