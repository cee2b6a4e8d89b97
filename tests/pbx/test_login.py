"""Logging in and out of the embedded PBX: password, API key, TOTP second factor, and their failures."""

from __future__ import annotations

import pyotp
import pytest
from conftest import Agent, Pbx

from cti_tui.core.model import ActivityName, ErrorCode

SECURE = "secure@demo.local"


def totp(pbx: Pbx, offset: float = 0.0) -> str:
    user = pbx.exchange.org.user_by_email(SECURE)
    assert user is not None and user.totp_secret
    return pyotp.TOTP(user.totp_secret).at(pbx.clock.now().timestamp() + offset)


def kinds(events: list) -> list[tuple[ActivityName, ErrorCode | None]]:
    return [(e.name, e.code) for e in events]


async def test_password_login(pbx: Pbx) -> None:
    connector, events = pbx.connector()
    assert not connector.is_connected()
    assert await connector.login("agent@demo.local", "demo")
    assert kinds(events) == [(ActivityName.LOGGED_IN, None), (ActivityName.READY, None)]
    assert connector.is_connected()
    assert connector.identity.email == "agent@demo.local"
    assert connector.identity.role == "agent"


async def test_email_is_case_insensitive_and_trimmed(pbx: Pbx) -> None:
    connector, _ = pbx.connector()
    assert await connector.login("  Agent@Demo.Local ", "demo")
    assert connector.identity.extension == "1001"


async def test_supervisor_login(pbx: Pbx) -> None:
    supervisor = await pbx.login("supervisor@demo.local")
    assert supervisor.connector.identity.role == "supervisor"
    assert supervisor.connector.identity.line == "user:1100"


async def test_api_key_login(pbx: Pbx) -> None:
    connector, events = pbx.connector()
    assert await connector.login(api_key="demo-api-key")
    assert kinds(events) == [(ActivityName.LOGGED_IN, None), (ActivityName.READY, None)]
    assert connector.identity.extension == "1001"
    assert connector.is_connected()


@pytest.mark.parametrize("key", ["not-a-key", "demo-api-key2", "DEMO-API-KEY"])
async def test_unknown_api_key(pbx: Pbx, key: str) -> None:
    connector, events = pbx.connector()
    assert not await connector.login(api_key=key)
    assert kinds(events) == [(ActivityName.ERROR, ErrorCode.BAD_CREDENTIALS)]
    assert not connector.is_connected()
    assert connector.identity is None


async def test_empty_api_key(pbx: Pbx) -> None:
    connector, events = pbx.connector()
    assert not await connector.login(api_key="   ")
    assert kinds(events) == [(ActivityName.ERROR, ErrorCode.BAD_CREDENTIALS)]


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("agent@demo.local", "wrong"),
        ("agent@demo.local", "Demo"),
        ("nobody@demo.local", "demo"),
    ],
)
async def test_wrong_credentials(pbx: Pbx, email: str, password: str) -> None:
    connector, events = pbx.connector()
    assert not await connector.login(email, password)
    assert kinds(events) == [(ActivityName.ERROR, ErrorCode.BAD_CREDENTIALS)]
    assert not connector.is_connected()
    # the message does not tell which half was wrong
    assert events[0].message == "wrong email or password"


@pytest.mark.parametrize(("email", "password"), [("", "demo"), ("agent@demo.local", ""), (None, None)])
async def test_missing_credentials(pbx: Pbx, email: str | None, password: str | None) -> None:
    connector, events = pbx.connector()
    assert not await connector.login(email, password)
    assert kinds(events) == [(ActivityName.ERROR, ErrorCode.BAD_CREDENTIALS)]


async def test_two_factor_right_code(pbx: Pbx) -> None:
    connector, events = pbx.connector()
    assert not await connector.login(SECURE, "demo")
    (challenge,) = events
    assert challenge.name is ActivityName.TWO_FACTOR_AUTH
    assert challenge.nonce
    assert await connector.two_factor_auth(totp(pbx), challenge.nonce)
    assert [e.name for e in events[1:]] == [ActivityName.LOGGED_IN, ActivityName.READY]
    assert connector.is_connected()
    assert connector.identity.extension == "1008"


