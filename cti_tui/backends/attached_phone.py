"""The agent's own phone attached to the Asterisk backend: AMI for the call view and PBX operations, the
agent's baresip (a :class:`SoftphoneBackend` registered to that Asterisk) for what only a phone can do.

AMI cannot answer a SIP phone, nor put it on hold: answer, reject, hold/resume and DTMF go to the phone.
The rows still come from Asterisk alone (the phone's own call view is kept, not shown, so nothing appears
twice); a hold the phone does is reported by Asterisk as ``Hold``/``Unhold`` and the row follows.

Which phone call is which Asterisk call: the SIP Call-ID. The agent's channel is the dialog between
Asterisk and the phone, so ``Getvar CHANNEL(pjsip,call-id)`` on that channel gives exactly the ``id``
baresip reports for the call (measured on Asterisk 22, tests/asterisk/test_attached_phone.py); a peer
number and direction would be ambiguous with two calls from the same caller. Without a phone, these
operations are refused with the reason and the capabilities hide their keys.

A click-to-call rings the agent's phone first (Originate); the agent asked for that call, so the attached
phone picks it up by itself (INITIAL → ACCEPTED → RINGING → CONNECTED as on any CTI).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Callable
from datetime import datetime

from cti_tui.backends.asterisk import AmiError, AsteriskBackend, AsteriskPbx, AsteriskProvider
from cti_tui.backends.registry import BackendOptions
from cti_tui.backends.softphone import SoftphoneBackend, SoftphoneProvider
from cti_tui.core import commands as cmd
from cti_tui.core.backend import Authenticator, Capabilities, ReportSink
from cti_tui.core.model import ActivityName, CallStatus, Direction, DirectoryEntry, ErrorCode, Operation

PHONE_OPERATIONS = frozenset({Operation.ANSWER, Operation.REJECT, Operation.HOLD, Operation.RESUME, Operation.DTMF})
CALL_ID_VARIABLE = "CHANNEL(pjsip,call-id)"
MATCH_TIMEOUT = 5.0  # the phone's CALL_INCOMING may come a little after Asterisk's DialBegin
PICKUP_TIMEOUT = 30.0  # a click-to-call: how long the agent's phone may take to be rung by the Originate


class AttachedPhoneBackend:
    """An :class:`AsteriskBackend` with the agent's phone (or None: phone operations refused)."""

    def __init__(
        self, pbx: AsteriskBackend, phone: SoftphoneBackend | None, *, sip_user: str = "", display_name: str = ""
    ) -> None:
        self.pbx = pbx
        self.phone = phone
        # the phone's account as configured; unset, it is the endpoint and name of whoever logs in (the app's
        # one provider makes the backend before anyone has typed an email)
        self.sip_user = sip_user
        self.display_name = display_name
        self.name = pbx.name + (" + baresip" if phone else "")
        base = pbx.capabilities
        self.capabilities: Capabilities = (
            dataclasses.replace(base, operations=base.operations | PHONE_OPERATIONS) if phone else base
        )
        self._sink: ReportSink | None = None
        self._sip_ids: dict[str, str] = {}  # Asterisk call id -> SIP Call-ID of the phone's leg
        self._changed = asyncio.Event()
        self._pickups: set[asyncio.Task[None]] = set()

    # --- session ------------------------------------------------------------------------------------------

    async def login(self, credentials: cmd.Credentials) -> cmd.AuthOutcome:
        """Asterisk first (is there such an endpoint?), then the phone (its SIP password is the one typed)."""
        outcome = await self.pbx.login(credentials)
        if not isinstance(outcome, cmd.LoggedIn) or self.phone is None:
            return outcome
        managed = self.phone.managed
        if managed is not None and self.pbx.book is not None:
            managed.user = self.sip_user or self.pbx.book.extension  # the PJSIP endpoint Asterisk confirmed
            managed.display_name = self.display_name or outcome.identity.name or managed.user
            self.phone.account = managed.aor  # the account the phone looks for once it is up
        try:
            phoned = await self.phone.login(credentials)
        except ConnectionError as exc:
            phoned = cmd.AuthFailed(ErrorCode.BACKEND_FAILURE, f"the agent's phone: {exc}")
        if not isinstance(phoned, cmd.LoggedIn):
            await self.pbx.close()
            return phoned
        self.name = f"{self.pbx.name} + {self.phone.name}"  # the phone's address, in the status bar
        return outcome

    async def two_factor_auth(self, nonce: str, code: str) -> cmd.AuthOutcome:
        return await self.pbx.two_factor_auth(nonce, code)

    async def open(self, sink: ReportSink) -> None:
        self._sink = sink
        if self.phone is not None:
            await self.phone.open(self._from_phone)
        await self.pbx.open(self._from_pbx)

    def _from_pbx(self, report: cmd.Report) -> None:
        self._changed.set()
        if self._sink is not None:
            self._sink(report)

    def _from_phone(self, report: cmd.Report) -> None:
        """The phone's calls are Asterisk's rows already: only what the user must hear about passes."""
        self._changed.set()
        if self._sink is None:
            return
        match report:
            case cmd.Notice():
                self._sink(report)
            case cmd.LinkDown(message=message):
                self._sink(cmd.Notice(ActivityName.ERROR, ErrorCode.BACKEND_FAILURE, f"the agent's phone: {message}"))
            case cmd.LinkUp(message=message):
                self._sink(cmd.Notice(ActivityName.INFO, ErrorCode.RECONNECTING, f"the agent's phone: {message}"))

    async def close(self) -> None:
        for task in list(self._pickups):
            task.cancel()
        for task in list(self._pickups):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.pbx.close()
        if self.phone is not None:
            await self.phone.close()
        self._sink = None

    async def directory(self) -> list[DirectoryEntry]:
        return await self.pbx.directory()

    def now(self) -> datetime:
        """Asterisk's calls happen in real time (the screen counts durations against this)."""
        return self.pbx.now()

    # --- commands -----------------------------------------------------------------------------------------

    async def execute(self, command: cmd.Command) -> cmd.CommandResult:
        match command:
            case cmd.Answer(call_id=call_id):
                return await self._on_phone(call_id, cmd.Answer)
            case cmd.Reject(call_id=call_id) if self.phone is not None:
                return await self._on_phone(call_id, cmd.Reject)
            case cmd.Hold(call_id=call_id):
                return await self._on_phone(call_id, cmd.Hold)
            case cmd.Resume(call_id=call_id):
                return await self._on_phone(call_id, cmd.Resume)
            case cmd.SendDtmf(call_id=call_id, digits=digits) if self.phone is not None:
                return await self._on_phone(call_id, lambda sip_id: cmd.SendDtmf(sip_id, digits))
            case cmd.Dial():
                result = await self.pbx.execute(command)
                if result.ok and isinstance(result.value, str) and self.phone is not None:
                    task = asyncio.create_task(self._pick_up(result.value))
                    self._pickups.add(task)
                    task.add_done_callback(self._pickups.discard)
                return result
        return await self.pbx.execute(command)

    async def _on_phone(self, call_id: str, make: Callable[[str], cmd.Command]) -> cmd.CommandResult:
        if self.phone is None:
            return cmd.CommandResult.info(
                ErrorCode.NOT_SUPPORTED, "no phone is attached: answer, hold and reject are done on the phone itself"
            )
        sip_id = await self._phone_call(call_id, MATCH_TIMEOUT)
        if sip_id is None:
            return cmd.CommandResult.info(ErrorCode.UNKNOWN_CALL, f"the agent's phone has no leg of call {call_id}")
        return await self.phone.execute(make(sip_id))

    async def _sip_id(self, call_id: str) -> str | None:
        """The SIP Call-ID of the agent's channel for ``call_id`` (Getvar, once per call)."""
        known = self._sip_ids.get(call_id)
        if known:
            return known
        book, link = self.pbx.book, self.pbx.link
        channel = book.channel_of(call_id) if book else None
        if channel is None or link is None or link.closed.is_set():
            return None
        try:
            reply = await link.action("Getvar", {"Channel": channel, "Variable": CALL_ID_VARIABLE}, check=False)
        except AmiError:
            return None
        value = reply.response.get("Value")
        if reply.ok and value:
            self._sip_ids[call_id] = value
            return value
        return None

    async def _phone_call(self, call_id: str, timeout: float) -> str | None:
        """The phone's call for Asterisk's ``call_id``, waiting (bounded) until both sides know it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            self._changed.clear()
            sip_id = await self._sip_id(call_id)
            phone_book = self.phone.book if self.phone else None
            if sip_id and phone_book is not None:
                call = phone_book.get(sip_id)
                if call is not None and not call.ended:
                    return sip_id
            call = self.pbx.book.get(call_id) if self.pbx.book else None
            remaining = deadline - loop.time()
            if remaining <= 0 or call is None or call.ended:
                return None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    async def _pick_up(self, call_id: str) -> None:
        """A click-to-call rings the agent's own phone first: answer it there (the agent asked for the call)."""
        sip_id = await self._phone_call(call_id, PICKUP_TIMEOUT)
        if sip_id is None or self.phone is None or self.phone.book is None:
            return
        leg = self.phone.book.get(sip_id)
        if leg is None or leg.direction is not Direction.INBOUND or leg.status is not CallStatus.RINGING:
            return
        result = await self.phone.execute(cmd.Answer(sip_id))
        if not result.ok and self._sink is not None:
            message = f"the agent's phone did not pick up the call it placed: {result.message}"
            self._sink(cmd.Notice(ActivityName.ERROR, ErrorCode.BACKEND_FAILURE, message, call_id))


