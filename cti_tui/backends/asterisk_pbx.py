"""One AMI connection per Asterisk, shared by every user's view of it: :class:`AsteriskPbx`.

``cti-tui serve --pbx asterisk://…`` hosts many agents and supervisors, and Asterisk sends every event to
every AMI connection: one connection per user would multiply the PBX's work and the network's by the number
of users. So a provider owns one :class:`AsteriskPbx`: it opens the :class:`AmiLink` when the first user logs
in, fans each event out to every logged-in user's :class:`~cti_tui.backends.asterisk.AsteriskBackend` (a view:
its own channels, its own reports), and closes it when the last one leaves. A lost connection is told to
every view (LinkDown), then reconnected with back-off (0.05 s doubling to 5 s), logged in and re-synced
(CoreShowChannels, QueueStatus, ParkedCalls, DeviceStateList) once for all; each view then gets its Snapshot
and LinkUp (READY only after the re-sync), the calls keeping their ids, so nothing is duplicated.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from cti_tui.backends.registry import BackendUnavailable
from cti_tui.protocol.ami import (
    ActionIds,
    ActionTracker,
    AmiParser,
    Banner,
    Event,
    ParseError,
    Reply,
    encode_action,
    encode_login,
)

ACTION_TIMEOUT = 10.0
CONNECT_TIMEOUT = 5.0
READ_SIZE = 65536
AMI_PORT = 5038
FIRST_BACKOFF, MAX_BACKOFF = 0.05, 5.0
SECRET_ENV = "CTI_TUI_AMI_SECRET"


class AmiError(ConnectionError):
    """AMI could not be reached, refused the login, or went away; the message says which (never the secret)."""


class ActionFailed(AmiError):
    """Asterisk answered an action with ``Response: Error``; :attr:`reply` holds what it said."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(f"AMI {reply.action} failed: {reply.message or reply.response.status}")
        self.reply = reply


