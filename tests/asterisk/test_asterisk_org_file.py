"""The Asterisk org file (cti_tui.backends.asterisk_org): who is who, checked like the embedded PBX's
organisation, plus endpoints, queue and bridge names and the dialplan context; the provider built on it
vouches for its users. No Asterisk needed: nothing here connects."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyotp
import pytest

from cti_tui.assembly import open_pbx
from cti_tui.backends.asterisk import AsteriskBackend, AsteriskProvider
from cti_tui.backends.asterisk_org import load_asterisk_org, parse_asterisk_org
from cti_tui.backends.attached_phone import AttachedPhoneProvider
from cti_tui.backends.registry import BackendOptions, BackendUnavailable
from cti_tui.core import commands as cmd
from cti_tui.core.clock import VirtualClock
from cti_tui.core.model import ErrorCode, Role
from cti_tui.pbx.auth import Authenticator
from cti_tui.pbx.org import OrgError, hash_password

KEY = "wallboard-key-0123456789"
TOTP = "JBSWY3DPEHPK3PXPJBSWY3DP"
ORG = f"""
[organisation]
name = "Acme support"

[asterisk]
context = "agents"
park_lot = "lot1"

[[users]]
email = "ann@acme.example"
name = "Ann"
extension = "1001"
role = "agent"
password_hash = "{hash_password("ann-pw", "s1", 1000)}"

[[users]]
email = "sue@acme.example"
name = "Sue"
extension = "1100"
endpoint = "sue-desk"
role = "supervisor"
password_hash = "{hash_password("sue-pw", "s2", 1000)}"
totp_secret = "{TOTP}"

[[users]]
email = "board@acme.example"
name = "Wallboard"
extension = "1900"
api_key_sha256 = ["{hashlib.sha256(KEY.encode()).hexdigest()}"]

[[queues]]
id = "sales"
queue = "sales-q"
name = "Sales"
extension = "6001"
members = ["1001"]

