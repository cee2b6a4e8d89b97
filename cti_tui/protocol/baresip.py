"""baresip ``ctrl_tcp`` wire codec and call book — pure, sans-I/O (bytes in, messages/reports out).

Facts this follows (measured on baresip 1.0.0, see the project's notes):

- Frames are netstrings both ways: ``<len>:<json>,``. A request is ``{"command", "params", "token"}`` and
  **every field must be a JSON string** — a number crashes baresip 1.0.0 — so :func:`encode_command` refuses
  anything else. Responses carry the request's token; events carry none, so responses are correlated by token
  and calls by their SIP Call-ID (the event's ``id``).
- Events that matter for calls: CALL_INCOMING, CALL_RINGING, CALL_PROGRESS, CALL_ESTABLISHED, CALL_CLOSED
  (``param`` is the reason), TRANSFER (on the transferee), TRANSFER_FAILED (on the transferor: the original
  call is then gone with no CALL_CLOSED), CALL_DTMF_START (``param`` is the digit).
- baresip sends **no hold events**: :class:`CallBook` keeps the hold state from the commands that succeeded.
- Commands take no call id: the controller selects the current call first (``callfind <Call-ID>``) — that
  belongs to the I/O shell (:mod:`cti_tui.backends.softphone`); this module only parses the answers
  (``listcalls`` / ``callstat``) it needs to resynchronise.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cti_tui.core import commands as cmd
from cti_tui.core.model import ActivityName, Call, CallStatus, Cause, Direction, ErrorCode

MAX_FRAME = 1 << 20
"""Largest frame accepted (1 MiB): a ``help`` or ``callstat`` answer is a few kB; anything near this is garbage."""
_MAX_LENGTH_DIGITS = len(str(MAX_FRAME))


class FrameError(ValueError):
    """The byte stream is not netstrings (bad length, missing ``:`` or ``,``, oversized frame).

    The stream cannot be trusted after this, so the decoder drops what it had buffered; the caller should
    reconnect (and resynchronise). Messages decoded earlier in the same :meth:`NetstringDecoder.feed` call are
    in :attr:`messages`, so none is lost.
    """

    def __init__(self, message: str, messages: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.messages: list[dict[str, Any]] = messages or []


class NetstringDecoder:
    """Incremental netstring + JSON decoder: ``feed(bytes) -> list[dict]``, partial frames are kept.

    A well-framed payload that is not a JSON object is skipped (counted in :attr:`skipped`, reason in
    :attr:`last_problem`) — the framing is intact, so the stream goes on. A framing error raises
    :class:`FrameError`, the only exception :meth:`feed` raises.
    """

    def __init__(self, max_frame: int = MAX_FRAME) -> None:
        self.max_frame = max_frame
        self._buffer = bytearray()
        self.skipped = 0
        self.last_problem = ""

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def reset(self) -> None:
        self._buffer.clear()

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        self._buffer += data
        out: list[dict[str, Any]] = []
        while self._buffer:
            colon = self._buffer.find(b":", 0, _MAX_LENGTH_DIGITS + 1)
            head = bytes(self._buffer[: colon if colon >= 0 else _MAX_LENGTH_DIGITS + 1])
            if not head.isdigit() or (len(head) > 1 and head.startswith(b"0")):
                if colon < 0 and head.isdigit() and len(head) <= _MAX_LENGTH_DIGITS:
                    break  # the length is still arriving
                self._fail(f"bad netstring length {head[:16]!r}", out)
            length = int(head)
            if length > self.max_frame:
                self._fail(f"netstring of {length} bytes exceeds the {self.max_frame}-byte limit", out)
            end = colon + 1 + length
            if len(self._buffer) < end + 1:
                break  # the payload is still arriving
            if self._buffer[end] != ord(","):
                self._fail(f"netstring of {length} bytes not closed by ',' (got {bytes([self._buffer[end]])!r})", out)
            payload = bytes(self._buffer[colon + 1 : end])
            del self._buffer[: end + 1]
            message = self._parse(payload)
            if message is not None:
                out.append(message)
        return out

    def _fail(self, reason: str, decoded: list[dict[str, Any]]) -> None:
        self._buffer.clear()
        raise FrameError(reason, decoded)

    def _parse(self, payload: bytes) -> dict[str, Any] | None:
        try:
            value = json.loads(payload.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            self.skipped += 1
            self.last_problem = f"frame is not JSON: {exc}"
            return None
        if not isinstance(value, dict):
            self.skipped += 1
            self.last_problem = f"frame is JSON {type(value).__name__}, not an object"
            return None
        return value


def encode_netstring(payload: bytes) -> bytes:
    return b"%d:%s," % (len(payload), payload)


def encode_command(command: str, params: str | None = None, token: str | None = None) -> bytes:
    """One request frame. Every field must be a ``str`` (a number crashes baresip 1.0.0): else TypeError."""
    fields = {"command": command, "params": params, "token": token}
    for name, value in fields.items():
        if value is not None and not isinstance(value, str):
            raise TypeError(f"baresip ctrl_tcp field {name!r} must be a string, got {type(value).__name__}")
    if not command or not command.strip() or any(c.isspace() for c in command):
        raise ValueError(f"bad baresip command {command!r}")
    body = {k: v for k, v in fields.items() if v is not None}
    return encode_netstring(json.dumps(body, ensure_ascii=False).encode("utf-8"))


class Tokens:
    """Request tokens ``cti-1``, ``cti-2``, … (strings, as baresip needs)."""

    def __init__(self, prefix: str = "cti") -> None:
        self.prefix = prefix
        self._n = 0

    def next(self) -> str:
        self._n += 1
        return f"{self.prefix}-{self._n}"


# --- typed messages ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Response:
    ok: bool
    data: str
    token: str | None

    @property
    def refused(self) -> bool:
        """Some failures still say ok:true (``call not found``): look at the text too."""
        text = self.data.lower()
        return not self.ok or "not found" in text or text.startswith("invalid")


@dataclass(frozen=True, slots=True)
class BaresipEvent:
    type: str
    kind: str  # the event's "class": call, other, register, …
    call_id: str
    direction: str
    peer_uri: str
    peer_name: str
    param: str
    account: str


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def parse_message(message: dict[str, Any]) -> Response | BaresipEvent | None:
    """A decoded frame as a :class:`Response` or :class:`BaresipEvent`; None for anything else."""
    if message.get("response") is True:
        token = message.get("token")
        return Response(
            message.get("ok") is True, _text(message.get("data")), token if isinstance(token, str) else None
        )
    if message.get("event") is True:
        return BaresipEvent(
            type=_text(message.get("type")),
            kind=_text(message.get("class")),
            call_id=_text(message.get("id")),
            direction=_text(message.get("direction")),
            peer_uri=_text(message.get("peeruri")),
            peer_name=_text(message.get("peerdisplayname")),
            param=_text(message.get("param")),
            account=_text(message.get("accountaor")),
        )
    return None


# --- SIP bits ------------------------------------------------------------------------------------------------

_URI_IN_BRACKETS = re.compile(r"<([^>]*)>")


def number_of(uri: str) -> str:
    """The user part of a SIP URI (``sip:+33123@host;x`` → ``+33123``); ``anonymous`` when there is none."""
    match = _URI_IN_BRACKETS.search(uri)
    if match:
        uri = match.group(1)
    rest = uri.split(":", 1)[1] if uri.lower().startswith(("sip:", "sips:", "tel:")) else uri
    user = rest.split("@", 1)[0] if "@" in rest else ""
    if uri.lower().startswith("tel:"):
        user = rest
    user = user.split(";", 1)[0]
    return user or "anonymous"


def split_name_addr(text: str) -> tuple[str, str]:
    """``Alice <sip:a@h>`` → (``Alice``, ``sip:a@h``); a bare URI → (``""``, uri)."""
    text = text.strip()
    match = _URI_IN_BRACKETS.search(text)
    if not match:
        return "", text
    return text[: match.start()].strip().strip('"'), match.group(1)


_CODE = re.compile(r"^\s*(\d{3})\b")


def cause_from_reason(reason: str) -> Cause:
    """The engine's cause for CALL_CLOSED's reason text (a SIP status line or a local reason)."""
    text = reason.strip().lower()
    if "transfer" in text:  # "Call transfered" (sic)
        return Cause.TRANSFERRED
    match = _CODE.match(text)
    if match is None:
        if text.startswith("connection reset") or not text:
            return Cause.NORMAL
        if "timeout" in text or "timed out" in text:
            return Cause.NO_ANSWER
        return Cause.ERROR
    code = int(match.group(1))
    if code in (486, 600):
        return Cause.REJECTED if "reject" in text else Cause.BUSY
    if code == 603:
        return Cause.REJECTED
    if code in (404, 410, 484, 485, 604, 502, 503, 504):
        return Cause.UNREACHABLE
    if code in (408, 480):
        return Cause.NO_ANSWER
    if code == 487:
        return Cause.CANCELLED
    return Cause.ERROR


def close_outcome(reason: str, *, connected: bool, intent: str | None = None) -> tuple[CallStatus, Cause]:
    """Status and cause of a closed call.

    ``intent`` is what the agent asked of this call: ``reject`` (an unanswered inbound call hung up: baresip
    answers 486), ``hangup`` (the agent terminated it) or ``transferred`` (this leg was transferred away).
    A call that connected ends in HANGUP; one that never did in CANCEL (or HANGUP when the agent hung up).
    """
    cause = cause_from_reason(reason)
    if intent == "reject" and not connected:
        return CallStatus.CANCEL, Cause.REJECTED
    if intent == "transferred" or cause is Cause.TRANSFERRED:
        return CallStatus.HANGUP, Cause.TRANSFERRED
    if connected:
        return CallStatus.HANGUP, Cause.NORMAL if cause is not Cause.ERROR else Cause.ERROR
    if intent == "hangup":
        return CallStatus.HANGUP, Cause.CANCELLED
    if cause is Cause.NORMAL:  # the far end gave up (CANCEL) or reset before answering
        return CallStatus.CANCEL, Cause.CANCELLED
    return CallStatus.CANCEL, cause


# --- reginfo (registration) ---------------------------------------------------------------------------------

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_REG_LINE = re.compile(r"^\s*>?\s*(?P<aor>sips?:\S+)\s+(?P<state>[A-Za-z]+)?")


def parse_reginfo(data: str) -> dict[str, str]:
    """``reginfo`` as {AOR: state}: ``OK`` registered, ``ERR`` refused, ``zzz`` or "" not (yet) registered."""
    states: dict[str, str] = {}
    for line in _ANSI.sub("", data).splitlines():
        match = _REG_LINE.match(line)
        if match:
            states[match.group("aor")] = match.group("state") or ""
    return states


# --- listcalls / callstat (resynchronisation) ---------------------------------------------------------------

_LIST_LINE = re.compile(
    r"\[line (?P<line>\d+)\]\s+(?P<dur>\d+:\d{2}:\d{2})\s+(?P<state>[A-Z_]+)\s*(?P<hold>\(on hold\))?\s+(?P<peer>\S+)"
)


@dataclass(frozen=True, slots=True)
class ListedCall:
    """One row of ``listcalls``."""

    line: int
    seconds: int
    state: str
    on_hold: bool
    peer_uri: str


def parse_listcalls(data: str) -> list[ListedCall]:
    rows = []
    for match in _LIST_LINE.finditer(data):
        h, m, s = (int(x) for x in match.group("dur").split(":"))
        rows.append(
            ListedCall(
                int(match.group("line")),
                h * 3600 + m * 60 + s,
                match.group("state"),
                bool(match.group("hold")),
                match.group("peer"),
            )
        )
    return rows


@dataclass(frozen=True, slots=True)
class CallStat:
    """The parts of ``callstat`` (the current call) the controller needs."""

    call_id: str
    state: str
    direction: Direction
    peer_uri: str
    peer_name: str


_STAT_STATE = re.compile(r"Call debug \((?P<state>[A-Z_]+)\)")
_STAT_ID = re.compile(r"\bid=(?P<id>\S+)")
_STAT_DIR = re.compile(r"direction:\s*(?P<dir>\w+)", re.IGNORECASE)
_STAT_PEER = re.compile(r"peer_uri:\s*(?P<peer>[^\n]*)")


def parse_callstat(data: str) -> CallStat | None:
    """None when there is no current call (``(no active calls)``) or the text is not understood."""
    ident = _STAT_ID.search(data)
    if ident is None:
        return None
    state = _STAT_STATE.search(data)
    direction = _STAT_DIR.search(data)
    peer = _STAT_PEER.search(data)
    name, uri = split_name_addr(peer.group("peer")) if peer else ("", "")
    inbound = direction is not None and direction.group("dir").lower().startswith("in")
    return CallStat(
        ident.group("id"),
        state.group("state") if state else "",
        Direction.INBOUND if inbound else Direction.OUTBOUND,
        uri,
        name,
    )


# --- the call book: events -> the engine's call model ---------------------------------------------------------


INTERRUPTED = "interrupted"  # the engine's cause for calls whose carrier went away (not a Cause: no SIP reason)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class _Leg:
    call: Call
    intent: str | None = None
    peer_uri: str = ""  # as baresip names the far end (listcalls rows name calls by it)


@dataclass
class CallBook:
    """The calls of one baresip account as the engine's :class:`Call` objects, keyed by SIP Call-ID.

    Feed it events (:meth:`on_event`) and what the agent did (:meth:`intend`, :meth:`set_hold`); it answers
    with the reports to send to the connector. It tracks hold itself (baresip sends no hold events).

    Two calls at once (measured on baresip 1.0.0): answering an incoming call while another is up holds the
    other (``listcalls`` says ``(on hold)``), so the book shows it ON_HOLD before the new call CONNECTED —
    never two CONNECTED that are not. Dialling out does not hold anything. When a call ends, baresip resumes
    the one that becomes current; the controller reads that back from ``listcalls``
    (:meth:`apply_listed_hold`) rather than guessing.
    """

    line: str
    own_number: str
    own_name: str = ""
    account: str = ""  # the AOR; events for other accounts of a shared baresip are ignored
    now: Callable[[], datetime] = utc_now
    legs: dict[str, _Leg] = field(default_factory=dict)
    dtmf: dict[str, str] = field(default_factory=dict)  # digits received per call (CALL_DTMF_START)
    _ended: dict[str, Call] = field(default_factory=dict)

    def get(self, call_id: str) -> Call | None:
        leg = self.legs.get(call_id)
        return leg.call if leg else self._ended.get(call_id)

    def live(self) -> list[Call]:
        return [leg.call for leg in self.legs.values()]

    def intend(self, call_id: str, intent: str) -> None:
        """Remember what the agent asked of a call, so its CALL_CLOSED gets the right cause."""
        leg = self.legs.get(call_id)
        if leg is not None:
            leg.intent = intent

    def _new(self, call_id: str, direction: Direction, status: CallStatus, uri: str, name: str) -> Call:
        party = number_of(uri)
        now = self.now()
        ours, theirs = (self.own_number, self.own_name), (party, name)
        (source, source_name), (destination, destination_name) = (
            (theirs, ours) if direction is Direction.INBOUND else (ours, theirs)
        )
        return Call(
            id=call_id,
            cid=call_id,
            direction=direction,
            status=status,
            line=self.line,
            source=source,
            destination=destination,
            source_name=source_name,
            destination_name=destination_name,
            setup_at=now,
            connect_at=now if status in (CallStatus.CONNECTED, CallStatus.ON_HOLD) else None,
        )

    def _put(self, call: Call, peer_uri: str = "") -> list[cmd.Report]:
        leg = self.legs.get(call.id)
        if call.ended:
            self.legs.pop(call.id, None)
            self._ended[call.id] = call
            while len(self._ended) > 200:
                self._ended.pop(next(iter(self._ended)))
        elif leg is None:
            self.legs[call.id] = _Leg(call, peer_uri=peer_uri)
        else:
            if leg.call == call:
                return []
            leg.call = call
        return [cmd.CallUpdate(call)]

    def on_event(self, event: BaresipEvent) -> list[cmd.Report]:
        """The reports one event leads to (often none)."""
        if not event.call_id or (self.account and event.account and event.account != self.account):
            return []
        if event.call_id in self._ended:
            return []  # late events of a finished call
        leg = self.legs.get(event.call_id)
        current = leg.call if leg else None
        direction = Direction.INBOUND if event.direction == "incoming" else Direction.OUTBOUND
        match event.type:
            case "CALL_INCOMING":
                if current is None:
                    return self._put(
                        self._new(
                            event.call_id, Direction.INBOUND, CallStatus.RINGING, event.peer_uri, event.peer_name
                        ),
                        event.peer_uri,
                    )
            case "CALL_RINGING" | "CALL_PROGRESS" | "CALL_OUTGOING":
                if current is None:
                    return self._put(
                        self._new(event.call_id, direction, CallStatus.RINGING, event.peer_uri, event.peer_name),
                        event.peer_uri,
                    )
            case "CALL_ESTABLISHED":
                held = self._held_by_answering(event.call_id) if direction is Direction.INBOUND else []
                if current is None:
                    return held + self._put(
                        self._new(event.call_id, direction, CallStatus.CONNECTED, event.peer_uri, event.peer_name),
                        event.peer_uri,
                    )
                if current.status in (CallStatus.INITIAL, CallStatus.ACCEPTED, CallStatus.RINGING):
                    return held + self._put(current.evolve(status=CallStatus.CONNECTED, connect_at=self.now()))
            case "CALL_CLOSED":
                if current is None:  # never seen alive (closed before any other event reached us)
                    current = self._new(event.call_id, direction, CallStatus.RINGING, event.peer_uri, event.peer_name)
                status, cause = close_outcome(
                    event.param, connected=current.connect_at is not None, intent=leg.intent if leg else None
                )
                return self._put(current.evolve(status=status, cause=cause.value, release_at=self.now()))
            case "TRANSFER":
                if leg is not None:  # the far end transferred us away: our leg ends when the new one starts
                    leg.intent = "transferred"
            case "TRANSFER_FAILED":
                # on the transferor the original call is gone with no CALL_CLOSED
                notice = cmd.Notice(
                    ActivityName.INFO,
                    ErrorCode.TRANSFER_FAILED,
                    f"transfer failed: {event.param or 'no reason given'}",
                    event.call_id,
                )
                if current is None:
                    return [notice]
                ended = current.evolve(status=CallStatus.HANGUP, cause=Cause.ERROR.value, release_at=self.now())
                return [notice, *self._put(ended)]
            case "CALL_DTMF_START":
                self.dtmf[event.call_id] = self.dtmf.get(event.call_id, "") + event.param
        return []

    def _held_by_answering(self, answered: str) -> list[cmd.Report]:
        """baresip holds every other call that is up when an incoming one is answered."""
        reports: list[cmd.Report] = []
        for call_id, leg in list(self.legs.items()):
            if call_id != answered and leg.call.status is CallStatus.CONNECTED:
                reports += self.set_hold(call_id, True)
        return reports

    def established(self) -> list[Call]:
        return [leg.call for leg in self.legs.values() if leg.call.status in (CallStatus.CONNECTED, CallStatus.ON_HOLD)]

    def apply_listed_hold(self, rows: Iterable[ListedCall]) -> list[cmd.Report]:
        """Hold as ``listcalls`` shows it, for the calls that are up. Rows name calls by peer URI only: the
        same peer twice is matched in order (baresip numbers lines in the order calls began, as the book
        keeps them)."""
        pool: dict[str, list[str]] = {}
        for call_id, leg in self.legs.items():
            if leg.call.status in (CallStatus.CONNECTED, CallStatus.ON_HOLD):
                pool.setdefault(leg.peer_uri, []).append(call_id)
        reports: list[cmd.Report] = []
        for row in sorted(rows, key=lambda row: row.line):
            waiting = pool.get(row.peer_uri)
            if row.state == "ESTABLISHED" and waiting:
                reports += self.set_hold(waiting.pop(0), row.on_hold)
        return reports

    def set_hold(self, call_id: str, held: bool) -> list[cmd.Report]:
        """After a ``hold``/``resume`` that baresip accepted: ON_HOLD / CONNECTED."""
        leg = self.legs.get(call_id)
        if leg is None or leg.call.status not in (CallStatus.CONNECTED, CallStatus.ON_HOLD):
            return []
        return self._put(leg.call.evolve(status=CallStatus.ON_HOLD if held else CallStatus.CONNECTED))

    def interrupt_all(self) -> list[cmd.Report]:
        """Every live call ends, cause ``interrupted``: the baresip that carried them is gone (it died)."""
        reports: list[cmd.Report] = []
        for call_id in list(self.legs):
            call = self.legs[call_id].call
            status = CallStatus.HANGUP if call.connect_at is not None else CallStatus.CANCEL
            reports += self._put(call.evolve(status=status, cause=INTERRUPTED, release_at=self.now()))
        return reports

    def end(self, call_id: str, status: CallStatus, cause: Cause) -> list[cmd.Report]:
        """Finish a call the controller knows is gone (it vanished while the control link was down)."""
        leg = self.legs.get(call_id)
        if leg is None:
            return []
        return self._put(leg.call.evolve(status=status, cause=cause.value, release_at=self.now()))

    def resync(self, present: Iterable[tuple[ListedCall, CallStat]]) -> cmd.Snapshot:
        """The present after a (re)connect, from ``listcalls`` + ``callstat`` of each line.

        Calls baresip still has are adopted (kept as known, with hold from ``(on hold)``); calls the book knew
        that are gone ended while nobody listened: they go in the snapshot ended, so history still gets them.
        """
        now = self.now()
        calls: list[Call] = []
        seen: set[str] = set()
        for listed, stat in present:
            status = _status_of(listed.state, listed.on_hold, stat.direction)
            if status is None:
                continue
            seen.add(stat.call_id)
            leg = self.legs.get(stat.call_id)
            if leg is None:
                call = self._new(stat.call_id, stat.direction, status, stat.peer_uri or listed.peer_uri, stat.peer_name)
                if call.connect_at is not None:
                    call = call.evolve(connect_at=now - timedelta(seconds=listed.seconds))
                self.legs[call.id] = _Leg(call, peer_uri=listed.peer_uri)
            else:
                call = leg.call.evolve(status=status)
                if status in (CallStatus.CONNECTED, CallStatus.ON_HOLD) and call.connect_at is None:
                    call = call.evolve(connect_at=now - timedelta(seconds=listed.seconds))
                leg.call = call
            calls.append(call)
        for call_id in [cid for cid in self.legs if cid not in seen]:
            gone = self.legs[call_id].call
            status, cause = (
                (CallStatus.HANGUP, Cause.NORMAL) if gone.connect_at else (CallStatus.CANCEL, Cause.CANCELLED)
            )
            ended = gone.evolve(status=status, cause=cause.value, release_at=now)
            self._put(ended)
            calls.append(ended)
        return cmd.Snapshot(tuple(calls), ())


def _status_of(state: str, on_hold: bool, direction: Direction) -> CallStatus | None:
    if state == "ESTABLISHED":
        return CallStatus.ON_HOLD if on_hold else CallStatus.CONNECTED
    if state == "INCOMING" or state in ("OUTGOING", "RINGING", "EARLY"):
        return CallStatus.RINGING
    return None  # IDLE, TERMINATED, UNKNOWN: nothing to show
