"""`--pbx asterisk://…` on the command line: the app, `cti-tui events` and `cti-tui serve` each say in one line
why an Asterisk cannot be used (unreachable, no secret, no org file, a bad one), before taking the screen or
a port; the AMI secret comes from the environment, the keyring or a prompt on a terminal, never argv.
No Asterisk here: the address is a closed port on 127.0.0.1 (tests/asterisk has the real ones)."""

from __future__ import annotations

import os
import pty
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import keyring
import pytest

from cti_tui import cli
from cti_tui.credentials import MemoryKeyring

TIMEOUT = 30.0
ORG = """
[[users]]
email = "ann@lab.example"
name = "Ann"
extension = "1001"
password_hash = "pbkdf2_sha256$1000$salt$00"
"""


def closed_port() -> int:
    """A port nothing listens on (bound, then released: connecting is refused at once)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "CTI_TUI_AMI_SECRET"}
    return {
        **env,
        "CTI_TUI_DATA_DIR": str(tmp_path / "data"),
        "CTI_TUI_CONFIG_DIR": str(tmp_path / "config"),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        **extra,
    }


def run(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cti_tui", *args],
        env=environment(tmp_path, **env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture(name="org")
def org_fixture(tmp_path: Path) -> Path:
    path = tmp_path / "org.toml"
    path.write_text(ORG)
    return path


def test_an_unreachable_asterisk_is_one_line_for_each_front_end(tmp_path: Path, org: Path) -> None:
    address = f"asterisk://cti@127.0.0.1:{closed_port()}"
    fronts = [
        ("serve", "--pbx", address, "--org", str(org), "--no-history"),
        ("events", "--pbx", address, "--email", "1001@lab.example", "--no-history"),
        ("--pbx", address, "--no-history"),  # the app: before the screen is taken over
    ]
    for args in fronts:
        line = one_line(run(tmp_path, *args, CTI_TUI_AMI_SECRET="s3cret-in-env"))
        assert line.startswith("cti-tui: error: cannot reach AMI at 127.0.0.1:"), (args, line)
        assert "s3cret-in-env" not in line


def test_what_is_missing_is_named(tmp_path: Path, org: Path) -> None:
    address = f"asterisk://cti@127.0.0.1:{closed_port()}"
    no_secret = one_line(run(tmp_path, "events", "--pbx", address, "--email", "1001@lab.example"))
    assert "no AMI secret" in no_secret and "CTI_TUI_AMI_SECRET" in no_secret and "keyring" in no_secret
    no_org = one_line(run(tmp_path, "serve", "--pbx", address, CTI_TUI_AMI_SECRET="s"))
    assert "only with an org file" in no_org and "--org" in no_org
    bad = tmp_path / "bad.toml"
    bad.write_text(ORG.replace('extension = "1001"', 'extension = "1001"\nendpoint = "a b"'))
    bad_org = one_line(run(tmp_path, "serve", "--pbx", address, "--org", str(bad), CTI_TUI_AMI_SECRET="s"))
    assert "bad.toml: users[0].endpoint" in bad_org
    in_address = one_line(run(tmp_path, "serve", "--pbx", "asterisk://cti:pw@127.0.0.1", "--org", str(org)))
    assert "no secret in the address" in in_address
    other = one_line(run(tmp_path, "--pbx", "sip://1001@127.0.0.1"))
    assert "asterisk://USER@HOST:PORT" in other
    both = one_line(run(tmp_path, "events", "--pbx", address, "--server", "http://127.0.0.1:1"))
    assert "cannot be used together" in both


def test_the_org_file_may_come_from_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "config.toml").write_text(f'asterisk_org = "{tmp_path / "configured-org.toml"}"\n')
    address = f"asterisk://cti@127.0.0.1:{closed_port()}"
    line = one_line(run(tmp_path, "serve", "--pbx", address, CTI_TUI_AMI_SECRET="s"))
    assert "configured-org.toml: cannot read" in line


def test_the_secret_from_the_keyring(
    tmp_path: Path, org: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    port = closed_port()
    previous = keyring.get_keyring()
    store = MemoryKeyring()
    store.set_password("cti-tui", f"ami:cti@127.0.0.1:{port}", "from-the-keyring")
    keyring.set_keyring(store)
    monkeypatch.delenv("CTI_TUI_AMI_SECRET", raising=False)
    monkeypatch.setenv("CTI_TUI_CONFIG_DIR", str(tmp_path / "config"))
    try:
        code = cli.main(["serve", "--pbx", f"asterisk://cti@127.0.0.1:{port}", "--org", str(org), "--no-history"])
    finally:
        keyring.set_keyring(previous)
    error = capsys.readouterr().err
    assert code == 2 and "cannot reach AMI" in error and "no AMI secret" not in error, error


def test_the_secret_is_prompted_on_a_terminal_and_not_echoed(tmp_path: Path, org: Path) -> None:
    address = f"asterisk://cti@127.0.0.1:{closed_port()}"
    command = [sys.executable, "-m", "cti_tui", "serve", "--pbx", address, "--org", str(org), "--no-history"]
    pid, terminal = pty.fork()
    if pid == 0:  # the child: cti-tui on a terminal of its own
        os.execve(sys.executable, command, environment(tmp_path))
    output = b""
    deadline = time.monotonic() + TIMEOUT
    try:
        answered = False
        while time.monotonic() < deadline:
            ready, _, _ = select.select([terminal], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(terminal, 4096)
                except OSError:  # the child closed the terminal: it ended
                    break
                if not chunk:
                    break
                output += chunk
            if not answered and b"AMI secret for cti@127.0.0.1" in output:
                os.write(terminal, b"typed-secret-77\n")
                answered = True
        done, status = os.waitpid(pid, os.WNOHANG)
        while not done and time.monotonic() < deadline:
            time.sleep(0.05)
            done, status = os.waitpid(pid, os.WNOHANG)
        if not done:  # still running past the deadline: stop it by its PID, then reap it
            os.kill(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
    finally:
        os.close(terminal)
    text = output.decode(errors="replace")
    assert answered, text
    assert os.waitstatus_to_exitcode(status) == 2, text
    assert "cannot reach AMI" in text and "typed-secret-77" not in text and "Traceback" not in text, text
