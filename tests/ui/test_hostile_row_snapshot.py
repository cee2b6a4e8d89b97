"""Issue 14 #1, must show: a snapshot of a call row whose caller name is escape sequences. The row shows
the name with its controls as visible stand-ins (␛, ␇), drawn in the row's own colours: no title, no blink,
no red background from the name. Update deliberately with `pytest --snapshot-update`."""

from __future__ import annotations

from pathlib import Path

from scenes import MEDIUM, answered_call, as_agent, scene_app
from textual.pilot import Pilot

ATTACK = "\x1b]2;PWNED\x07Eve\x1b[5;41mZ"


async def hostile_caller(pilot: Pilot[None]) -> None:
    await as_agent(pilot)
    await answered_call(pilot, number="+12025550143", name=ATTACK)
    assert "␛]2;PWNED␇Eve␛[5;41mZ" in pilot.app.export_screenshot()


def test_a_row_with_an_escape_sequence_name(snap_compare, tmp_path: Path) -> None:
    assert snap_compare(scene_app(tmp_path), run_before=hostile_caller, terminal_size=MEDIUM)
