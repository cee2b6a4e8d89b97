"""The Asterisk backend: a real PBX over the Asterisk Manager Interface (AMI) — the I/O shell.

Around two pure modules: :mod:`cti_tui.protocol.ami` (the wire codec) and :mod:`cti_tui.protocol.ami_calls`
(one agent's channels as the engine's calls). Here:

- :class:`AmiLink`: one AMI connection — connect, banner, Login, an action awaited as a whole
  :class:`~cti_tui.protocol.ami.Reply` (list answers included), every other event to a callback.
- :class:`AsteriskBackend`: one agent (its PJSIP endpoint = its extension). Login checks the endpoint exists;
  ``open`` re-syncs (CoreShowChannels → a Snapshot; QueueStatus, ParkedCalls and DeviceStateList are kept
  for the lines to come) and then follows events; a lost connection is LinkDown, reconnect with back-off
  (0.05 s doubling to 5 s), login, re-sync, LinkUp — the calls keep their ids (the channels' Uniqueid), so
  nothing is duplicated. Commands here: click-to-call (Originate with our ``ChannelId``), hang up
  (Hangup) and blind transfer (BlindTransfer); supervised transfer, reject, park/unpark, merge and DTMF
  are :mod:`cti_tui.backends.asterisk_calls`; answer and hold (the phone's) are refused and hidden by the
  capabilities (docs/asterisk.md says which AMI action each uses).
- :class:`AsteriskProvider`: ``asterisk://USER@HOST:PORT``; the AMI secret from ``CTI_TUI_AMI_SECRET`` or the
  keyring (account ``ami:USER@HOST:PORT``), never from a file. One agent per process for now: it has no
  authenticator, so ``cti-tui serve`` refuses it until the org file of issue 16 maps users to endpoints.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import socket
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from cti_tui.backends.asterisk_calls import CallOperations, CallSettings
from cti_tui.backends.registry import BackendOptions, BackendUnavailable
from cti_tui.core import commands as cmd
from cti_tui.core.backend import Capabilities, ReportSink
from cti_tui.core.model import DirectoryEntry, ErrorCode, Identity, Operation, Role
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
from cti_tui.protocol.ami_calls import ChannelBook

ACTION_TIMEOUT = 10.0
CONNECT_TIMEOUT = 5.0
READ_SIZE = 65536
AMI_PORT = 5038
FIRST_BACKOFF, MAX_BACKOFF = 0.05, 5.0
ORIGINATE_TIMEOUT_MS = 30000  # how long the agent's phone rings for a click-to-call
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


# --- the backend --------------------------------------------------------------------------------------------


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


ASTERISK_OPERATIONS = frozenset(
    {
        Operation.HANGUP,
        Operation.TRANSFER,
        Operation.SUPERVISED_TRANSFER,
        Operation.REJECT,
        Operation.PARK,
        Operation.UNPARK,
        Operation.MERGE,
        Operation.DTMF,
    }
)  # answer and hold are the phone's (docs/asterisk.md)


def asterisk_capabilities() -> Capabilities:
    return Capabilities(
        operations=ASTERISK_OPERATIONS,
        click_to_call=True,
        subscribe=False,
        auto_answer=False,
        api_key_login=False,
        two_factor=False,
        park_slots=CallSettings().park_slots,
    )


_CALLERID_NAME = re.compile(r'^\s*"?([^"<]*?)"?\s*<')


class AsteriskBackend:
    """One agent on a real Asterisk over AMI (see the module docstring for what it does so far)."""

    name = "asterisk (AMI)"

    def __init__(
        self,
        address: AmiAddress,
        secret: str | None,
        *,
        context: str = "internal",
        reconnect: bool = True,
        action_timeout: float = ACTION_TIMEOUT,
    ) -> None:
        """``context``: the dialplan context a click-to-call dials the destination in (the agents' own)."""
        self.address = address
        self._secret = secret
        self.context = context
        self.settings = CallSettings(context=context)
        self.reconnect = reconnect
        self.action_timeout = action_timeout
        self.capabilities = asterisk_capabilities()
        self.identity: Identity | None = None
        self.book: ChannelBook | None = None
        self.lists: dict[str, Reply] = {}  # the last QueueStatus, ParkedCalls, DeviceStateList
        self.link: AmiLink | None = None
        self._sink: ReportSink | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._closing = False
        self._originates: dict[str, str] = {}  # ActionID of our Originate -> call id
        self._timers: set[asyncio.Task[None]] = set()  # consult invite timeouts (asterisk_calls)
        self.reconnects = 0

    def __repr__(self) -> str:
        return f"AsteriskBackend({self.address}, identity={self.identity})"

    def _report(self, report: cmd.Report) -> None:
        if self._sink is not None:
            self._sink(report)

    def _on_event(self, event: Event) -> None:
        if self.book is None:
            return
        reports = self.book.on_event(event)
        if event.name == "OriginateResponse" and event.action_id in self._originates:
            call_id = self._originates.pop(event.action_id)
            if event.get("Response") != "Success":
                reports += self.book.originate_failed(call_id, event.get("Reason"))
        for report in reports:
            self._report(report)

    async def _connect(self) -> AmiLink:
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

    async def _action(
        self, name: str, fields: Mapping[str, object] | Iterable[tuple[str, object]] = (), *, check: bool = True
    ) -> Reply:
        link = self.link
        if link is None or link.closed.is_set():
            raise AmiError("not connected to Asterisk")
        return await link.action(name, fields, self.action_timeout, check=check)

    # --- session ------------------------------------------------------------------------------------------

    async def login(self, credentials: cmd.Credentials) -> cmd.AuthOutcome:
        """Log in as the agent whose extension is the e-mail's local part (``1001@example.com`` → PJSIP
        endpoint 1001); the password is not checked here: whoever runs this holds the AMI secret."""
        match credentials:
            case cmd.PasswordLogin(email=email):
                pass
            case cmd.Vouched(identity=identity):
                email = identity.email
            case _:
                return cmd.AuthFailed(ErrorCode.NOT_SUPPORTED, "log in with your extension as the e-mail")
        extension = email.partition("@")[0]
        if not re.fullmatch(r"[A-Za-z0-9_.+-]{1,40}", extension):
            return cmd.AuthFailed(ErrorCode.BAD_CREDENTIALS, "log in as <extension>@… (your PJSIP endpoint)")
        try:
            if self.link is None or self.link.closed.is_set():
                await self._connect()
            reply = await self._action("PJSIPShowEndpoint", {"Endpoint": extension}, check=False)
        except AmiError as exc:
            return cmd.AuthFailed(ErrorCode.BACKEND_FAILURE, str(exc))
        if not reply.ok:
            await self.close()
            return cmd.AuthFailed(ErrorCode.BAD_CREDENTIALS, f"Asterisk has no PJSIP endpoint {extension!r}")
        details = reply.events("EndpointDetail")
        callerid = details[0].get("Callerid") if details else ""
        match = _CALLERID_NAME.match(callerid)
        name = match.group(1).strip() if match else ""
        self.identity = Identity(f"PJSIP/{extension}", email, name or extension, Role.AGENT, extension)
        self.book = ChannelBook(extension, self.identity.line, name, park_base=self.settings.park_base)
        return cmd.LoggedIn(self.identity)

    async def two_factor_auth(self, nonce: str, code: str) -> cmd.AuthOutcome:
        return cmd.AuthFailed(ErrorCode.NOT_SUPPORTED, "Asterisk logins have no second factor")

    async def open(self, sink: ReportSink) -> None:
        if self.identity is None or self.link is None:
            raise ConnectionError("not authenticated")
        self._closing = False
        self._sink = sink
        sink(await self._resync())
        self._watcher = asyncio.create_task(self._watch())

    async def _resync(self) -> cmd.Snapshot:
        """The present: the agent's channels (a Snapshot) and the lists the lines will show."""
        assert self.book is not None
        channels = await self._action("CoreShowChannels")
        for name in ("QueueStatus", "ParkedCalls", "DeviceStateList"):
            self.lists[name] = await self._action(name)
        return self.book.resync(channels.items)

    async def _watch(self) -> None:
        """Keep the AMI connection: on loss, LinkDown, reconnect with back-off, re-sync, LinkUp."""
        while not self._closing:
            link = self.link
            assert link is not None
            await link.closed.wait()
            if self._closing:
                return
            if not self.reconnect:
                self._report(cmd.LinkDown(f"AMI connection lost: {link.problem}", retrying=False))
                return
            self._report(cmd.LinkDown(f"AMI connection lost ({link.problem}); reconnecting…", retrying=True))
            delay = FIRST_BACKOFF
            while not self._closing:
                try:
                    await self._connect()
                    snapshot = await self._resync()
                except AmiError:
                    await asyncio.sleep(delay)  # back-off between attempts to reach a PBX that is away
                    delay = min(MAX_BACKOFF, delay * 2)
                    continue
                self.reconnects += 1
                self._report(snapshot)
                self._report(cmd.LinkUp("reconnected to Asterisk; calls re-synchronised"))
                break

    async def close(self) -> None:
        self._closing = True
        for timer in list(self._timers):
            timer.cancel()
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._watcher
            self._watcher = None
        if self.link is not None:
            await self.link.close()
        self.link = None
        self._sink = None

    async def directory(self) -> list[DirectoryEntry]:
        return []

    # --- commands -----------------------------------------------------------------------------------------

    async def execute(self, command: cmd.Command) -> cmd.CommandResult:
        if self.book is None or self.identity is None:
            return cmd.CommandResult.error(ErrorCode.NOT_CONNECTED, "not logged in")
        ops = CallOperations(
            lambda name, fields: self._action(name, fields, check=False),
            self.book,
            self._report,
            self.settings,
            self._timers,
        )
        try:
            match command:
                case cmd.Dial(destination=destination):
                    return await self._dial(destination)
                case cmd.Hangup(call_id=call_id) if self.book.transfer_of(call_id):
                    return await ops.complete_transfer(call_id)
                case cmd.Hangup(call_id=call_id) if self.book.parkee_of(call_id):
                    return await ops.hangup_parked(call_id)
                case cmd.Hangup(call_id=call_id):
                    return await self._hangup(call_id)
                case cmd.Transfer(call_id=call_id, destination=destination):
                    return await self._transfer(call_id, destination)
                case cmd.SupervisedTransfer(call_id=call_id, destination=destination, invite_timeout=timeout):
                    return await ops.supervised_transfer(call_id, destination, timeout)
                case cmd.CancelSupervisedTransfer(call_id=call_id):
                    return await ops.cancel_supervised_transfer(call_id)
                case cmd.Reject(call_id=call_id):
                    return await ops.reject(call_id)
                case cmd.SendDtmf(call_id=call_id, digits=digits):
                    return await ops.send_dtmf(call_id, digits)
                case cmd.Park(call_id=call_id, slot=slot):
                    return await ops.park(call_id, slot)
                case cmd.Unpark(slot=slot):
                    return await ops.unpark(self.identity.extension, slot)
                case cmd.Merge(call_id=call_id, other_call_id=other_id):
                    return await ops.merge(call_id, other_id)
        except AmiError as exc:
            return cmd.CommandResult.info(ErrorCode.BACKEND_FAILURE, f"Asterisk: {exc}")
        return cmd.CommandResult.info(ErrorCode.NOT_SUPPORTED, f"{self.name} cannot do that yet")

    async def _dial(self, destination: str) -> cmd.CommandResult:
        """Click-to-call: Originate from the agent's endpoint; its phone rings first (INITIAL → ACCEPTED),
        then the destination is dialled in :attr:`context` (RINGING → CONNECTED)."""
        assert self.book is not None and self.identity is not None
        call_id = f"cti-{secrets.token_hex(8)}"
        for report in self.book.dialling(call_id, destination):
            self._report(report)
        link = self.link
        if link is None or link.closed.is_set():
            raise AmiError("not connected to Asterisk")
        action_id = link.next_id()
        self._originates[action_id] = call_id
        fields: list[tuple[str, object]] = [
            ("Channel", f"PJSIP/{self.identity.extension}"),
            ("Context", self.context),
            ("Exten", destination),
            ("Priority", 1),
            ("Timeout", ORIGINATE_TIMEOUT_MS),
            ("Async", "true"),
            ("ChannelId", call_id),
            ("Variable", f"__CTI_CALL={call_id}"),
            ("Variable", f"CTI_AGENT={self.identity.extension}"),
        ]
        reply = await link.action("Originate", fields, self.action_timeout, check=False, action_id=action_id)
        if not reply.ok:
            self._originates.pop(action_id, None)
            for report in self.book.originate_failed(call_id, "0"):
                self._report(report)
        return cmd.CommandResult.done(call_id)

    async def _hangup(self, call_id: str) -> cmd.CommandResult:
        assert self.book is not None
        call = self.book.get(call_id)
        if call is None:
            return cmd.CommandResult.info(ErrorCode.UNKNOWN_CALL, f"no call {call_id}")
        if call.ended:
            return cmd.CommandResult.info(ErrorCode.CALL_ENDED, "the call has ended")
        channel = self.book.channel_of(call_id)
        if channel is None:
            return cmd.CommandResult.info(ErrorCode.WRONG_STATE, "the phone is not ringing yet: try again")
        self.book.intend(call_id, "hangup")
        reply = await self._action("Hangup", {"Channel": channel, "Cause": 16}, check=False)
        if not reply.ok:
            return cmd.CommandResult.info(ErrorCode.CALL_ENDED, f"Asterisk: {reply.message}")
        return cmd.CommandResult.done()

    async def _transfer(self, call_id: str, destination: str) -> cmd.CommandResult:
        """Blind transfer: ``BlindTransfer`` of the agent's channel; the party it talks to is sent to
        ``destination`` in :attr:`context` and the agent's leg ends (HANGUP ``transferred``)."""
        assert self.book is not None
        channel = self.book.channel_of(call_id)
        if channel is None:
            return cmd.CommandResult.info(ErrorCode.UNKNOWN_CALL, f"no live call {call_id}")
        fields = {"Channel": channel, "Exten": destination, "Context": self.context}
        reply = await self._action("BlindTransfer", fields, check=False)
        if not reply.ok:
            return cmd.CommandResult.info(ErrorCode.TRANSFER_FAILED, f"Asterisk: {reply.message}")
        return cmd.CommandResult.done()


class AsteriskProvider:
    """An Asterisk PBX at ``asterisk://USER@HOST:PORT`` (BackendOptions.address), one agent per backend."""

    name = "asterisk"
    label = "Asterisk (AMI)"
    authenticator = None

    def __init__(self, options: BackendOptions) -> None:
        self.options = options
        self.address = parse_address(options.address or f"asterisk://cti@127.0.0.1:{AMI_PORT}")

    def secret(self) -> str | None:
        """``CTI_TUI_AMI_SECRET``, else the keyring's ``ami:USER@HOST:PORT``; never a file."""
        from_env = os.environ.get(SECRET_ENV)
        if from_env:
            return from_env
        from cti_tui.credentials import CredentialStore

        return CredentialStore().load(self.address.keyring_account)

    def prepare(self) -> None:
        pass

    def new_backend(self) -> AsteriskBackend:
        return AsteriskBackend(self.address, self.secret())

    def start(self) -> None:
        pass

    def now(self) -> datetime:
        return datetime.now(UTC)
