"""The call state machine against SPEC §1, written out independently of ``machine.TABLE``.

Every (source, target, direction) triple is its own test, for both :func:`is_legal` and :func:`advance`;
every (status, direction) pair for :func:`available_operations`; every (operation, status, direction)
for :func:`targets_of`.
"""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime

import pytest

from cti_tui.core.machine import (
    Refusal,
    advance,
    available_operations,
    is_legal,
    operations_for,
    targets_of,
)
from cti_tui.core.model import Call, CallStatus, Direction, Operation

S = CallStatus
O = Operation  # noqa: E741 - short aliases keep the tables readable
IN, OUT = Direction.INBOUND, Direction.OUTBOUND
BOTH = (IN, OUT)

# --- SPEC §1, by hand ---------------------------------------------------------------------------------------

_ONE_WAY: set[tuple[CallStatus, CallStatus, Direction]] = {
    # outbound: INITIAL -> ACCEPTED -> RINGING -> CONNECTED
    (S.INITIAL, S.ACCEPTED, OUT),
    (S.ACCEPTED, S.RINGING, OUT),
    (S.RINGING, S.CONNECTED, OUT),
    # inbound: RINGING -> CONNECTED
    (S.RINGING, S.CONNECTED, IN),
    # the click-to-call legs only exist outbound
    (S.INITIAL, S.HANGUP, OUT),
    (S.ACCEPTED, S.HANGUP, OUT),
    (S.INITIAL, S.CANCEL, OUT),
    (S.ACCEPTED, S.CANCEL, OUT),
}
_BOTH_WAYS: set[tuple[CallStatus, CallStatus]] = {
    (S.RINGING, S.RINGING),  # re-offer (queue -> agent -> queue)
    (S.CONNECTED, S.CONNECTED),  # dtmf, merge
    (S.CONNECTED, S.ON_HOLD),  # hold
    (S.ON_HOLD, S.CONNECTED),  # resume
    (S.CONNECTED, S.PARKED),  # park
    (S.ON_HOLD, S.PARKED),  # park a held call
    (S.PARKED, S.CONNECTED),  # unpark
    (S.RINGING, S.HANGUP),
    (S.CONNECTED, S.HANGUP),
    (S.ON_HOLD, S.HANGUP),
    (S.PARKED, S.HANGUP),
    (S.RINGING, S.CANCEL),  # busy, no answer, unreachable, rejected
}
EXPECTED_LEGAL: frozenset[tuple[CallStatus, CallStatus, Direction]] = frozenset(
    _ONE_WAY | {(src, dst, d) for (src, dst) in _BOTH_WAYS for d in BOTH}
)

ALL_TRIPLES = list(itertools.product(CallStatus, CallStatus, Direction))
ALL_OP_STATES = list(itertools.product(Operation, CallStatus, Direction))
TRIPLE_IDS = [f"{d.value}-{src.value}->{dst.value}" for src, dst, d in ALL_TRIPLES]

CONNECTED_OPS = frozenset(
    {O.HANGUP, O.HOLD, O.TRANSFER, O.SUPERVISED_TRANSFER, O.PARK, O.MERGE, O.DTMF},
)
ON_HOLD_OPS = frozenset({O.RESUME, O.HANGUP, O.TRANSFER, O.SUPERVISED_TRANSFER, O.PARK, O.MERGE})
EXPECTED_OPERATIONS: dict[tuple[CallStatus, Direction], frozenset[Operation]] = {
    (S.INITIAL, IN): frozenset(),
    (S.INITIAL, OUT): frozenset({O.HANGUP}),
    (S.ACCEPTED, IN): frozenset(),
    (S.ACCEPTED, OUT): frozenset({O.HANGUP}),
    (S.RINGING, IN): frozenset({O.ANSWER, O.REJECT, O.PICKUP}),
    (S.RINGING, OUT): frozenset({O.HANGUP}),
    (S.CONNECTED, IN): CONNECTED_OPS,
    (S.CONNECTED, OUT): CONNECTED_OPS,
    (S.ON_HOLD, IN): ON_HOLD_OPS,
    (S.ON_HOLD, OUT): ON_HOLD_OPS,
    (S.PARKED, IN): frozenset({O.UNPARK, O.HANGUP}),
    (S.PARKED, OUT): frozenset({O.UNPARK, O.HANGUP}),
    (S.HANGUP, IN): frozenset(),
    (S.HANGUP, OUT): frozenset(),
    (S.CANCEL, IN): frozenset(),
    (S.CANCEL, OUT): frozenset(),
}

