"""The server backend: one session on ``cti-tui serve`` — httpx for the HTTP API, websockets for the session.

Login is HTTP (a token, or a 2FA challenge); the session is one WebSocket carrying commands (each with an
id, each answered) and events (each with the server's sequence number). When the socket drops, the
backend says so (the UI shows "reconnecting" and keeps the calls), reconnects with backoff and restores
the session from the last sequence number it saw: the server replays what was missed, or sends the whole
present, and the view ends up exactly the server's.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import websockets
from websockets.asyncio.client import ClientConnection

from cti_tui.backends.registry import BackendOptions, BackendUnavailable
from cti_tui.core import commands as cmd
from cti_tui.core.backend import ALL_OPERATIONS, Capabilities, ReportSink
from cti_tui.core.model import (
    ActivityName,
    DirectoryEntry,
    EntryKind,
    ErrorCode,
    Identity,
    Operation,
    Role,
)
from cti_tui.core.permissions import RolePolicy
from cti_tui.protocol.session import (
    Answer,
    ClientSession,
    MessageError,
    Opened,
    OpenFailed,
    Received,
    ServerTime,
)

if TYPE_CHECKING:
    import httpx

REPLY_TIMEOUT = 10.0
HTTP_TIMEOUT = 10.0
MAX_BACKOFF = 10.0
MAX_DIRECTORY_PAGES = 1_000  # a directory of a million entries; a server that pages on past it is not believed


class SessionGone(ConnectionError):
    """The server no longer knows the session (grace expired), or refused the token: a fresh login is needed.
    A ConnectionError, so a login whose session cannot open fails like any unreachable backend."""


def _ws_url(base: str) -> str:
    if base.startswith("https://"):
        return "wss://" + base[len("https://") :] + "/v1/ws"
    if base.startswith("http://"):
        return "ws://" + base[len("http://") :] + "/v1/ws"
    raise ValueError(f"server URL must start with http:// or https://, got {base!r}")


def _identity(data: dict[str, Any]) -> Identity:
    email = str(data["email"])
    return Identity(email, email, str(data["name"]), Role(data["role"]), str(data["extension"]))


def _policies(data: object) -> dict[Role, RolePolicy] | None:
    if not isinstance(data, dict):
        return None
    try:
        return {
            Role(role): RolePolicy(
                tuple(str(w) for w in entry["watch"]), frozenset(Operation(o) for o in entry["actOnWatched"])
            )
            for role, entry in data.items()
        }
    except (KeyError, TypeError, ValueError):
        return None


class ServerBackend:
    name = "CTI server"
    sends_queue_figures = True  # the server computes them once for every watcher: no local feed

    def __init__(self, url: str, *, reconnect: bool = True, max_backoff: float = MAX_BACKOFF) -> None:
        self.base = url.rstrip("/")
        self.ws_url = _ws_url(self.base)
        self.reconnect = reconnect
        self.max_backoff = max_backoff
        self.capabilities = Capabilities(
            operations=ALL_OPERATIONS, park_slots=10, agent_states=True, consult_transfer=True, mute=True
        )
        self.name = f"CTI server {self.base}"
        # httpx is imported here, not at the top: importing it pulls in rich (its CLI), and the engine's
        # modules must stay importable without any terminal-UI library
        import httpx

        self._httpx = httpx
        self._http: httpx.AsyncClient = httpx.AsyncClient(base_url=self.base, timeout=HTTP_TIMEOUT)
        self._login_token: str | None = None
        self.client = ClientSession()
        self._socket: ClientConnection | None = None
        self._sink: ReportSink | None = None
        self._pending: dict[int, asyncio.Future[cmd.CommandResult]] = {}
        self._reader: asyncio.Task[None] | None = None
        self._closing = False
        self.identity: Identity | None = None
        self._skew = timedelta(0)
        self._opened: Opened | None = None  # how the last create/restore was answered

    # --- HTTP ---------------------------------------------------------------------------------------

    async def _post(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        try:
            response = await self._http.post(path, json=body)
        except self._httpx.HTTPError as exc:
            raise ConnectionError(f"cannot reach {self.base}: {exc}") from None
        try:
            data = response.json()
        except ValueError:
            data = {"message": response.text[:200]}
        return response.status_code, data if isinstance(data, dict) else {}

    def _auth(self, status: int, data: dict[str, Any], bad: ErrorCode) -> cmd.AuthOutcome:
        if status == 200 and data.get("twoFactor"):
            return cmd.NeedsSecondFactor(str(data.get("nonce", "")))
        if status == 200 and isinstance(data.get("token"), str):
            self._login_token = data["token"]
            try:
                self.identity = _identity(data["identity"])
            except (KeyError, TypeError, ValueError):
                return cmd.AuthFailed(ErrorCode.BACKEND_FAILURE, "the server's login answer has no identity")
            slots = data.get("parkSlots")
            if isinstance(slots, int) and slots > 0:
                self.capabilities = dataclasses.replace(self.capabilities, park_slots=slots)
            policies = _policies(data.get("policies"))
            if policies is not None:  # the keys the UI shows then match what the server will allow
                self.capabilities = dataclasses.replace(self.capabilities, policies=policies)
            return cmd.LoggedIn(self.identity)
        message = str(data.get("message") or f"server answered {status}")
        if status == 429:
            return cmd.AuthFailed(bad, message)
        return cmd.AuthFailed(bad if status in (400, 401, 403) else ErrorCode.BACKEND_FAILURE, message)

    async def login(self, credentials: cmd.Credentials) -> cmd.AuthOutcome:
        match credentials:
            case cmd.PasswordLogin(email=email, password=password):
                status, data = await self._post("/v1/login", {"email": email, "password": password})
            case cmd.ApiKeyLogin(api_key=key):
                status, data = await self._post("/v1/login", {"apiKey": key})
            case _:
                return cmd.AuthFailed(ErrorCode.NOT_SUPPORTED, "this backend takes a password or an API key")
        return self._auth(status, data, ErrorCode.BAD_CREDENTIALS)

    async def two_factor_auth(self, nonce: str, code: str) -> cmd.AuthOutcome:
        status, data = await self._post("/v1/2fa", {"nonce": nonce, "code": code})
        return self._auth(status, data, ErrorCode.BAD_OTP)

    async def directory(self) -> list[DirectoryEntry]:
        """The whole directory, page after page (the server sends at most 1,000 entries a page)."""
        token = self.client.token or self._login_token
        entries: list[dict[str, Any]] = []
        offset = 0
        try:
            for _ in range(MAX_DIRECTORY_PAGES):  # bounded: a server that pages on forever is not followed
                response = await self._http.get(
                    "/v1/directory",
                    params={"limit": 1000, "offset": offset},
                    headers={"Authorization": f"Bearer {token}"},
                )
                page = response.json() if response.status_code == 200 else {}
                entries += page.get("entries", [])
                following = page.get("next")
                if not isinstance(following, int) or isinstance(following, bool) or following <= offset:
                    break
                offset = following
        except (self._httpx.HTTPError, ValueError, AttributeError):
            return []
        return [
            DirectoryEntry(e["name"], e["number"], EntryKind(e["kind"]), e["node"], e.get("outsideNumber"))
            for e in entries
        ]

    # --- the session socket ------------------------------------------------------------------------
    # The protocol (frames, replies, the present, sequence numbers) is protocol.session.ClientSession's;
    # this is only its I/O: one socket at a time, a reader task, futures for the replies, and backoff.

    @property
    def session_id(self) -> str | None:
        return self.client.session_id

    @property
    def last_seq(self) -> int:
        """The last event sequence number seen: a restore asks for everything after it."""
        return self.client.last_seq

    async def open(self, sink: ReportSink) -> None:
        if self._login_token is None:
            raise ConnectionError("not authenticated")
        self._sink = sink
        self._closing = False
        await self._connect(self.client.create(self._login_token))
        self._reader = asyncio.create_task(self._read_forever())

    async def _connect(self, first: str) -> None:
        """Open a socket, send ``first`` (create or restore) and take the present (snapshot or replay)
        before anything else can act on the session; only then do commands use the new socket."""
        try:
            socket = await websockets.connect(self.ws_url, open_timeout=HTTP_TIMEOUT, max_size=2**22)
        except (OSError, websockets.WebSocketException, TimeoutError) as exc:
            raise ConnectionError(f"cannot open the session socket: {exc}") from None
        try:
            try:
                await socket.send(first)
            except (websockets.WebSocketException, OSError) as exc:
                raise ConnectionError(f"session socket: {exc}") from None
            while not self.client.live:
                for item in self.client.receive(await self._receive(socket)):
                    if isinstance(item, OpenFailed):
                        raise (SessionGone if item.session_gone else ConnectionError)(item.message)
                    self._take(item)
        except BaseException as exc:  # refused, malformed, dropped or cancelled: this socket is done
            self.client.lost()
            with contextlib.suppress(Exception):
                await socket.close()
            if isinstance(exc, MessageError):
                raise ConnectionError(f"the server sent a malformed message: {exc}") from None
            raise
        self._socket = socket

    async def _receive(self, socket: ClientConnection) -> str | bytes:
        try:
            return await asyncio.wait_for(socket.recv(), timeout=REPLY_TIMEOUT)
        except (websockets.WebSocketException, TimeoutError, OSError) as exc:
            raise ConnectionError(f"session socket: {exc}") from None

    async def _read_forever(self) -> None:
        while not self._closing:
            socket = self._socket
            try:
                assert socket is not None
                async for raw in socket:
                    try:
                        for item in self.client.receive(raw):
                            self._take(item)
                    except (KeyError, TypeError, ValueError) as exc:  # one bad message must not end the session
                        # (MessageError is a ValueError; the others would be a bug past the parser, and the
                        # reader must outlive it: a silent dead reader would freeze the screen on a stale view)
                        problem = f"bad message from the server: {exc}"
                        self._report(cmd.Notice(ActivityName.ERROR, ErrorCode.BACKEND_FAILURE, problem))
            except (websockets.WebSocketException, OSError):
                pass
            if self._closing:
                return
            self.client.lost()
            self._fail_pending("the session socket closed")
            if not self.reconnect:
                self._report(cmd.LinkDown("connection to the server lost", retrying=False))
                return
            self._report(cmd.LinkDown("connection to the server lost; reconnecting…", retrying=True))
            if not await self._restore_with_backoff():
                return

    async def _restore_with_backoff(self) -> bool:
        delay = 0.2
        while not self._closing:
            try:
                await self._connect(self.client.restore())
            except SessionGone:
                # the server answered, without the session: it restarted, or the session's grace ran out
                gone = "the server no longer has this session (it restarted, or the session expired)"
                self._report(cmd.LinkDown(f"{gone}; log in again", retrying=False))
                return False
            except ConnectionError:
                await asyncio.sleep(delay)
                delay = min(self.max_backoff, delay * 2)
                continue
            if self._opened is not None and self._opened.reason == "too_far_behind":
                message = "reconnected; too much happened to replay, so the calls are shown as they are now"
            else:
                message = "reconnected; the session is restored"
            self._report(cmd.LinkUp(message))
            return True
        return False

    def _report(self, report: cmd.Report) -> None:
        if self._sink is not None:
            self._sink(report)

    def _take(self, item: Received) -> None:
        """Act on one thing the protocol made of a server message (the session's own steps are its state)."""
        match item:
            case Answer(request_id=request_id, result=result):
                future = self._pending.pop(request_id, None) if isinstance(request_id, int) else None
                if future is not None and not future.done():
                    future.set_result(result)
            case Opened():
                self._opened = item
            case ServerTime(now=now):
                self._skew = now - datetime.now(UTC)
            case cmd.CallUpdate() | cmd.Snapshot() | cmd.Notice() | cmd.AgentUpdate() | cmd.QueueFiguresUpdate():
                self._report(item)
            case _:  # Live: the session's state is the protocol's. Overflow: the server closes
                pass  # the socket next, and the reader restores from the last sequence number

    def now(self) -> datetime:
        """The server's time as best known here: durations are differences of the server's timestamps."""
        return datetime.now(UTC) + self._skew

    def _fail_pending(self, reason: str) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ConnectionError(reason))
        self._pending.clear()

    async def execute(self, command: cmd.Command) -> cmd.CommandResult:
        socket = self._socket
        if socket is None:
            return cmd.CommandResult.error(ErrorCode.NOT_CONNECTED, "not connected to the server")
        request_id, frame = self.client.command(command)
        future: asyncio.Future[cmd.CommandResult] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            await socket.send(frame)
            return await asyncio.wait_for(future, timeout=REPLY_TIMEOUT)
        except (websockets.WebSocketException, OSError, TimeoutError, ConnectionError) as exc:
            self._pending.pop(request_id, None)
            return cmd.CommandResult.error(ErrorCode.BACKEND_FAILURE, f"the server did not answer: {exc}")

    async def close(self) -> None:
        self._closing = True
        socket = self._socket
        if socket is not None:
            with contextlib.suppress(Exception):
                await socket.send(self.client.destroy())
            with contextlib.suppress(Exception):
                await socket.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        self._fail_pending("closed")
        await self._http.aclose()
        self._socket = None
        self.client.lost()


class ServerProvider:
    """A CTI server at a URL: each session is a client of its own, and the server checks the credentials."""

    name = "server"
    label = "CTI server"
    authenticator = None

    def __init__(self, options: BackendOptions) -> None:
        url = options.address.strip()
        if not url.lower().startswith(("http://", "https://")):
            raise BackendUnavailable(f"a CTI server's address is an http:// or https:// URL, not {url!r}")
        self.url = url
        self.label = f"CTI server {url.rstrip('/')}"

    def prepare(self) -> None:
        pass

    def new_backend(self) -> ServerBackend:
        return ServerBackend(self.url)

    def start(self) -> None:
        pass

    def now(self) -> datetime:
        return datetime.now(UTC)