async def test_two_factor_nonce_defaults_to_the_last_one_sent(pbx: Pbx) -> None:
    connector, _ = pbx.connector()
    await connector.login(SECURE, "demo")
    assert await connector.two_factor_auth(totp(pbx))
    assert connector.is_connected()


async def test_two_factor_accepts_the_previous_time_step(pbx: Pbx) -> None:
    connector, events = pbx.connector()
    await connector.login(SECURE, "demo")
    assert await connector.two_factor_auth(totp(pbx, -30), events[0].nonce)


async def test_two_factor_wrong_code_then_right_code_with_the_same_nonce(pbx: Pbx) -> None:
    connector, events = pbx.connector()
    await connector.login(SECURE, "demo")
    nonce = events[0].nonce
    right = totp(pbx)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    assert not await connector.two_factor_auth(wrong, nonce)
    assert kinds(events[1:]) == [(ActivityName.ERROR, ErrorCode.BAD_OTP)]
    assert not connector.is_connected()
    assert await connector.two_factor_auth(right, nonce)
    assert [e.name for e in events[2:]] == [ActivityName.LOGGED_IN, ActivityName.READY]
    assert [e.seq for e in events] == [1, 2, 3, 4]


@pytest.mark.parametrize("code", ["", "12345", "abcdef", "12 34 5"])
async def test_two_factor_malformed_code_is_refused_before_the_backend(pbx: Pbx, code: str) -> None:
    connector, events = pbx.connector()
    await connector.login(SECURE, "demo")
    nonce = events[0].nonce
    assert not await connector.two_factor_auth(code, nonce)
    assert kinds(events[1:]) == [(ActivityName.ERROR, ErrorCode.BAD_OTP)]
    assert await connector.two_factor_auth(totp(pbx), nonce)  # nothing was used up


async def test_two_factor_too_many_wrong_codes_burns_the_nonce(pbx: Pbx) -> None:
    connector, events = pbx.connector()
    await connector.login(SECURE, "demo")
    nonce = events[0].nonce
    right = totp(pbx)
    wrong = f"{(int(right) + 500_000) % 1_000_000:06d}"
    for _ in range(5):
        assert not await connector.two_factor_auth(wrong, nonce)
    assert not await connector.two_factor_auth(right, nonce)
    assert all(e.code is ErrorCode.BAD_OTP for e in events[1:])
    assert "log in again" in events[-1].message
    assert not connector.is_connected()


async def test_two_factor_nonce_expires_after_five_minutes(pbx: Pbx) -> None:
    connector, events = pbx.connector()
    await connector.login(SECURE, "demo")
    nonce = events[0].nonce
    pbx.advance(5 * 60 + 1)
    assert not await connector.two_factor_auth(totp(pbx), nonce)
    assert kinds(events[1:]) == [(ActivityName.ERROR, ErrorCode.BAD_OTP)]
    assert "expired" in events[-1].message
    assert not connector.is_connected()
    # a fresh login gives a fresh nonce that works
    await connector.login(SECURE, "demo")
    fresh = events[-1].nonce
    assert fresh and fresh != nonce
    assert await connector.two_factor_auth(totp(pbx), fresh)


async def test_two_factor_nonce_still_valid_just_before_five_minutes(pbx: Pbx) -> None:
    connector, events = pbx.connector()
    await connector.login(SECURE, "demo")
    pbx.advance(5 * 60 - 1)
    assert await connector.two_factor_auth(totp(pbx), events[0].nonce)


async def test_two_factor_unknown_nonce(pbx: Pbx) -> None:
    connector, events = pbx.connector()
    await connector.login(SECURE, "demo")
    assert not await connector.two_factor_auth(totp(pbx), "not-a-nonce")
    assert kinds(events[1:]) == [(ActivityName.ERROR, ErrorCode.BAD_OTP)]


async def test_two_factor_nonce_is_single_use(pbx: Pbx) -> None:
    first, first_events = pbx.connector()
    await first.login(SECURE, "demo")
    nonce = first_events[0].nonce
    assert await first.two_factor_auth(totp(pbx), nonce)
    second, second_events = pbx.connector()
    assert not await second.two_factor_auth(totp(pbx), nonce)
    assert kinds(second_events) == [(ActivityName.ERROR, ErrorCode.BAD_OTP)]


