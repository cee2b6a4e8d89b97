"""Who may log in to the organisation: passwords, API keys and two-factor codes (TOTP).

:class:`Authenticator` needs only the organisation and a clock, not an exchange, so a server can check
credentials before (or without) attaching anyone to a PBX. A password login of a user with a TOTP secret
gives a nonce instead of an identity; the code must follow within ``NONCE_LIFETIME`` and
``MAX_OTP_ATTEMPTS`` tries. A server calls it from worker threads (a password check is a PBKDF2 hash, too slow
for an event loop), so its shared state is behind a lock; an unknown email costs the same hash as a known one.
"""

from __future__ import annotations

import secrets
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp

from cti_tui.core import commands as cmd
from cti_tui.core.clock import Clock
from cti_tui.core.model import ErrorCode, Identity
from cti_tui.pbx.org import Organisation, User, verify_password

NONCE_LIFETIME = timedelta(minutes=5)
MAX_OTP_ATTEMPTS = 5
DUMMY_ITERATIONS = 200_000  # for an organisation without one PBKDF2 hash to copy: hash_password's default


@dataclass
class _Pending2FA:
    user: User
    expires: datetime
    attempts: int = 0


def identity_of(user: User) -> Identity:
    return Identity(user.email, user.email, user.name, user.role, user.extension)


class Authenticator:
    """Checks credentials against the organisation's users; keeps the two-factor logins under way."""

    def __init__(self, org: Organisation, clock: Clock) -> None:
        self.org = org  # replaceable: the exchange hands over a new organisation when it gets one
        self.clock = clock
        self._pending: dict[str, _Pending2FA] = {}
        # a server calls these methods from several threads (hashing is slow): the pending logins are shared
        self._lock = threading.Lock()
        self._dummy: tuple[Organisation, str] | None = None

    def _dummy_hash(self) -> str:
        """A stored hash no password matches, as costly to check as the organisation's usual one: checked for
        an unknown email, so that the answer takes as long as for a known one (else timing tells who exists)."""
        org = self.org
        if self._dummy is None or self._dummy[0] is not org:
            counts = Counter(
                parts[1]
                for parts in (u.password_hash.split("$") for u in org.users)
                if len(parts) == 4 and parts[0] == "pbkdf2_sha256" and parts[1].isdigit()
            )
            iterations = counts.most_common(1)[0][0] if counts else str(DUMMY_ITERATIONS)
            self._dummy = (org, f"pbkdf2_sha256${iterations}${secrets.token_hex(8)}${'0' * 64}")
        return self._dummy[1]

    def authenticate(self, credentials: cmd.Credentials) -> cmd.AuthOutcome:
        match credentials:
            case cmd.Vouched(identity=identity):
                return cmd.LoggedIn(identity)
            case cmd.ApiKeyLogin(api_key=key):
                user = next((u for u in self.org.users if u.check_api_key(key)), None)
                if user is None:
                    return cmd.AuthFailed(ErrorCode.BAD_CREDENTIALS, "unknown API key")
                return cmd.LoggedIn(identity_of(user))
            case cmd.PasswordLogin(email=email, password=password):
                user = self.org.user_by_email(email)
                if user is None:
                    verify_password(self._dummy_hash(), password)  # the same work, the same answer
                    return cmd.AuthFailed(ErrorCode.BAD_CREDENTIALS, "wrong email or password")
                if not user.check_password(password):
                    return cmd.AuthFailed(ErrorCode.BAD_CREDENTIALS, "wrong email or password")
                if user.totp_secret:
                    nonce = secrets.token_urlsafe(16)
                    with self._lock:
                        self._pending[nonce] = _Pending2FA(user, self.clock.now() + NONCE_LIFETIME)
                    return cmd.NeedsSecondFactor(nonce)
                return cmd.LoggedIn(identity_of(user))
        return cmd.AuthFailed(ErrorCode.BAD_CREDENTIALS, "unsupported credentials")  # pragma: no cover

    def two_factor_auth(self, nonce: str, code: str) -> cmd.AuthOutcome:
        with self._lock:  # an attempt is counted before the next one on the same nonce is checked
            pending = self._pending.get(nonce)
            if pending is None or pending.expires < self.clock.now():
                self._pending.pop(nonce, None)
                return cmd.AuthFailed(ErrorCode.BAD_OTP, "this two-factor login expired; log in again")
            assert pending.user.totp_secret
            if pyotp.TOTP(pending.user.totp_secret).verify(code, for_time=self.clock.now(), valid_window=1):
                del self._pending[nonce]
                return cmd.LoggedIn(identity_of(pending.user))
            pending.attempts += 1
            if pending.attempts >= MAX_OTP_ATTEMPTS:
                del self._pending[nonce]
                return cmd.AuthFailed(ErrorCode.BAD_OTP, "wrong code too many times; log in again")
            return cmd.AuthFailed(ErrorCode.BAD_OTP, "wrong two-factor code")
