"""Asterisk channels as the engine's calls, for one agent's line — pure: AMI events in, reports out.

An agent's call is one of its PJSIP channels (``PJSIP/<extension>-<serial>``); the call's id is the
channel's ``Uniqueid``, which Asterisk keeps for the channel's whole life and shows again in
CoreShowChannels, so a re-sync after a reconnect finds the same calls (nothing duplicated). A click-to-call
sets that id itself (Originate ``ChannelId``), so the id is known before Asterisk says anything.

How AMI events become statuses (measured on Asterisk 22, tests/asterisk/transcripts/session.ami):

- **click-to-call** (our Originate): INITIAL when dialled; the agent's channel Up → ACCEPTED; it dials the
  far end (``DialBegin`` with ``Channel`` = the agent's) → RINGING; ``DialEnd ANSWER`` → CONNECTED.
- **inbound** (a ``DialBegin`` whose ``DestChannel`` is the agent's, from a caller's channel, e.g. a queue):
  RINGING, party from the caller's CallerID; the agent's channel Up → CONNECTED. A ``DialBegin`` with no
  calling channel is somebody else's Originate: an outbound call in INITIAL. Its ``Newstate`` Ringing may
  come first (both orders happen): an originated channel starts its own ``Linkedid`` (= its ``Uniqueid``),
  a dialled one carries its caller's, so that one is an Originate too, whichever event says so first.
- **ChanSpy** (a supervisor's phone originated into the ChanSpy application): INITIAL while its phone rings,
  ACCEPTED when picked up, CONNECTED at ``ChanSpyStart`` (its channel the spyer; the party the agent spied
  on) through the RINGING step every outbound call takes, so it ends HANGUP ``normal``, not cancelled.
- **outbound from the phone** (``Newchannel`` in state 4, *Ring*): RINGING, destination its ``Exten``;
  ``DialEnd ANSWER`` (or the channel Up) → CONNECTED.
- ``Hold``/``Unhold`` of the agent's channel → ON_HOLD / CONNECTED (the phone put it on hold).
- ``BlindTransfer`` with the agent's channel as transferer (``Result: Success``): its ``Hangup`` that
  follows is HANGUP ``transferred``.
- **supervised transfer** (``Atxfer`` of the agent's channel): Asterisk holds the caller (``Hold`` of the
  agent's channel → ON_HOLD) and moves the agent's channel into a new bridge with a ``Local/<exten>@…;1``
  channel that dials the target: that Local channel is the *consult call* (its Uniqueid is the id),
  RINGING, CONNECTED when it is Up. ``AttendedTransfer`` (Success) ends both HANGUP ``transferred``;
  a cancel (``CancelAtxfer``) hangs the Local channel up (consult HANGUP ``cancelled``) and ``Unhold``
  brings the original back to CONNECTED.
- **park**: the agent asked to park its peer (:meth:`ChannelBook.parking`); ``ParkedCall`` of that peer →
  PARKED with the slot, and the agent's channel hanging up does not end it; ``UnParkedCall``,
  ``ParkedCallGiveUp`` or ``ParkedCallTimeOut`` end it for the parker (HANGUP). ``UnParkedCall`` whose
  retriever is the agent's channel: that call is CONNECTED to the parked party.
- **bridges**: ``BridgeEnter``/``BridgeLeave`` are followed so an operation can find the agent's peer
  (PlayDTMF, Park, the ConfBridge of a merge).
- ``Hangup`` → HANGUP if it connected, else CANCEL; the cause from the Q.850 ``Cause`` when it is specific
  (17 busy, 19 no answer, 21 rejected, 1 unreachable, …), else the agent's own ``DialEnd`` status (BUSY,
  NOANSWER, CHANUNAVAIL, …), else cancelled (:func:`cause_of`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cti_tui.core import commands as cmd
from cti_tui.core.model import ActivityName, Call, CallStatus, Cause, Direction, ErrorCode
from cti_tui.protocol.ami import Event

UNKNOWN = ("", "<unknown>", "<null>")
_PARK_EVENTS = ("ParkedCall", "UnParkedCall", "ParkedCallGiveUp", "ParkedCallTimeOut")
_REPEATABLE = (CallStatus.RINGING, CallStatus.CONNECTED)
"""Statuses a call may be reported in again with new details; in any other the engine refuses a repeat."""
_TO_CONNECTED = (CallStatus.INITIAL, CallStatus.ACCEPTED, CallStatus.RINGING, CallStatus.CONNECTED)
"""An outbound call's way to CONNECTED, one legal step at a time."""

