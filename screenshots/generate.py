"""Regenerate screenshots/ from the app itself: every scene of tests/scenes.py, the very states the
snapshot tests assert (virtual time, fixed seed, no random callers).

    python3 screenshots/generate.py            # all scenes
    python3 screenshots/generate.py lines      # just some

SVGs are written next to this file; `rsvg-convert x.svg -o x.png` (Debian: librsvg2-bin) makes a PNG.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))  # the scenes are test fixtures, shared with the snapshot tests

from scenes import SCENES, Scene, scene_app  # noqa: E402


async def shoot(scene: Scene) -> Path:
    with tempfile.TemporaryDirectory(prefix="cti-tui-shot-") as folder:
        app = scene_app(Path(folder), scene.org_size)
        async with app.run_test(size=scene.size) as pilot:
            await scene.setup(pilot)
            await pilot.pause()
            target = HERE / f"{scene.name}.svg"
            app.save_screenshot(filename=target.name, path=str(HERE))
    return target


def main(names: list[str]) -> None:
    wanted = [s for s in SCENES if not names or s.name in names]
    unknown = set(names) - {s.name for s in SCENES}
    if unknown:
        sys.exit(f"unknown scene(s): {', '.join(sorted(unknown))}; known: {', '.join(s.name for s in SCENES)}")
    for scene in wanted:
        path = asyncio.run(shoot(scene))
        print(f"{path.relative_to(HERE.parent)}  — {scene.description}")


if __name__ == "__main__":
    main(sys.argv[1:])