# Where each operation takes a call; every (operation, status, direction) not listed goes nowhere.
_TARGETS_BOTH: dict[tuple[Operation, CallStatus], frozenset[CallStatus]] = {
    (O.HANGUP, S.CONNECTED): frozenset({S.HANGUP}),
    (O.HANGUP, S.ON_HOLD): frozenset({S.HANGUP}),
    (O.HANGUP, S.PARKED): frozenset({S.HANGUP}),
    (O.HOLD, S.CONNECTED): frozenset({S.ON_HOLD}),
    (O.RESUME, S.ON_HOLD): frozenset({S.CONNECTED}),
    (O.TRANSFER, S.CONNECTED): frozenset({S.HANGUP}),
    (O.TRANSFER, S.ON_HOLD): frozenset({S.HANGUP}),
    # a supervised transfer holds the original while consulting, and ends the agent's leg on completion
    (O.SUPERVISED_TRANSFER, S.CONNECTED): frozenset({S.ON_HOLD}),
    (O.SUPERVISED_TRANSFER, S.ON_HOLD): frozenset({S.HANGUP}),
    (O.PARK, S.CONNECTED): frozenset({S.PARKED}),
    (O.PARK, S.ON_HOLD): frozenset({S.PARKED}),
    (O.UNPARK, S.PARKED): frozenset({S.CONNECTED}),
    (O.MERGE, S.CONNECTED): frozenset({S.CONNECTED}),
    (O.MERGE, S.ON_HOLD): frozenset({S.CONNECTED}),
    (O.DTMF, S.CONNECTED): frozenset({S.CONNECTED}),
}
EXPECTED_TARGETS: dict[tuple[Operation, CallStatus, Direction], frozenset[CallStatus]] = {
    (O.ANSWER, S.RINGING, IN): frozenset({S.CONNECTED}),
    (O.REJECT, S.RINGING, IN): frozenset({S.CANCEL}),
    (O.PICKUP, S.RINGING, IN): frozenset({S.RINGING}),
    (O.HANGUP, S.INITIAL, OUT): frozenset({S.HANGUP}),
    (O.HANGUP, S.ACCEPTED, OUT): frozenset({S.HANGUP}),
    (O.HANGUP, S.RINGING, OUT): frozenset({S.HANGUP}),
    **{(op, src, d): targets for (op, src), targets in _TARGETS_BOTH.items() for d in BOTH},
}

T0 = datetime(2026, 1, 5, 9, 0, 0, tzinfo=UTC)


def make_call(status: CallStatus, direction: Direction, **changes: object) -> Call:
    call = Call(
        id="call-1",
        cid="c1",
        direction=direction,
        status=status,
        line="user:1001",
        source="+12025550143" if direction is IN else "1001",
        destination="1001" if direction is IN else "+12025550143",
        setup_at=T0,
    )
    return call.evolve(**changes) if changes else call


# --- the expected tables are themselves sane ----------------------------------------------------------------


def test_expected_legal_set_has_the_spec_flows() -> None:
    outbound = [S.INITIAL, S.ACCEPTED, S.RINGING, S.CONNECTED, S.HANGUP]
    inbound = [S.RINGING, S.CONNECTED, S.HANGUP]
    for flow, direction in ((outbound, OUT), (inbound, IN)):
        for src, dst in itertools.pairwise(flow):
            assert is_legal(src, dst, direction)
            assert (src, dst, direction) in EXPECTED_LEGAL


def test_nothing_leaves_an_ended_call_in_the_expected_set() -> None:
    assert not {t for t in EXPECTED_LEGAL if t[0].ended}


def test_every_non_ended_status_can_hang_up_in_some_direction() -> None:
    for status in CallStatus:
        if not status.ended:
            assert any(is_legal(status, S.HANGUP, d) for d in Direction), status


# --- is_legal -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("source", "target", "direction"), ALL_TRIPLES, ids=TRIPLE_IDS)
def test_is_legal(source: CallStatus, target: CallStatus, direction: Direction) -> None:
    expected = (source, target, direction) in EXPECTED_LEGAL
    assert is_legal(source, target, direction) is expected


