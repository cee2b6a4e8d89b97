"""Every command a user can give, named once: its Command class, wire action, call operation and UI intent.

One operation used to have four names kept in step by hand (the Operation enum, the Command dataclass, the
JSON action, the dashboard's action) through three mapping tables. This table is the only place they meet:
the wire's command vocabulary (``protocol.actions``), the Connector's dispatch (``Connector.perform``) and
the dashboard's keys all read it, and a test checks that every Operation has all of them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from cti_tui.core import commands as cmd
from cti_tui.core.model import Operation


@dataclass(frozen=True, slots=True)
class Verb:
    """One command. ``action``: its name on the wire (JSON lines, WebSocket frames), which is also the
    Connector method that runs it. ``operation``: the call operation it performs, which the call's state
    must allow (None: not an operation on a call). ``intent``: the UI's name for it, the dashboard's
    action and key binding id ``cti.<intent>`` (None: no key; hold and resume share one toggle)."""

    command: type[cmd.Command]
    action: str
    operation: Operation | None = None
    intent: str | None = None

    @property
    def on_selected_call(self) -> bool:
        """It acts on one call the user picks (the selected row), rather than a number, slot or line."""
        return any(f.name == "call_id" for f in dataclasses.fields(self.command))


VERBS: tuple[Verb, ...] = (
    Verb(cmd.Dial, "call", intent="dial"),
    Verb(cmd.Answer, "answer", Operation.ANSWER, "answer"),
    Verb(cmd.Reject, "reject", Operation.REJECT, "reject"),
    Verb(cmd.Hangup, "terminate", Operation.HANGUP, "hangup"),
    Verb(cmd.Hold, "hold", Operation.HOLD, "hold"),
    Verb(cmd.Resume, "resume", Operation.RESUME, "hold"),
    Verb(cmd.Transfer, "transfer", Operation.TRANSFER, "transfer"),
    Verb(cmd.SupervisedTransfer, "supervised_transfer", Operation.SUPERVISED_TRANSFER, "supervised_transfer"),
    Verb(cmd.CancelSupervisedTransfer, "cancel_supervised_transfer"),
    Verb(cmd.CompleteSupervisedTransfer, "complete_supervised_transfer"),
    Verb(cmd.Mute, "mute"),
    Verb(cmd.Merge, "merge", Operation.MERGE, "merge"),
    Verb(cmd.Park, "park", Operation.PARK, "park"),
    Verb(cmd.Unpark, "unpark", Operation.UNPARK, "unpark"),
    Verb(cmd.SendDtmf, "send_dtmf", Operation.DTMF, "dtmf"),
    Verb(cmd.Subscribe, "subscribe", intent="subscribe"),
    Verb(cmd.Unsubscribe, "unsubscribe"),
    Verb(cmd.SetAutoAnswer, "set_auto_answer"),
    Verb(cmd.SetReady, "ready", intent="ready"),
    Verb(cmd.TakeBreak, "take_break", intent="take_break"),
    Verb(cmd.GoOffline, "go_offline", intent="go_offline"),
    Verb(cmd.QueueLogin, "queue_login", intent="queues"),
    Verb(cmd.QueueLogout, "queue_logout"),
    Verb(cmd.Dispose, "dispose", intent="dispose"),
    Verb(cmd.Pickup, "pickup", Operation.PICKUP, "pickup"),
    Verb(cmd.Spy, "spy"),  # on a watched line's call; the dashboard's listen/whisper/barge keys pick the mode
)

BY_COMMAND: dict[type[cmd.Command], Verb] = {verb.command: verb for verb in VERBS}
BY_ACTION: dict[str, Verb] = {verb.action: verb for verb in VERBS}
BY_OPERATION: dict[Operation, Verb] = {verb.operation: verb for verb in VERBS if verb.operation is not None}


def call_intents() -> dict[str, tuple[Operation, ...]]:
    """UI intent -> the operations on the selected call of which one must be available for its key to act."""
    intents: dict[str, tuple[Operation, ...]] = {}
    for verb in VERBS:
        if verb.intent is not None and verb.operation is not None and verb.on_selected_call:
            intents[verb.intent] = (*intents.get(verb.intent, ()), verb.operation)
    return intents
