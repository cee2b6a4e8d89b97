"""Every call operation has a wire action, a Command and a key on the dashboard, all from core.verbs."""

from __future__ import annotations

from textual.binding import Binding

from cti_tui.core.model import Operation
from cti_tui.core.verbs import BY_OPERATION
from cti_tui.protocol.actions import SCHEMA
from cti_tui.ui.screens.dashboard import CALL_ACTIONS, Dashboard

BINDINGS = {b.id: b for b in Dashboard.BINDINGS if isinstance(b, Binding)}


def test_every_operation_has_a_wire_action_a_command_and_a_key_binding() -> None:
    for operation in Operation:
        verb = BY_OPERATION[operation]
        assert verb.action in SCHEMA, operation
        assert verb.command is not None, operation
        binding = BINDINGS.get(f"cti.{verb.intent}")
        assert binding is not None, f"{operation}: no key binding cti.{verb.intent}"
        assert binding.action == verb.intent, operation


def test_the_keys_on_the_selected_call_and_what_each_needs() -> None:
    assert CALL_ACTIONS == {
        "answer": (Operation.ANSWER,),
        "reject": (Operation.REJECT,),
        "hangup": (Operation.HANGUP,),
        "hold": (Operation.HOLD, Operation.RESUME),
        "transfer": (Operation.TRANSFER,),
        "supervised_transfer": (Operation.SUPERVISED_TRANSFER,),
        "park": (Operation.PARK,),
        "merge": (Operation.MERGE,),
        "dtmf": (Operation.DTMF,),
        "pickup": (Operation.PICKUP,),
    }
    assert "unpark" not in CALL_ACTIONS  # a slot, not the selected call: its key shows while a parked call does
