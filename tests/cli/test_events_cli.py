"""``cti-tui events`` driven as a user's script would: a real subprocess, JSON lines both ways."""

from __future__ import annotations

from pathlib import Path

import pyotp
import pytest
from events_process import TIMEOUT, EventsProcess

SECURE_TOTP = "IIDSOVZMMF5MQLLU6SXN6M52XUGGFCXN"


@pytest.fixture
def run(tmp_path: Path):
    started: list[EventsProcess] = []

    def start(*args: str, env: dict[str, str] | None = None) -> EventsProcess:
        process = EventsProcess(tmp_path, *args, env=env)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.proc.poll() is None:
            process.proc.kill()
            process.proc.wait(timeout=TIMEOUT)


QUIET = ("--demo-rate", "0", "--speed", "20")


def test_call_flow_commands_and_bad_lines(run) -> None:
    events = run(*QUIET, "--no-history")
    assert events.expect_event("LOGGED_IN")["seq"] == 1
    assert events.expect_event("READY")["seq"] == 2
    events.send({"action": "set_auto_answer", "enabled": True})
    events.send({"action": "call", "destination": "+1 202 555 0101"})
    initial = events.expect_event("INITIAL", direction="OUTBOUND", destination="+12025550101")
    call_id = initial["call"]["id"]
    events.expect_event("ACCEPTED", id=call_id)
    events.expect_event("RINGING", id=call_id)
    connected = events.expect_event("CONNECTED", id=call_id)
    assert connected["call"]["connectAt"] is not None

    events.send("this is not json")
    error = events.expect_event("ERROR", code="bad_request")
    assert "line 3" in error["message"] and "not JSON" in error["message"]
    events.send({"action": "hold"})
    assert 'missing "callId"' in events.expect_event("ERROR", code="bad_request")["message"]
    events.send({"action": "hold", "callId": 42})
    assert '"callId" must be str' in events.expect_event("ERROR", code="bad_request")["message"]
    events.send({"action": "fly"})
    assert "unknown action 'fly'" in events.expect_event("ERROR", code="bad_request")["message"]
    events.send("[1, 2]")
    assert "JSON object" in events.expect_event("ERROR", code="bad_request")["message"]
    events.send({"action": "call", "destination": "12ab"})
    events.expect_event("ERROR", code="bad_number")

    # still alive and obeying
    events.send({"action": "hold", "callId": call_id})
    events.expect_event("ON_HOLD", id=call_id)
    events.send({"action": "hold", "callId": call_id})
    events.expect_event("INFO", code="wrong_state")
    events.send({"action": "resume", "callId": call_id})
    events.expect_event("CONNECTED", id=call_id)
    events.send({"action": "get_call", "callId": call_id, "id": "q1"})
    reply = events.expect(lambda item: item.get("reply") == "get_call", "get_call reply")
    assert reply["id"] == "q1" and reply["result"]["status"] == "CONNECTED"
    events.send({"action": "hangup", "callId": call_id})
    assert events.expect_event("HANGUP", id=call_id)["call"]["cause"] == "normal"
    events.send({"action": "quit"})
    events.expect_event("LOGGED_OUT")
    assert events.finish() == 0

    sequence = [item["seq"] for item in events.seen if "seq" in item]
    assert sequence == list(range(1, len(sequence) + 1))


def test_wrong_password_exits_1_with_an_error_event(run) -> None:
    events = run(*QUIET, "--no-history", "--email", "agent@demo.local", "--password", "nope")
    error = events.expect_event("ERROR", code="bad_credentials")
    assert "wrong email or password" in error["message"]
    assert events.finish() == 1


def test_api_key_login_and_subscribe(run) -> None:
    events = run(*QUIET, "--no-history", "--api-key", "demo-api-key", "--subscribe", "queue:sales")
    events.expect_event("LOGGED_IN")
    events.expect_event("READY")
    events.expect_event("SUBSCRIBED", node="queue:sales")
    events.send({"action": "subscriptions", "id": 1})
    reply = events.expect(lambda item: item.get("reply") == "subscriptions", "subscriptions reply")
    assert reply == {"reply": "subscriptions", "result": ["queue:sales"], "id": 1}
    events.send({"action": "quit"})
    assert events.finish() == 0


def test_two_factor_by_flag_and_by_command(run) -> None:
    code = pyotp.TOTP(SECURE_TOTP).now()
    events = run(
        "--demo-rate",
        "0",
        "--no-history",
        "--email",
        "secure@demo.local",
        "--password",
        "demo",
        "--otp",
        code,
    )
    events.expect_event("TWO_FACTOR_AUTH")
    events.expect_event("LOGGED_IN")
    events.expect_event("READY")
    events.send({"action": "quit"})
    assert events.finish() == 0

    later = run("--demo-rate", "0", "--no-history", "--email", "secure@demo.local", "--password", "demo")
    nonce = later.expect_event("TWO_FACTOR_AUTH")["nonce"]
    later.send({"action": "two_factor_auth", "code": "000000", "nonce": nonce})
    later.expect_event("ERROR", code="bad_otp")
    later.send({"action": "two_factor_auth", "code": pyotp.TOTP(SECURE_TOTP).now()})
    later.expect_event("LOGGED_IN")
    later.expect_event("READY")
    later.send({"action": "quit"})
    assert later.finish() == 0


def test_ended_calls_reach_the_history_database(run, tmp_path: Path) -> None:
    from cti_tui.store.history import HistoryStore

    events = run(*QUIET)
    events.expect_event("READY")
    events.send({"action": "set_auto_answer", "enabled": True})
    events.send({"action": "call", "destination": "+12025550102"})
    busy = events.expect_event("CANCEL", cause="busy")
    events.send({"action": "quit"})
    assert events.finish() == 0
    with HistoryStore(tmp_path / "data" / "history.sqlite3") as store:
        page = store.query("user:1001")
    assert [(row.id, row.outcome.value) for row in page.rows] == [(busy["call"]["id"], "cancelled")]


def test_bad_org_file_is_one_clear_line(run, tmp_path: Path) -> None:
    org = tmp_path / "org.toml"
    org.write_text('[[users]]\nextension = "1x"\nname = "A"\nemail = "a@b.c"\npassword_hash = "x"\n')
    events = run("--org", str(org))
    assert events.finish() == 2
    message = events.stderr()
    assert message.startswith("cti-tui: error: ") and f"{org}:2: users[0].extension" in message
    assert "Traceback" not in message


def test_stdin_end_with_exit_on_eof(run) -> None:
    events = run(*QUIET, "--no-history", "--exit-on-eof")
    events.expect_event("READY")
    assert events.proc.stdin is not None
    events.proc.stdin.close()
    events.expect_event("LOGGED_OUT")
    assert events.finish() == 0


def test_secrets_of_the_wrong_type_are_not_echoed_and_speed_is_bounded(run) -> None:
    events = run(*QUIET, "--no-history")
    events.expect_event("READY")
    events.send({"action": "login", "email": "a@b.c", "password": 123456789})
    events.send({"action": "two_factor_auth", "code": 424242})
    for field in ("password", "code"):
        message = events.expect_event("ERROR", code="bad_request")["message"]
        assert f'"{field}" must be str, got int' in message and "123456789" not in message and "424242" not in message
    events.send({"action": "quit"})
    assert events.finish() == 0
    for speed in ("1e308", "nan", "0"):
        bad = run("--speed", speed, "--no-history")
        assert bad.finish() == 2 and "--speed must be a positive number" in bad.stderr()
