"""Watched lines on Asterisk — pure: AMI events and list replies in, the engine's line reports out.

The embedded PBX shows a watched line as the calls seen on it (``Call.line``/``Call.also``); the lines pane
derives the lamp, the queue's waiting count and longest wait, and the park slots from those calls. This
module makes the same calls from what Asterisk says (measured on Asterisk 22; transcripts in
tests/asterisk/transcripts/):

- ``user:EXT``: the channels of ``PJSIP/EXT`` (one :class:`~cti_tui.protocol.ami_calls.ChannelBook` per
  watched user), so the lamp is ringing/busy/held as the phone is. ``DeviceStateChange`` (and
  ``DeviceStateList`` at re-sync) gives the device's own state (:meth:`LineWatch.device_state`), which says
  what no channel can: the phone is not registered (``UNAVAILABLE``).
- ``queue:NAME``: a caller waiting (``QueueCallerJoin``, ``QueueStatus``'s ``QueueEntry``) is a call RINGING on
  the queue's line at its ``Position``, ``setup_at`` = when it joined (``Wait`` seconds ago at re-sync), so
  the pane's longest wait is Asterisk's. Positions behind a caller who leaves move up (Asterisk sends no
  event for that). An agent took it (``AgentConnect``): HANGUP ``transferred`` — the conversation goes on
  as the agent's own call; it gave up (``QueueCallerAbandon``, or hung up after leaving): CANCEL.
- ``callpark``: ``ParkedCall`` (and ``ParkedCalls`` at re-sync) is a call PARKED in its ``ParkingSpace``
  (701…); ``UnParkedCall`` and ``ParkedCallTimeOut`` (back to the parker) end it ``transferred``,
  ``ParkedCallGiveUp`` (the caller hung up) ``normal``.
- ``conf:NAME``: each ``ConfbridgeJoin`` (``ConfbridgeList`` at re-sync) a CONNECTED call on the room's
  line, ``ConfbridgeLeave`` ends it, ``ConfbridgeEnd`` ends them all.

Queue, park and room calls have ids of their own (``queue:sales/<Uniqueid>``): the same channel may be a
watched user's call at the same time (1003 redirected into a queue). Queue members (``QueueMember*``,
``QueueStatus``) are kept in :attr:`LineWatch.members`: logged in or not, paused and why.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cti_tui.core import commands as cmd
from cti_tui.core.model import Call, CallStatus, Cause, Direction
from cti_tui.protocol.ami import Event
from cti_tui.protocol.ami_calls import UNKNOWN, ChannelBook, utc_now

PARK_LINE = "callpark"
USER, QUEUE, CONF = "user:", "queue:", "conf:"


def _known(value: str) -> str:
    return "" if value in UNKNOWN else value


def _int(text: str, default: int = 0) -> int:
    try:
        return int(text)
    except ValueError:
        return default


@dataclass
class Member:
    """One agent's membership of one queue, as Asterisk has it."""

    queue: str
    interface: str  # PJSIP/1001
    name: str = ""
    paused: bool = False
    reason: str = ""
    status: str = ""  # AST_DEVICE_*: 1 not in use, 2 in use, 5 unavailable, 6 ringing, …
    logged_in: bool = True

    @property
    def extension(self) -> str:
        return self.interface.partition("/")[2]


@dataclass(frozen=True, slots=True)
class AgentView:
    """An agent's availability as Asterisk's queues have it: ``offline`` (in no queue), ``break`` (paused in
    every queue it is in, ``reason`` Asterisk's PausedReason) or ``available``; ``queues`` the queues it is
    logged in to, ``member_of`` every queue that lists it (static members cannot log out)."""

    extension: str
    state: str
    reason: str = ""
    queues: tuple[str, ...] = ()
    paused_in: tuple[str, ...] = ()
    member_of: tuple[str, ...] = ()


@dataclass
class _Held:
    """A call of a queue, the park lot or a room, and where it is."""

    call: Call
    node: str
    left: bool = False  # left the queue; waits for AgentConnect (taken) or its Hangup (gave up)


