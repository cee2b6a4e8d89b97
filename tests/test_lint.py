"""The code base stays ruff-clean, ruff-formatted and mypy-clean: the same checks CI and reviewers run.

Each runs the tool as CI installs it (the test extras), with the settings in pyproject.toml.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PATHS = ("cti_tui", "tests", "bench", "screenshots")  # what ruff checks and formats; mypy's files are in its config


def run_tool(module: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    if importlib.util.find_spec(module) is None:
        pytest.fail(f"{module} is not installed: install the test extras (pip install -e '.[test]')")
    return subprocess.run(
        [sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


def test_ruff_check_is_clean() -> None:
    result = run_tool("ruff", "check", *PATHS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_clean() -> None:
    result = run_tool("ruff", "format", "--check", *PATHS)
    assert result.returncode == 0, (
        f"{result.stdout}{result.stderr}\nto fix: ruff format {' '.join(PATHS)}  (then look at the diff)"
    )


@pytest.mark.timeout(600)  # a first run, with no cache, checks the whole package and what it imports
def test_mypy_is_clean() -> None:
    result = run_tool("mypy", timeout=500)  # files and settings: [tool.mypy] in pyproject.toml
    if result.returncode == 0:
        return
    errors = re.findall(r"^(.+?):\d+: error: ", result.stdout, re.MULTILINE)
    by_file = "\n".join(f"  {count:3} {path}" for path, count in sorted(Counter(errors).items()))
    pytest.fail(
        f"mypy reports {len(errors)} error(s)" + (f", by file:\n{by_file}" if errors else "") + "\n\n"
        f"{result.stdout}{result.stderr}",
        pytrace=False,
    )