class AmiLink:
    """One AMI connection: actions out (each awaited by ActionID), events in (to ``on_event``).

    ``tap`` sees every byte received (a recorder, a benchmark); ``on_event`` runs on the reader task for each
    event, in order. :attr:`closed` is set when the connection ends, :attr:`problem` says why.
    """

    def __init__(
        self,
        host: str,
        port: int,
        on_event: Callable[[Event], None] = lambda _event: None,
        *,
        tap: Callable[[bytes], None] | None = None,
    ) -> None:
        self.host, self.port = host, port
        self.on_event = on_event
        self.tap = tap
        self.banner: Banner | None = None
        self.parse_errors: list[ParseError] = []
        self.closed = asyncio.Event()
        self.problem = ""
        self._ids = ActionIds()
        self._tracker = ActionTracker()
        self._parser = AmiParser()
        self._waiting: dict[str, asyncio.Future[Reply]] = {}
        self._banner_seen = asyncio.Event()
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"AmiLink({self.host}:{self.port}, banner={self.banner}, closed={self.closed.is_set()})"

    async def connect(self, timeout: float = CONNECT_TIMEOUT) -> Banner:
        """Open the TCP connection and wait for the banner (bounded)."""
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), timeout)
        except (OSError, TimeoutError) as exc:
            raise AmiError(f"cannot reach AMI at {self.host}:{self.port}: {exc or 'timed out'}") from None
        sock = writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._writer = writer
        self._task = asyncio.create_task(self._read(reader))
        try:
            await asyncio.wait_for(self._banner_seen.wait(), timeout)
        except TimeoutError:
            await self.close()
            raise AmiError(f"{self.host}:{self.port} sent no AMI banner within {timeout:g} s") from None
        if self.banner is None:
            raise AmiError(f"{self.host}:{self.port} is not AMI: {self.problem or 'no banner'}")
        return self.banner

    def next_id(self) -> str:
        return self._ids.next()

    async def login(self, username: str, secret: str, timeout: float = ACTION_TIMEOUT, events: str = "on") -> Reply:
        """``Login``; a refusal raises :class:`AmiError` with Asterisk's message (the secret is never shown)."""
        action_id = self._ids.next()
        reply = await self._send(encode_login(username, secret, action_id, events), action_id, "Login", timeout)
        if not reply.ok:
            raise AmiError(f"AMI login as {username!r} refused: {reply.message or reply.response.status}")
        return reply

    async def action(
        self,
        name: str,
        fields: Mapping[str, object] | Iterable[tuple[str, object]] = (),
        timeout: float = ACTION_TIMEOUT,
        *,
        check: bool = True,
        action_id: str | None = None,
    ) -> Reply:
        """Send one action and wait for its whole reply; ``check``: an Error response raises ActionFailed.
        ``action_id``: one from :meth:`next_id`, for a caller that must know it before the reply (events
        such as OriginateResponse carry it)."""
        action_id = action_id or self._ids.next()
        reply = await self._send(encode_action(name, fields, action_id), action_id, name, timeout)
        if check and not reply.ok:
            raise ActionFailed(reply)
        return reply

    async def _send(self, data: bytes, action_id: str, name: str, timeout: float) -> Reply:
        if self._writer is None or self.closed.is_set():
            raise AmiError(self.problem or "not connected to AMI")
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self._waiting[action_id] = future
        self._tracker.sent(action_id, name)
        try:
            self._writer.write(data)
            await self._writer.drain()
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise AmiError(f"AMI did not answer {name} within {timeout:g} s") from None
        except OSError as exc:
            raise AmiError(f"AMI connection: {exc}") from None
        finally:
            self._waiting.pop(action_id, None)
            self._tracker.forget(action_id)

    async def _read(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                data = await reader.read(READ_SIZE)
                if not data:
                    self.problem = self.problem or "AMI closed the connection"
                    return
                if self.tap is not None:
                    self.tap(data)
                for item in self._parser.feed(data):
                    for out in self._tracker.receive(item):
                        self._dispatch(out)
        except OSError as exc:
            self.problem = f"AMI connection lost: {exc}"
        finally:
            for future in self._waiting.values():
                if not future.done():
                    future.set_exception(AmiError(self.problem or "AMI connection closed"))
            self._waiting.clear()
            self._tracker.clear()
            self._banner_seen.set()
            if self._writer is not None:
                self._writer.close()
            self.closed.set()

    def _dispatch(self, item: object) -> None:
        if isinstance(item, Reply):
            future = self._waiting.get(item.action_id)
            if future is not None and not future.done():
                future.set_result(item)
        elif isinstance(item, Event):
            self.on_event(item)
        elif isinstance(item, Banner):
            self.banner = item
            self._banner_seen.set()
        elif isinstance(item, ParseError):
            self.parse_errors.append(item)
            del self.parse_errors[:-20]
        if not self._banner_seen.is_set():  # anything but a banner first: not AMI (or a banner-less proxy)
            self.problem = f"first message was {type(item).__name__}, not the AMI banner"
            self._banner_seen.set()

    def abort(self) -> None:
        """Drop the connection at once, as a failing network would (no Logoff): the reader ends and
        :attr:`closed` is set. For a peer that stopped answering, and for tests of the reconnect path."""
        if self._writer is not None:
            self.problem = self.problem or "connection aborted"
            self._writer.transport.abort()

    async def close(self, logoff: bool = True) -> None:
        """``Logoff`` (best effort, bounded), then close the socket and end the reader."""
        if logoff and self._writer is not None and not self.closed.is_set():
            with contextlib.suppress(AmiError, OSError):
                await self.action("Logoff", timeout=1.0, check=False)
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError, asyncio.CancelledError):
                await asyncio.wait_for(self._writer.wait_closed(), 2.0)
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task


# --- where ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AmiAddress:
    """``asterisk://USER@HOST:PORT`` (port 5038 by default)."""

    user: str
    host: str
    port: int = AMI_PORT

    def __str__(self) -> str:
        return f"asterisk://{self.user}@{self.host}:{self.port}"

    @property
    def keyring_account(self) -> str:
        return f"ami:{self.user}@{self.host}:{self.port}"


def parse_address(text: str) -> AmiAddress:
    """An AMI address, or :class:`BackendUnavailable` saying what is wrong with it."""
    wanted = "asterisk://USER@HOST[:PORT]"
    parts = urlsplit(text.strip())
    try:
        port = parts.port or AMI_PORT
    except ValueError:
        raise BackendUnavailable(f"bad AMI port in {text!r} ({wanted})") from None
    if parts.scheme != "asterisk" or not parts.username or not parts.hostname or parts.path not in ("", "/"):
        raise BackendUnavailable(f"an Asterisk address is {wanted}, not {text!r}")
    if parts.password is not None:
        raise BackendUnavailable(f"no secret in the address: set {SECRET_ENV} or store it in the keyring")
    return AmiAddress(parts.username, parts.hostname, port)


RESYNC_LISTS = ("QueueStatus", "ParkedCalls", "DeviceStateList")


class PbxView(Protocol):
    """What the shared connection needs from one user's view of it."""

    def _on_event(self, event: Event) -> None: ...

    def _link_lost(self, problem: str, retrying: bool) -> None: ...

    async def _resynced(self, channels: Reply) -> None: ...