@dataclass
class LineWatch:
    """The watched nodes of one session and the calls Asterisk shows on them (see the module docstring).

    Queues, the park lot and rooms are followed whether watched or not (cheap: a few events), so watching one
    later shows its present at once; a user line needs its channels (:meth:`watch` takes CoreShowChannels).
    Reports are produced only for watched nodes.
    """

    now: Callable[[], datetime] = utc_now
    watched: dict[str, None] = field(default_factory=dict)
    users: dict[str, ChannelBook] = field(default_factory=dict)  # watched extension -> its channels
    devices: dict[str, str] = field(default_factory=dict)  # PJSIP/1001 -> NOT_INUSE, INUSE, UNAVAILABLE, …
    members: dict[tuple[str, str], Member] = field(default_factory=dict)  # (queue, interface)
    queues: set[str] = field(default_factory=set)  # the queues QueueStatus named
    held: dict[str, _Held] = field(default_factory=dict)  # by our call id

    # --- what is watched ---------------------------------------------------------------------------------

    def watch(self, node: str, channels: Iterable[Event] = ()) -> list[cmd.Report]:
        """Watch ``node``; its calls now (``channels``: CoreShowChannels' items, for a user line)."""
        self.watched[node] = None
        if node.startswith(USER):
            extension = node.removeprefix(USER)
            book = ChannelBook(extension, node, now=self.now)
            self.users[extension] = book
            return [cmd.CallUpdate(call) for call in book.resync(channels).calls]
        return [cmd.CallUpdate(h.call) for h in self.held.values() if h.node == node and not h.left]

    def unwatch(self, node: str) -> None:
        self.watched.pop(node, None)
        if node.startswith(USER):
            self.users.pop(node.removeprefix(USER), None)

    def calls(self) -> list[Call]:
        """The live calls on the watched nodes (what a Snapshot carries)."""
        mine = [call for book in self.users.values() for call in book.live()]
        return mine + [h.call for h in self.held.values() if h.node in self.watched and not h.left]

    def device_state(self, extension: str) -> str:
        """The phone's state as Asterisk has it (``UNAVAILABLE``: not registered); ``""`` when never heard."""
        return self.devices.get(f"PJSIP/{extension}", "")

    def member(self, queue: str, extension: str) -> Member | None:
        return self.members.get((queue, f"PJSIP/{extension}"))

    def agent(self, extension: str) -> AgentView:
        """The agent's availability from the members Asterisk reported (QueueStatus, QueueMember* events)."""
        mine = sorted((m for m in self.members.values() if m.extension == extension), key=lambda m: m.queue)
        queues = tuple(m.queue for m in mine if m.logged_in)
        paused = tuple(m.queue for m in mine if m.logged_in and m.paused)
        if not queues:
            state, reason = "offline", ""
        elif paused == queues:
            state, reason = "break", next((m.reason for m in mine if m.logged_in and m.reason), "")
        else:
            state, reason = "available", ""
        return AgentView(extension, state, reason, queues, paused, tuple(m.queue for m in mine))

    def _shown(self, held: _Held) -> list[cmd.Report]:
        return [cmd.CallUpdate(held.call)] if held.node in self.watched else []

    def _put(self, held: _Held, call: Call) -> list[cmd.Report]:
        held.call = call
        if call.ended:
            self.held.pop(call.id, None)
        return self._shown(held)

    # --- re-sync -----------------------------------------------------------------------------------------

    def resync(
        self,
        *,
        channels: Iterable[Event] = (),
        queue_status: Iterable[Event] = (),
        parked: Iterable[Event] = (),
        devices: Iterable[Event] = (),
        rooms: Iterable[Event] = (),
    ) -> list[Call]:
        """The present after a (re)connect, from the list replies' items. Calls that were known and are
        gone ended while nobody listened: they come back ended (history still gets them). Returns every
        call of the watched nodes, ended ones included."""
        out: list[Call] = []
        for book in self.users.values():
            out += book.resync(channels).calls
        for item in devices:
            if item.name == "DeviceStateChange":
                self.devices[item.get("Device")] = item.get("State")
        queue_items = list(queue_status)
        listed = {item.get("Queue") for item in queue_items if item.name == "QueueParams"}
        for member in self.members.values():
            if member.queue in listed:
                member.logged_in = False  # until QueueStatus lists it again (removed while we were away)
        seen = self.seed([*queue_items, *parked, *rooms])
        now = self.now()
        for call_id, held in list(self.held.items()):
            if call_id in seen:
                out += [held.call] if held.node in self.watched else []
                continue
            status = CallStatus.HANGUP if held.call.status is not CallStatus.RINGING else CallStatus.CANCEL
            cause = Cause.CANCELLED if status is CallStatus.CANCEL else Cause.NORMAL
            ended = held.call.evolve(status=status, cause=cause.value, release_at=now, queue_position=None)
            out += [r.call for r in self._put(held, ended) if isinstance(r, cmd.CallUpdate)]
        return out

    def seed(self, items: Iterable[Event]) -> set[str]:
        """Take in list items (QueueStatus, ParkedCalls, ConfbridgeList) without ending anything; the ids of
        the calls they name."""
        seen: set[str] = set()
        for item in items:
            match item.name:
                case "QueueParams":
                    self.queues.add(item.get("Queue"))
                case "QueueMember":
                    self._member(item, interface_header="Location")
                case "QueueEntry":
                    seen.add(self._waiting(item, seconds_ago=_int(item.get("Wait"))))
                case "ParkedCall":
                    seen.add(self._parked(item))
                case "ConfbridgeList":
                    seen.add(self._joined(item))
        return seen

    # --- events ------------------------------------------------------------------------------------------

    def on_event(self, event: Event) -> list[cmd.Report]:
        """The reports one event leads to on the watched nodes (often none)."""
        reports: list[cmd.Report] = []
        for book in self.users.values():
            reports += book.on_event(event)
        name = event.name
        match name:
            case "DeviceStateChange":
                self.devices[event.get("Device")] = event.get("State")
            case "QueueCallerJoin":
                reports += self._changed(self._waiting, event)
            case "QueueCallerLeave":
                reports += self._left_queue(event)
            case "QueueCallerAbandon":  # (before its QueueCallerLeave)
                reports += self._left_queue(event)
                reports += self._gave_up(self._id(QUEUE + event.get("Queue"), event.get("Uniqueid")))
            case "AgentConnect":
                reports += self._taken(event)
            case "QueueMemberAdded" | "QueueMemberPause" | "QueueMemberStatus" | "QueueMemberPenalty":
                self._member(event)
            case "QueueMemberRemoved":
                member = self._member(event)
                member.logged_in = False
            case "ParkedCall":
                reports += self._changed(self._parked, event)
            case "UnParkedCall" | "ParkedCallTimeOut" | "ParkedCallGiveUp":
                reports += self._unparked(event)
            case "ConfbridgeJoin":
                reports += self._changed(self._joined, event)
            case "ConfbridgeLeave":
                reports += self._end(self._id(CONF + event.get("Conference"), event.get("Uniqueid")), Cause.NORMAL)
            case "ConfbridgeEnd":
                room = CONF + event.get("Conference")
                for call_id in [i for i, h in self.held.items() if h.node == room]:
                    reports += self._end(call_id, Cause.NORMAL)
            case "Hangup":
                reports += self._hung_up(event.get("Uniqueid"))
        return reports

    def _changed(self, take: Callable[[Event], str], event: Event) -> list[cmd.Report]:
        """Take ``event`` in; a report only if the call is new or changed (a repeat says nothing)."""
        before = {call_id: held.call for call_id, held in self.held.items()}
        held = self.held[take(event)]
        return [] if before.get(held.call.id) == held.call else self._shown(held)

    @staticmethod
    def _id(node: str, unique: str) -> str:
        return f"{node}/{unique}"

    def _member(self, event: Event, interface_header: str = "Interface") -> Member:
        queue, interface = event.get("Queue"), event.get(interface_header)
        member = self.members.get((queue, interface))
        if member is None:
            member = self.members[(queue, interface)] = Member(queue, interface)
        member.name = event.get("MemberName") or event.get("Name") or member.name
        member.paused = event.get("Paused") == "1"
        member.reason = event.get("PausedReason") if member.paused else ""
        member.status = event.get("Status") or member.status
        member.logged_in = True
        return member

    def _new(self, node: str, event: Event, status: CallStatus, prefix: str = "", seconds_ago: int = 0) -> Call:
        """A call of ``node`` from the channel fields of ``event`` (``prefix``: ``Parkee`` for park events)."""
        unique = event.get(f"{prefix}Uniqueid")
        started = self.now() - timedelta(seconds=seconds_ago)
        label = node.partition(":")[2] or node
        return Call(
            id=self._id(node, unique),
            cid=event.get(f"{prefix}Channel") or unique,
            direction=Direction.INBOUND,
            status=status,
            line=node,
            source=_known(event.get(f"{prefix}CallerIDNum")) or "anonymous",
            source_name=_known(event.get(f"{prefix}CallerIDName")),
            destination=label,
            destination_name=label,
            setup_at=started,
            connect_at=None if status is CallStatus.RINGING else started,
        )

    def _waiting(self, event: Event, seconds_ago: int = 0) -> str:
        node = QUEUE + event.get("Queue")
        self.queues.add(event.get("Queue"))
        call_id = self._id(node, event.get("Uniqueid"))
        held = self.held.get(call_id)
        position = _int(event.get("Position"), 1)
        if held is None:
            call = self._new(node, event, CallStatus.RINGING, seconds_ago=seconds_ago)
            self.held[call_id] = held = _Held(call, node)
        held.call = held.call.evolve(queue_position=position)
        return call_id

    def _left_queue(self, event: Event) -> list[cmd.Report]:
        """The caller left the queue (taken or gone: AgentConnect or Abandon/Hangup says which); those
        behind it move up."""
        node = QUEUE + event.get("Queue")
        held = self.held.get(self._id(node, event.get("Uniqueid")))
        if held is None or held.left:
            return []
        held.left = True
        gone = held.call.queue_position or 0
        reports: list[cmd.Report] = []
        for other in self.held.values():
            position = other.call.queue_position
            if other.node == node and not other.left and position is not None and position > gone:
                reports += self._put(other, other.call.evolve(queue_position=position - 1))
        return reports

    def _taken(self, event: Event) -> list[cmd.Report]:
        """An agent answered the queue's caller: it leaves the queue's line, handed over to the agent."""
        held = self.held.get(self._id(QUEUE + event.get("Queue"), event.get("Uniqueid")))
        if held is None:
            return []
        agent = _known(event.get("MemberName")) or event.get("Interface")
        call = held.call.evolve(
            status=CallStatus.HANGUP,
            cause=Cause.TRANSFERRED.value,
            release_at=self.now(),
            queue_position=None,
            destination_name=f"{held.call.destination} → {agent}",
        )
        return self._put(held, call)

    def _gave_up(self, call_id: str) -> list[cmd.Report]:
        held = self.held.get(call_id)
        if held is None:
            return []
        if held.call.status is CallStatus.RINGING:
            ended = held.call.evolve(
                status=CallStatus.CANCEL, cause=Cause.CANCELLED.value, release_at=self.now(), queue_position=None
            )
            return self._put(held, ended)
        return self._end(call_id, Cause.NORMAL)

    def _end(self, call_id: str, cause: Cause) -> list[cmd.Report]:
        held = self.held.get(call_id)
        if held is None:
            return []
        ended = held.call.evolve(status=CallStatus.HANGUP, cause=cause.value, release_at=self.now())
        return self._put(held, ended)

    def _hung_up(self, unique: str) -> list[cmd.Report]:
        """A channel ended: whichever of our calls it was ends too (a caller who left a queue and hung up,
        a room member whose Leave we missed)."""
        reports: list[cmd.Report] = []
        for call_id in [i for i in self.held if i.rpartition("/")[2] == unique]:
            reports += self._gave_up(call_id)
        return reports

    def _parked(self, event: Event) -> str:
        call = self._new(PARK_LINE, event, CallStatus.PARKED, "Parkee", _int(event.get("ParkingDuration")))
        call = call.evolve(
            park_slot=_int(event.get("ParkingSpace")) or None,
            destination=_known(event.get("ParkeeConnectedLineNum")) or PARK_LINE,
            destination_name=_known(event.get("ParkeeConnectedLineName")),
        )
        held = self.held.get(call.id)
        if held is None:
            self.held[call.id] = _Held(call, PARK_LINE)
        else:
            held.call = held.call.evolve(park_slot=call.park_slot)
        return call.id

    def _unparked(self, event: Event) -> list[cmd.Report]:
        """Picked up (UnParkedCall), back to the parker (ParkedCallTimeOut): handed over; the caller hung
        up (ParkedCallGiveUp): over."""
        call_id = self._id(PARK_LINE, event.get("ParkeeUniqueid"))
        held = self.held.get(call_id)
        if held is None:
            return []
        if event.name == "ParkedCallGiveUp":
            return self._end(call_id, Cause.NORMAL)
        retriever = _known(event.get("RetrieverCallerIDNum"))
        if retriever:
            held.call = held.call.evolve(destination_name=f"picked up by {retriever}")
        return self._end(call_id, Cause.TRANSFERRED)

    def _joined(self, event: Event) -> str:
        node = CONF + event.get("Conference")
        call = self._new(node, event, CallStatus.CONNECTED)
        if call.id not in self.held:
            self.held[call.id] = _Held(call, node)
        return call.id
