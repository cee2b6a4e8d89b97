"""Sessions of ``cti-tui serve`` (Keyyo semantics, SPEC §4): tokens, sessions, replay, grace, login limits.

A login gives a short-lived token; a token opens a session; the session hosts one Connector on a backend of
the PBX the server fronts (given as a backend factory and an authenticator, never the PBX object itself, so
any backend that can vouch for many users will do) and keeps its subscriptions and a log of its events with
their sequence numbers. Connections come and go: when the last one closes, a grace timer starts; restoring
before it expires replays every event after the client's last one; after it, the session is gone. Transport
lives in :mod:`cti_tui.server.app`; this module keeps the state behind a small interface (so several servers
could later share it through an existing store such as Redis, not a home-made one).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import secrets
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cti_tui.core import commands as cmd
from cti_tui.core.backend import Authenticator, Backend
from cti_tui.core.clock import Clock, Timer
from cti_tui.core.model import CallEvent, Event, Identity
from cti_tui.engine.connector import Connector
from cti_tui.engine.queue_figures import QueueFiguresFeed
from cti_tui.protocol import session as protocol
from cti_tui.protocol.events import agent_to_wire, call_to_wire
from cti_tui.server.outbox import QUEUE_LIMIT, Connection, Outbox
from cti_tui.server.queue_figures import FiguresPublisher
from cti_tui.server.replay import PER_SESSION_BYTES, TOTAL_BYTES, ReplayBudget, ReplayLog
from cti_tui.server.throttle import LoginThrottle

TOKEN_LIFETIME = timedelta(minutes=15)
GRACE_SECONDS = 300.0
ENDED_KEPT = 500  # calls ended per session whose last event a too_far_behind snapshot can still send
MAX_PENDING_NONCES = 10_000  # two-factor logins under way whose account the hub remembers


def identity_to_wire(identity: Identity) -> dict[str, str]:
    return {
        "email": identity.email,
        "name": identity.name,
        "role": identity.role.value,
        "extension": identity.extension,
    }


class ApiError(Exception):
    """An HTTP/WebSocket refusal with the SPEC §4 status and code; ``retry_after`` (seconds) goes out as the
    ``Retry-After`` header of a 429 or 503."""

    def __init__(self, status: int, code: str, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after


@dataclass
class Token:
    value: str
    identity: Identity
    expires: datetime


@dataclass(eq=False)
class _Reply:
    """A command of ``session`` in progress: the activity events it causes name ``request_id``."""

    session: Session
    request_id: str | int | None
    open: bool = True


# Per task (each connection's frames run in its own task), so two connections' commands on one session,
# in flight together, each tag only their own events. Callbacks scheduled while a command runs inherit the
# value, but find it closed once the command has returned: a transfer failing later names no command.
_replying: ContextVar[_Reply | None] = ContextVar("cti_tui_replying", default=None)


class Session:
    """A logged-in user on the server: its connector, event log, live connections and grace timer."""

    def __init__(
        self,
        session_id: str,
        identity: Identity,
        connector: Connector,
        clock: Clock,
        log: ReplayLog,
        frames: protocol.EventFrames | None = None,
    ) -> None:
        self.id = session_id
        self.frames = frames or protocol.EventFrames()  # the hub's, shared: a call's body is encoded once
        self.clock = clock
        self.identity = identity
        self.connector = connector
        self.log = log
        # call id -> the seq of its last event, for calls that ended: a client too far behind to replay is
        # sent their final state with the snapshot, so a call that ended while it was away still ends on
        # its screen (and reaches its history) instead of vanishing
        self.ended: OrderedDict[str, int] = OrderedDict()
        self.connections: set[Connection] = set()
        self.grace: Timer | None = None
        self.closed = False
        # the session's own token: restores it (and calls the HTTP API) for as long as the session lives
        self.resume_token = secrets.token_urlsafe(24)

    @contextlib.contextmanager
    def replying_to(self, request_id: str | int | None) -> Iterator[None]:
        """While the command ``request_id`` runs in this task, its activity events carry ``inReplyTo``."""
        reply = _Reply(self, request_id)
        token = _replying.set(reply)
        try:
            yield
        finally:
            reply.open = False
            _replying.reset(token)

    def on_event(self, event: Event) -> None:
        reply = _replying.get()
        in_reply_to = reply.request_id if reply is not None and reply.open and reply.session is self else None
        frame = self.frames.frame(event, in_reply_to)
        self.log.append(event.seq, frame)
        if isinstance(event, CallEvent) and event.call.ended:
            self.ended[event.call.id] = event.seq
            self.ended.move_to_end(event.call.id)
            while len(self.ended) > ENDED_KEPT:
                self.ended.popitem(last=False)
        for connection in self.connections:
            connection.push(frame)

    def snapshot(self, since: int | None = None) -> dict[str, Any]:
        """The present; with ``since`` (a restore too far behind to replay), also ``ended``: the final
        state of each call that ended after event ``since``, oldest first."""
        message = {
            "type": "snapshot",
            "sessionId": self.id,
            "seq": self.connector.last_seq,
            "identity": identity_to_wire(self.identity),
            "now": self.connector_now(),
            "calls": [call_to_wire(c) for c in self.connector.active_calls()],
            "subscriptions": self.connector.subscriptions(),
            "agents": [agent_to_wire(a) for a in self.connector.agents()],
        }
        if since is not None:
            ended = (self.connector.get_call(call_id) for call_id, seq in self.ended.items() if seq > since)
            message["ended"] = [call_to_wire(call) for call in ended if call is not None]
        return message

    def connector_now(self) -> str:
        return self.clock.now().isoformat()

    def replay_after(self, last_seq: int) -> list[bytes] | None:
        """Every logged event after ``last_seq`` (as sent), or None when the log no longer reaches back that
        far (or ``last_seq`` is one this session never sent: the client's count is off, so it gets the present)."""
        if last_seq == self.connector.last_seq:
            return []
        if last_seq > self.connector.last_seq:
            return None
        return self.log.after(last_seq)


class SessionHub:
    """All sessions of one server over one PBX: ``backends`` makes one backend per session, ``authenticator``
    checks logins; ``clock`` is the PBX's time (tokens, grace, the snapshot's ``now``)."""

    def __init__(
        self,
        backends: Callable[[], Backend],
        authenticator: Authenticator,
        clock: Clock,
        *,
        grace_seconds: float = GRACE_SECONDS,
        token_lifetime: timedelta = TOKEN_LIFETIME,
        failures_per_account: int = 5,
        failures_per_address: int = 100,
        lockout_seconds: float = 30.0,
        hash_workers: int | None = None,
        max_pending_logins: int = 256,
        queue_limit: int = QUEUE_LIMIT,
        replay_bytes_per_session: int = PER_SESSION_BYTES,
        replay_bytes_total: int = TOTAL_BYTES,
        queue_figures: QueueFiguresFeed | None = None,
    ) -> None:
        self.backends = backends
        self.authenticator = authenticator
        # one backend of the hub's own, never logged in: the directory, and the park slots and role policies
        # told at login
        self.service = backends()
        self.capabilities = self.service.capabilities
        self.clock = clock
        self.grace_seconds = grace_seconds
        self.token_lifetime = token_lifetime
        self.queue_limit = queue_limit
        self.replay = ReplayBudget(replay_bytes_per_session, replay_bytes_total)
        self.frames = protocol.EventFrames()  # every session's event frames: a call's body encoded once
        self.outbox = Outbox()  # every connection's frames, written once per loop turn
        self.sessions: dict[str, Session] = {}
        self.tokens: dict[str, Token] = {}
        # failed logins (successes are not counted): per account (unknown ones too, so that a lock says
        # nothing about who exists) and per address; see throttle.py
        self.account_failures = LoginThrottle(failures_per_account, base=lockout_seconds)
        self.address_failures = LoginThrottle(failures_per_address, base=lockout_seconds)
        # the authenticator hashes passwords (PBKDF2, milliseconds of CPU each): on these threads, never on the
        # loop that carries every session's events; at most max_pending_logins wait for one (then 503)
        self.auth_pool = ThreadPoolExecutor(
            max_workers=hash_workers or min(4, os.cpu_count() or 1), thread_name_prefix="cti-tui-login"
        )
        self.max_pending_logins = max_pending_logins
        self.pending_logins = 0
        self._nonce_accounts: OrderedDict[str, str] = OrderedDict()  # 2FA nonce -> the account it is for
        self.on_destroyed: Callable[[Session], None] = lambda session: None
        self._tasks: set[asyncio.Future[None]] = set()
        # queue service levels: one feed for the whole server, its figures sent to whoever watches a queue
        self.figures = (
            None if queue_figures is None else FiguresPublisher(queue_figures, clock, lambda: self.sessions.values())
        )

    # --- login over HTTP ----------------------------------------------------------------------------

    async def login(self, body: dict[str, Any], address: str) -> dict[str, Any]:
        """``{email, password}`` or ``{apiKey}`` -> a token, or a 2FA challenge (nonce)."""
        api_key, email, password = body.get("apiKey"), body.get("email"), body.get("password")
        account: str | None = None  # an API key has no account to lock: an unknown key belongs to nobody
        if api_key is not None:
            if not isinstance(api_key, str) or not api_key:
                raise ApiError(400, "invalid_params", '"apiKey" must be a non-empty string')
            credentials: cmd.Credentials = cmd.ApiKeyLogin(api_key)
        elif email is None or password is None:
            raise ApiError(400, "missing_parameter", 'give "email" and "password", or "apiKey"')
        elif not isinstance(email, str) or not isinstance(password, str) or not email or not password:
            raise ApiError(400, "invalid_params", '"email" and "password" must be non-empty strings')
        else:
            account = email.strip().lower()
            credentials = cmd.PasswordLogin(email, password)
        outcome = await self._attempt(account, address, self.authenticator.authenticate, credentials)
        if isinstance(outcome, cmd.NeedsSecondFactor) and account is not None:
            self._nonce_accounts[outcome.nonce] = account
            while len(self._nonce_accounts) > MAX_PENDING_NONCES:
                self._nonce_accounts.popitem(last=False)
        return self._outcome(outcome)

    async def two_factor(self, body: dict[str, Any], address: str) -> dict[str, Any]:
        nonce, code = body.get("nonce"), body.get("code")
        if nonce is None or code is None:
            raise ApiError(400, "missing_parameter", 'give "nonce" and "code"')
        if not isinstance(nonce, str) or not isinstance(code, str):
            raise ApiError(400, "invalid_params", '"nonce" and "code" must be strings')
        account = self._nonce_accounts.get(nonce)  # wrong codes count against the account of the password
        outcome = await self._attempt(account, address, self.authenticator.two_factor_auth, nonce, code)
        if not isinstance(outcome, cmd.AuthFailed):
            self._nonce_accounts.pop(nonce, None)  # (a dead one is pushed out by newer ones: the map is bounded)
        return self._outcome(outcome)

    async def _attempt(
        self, account: str | None, address: str, check: Callable[..., cmd.AuthOutcome], *args: Any
    ) -> cmd.AuthOutcome:
        """Run ``check(*args)`` on the login threads, unless the account or the address must wait (429 with
        the seconds to wait) or too many logins already wait for a thread (503); count a failure against
        both, and forget the account's failures when it logs in."""
        keys = [(self.address_failures, f"address:{address}")]
        if account is not None:
            keys.append((self.account_failures, f"account:{account}"))
        for throttle, key in keys:
            wait = throttle.wait(key)
            if wait is not None:
                whose = "this account" if throttle is self.account_failures else "this address"
                raise ApiError(
                    429,
                    "too_many_attempts",
                    f"too many failed logins for {whose}; try again in {math.ceil(wait)} s",
                    retry_after=wait,
                )
        if self.pending_logins >= self.max_pending_logins:
            raise ApiError(503, "server_busy", "too many logins under way; try again in a second", retry_after=1)
        for throttle, key in keys:
            throttle.begin(key)
        self.pending_logins += 1
        failed = False
        try:
            outcome = await asyncio.get_running_loop().run_in_executor(self.auth_pool, check, *args)
            failed = isinstance(outcome, cmd.AuthFailed)
        finally:
            self.pending_logins -= 1
            for throttle, key in keys:
                throttle.end(key, failed=failed)
        if isinstance(outcome, cmd.LoggedIn) and account is not None:
            # a right password alone (NeedsSecondFactor) forgets nothing: else each new nonce would bring
            # fresh guesses at the code
            self.account_failures.succeeded(f"account:{account}")
        return outcome

    def _outcome(self, outcome: cmd.AuthOutcome) -> dict[str, Any]:
        match outcome:
            case cmd.NeedsSecondFactor(nonce=nonce):
                return {"twoFactor": True, "nonce": nonce}
            case cmd.AuthFailed(message=message):
                raise ApiError(401, "invalid_credentials", message)
            case cmd.LoggedIn(identity=identity):
                self._forget_expired_tokens()
                token = Token(secrets.token_urlsafe(24), identity, self.clock.now() + self.token_lifetime)
                self.tokens[token.value] = token
                return {
                    "token": token.value,
                    "expiresIn": int(self.token_lifetime.total_seconds()),
                    "identity": identity_to_wire(identity),
                    "parkSlots": self.capabilities.park_slots,
                    "policies": {
                        role.value: {
                            "watch": list(p.watch),
                            "actOnWatched": sorted(op.value for op in p.act_on_watched),
                        }
                        for role, p in (self.capabilities.policies or {}).items()
                    },
                }
        raise AssertionError(outcome)  # pragma: no cover

    def _forget_expired_tokens(self) -> None:
        now = self.clock.now()
        for value in [value for value, token in self.tokens.items() if token.expires < now]:
            del self.tokens[value]

    def revoke(self, token: str) -> None:
        """Forget a token (logout, or it leaked into a URL). A session's own token too: its session then lives
        on its open connections, but cannot be restored."""
        self.tokens.pop(token, None)

    def identity_for(self, token: str | None) -> Identity:
        found = self.tokens.get(token or "")
        if found is None or found.expires < self.clock.now():
            self.tokens.pop(token or "", None)
            raise ApiError(400, "invalid_token", "the login token is invalid or has expired; log in again")
        return found.identity

    # --- sessions -----------------------------------------------------------------------------------

    async def create_session(self, token: str) -> Session:
        identity = self.identity_for(token)
        connector = Connector(self.backends())
        session = Session(secrets.token_urlsafe(18), identity, connector, self.clock, self.replay.log(), self.frames)
        connector.add_listener(session.on_event)
        if self.figures is not None:
            self.figures.watch(session)
        if not await connector.login_vouched(identity):
            self.replay.release(session.log)
            raise ApiError(400, "invalid_token", "could not open a session for this token")
        self.sessions[session.id] = session
        self.tokens[session.resume_token] = Token(session.resume_token, identity, datetime.max.replace(tzinfo=UTC))
        return session

    def restore_session(self, token: str, session_id: str) -> Session:
        # the session first: once it is gone its token is gone too, and the answer must say the session is
        # (401), not the token (400); a session id is 144 random bits, so this reveals nothing guessable
        session = self.sessions.get(session_id)
        if session is None or session.closed:
            raise ApiError(401, "invalid_session_id", "the session is invalid or has expired; create a new one")
        identity = self.identity_for(token)
        if session.identity.email != identity.email:
            raise ApiError(403, "not_permitted", "this session belongs to someone else")
        if not secrets.compare_digest(token, session.resume_token):
            # a login token of the same user opens a new session; only the session's own token restores it
            raise ApiError(400, "invalid_token", "restore a session with its own token (from its create reply)")
        return session

    def attach(self, session: Session, connection: Connection) -> None:
        if session.grace is not None:
            session.grace.cancel()
            session.grace = None
        session.connections.add(connection)
        if self.figures is not None:
            self.figures.send_current(session, connection)

    def detach(self, session: Session, connection: Connection) -> None:
        session.connections.discard(connection)
        if not session.connections and not session.closed and session.grace is None:
            session.grace = self.clock.call_later(self.grace_seconds, lambda: self._expire(session))

    def _expire(self, session: Session) -> None:
        session.grace = None
        if not session.connections:
            task = asyncio.ensure_future(self.destroy(session))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def destroy(self, session: Session) -> None:
        if session.closed:
            return
        session.closed = True
        self.replay.release(session.log)
        self.sessions.pop(session.id, None)
        self.tokens.pop(session.resume_token, None)
        if session.grace is not None:
            session.grace.cancel()
        for connection in list(session.connections):
            connection.close()
        if session.connector.identity is not None:
            await session.connector.logout()
        self.on_destroyed(session)

    async def close_all(self) -> None:
        for session in list(self.sessions.values()):
            await self.destroy(session)
        if self.figures is not None:
            self.figures.close()
        self.auth_pool.shutdown(wait=False, cancel_futures=True)
