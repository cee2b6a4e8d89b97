"""The user's settings: ``config.toml`` in the platform's config folder (or ``$CTI_TUI_CONFIG_DIR``).

Loading never fails: a missing file gives the defaults; a broken one gives the defaults plus a list of
problems the app shows as a notification (a bad config must not lock anyone out of their phone).
Secrets are never read from here: a ``password`` or ``api_key`` key is ignored and reported.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from cti_tui import paths

SECRET_KEYS = ("password", "api_key", "apikey", "secret", "token", "otp")


@dataclass
class AppConfig:
    email: str | None = None
    server_url: str | None = None
    softphone_interface: str = "127.0.0.1"  # where a baresip cti-tui starts listens (SIP and RTP)
    softphone_sip_port: int = 5070
    softphone_ctrl_port: int = 4470
    softphone_name: str | None = None  # the display name callers see
    use_api_key: bool = False
    bell: bool = True
    flash: bool = True
    hold_on_new_call: bool = True  # dialling or answering while on a call holds that call first
    cursor_blink: bool = True  # off: text cursors stay solid (steadier for screen readers and snapshots)
    keymap: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def config_path() -> Path:
    return paths.config_dir() / "config.toml"


def load_config(path: Path | None = None) -> AppConfig:
    path = path or config_path()
    config = AppConfig()
    if path.exists() and not path.is_file():  # a FIFO or a device would block the start on read
        config.problems.append(f"{path}: not a regular file; using defaults")
        return config
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return config
    except (OSError, UnicodeDecodeError) as exc:
        config.problems.append(f"{path}: cannot read ({exc}); using defaults")
        return config
    import tomllib  # only when there is a file: a first start has none

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        config.problems.append(f"{path}: not valid TOML ({exc}); using defaults")
        return config
    for key in data:
        if key.lower() in SECRET_KEYS:
            config.problems.append(f"{path}: '{key}' ignored — secrets are never read from the config file")
    _take(config, data, path, "email", str)
    _take(config, data, path, "server_url", str)
    _take(config, data, path, "softphone_interface", str)
    _take(config, data, path, "softphone_sip_port", int)
    _take(config, data, path, "softphone_ctrl_port", int)
    _take(config, data, path, "softphone_name", str)
    _take(config, data, path, "use_api_key", bool)
    _take(config, data, path, "bell", bool)
    _take(config, data, path, "flash", bool)
    _take(config, data, path, "cursor_blink", bool)
    _take(config, data, path, "hold_on_new_call", bool)
    keymap = data.get("keymap", {})
    if not isinstance(keymap, dict) or not all(isinstance(v, str) for v in keymap.values()):
        config.problems.append(f'{path}: [keymap] must map binding ids to keys, e.g. "cti.dial" = "D"')
    else:
        config.keymap = {str(k): v for k, v in keymap.items()}
    return config


def _take(config: AppConfig, data: dict[str, object], path: Path, key: str, kind: type) -> None:
    if key not in data:
        return
    value = data[key]
    if isinstance(value, kind):
        setattr(config, key, value)
    else:
        config.problems.append(f"{path}: '{key}' should be {kind.__name__}, got {value!r}; using the default")


def save_email(email: str, path: Path | None = None) -> str | None:
    """Remember the last email (not a secret) for the login form; returns a problem or None.

    The file is replaced atomically (a temporary file beside it, flushed to disk, then renamed over it): a full
    disk or a crash mid-write leaves the previous file whole, never a truncated one that loses the keymap.
    """
    path = path or config_path()
    try:
        lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
        first_table = next((i for i, line in enumerate(lines) if line.lstrip().startswith("[")), len(lines))
        kept = [line for i, line in enumerate(lines) if i >= first_table or not _EMAIL_KEY.match(line)]
        write_atomically(path, "\n".join([f"email = {_toml_string(email)}", *kept]) + "\n")
    except OSError as exc:
        return f"could not save the email to {path}: {exc}"
    return None


_EMAIL_KEY = re.compile(r"\s*email\s*=")


def write_atomically(path: Path, text: str) -> None:
    """``text`` into ``path`` all or nothing, readable by its owner only (0600; a new folder 0700)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # created 0600
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
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


def _toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
