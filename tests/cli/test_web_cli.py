"""``cti-tui web`` from the command line: loopback by default, a clear warning beyond it, clear errors, and the
command each browser tab runs (the same flags, in browser mode)."""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cti_tui.ui.web import BrowserCredentials, app_command, exposure_warning, is_loopback, public_url

TIMEOUT = 30.0


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"])
def test_loopback_is_not_warned_about(host: str) -> None:
    assert is_loopback(host)
    assert exposure_warning(host) is None


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.1", "pbx.example.com"])
def test_beyond_loopback_without_tls_is_warned_about(host: str) -> None:
    warning = exposure_warning(host)
    assert warning is not None
    assert "without TLS" in warning and host in warning


def test_the_page_address_brackets_ipv6() -> None:
    assert public_url("127.0.0.1", 8766) == "http://127.0.0.1:8766"
    assert public_url("::1", 8766) == "http://[::1]:8766"


def test_each_tab_runs_this_cti_tui_in_browser_mode_with_the_flags() -> None:
    words = shlex.split(app_command(["--server", "http://127.0.0.1:8765", "--org", "/tmp/a b.toml"]))
    assert words[:3] == [sys.executable, "-m", "cti_tui"]
    assert words[3:] == ["--server", "http://127.0.0.1:8765", "--org", "/tmp/a b.toml", "--browser"]


def test_a_browser_tab_never_uses_the_servers_keyring() -> None:
    store = BrowserCredentials()
    usable, note = store.available()
    assert not usable and "browser" in note
    assert store.save("password:agent@demo.local", "demo") == note
    assert store.load("password:agent@demo.local") is None


def _web(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CTI_TUI_DATA_DIR": str(tmp_path), "CTI_TUI_CONFIG_DIR": str(tmp_path)}
    return subprocess.run(
        [sys.executable, "-m", "cti_tui", "web", *args], env=env, capture_output=True, text=True, timeout=TIMEOUT
    )


def test_beyond_loopback_it_warns_first_and_an_address_it_cannot_have_is_one_clear_line(tmp_path: Path) -> None:
    # 192.0.2.1 (TEST-NET-1) is no address of this machine: the bind fails, nothing is sent anywhere
    result = _web(tmp_path, "--host", "192.0.2.1", "--port", "18999")
    assert result.returncode == 1
    assert "WARNING: serving on 192.0.2.1 without TLS" in result.stderr
    assert "cti-tui: error: cannot listen on 192.0.2.1:18999" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--port", "0"), "--port must be 1–65535"),
        (("--speed", "0"), "--speed must be a positive number"),
        (("--org", "no-such-org.toml"), "no-such-org.toml"),
        (("--max-tabs", "0"), "--max-tabs at least 1"),
        (("--public-url", "javascript:alert(1)"), "--public-url is http(s)://HOST[:PORT]"),
        (("--public-url", "https://pbx.example/x y"), "--public-url is http(s)://HOST[:PORT]"),
        (("--host", "0.0.0.0"), "give --public-url"),
        (("--host", "::"), "give --public-url"),
    ],
)
def test_bad_flags_are_refused_before_serving(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    result = _web(tmp_path, *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_past_max_tabs_a_new_tab_is_refused_until_one_closes(tmp_path: Path) -> None:
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "CTI_TUI_DATA_DIR": str(tmp_path), "CTI_TUI_CONFIG_DIR": str(tmp_path)}
    server = subprocess.Popen(
        [sys.executable, "-m", "cti_tui", "web", "--port", str(port), "--max-tabs", "1", "--no-history"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"ws://127.0.0.1:{port}/ws?width=80&height=24"
    try:
        deadline = time.monotonic() + TIMEOUT
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "cti-tui web did not start"
                time.sleep(0.05)
        with connect(url, open_timeout=TIMEOUT) as first:
            assert first.recv(timeout=TIMEOUT)  # the tab's app draws
            with pytest.raises(InvalidStatus) as refused:
                connect(url, open_timeout=TIMEOUT)
            assert refused.value.response.status_code == 503
            assert b"1 tabs are open" in refused.value.response.body
        while True:  # the first tab closed: its place is free once its app has quit
            try:
                with connect(url, open_timeout=TIMEOUT) as again:
                    assert again.recv(timeout=TIMEOUT)
                break
            except InvalidStatus:
                assert time.monotonic() < deadline + TIMEOUT, "the closed tab's place never came free"
                time.sleep(0.1)
    finally:
        server.terminate()
        server.wait(timeout=TIMEOUT)


def test_the_page_is_textual_serves_own_minus_the_web_font_link() -> None:
    """The page is a copy of the installed textual-serve's: when an upgrade changes its template this fails,
    and the copy is made again (the browser test checks the result)."""
    import textual_serve

    from cti_tui.ui.web import PAGE_FOLDER

    theirs = (Path(textual_serve.__file__).parent / "templates" / "app_index.html").read_text(encoding="utf-8")
    ours = (PAGE_FOLDER / "app_index.html").read_text(encoding="utf-8")
    link = (
        '    <link\n      rel="stylesheet"\n'
        '      href="https://fonts.googleapis.com/css?family=Roboto%20Mono"\n    />\n'
    )
    assert link in theirs
    note = "    <!-- cti-tui: no web fonts from the internet; the page loads only from the server that served it -->\n"
    assert ours == theirs.replace(link, note)
    assert "https://" not in ours
