"""The Asterisk call operations beyond dial / hang up / blind transfer, each one AMI action or two.

Kept apart from :mod:`cti_tui.backends.asterisk` (the connection and the session) so the two can change
independently: :class:`CallOperations` takes an ``action`` coroutine (send one AMI action, get its
:class:`~cti_tui.protocol.ami.Reply`, never raising on ``Response: Error``), the agent's
:class:`~cti_tui.protocol.ami_calls.ChannelBook` and a ``report`` callable; what the PBX then does comes
back as events, which the book turns into the calls' new states. Measured on Asterisk 22
(docs/asterisk.md, "Every operation, mapped"):

- supervised transfer = ``Atxfer`` (the caller hears hold, the agent's channel dials the target through a
  Local channel: the consult call); complete = hang up either of the agent's two calls (Asterisk's own
  "the transferer hangs up"); cancel = ``CancelAtxfer`` (the agent is back with the caller).
- reject = ``Hangup Cause=21`` of the agent's ringing channel.
- park = ``Park`` of the peer (TimeoutChannel: the agent's channel, so a timed-out park rings it back), then
  ``Hangup`` of the agent's channel; unpark = ``Originate`` of the agent's phone into the park context.
- merge = ``Redirect`` of the first call's peer and the agent's channel into a ConfBridge room, then of the
  second call's peer; the second call's agent channel is left alone and ends (HANGUP merged). A call and
  its own consult: the ``atxferthreeway`` code (``PlayDTMF Receive=true``), a three-way bridge.
- DTMF = ``PlayDTMF`` on the peer, one action per digit.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from cti_tui.core import commands as cmd
from cti_tui.core.model import CallStatus, ErrorCode
from cti_tui.protocol.ami import Reply
from cti_tui.protocol.ami_calls import ChannelBook

Fields = Sequence[tuple[str, object]]
Action = Callable[[str, Fields], Awaitable[Reply]]
DTMF_DIGITS = frozenset("0123456789*#ABCD")
DTMF_MS = 120  # each digit's length: long enough for any receiver, short enough for a run of digits
REJECTED = 21  # Q.850 call rejected: a direct caller hears 403, a queue caller stays queued
PARK_WAIT = 5.0  # how long a Park may take to be confirmed (ParkedCall) before the agent's channel ends


@dataclass(frozen=True, slots=True)
class CallSettings:
    """The dialplan the operations use (the lab's by default; an org file will say for a real PBX)."""

    context: str = "internal"  # where transfer targets and the conference room are dialled
    park_context: str = "parkedcalls"  # where the park slots are extensions (res_parking's ``context``)
    park_lot: str = "default"
    park_base: int = 700  # slot N is extension park_base + N
    park_slots: int = 10
    conference: str = "800"  # the extension that joins the ConfBridge room of a merge
    atxfer_threeway: str = "*3"  # features.conf atxferthreeway: a consult becomes a three-way call


def _refused(reply: Reply, code: ErrorCode) -> cmd.CommandResult:
    return cmd.CommandResult.info(code, f"Asterisk: {reply.message or reply.response.status}")


class CallOperations:
    """One agent's call operations over AMI (see the module docstring for the mapping)."""

    def __init__(
        self,
        action: Action,
        book: ChannelBook,
        report: Callable[[cmd.Report], None],
        settings: CallSettings | None = None,
        timers: set[asyncio.Task[None]] | None = None,
    ) -> None:
        """``timers``: where a consult's invite timeout waits (the backend cancels them when it closes)."""
        self.action = action
        self.book = book
        self.report = report
        self.settings = settings or CallSettings()
        self.timers = timers if timers is not None else set()

    def _emit(self, reports: list[cmd.Report]) -> None:
        for report in reports:
            self.report(report)

    def _channel(self, call_id: str) -> str | cmd.CommandResult:
        channel = self.book.channel_of(call_id)
        if channel is None:
            return cmd.CommandResult.info(ErrorCode.UNKNOWN_CALL, f"no live call {call_id}")
        return channel

    def _peer(self, call_id: str) -> str | cmd.CommandResult:
        """The one channel the agent talks to on ``call_id``."""
        peers = self.book.peers_of(call_id)
        if len(peers) != 1:
            what = "nobody yet" if not peers else f"{len(peers)} parties"
            return cmd.CommandResult.info(ErrorCode.WRONG_STATE, f"call {call_id} is connected to {what}")
        return peers[0]

    # --- supervised transfer ------------------------------------------------------------------------------

    async def supervised_transfer(
        self, call_id: str, destination: str, invite_timeout: float | None = None
    ) -> cmd.CommandResult:
        """``Atxfer``: the caller is held, the consult call to ``destination`` follows as a second call;
        unanswered after ``invite_timeout`` s, it is cancelled (CANCEL no_answer) and the caller is back."""
        channel = self._channel(call_id)
        if isinstance(channel, cmd.CommandResult):
            return channel
        if self.book.transfer_of(call_id) is not None:
            return cmd.CommandResult.info(ErrorCode.WRONG_STATE, "a transfer of this call is already pending")
        fields = [("Channel", channel), ("Exten", destination), ("Context", self.settings.context)]
        reply = await self.action("Atxfer", fields)
        if not reply.ok:
            return _refused(reply, ErrorCode.TRANSFER_FAILED)
        self.book.consulting(call_id, destination)
        if invite_timeout:
            timer = asyncio.create_task(self._consult_timeout(call_id, invite_timeout))
            self.timers.add(timer)
            timer.add_done_callback(self.timers.discard)
        return cmd.CommandResult.done()

    async def _consult_timeout(self, call_id: str, timeout: float) -> None:
        await asyncio.sleep(timeout)  # the invite timeout the agent asked for
        pair = self.book.transfer_of(call_id)
        consult = self.book.get(pair[1]) if pair else None
        if pair is None or (consult is not None and consult.status is not CallStatus.RINGING):
            return
        channel = self.book.channel_of(pair[0])
        if channel is not None and self.book.timing_out(call_id):
            with contextlib.suppress(ConnectionError):  # the link is gone: nothing left to cancel
                await self.action("CancelAtxfer", [("Channel", channel)])

    async def cancel_supervised_transfer(self, call_id: str) -> cmd.CommandResult:
        """``CancelAtxfer``: the consult call ends, the agent is back with the caller."""
        pair = self.book.transfer_of(call_id)
        if pair is None:
            return cmd.CommandResult.info(ErrorCode.WRONG_STATE, f"no supervised transfer pending for {call_id!r}")
        channel = self._channel(pair[0])
        if isinstance(channel, cmd.CommandResult):
            return channel
        self.book.cancelling(call_id)
        reply = await self.action("CancelAtxfer", [("Channel", channel)])
        if not reply.ok:
            return _refused(reply, ErrorCode.TRANSFER_FAILED)
        return cmd.CommandResult.done()

    async def complete_transfer(self, call_id: str) -> cmd.CommandResult:
        """Hanging up either call of a supervised transfer completes it: ``Hangup`` of the agent's channel
        (the transferer leaves; Asterisk joins the caller and the target and says ``AttendedTransfer``)."""
        pair = self.book.transfer_of(call_id)
        assert pair is not None, "only for a call with a transfer under way"
        channel = self._channel(pair[0])
        if isinstance(channel, cmd.CommandResult):
            return channel
        reply = await self.action("Hangup", [("Channel", channel), ("Cause", 16)])
        if not reply.ok:
            return _refused(reply, ErrorCode.CALL_ENDED)
        return cmd.CommandResult.done()

    # --- reject, DTMF ---------------------------------------------------------------------------------

    async def reject(self, call_id: str) -> cmd.CommandResult:
        """``Hangup Cause=21`` of the agent's ringing channel (a queue goes on ringing the others)."""
        call = self.book.get(call_id)
        if call is None or call.status is not CallStatus.RINGING:
            return cmd.CommandResult.info(ErrorCode.WRONG_STATE, f"call {call_id} is not ringing")
        channel = self._channel(call_id)
        if isinstance(channel, cmd.CommandResult):
            return channel
        self.book.intend(call_id, "reject")
        reply = await self.action("Hangup", [("Channel", channel), ("Cause", REJECTED)])
        if not reply.ok:
            return _refused(reply, ErrorCode.CALL_ENDED)
        return cmd.CommandResult.done()

    async def send_dtmf(self, call_id: str, digits: str) -> cmd.CommandResult:
        """``PlayDTMF`` of each digit on the peer's channel: the far end receives them (RFC 4733 or INFO,
        as its endpoint's ``dtmf_mode`` says)."""
        digits = digits.upper()
        if not digits or not set(digits) <= DTMF_DIGITS:
            return cmd.CommandResult.error(ErrorCode.BAD_REQUEST, f"DTMF digits are 0-9 * # A-D, got {digits!r}")
        if self.book.transfer_of(call_id):  # the consult runs through Asterisk's Local channels, not a peer
            return cmd.CommandResult.info(ErrorCode.NOT_SUPPORTED, "no DTMF during a supervised transfer on Asterisk")
        peer = self._peer(call_id)
        if isinstance(peer, cmd.CommandResult):
            return peer
        for digit in digits:
            reply = await self.action("PlayDTMF", [("Channel", peer), ("Digit", digit), ("Duration", DTMF_MS)])
            if not reply.ok:
                return _refused(reply, ErrorCode.BACKEND_FAILURE)
        return cmd.CommandResult.done()

    # --- park ---------------------------------------------------------------------------------------------

    async def park(self, call_id: str, slot: int | None) -> cmd.CommandResult:
        """``Park`` the peer (in ``slot`` or the lot's next free one), then hang up the agent's channel; the
        call shows PARKED with its slot until someone picks it up."""
        channel, peer = self._channel(call_id), self._peer(call_id)
        if isinstance(channel, cmd.CommandResult):
            return channel
        if isinstance(peer, cmd.CommandResult):
            return peer
        fields: list[tuple[str, object]] = [
            ("Channel", peer),
            ("TimeoutChannel", channel),
            ("Parkinglot", self.settings.park_lot),
        ]
        if slot is not None:
            fields.append(("ParkingSpace", self.settings.park_base + slot))
        self.book.parking(call_id, peer)
        reply = await self.action("Park", fields)
        if not reply.ok or not await self._parked(call_id):
            self.book.parking(call_id, "")
            self.book.intend(call_id, None)
            if not reply.ok:
                return _refused(reply, ErrorCode.SLOT_BUSY)
            return cmd.CommandResult.info(ErrorCode.BACKEND_FAILURE, "Asterisk did not park the call")
        # Park leaves the agent's channel alone in the old bridge (notes, gotcha 14): end it, once the peer
        # is in the lot (hung up earlier, the bridge breaks up under the move: measured, "Failed to move")
        await self.action("Hangup", [("Channel", channel), ("Cause", 16)])
        return cmd.CommandResult.done()

    async def _parked(self, call_id: str) -> bool:
        """Until ``ParkedCall`` made the call PARKED (``Park`` answers before the move is done); bounded."""
        for _ in range(int(PARK_WAIT / 0.05)):
            call = self.book.get(call_id)
            if call is None or call.ended:
                return False
            if call.status is CallStatus.PARKED:
                return True
            await asyncio.sleep(0.05)  # polled: the book is pure, events reach it on the link's reader task
        return False

    async def hangup_parked(self, call_id: str) -> cmd.CommandResult:
        """The parker drops the call it parked: ``Hangup`` of the parked party (ParkedCallGiveUp ends it)."""
        parkee = self.book.parkee_of(call_id)
        if parkee is None:
            return cmd.CommandResult.info(ErrorCode.WRONG_STATE, f"call {call_id} is not parked")
        reply = await self.action("Hangup", [("Channel", parkee), ("Cause", 16)])
        if not reply.ok:
            return _refused(reply, ErrorCode.CALL_ENDED)
        return cmd.CommandResult.done()

    async def unpark(self, extension: str, slot: int) -> cmd.CommandResult:
        """``Originate`` the agent's phone into the park slot's extension: it rings (INITIAL), is picked up
        (ACCEPTED), and ``UnParkedCall`` connects it to the parked party."""
        call_id = f"cti-{secrets.token_hex(8)}"
        exten = str(self.settings.park_base + slot)
        self._emit(self.book.dialling(call_id, exten))
        fields: list[tuple[str, object]] = [
            ("Channel", f"{self.book.technology}/{extension}"),
            ("Context", self.settings.park_context),
            ("Exten", exten),
            ("Priority", 1),
            ("Async", "true"),
            ("ChannelId", call_id),
            ("Variable", f"__CTI_CALL={call_id}"),
        ]
        reply = await self.action("Originate", fields)
        if not reply.ok:
            self._emit(self.book.originate_failed(call_id, "0"))
            return _refused(reply, ErrorCode.SLOT_EMPTY)
        return cmd.CommandResult.done(call_id)

    # --- merge ----------------------------------------------------------------------------------------

    async def merge(self, call_id: str, other_id: str) -> cmd.CommandResult:
        """Both parties and the agent into a ConfBridge room: ``call_id`` (with the agent's channel) first,
        then ``other_id``'s party; the agent's channel of ``other_id`` is left alone and ends (merged)."""
        pair = self.book.transfer_of(call_id)
        if pair is not None and set(pair) == {call_id, other_id}:
            return await self._threeway(*pair)
        if pair is not None or self.book.transfer_of(other_id):
            return cmd.CommandResult.info(
                ErrorCode.WRONG_STATE, "a supervised transfer is under way: merge it with its consult, or finish it"
            )
        channel = self._channel(call_id)
        if isinstance(channel, cmd.CommandResult):
            return channel
        peer, other_peer = self._peer(call_id), self._peer(other_id)
        if isinstance(peer, cmd.CommandResult):
            return peer
        if isinstance(other_peer, cmd.CommandResult):
            return other_peer
        room, context = self.settings.conference, self.settings.context
        fields: list[tuple[str, object]] = [
            ("Channel", peer),
            ("ExtraChannel", channel),
            ("Context", context),
            ("ExtraContext", context),
            ("Exten", room),
            ("ExtraExten", room),
            ("Priority", 1),
            ("ExtraPriority", 1),
        ]
        reply = await self.action("Redirect", fields)
        if not reply.ok:
            return _refused(reply, ErrorCode.WRONG_STATE)
        self._emit(self.book.merged(call_id, other_id, room))
        reply = await self.action(
            "Redirect", [("Channel", other_peer), ("Context", context), ("Exten", room), ("Priority", 1)]
        )
        if not reply.ok:
            return _refused(reply, ErrorCode.WRONG_STATE)
        return cmd.CommandResult.done()

    async def _threeway(self, original: str, consult: str) -> cmd.CommandResult:
        """A call and its consult merged: the agent "presses" ``atxferthreeway`` (``PlayDTMF Receive``) and
        Asterisk joins the caller, the target and the agent in one bridge (``AttendedTransfer`` Threeway)."""
        call = self.book.get(consult)
        if call is None or call.status is not CallStatus.CONNECTED:
            return cmd.CommandResult.info(ErrorCode.WRONG_STATE, "the consulted party has not answered yet")
        channel = self._channel(original)
        if isinstance(channel, cmd.CommandResult):
            return channel
        for digit in self.settings.atxfer_threeway:
            reply = await self.action("PlayDTMF", [("Channel", channel), ("Digit", digit), ("Receive", "true")])
            if not reply.ok:
                return _refused(reply, ErrorCode.WRONG_STATE)
        return cmd.CommandResult.done()
