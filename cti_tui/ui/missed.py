"""Missed calls the agent has not seen yet: the status bar's badge, and the number the call-back key dials.

A missed call is an inbound call on the agent's own line that ended without being answered and without the
agent rejecting it (the caller gave up, nobody picked up in time). Seeing them (the history's missed filter)
clears the badge; calling one back clears that one.
"""

from __future__ import annotations

from dataclasses import dataclass

from cti_tui.core.model import Call, Cause, Direction


@dataclass(frozen=True, slots=True)
class Missed:
    call_id: str
    number: str
    name: str


def is_missed(call: Call, own_line: str) -> bool:
    return (
        call.ended
        and call.line == own_line
        and call.direction is Direction.INBOUND
        and call.connect_at is None
        and call.cause not in (Cause.REJECTED, "interrupted")
        and bool(call.party)
    )


class MissedCalls:
    """The unseen missed calls, newest last (a call reported ended twice counts once)."""

    def __init__(self) -> None:
        self._unseen: dict[str, Missed] = {}

    def saw_call(self, call: Call, own_line: str) -> bool:
        """Count ``call`` if it is a missed one not counted yet; True if the count changed."""
        if call.id in self._unseen or not is_missed(call, own_line):
            return False
        self._unseen[call.id] = Missed(call.id, call.party, call.party_name)
        return True

    @property
    def count(self) -> int:
        return len(self._unseen)

    def newest(self) -> Missed | None:
        return next(reversed(self._unseen.values()), None)

    def called_back(self, number: str) -> None:
        """Calling a number back deals with every missed call from it."""
        self._unseen = {k: m for k, m in self._unseen.items() if m.number != number}

    def seen(self) -> None:
        self._unseen.clear()
