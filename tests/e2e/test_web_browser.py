"""``cti-tui web`` in a real browser: Debian's chromium, headless, driven by playwright (its own browser download
is never used: ``executable_path`` is the system's chromium). The test opens the page, logs in as the demo
supervisor through the app's own login form, watches queue:sales and sees a demo call arrive on screen; a PNG
of the page goes to screenshots/. Everything is on 127.0.0.1: every request the page makes elsewhere is
refused and counted, and there must be none."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = Path(__file__).resolve().parents[2] / "screenshots" / "web-supervisor.png"
TIMEOUT = 30.0  # seconds for any one thing to show (a slow shared machine); the test stops on the first miss
ANSI = re.compile(r"\x1b(\[[0-9;?<>=]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[()][0-9A-Za-z]|.)")


def _needs_chromium() -> None:
    """Skip locally when chromium or playwright is missing; fail under CI, which installs them."""
    problem = None
    if not CHROMIUM.exists():
        problem = "Debian's chromium is not installed (apt-get install chromium chromium-driver)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "the playwright package is not installed"
    if problem is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI: {problem}", pytrace=False)
    pytest.skip(problem)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _descendants(pid: int) -> set[int]:
    """The processes ``pid`` started, and theirs (Linux /proc)."""
    found: set[int] = set()
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return found
    for child in map(int, children):
        found |= {child, *_descendants(child)}
    return found


def _command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][0] != "Z"
    except OSError:
        return False


@dataclass
class Web:
    url: str
    process: subprocess.Popen[str]


def _started(command: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    """``command`` once its port (the one after --port) accepts connections (bounded)."""
    port = int(command[command.index("--port") + 1])
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + TIMEOUT
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return process
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                _stop(process)
                raise AssertionError(f"{command[3]} did not start: {process.communicate()[1]}") from None
            time.sleep(0.05)


def _stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=TIMEOUT)


def _environment(tmp_path: Path, name: str) -> dict[str, str]:
    return {
        **os.environ,
        "CTI_TUI_DATA_DIR": str(tmp_path / name / "data"),
        "CTI_TUI_CONFIG_DIR": str(tmp_path / name / "config"),
    }


def _web_command(port: int, *flags: str) -> list[str]:
    return [sys.executable, "-m", "cti_tui", "web", "--port", str(port), *flags]


@pytest.fixture
def web(tmp_path: Path) -> Iterator[Web]:
    """``cti-tui web`` on 127.0.0.1 (demo traffic, 90 calls a minute, seeded); its URL once it accepts."""
    port = _free_port()
    process = _started(_web_command(port, "--seed", "5", "--demo-rate", "90"), _environment(tmp_path, "web"))
    try:
        yield Web(f"http://127.0.0.1:{port}", process)
    finally:
        _stop(process)


@pytest.fixture
def web_on_server(tmp_path: Path) -> Iterator[Web]:
    """``cti-tui serve`` (demo traffic, 90 calls a minute) and ``cti-tui web --server`` in front of it."""
    serve_port, web_port = _free_port(), _free_port()
    serve = [sys.executable, "-m", "cti_tui", "serve", "--port", str(serve_port), "--seed", "5", "--demo-rate", "90"]
    server = _started([*serve, "--no-history"], _environment(tmp_path, "serve"))
    try:
        command = _web_command(web_port, "--server", f"http://127.0.0.1:{serve_port}")
        process = _started(command, _environment(tmp_path, "web"))
        try:
            yield Web(f"http://127.0.0.1:{web_port}", process)
        finally:
            _stop(process)
    finally:
        _stop(server)


class Screen:
    """What the app has sent the page, as text (the terminal is drawn on a canvas: its text is not in the
    DOM, so the WebSocket frames the page receives are read instead)."""

    def __init__(self) -> None:
        self.raw = ""

    def received(self, payload: str | bytes) -> None:
        self.raw += payload.decode("utf-8", "replace") if isinstance(payload, bytes) else payload

    def text(self) -> str:
        return ANSI.sub("", self.raw)

    def wait_for(self, page: object, pattern: str, since: int = 0) -> str:
        """Until ``pattern`` (a regex) is drawn, after the first ``since`` characters (bounded); the match."""
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            found = re.search(pattern, self.text()[since:])
            if found:
                return found.group(0)
            page.wait_for_timeout(100)  # type: ignore[attr-defined]
        raise AssertionError(f"never shown: {pattern!r}; last screen text: {self.text()[-600:]!r}")


@contextmanager
def _chromium(tmp_path: Path, url: str) -> Iterator[tuple[BrowserContext, list[str]]]:
    """Debian's chromium, headless, with a fresh profile; every request beyond ``url`` refused and listed."""
    from playwright.sync_api import Route, sync_playwright

    elsewhere: list[str] = []

    def only_this_server(route: Route) -> None:
        if route.request.url.startswith(url):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    with sync_playwright() as driver:
        browser = driver.chromium.launch_persistent_context(
            str(tmp_path / "chromium"),  # a fresh --user-data-dir
            executable_path=str(CHROMIUM),
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
            viewport={"width": 1280, "height": 720},
            timeout=TIMEOUT * 1000,
        )
        try:
            browser.route("**/*", only_this_server)
            yield browser, elsewhere
        finally:
            browser.close()


