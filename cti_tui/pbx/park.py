"""The park lot: numbered slots where a connected call waits, off anyone's phone, until someone picks it up."""

from __future__ import annotations

from cti_tui.core import commands as cmd
from cti_tui.core.model import CallStatus, ErrorCode, Identity, Operation
from cti_tui.core.permissions import may_act
from cti_tui.pbx.calls import Calls
from cti_tui.pbx.context import Context
from cti_tui.pbx.legs import Leg

S = CallStatus
PARK_LINE = "callpark"


class ParkLot:
    """Which leg waits in which slot (1 to the organisation's ``park_slots``)."""

    def __init__(self, context: Context, calls: Calls) -> None:
        self.context = context
        self.calls = calls
        self.slots: dict[int, Leg] = {}

    def park(self, leg: Leg, slot: int | None) -> cmd.CommandResult:
        """Park ``leg`` in ``slot`` (the first free one if None); its owner's phone is free again."""
        park_slots = self.context.org.park_slots
        if slot is None:
            free = [n for n in range(1, park_slots + 1) if n not in self.slots]
            if not free:
                return cmd.CommandResult.info(ErrorCode.SLOT_BUSY, "the park lot is full")
            slot = free[0]
        elif not 1 <= slot <= park_slots:
            return cmd.CommandResult.error(ErrorCode.BAD_REQUEST, f"park slot must be 1–{park_slots}")
        elif slot in self.slots:
            return cmd.CommandResult.info(ErrorCode.SLOT_BUSY, f"park slot {slot} is taken")
        self.slots[slot] = leg
        # the parker keeps seeing its parked call (on its own line too) until someone picks it up
        parker_line = (f"user:{leg.owner}",) if leg.owner else ()
        leg.parked_by, leg.owner = leg.owner, None
        self.calls.move(leg, S.PARKED, line=PARK_LINE, also=parker_line, park_slot=slot)
        if self.context.world is not None:
            self.context.world.leg_parked(leg)
        return cmd.CommandResult.done(str(slot))

    def unpark(self, me: Identity, slot: int) -> cmd.CommandResult:
        """``me`` picks up the call in ``slot``: the parker may, others as their role's policy says."""
        leg = self.slots.get(slot)
        if leg is None:
            return cmd.CommandResult.info(ErrorCode.SLOT_EMPTY, f"park slot {slot} is empty")
        if leg.parked_by != me.extension and not may_act(
            self.context.org.policies, me, Operation.UNPARK, PARK_LINE, {PARK_LINE}
        ):
            return cmd.CommandResult.error(ErrorCode.NOT_PERMITTED, f"not permitted: {me.role} cannot unpark")
        self.unpark_to(leg, me.extension)
        return cmd.CommandResult.done(leg.id)

    def unpark_to(self, leg: Leg, extension: str) -> None:
        """The parked ``leg`` connects on ``extension``'s phone."""
        user = self.context.org.user_by_extension(extension)
        assert user is not None
        slot = leg.call.park_slot
        assert slot is not None, "only a parked leg is unparked"
        del self.slots[slot]
        leg.owner, leg.parked_by = extension, None
        self.calls.move(leg, S.CONNECTED, line=user.line, also=(), park_slot=None)

    def leg_ended(self, leg: Leg) -> None:
        """An ended leg frees its slot (subscribed to Calls)."""
        slot = leg.call.park_slot
        if slot is not None and self.slots.get(slot) is leg:
            del self.slots[slot]