# Q.850 cause codes (the Hangup event's Cause) → why a call that never connected ended
_Q850: dict[int, Cause] = {
    17: Cause.BUSY,
    18: Cause.NO_ANSWER,
    19: Cause.NO_ANSWER,
    21: Cause.REJECTED,
    26: Cause.CANCELLED,  # answered elsewhere (another agent of a ringall queue took it)
    1: Cause.UNREACHABLE,
    2: Cause.UNREACHABLE,
    3: Cause.UNREACHABLE,
    20: Cause.UNREACHABLE,
    27: Cause.UNREACHABLE,
    28: Cause.UNREACHABLE,
    34: Cause.UNREACHABLE,
    38: Cause.UNREACHABLE,
    41: Cause.UNREACHABLE,
    42: Cause.UNREACHABLE,
    44: Cause.UNREACHABLE,
    58: Cause.UNREACHABLE,
    66: Cause.UNREACHABLE,
    88: Cause.UNREACHABLE,
}
# Dial()'s DIALSTATUS (DialEnd's DialStatus) → cause
_DIAL_STATUS: dict[str, Cause] = {
    "BUSY": Cause.BUSY,
    "NOANSWER": Cause.NO_ANSWER,
    "CHANUNAVAIL": Cause.UNREACHABLE,
    "CONGESTION": Cause.UNREACHABLE,
    "DONTCALL": Cause.REJECTED,
    "TORTURE": Cause.REJECTED,
    "INVALIDARGS": Cause.ERROR,
    "CANCEL": Cause.CANCELLED,
}
# OriginateResponse's Reason (the outbound channel's end state) → cause of a click-to-call that failed
_ORIGINATE_REASON: dict[str, Cause] = {
    "0": Cause.UNREACHABLE,  # no such channel / not registered
    "1": Cause.REJECTED,  # hung up before answering
    "3": Cause.NO_ANSWER,  # rang out
    "5": Cause.BUSY,
    "8": Cause.UNREACHABLE,  # congestion
}


def cause_of(q850: str, dial_status: str = "") -> Cause:
    """Why a call that never connected ended. The Q.850 cause of its Hangup first when it says something
    specific (Asterisk gives the agent's channel the far end's cause: 404 → 1, 603 → 21, while Dial() calls
    both NOANSWER); else the agent's own Dial status; else the other side gave up (cancelled)."""
    try:
        code = int(q850)
    except ValueError:
        code = 0
    specific = _Q850.get(code)
    if specific is not None and specific is not Cause.CANCELLED:
        return specific
    if dial_status and dial_status.upper() != "ANSWER":
        return _DIAL_STATUS.get(dial_status.upper(), Cause.ERROR)
    if code in (0, 16, 31) or specific is Cause.CANCELLED:  # nothing said, normal clearing, answered elsewhere
        return Cause.CANCELLED
    return Cause.ERROR


def _known(value: str) -> str:
    return "" if value in UNKNOWN else value


def _duration(text: str) -> int:
    """CoreShowChannel's ``Duration`` (``HH:MM:SS``) in seconds; 0 when unreadable."""
    try:
        hours, minutes, seconds = (int(part) for part in text.split(":"))
    except ValueError:
        return 0
    return hours * 3600 + minutes * 60 + seconds


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class _Leg:
    call: Call
    channel: str
    dial_status: str = ""  # the agent channel's own Dial() outcome, when it dialled out
    # what the agent asked, or how the operation it asked ends this leg: "hangup", "reject", "park",
    # "merged", "transferred", "cancelled" (a consult), "no_answer" (a consult past its invite timeout)
    intent: str | None = None
    atxfer_to: str = ""  # an Atxfer to this number is under way (the consult call is not seen yet)
    consult: str = ""  # the id of this call's consult call (supervised transfer)
    consult_of: str = ""  # this is a consult call: the id of the call it would hand over
    parkee: str = ""  # the channel this leg asked to park


