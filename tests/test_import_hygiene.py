"""Below the front ends nothing imports the UI stack.

``cti_tui.core``, ``protocol``, ``engine``, ``backends``, ``pbx`` and ``store`` and every submodule load
without Textual or Rich.
Runs in a fresh interpreter, because this test process may already have imported them for other tests.
The package is walked dynamically, so modules added later are covered too.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

FORBIDDEN = ("textual", "rich")
PACKAGES = tuple(f"cti_tui.{name}" for name in ("core", "protocol", "engine", "backends", "pbx", "store"))
ROOT = Path(__file__).resolve().parents[1]

_PROBE = """
import importlib, json, pkgutil, sys

FORBIDDEN = {forbidden!r}

def loaded():
    return {{name for name in sys.modules if name.split(".")[0] in FORBIDDEN}}

culprits = {{}}
imported = []
errors = {{}}

def record(name):
    new = sorted(loaded() - seen)
    if new:
        culprits[name] = new
        seen.update(new)

seen = loaded()
assert not seen, f"forbidden modules loaded at start-up: {{sorted(seen)}}"
def onerror(name):
    errors[name] = repr(sys.exc_info()[1])

for top in {packages!r}:
    package = importlib.import_module(top)
    imported.append(package.__name__)
    record(package.__name__)
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + ".", onerror=onerror):
        try:
            importlib.import_module(info.name)
        except Exception as exc:
            errors[info.name] = repr(exc)
            continue
        imported.append(info.name)
        record(info.name)

report = {{"imported": imported, "culprits": culprits, "errors": errors, "loaded": sorted(loaded())}}
print(json.dumps(report))
"""


def _probe() -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-c", _PROBE.format(forbidden=FORBIDDEN, packages=PACKAGES)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_engine_imports_neither_textual_nor_rich() -> None:
    report = _probe()
    imported = report["imported"]
    assert isinstance(imported, list)
    for name in ("core.model", "core.machine", "protocol.events", "engine.connector", "backends.softphone"):
        assert f"cti_tui.{name}" in imported
    assert report["errors"] == {}, f"engine modules failed to import: {report['errors']}"
    assert report["culprits"] == {}, f"engine modules pulled in UI libraries: {report['culprits']}"
    assert report["loaded"] == []


_FORM_PROBE = """
import sys
import cti_tui.cli, cti_tui.assembly, cti_tui.ui.app, cti_tui.ui.screens.login
print(sorted(name for name in sys.modules if name.startswith("cti_tui.core.")))
"""


def test_the_login_forms_path_leaves_the_engines_vocabulary_for_later() -> None:
    """What runs before the login form is drawn is start-up time (bench/startup.py): core.commands alone is ~15
    ms of dataclass creation, and registry.py once pulled it in (with service levels and agent commands) just for
    type names. The session's modules load after the first frame (assembly.SESSION_MODULES)."""
    loaded = subprocess.run(
        [sys.executable, "-c", _FORM_PROBE], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert "cti_tui.core.commands" not in loaded, loaded
