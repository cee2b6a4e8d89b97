"""Issue 14, must show: a caller's name made of escape sequences, through each backend, in a real terminal.

``\\x1b]2;PWNED\\x07Eve\\x1b[5;41mZ`` changed the terminal's title and made the row blink red. Here the real
app runs in tmux and the name comes from the embedded PBX's organisation file, from a ``cti-tui serve``
(server frames) and from a real baresip called by sipp (a raw SIP INVITE); each time the row shows the name
with its controls made visible, ``capture-pane -e`` finds no OSC and no blink/red attribute from it, and the
pane's title is what it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sipp_scenarios import uac
from softphone_lab import Lab, lab_fixture  # noqa: F401 - lab_fixture provides `lab`
from tmux_pane import Pane, require_tmux, sgr_attributes

ATTACK = "\x1b]2;PWNED\x07Eve\x1b[5;41mZ"
SHOWN = "␛]2;PWNED␇Eve␛[5;41mZ"
DEMO = Path(__file__).resolve().parents[2] / "cti_tui" / "pbx" / "demo.toml"
BLINK, RED_BACKGROUND = 5, 41


def hostile_org(tmp: Path) -> Path:
    """The demo organisation, with the number +12025550101 named by the attack (TOML escapes)."""
    org = tmp / "hostile.toml"
    text = DEMO.read_text().replace('name = "Acme Corp"', 'name = "\\u001b]2;PWNED\\u0007Eve\\u001b[5;41mZ"')
    assert "PWNED" in text
    org.write_text(text)
    return org


@pytest.fixture
def pane_factory(tmp_path: Path) -> Iterator[list[Pane]]:
    require_tmux()
    panes: list[Pane] = []
    yield panes
    for pane in panes:
        pane.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def serving(tmp: Path, org: Path, port: int) -> Iterator[subprocess.Popen[bytes]]:
    """``cti-tui serve`` over the hostile organisation, stopped by its PID at the end."""
    server = subprocess.Popen(
        [sys.executable, "-m", "cti_tui", "serve", "--port", str(port), "--org", str(org), "--demo-rate", "0"],
        env={**os.environ, "CTI_TUI_DATA_DIR": str(tmp / "server-data")},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield server
    finally:
        server.kill()
        server.wait(10)


async def wait_listening(port: int) -> None:

    for _ in range(300):
        with contextlib.suppress(OSError):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"nothing listens on {port}")


async def log_in_and_dial(pane: Pane, password: str, number: str | None) -> str:
    await pane.until("Password")
    pane.type(password)
    pane.press("Enter")
    await pane.until("READY")
    if number is not None:
        pane.press("d")
        await pane.until("Dial")
        pane.type(number)
        pane.press("Enter")
    return await pane.until("PWNED")


def assert_shown_not_obeyed(pane: Pane, screen: str) -> None:
    assert SHOWN in screen, screen  # the name is there, its controls visible
    row = next(line for line in screen.splitlines() if "PWNED" in line)
    assert "Eve" in row
    cells = pane.cells()
    assert "\x1b]" not in cells and "\x07" not in cells  # no OSC reached the terminal
    assert not {BLINK, RED_BACKGROUND} & sgr_attributes(cells), sgr_attributes(cells)
    title = pane.title()
    assert title == pane.title_at_start and "PWNED" not in title, (title, pane.title_at_start)


async def test_from_the_embedded_pbxs_organisation_file(tmp_path: Path, pane_factory: list[Pane]) -> None:
    org = hostile_org(tmp_path)
    pane = Pane(tmp_path, ["--org", str(org), "--demo-rate", "0", "--email", "agent@demo.local"])
    pane_factory.append(pane)
    screen = await log_in_and_dial(pane, "demo", "+12025550101")
    assert_shown_not_obeyed(pane, screen)


async def test_from_a_cti_servers_frames(tmp_path: Path, pane_factory: list[Pane]) -> None:
    org, port = hostile_org(tmp_path), free_port()
    with serving(tmp_path, org, port):
        await wait_listening(port)
        pane = Pane(tmp_path, ["--server", f"http://127.0.0.1:{port}", "--email", "agent@demo.local"])
        pane_factory.append(pane)
        screen = await log_in_and_dial(pane, "demo", "+12025550101")
        assert "CTI server" in screen
        assert_shown_not_obeyed(pane, screen)


async def test_from_a_sip_invite_to_the_softphone(tmp_path: Path, lab: Lab, pane_factory: list[Pane]) -> None:
    phone = lab.phone(0, "1001", "Agent One")
    await phone.start()
    pane = Pane(tmp_path, ["--softphone", f"127.0.0.1:{phone.ctrl_port}", "--email", "agent@example.com"])
    pane_factory.append(pane)
    await pane.until("Password")
    pane.type("any")
    pane.press("Enter")
    await pane.until("READY")
    # the INVITE's From header carries the raw bytes: "ESC]2;PWNED BEL Eve ESC[5;41mZ" <sip:+33…>. sipp
    # would read "[5;41mZ" in a scenario as one of its keywords: the name comes from an injection file instead,
    # in three fields, since ";" separates them there
    fields = ATTACK.split(";")
    (tmp_path / "name.csv").write_bytes(("SEQUENTIAL\n" + ";".join(fields) + ";\n").encode())
    scenario = tmp_path / "uac-hostile.xml"
    placeholders = ";".join(f"[field{n}]" for n in range(len(fields)))
    scenario.write_text(uac("+33123456789", placeholders, hangup_after_ms=30_000))
    target = f"127.0.0.1:{phone.sip_port}"
    await lab.sipp("-sf", str(scenario), "-inf", str(tmp_path / "name.csv"), target, "-s", phone.user, "-l", "1")
    screen = await pane.until("PWNED")
    assert "+33" in screen
    assert_shown_not_obeyed(pane, screen)