class AsteriskPbx:
    """One AMI connection for every user of one Asterisk (see the module docstring).

    ``secret`` is kept in memory only. :attr:`lists` holds the last QueueStatus, ParkedCalls and
    DeviceStateList (for the watched lines); :attr:`reconnects` counts the re-syncs after a loss.
    """

    def __init__(
        self,
        address: AmiAddress,
        secret: str | None,
        *,
        reconnect: bool = True,
        action_timeout: float = ACTION_TIMEOUT,
    ) -> None:
        self.address = address
        self._secret = secret
        self.reconnect = reconnect
        self.action_timeout = action_timeout
        self.link: AmiLink | None = None
        self.lists: dict[str, Reply] = {}
        self.reconnects = 0
        self.views: list[PbxView] = []
        self._lock = asyncio.Lock()
        self._watcher: asyncio.Task[None] | None = None
        self._closing = False

    def __repr__(self) -> str:
        return f"AsteriskPbx({self.address}, views={len(self.views)}, link={self.link})"

    @property
    def connected(self) -> bool:
        return self.link is not None and not self.link.closed.is_set()

    def _on_event(self, event: Event) -> None:
        for view in list(self.views):
            view._on_event(event)

    async def _open_link(self) -> AmiLink:
        if not self._secret:
            raise AmiError(f"no AMI secret for {self.address}: set {SECRET_ENV} or store it in the keyring")
        link = AmiLink(self.address.host, self.address.port, self._on_event)
        await link.connect()
        try:
            await link.login(self.address.user, self._secret, self.action_timeout)
        except AmiError:
            await link.close(logoff=False)
            raise
        self.link = link
        return link

    async def check(self) -> None:
        """Connect, log in and log off: :class:`AmiError` says why Asterisk cannot be used (unreachable, not
        AMI, the secret refused), before anyone logs in."""
        if self.connected:
            return
        link = await self._open_link()
        self.link = None
        await link.close()

    async def join(self, view: PbxView) -> None:
        """Connect (once, for everyone) and start fanning the events out to ``view`` too."""
        async with self._lock:
            if not self.connected:
                if self._watcher is not None and not self._watcher.done():
                    # the others were told RECONNECTING and wait for the watcher's re-sync: not a second link
                    raise AmiError("the connection to Asterisk is being re-established; try again in a moment")
                self._closing = False
                await self._stop_watching()
                await self._open_link()
                self._watcher = asyncio.create_task(self._watch())
            if view not in self.views:
                self.views.append(view)

    async def leave(self, view: PbxView) -> None:
        """``view`` gets no more events; the last one to leave closes the connection."""
        async with self._lock:
            if view in self.views:
                self.views.remove(view)
            if not self.views:
                await self.close()

    async def action(
        self,
        name: str,
        fields: Mapping[str, object] | Iterable[tuple[str, object]] = (),
        *,
        check: bool = True,
        action_id: str | None = None,
    ) -> Reply:
        link = self.link
        if link is None or link.closed.is_set():
            raise AmiError("not connected to Asterisk")
        return await link.action(name, fields, self.action_timeout, check=check, action_id=action_id)

    async def refresh_lists(self) -> None:
        for name in RESYNC_LISTS:
            self.lists[name] = await self.action(name)

    async def _watch(self) -> None:
        """Keep the connection while anyone uses it: on loss, LinkDown to all, reconnect with back-off,
        re-sync once, then each view its Snapshot and LinkUp."""
        while not self._closing:
            link = self.link
            assert link is not None
            await link.closed.wait()
            if self._closing or not self.views:
                return
            if not self.reconnect:
                for view in list(self.views):
                    view._link_lost(f"AMI connection lost: {link.problem}", False)
                return
            for view in list(self.views):
                view._link_lost(f"AMI connection lost ({link.problem}); reconnecting…", True)
            delay = FIRST_BACKOFF
            while not self._closing:
                try:
                    await self._open_link()
                    channels = await self.action("CoreShowChannels")
                    await self.refresh_lists()
                except AmiError:
                    await asyncio.sleep(delay)  # back-off between attempts to reach a PBX that is away
                    delay = min(MAX_BACKOFF, delay * 2)
                    continue
                self.reconnects += 1
                for view in list(self.views):
                    with contextlib.suppress(AmiError):  # lost again: the next round re-syncs everyone
                        await view._resynced(channels)
                break

    async def _stop_watching(self) -> None:
        watcher, self._watcher = self._watcher, None
        if watcher is not None and watcher is not asyncio.current_task():
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await watcher

    async def close(self) -> None:
        """Log off and stop reconnecting (the views stay; a new :meth:`join` connects again)."""
        self._closing = True
        await self._stop_watching()
        link, self.link = self.link, None
        if link is not None:
            await link.close()
