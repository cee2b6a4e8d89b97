"""``cti-tui events`` as a real subprocess, with bounded waits on its JSON lines (shared by the CLI and e2e tests)."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

TIMEOUT = 15.0


class EventsProcess:
    """A running ``cti-tui events`` with bounded waits on its output lines."""

    def __init__(self, tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> None:
        environment = {**os.environ, "CTI_TUI_DATA_DIR": str(tmp_path / "data"), **(env or {})}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cti_tui", "events", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=environment,
            text=True,
        )
        self.lines: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(json.loads(line))
        self.lines.put(None)

    def send(self, obj: dict[str, Any] | str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((obj if isinstance(obj, str) else json.dumps(obj)) + "\n")
        self.proc.stdin.flush()

    def expect(self, match: Callable[[dict[str, Any]], bool], what: str) -> dict[str, Any]:
        """The next line that matches, within TIMEOUT seconds; every line read is kept in ``seen``."""
        while True:
            try:
                item = self.lines.get(timeout=TIMEOUT)
            except queue.Empty:
                raise AssertionError(f"timed out waiting for {what}; seen: {self.seen[-5:]}") from None
            if item is None:
                raise AssertionError(f"process ended before {what}; seen: {self.seen[-5:]}")
            self.seen.append(item)
            if match(item):
                return item

    def expect_event(self, name: str, **fields: Any) -> dict[str, Any]:
        def match(item: dict[str, Any]) -> bool:
            if item.get("name") != name:
                return False
            call = item.get("call", {})
            return all(item.get(k, call.get(k)) == v for k, v in fields.items())

        return self.expect(match, f"{name} {fields}")

    def finish(self) -> int:
        try:
            return self.proc.wait(timeout=TIMEOUT)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(timeout=TIMEOUT)

    def stderr(self) -> str:
        assert self.proc.stderr is not None
        return self.proc.stderr.read()
