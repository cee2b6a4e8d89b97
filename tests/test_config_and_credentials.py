"""The user's config file never breaks the app and never supplies secrets; keyring secrets degrade cleanly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keyring.backends.fail
import pytest

from cti_tui.config import AppConfig, load_config, save_email
from cti_tui.credentials import PLAINTEXT_REFUSED, SERVICE, CredentialStore, MemoryKeyring


def test_missing_file_gives_defaults(tmp_path: Path) -> None:
    config = load_config(tmp_path / "nope.toml")
    assert config == AppConfig()


def test_settings_are_read(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('email = "a@b.c"\nbell = false\nflash = false\ncursor_blink = false\n[keymap]\n"cti.dial" = "D"\n')
    config = load_config(path)
    assert (config.email, config.bell, config.flash, config.keymap) == ("a@b.c", False, False, {"cti.dial": "D"})
    assert config.cursor_blink is False
    assert config.problems == []


def test_secrets_in_the_config_file_are_ignored_and_reported(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('email = "a@b.c"\npassword = "hunter2"\napi_key = "k"\n')
    config = load_config(path)
    assert config.email == "a@b.c"
    assert not any(getattr(config, name, None) == "hunter2" for name in vars(config))
    assert len(config.problems) == 2 and all("never read from the config file" in p for p in config.problems)
    assert "hunter2" not in " ".join(config.problems)


def test_a_broken_file_gives_defaults_and_says_where(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("email = \n[[[")
    config = load_config(path)
    assert config.email is None and config.bell is True
    assert len(config.problems) == 1 and str(path) in config.problems[0] and "not valid TOML" in config.problems[0]


def test_wrong_types_fall_back_per_setting(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('bell = "loud"\nflash = false\nkeymap = 3\n')
    config = load_config(path)
    assert config.bell is True and config.flash is False and config.keymap == {}
    assert len(config.problems) == 2


def test_save_email_keeps_other_settings(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "config.toml"
    assert save_email("first@x.y", path) is None
    path.write_text(path.read_text() + "bell = false\n")
    assert save_email('second"@x.y', path) is None
    config = load_config(path)
    assert (config.email, config.bell) == ('second"@x.y', False)


def test_memory_keyring_roundtrip() -> None:
    backend = MemoryKeyring()
    store = CredentialStore(backend)
    assert store.available()[0]
    account = store.account("a@b.c", api_key=False)
    assert store.save(account, "s3cret") is None
    assert store.load(account) == "s3cret"
    assert backend.secrets == {(SERVICE, "password:a@b.c"): "s3cret"}
    store.forget(account)
    assert store.load(account) is None


def test_no_usable_keyring_says_so_and_remembers_nothing() -> None:
    store = CredentialStore(keyring.backends.fail.Keyring())
    ok, reason = store.available()
    assert not ok and "no system keyring" in reason
    account = store.account("a@b.c", api_key=True)
    assert store.save(account, "k") == reason
    assert store.load(account) is None
    store.forget(account)  # no error


def test_a_full_disk_leaves_the_config_whole(tmp_path: Path, monkeypatch) -> None:
    """Issue 15 #6: saving the email used to truncate config.toml and then fail, losing the keymap."""
    import errno
    import os

    from cti_tui import paths

    path = tmp_path / "config.toml"
    original = 'email = "old@x.y"\nbell = false\n[keymap]\n"cti.dial" = "D"\n'
    path.write_text(original)

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(paths.os, "fsync", full)  # the data reaches the disk here, or fails
    problem = save_email("new@x.y", path)
    assert problem is not None and "No space left" in problem
    assert path.read_text() == original
    assert [p.name for p in tmp_path.iterdir()] == ["config.toml"]  # no temporary file left behind
    monkeypatch.undo()
    assert save_email("new@x.y", path) is None
    config = load_config(path)
    assert (config.email, config.bell, config.keymap) == ("new@x.y", False, {"cti.dial": "D"})
    assert os.stat(path).st_mode & 0o777 == 0o600


def test_a_fifo_as_config_file_does_not_block_the_start(tmp_path: Path) -> None:
    import os

    path = tmp_path / "config.toml"
    os.mkfifo(path)
    config = load_config(path)
    assert config == AppConfig(problems=config.problems) and "not a regular file" in config.problems[0]


def test_only_the_top_level_email_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('email = "a@b.c"\nemails_seen = 3\n[keymap]\n"email" = "e"\n')
    assert save_email("z@b.c", path) is None
    assert path.read_text() == 'email = "z@b.c"\nemails_seen = 3\n[keymap]\n"email" = "e"\n'


# --- plain-file keyrings (issue 15 #10) ------------------------------------------------------------------------


@pytest.fixture
def plaintext_keyring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """keyrings.alt's real PlaintextKeyring (in the [test] extra), keeping its file under ``tmp_path``."""
    alt = pytest.importorskip("keyrings.alt.file", reason="keyrings.alt is in the [test] extra")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    return alt.PlaintextKeyring()


def test_a_plain_file_keyring_counts_as_none_unless_allowed(plaintext_keyring: Any) -> None:
    """Its secrets would lie base64-encoded in a file: remember-me is off, and says why, unless opted in."""
    store = CredentialStore(plaintext_keyring)
    ok, reason = store.available()
    assert (ok, reason) == (False, PLAINTEXT_REFUSED)
    account = store.account("a@b.c", api_key=False)
    assert store.save(account, "s3cret") == PLAINTEXT_REFUSED
    assert store.load(account) is None
    assert not Path(plaintext_keyring.file_path).exists()  # nothing was written

    allowed = CredentialStore(plaintext_keyring, allow_plaintext=True)
    assert allowed.available()[0]
    assert allowed.save(account, "s3cret") is None
    assert allowed.load(account) == "s3cret"
    assert Path(plaintext_keyring.file_path).exists()
    assert store.load(account) is None  # still refused without the opt-in


def test_a_chain_falls_back_to_no_plain_file_keyring(plaintext_keyring: Any) -> None:
    """keyring chains every viable backend (the system's store, then keyrings.alt's file): a refusal by the
    first would land the secret in the file. Without the opt-in the chain's plain-file members are skipped."""
    import keyring.backends.chainer

    memory = MemoryKeyring()

    class SystemThenFile(keyring.backends.chainer.ChainerBackend):
        @property
        def backends(self) -> list[Any]:
            return [memory, plaintext_keyring]

    assert CredentialStore(SystemThenFile()).backend is memory
    assert isinstance(CredentialStore(SystemThenFile(), allow_plaintext=True).backend, SystemThenFile)


def test_the_plain_file_opt_in_is_read_from_the_config(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    assert load_config(path).allow_plaintext_keyring is False
    path.write_text("allow_plaintext_keyring = true\n")
    assert load_config(path).allow_plaintext_keyring is True


def test_the_app_honours_the_plain_file_opt_in() -> None:
    from cti_tui.assembly import build_app

    assert build_app(config=AppConfig()).services.credentials.allow_plaintext is False
    opted_in = build_app(config=AppConfig(allow_plaintext_keyring=True))
    assert opted_in.services.credentials.allow_plaintext is True


def test_saving_makes_an_older_readable_config_folder_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 15 #10: folders 0700; one made 0755 by an earlier cti-tui is tightened at the next save."""
    own = tmp_path / "config"
    own.mkdir()
    own.chmod(0o755)
    monkeypatch.setenv("CTI_TUI_CONFIG_DIR", str(own))
    assert save_email("a@b.c") is None
    assert (own.stat().st_mode & 0o777, (own / "config.toml").stat().st_mode & 0o777) == (0o700, 0o600)
