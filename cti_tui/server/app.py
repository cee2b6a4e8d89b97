"""``cti-tui serve``: the HTTP API and the WebSocket sessions, on Starlette served by uvicorn.

uvicorn speaks HTTP and hands WebSockets to the ``websockets`` library, so one port serves both; Starlette
gives routing and JSON. The state — tokens, sessions, replay, grace — is :class:`SessionHub`'s; this
module only moves frames: it never trusts the client, answers every frame, and keeps one slow or noisy
client from touching the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from cti_tui.core.model import Direction, DirectoryEntry, Identity
from cti_tui.engine.actions import perform
from cti_tui.protocol import session as protocol
from cti_tui.protocol.actions import QUERIES, Action
from cti_tui.server.limits import ServerLimits
from cti_tui.server.outbox import Connection
from cti_tui.server.sessions import ApiError, Session, SessionHub
from cti_tui.server.transport import FRAME_WRITER
from cti_tui.store.history import HistoryError, HistoryRecorder, HistoryStore, Outcome

log = logging.getLogger("cti_tui.server")

FLOOD_FRAMES = 200  # frames per second read from one connection; past it, reading waits for the next second
PROTOCOL_VERSION = 1  # the version of the protocol under /v1 (docs/protocol.md); /api and /ws are version 1 too
DIRECTORY_PAGE = 500  # directory entries per page by default (/v1), and MAX_DIRECTORY_PAGE at most
MAX_DIRECTORY_PAGE = 1_000
MAX_HISTORY_PAGE = 200
# query parameters a client might put a token in: refused, and the token revoked (it is in access logs now)
TOKEN_PARAMETERS = frozenset({"token", "access_token", "apikey", "api_key", "session_token", "key"})
CLOSE_OVERFLOW = 4000  # "you fell behind: restore your session"
CLOSE_POLICY = 1008


def _client(request: Request | WebSocket) -> str:
    return request.client.host if request.client else "unknown"


def _refusal(error: ApiError) -> JSONResponse:
    headers = {}
    if error.status == 401 and error.code == "invalid_token":
        headers["WWW-Authenticate"] = "Bearer"
    if error.retry_after is not None:
        headers["Retry-After"] = str(max(1, math.ceil(error.retry_after)))
    if error.status in (408, 413):  # the rest of the body is not read: the connection cannot carry another request
        headers["Connection"] = "close"
    return JSONResponse({"status": error.status, "code": error.code, "message": error.message}, error.status, headers)


async def _json_body(request: Request, limits: ServerLimits) -> dict[str, Any]:
    """The body as a JSON object, read within the body limits: a Content-Length over the size limit is
    refused before anything is read, and a body without one is counted as it streams in (413 at once past the
    limit); the whole body must arrive within ``body_timeout`` (408)."""
    cap = limits.max_body_bytes
    too_large = ApiError(413, "payload_too_large", f"the body is over {cap} bytes")
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > cap):
        raise too_large
    raw = bytearray()
    try:
        async with asyncio.timeout(limits.body_timeout):
            async for chunk in request.stream():
                raw += chunk
                if len(raw) > cap:
                    raise too_large
    except TimeoutError:
        raise ApiError(408, "request_timeout", "the body did not arrive in time") from None
    try:
        body = json.loads(raw or b"{}")
    except (ValueError, RecursionError):
        raise ApiError(400, "invalid_params", "the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_params", "the body must be a JSON object")
    return body


def _require_json(request: Request) -> None:
    """415 unless the body is declared JSON: a web page can make a browser post ``text/plain`` (or a form) to
    any address without asking first, but not ``application/json`` (a CORS preflight, which this server does
    not answer), so a page an agent visits cannot log in, or lock an account, in the agent's name."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "application/json":
        raise ApiError(415, "unsupported_media_type", "the body must be sent as Content-Type: application/json")


