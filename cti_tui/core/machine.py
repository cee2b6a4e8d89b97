"""The call state machine: one transition table, from which legality *and* available operations derive.

Like h11's ``_state.py``: a move not in the table is refused and leaves the state unchanged. Each row says
from which status to which, for which direction (``None``: both) and which user operations drive it. A
report from a backend is legal when a row joins the two statuses; an operation is available in a state
when some row out of that state lists it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from cti_tui.core.model import Call, CallStatus, Direction, Operation

S = CallStatus
O = Operation  # noqa: E741 - short aliases keep the table readable
IN, OUT = Direction.INBOUND, Direction.OUTBOUND


@dataclass(frozen=True, slots=True)
class Transition:
    source: CallStatus
    target: CallStatus
    direction: Direction | None
    operations: frozenset[Operation]


def _row(source: CallStatus, target: CallStatus, direction: Direction | None = None, *ops: Operation) -> Transition:
    return Transition(source, target, direction, frozenset(ops))


TABLE: tuple[Transition, ...] = (
    # click-to-call: the agent's own phone rings first, then picks up, then the far end rings
    _row(S.INITIAL, S.ACCEPTED, OUT),
    _row(S.ACCEPTED, S.RINGING, OUT),
    # a ringing call may be re-offered (queue -> agent -> back to queue): same status, new line
    _row(S.RINGING, S.RINGING),
    # a supervisor picks up a call ringing on a watched line: it moves, still ringing, to the supervisor's phone
    _row(S.RINGING, S.RINGING, IN, O.PICKUP),
    _row(S.RINGING, S.CONNECTED, IN, O.ANSWER),
    _row(S.RINGING, S.CONNECTED, OUT),
    # connected: DTMF and merge keep it connected (the merged call's party changes)
    _row(S.CONNECTED, S.CONNECTED, None, O.DTMF, O.MERGE),
    _row(S.CONNECTED, S.ON_HOLD, None, O.HOLD, O.SUPERVISED_TRANSFER),
    _row(S.ON_HOLD, S.CONNECTED, None, O.RESUME, O.MERGE),
    _row(S.CONNECTED, S.PARKED, None, O.PARK),
    _row(S.ON_HOLD, S.PARKED, None, O.PARK),
    _row(S.PARKED, S.CONNECTED, None, O.UNPARK),
    # ending: terminate from anywhere, transfers end the agent's leg
    _row(S.INITIAL, S.HANGUP, OUT, O.HANGUP),
    _row(S.ACCEPTED, S.HANGUP, OUT, O.HANGUP),
    _row(S.RINGING, S.HANGUP, OUT, O.HANGUP),
    _row(S.RINGING, S.HANGUP, IN),
    _row(S.CONNECTED, S.HANGUP, None, O.HANGUP, O.TRANSFER),
    _row(S.ON_HOLD, S.HANGUP, None, O.HANGUP, O.TRANSFER, O.SUPERVISED_TRANSFER),
    _row(S.PARKED, S.HANGUP, None, O.HANGUP),
    # never connected: busy, no answer, unreachable, rejected, error
    _row(S.INITIAL, S.CANCEL, OUT),
    _row(S.ACCEPTED, S.CANCEL, OUT),
    _row(S.RINGING, S.CANCEL, OUT),
    _row(S.RINGING, S.CANCEL, IN, O.REJECT),
)


def _applies(row: Transition, direction: Direction) -> bool:
    return row.direction is None or row.direction is direction


@cache  # 3 small enums: a few hundred answers at most; the PBX and every connector ask on every move
def is_legal(source: CallStatus, target: CallStatus, direction: Direction) -> bool:
    """May a call of this direction move from ``source`` to ``target``?"""
    return any(r.source is source and r.target is target and _applies(r, direction) for r in TABLE)


@cache
def available_operations(status: CallStatus, direction: Direction) -> frozenset[Operation]:
    """The operations a user can apply to a call in this state, derived from :data:`TABLE`."""
    ops: set[Operation] = set()
    for row in TABLE:
        if row.source is status and _applies(row, direction):
            ops |= row.operations
    return frozenset(ops)


def operations_for(call: Call) -> frozenset[Operation]:
    """What the call's state allows; a supervisor's listening leg (``monitor``) can only be hung up."""
    ops = available_operations(call.status, call.direction)
    return ops & _MONITOR_OPERATIONS if call.monitor else ops


_MONITOR_OPERATIONS = frozenset({O.HANGUP})


def targets_of(operation: Operation, status: CallStatus, direction: Direction) -> frozenset[CallStatus]:
    """Where ``operation`` may take a call from ``status`` (e.g. hold: CONNECTED -> ON_HOLD)."""
    return frozenset(
        r.target for r in TABLE if r.source is status and operation in r.operations and _applies(r, direction)
    )


@dataclass(frozen=True, slots=True)
class Refusal:
    """A move the table does not allow; the caller reports it as INFO and keeps the old state."""

    call: Call
    target: CallStatus

    @property
    def reason(self) -> str:
        return f"call {self.call.id}: {self.call.status} -> {self.target} is not a legal move"


def advance(current: Call | None, update: Call) -> Call | Refusal:
    """Apply a backend's new view of a call to the session's current one.

    A call the session has never seen is adopted in whatever state it is reported (a subscription shows
    calls that began before it, a restore shows the present) — first sightings are not transitions.
    """
    if current is None:
        return update
    if current.ended or not is_legal(current.status, update.status, current.direction):
        return Refusal(current, update.status)
    return update
