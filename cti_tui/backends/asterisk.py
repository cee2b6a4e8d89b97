"""The Asterisk backend: a real PBX over the Asterisk Manager Interface (AMI).

This module is the I/O shell around the sans-I/O codec :mod:`cti_tui.protocol.ami`. So far it holds
:class:`AmiLink`, one AMI connection: connect, read the banner, log in, send an action and await its whole
:class:`~cti_tui.protocol.ami.Reply` (a list action's events included), hand every other event to a
callback. The call model on top of it (channels → the engine's calls) and the provider come next (issue 16).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable, Iterable, Mapping

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
    ) -> Reply:
        """Send one action and wait for its whole reply; ``check``: an Error response raises ActionFailed."""
        action_id = self._ids.next()
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