class OriginGuard:
    """Refuses (403 ``origin_not_allowed``) every request and WebSocket handshake whose ``Origin`` header names
    an origin that is not in ``allowed``. Browsers send ``Origin`` with every cross-site POST and every
    WebSocket handshake, and a page cannot remove it; the app and other programs send none and pass. The
    server's own address is not trusted either: a DNS-rebinding page reaches it under the attacker's name."""

    def __init__(self, app: ASGIApp, allowed: frozenset[str]) -> None:
        self.app = app
        self.allowed = frozenset(origin.strip().rstrip("/").lower() for origin in allowed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            origins = [value.decode("latin-1").strip().lower() for name, value in scope["headers"] if name == b"origin"]
            if any(origin not in self.allowed for origin in origins):
                await self._refuse(scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = json.dumps(
            {"status": 403, "code": "origin_not_allowed", "message": "this origin may not use the server"}
        ).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 403, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await receive()  # websocket.connect
        if "websocket.http.response" in scope.get("extensions", {}):
            await send({"type": "websocket.http.response.start", "status": 403, "headers": headers})
            await send({"type": "websocket.http.response.body", "body": body})
        else:  # a server without the denial-response extension answers a plain 403
            await send({"type": "websocket.close", "code": 1008})


def _bearer(request: Request) -> str | None:
    """The token from ``Authorization: Bearer …`` only — never a query string, which access logs keep."""
    header = request.headers.get("authorization", "")
    return header[7:].strip() if header.lower().startswith("bearer ") else None


def _identity(hub: SessionHub, request: Request) -> Identity:
    """Who the bearer token says; over HTTP a missing or bad one is 401 (with ``WWW-Authenticate``)."""
    try:
        return hub.identity_for(_bearer(request))
    except ApiError as error:
        raise ApiError(401, error.code, error.message) from None


def _refuse_tokens_in_url(hub: SessionHub, request: Request) -> None:
    """A token in a URL has leaked (proxies and access logs keep URLs): it is revoked and the request refused."""
    leaked = [
        value
        for name, value in request.query_params.multi_items()
        if name.lower() in TOKEN_PARAMETERS or value in hub.tokens
    ]
    if leaked:
        for value in leaked:
            hub.revoke(value)
        raise ApiError(
            400, "token_in_url", "tokens go in the Authorization header; one sent in a URL is revoked: log in again"
        )


def _page_number(params: Any, name: str, default: int, lowest: int, highest: int) -> int:
    """An integer query parameter within [lowest, highest]; anything else is refused, never clamped."""
    raw = params.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or len(raw) > 9 or not lowest <= int(raw) <= highest:
        raise ApiError(400, "invalid_params", f'"{name}" must be an integer from {lowest} to {highest}')
    return int(raw)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    """Starlette's own refusals (no such route: 404, wrong method: 405) in the one JSON error shape."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    code = {404: "not_found", 405: "method_not_allowed"}.get(status, "http_error")
    message = {404: "no such endpoint", 405: "this endpoint does not take that method"}.get(status, "refused")
    response = JSONResponse({"status": status, "code": code, "message": message}, status)
    if isinstance(exc, HTTPException) and exc.headers:
        response.headers.update(exc.headers)
    return response


def build_server_app(
    hub: SessionHub,
    history: HistoryStore | None = None,
    on_start: Callable[[], None] = lambda: None,
    limits: ServerLimits | None = None,
) -> Starlette:
    """The ASGI app for ``hub``; with ``history``, each user's ended calls are recorded and served.
    ``on_start`` runs once the server's loop runs (it starts the simulated world's traffic). The transport's
    limits are uvicorn's (see run.py); ``limits`` gives this app its body and session limits."""
    limits = limits or ServerLimits()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        on_start()
        try:
            yield
        finally:
            await hub.close_all()

    def api(handler: Callable[[Request], Awaitable[Any]]) -> Callable[[Request], Awaitable[JSONResponse]]:
        async def endpoint(request: Request) -> JSONResponse:
            try:
                _refuse_tokens_in_url(hub, request)
                return JSONResponse(await handler(request))
            except ApiError as error:
                return _refusal(error)

        return endpoint

    async def login(request: Request) -> dict[str, Any]:
        _require_json(request)
        return await hub.login(await _json_body(request, limits), _client(request))

    async def two_factor(request: Request) -> dict[str, Any]:
        _require_json(request)
        return await hub.two_factor(await _json_body(request, limits), _client(request))

    async def logout(request: Request) -> dict[str, Any]:
        _identity(hub, request)
        hub.revoke(_bearer(request) or "")
        return {"ok": True}

    def directory(paged: bool) -> Callable[[Request], Awaitable[dict[str, Any]]]:
        """/v1 pages the directory (500 entries unless ``limit`` says, 1,000 at most); /api (before v1) sends
        it whole unless ``limit`` is given, as the clients before v1 expect."""

        async def handler(request: Request) -> dict[str, Any]:
            _identity(hub, request)
            params = request.query_params
            default = DIRECTORY_PAGE if paged or "limit" in params else None
            limit = _page_number(params, "limit", default or 1, 1, MAX_DIRECTORY_PAGE)
            offset = _page_number(params, "offset", 0, 0, 10**9)
            everything = await hub.service.directory()
            entries = everything[offset : offset + limit] if default is not None else everything
            end = offset + len(entries)
            return {
                "entries": [_directory_entry(e) for e in entries],
                "total": len(everything),
                "next": end if end < len(everything) else None,
            }

        return handler

    def _directory_entry(e: DirectoryEntry) -> dict[str, Any]:
        return {
            "name": e.name,
            "number": e.number,
            "kind": e.kind.value,
            "node": e.node,
            "outsideNumber": e.outside_number,
        }

    async def call_history(request: Request) -> dict[str, Any]:
        identity = _identity(hub, request)
        if history is None:
            raise ApiError(404, "not_found", "this server keeps no call history")
        params = request.query_params
        limit = _page_number(params, "limit", 50, 1, MAX_HISTORY_PAGE)
        offset = _page_number(params, "offset", 0, 0, 10**9)
        try:
            outcome = Outcome(params["outcome"]) if params.get("outcome") else None
            direction = Direction(params["direction"].upper()) if params.get("direction") else None
        except ValueError:
            outcomes, directions = "|".join(o.value for o in Outcome), "|".join(d.value for d in Direction)
            raise ApiError(
                400, "invalid_params", f'"outcome" is one of {outcomes}; "direction" is one of {directions}'
            ) from None
        try:
            # On a thread: a search of a big history takes a while, and this loop carries every session's
            # events. Counted to 20,000 at most (as the app's pane does): counting a search that matches most
            # of a million rows to the end took seconds.
            page = await asyncio.to_thread(
                history.query,
                identity.line,
                search=params.get("search") or None,
                outcome=outcome,
                direction=direction,
                limit=limit,
                offset=offset,
                exact_total=False,
            )
        except HistoryError:
            log.exception("a history query failed")
            raise ApiError(500, "history_failure", "the call history could not be read") from None
        return {
            "total": page.total,
            "totalExact": page.exact,
            "rows": [
                {
                    "id": r.id,
                    "direction": r.direction.value,
                    "outcome": r.outcome.value,
                    "party": r.party,
                    "partyName": r.party_name,
                    "line": r.line,
                    "cause": r.cause,
                    "setupAt": r.setup_at.isoformat() if r.setup_at else None,
                    "connectAt": r.connect_at.isoformat() if r.connect_at else None,
                    "releaseAt": r.release_at.isoformat() if r.release_at else None,
                    "talkSeconds": r.talk_seconds,
                    "ringingSeconds": r.ringing_seconds,
                    "disposition": r.disposition,
                    "note": r.note,
                }
                for r in page.rows
            ],
        }

    async def session_socket(websocket: WebSocket) -> None:
        await websocket.accept()
        await SocketHandler(hub, websocket, history, limits.session_timeout).run()

    routes: list[Route | WebSocketRoute] = []
    # /v1 is the protocol as documented; /api and /ws are the same before versioning (the directory
    # unpaged by default), kept for clients written before it
    for prefix, paged in (("/v1", True), ("/api", False)):
        routes += [
            Route(f"{prefix}/login", api(login), methods=["POST"]),
            Route(f"{prefix}/2fa", api(two_factor), methods=["POST"]),
            Route(f"{prefix}/logout", api(logout), methods=["POST"]),
            Route(f"{prefix}/directory", api(directory(paged)), methods=["GET"]),
            Route(f"{prefix}/history", api(call_history), methods=["GET"]),
        ]
    routes += [WebSocketRoute("/v1/ws", session_socket), WebSocketRoute("/ws", session_socket)]
    return Starlette(
        routes=routes,
        middleware=[Middleware(OriginGuard, allowed=limits.allowed_origins)],
        exception_handlers={HTTPException: _http_error},
        lifespan=lifespan,
    )


class SocketHandler:
    """One WebSocket: reads frames, answers each, and streams the session's messages from its queue."""

    def __init__(
        self, hub: SessionHub, websocket: WebSocket, history: HistoryStore | None, session_timeout: float = 10.0
    ) -> None:
        self.hub = hub
        self.websocket = websocket
        self.history = history
        self.connection = Connection(hub.queue_limit, hub.outbox)
        writer = websocket.scope.get("extensions", {}).get(FRAME_WRITER)
        if writer is not None:
            self.connection.use(writer)
        self.session: Session | None = None
        self.window_start = time.monotonic()
        self.frames_in_window = 0
        # a socket that has not opened a session by then is closed: it holds a slot and proves nothing
        self.session_deadline = asyncio.get_running_loop().time() + session_timeout

    async def _receive(self) -> Message | None:
        """The next ASGI message; None once a socket without a session has had its time."""
        if self.session is not None:
            return await self.websocket.receive()
        try:
            async with asyncio.timeout_at(self.session_deadline):
                return await self.websocket.receive()
        except TimeoutError:
            return None

    async def run(self) -> None:
        sender = asyncio.create_task(self._send_loop())
        try:
            while not sender.done():
                try:
                    message = await self._receive()
                except (WebSocketDisconnect, RuntimeError):
                    break
                if message is None:
                    await self._close(CLOSE_POLICY, "no session opened in time")
                    break
                if message["type"] == "websocket.disconnect":
                    break
                await self._throttle()
                frame = message.get("text")
                if frame is None:
                    frame = message.get("bytes") or b""
                await self._handle(frame)
        finally:
            if self.session is not None:
                self.hub.detach(self.session, self.connection)
            self.connection.close()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(sender, timeout=2)

    async def _throttle(self) -> None:
        """At most FLOOD_FRAMES frames a second are read: past them, reading waits for the next second (TCP
        then pushes back on the sender). A burst is slowed, never cut, and every frame read gets its reply."""
        now = time.monotonic()
        if now - self.window_start >= 1.0:
            self.window_start, self.frames_in_window = now, 0
        self.frames_in_window += 1
        if self.frames_in_window > FLOOD_FRAMES:
            await asyncio.sleep(max(0.0, self.window_start + 1.0 - now))
            self.window_start, self.frames_in_window = time.monotonic(), 1

    async def _send_loop(self) -> None:
        """Wakes only to overflow or to close, when the transport writes the frames itself (outbox.py); else
        (another ASGI server) it sends every frame too, one ASGI send each."""
        connection = self.connection
        try:
            while True:
                await connection.wake.wait()
                connection.wake.clear()
                if connection.overflowed:
                    await self.websocket.send_text(protocol.encode({"type": "overflow", "message": "restore"}))
                    await self._close(CLOSE_OVERFLOW, "fell behind; restore the session")
                    return
                if connection.writer is None or connection.closing:
                    while connection.frames and not connection.overflowed:
                        for frame in connection.take():
                            if connection.overflowed:
                                break  # (its push set wake: the next turn says so)
                            await self.websocket.send_text(frame.decode("utf-8"))
                    if connection.closing and not connection.overflowed:
                        await self._close(1000, "session closed")
                        return
        except (WebSocketDisconnect, RuntimeError, OSError):
            return

    async def _close(self, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            await self.websocket.close(code, reason)

    def _reply(self, message: dict[str, Any]) -> None:
        self.connection.push(message)

    async def _handle(self, frame: str | bytes) -> None:
        try:
            request = protocol.parse_frame(frame)
        except protocol.ProtocolError as error:
            self._reply(protocol.protocol_error(error))
            return
        try:
            await self._dispatch(request)
        except ApiError as error:
            self._reply(protocol.error_reply(request.request_id, error.status, error.code, error.message))
        except Exception:  # a bug must not cost the client its connection: answer, and log the action only
            log.exception("the %s action failed", request.action)  # never the frame: it may hold a token
            self._reply(protocol.error_reply(request.request_id, 500, "internal_error", "the server failed"))

    async def _dispatch(self, request: protocol.Request) -> None:
        hub = self.hub
        match request.action:
            case "ping":
                self._reply(protocol.ok_reply(request.request_id, "pong"))
                return
            case "create_session":
                if self.session is not None:
                    raise ApiError(400, "invalid_params", "this connection already has a session")
                session = await hub.create_session(request.args["token"])
                if self.history is not None:
                    session.connector.add_listener(HistoryRecorder(self.history, session.identity.line))
                self._attach(session, request.request_id, None)
                return
            case "restore_session":
                if self.session is not None:
                    raise ApiError(400, "invalid_params", "this connection already has a session")
                session = hub.restore_session(request.args["token"], request.args["session_id"])
                self._attach(session, request.request_id, request.args["last_seq"])
                return
        if self.session is None:
            raise ApiError(401, "invalid_session_id", "create or restore a session first")
        session = self.session
        if request.action == "destroy_session":
            self._reply(protocol.ok_reply(request.request_id, True))
            await hub.destroy(session)
            return
        await self._perform(session, request)

    def _attach(self, session: Session, request_id: str | int | None, last_seq: int | None) -> None:
        """Reply, then the present: a replay of what the client missed, or a full snapshot."""
        self.session = session
        replay = session.replay_after(last_seq) if last_seq is not None else None
        present: dict[str, Any] = (
            {"present": "replay", "replayCount": len(replay)} if replay is not None else {"present": "snapshot"}
        )
        if replay is None and last_seq is not None and last_seq <= session.connector.last_seq:
            present["reason"] = "too_far_behind"  # the log no longer reaches back: the present, and what ended
        self._reply(
            protocol.ok_reply(
                request_id,
                {
                    "sessionId": session.id,
                    "token": session.resume_token,
                    "seq": session.connector.last_seq,
                    "protocol": PROTOCOL_VERSION,
                    **present,
                },
            )
        )
        if replay is None:
            self.connection.push(session.snapshot(last_seq if "reason" in present else None))
        else:
            self.connection.push_replay(replay)
        self.hub.attach(session, self.connection)

    async def _perform(self, session: Session, request: protocol.Request) -> None:
        """Run a connector action and reply from what it returned (a query's answer, or the command's
        Done/Refused), never from the session's event log, which every connection of the session shares."""
        with session.replying_to(request.request_id):
            outcome = await perform(session.connector, Action(request.action, request.args, request.request_id))
        if request.action in QUERIES:
            self._reply(protocol.ok_reply(request.request_id, outcome))
        else:
            self._reply(protocol.result_reply(request.request_id, outcome))
