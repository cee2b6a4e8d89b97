"""Conversations of more than two: the organisation's conference rooms, and merging an agent's two calls."""

from __future__ import annotations

from cti_tui.core import commands as cmd
from cti_tui.core.model import CallStatus, Cause, Direction, ErrorCode
from cti_tui.pbx.calls import Calls
from cti_tui.pbx.context import Context
from cti_tui.pbx.legs import Bridge, Leg, Party

S = CallStatus


class Conferences:
    """The rooms (bridges that outlive their members) and the merge of two calls into one."""

    def __init__(self, context: Context, calls: Calls) -> None:
        self.calls = calls
        self.rooms: dict[str, Bridge] = {c.id: Bridge(persistent=True) for c in context.org.conferences}

    def join(self, leg: Leg, room_id: str, line: str) -> None:
        """A call to a room connects when the room picks up, unless it ended or moved on meanwhile."""
        if not leg.live or leg.status not in (S.RINGING, S.ACCEPTED):
            return
        room = self.rooms[room_id]
        room.members.append(leg)
        leg.bridge = room
        leg.remote = None
        self.calls.move(leg, S.CONNECTED, also=(line,))

    def merge(self, leg: Leg, other: Leg) -> cmd.CommandResult:
        """The agent's ``other`` call ends and whoever was on it joins ``leg``'s conversation."""
        if leg.owner != other.owner:
            return cmd.CommandResult.error(ErrorCode.NOT_PERMITTED, "only your own two calls can be merged")
        if other is leg or other.consult is leg:  # ending ``other`` would end ``leg`` too
            return cmd.CommandResult.info(
                ErrorCode.WRONG_STATE,
                "cannot merge a call with itself, nor a held call into its consult call (merge the consult into it)",
            )
        joining = other.others()
        bridge = leg.bridge
        if bridge is None or not joining:
            return cmd.CommandResult.info(ErrorCode.WRONG_STATE, "both calls must be connected or on hold")
        self.calls.end(other, S.HANGUP, Cause.MERGED, cascade=False)
        for member in joining:
            if isinstance(member, Leg):
                if member.bridge is not None and member in member.bridge.members:
                    member.bridge.members.remove(member)
                member.bridge = bridge
            bridge.members.append(member)
        names = [m.name if isinstance(m, Party) else self.calls.presented_name(m) for m in leg.others()]
        field_name = "source_name" if leg.direction is Direction.INBOUND else "destination_name"
        self.calls.move(leg, S.CONNECTED, **{field_name: " & ".join(n or "?" for n in names)})
        return cmd.CommandResult.done()
