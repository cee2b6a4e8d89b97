"""How calls look: status badges, directions, parties and durations as Rich text (pure functions)."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text

from cti_tui.core.model import Call, CallStatus, Direction
from cti_tui.core.numbers import format_for_display

STATUS_STYLE: dict[CallStatus, str] = {
    CallStatus.INITIAL: "bold #7aa2f7",
    CallStatus.ACCEPTED: "bold #7dcfff",
    CallStatus.RINGING: "bold #1a1b26 on #ffcc00",
    CallStatus.CONNECTED: "bold #9ece6a",
    CallStatus.ON_HOLD: "bold #ffb000",
    CallStatus.PARKED: "bold #bb9af7",
    CallStatus.HANGUP: "dim",
    CallStatus.CANCEL: "dim",
}
STATUS_LABEL: dict[CallStatus, str] = {
    CallStatus.INITIAL: "◔ INITIAL",
    CallStatus.ACCEPTED: "◑ ACCEPTED",
    CallStatus.RINGING: "☎ RINGING",
    CallStatus.CONNECTED: "● CONNECTED",
    CallStatus.ON_HOLD: "‖ ON HOLD",
    CallStatus.PARKED: "P PARKED",
    CallStatus.HANGUP: "✕ HANGUP",
    CallStatus.CANCEL: "✕ CANCEL",
}


# A cell is (its own style, its pieces of (text, style)): the Text functions below build Rich text from it,
# and the calls pane draws it straight to segments (a wall draws hundreds of rows a second there).
Cell = tuple[str, tuple[tuple[str, str], ...]]


def text_of(cell: Cell) -> Text:
    style, pieces = cell
    text = Text(style=style)
    for piece, piece_style in pieces:
        text.append(piece, style=piece_style or None)
    return text


# a supervisor's own leg into an agent's call, by how it takes part (Call.monitor)
MONITOR_LABEL = {"listen": "◉ LISTENING", "whisper": "◉ WHISPER", "barge": "◉ BARGED IN"}
MONITOR_STYLE = "bold #1a1b26 on #7dcfff"
WAITING_STYLE = "bold #ffcc00"


def status_cell(call: Call) -> Cell:
    """The call's status badge; a caller waiting in a queue reads WAITING (it rings no phone yet; its place
    is in the line cell), a supervisor's listening leg reads as what it does."""
    if call.monitor and call.status is CallStatus.CONNECTED:
        return MONITOR_STYLE, ((f" {MONITOR_LABEL.get(call.monitor, call.monitor.upper())} ", ""),)
    if call.status is CallStatus.RINGING and call.queue_position is not None:
        return WAITING_STYLE, ((" ◌ WAITING ", ""),)  # its place: in the line column (queue:sales #2)
    label = STATUS_LABEL[call.status]
    if call.status is CallStatus.PARKED and call.park_slot is not None:
        label = f"P PARKED #{call.park_slot}"
    return STATUS_STYLE[call.status], ((f" {label} ", ""),)


def direction_cell(call: Call) -> Cell:
    return _INBOUND if call.direction is Direction.INBOUND else _OUTBOUND


_INBOUND: Cell = ("#7dcfff", (("↓ in", ""),))
_OUTBOUND: Cell = ("#e0af68", (("↑ out", ""),))


def party_cell(call: Call) -> Cell:
    """The name first, then the number: on a narrow screen the number is cut, never whom the agent greets."""
    number = format_for_display(call.party) or "anonymous"
    if call.party_name and call.party_name != call.party:
        return "bold", ((call.party_name, ""), (f"  {number}", "not bold"))
    return "bold", ((number, ""),)


MUTED = ("⊘ muted · ", "bold #f7768e")  # the agent's microphone is off: the party hears nothing
CONSULT = ("⇄ consult · ", "bold #bb9af7")  # the agent's call to the target of a supervised transfer
TO_TRANSFER = ("⇄ to transfer · ", "bold #bb9af7")  # the held call that the consult would hand over


def line_cell(call: Call, transferring: bool = False) -> Cell:
    """The consult stage, the queue the call came through (what tells Sales from Support), then the line.
    ``transferring``: the call is the one a supervised transfer at its consult stage would hand over."""
    pieces = [CONSULT] if call.consult_for else [TO_TRANSFER] if transferring else []
    if call.muted:
        pieces.insert(0, MUTED)
    if call.via:
        pieces.append((f"{call.via} · ", "bold #7dcfff"))
    pieces.append((call.line, ""))
    if call.queue_position is not None:
        pieces.append((f" #{call.queue_position}", "bold #ffcc00"))
    queues_named = bool(call.via)  # the queue's name already says which queue offers it
    pieces.extend((f" ({extra})", "dim") for extra in call.also if not (queues_named and extra.startswith("queue:")))
    return "", tuple(pieces)


def duration_cell(call: Call, now: datetime, held_since: datetime | None = None) -> Cell:
    """Ringing time while it rings, talk time once connected, and on hold how long the party has waited."""
    if held_since is not None and call.status is CallStatus.ON_HOLD:
        return "bold #ffb000", ((f"‖ {clock_text(max(0.0, (now - held_since).total_seconds()))}", ""),)
    if call.connect_at is None:
        return "#ffcc00" if not call.ended else "dim", ((f"⏲ {clock_text(call.ringing_seconds(now))}", ""),)
    return "", ((clock_text(call.talk_seconds(now)), ""),)


def status_badge(call: Call) -> Text:
    return text_of(status_cell(call))


def direction_mark(call: Call) -> Text:
    return text_of(direction_cell(call))


def party_text(call: Call) -> Text:
    return text_of(party_cell(call))


def line_text(call: Call) -> Text:
    return text_of(line_cell(call))


def clock_text(seconds: float) -> str:
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def duration_text(call: Call, now: datetime) -> Text:
    return text_of(duration_cell(call, now))
