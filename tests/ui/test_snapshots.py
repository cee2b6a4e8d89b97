"""Snapshots of every main state of the app (always asserted). The states come from tests/scenes.py, the
same module screenshots/generate.py draws from. Update deliberately with `pytest --snapshot-update`."""

from __future__ import annotations

from pathlib import Path

import pytest
from scenes import SCENES, scene, scene_app


@pytest.mark.parametrize("name", [s.name for s in SCENES])
def test_scene(name: str, snap_compare, tmp_path: Path) -> None:
    wanted = scene(name)
    assert snap_compare(scene_app(tmp_path, wanted.org_size), run_before=wanted.setup, terminal_size=wanted.size)
