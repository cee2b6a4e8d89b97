"""The Asterisk backend: a real PBX over the Asterisk Manager Interface (AMI) — the I/O shell.

Around two pure modules: :mod:`cti_tui.protocol.ami` (the wire codec) and :mod:`cti_tui.protocol.ami_calls`
(one agent's channels as the engine's calls), and the shared connection :mod:`cti_tui.backends.asterisk_pbx`
(one :class:`AmiLink` per PBX, whatever the number of users: reconnect, re-sync, events fanned out). Here:

- :class:`AsteriskBackend`: one user's view of the PBX (its PJSIP endpoint). Login: with an org file
  (:mod:`cti_tui.backends.asterisk_org`) the user's password, API key or second factor, checked by the org's
  authenticator, maps to the user's endpoint; without one, the extension is the e-mail's local part and no
  password is checked (whoever runs this holds the AMI secret). Either way the endpoint must exist.
  ``open`` re-syncs (CoreShowChannels → a Snapshot of the user's calls and its watched lines' calls;
  QueueStatus, ParkedCalls and DeviceStateList feed the lines, :mod:`cti_tui.backends.asterisk_lines`) and
  then follows events; a lost connection is LinkDown, and after the shared re-sync a Snapshot (the same
  watched lines) and LinkUp — the calls keep their ids (the channels' Uniqueid), so nothing is duplicated.
  Commands so far: click-to-call (Originate with our ``ChannelId``), hang up (Hangup), blind transfer
  (BlindTransfer), watching lines, queue login/logout/pause and ChanSpy (with an org file, only a supervisor
  acts on another agent, on a line it watches); the rest is refused as not supported and hidden by the
  capabilities (docs/asterisk.md).
- :class:`AsteriskProvider`: ``asterisk://USER@HOST:PORT``; the AMI secret given by the front end (prompted),
  from ``CTI_TUI_AMI_SECRET`` or the keyring (account ``ami:USER@HOST:PORT``), never from a file. With an
  org file it has an authenticator, so ``cti-tui serve`` serves many agents and supervisors over one
  connection.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import threading
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from cti_tui.backends.asterisk_calls import CallOperations, CallSettings
from cti_tui.backends.asterisk_lines import LineDesk
from cti_tui.backends.asterisk_pbx import (
    ACTION_TIMEOUT,
    AMI_PORT,
    SECRET_ENV,
    ActionFailed,
    AmiAddress,
    AmiError,
    AmiLink,
    AsteriskPbx,
    parse_address,
)
from cti_tui.backends.registry import BackendOptions, BackendUnavailable
from cti_tui.core import commands as cmd
from cti_tui.core.agent_commands import QueueLogin, QueueLogout, QueuePause, Spy, refusal
from cti_tui.core.backend import Capabilities, ReportSink
from cti_tui.core.model import DirectoryEntry, ErrorCode, Identity, Operation, Role
from cti_tui.core.permissions import may_watch
from cti_tui.protocol.ami import Event, Reply
from cti_tui.protocol.ami_calls import ChannelBook
from cti_tui.protocol.ami_lines import LineWatch

if TYPE_CHECKING:
    from cti_tui.backends.asterisk_org import AsteriskOrg
    from cti_tui.pbx.auth import Authenticator

__all__ = [
    "ACTION_TIMEOUT",
    "AMI_PORT",
    "SECRET_ENV",
    "ActionFailed",
    "AmiAddress",
    "AmiError",
    "AmiLink",
    "AsteriskBackend",
    "AsteriskPbx",
    "AsteriskProvider",
    "parse_address",
]

ORIGINATE_TIMEOUT_MS = 30000  # how long the agent's phone rings for a click-to-call


# --- the backend --------------------------------------------------------------------------------------------


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


def asterisk_capabilities(org: AsteriskOrg | None = None) -> Capabilities:
    """With an org file: API keys, second factors and its role policies; without: extension logins only."""
    return Capabilities(
        operations=ASTERISK_OPERATIONS,
        click_to_call=True,
        subscribe=True,
        auto_answer=False,
        api_key_login=org is not None,
        two_factor=org is not None,
        park_slots=CallSettings().park_slots,
        policies=None if org is None else org.org.policies,
    )


_CALLERID_NAME = re.compile(r'^\s*"?([^"<]*?)"?\s*<')


class AsteriskBackend:
    """One user on a real Asterisk over AMI: a view on the provider's shared :class:`AsteriskPbx` (see the
    module docstring). Given no ``pbx``, it has one of its own (one user, one connection)."""

    name = "asterisk (AMI)"

    def __init__(
        self,
        address: AmiAddress,
        secret: str | None = None,
        *,
        context: str = "internal",
        reconnect: bool = True,
        action_timeout: float = ACTION_TIMEOUT,
        pbx: AsteriskPbx | None = None,
        org: AsteriskOrg | None = None,
        authenticator: Authenticator | None = None,
    ) -> None:
        """``context``: the dialplan context a click-to-call dials the destination in (the agents' own);
        ``org`` and its ``authenticator``: who may log in as which endpoint (None: extension logins)."""
        self.address = address
        self.pbx = pbx or AsteriskPbx(address, secret, reconnect=reconnect, action_timeout=action_timeout)
        self.org = org
        self.authenticator = authenticator
        self.context = org.context if org is not None else context
        park_lot = org.park_lot if org is not None else CallSettings().park_lot
        self.settings = CallSettings(context=self.context, park_lot=park_lot)
        self.action_timeout = action_timeout
        self.capabilities = asterisk_capabilities(org)
        self.identity: Identity | None = None
        self.book: ChannelBook | None = None
        self.desk: LineDesk | None = None  # watched lines, queue membership, ChanSpy (asterisk_lines)
        self._sink: ReportSink | None = None
        self._originates: dict[str, str] = {}  # ActionID of our Originate -> call id
        self._timers: set[asyncio.Task[None]] = set()  # consult invite timeouts (asterisk_calls)

    def __repr__(self) -> str:
        return f"AsteriskBackend({self.address}, identity={self.identity})"

    @property
    def link(self) -> AmiLink | None:
        """The shared AMI connection (None while there is none)."""
        return self.pbx.link

    @property
    def lists(self) -> dict[str, Reply]:
        """The last QueueStatus, ParkedCalls and DeviceStateList (shared by every view)."""
        return self.pbx.lists

    @property
    def reconnects(self) -> int:
        return self.pbx.reconnects

    def _report(self, report: cmd.Report) -> None:
        if self._sink is not None:
            self._sink(report)

    def _on_event(self, event: Event) -> None:
        if self.book is None:
            return
        reports = self.book.on_event(event)
        if self.desk is not None:
            reports += self.desk.lines.on_event(event)
        if event.name == "OriginateResponse" and event.action_id in self._originates:
            call_id = self._originates.pop(event.action_id)
            if event.get("Response") != "Success":
                reports += self.book.originate_failed(call_id, event.get("Reason"))
        for report in reports:
            self._report(report)

    def _link_lost(self, problem: str, retrying: bool) -> None:
        self._report(cmd.LinkDown(problem, retrying=retrying))

    async def _resynced(self, channels: Reply) -> None:
        """The shared connection is back and re-synced: this view's present (its calls and the calls of the
        lines it still watches), then READY."""
        if self.book is not None and self._sink is not None:
            self._report(await self._snapshot(channels))
            self._report(cmd.LinkUp("reconnected to Asterisk; calls re-synchronised"))

    async def _action(
        self, name: str, fields: Mapping[str, object] | Iterable[tuple[str, object]] = (), *, check: bool = True
    ) -> Reply:
        return await self.pbx.action(name, fields, check=check)

    # --- session ------------------------------------------------------------------------------------------

    async def login(self, credentials: cmd.Credentials) -> cmd.AuthOutcome:
        """With an org file: its authenticator checks the password or API key (or the server already did:
        Vouched) and the user's endpoint comes from the file. Without: the extension is the e-mail's local
        part (``1001@example.com`` → PJSIP endpoint 1001) and the password is not checked."""
        if self.org is not None:
            match credentials:
                case cmd.Vouched(identity=identity):
                    pass
                case _:
                    if self.authenticator is None:  # pragma: no cover - the provider always gives both
                        return cmd.AuthFailed(ErrorCode.NOT_SUPPORTED, "no authenticator for the org file")
                    outcome = await asyncio.to_thread(self.authenticator.authenticate, credentials)
                    if not isinstance(outcome, cmd.LoggedIn):
                        return outcome
                    identity = outcome.identity
            return await self._login_as(identity)
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
        return await self._login_as(Identity(f"PJSIP/{extension}", email, "", Role.AGENT, extension))

    async def _login_as(self, identity: Identity) -> cmd.AuthOutcome:
        """Join the shared connection as ``identity``, once Asterisk confirms its endpoint exists."""
        endpoint = identity.extension
        if self.org is not None:
            user = self.org.user(identity.email)
            if user is None:
                return cmd.AuthFailed(ErrorCode.BAD_CREDENTIALS, f"{identity.email} is not in the org file")
            endpoint = self.org.endpoint_of(user)
        try:
            await self.pbx.join(self)
            reply = await self._action("PJSIPShowEndpoint", {"Endpoint": endpoint}, check=False)
        except AmiError as exc:
            await self.pbx.leave(self)
            return cmd.AuthFailed(ErrorCode.BACKEND_FAILURE, str(exc))
        if not reply.ok:
            await self.pbx.leave(self)
            return cmd.AuthFailed(ErrorCode.BAD_CREDENTIALS, f"Asterisk has no PJSIP endpoint {endpoint!r}")
        if self.org is None:  # the name from the endpoint's caller ID
            details = reply.events("EndpointDetail")
            match = _CALLERID_NAME.match(details[0].get("Callerid") if details else "")
            name = (match.group(1).strip() if match else "") or endpoint
            identity = Identity(identity.user_id, identity.email, name, identity.role, identity.extension)
        self.identity = identity
        self.book = ChannelBook(endpoint, identity.line, identity.name, park_base=self.settings.park_base)
        self.desk = LineDesk(LineWatch(), self._action, self._report, endpoint)
        return cmd.LoggedIn(identity)

    async def two_factor_auth(self, nonce: str, code: str) -> cmd.AuthOutcome:
        if self.authenticator is None:
            return cmd.AuthFailed(ErrorCode.NOT_SUPPORTED, "Asterisk logins without an org file have no second factor")
        outcome = await asyncio.to_thread(self.authenticator.two_factor_auth, nonce, code)
        if isinstance(outcome, cmd.LoggedIn):
            return await self._login_as(outcome.identity)
        return outcome

    async def open(self, sink: ReportSink) -> None:
        if self.identity is None or not self.pbx.connected:
            raise ConnectionError("not authenticated")
        self._sink = sink
        sink(await self._resync())

    async def _resync(self) -> cmd.Snapshot:
        """The present: the user's channels and its watched lines' calls (a Snapshot); the lists the lines
        show are the shared connection's (refreshed here)."""
        assert self.book is not None and self.desk is not None
        channels = await self._action("CoreShowChannels")
        await self.pbx.refresh_lists()
        return await self._snapshot(channels)

    async def _snapshot(self, channels: Reply) -> cmd.Snapshot:
        assert self.book is not None and self.desk is not None
        lines = await self.desk.resync(channels.items, self.lists)
        own = self.book.resync(channels.items)
        return cmd.Snapshot((*own.calls, *lines), tuple(self.desk.lines.watched))

    async def close(self) -> None:
        for timer in list(self._timers):
            timer.cancel()
        self._sink = None
        await self.pbx.leave(self)

    async def directory(self) -> list[DirectoryEntry]:
        """The org file's people, queues and rooms (its names and numbers), then what the PBX itself offers
        that the file does not name (its users' endpoints, the dialplan's queues, rooms and park lot)."""
        entries = [] if self.org is None else self.org.directory()
        if self.desk is None or not self.pbx.connected:
            return entries
        try:
            found = await self.desk.directory()
        except AmiError:
            return entries
        nodes, numbers = {e.node for e in entries}, {e.number for e in entries}
        return entries + [e for e in found if e.node not in nodes and e.number not in numbers]

    def now(self) -> datetime:
        """The phone's calls happen in real time: this machine's clock."""
        return datetime.now(UTC)

    # --- commands -----------------------------------------------------------------------------------------

    async def execute(self, command: cmd.Command | QueueLogin | QueueLogout | QueuePause | Spy) -> cmd.CommandResult:
        if self.book is None or self.identity is None or self.desk is None:
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
                case cmd.Subscribe(node=node):
                    if self.org is not None and not may_watch(self.org.org.policies, self.identity, node):
                        return cmd.CommandResult.error(
                            ErrorCode.NOT_PERMITTED, f"{self.identity.role} may not watch {node}"
                        )
                    return await self.desk.subscribe(node)
                case cmd.Unsubscribe(node=node):
                    return self.desk.unsubscribe(node)
                case QueueLogin() | QueueLogout() | QueuePause() | Spy():
                    if self.org is not None:  # without one, whoever holds the AMI secret may do anything anyway
                        why = refusal(command, self.identity.role, self.desk.own, self.desk.lines.watched)
                        if why is not None:
                            return cmd.CommandResult.error(ErrorCode.NOT_PERMITTED, why)
                    return await self.desk.execute(command)
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
    """An Asterisk PBX at ``asterisk://USER@HOST:PORT`` (BackendOptions.address): every backend it makes is a
    view on one shared AMI connection. With an org file (BackendOptions.org_file) it vouches for its users
    (:attr:`authenticator`), which is what ``cti-tui serve`` needs."""

    name = "asterisk"
    label = "Asterisk (AMI)"

    def __init__(self, options: BackendOptions) -> None:
        self.options = options
        self.address = parse_address(options.address or f"asterisk://cti@127.0.0.1:{AMI_PORT}")
        self.org: AsteriskOrg | None = None
        self.authenticator: Authenticator | None = None
        if options.org_file is not None:
            from cti_tui.backends.asterisk_org import load_asterisk_org
            from cti_tui.pbx.auth import Authenticator
            from cti_tui.pbx.org import OrgError

            try:
                self.org = load_asterisk_org(options.org_file)
            except OrgError as exc:
                raise BackendUnavailable(str(exc)) from None
            self.authenticator = Authenticator(self.org.org, options.clock)
        self.label = f"Asterisk (AMI) at {self.address.host}:{self.address.port}"
        self._pbx: AsteriskPbx | None = None
        self._checked = False

    def secret(self) -> str | None:
        """The one the front end was given (prompted), else ``CTI_TUI_AMI_SECRET``, else the keyring's
        ``ami:USER@HOST:PORT``; never a file."""
        if self.options.secret:
            return self.options.secret
        from_env = os.environ.get(SECRET_ENV)
        if from_env:
            return from_env
        from cti_tui.credentials import CredentialStore

        return CredentialStore().load(self.address.keyring_account)

    @property
    def pbx(self) -> AsteriskPbx:
        """The shared connection (made on first need, on the loop that first uses it)."""
        if self._pbx is None:
            self._pbx = AsteriskPbx(self.address, self.secret())
        return self._pbx

    def prepare(self) -> None:
        """Check once that Asterisk answers and takes the secret (:class:`BackendUnavailable` says why not),
        on a thread of its own so that it works inside or outside a running loop."""
        if self._checked:
            return
        problem: list[str] = []

        def check() -> None:
            try:
                asyncio.run(AsteriskPbx(self.address, self.secret()).check())
            except AmiError as exc:
                problem.append(str(exc))

        thread = threading.Thread(target=check, name="cti-tui-ami-check", daemon=True)
        thread.start()
        thread.join()
        if problem:
            raise BackendUnavailable(problem[0])
        self._checked = True

    def new_backend(self) -> AsteriskBackend:
        return AsteriskBackend(self.address, pbx=self.pbx, org=self.org, authenticator=self.authenticator)

    def start(self) -> None:
        pass

    def now(self) -> datetime:
        return datetime.now(UTC)