# --- advance ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "direction"), list(itertools.product(CallStatus, Direction)), ids=lambda v: v.value)
def test_first_sighting_is_adopted_in_any_state(status: CallStatus, direction: Direction) -> None:
    update = make_call(status, direction, line="queue:sales")
    assert advance(None, update) is update


@pytest.mark.parametrize(("source", "target", "direction"), ALL_TRIPLES, ids=TRIPLE_IDS)
def test_advance(source: CallStatus, target: CallStatus, direction: Direction) -> None:
    current = make_call(source, direction)
    update = make_call(target, direction, line="user:1002", source_name="Ada")
    result = advance(current, update)
    if (source, target, direction) in EXPECTED_LEGAL:
        assert result is update
        return
    assert isinstance(result, Refusal)
    assert result.call is current
    assert result.call == make_call(source, direction)  # untouched
    assert result.target is target
    reason = result.reason
    assert re.search(rf"\b{source.value}\b.*\b{target.value}\b", reason), reason
    assert current.id in reason


@pytest.mark.parametrize("ended", [S.HANGUP, S.CANCEL], ids=lambda v: v.value)
@pytest.mark.parametrize("direction", list(Direction), ids=lambda v: v.value)
def test_anything_from_an_ended_call_is_refused(ended: CallStatus, direction: Direction) -> None:
    current = make_call(ended, direction, cause="normal", release_at=T0)
    for target in CallStatus:
        result = advance(current, make_call(target, direction))
        assert isinstance(result, Refusal), target
        assert result.call is current


def test_refusal_judges_by_the_current_direction() -> None:
    # an outbound-only move reported for an inbound call is refused even if the update claims outbound
    current = make_call(S.INITIAL, IN)
    result = advance(current, make_call(S.ACCEPTED, OUT))
    assert isinstance(result, Refusal)
    assert result.call is current


def test_a_full_outbound_life_advances_step_by_step() -> None:
    call = None
    for status in (S.INITIAL, S.ACCEPTED, S.RINGING, S.CONNECTED, S.ON_HOLD, S.CONNECTED, S.PARKED):
        update = make_call(status, OUT)
        result = advance(call, update)
        assert result is update
        call = result
    final = make_call(S.CONNECTED, OUT)
    assert advance(call, final) is final
    end = make_call(S.HANGUP, OUT, cause="normal")
    assert advance(final, end) is end
    assert isinstance(advance(end, make_call(S.CONNECTED, OUT)), Refusal)


# --- available operations -----------------------------------------------------------------------------------


def test_operation_table_covers_every_state() -> None:
    assert set(EXPECTED_OPERATIONS) == set(itertools.product(CallStatus, Direction))


@pytest.mark.parametrize(
    ("status", "direction"), list(EXPECTED_OPERATIONS), ids=lambda v: v.value if hasattr(v, "value") else v
)
def test_available_operations(status: CallStatus, direction: Direction) -> None:
    expected = EXPECTED_OPERATIONS[(status, direction)]
    assert available_operations(status, direction) == expected
    assert operations_for(make_call(status, direction)) == expected


@pytest.mark.parametrize(
    ("operation", "status", "direction"),
    ALL_OP_STATES,
    ids=[f"{op.value}-{d.value}-{s.value}" for op, s, d in ALL_OP_STATES],
)
def test_targets_of(operation: Operation, status: CallStatus, direction: Direction) -> None:
    expected = EXPECTED_TARGETS.get((operation, status, direction), frozenset())
    targets = targets_of(operation, status, direction)
    assert targets == expected
    # agreement with available_operations and with is_legal
    assert bool(targets) == (operation in available_operations(status, direction))
    for target in targets:
        assert is_legal(status, target, direction)


def test_targets_examples() -> None:
    assert targets_of(O.HOLD, S.CONNECTED, IN) == {S.ON_HOLD}
    assert targets_of(O.RESUME, S.ON_HOLD, OUT) == {S.CONNECTED}
    assert targets_of(O.ANSWER, S.RINGING, IN) == {S.CONNECTED}
    assert targets_of(O.ANSWER, S.RINGING, OUT) == frozenset()
    assert targets_of(O.REJECT, S.RINGING, IN) == {S.CANCEL}
    assert targets_of(O.UNPARK, S.PARKED, IN) == {S.CONNECTED}
    assert targets_of(O.HOLD, S.ON_HOLD, IN) == frozenset()