@dataclass
class ChannelBook:
    """One agent's calls (the channels of ``PJSIP/<extension>``) as :class:`Call` objects."""

    extension: str
    line: str
    own_name: str = ""
    technology: str = "PJSIP"
    now: Callable[[], datetime] = utc_now
    legs: dict[str, _Leg] = field(default_factory=dict)  # by Uniqueid
    park_base: int = 700  # park slot N is ParkingSpace park_base + N
    _ended: dict[str, Call] = field(default_factory=dict)
    _bridge_of: dict[str, str] = field(default_factory=dict)  # channel name -> the bridge it is in
    _members: dict[str, set[str]] = field(default_factory=dict)  # bridge id -> channel names
    _locals: dict[str, str] = field(default_factory=dict)  # a consult's Local channel (;1 and ;2) -> call id
    _up_locals: set[str] = field(default_factory=set)  # Local ;1 channels that are Up, not (yet) a consult

    @property
    def prefix(self) -> str:
        return f"{self.technology}/{self.extension}-"

    def ours(self, channel: str) -> bool:
        return channel.startswith(self.prefix)

    def get(self, call_id: str) -> Call | None:
        leg = self.legs.get(call_id)
        return leg.call if leg else self._ended.get(call_id)

    def channel_of(self, call_id: str) -> str | None:
        leg = self.legs.get(call_id)
        return leg.channel if leg and leg.channel else None

    def live(self) -> list[Call]:
        return [leg.call for leg in self.legs.values()]

    def intend(self, call_id: str, intent: str | None) -> None:
        leg = self.legs.get(call_id)
        if leg is not None:
            leg.intent = intent

    def peers_of(self, call_id: str) -> list[str]:
        """The channels bridged with the agent's channel of ``call_id`` (the party it talks to)."""
        channel = self.channel_of(call_id)
        bridge = self._bridge_of.get(channel or "")
        if channel is None or bridge is None:
            return []
        return sorted(member for member in self._members.get(bridge, ()) if member != channel)

    def transfer_of(self, call_id: str) -> tuple[str, str] | None:
        """``(original id, consult id)`` when ``call_id`` is either leg of a supervised transfer under way."""
        leg = self.legs.get(call_id)
        if leg is None:
            return None
        if leg.consult_of:
            return leg.consult_of, call_id
        if leg.consult or leg.atxfer_to:
            return call_id, leg.consult
        return None

    def consulting(self, call_id: str, destination: str) -> None:
        """We sent ``Atxfer`` of this call's channel to ``destination``: its consult call is coming."""
        leg = self.legs.get(call_id)
        if leg is not None:
            leg.atxfer_to = destination

    def timing_out(self, call_id: str) -> bool:
        """The consult of ``call_id`` rang too long: it ends CANCEL no_answer (False: no consult ringing)."""
        pair = self.transfer_of(call_id)
        consult = self.legs.get(pair[1]) if pair else None
        if consult is None or consult.call.status is not CallStatus.RINGING:
            return False
        consult.intent = "no_answer"
        return True

    def parkee_of(self, call_id: str) -> str | None:
        """The parked party's channel, while ``call_id`` is PARKED."""
        leg = self.legs.get(call_id)
        return leg.parkee if leg and leg.parkee and leg.call.status is CallStatus.PARKED else None

    def parking(self, call_id: str, parkee: str) -> None:
        """We sent ``Park`` of ``parkee`` (the agent's peer on ``call_id``)."""
        leg = self.legs.get(call_id)
        if leg is not None:
            leg.intent, leg.parkee = "park", parkee

    def merged(self, call_id: str, other_id: str, room: str) -> list[cmd.Report]:
        """``other_id``'s party was sent into ``call_id``'s conference room: ``other_id`` ends merged when its
        channel hangs up, ``call_id`` names both parties and shows the room."""
        leg, other = self.legs.get(call_id), self.legs.get(other_id)
        if leg is None or other is None:
            return []
        other.intent = "merged"
        call = self._both_named(leg.call, other.call)
        return self._put(call.evolve(also=(*call.also, f"conf:{room}")))

    def _both_named(self, call: Call, joining: Call) -> Call:
        """``call`` now talks to its own party and ``joining``'s: named "X & Y"."""
        party = joining.source_name or joining.source if joining.direction is Direction.INBOUND else ""
        party = party or joining.destination_name or joining.destination
        field_name = "source_name" if call.direction is Direction.INBOUND else "destination_name"
        mine = (call.source_name or call.source) if call.direction is Direction.INBOUND else ""
        mine = mine or call.destination_name or call.destination
        return call.evolve(**{field_name: f"{mine} & {party}"})

    # --- building calls -----------------------------------------------------------------------------------

    def _new(self, call_id: str, channel: str, direction: Direction, status: CallStatus, party: str, name: str) -> Call:
        ours, theirs = (self.extension, self.own_name), (party or "anonymous", name)
        (source, source_name), (destination, destination_name) = (
            (theirs, ours) if direction is Direction.INBOUND else (ours, theirs)
        )
        return Call(
            id=call_id,
            cid=channel or call_id,
            direction=direction,
            status=status,
            line=self.line,
            source=source,
            destination=destination,
            source_name=source_name,
            destination_name=destination_name,
            setup_at=self.now(),
        )

    def _put(self, call: Call, channel: str = "") -> list[cmd.Report]:
        leg = self.legs.get(call.id)
        if call.ended:
            self.legs.pop(call.id, None)
            self._ended[call.id] = call
            while len(self._ended) > 200:
                self._ended.pop(next(iter(self._ended)))
        elif leg is None:
            self.legs[call.id] = _Leg(call, channel)
        else:
            if channel:
                leg.channel = channel
            if leg.call == call:
                return []
            previous, leg.call = leg.call, call
            if call.status is previous.status and call.status not in _REPEATABLE:
                return []  # (the channel's name, a party's name): shown with the next status
        return [cmd.CallUpdate(call)]

    def dialling(self, call_id: str, destination: str, name: str = "") -> list[cmd.Report]:
        """A click-to-call we are about to Originate with ``ChannelId`` = ``call_id``: INITIAL at once."""
        call = self._new(call_id, "", Direction.OUTBOUND, CallStatus.INITIAL, destination, name)
        return self._put(call)

    def originate_failed(self, call_id: str, reason: str) -> list[cmd.Report]:
        """Our Originate ended before the agent's channel answered (OriginateResponse Failure)."""
        leg = self.legs.get(call_id)
        if leg is None or leg.call.status is not CallStatus.INITIAL:
            return []
        cause = _ORIGINATE_REASON.get(reason, Cause.ERROR)
        return self._put(leg.call.evolve(status=CallStatus.CANCEL, cause=cause.value, release_at=self.now()))

    def _party(self, call: Call, number: str, name: str) -> Call:
        number, name = _known(number), _known(name)
        if not number and not name:
            return call
        if call.direction is Direction.INBOUND:
            return call.evolve(source=number or call.source, source_name=name or call.source_name)
        return call.evolve(destination=number or call.destination, destination_name=name or call.destination_name)

    # --- events ----------------------------------------------------------------------------------------------

    def on_event(self, event: Event) -> list[cmd.Report]:
        """The reports one event leads to (often none)."""
        name = event.name
        if name in ("BlindTransfer", "AttendedTransfer"):
            return self._transferred(event)
        if name == "DialBegin":
            return self._dial_begin(event)
        if name == "DialEnd":
            return self._dial_end(event)
        if name == "ChanSpyStart":
            return self._spying(event)
        if name in ("BridgeEnter", "BridgeLeave", "BridgeDestroy"):
            return self._bridge(event)
        if name in _PARK_EVENTS:
            return self._parked(event)
        channel = event.get("Channel")
        if channel in self._locals:
            return self._consult_event(event)
        if channel.startswith("Local/"):
            self._local_state(event, channel)
            return []
        if not self.ours(channel):
            return []
        unique = event.get("Uniqueid")
        if unique in self._ended:
            return []  # late events of a finished call
        leg = self.legs.get(unique)
        match name:
            case "Newchannel":
                if leg is not None:  # our click-to-call: the channel now exists
                    return self._put(leg.call.evolve(cid=channel), channel)
                if event.get("ChannelState") == "4":  # Ring: the phone itself placed a call
                    call = self._new(unique, channel, Direction.OUTBOUND, CallStatus.RINGING, event.get("Exten"), "")
                    return self._put(call, channel)
            case "Newstate":
                return self._state(leg, event, channel, unique)
            case "NewConnectedLine":
                if leg is not None and (leg.consult or leg.atxfer_to):  # it names the consulted party, not ours
                    consult = self.legs.get(leg.consult)
                    if consult is None:
                        return []
                    return self._put(self._party(consult.call, "", event.get("ConnectedLineName")))
                if leg is not None:
                    updated = self._party(leg.call, event.get("ConnectedLineNum"), event.get("ConnectedLineName"))
                    return self._put(updated, channel)
            case "Hold":
                if leg is not None and leg.call.status is CallStatus.CONNECTED:
                    return self._put(leg.call.evolve(status=CallStatus.ON_HOLD), channel)
            case "Unhold":
                if leg is not None and leg.call.status is CallStatus.ON_HOLD:
                    return self._put(leg.call.evolve(status=CallStatus.CONNECTED), channel)
            case "Hangup":
                self._left(channel)
                if leg is not None and leg.intent == "park":  # the parked party lives on: so does the call
                    leg.channel = ""
                    return []
                if leg is not None:
                    return self._end(leg, event.get("Cause"))
        return []

    # --- bridges, supervised transfer, park ------------------------------------------------------------

    def _left(self, channel: str) -> None:
        bridge = self._bridge_of.pop(channel, None)
        if bridge is not None:
            self._members.get(bridge, set()).discard(channel)

    def _bridge(self, event: Event) -> list[cmd.Report]:
        bridge, channel = event.get("BridgeUniqueid"), event.get("Channel")
        if event.name == "BridgeDestroy":
            for member in self._members.pop(bridge, set()):
                self._bridge_of.pop(member, None)
            return []
        self._left(channel)
        if event.name == "BridgeLeave":
            return []
        self._bridge_of[channel] = bridge
        self._members.setdefault(bridge, set()).add(channel)
        return self._consult_seen(bridge)

    def _local_state(self, event: Event, channel: str) -> None:
        """Local channels that are Up, in case one turns out to be a consult whose bridge is reported after
        its answer (Asterisk does not order events of different bridges and channels)."""
        if event.name == "Hangup":
            self._up_locals.discard(channel)
        elif event.name == "Newstate" and event.get("ChannelState") == "6" and channel.endswith(";1"):
            self._up_locals.add(channel)

    def _consult_seen(self, bridge: str) -> list[cmd.Report]:
        """An agent's channel with an ``Atxfer`` under way shares a bridge with a Local ``;1`` channel: that
        channel dials the target, so it is the consult call (RINGING until it is Up)."""
        members = self._members.get(bridge, set())
        local = next((m for m in members if m.startswith("Local/") and m.endswith(";1")), None)
        if local is None or local in self._locals:
            return []
        leg = next((leg for leg in self.legs.values() if leg.atxfer_to and leg.channel in members), None)
        if leg is None:
            return []
        consult_id = f"{leg.call.id}+{local.rpartition('-')[2].partition(';')[0]}"
        self._locals[local] = self._locals[local[:-1] + "2"] = consult_id
        leg.consult, destination, leg.atxfer_to = consult_id, leg.atxfer_to, ""
        call = self._new(consult_id, local, Direction.OUTBOUND, CallStatus.RINGING, destination, "")
        self.legs[consult_id] = _Leg(call, "", consult_of=leg.call.id)
        if local not in self._up_locals:
            return [cmd.CallUpdate(call)]
        self._up_locals.discard(local)
        return [cmd.CallUpdate(call), *self._put(call.evolve(status=CallStatus.CONNECTED, connect_at=self.now()))]

    def _consult_event(self, event: Event) -> list[cmd.Report]:
        """Events of a consult call's Local channels: ``;1`` Up → CONNECTED, its Hangup ends the consult."""
        channel = event.get("Channel")
        leg = self.legs.get(self._locals[channel])
        if event.name == "Hangup":
            self._left(channel)
            self._locals.pop(channel, None)
            if leg is None or not channel.endswith(";1"):
                return []
            return self._end_consult(leg, event.get("Cause"))
        if leg is None or not channel.endswith(";1"):
            return []
        if event.name == "Newstate" and event.get("ChannelState") == "6" and leg.call.status is CallStatus.RINGING:
            return self._put(leg.call.evolve(status=CallStatus.CONNECTED, connect_at=self.now()))
        return []

    def _end_consult(self, leg: _Leg, q850: str) -> list[cmd.Report]:
        """The consult's Local channel hung up: cancelled by the agent, or the target failed (busy, no answer,
        unreachable, hung up), in which case Asterisk gives the agent the caller back: say so, as the
        embedded PBX does."""
        original = self.legs.get(leg.consult_of)
        if original is not None:
            original.consult = ""
        asked = leg.intent not in (None, "no_answer")
        if leg.intent is None and leg.call.connect_at is None and cause_of(q850) is Cause.CANCELLED:
            leg.intent = "no_answer"  # Asterisk gave up ringing (atxfernoanswertimeout, 15 s by default)
        reports = self._end(leg, q850)
        ended = self.get(leg.call.id)
        if not asked and original is not None and ended is not None:
            reason = ended.cause or "ended"
            message = f"transfer to {ended.destination} did not complete ({reason}); call {original.call.id} is back"
            reports.append(cmd.Notice(ActivityName.INFO, ErrorCode.TRANSFER_FAILED, message, original.call.id))
        return reports

    def cancelling(self, call_id: str) -> None:
        """We sent ``CancelAtxfer``: the consult of ``call_id`` ends cancelled."""
        pair = self.transfer_of(call_id)
        if pair is not None:
            original, consult = self.legs.get(pair[0]), self.legs.get(pair[1])
            if original is not None:
                original.atxfer_to = ""
            if consult is not None:
                consult.intent = "cancelled"

    def _parked(self, event: Event) -> list[cmd.Report]:
        parkee, retriever = event.get("ParkeeChannel"), event.get("RetrieverUniqueid")
        reports: list[cmd.Report] = []
        parker = next((leg for leg in self.legs.values() if leg.parkee and leg.parkee == parkee), None)
        if parker is not None and event.name == "ParkedCall":
            try:
                slot: int | None = int(event.get("ParkingSpace")) - self.park_base
            except ValueError:
                slot = None
            call = parker.call.evolve(status=CallStatus.PARKED, park_slot=slot, also=(*parker.call.also, "callpark"))
            reports += self._put(call, parker.channel)
        elif parker is not None:  # picked up, given up or timed out: gone from the parker's line
            parker.intent = None
            reports += self._put(
                parker.call.evolve(status=CallStatus.HANGUP, cause=Cause.NORMAL.value, release_at=self.now())
            )
        leg = self.legs.get(retriever) if event.name == "UnParkedCall" else None
        if leg is not None and not leg.call.ended:
            # the retriever runs ParkedCall(), so it has answered, even when its Newstate Up comes later
            # (measured: Asterisk may send UnParkedCall first)
            number, name = event.get("ParkeeCallerIDNum"), event.get("ParkeeCallerIDName")
            call = self._party(leg.call, number, name).evolve(park_slot=None)
            if call.status in _TO_CONNECTED:
                for step in _TO_CONNECTED[_TO_CONNECTED.index(call.status) + 1 :]:
                    connect_at = self.now() if step is CallStatus.CONNECTED else None
                    call = call.evolve(status=step, connect_at=connect_at)
                    reports += self._put(call, leg.channel)
        return reports

    def _transferred(self, event: Event) -> list[cmd.Report]:
        """``BlindTransfer``/``AttendedTransfer`` with the agent as transferer: its leg ends ``transferred``,
        and so does the consult call of an attended one, at once (its Local channels go away later)."""
        if event.get("Result") != "Success":
            return []
        threeway = event.get("DestType") == "Threeway"  # atxferthreeway: the agent stays, with both parties
        reports: list[cmd.Report] = []
        keys = ("TransfererUniqueid", "OrigTransfererUniqueid", "SecondTransfererUniqueid")
        for unique in dict.fromkeys(event.get(key) for key in keys):  # an AMI Atxfer names the agent twice
            leg = self.legs.get(unique)
            if leg is None or leg.consult_of:
                continue
            consult = self.legs.get(leg.consult)
            leg.consult = ""
            if threeway:
                if consult is None:
                    continue
                consult.intent = "merged"
                reports += self._end(consult, "16")
                both = self._both_named(leg.call, consult.call)
                reports += self._put(both.evolve(status=CallStatus.CONNECTED, connect_at=both.connect_at or self.now()))
                continue
            leg.intent = "transferred"
            if consult is not None:
                consult.intent = "transferred"
                reports += self._end(consult, "16")
        return reports

    def _state(self, leg: _Leg | None, event: Event, channel: str, unique: str) -> list[cmd.Report]:
        state = event.get("ChannelState")
        if leg is None:
            if state == "5":  # ringing, and no DialBegin told us who calls (yet)
                number, name = _known(event.get("ConnectedLineNum")), _known(event.get("ConnectedLineName"))
                if event.get("Linkedid") == unique:  # nobody's channel dials it: an Originate, as DialBegin says
                    call = self._new(unique, channel, Direction.OUTBOUND, CallStatus.INITIAL, number, name)
                else:
                    call = self._new(unique, channel, Direction.INBOUND, CallStatus.RINGING, number, name)
                return self._put(call, channel)
            return []
        call = leg.call
        if state != "6":
            return []
        now = self.now()
        if call.status is CallStatus.INITIAL:
            return self._put(call.evolve(status=CallStatus.ACCEPTED), channel)
        if call.status is CallStatus.RINGING and (call.direction is Direction.INBOUND or not leg.dial_status):
            return self._put(call.evolve(status=CallStatus.CONNECTED, connect_at=now), channel)
        return []

    def _dial_begin(self, event: Event) -> list[cmd.Report]:
        reports: list[cmd.Report] = []
        caller, callee = event.get("Channel"), event.get("DestChannel")
        if self.ours(caller):  # the agent's channel dials the far end
            leg = self.legs.get(event.get("Uniqueid"))
            if leg is not None:
                leg.dial_status = "DIALLING"
                call = self._party(leg.call, event.get("DestCallerIDNum") or event.get("Exten"), "")
                if call.status is CallStatus.ACCEPTED:
                    call = call.evolve(status=CallStatus.RINGING)
                reports += self._put(call, caller)
        if self.ours(callee):  # the agent's phone is rung
            unique = event.get("DestUniqueid")
            if unique in self._ended:
                return reports
            leg = self.legs.get(unique)
            if leg is not None:  # our click-to-call: the agent's phone rings
                return reports + self._put(leg.call.evolve(cid=callee), callee)
            if caller:
                number, name = event.get("CallerIDNum"), event.get("CallerIDName")
                call = self._new(unique, callee, Direction.INBOUND, CallStatus.RINGING, _known(number), _known(name))
            else:  # somebody else's Originate to this phone: a click-to-call we did not place
                number, name = event.get("DestConnectedLineNum"), event.get("DestConnectedLineName")
                call = self._new(unique, callee, Direction.OUTBOUND, CallStatus.INITIAL, _known(number), _known(name))
            reports += self._put(call, callee)
        return reports

    def _spying(self, event: Event) -> list[cmd.Report]:
        """``ChanSpyStart`` with the agent's channel as the spyer: its call is joined to the spied-on one."""
        leg = self.legs.get(event.get("SpyerUniqueid"))
        if leg is None or not self.ours(event.get("SpyerChannel")) or leg.call.status not in _TO_CONNECTED:
            return []
        spied = _known(event.get("SpyeeCallerIDNum")) or event.get("SpyeeChannel").partition("/")[2].rpartition("-")[0]
        call = self._party(leg.call, spied, leg.call.destination_name or event.get("SpyeeCallerIDName"))
        reports: list[cmd.Report] = []
        for step in _TO_CONNECTED[_TO_CONNECTED.index(call.status) + 1 :]:  # the outbound path (SPEC §1)
            connect_at = self.now() if step is CallStatus.CONNECTED else None
            call = call.evolve(status=step, connect_at=connect_at)
            reports += self._put(call, leg.channel)
        return reports

    def _dial_end(self, event: Event) -> list[cmd.Report]:
        caller = event.get("Channel")
        if not self.ours(caller):
            return []
        leg = self.legs.get(event.get("Uniqueid"))
        if leg is None:
            return []
        status = event.get("DialStatus").upper()
        leg.dial_status = status
        if status == "ANSWER" and leg.call.status is CallStatus.RINGING:
            return self._put(leg.call.evolve(status=CallStatus.CONNECTED, connect_at=self.now()), caller)
        return []

    def _end(self, leg: _Leg, q850: str) -> list[cmd.Report]:
        call, now = leg.call, self.now()
        if leg.intent in ("transferred", "merged", "cancelled"):  # ends as the agent asked, whatever its state
            cause = Cause(leg.intent)
            return self._put(call.evolve(status=CallStatus.HANGUP, cause=cause.value, release_at=now))
        if leg.intent in ("reject", "no_answer") and call.status is CallStatus.RINGING:
            cause = Cause.REJECTED if leg.intent == "reject" else Cause.NO_ANSWER
            return self._put(call.evolve(status=CallStatus.CANCEL, cause=cause.value, release_at=now))
        if call.connect_at is not None:
            return self._put(call.evolve(status=CallStatus.HANGUP, cause=Cause.NORMAL.value, release_at=now))
        if leg.intent == "hangup":
            return self._put(call.evolve(status=CallStatus.HANGUP, cause=Cause.CANCELLED.value, release_at=now))
        dial_status = leg.dial_status if leg.dial_status != "DIALLING" else ""
        cause = cause_of(q850, dial_status)
        return self._put(call.evolve(status=CallStatus.CANCEL, cause=cause.value, release_at=now))

    # --- re-sync -----------------------------------------------------------------------------------------

    def resync(self, channels: Iterable[Event]) -> cmd.Snapshot:
        """The present from CoreShowChannels' items, after a (re)connect.

        Channels of this agent that the book knows keep their call (status corrected from the channel state);
        unknown ones are adopted (Up → CONNECTED, connected ``Duration`` ago; else RINGING; called by
        ``AppDial``/``AppQueue`` → inbound); known calls whose channel is gone ended while nobody listened and
        are in the snapshot ended, so history still gets them.
        """
        now = self.now()
        calls: list[Call] = []
        seen: set[str] = set()
        items = list(channels)
        names = {item.get("Channel") for item in items}
        self._bridge_of = {item.get("Channel"): item.get("BridgeId") for item in items if item.get("BridgeId")}
        self._members = {}
        for channel, bridge in self._bridge_of.items():  # who talks to whom, for the operations on a peer
            self._members.setdefault(bridge, set()).add(channel)
        for kept in self.legs.values():  # parked (no channel of ours) and consult calls (a Local channel) live on
            if kept.call.status is CallStatus.PARKED or (kept.consult_of and kept.call.cid in names):
                seen.add(kept.call.id)
                calls.append(kept.call)
        for item in items:
            channel, unique = item.get("Channel"), item.get("Uniqueid")
            if not self.ours(channel) or not unique:
                continue
            seen.add(unique)
            up = item.get("ChannelState") == "6"
            leg = self.legs.get(unique)
            if leg is None:
                inbound = item.get("Application") in ("AppDial", "AppQueue")
                direction = Direction.INBOUND if inbound else Direction.OUTBOUND
                call = self._new(
                    unique,
                    channel,
                    direction,
                    CallStatus.CONNECTED if up else CallStatus.RINGING,
                    _known(item.get("ConnectedLineNum")) or ("" if inbound else item.get("Exten")),
                    _known(item.get("ConnectedLineName")),
                )
                if up:
                    call = call.evolve(connect_at=now - timedelta(seconds=_duration(item.get("Duration"))))
                self.legs[unique] = _Leg(call, channel)
            else:
                call = leg.call
                if (
                    up
                    and call.status in (CallStatus.RINGING, CallStatus.ACCEPTED)
                    and leg.dial_status in ("", "ANSWER")
                ):
                    call = call.evolve(status=CallStatus.CONNECTED, connect_at=call.connect_at or now)
                leg.call, leg.channel = call, channel
            calls.append(call)
        for unique in [u for u in self.legs if u not in seen]:
            gone = self.legs[unique].call
            if gone.status is CallStatus.INITIAL and not self.legs[unique].channel:
                calls.append(gone)  # our Originate whose channel does not exist yet
                continue
            status, cause = (
                (CallStatus.HANGUP, Cause.NORMAL) if gone.connect_at else (CallStatus.CANCEL, Cause.CANCELLED)
            )
            ended = gone.evolve(status=status, cause=cause.value, release_at=now)
            self._put(ended)
            calls.append(ended)
        return cmd.Snapshot(tuple(calls), ())
