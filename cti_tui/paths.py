"""Where cti-tui keeps its files (the platform's folders, overridable for tests and CI), and how it replaces
one without ever leaving it half written."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

import platformdirs

APP = "cti-tui"


def data_dir() -> Path:
    """History and other data: ``$CTI_TUI_DATA_DIR`` or the platform's user data folder."""
    override = os.environ.get("CTI_TUI_DATA_DIR")
    return Path(override) if override else platformdirs.user_data_path(APP)


def config_dir() -> Path:
    override = os.environ.get("CTI_TUI_CONFIG_DIR")
    return Path(override) if override else platformdirs.user_config_path(APP)


def history_path() -> Path:
    return data_dir() / "history.sqlite3"


@contextmanager
def replacing(path: Path, *, newline: str | None = None) -> Iterator[TextIO]:
    """A text file (UTF-8, readable by its owner only) that becomes ``path`` only if the block completes.

    It is written beside ``path`` under a temporary name, flushed to the disk, then renamed over ``path``: a
    full disk, a crash or an exception mid-write leaves the previous file whole and no temporary behind. The
    config file and the history's CSV export both go through here.
    """
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)  # 0600
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline=newline) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    with contextlib.suppress(OSError):  # the rename itself reaches the disk with the folder's entry
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
