"""Issue 15 #10: secrets need never be on the command line, where ``ps`` shows them to every user.

``-`` for --password, --api-key or --otp reads the secret from the terminal (no echo) or, in a pipe, from the
next stdin line; CTI_TUI_PASSWORD / CTI_TUI_API_KEY / CTI_TUI_OTP work too. A real ``cti-tui events``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyotp
from events_process import EventsProcess

SECURE_TOTP = "IIDSOVZMMF5MQLLU6SXN6M52XUGGFCXN"
QUIET = ("--demo-rate", "0", "--speed", "20", "--no-history")


def _arguments(process: EventsProcess) -> list[str]:
    """What ``ps`` shows of the process: its command line, from /proc."""
    return Path(f"/proc/{process.proc.pid}/cmdline").read_bytes().decode().split("\0")


def _stop(process: EventsProcess) -> None:
    if process.proc.poll() is None:
        process.proc.kill()
        process.proc.wait()


def test_password_and_code_read_from_stdin_before_the_commands(tmp_path: Path) -> None:
    events = EventsProcess(tmp_path, *QUIET, "--email", "secure@demo.local", "--password", "-", "--otp", "-")
    try:
        events.send("demo")
        events.send(pyotp.TOTP(SECURE_TOTP).now())
        events.send({"action": "subscriptions", "id": 7})  # the line after the secrets is a command again
        events.expect_event("TWO_FACTOR_AUTH")
        events.expect_event("LOGGED_IN")
        reply = events.expect(lambda item: item.get("reply") == "subscriptions", "subscriptions reply")
        assert reply["id"] == 7
        assert "demo" not in _arguments(events) and "-" in _arguments(events)
        events.send({"action": "quit"})
        assert events.finish() == 0
    finally:
        _stop(events)


def test_api_key_and_code_from_the_environment(tmp_path: Path) -> None:
    events = EventsProcess(tmp_path, *QUIET, env={"CTI_TUI_API_KEY": "demo-api-key"})
    try:
        events.expect_event("LOGGED_IN")
        events.send({"action": "quit"})
        assert events.finish() == 0
    finally:
        _stop(events)
    secure = EventsProcess(
        tmp_path,
        *QUIET,
        "--email",
        "secure@demo.local",
        env={"CTI_TUI_PASSWORD": "demo", "CTI_TUI_OTP": pyotp.TOTP(SECURE_TOTP).now()},
    )
    try:
        secure.expect_event("LOGGED_IN")
        secure.send({"action": "quit"})
        assert secure.finish() == 0
    finally:
        _stop(secure)


def test_help_says_the_flags_show_in_ps() -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "cti_tui", "events", "--help"], capture_output=True, text=True, timeout=30, check=True
    ).stdout
    shown = " ".join(shown.split())  # argparse wraps to the terminal's width
    for flag, env in (("--password", "CTI_TUI_PASSWORD"), ("--api-key", "CTI_TUI_API_KEY"), ("--otp", "CTI_TUI_OTP")):
        assert flag in shown and env in shown
    assert shown.count("visible in ps") == 3
