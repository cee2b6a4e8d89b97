"""The lines each user watches, remembered between logins: ``watched-lines.json`` in the config folder.

Keyed by backend and user (``embedded PBX`` + ``supervisor@demo.local``): the same e-mail on a CTI server or an
Asterisk watches another world's lines. Not in ``config.toml``: that file is the user's to edit, this one is
rewritten at every change (atomically, 0600). Reading never fails the login: a broken file gives no lines and a
problem to show; a file from a newer cti-tui is left untouched (its format may mean more than this one knows).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from cti_tui import paths
from cti_tui.config import write_atomically

VERSION = 1
MAX_LINES = 20_000  # per user: a wall of the big org (10,200 lines) fits; a runaway file does not load forever
MAX_NODE = 200  # characters: a node is `kind:id`


def lines_path() -> Path:
    return paths.config_dir() / "watched-lines.json"


def _key(backend: str, email: str) -> str:
    return f"{backend} {email.lower()}"


class _Foreign(Exception):
    """A file of another version: neither read nor overwritten."""


def _read(path: Path) -> tuple[dict[str, list[str]], str | None]:
    """Every user's lines, or nothing and the reason (a broken file will be replaced; raises _Foreign)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}, None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return {}, f"{path}: unreadable ({exc}); no watched lines restored"
    if not isinstance(data, dict) or not isinstance(data.get("users"), dict):
        return {}, f"{path}: not a watched-lines file; no watched lines restored"
    if data.get("version") != VERSION:
        raise _Foreign(f"{path}: version {data.get('version')!r}, not {VERSION}: left as it is")
    users: dict[str, list[str]] = {}
    for key, nodes in data["users"].items():
        if isinstance(nodes, list):
            users[str(key)] = [n for n in nodes[:MAX_LINES] if isinstance(n, str) and 0 < len(n) <= MAX_NODE]
    return users, None


def recall(backend: str, email: str, path: Path | None = None) -> tuple[list[str], str | None]:
    """The lines ``email`` watched on ``backend`` last time (in order), and a problem to show, if any."""
    try:
        users, problem = _read(path or lines_path())
    except _Foreign as exc:
        return [], f"{exc}; no watched lines restored"
    return users.get(_key(backend, email), []), problem


def remember(backend: str, email: str, nodes: Sequence[str], path: Path | None = None) -> str | None:
    """Store the lines ``email`` watches on ``backend`` now; a problem to show, or None."""
    path = path or lines_path()
    try:
        users, _problem = _read(path)  # (a broken file was reported when read: it is replaced)
    except _Foreign as exc:
        return f"watched lines not saved: {exc}"
    key = _key(backend, email)
    if list(nodes):
        users[key] = list(dict.fromkeys(nodes))[:MAX_LINES]
    else:
        users.pop(key, None)
    try:
        write_atomically(path, json.dumps({"version": VERSION, "users": users}, indent=1) + "\n")
    except OSError as exc:
        return f"watched lines not saved to {path}: {exc}"
    return None
