"""The user's settings: ``config.toml`` in the platform's config folder (or ``$CTI_TUI_CONFIG_DIR``).

Loading never fails: a missing file gives the defaults; a broken one gives the defaults plus a list of
problems the app shows as a notification (a bad config must not lock anyone out of their phone).
Secrets are never read from here: a ``password`` or ``api_key`` key is ignored and reported.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from cti_tui import paths

SECRET_KEYS = ("password", "api_key", "apikey", "secret", "token", "otp", "softphone_password", "sip_password")


@dataclass
class AppConfig:
    email: str | None = None
    server_url: str | None = None
    softphone_interface: str = "127.0.0.1"  # where a baresip cti-tui starts listens (SIP and RTP)
    softphone_sip_port: int = 5070
    softphone_ctrl_port: int = 4470
    softphone_name: str | None = None  # the display name callers see
    softphone_registrar: str = ""  # host[:port]: register there and dial numbers via it ("" none)
    softphone_proxy: str = ""  # host[:port] of an outbound proxy ("" none)
    softphone_user: str = ""  # the SIP account's user ("" the login's local part)
    softphone_auth_user: str = ""  # the digest user, when not the SIP user
    asterisk_org: str | None = None  # the org file of `--pbx asterisk://…` when --org is not given
    use_api_key: bool = False
    allow_plaintext_keyring: bool = False  # remember-me in a plain-file keyring (keyrings.alt): off unless asked
    bell: bool = True
    flash: bool = True
    hold_on_new_call: bool = True  # dialling or answering while on a call holds that call first
    cursor_blink: bool = True  # off: text cursors stay solid (steadier for screen readers and snapshots)
    keymap: dict[str, str] = field(default_factory=dict)
    contacts: list[str] = field(default_factory=list)  # [contacts] files: CSV and vCard, for "who is calling"
    crm_url: str | None = None  # [contacts] crm_url: a page per caller, "{number}" replaced by its E.164
    problems: list[str] = field(default_factory=list)


_SIP_HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.\-]{0,251}[A-Za-z0-9])?)(:[0-9]{1,5})?$")


def valid_sip_host(text: str) -> bool:
    """``host``, ``host:port`` or ``[v6]:port``: a registrar's or proxy's address."""
    match = _SIP_HOST.match(text)
    return match is not None and (not match.group(2) or 0 < int(match.group(2)[1:]) < 65536)


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
    for key in ("softphone_registrar", "softphone_proxy"):
        _take(config, data, path, key, str)
        if getattr(config, key) and not valid_sip_host(getattr(config, key)):
            config.problems.append(f"{path}: {key} must be host or host:port, not {getattr(config, key)!r}")
            setattr(config, key, "")
    _take(config, data, path, "softphone_user", str)
    _take(config, data, path, "softphone_auth_user", str)
    _take(config, data, path, "asterisk_org", str)
    _take(config, data, path, "use_api_key", bool)
    _take(config, data, path, "allow_plaintext_keyring", bool)
    _take(config, data, path, "bell", bool)
    _take(config, data, path, "flash", bool)
    _take(config, data, path, "cursor_blink", bool)
    _take(config, data, path, "hold_on_new_call", bool)
    _take_contacts(config, data.get("contacts", {}), path)
    keymap = data.get("keymap", {})
    if not isinstance(keymap, dict) or not all(isinstance(v, str) for v in keymap.values()):
        config.problems.append(f'{path}: [keymap] must map binding ids to keys, e.g. "cti.dial" = "D"')
    else:
        config.keymap = {str(k): v for k, v in keymap.items()}
    return config


if TYPE_CHECKING:  # (here, not at the top: read_contacts imports it late, phonenumbers is slow to load)
    from cti_tui.core.contacts import ContactBook


def _take_contacts(config: AppConfig, table: object, path: Path) -> None:
    """``[contacts]``: ``files = ["~/contacts.csv", "~/people.vcf"]`` and ``crm_url = "https://…{number}"``."""
    if not isinstance(table, dict):
        config.problems.append(f"{path}: [contacts] must be a table with files and crm_url")
        return
    files = table.get("files", [])
    if isinstance(files, list) and all(isinstance(f, str) for f in files):
        config.contacts = list(files)
    else:
        config.problems.append(f"{path}: [contacts] files must be a list of file paths")
    crm_url = table.get("crm_url")
    if crm_url is not None and not (isinstance(crm_url, str) and crm_url.startswith(("http://", "https://"))):
        config.problems.append(f"{path}: [contacts] crm_url must be an http(s) URL, got {crm_url!r}")
    elif crm_url is not None:
        config.crm_url = crm_url


def read_contacts(files: list[str], region: str | None = None) -> tuple[ContactBook, list[str]]:
    """The contacts of every file (``.vcf``/``.vcard`` as vCard, else CSV), and a problem line for each file
    that could not be read or understood. Blocking: run it off the event loop."""
    from cti_tui.core.contacts import Contact, ContactBook, parse_csv, parse_vcard

    contacts: list[Contact] = []
    problems: list[str] = []
    for name in files:
        path = Path(name).expanduser()
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"contacts: cannot read {path}: {exc}")
            continue
        if path.suffix.lower() in (".vcf", ".vcard"):
            contacts += parse_vcard(text)
        else:
            found, trouble = parse_csv(text)
            contacts += found
            problems += [f"contacts: {path}: {line}" for line in trouble]
    return ContactBook(contacts, region), problems


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
    """``text`` into ``path`` all or nothing, readable by its owner only (0600; a new folder 0700, and
    cti-tui's own config folder made 0700 if an older cti-tui left it readable by others)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with paths.replacing(path) as handle:
        handle.write(text)
    with contextlib.suppress(OSError):  # saved already: a folder that is not ours to change stays as it is
        if path.parent == paths.config_dir() and path.parent.stat().st_mode & 0o077:
            path.parent.chmod(0o700)


def _toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
