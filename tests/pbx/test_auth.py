"""The authenticator on its own: what a server needs to check credentials, with no exchange built."""

from __future__ import annotations

import dataclasses

import pyotp

from cti_tui.core import commands as cmd
from cti_tui.core.clock import VirtualClock
from cti_tui.core.model import ErrorCode, Role
from cti_tui.pbx.auth import MAX_OTP_ATTEMPTS, NONCE_LIFETIME, Authenticator
from cti_tui.pbx.exchange import Exchange
from cti_tui.pbx.org import load_demo

SECURE = "secure@demo.local"


def code_for(auth: Authenticator, email: str = SECURE) -> str:
    user = auth.org.user_by_email(email)
    assert user is not None and user.totp_secret
    return pyotp.TOTP(user.totp_secret).at(auth.clock.now())


def nonce_of(outcome: cmd.AuthOutcome) -> str:
    assert isinstance(outcome, cmd.NeedsSecondFactor), outcome
    return outcome.nonce


def test_password_and_api_key_logins_need_only_the_organisation_and_a_clock() -> None:
    auth = Authenticator(load_demo(), VirtualClock())
    outcome = auth.authenticate(cmd.PasswordLogin("supervisor@demo.local", "demo"))
    assert isinstance(outcome, cmd.LoggedIn)
    assert (outcome.identity.extension, outcome.identity.role) == ("1100", Role.SUPERVISOR)
    outcome = auth.authenticate(cmd.ApiKeyLogin("demo-api-key"))
    assert isinstance(outcome, cmd.LoggedIn) and outcome.identity.email == "agent@demo.local"
    refused = auth.authenticate(cmd.PasswordLogin("agent@demo.local", "nope"))
    assert isinstance(refused, cmd.AuthFailed) and refused.code is ErrorCode.BAD_CREDENTIALS


def test_a_second_factor_within_its_lifetime_and_attempts() -> None:
    clock = VirtualClock()
    auth = Authenticator(load_demo(), clock)
    nonce = nonce_of(auth.authenticate(cmd.PasswordLogin(SECURE, "demo")))
    for _ in range(MAX_OTP_ATTEMPTS - 1):
        wrong = auth.two_factor_auth(nonce, "000000")
        assert isinstance(wrong, cmd.AuthFailed) and wrong.code is ErrorCode.BAD_OTP
    outcome = auth.two_factor_auth(nonce, code_for(auth))
    assert isinstance(outcome, cmd.LoggedIn) and outcome.identity.email == SECURE
    # a nonce is single use, and lives NONCE_LIFETIME only
    assert isinstance(auth.two_factor_auth(nonce, code_for(auth)), cmd.AuthFailed)
    late = nonce_of(auth.authenticate(cmd.PasswordLogin(SECURE, "demo")))
    clock.advance(NONCE_LIFETIME.total_seconds() + 1)
    expired = auth.two_factor_auth(late, code_for(auth))
    assert isinstance(expired, cmd.AuthFailed) and "expired" in expired.message


def test_the_exchange_logs_in_through_its_authenticator_and_hands_it_a_new_organisation() -> None:
    exchange = Exchange(load_demo(), VirtualClock())
    nonce = nonce_of(exchange.authenticate(cmd.PasswordLogin(SECURE, "demo")))
    assert isinstance(exchange.auth.two_factor_auth(nonce, code_for(exchange.auth)), cmd.LoggedIn)
    renamed = [dataclasses.replace(u, name="Sam Renamed") if u.extension == "1100" else u for u in exchange.org.users]
    exchange.org = dataclasses.replace(exchange.org, users=tuple(renamed))
    outcome = exchange.authenticate(cmd.PasswordLogin("supervisor@demo.local", "demo"))
    assert isinstance(outcome, cmd.LoggedIn) and outcome.identity.name == "Sam Renamed"