def _tab(browser: BrowserContext, url: str, screen: Screen) -> Page:
    page = browser.new_page()
    page.on("websocket", lambda socket: socket.on("framereceived", screen.received))
    page.goto(url, timeout=TIMEOUT * 1000)
    screen.wait_for(page, r"Remember me")  # the app's own login form, drawn by the app in the tab
    return page


def _supervisor_watches_sales_and_a_call_arrives(page: Page, screen: Screen) -> None:
    """Log in with the app's form as the demo supervisor, watch queue:sales with the picker, see a caller."""
    page.locator(".textual-terminal").click()
    page.keyboard.type("supervisor@demo.local")
    page.keyboard.press("Tab")
    page.keyboard.type("demo")
    page.keyboard.press("Enter")
    screen.wait_for(page, r"Lines \(0\)")  # the dashboard
    page.keyboard.type("s")
    screen.wait_for(page, r"Watch a line")
    page.keyboard.type("queue:sales")
    page.keyboard.press("Enter")
    screen.wait_for(page, r"Lines \(1\)")
    subscribed = len(screen.text())
    screen.wait_for(page, r"(RINGING|WAITING|CONNECTED|waiting)", since=subscribed)  # a demo caller


def test_the_supervisor_in_a_browser_sees_a_demo_call(web: Web, tmp_path: Path) -> None:
    _needs_chromium()
    screen = Screen()
    with _chromium(tmp_path, web.url) as (browser, elsewhere):
        page = _tab(browser, web.url, screen)
        screen.wait_for(page, r"in a browser remember me is off")  # not the server account's keyring
        _supervisor_watches_sales_and_a_call_arrives(page, screen)
        page.wait_for_timeout(500)  # the frame that carried it is painted
        SCREENSHOT.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOT))
        tab_apps = _descendants(web.process.pid)
        assert tab_apps, "the tab's app runs as a process of the server"
    assert elsewhere == [], f"the page reached beyond this server: {elsewhere}"
    deadline = time.monotonic() + TIMEOUT  # the tab closed: its app quits (the server keeps serving)
    while any(_alive(pid) for pid in tab_apps) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in tab_apps), "the closed tab's app is still running"
    assert web.process.poll() is None


def test_a_tab_in_front_of_a_cti_server_logs_in_there_and_sees_its_calls(web_on_server: Web, tmp_path: Path) -> None:
    """`cti-tui web --server URL`: the tab logs in to `cti-tui serve` (one PBX for every tab), whose world
    calls sales."""
    _needs_chromium()
    screen = Screen()
    with _chromium(tmp_path, web_on_server.url) as (browser, elsewhere):
        page = _tab(browser, web_on_server.url, screen)
        _supervisor_watches_sales_and_a_call_arrives(page, screen)
        assert re.search(r"CTI server http://127\.0\.0\.1:\d+", screen.text()), "the status bar names the server"
    assert elsewhere == []


def test_stopping_the_server_ends_the_app_of_every_open_tab(web: Web, tmp_path: Path) -> None:
    _needs_chromium()
    with _chromium(tmp_path, web.url) as (browser, _elsewhere):
        for _ in range(2):
            _tab(browser, web.url, Screen())
        tab_apps = _descendants(web.process.pid)
        apps = [pid for pid in tab_apps if _command_line(pid).startswith(f"{sys.executable} -m cti_tui")]
        assert len(apps) == 2, "an app per tab"
        web.process.terminate()  # SIGTERM, tabs still open
        web.process.wait(timeout=TIMEOUT)
        deadline = time.monotonic() + TIMEOUT
        while any(_alive(pid) for pid in tab_apps) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in tab_apps if _alive(pid)], "a tab's app outlived the server"
