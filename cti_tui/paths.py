"""Where cti-tui keeps its files: the platform's folders (platformdirs), overridable for tests and CI."""

from __future__ import annotations

import os
from pathlib import Path

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