async def test_two_factor_without_a_pending_login_is_info(pbx: Pbx) -> None:
    connector, events = pbx.connector()
    assert not await connector.two_factor_auth("123456")
    assert kinds(events) == [(ActivityName.INFO, ErrorCode.BAD_REQUEST)]


async def test_wrong_password_for_a_two_factor_user_asks_no_code(pbx: Pbx) -> None:
    connector, events = pbx.connector()
    assert not await connector.login(SECURE, "nope")
    assert kinds(events) == [(ActivityName.ERROR, ErrorCode.BAD_CREDENTIALS)]


async def test_logout(pbx: Pbx) -> None:
    agent = await pbx.login()
    assert agent.connector.is_connected()
    assert await agent.connector.logout()
    assert agent.events[-1].name is ActivityName.LOGGED_OUT
    assert not agent.connector.is_connected()
    assert agent.connector.identity is None
    assert agent.connector.calls() == []
    assert agent.connector.subscriptions() == []
    assert pbx.exchange.sessions == []


async def test_logout_when_not_logged_in_is_info(pbx: Pbx) -> None:
    connector, events = pbx.connector()
    assert not await connector.logout()
    assert kinds(events) == [(ActivityName.INFO, ErrorCode.NOT_CONNECTED)]


async def test_login_twice_is_info(pbx: Pbx) -> None:
    agent = await pbx.login()
    assert not await agent.connector.login("agent@demo.local", "demo")
    assert kinds(agent.events[2:]) == [(ActivityName.INFO, ErrorCode.BAD_REQUEST)]
    assert agent.connector.is_connected()


async def test_log_in_again_after_logout(pbx: Pbx) -> None:
    agent = await pbx.login()
    await agent.connector.logout()
    assert await agent.connector.login("bruno@demo.local", "demo")
    assert agent.connector.identity.extension == "1002"
    assert [e.name for e in agent.events] == [
        ActivityName.LOGGED_IN,
        ActivityName.READY,
        ActivityName.LOGGED_OUT,
        ActivityName.LOGGED_IN,
        ActivityName.READY,
    ]
    assert [e.seq for e in agent.events] == [1, 2, 3, 4, 5]


async def test_a_logged_out_session_hears_nothing_more(pbx: Pbx) -> None:
    agent = await pbx.login()
    await agent.connector.logout()
    before = list(agent.events)
    pbx.exchange.inbound_call("+12025550199", "1001")
    pbx.advance(60)
    assert agent.events == before


async def test_login_shows_calls_already_ringing(pbx: Pbx) -> None:
    leg = pbx.exchange.inbound_call("+12025550199", "+12025550111")
    assert leg is not None
    agent = await pbx.login()
    assert [e.name for e in agent.events] == [ActivityName.LOGGED_IN, ActivityName.READY, "RINGING"]
    assert agent.connector.get_call(leg.id).status == "RINGING"
    assert await agent.connector.answer(leg.id)
    assert agent.names(leg.id) == ["RINGING", "CONNECTED"]


async def test_calls_outlive_a_logout_and_come_back_on_login(pbx: Pbx) -> None:
    agent = await pbx.login()
    leg = pbx.exchange.inbound_call("+12025550199", "1001")
    await agent.connector.answer(leg.id)
    await agent.connector.logout()
    assert pbx.exchange.legs[leg.id].live
    pbx.advance(30)
    again = await pbx.login()
    assert [e.name for e in again.events] == [ActivityName.LOGGED_IN, ActivityName.READY, "CONNECTED"]
    assert again.last(leg.id).connect_at is not None
    assert await again.connector.terminate(leg.id)
    assert again.names(leg.id) == ["CONNECTED", "HANGUP"]


async def test_two_sessions_of_the_same_user_both_hear_everything(pbx: Pbx) -> None:
    first = await pbx.login()
    connector, events = pbx.connector()
    assert await connector.login(api_key="demo-api-key")
    second = Agent(connector, events)
    call_id = (await first.connector.call("+12025550101")).value
    pbx.advance(10)
    assert first.names(call_id) == second.names(call_id) == ["INITIAL", "ACCEPTED", "RINGING", "CONNECTED"]
    assert await second.connector.terminate(call_id)
    assert first.names(call_id)[-1] == "HANGUP"
