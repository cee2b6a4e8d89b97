"""The one table of commands (core.verbs): every Command, wire action and operation is in it once, and the
wire's fields for each action are exactly its Command's, so parsing and command_frame are inverses."""

from __future__ import annotations

import dataclasses
import typing

import pytest
from conftest import Pbx

from cti_tui.core import commands as cmd
from cti_tui.core.agent_commands import SpyMode
from cti_tui.core.model import Operation
from cti_tui.core.verbs import BY_ACTION, BY_COMMAND, BY_OPERATION, VERBS
from cti_tui.engine.actions import perform
from cti_tui.engine.connector import Connector
from cti_tui.protocol.actions import SCHEMA, Action, command_frame, parse_action

SAMPLES: dict[type, cmd.Command] = {
    cmd.Dial: cmd.Dial("+12025550101"),
    cmd.Answer: cmd.Answer("c1"),
    cmd.Reject: cmd.Reject("c1"),
    cmd.Hangup: cmd.Hangup("c1"),
    cmd.Hold: cmd.Hold("c1"),
    cmd.Resume: cmd.Resume("c1"),
    cmd.Transfer: cmd.Transfer("c1", "1002"),
    cmd.SupervisedTransfer: cmd.SupervisedTransfer("c1", "1002", 12.5, consult=True),
    cmd.CancelSupervisedTransfer: cmd.CancelSupervisedTransfer("c1"),
    cmd.CompleteSupervisedTransfer: cmd.CompleteSupervisedTransfer("c1"),
    cmd.Merge: cmd.Merge("c1", "c2"),
    cmd.Park: cmd.Park("c1", 4),
    cmd.Unpark: cmd.Unpark(4),
    cmd.SendDtmf: cmd.SendDtmf("c1", "12#"),
    cmd.Subscribe: cmd.Subscribe("queue:sales"),
    cmd.Unsubscribe: cmd.Unsubscribe("queue:sales"),
    cmd.SetAutoAnswer: cmd.SetAutoAnswer(True),
    cmd.SetReady: cmd.SetReady(),
    cmd.TakeBreak: cmd.TakeBreak("lunch"),
    cmd.GoOffline: cmd.GoOffline(),
    cmd.QueueLogin: cmd.QueueLogin("sales"),
    cmd.QueueLogout: cmd.QueueLogout("sales"),
    cmd.Dispose: cmd.Dispose("c1", "sale", "wants a quote"),
    cmd.Mute: cmd.Mute("c1", True),
    cmd.Pickup: cmd.Pickup("c1"),
    cmd.Spy: cmd.Spy("1002", SpyMode.WHISPER),
}
COMMANDS = typing.get_args(cmd.Command)


def test_every_command_and_every_operation_is_in_the_table_once() -> None:
    assert sorted(c.__name__ for c in BY_COMMAND) == sorted(c.__name__ for c in COMMANDS)
    assert len(BY_COMMAND) == len(VERBS) == len(BY_ACTION)  # no command, no action named twice
    assert set(BY_OPERATION) == set(Operation)
    assert len([v for v in VERBS if v.operation is not None]) == len(Operation)


@pytest.mark.parametrize("verb", VERBS, ids=lambda verb: verb.action)
def test_each_actions_wire_fields_are_its_commands_fields(verb) -> None:
    assert callable(getattr(Connector, verb.action, None)), f"the action {verb.action} names no Connector method"
    fields = {f.name: f for f in dataclasses.fields(verb.command)}
    wire = {f.attribute: f for f in SCHEMA[verb.action]}
    assert set(wire) == set(fields)
    for name, field in fields.items():
        has_default = field.default is not dataclasses.MISSING
        assert wire[name].required is not has_default, (verb.action, name)


@pytest.mark.parametrize("command", SAMPLES.values(), ids=lambda command: type(command).__name__)
def test_a_command_goes_on_the_wire_and_comes_back_the_same(command: cmd.Command) -> None:
    frame = command_frame(command)
    assert frame["action"] == BY_COMMAND[type(command)].action
    assert parse_action(frame).command() == command


def test_the_samples_cover_every_command() -> None:
    assert set(SAMPLES) == set(COMMANDS)


def test_queries_and_session_actions_are_no_command() -> None:
    for name in sorted(set(SCHEMA) - set(BY_ACTION)):
        assert Action(name, {}).command() is None


@pytest.mark.parametrize("name", sorted(set(SCHEMA) - {"quit"}))
async def test_every_wire_action_but_quit_is_something_a_connector_does(pbx: Pbx, name: str) -> None:
    connector, _ = pbx.connector()
    args = {"login": {"email": "agent@demo.local", "password": "demo"}, "two_factor_auth": {"code": "123456"}}
    frame = {"action": name, **args.get(name, {})}
    for field in SCHEMA[name]:
        if field.required and field.wire not in frame:
            frame[field.wire] = {str: "x", int: 1, bool: True}[field.kind]  # type: ignore[index]
    await perform(connector, parse_action(frame))  # raises if the action reaches nothing


async def test_quit_is_not(pbx: Pbx) -> None:
    connector, _ = pbx.connector()
    with pytest.raises(ValueError, match="quit"):
        await perform(connector, parse_action({"action": "quit"}))
