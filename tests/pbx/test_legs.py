"""A leg holds the Call its watchers see, and moves only as the call state machine allows."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest
from conftest import Pbx

from cti_tui.core import machine
from cti_tui.core.model import Call, CallStatus, Direction
from cti_tui.pbx import legs as legs_module
from cti_tui.pbx.legs import IllegalMove, Leg
from cti_tui.pbx.world import SimulatedWorld

S = CallStatus
EVERYTHING = ("queue:sales", "queue:support", "ivr:main", "callpark", "conf:room1")


def ringing_leg(direction: Direction = Direction.INBOUND) -> Leg:
    call = Call("c1", "1", direction, S.RINGING, "user:1001", "+12025550199", "1001")
    return Leg(call, "1001")


def test_a_leg_copies_no_field_of_its_call() -> None:
    """What watchers see lives in the leg's Call only: a field added to Call cannot be left behind."""
    call_fields = {f.name for f in dataclasses.fields(Call)}
    assert call_fields.isdisjoint(Leg.__slots__)
    leg = ringing_leg()
    assert leg.to_call() is leg.call


def test_a_legal_move_goes_through_the_machine() -> None:
    leg = ringing_leg()
    leg.advance(S.CONNECTED, also=("queue:sales",))
    assert (leg.status, leg.call.also, leg.lines) == (S.CONNECTED, ("queue:sales",), {"user:1001", "queue:sales"})


@pytest.mark.parametrize(
    ("path", "refused"),
    [
        ((), S.PARKED),  # ringing -> parked: not in the table
        ((), S.ON_HOLD),
        ((S.CONNECTED, S.PARKED), S.RINGING),  # the move a transfer of a parked call used to make
        ((S.CONNECTED, S.ON_HOLD), S.ON_HOLD),
        ((S.CANCEL,), S.CONNECTED),  # nothing moves out of an ended call
        ((S.CONNECTED, S.HANGUP), S.HANGUP),
    ],
)
def test_a_refused_move_raises_and_leaves_the_leg_as_it_was(path: tuple[CallStatus, ...], refused: CallStatus) -> None:
    leg = ringing_leg()
    for status in path:
        leg.advance(status)
    before = leg.call
    with pytest.raises(IllegalMove):
        leg.advance(refused, line="user:1002")
    assert leg.call is before


def test_the_status_can_only_be_moved_not_set() -> None:
    leg = ringing_leg()
    with pytest.raises(AttributeError):
        leg.status = S.CONNECTED  # type: ignore[misc]
    with pytest.raises(IllegalMove):
        leg.revise(status=S.CONNECTED)
    leg.revise(source_name="Zed")  # what is not a move changes freely
    assert (leg.status, leg.call.source_name) == (S.RINGING, "Zed")


async def test_every_status_change_a_watcher_sees_was_checked_by_the_machine(
    pbx_factory: Callable[..., Pbx], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A busy hour of simulated traffic: each change of status reported to a supervisor who watches every
    line is one the machine was asked about, from that very state (a status set any other way fails this)."""
    checked: set[tuple[str, CallStatus, CallStatus]] = set()

    def spy(current: Call | None, update: Call) -> Call | machine.Refusal:
        if current is not None:
            checked.add((current.id, current.status, update.status))
        return machine.advance(current, update)

    monkeypatch.setattr(legs_module, "advance", spy)
    pbx = pbx_factory(colleagues=True, inbound_per_minute=8.0, seed=3)
    SimulatedWorld(pbx.exchange).start()
    boss = await pbx.login("supervisor@demo.local")
    for node in (*EVERYTHING, *(f"user:{u.extension}" for u in pbx.exchange.org.users)):
        assert await boss.connector.subscribe(node)
    pbx.advance(3600)
    last: dict[str, CallStatus] = {}
    changes = 0
    for event in boss.call_events():
        call = event.call
        before = last.get(call.id)
        if before is not None and before is not call.status:
            assert (call.id, before, call.status) in checked, (call.id, before, call.status)
            changes += 1
        last[call.id] = call.status
    assert changes > 500


def test_a_move_changes_what_it_names_and_keeps_every_other_field() -> None:
    """Legs rebuild their Call positionally, from dataclasses.fields(Call): a new field is carried too."""
    values = {f.name: f"value of {f.name}" for f in dataclasses.fields(Call)}
    call = Call(**values | {"direction": Direction.OUTBOUND, "status": S.RINGING})  # type: ignore[arg-type]
    leg = Leg(call, None)
    leg.revise(source_name="Zed", park_slot=4)
    assert leg.call == dataclasses.replace(call, source_name="Zed", park_slot=4)
    leg.advance(S.CONNECTED, line="user:1002")
    assert leg.call == dataclasses.replace(call, source_name="Zed", park_slot=4, status=S.CONNECTED, line="user:1002")