[[conferences]]
id = "room"
name = "Room"
extension = "800"
bridge = "800"
"""


def test_who_is_who_and_where_they_live_on_the_asterisk() -> None:
    found = parse_asterisk_org(ORG, "org.toml")
    ann, sue, board = found.org.users
    assert [found.endpoint_of(u) for u in (ann, sue, board)] == ["1001", "sue-desk", "1900"]
    assert (sue.role, ann.role) == (Role.SUPERVISOR, Role.AGENT)
    assert found.queue_names == {"sales": "sales-q"} and found.bridges == {"room": "800"}
    assert (found.context, found.park_lot) == ("agents", "lot1")
    assert found.user("SUE@acme.example") is sue


def test_the_org_authenticator_checks_passwords_and_api_keys() -> None:
    found = parse_asterisk_org(ORG, "org.toml")
    clock = VirtualClock()
    auth = Authenticator(found.org, clock)
    challenge = auth.authenticate(cmd.PasswordLogin("sue@acme.example", "sue-pw"))
    assert isinstance(challenge, cmd.NeedsSecondFactor)
    logged = auth.two_factor_auth(challenge.nonce, pyotp.TOTP(TOTP).at(clock.now()))
    assert isinstance(logged, cmd.LoggedIn) and logged.identity.role is Role.SUPERVISOR
    assert isinstance(auth.authenticate(cmd.PasswordLogin("sue@acme.example", "nope")), cmd.AuthFailed)
    by_key = auth.authenticate(cmd.ApiKeyLogin(KEY))
    assert isinstance(by_key, cmd.LoggedIn) and by_key.identity.email == "board@acme.example"
    # a user with only an API key has no password that works, not even an empty one
    for password in ("", "x"):
        assert isinstance(auth.authenticate(cmd.PasswordLogin("board@acme.example", password)), cmd.AuthFailed)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('endpoint = "sue-desk"', 'endpoint = "sue desk"'), "users[1].endpoint"),
        (('endpoint = "sue-desk"', 'endpoint = "1001"'), "users[1].endpoint: '1001' is already ann@acme.example's"),
        (('context = "agents"', "context = 5"), "asterisk.context"),
        (('queue = "sales-q"', 'queue = "sales q;x"'), "queues[0].queue"),
        (('api_key_sha256 = ["', 'old_keys = ["'), "users[2].password_hash: missing"),
    ],
)
def test_a_bad_entry_is_named(change: tuple[str, str], message: str) -> None:
    with pytest.raises(OrgError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_asterisk_org(ORG.replace(*change), "org.toml")


async def test_the_provider_vouches_for_the_org_files_users(tmp_path: Path) -> None:
    path = tmp_path / "org.toml"
    path.write_text(ORG)
    assert load_asterisk_org(path).context == "agents"
    address = "asterisk://cti@127.0.0.1:5038"
    provider = open_pbx("asterisk", BackendOptions(address=address, org_file=path, secret="s"))
    assert isinstance(provider, AttachedPhoneProvider) and provider.authenticator is not None
    backend = provider.new_backend()  # no registrar set: no phone attached, Asterisk's own backend
    assert isinstance(backend, AsteriskBackend)
    assert backend.context == "agents" and backend.capabilities.api_key_login and backend.capabilities.two_factor
    assert backend.capabilities.policies is not None and Role.SUPERVISOR in backend.capabilities.policies
    directory = {(e.name, e.number, e.node) for e in await backend.directory()}
    # dialled by the file's numbers, watched by Asterisk's names (endpoint, queues.conf, ConfBridge)
    assert {
        ("Sue", "1100", "user:sue-desk"),
        ("Sales", "6001", "queue:sales-q"),
        ("Room", "800", "conf:800"),
    } <= directory
    assert ("Call park", "700", "callpark") in directory
    assert await AsteriskProvider(BackendOptions(address=address, secret="s")).new_backend().directory() == []
    # without an org file: extension logins, one user's app; serve refuses it and says why
    with pytest.raises(BackendUnavailable, match="only with an org file"):
        open_pbx("asterisk", BackendOptions(address=address, secret="s"))
    path.write_text(ORG.replace('extension = "6001"', 'extension = "1001"'))
    with pytest.raises(BackendUnavailable, match="extension 1001 is used twice"):
        open_pbx("asterisk", BackendOptions(address=address, org_file=path, secret="s"))


async def test_an_org_login_needs_the_right_password_before_asterisk_is_asked(tmp_path: Path) -> None:
    """The password is checked first: a wrong one never opens an AMI connection (here there is no AMI)."""
    path = tmp_path / "org.toml"
    path.write_text(ORG)
    provider = AsteriskProvider(BackendOptions(address="asterisk://cti@127.0.0.1:1", org_file=path, secret="s"))
    backend = provider.new_backend()
    refused = await backend.login(cmd.PasswordLogin("ann@acme.example", "wrong"))
    assert isinstance(refused, cmd.AuthFailed) and refused.code is ErrorCode.BAD_CREDENTIALS
    unreachable = await backend.login(cmd.PasswordLogin("ann@acme.example", "ann-pw"))
    assert isinstance(unreachable, cmd.AuthFailed) and unreachable.code is ErrorCode.BACKEND_FAILURE
    assert "cannot reach AMI" in unreachable.message and provider.pbx.link is None


def test_the_lab_org_file_parses_and_its_passwords_are_demo() -> None:
    lab = load_asterisk_org(Path(__file__).resolve().parents[2] / "tools" / "asterisk_lab_org.toml")
    assert [lab.endpoint_of(u) for u in lab.org.users] == ["1001", "1002", "1003", "1004", "1100"]
    assert lab.bridges == {"room": "800"} and lab.queue_names == {"sales": "sales", "support": "support"}
    outcome = Authenticator(lab.org, VirtualClock()).authenticate(cmd.PasswordLogin("supervisor@lab.local", "demo"))
    assert isinstance(outcome, cmd.LoggedIn) and outcome.identity.role is Role.SUPERVISOR


async def test_a_second_factor_is_asked_and_checked_before_asterisk_is(tmp_path: Path) -> None:
    path = tmp_path / "org.toml"
    path.write_text(ORG)
    provider = AsteriskProvider(BackendOptions(address="asterisk://cti@127.0.0.1:1", org_file=path, secret="s"))
    backend = provider.new_backend()
    challenge = await backend.login(cmd.PasswordLogin("sue@acme.example", "sue-pw"))
    assert isinstance(challenge, cmd.NeedsSecondFactor)
    wrong = await backend.two_factor_auth(challenge.nonce, "000000")
    assert isinstance(wrong, cmd.AuthFailed) and wrong.code is ErrorCode.BAD_OTP
    right = await backend.two_factor_auth(challenge.nonce, pyotp.TOTP(TOTP).now())
    assert isinstance(right, cmd.AuthFailed) and "cannot reach AMI" in right.message  # the code passed: on to AMI
    plain = AsteriskProvider(BackendOptions(address="asterisk://cti@127.0.0.1:1", secret="s")).new_backend()
    refused = await plain.two_factor_auth("nonce", "123456")
    assert isinstance(refused, cmd.AuthFailed) and refused.code is ErrorCode.NOT_SUPPORTED
