"""``cti-tui web``: the same app, with the same login form, in a browser tab.

Served by `textual-serve <https://github.com/Textualize/textual-serve>`_ (Textualize's own small aiohttp server,
with xterm.js bundled). Textual 8.2.8 ships the other half, its *web driver*
(``textual.drivers.web_driver.WebDriver``: the app's screen and keys as packets over stdin/stdout) but no HTTP
server; textual-serve runs one app process per browser tab under that driver and relays the packets over a
WebSocket. The alternative, textual-web, relays through Textualize's service on the internet: here nothing leaves
the machine, and the page loads no web font or script from anywhere but this server.

Each tab is a process of its own, so it runs whatever backend the flags name: the embedded demo (one PBX per
tab) or, with ``--server URL``, a client of one ``cti-tui serve`` that every tab and terminal shares.
Remember me is off in a browser: the keyring the app would use is the server account's, not the visitor's.
"""

from __future__ import annotations

import asyncio
import ipaddress
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cti_tui.credentials import CredentialStore

if TYPE_CHECKING:
    from aiohttp import web
    from textual_serve.server import Server

PAGE_FOLDER = Path(__file__).with_name("web_page")  # textual-serve's page, minus its web-font link
DEFAULT_PORT = 8766
DEFAULT_MAX_TABS = 50  # open at once; each tab is an app process


class BrowserCredentials(CredentialStore):
    """No keyring in a browser tab: the server account's keyring would remember one visitor's secret for
    the next."""

    def available(self) -> tuple[bool, str]:
        return False, "in a browser remember me is off: the server's keyring is not yours"


def is_loopback(host: str) -> bool:
    """``127.0.0.1``, ``::1``, ``localhost``: only this machine can connect."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def exposure_warning(host: str) -> str | None:
    """What to say when the page is reachable from other machines, where passwords cross the network in
    clear (textual-serve speaks plain HTTP and WebSocket)."""
    if is_loopback(host):
        return None
    return (
        f"WARNING: serving on {host} without TLS: anyone on the network can reach the login form, and passwords "
        "and calls cross it unencrypted. Bind to 127.0.0.1 and put a TLS reverse proxy (https, wss) in front."
    )


def public_url(host: str, port: int) -> str:
    """``http://HOST:PORT``, an IPv6 address in brackets (what the page's WebSocket address is built from)."""
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"http://{shown}:{port}"


def app_command(app_arguments: Sequence[str]) -> str:
    """The shell command textual-serve starts for each tab: this Python, this cti-tui, in browser mode."""
    return shlex.join([sys.executable, "-m", "cti_tui", *app_arguments, "--browser"])


def _tab_server(command: str, *, host: str, port: int, public_url: str | None, max_tabs: int) -> Server:
    from aiohttp import web
    from textual_serve.server import Server

    class TabServer(Server):
        """textual-serve's server, with two changes. Each tab is a process (~60 MB): past ``max_tabs`` open
        at once a new one is refused (503), so a page reloaded in a loop cannot exhaust the machine. Stopping
        it ends every open tab's app at once: by itself it waited ~20 s for them (aiohttp's graceful
        shutdown), its own shutdown hook being empty."""

        def __init__(self) -> None:
            super().__init__(
                command, host=host, port=port, title="cti-tui", public_url=public_url, templates_path=PAGE_FOLDER
            )
            self.tabs: set[asyncio.Task[Any]] = set()

        async def handle_websocket(self, request: web.Request) -> web.StreamResponse:  # type: ignore[override]
            if len(self.tabs) >= max_tabs:
                return web.Response(status=503, text=f"{max_tabs} tabs are open: close one and reload\n")
            task = asyncio.current_task()
            assert task is not None
            self.tabs.add(task)
            try:
                return await super().handle_websocket(request)
            finally:
                self.tabs.discard(task)

        async def on_shutdown(self, app: web.Application) -> None:
            for task in list(self.tabs):  # textual-serve closes the socket and quits the tab's app on cancel
                task.cancel()

    return TabServer()


def serve(
    app_arguments: Sequence[str],
    *,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    public_url: str | None = None,
    max_tabs: int = DEFAULT_MAX_TABS,
) -> None:
    """Serve the app until interrupted (Ctrl+C or SIGTERM); raises OSError when the port cannot be had."""
    server = _tab_server(app_command(app_arguments), host=host, port=port, public_url=public_url, max_tabs=max_tabs)
    server.serve()
