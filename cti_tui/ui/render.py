"""How calls look: status badges, directions, parties and durations as Rich text (pure functions)."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text

from cti_tui.engine.model import Call, CallStatus, Direction
from cti_tui.engine.numbers import format_for_display

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


def status_badge(call: Call) -> Text:
    label = STATUS_LABEL[call.status]
    if call.status is CallStatus.PARKED and call.park_slot is not None:
        label = f"P PARKED #{call.park_slot}"
    return Text(f" {label} ", style=STATUS_STYLE[call.status])


def direction_mark(call: Call) -> Text:
    if call.direction is Direction.INBOUND:
        return Text("↓ in", style="#7dcfff")
    return Text("↑ out", style="#e0af68")


def party_text(call: Call) -> Text:
    number = format_for_display(call.party) or "anonymous"
    text = Text(number, style="bold")
    if call.party_name and call.party_name != call.party:
        text.append(f"  {call.party_name}", style="")
    return text


def line_text(call: Call) -> Text:
    text = Text(call.line)
    if call.queue_position is not None:
        text.append(f" #{call.queue_position}", style="bold #ffcc00")
    for extra in call.also:
        text.append(f" ({extra})", style="dim")
    return text


def clock_text(seconds: float) -> str:
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def duration_text(call: Call, now: datetime) -> Text:
    """Ringing time while it rings, talk time once connected."""
    if call.connect_at is None:
        return Text(f"⏲ {clock_text(call.ringing_seconds(now))}", style="#ffcc00" if not call.ended else "dim")
    return Text(clock_text(call.talk_seconds(now)))