class AttachedPhoneProvider:
    """Asterisk at ``options.address`` (``asterisk://USER@HOST:PORT``), each agent with its own baresip
    registered to it when the softphone settings name a registrar (``--sip-registrar``, the config's
    ``softphone_registrar``); without one, no phone is attached. The registry's ``asterisk`` kind."""

    name = "asterisk"

    def __init__(self, options: BackendOptions) -> None:
        self.asterisk = AsteriskProvider(options)
        self.label = self.asterisk.label
        self.phone = (
            SoftphoneProvider(dataclasses.replace(options, address="")) if options.softphone.registrar else None
        )

    @property
    def authenticator(self) -> Authenticator | None:
        """The org file's (``cti-tui serve`` needs one), else None: one user's app, extension logins."""
        return self.asterisk.authenticator

    @property
    def pbx(self) -> AsteriskPbx:
        """The one shared AMI connection every user's backend rides on."""
        return self.asterisk.pbx

    def prepare(self) -> None:
        self.asterisk.prepare()

    def new_backend(self) -> AsteriskBackend | AttachedPhoneBackend:
        """With a phone, the composed backend; without, Asterisk's own (which refuses what needs a phone)."""
        if self.phone is None:
            return self.asterisk.new_backend()
        settings = self.phone.options.softphone
        return AttachedPhoneBackend(
            self.asterisk.new_backend(),
            self.phone.new_backend(),
            sip_user=settings.sip_user or self.phone.options.user,
            display_name=settings.display_name,
        )

    def start(self) -> None:
        self.asterisk.start()

    def now(self) -> datetime:
        return self.asterisk.now()
