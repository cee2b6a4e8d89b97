"""Each connector API call of SPEC §3 against the embedded PBX, with its INFO and ERROR cases."""

from __future__ import annotations

import pytest
from conftest import Agent, Pbx

from cti_tui.core import commands as cmd
from cti_tui.core.model import ActivityName, CallStatus, Cause, Direction, ErrorCode, Operation

ACME = "+12025550101"
CALLER = "+12025550199"


async def outbound_connected(pbx: Pbx, agent: Agent, number: str = ACME) -> str:
    call_id = (await agent.connector.call(number)).value
    assert call_id is not None
    pbx.advance(7)
    assert agent.last(call_id).status is CallStatus.CONNECTED
    return call_id


async def inbound_ringing(pbx: Pbx, agent: Agent, extension: str = "1001") -> str:
    leg = pbx.exchange.inbound_call(CALLER, extension, "Zed Caller")
    assert leg is not None
    assert agent.last(leg.id).status is CallStatus.RINGING
    return leg.id


async def inbound_connected(pbx: Pbx, agent: Agent) -> str:
    call_id = await inbound_ringing(pbx, agent)
    assert await agent.connector.answer(call_id)
    return call_id


def only_activity(agent: Agent, since: int) -> tuple[ActivityName, ErrorCode | None, str | None]:
    """The single event after index ``since``, which must be an activity."""
    (event,) = agent.events[since:]
    assert event.name in (ActivityName.INFO, ActivityName.ERROR), event
    return event.name, event.code, event.call_id


# --- call ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "number",
    ["", "   ", "abc", "+0123456", "+1 202 555 abc", "12345678", "+1234567890123456", "1001#", "sip:1002"],
)
async def test_call_bad_number_is_error_and_nothing_is_dialled(pbx: Pbx, number: str) -> None:
    agent = await pbx.login()
    mark = len(agent.events)
    assert (await agent.connector.call(number)).value is None
    name, code, _ = only_activity(agent, mark)
    assert (name, code) == (ActivityName.ERROR, ErrorCode.BAD_NUMBER)
    pbx.advance(60)
    assert agent.call_events() == []
    assert pbx.exchange.legs == {}
    assert agent.connector.calls() == []


@pytest.mark.parametrize(
    ("typed", "dialled"),
    [("+1 (202) 555-0101", ACME), ("001 202 555 0101", ACME), ("1002", "1002"), (" 6001 ", "6001")],
)
async def test_call_normalises_what_was_typed(pbx: Pbx, typed: str, dialled: str) -> None:
    agent = await pbx.login()
    call_id = (await agent.connector.call(typed)).value
    assert call_id is not None
    assert agent.last(call_id).destination == dialled
    assert pbx.exchange.legs[call_id].call.destination == dialled


async def test_call_returns_the_id_of_the_new_call(pbx: Pbx) -> None:
    agent = await pbx.login()
    first = (await agent.connector.call(ACME)).value
    second = (await agent.connector.call("+12025550105")).value
    assert first and second and first != second
    assert {c.id for c in agent.connector.calls()} == {first, second}
    assert agent.connector.get_call(first).destination == ACME


@pytest.mark.parametrize(
    ("number", "cause", "after", "names"),
    [
        ("+12025550102", Cause.BUSY, 1.0, ["INITIAL", "ACCEPTED", "CANCEL"]),
        ("+12025550104", Cause.UNREACHABLE, 0.5, ["INITIAL", "ACCEPTED", "CANCEL"]),
        ("+12025550103", Cause.NO_ANSWER, 30.0, ["INITIAL", "ACCEPTED", "RINGING", "CANCEL"]),
    ],
)
async def test_call_the_world_numbers(pbx: Pbx, number: str, cause: Cause, after: float, names: list[str]) -> None:
    agent = await pbx.login()
    await agent.connector.set_auto_answer(True)
    call_id = (await agent.connector.call(number)).value
    pbx.advance(after - 0.01)
    assert not agent.last(call_id).ended
    pbx.advance(0.01)
    ended = agent.last(call_id)
    assert agent.names(call_id) == names
    assert ended.cause == cause
    assert ended.connect_at is None
    assert ended.release_at == pbx.clock.now()
    assert not pbx.exchange.legs[call_id].live


async def test_an_unlisted_outside_number_answers_after_the_default_two_rings(pbx: Pbx) -> None:
    agent = await pbx.login()
    await agent.connector.set_auto_answer(True)
    call_id = (await agent.connector.call("+12025550177")).value
    pbx.advance(3.99)
    assert agent.last(call_id).status is CallStatus.RINGING
    pbx.advance(0.01)
    assert agent.last(call_id).status is CallStatus.CONNECTED


async def test_hang_up_before_the_agent_phone_picks_up(pbx: Pbx) -> None:
    agent = await pbx.login()
    call_id = (await agent.connector.call(ACME)).value
    assert await agent.connector.terminate(call_id)
    assert agent.names(call_id) == ["INITIAL", "HANGUP"]
    pbx.advance(60)
    assert agent.names(call_id) == ["INITIAL", "HANGUP"]  # nothing rings later


async def test_hang_up_while_the_far_end_rings(pbx: Pbx) -> None:
    agent = await pbx.login()
    call_id = (await agent.connector.call(ACME)).value
    pbx.advance(2)
    assert await agent.connector.terminate(call_id)
    assert agent.names(call_id) == ["INITIAL", "ACCEPTED", "RINGING", "HANGUP"]
    pbx.advance(60)
    assert agent.names(call_id) == ["INITIAL", "ACCEPTED", "RINGING", "HANGUP"]


# --- answer / reject ----------------------------------------------------------------------------------------


async def test_answer_unknown_call_is_info(pbx: Pbx) -> None:
    agent = await pbx.login()
    mark = len(agent.events)
    assert not await agent.connector.answer("nope")
    assert only_activity(agent, mark) == (ActivityName.INFO, ErrorCode.UNKNOWN_CALL, "nope")


async def test_answer_ended_call_is_info(pbx: Pbx) -> None:
    agent = await pbx.login()
    call_id = await inbound_ringing(pbx, agent)
    pbx.exchange.remote_hangup(call_id)
    mark = len(agent.events)
    assert not await agent.connector.answer(call_id)
    assert only_activity(agent, mark) == (ActivityName.INFO, ErrorCode.CALL_ENDED, call_id)


async def test_answer_an_outbound_call_is_wrong_state(pbx: Pbx) -> None:
    agent = await pbx.login()
    call_id = (await agent.connector.call(ACME)).value
    pbx.advance(2)
    assert agent.last(call_id).status is CallStatus.RINGING
    mark = len(agent.events)
    assert not await agent.connector.answer(call_id)
    assert only_activity(agent, mark) == (ActivityName.INFO, ErrorCode.WRONG_STATE, call_id)
    assert agent.last(call_id).status is CallStatus.RINGING


async def test_answer_a_connected_call_is_wrong_state(pbx: Pbx) -> None:
    agent = await pbx.login()
    call_id = await inbound_connected(pbx, agent)
    mark = len(agent.events)
    assert not await agent.connector.answer(call_id)
    assert only_activity(agent, mark) == (ActivityName.INFO, ErrorCode.WRONG_STATE, call_id)


async def test_reject_sends_cancel_rejected(pbx: Pbx) -> None:
    agent = await pbx.login()
    call_id = await inbound_ringing(pbx, agent)
    assert await agent.connector.reject(call_id)
    assert agent.names(call_id) == ["RINGING", "CANCEL"]
    assert agent.last(call_id).cause == Cause.REJECTED
    assert not pbx.exchange.legs[call_id].live


async def test_reject_a_connected_call_is_wrong_state(pbx: Pbx) -> None:
    agent = await pbx.login()
    call_id = await inbound_connected(pbx, agent)
    mark = len(agent.events)
    assert not await agent.connector.reject(call_id)
    assert only_activity(agent, mark) == (ActivityName.INFO, ErrorCode.WRONG_STATE, call_id)
    assert agent.last(call_id).status is CallStatus.CONNECTED


async def test_reject_an_outbound_call_is_wrong_state(pbx: Pbx) -> None:
    agent = await pbx.login()
    call_id = (await agent.connector.call(ACME)).value
    mark = len(agent.events)
    assert not await agent.connector.reject(call_id)
    assert only_activity(agent, mark) == (ActivityName.INFO, ErrorCode.WRONG_STATE, call_id)


async def test_reject_unknown_and_ended(pbx: Pbx) -> None:
    agent = await pbx.login()
    call_id = await inbound_ringing(pbx, agent)
    await agent.connector.reject(call_id)
    mark = len(agent.events)
    assert not await agent.connector.reject(call_id)
    assert not await agent.connector.reject("nope")
    assert [(e.name, e.code) for e in agent.events[mark:]] == [
        (ActivityName.INFO, ErrorCode.CALL_ENDED),
        (ActivityName.INFO, ErrorCode.UNKNOWN_CALL),
    ]


# --- terminate ----------------------------------------------------------------------------------------------


async def test_terminate_a_ringing_inbound_call_is_wrong_state(pbx: Pbx) -> None:
    agent = await pbx.login()
    call_id = await inbound_ringing(pbx, agent)
    mark = len(agent.events)
    assert not await agent.connector.terminate(call_id)
    assert only_activity(agent, mark) == (ActivityName.INFO, ErrorCode.WRONG_STATE, call_id)
    assert pbx.exchange.legs[call_id].live


async def test_terminate_a_held_call(pbx: Pbx) -> None:
    agent = await pbx.login()
    call_id = await inbound_connected(pbx, agent)
    await agent.connector.hold(call_id)
    assert await agent.connector.terminate(call_id)
    assert agent.names(call_id) == ["RINGING", "CONNECTED", "ON_HOLD", "HANGUP"]
    assert agent.last(call_id).cause == Cause.NORMAL


async def test_terminate_unknown_and_ended(pbx: Pbx) -> None:
    agent = await pbx.login()
    call_id = await outbound_connected(pbx, agent)
    await agent.connector.terminate(call_id)
    mark = len(agent.events)
    assert not await agent.connector.terminate(call_id)
    assert not await agent.connector.terminate("20260105090000999999")
    assert [(e.name, e.code, e.call_id) for e in agent.events[mark:]] == [
        (ActivityName.INFO, ErrorCode.CALL_ENDED, call_id),
        (ActivityName.INFO, ErrorCode.UNKNOWN_CALL, "20260105090000999999"),
    ]


# --- hold / resume ------------------------------------------------------------------------------------------


async def test_hold_and_resume(pbx: Pbx) -> None:
    agent = await pbx.login()
    call_id = await outbound_connected(pbx, agent)
    connect_at = agent.last(call_id).connect_at
    pbx.advance(3)
    assert await agent.connector.hold(call_id)
    assert agent.last(call_id).status is CallStatus.ON_HOLD
    pbx.advance(3)
    assert await agent.connector.resume(call_id)
    assert agent.names(call_id)[-3:] == ["CONNECTED", "ON_HOLD", "CONNECTED"]
    assert agent.last(call_id).connect_at == connect_at  # resuming is not a new connection
    assert pbx.exchange.legs[call_id].status is CallStatus.CONNECTED


async def test_hold_a_ringing_call_is_wrong_state(pbx: Pbx) -> None:
    agent = await pbx.login()
    call_id = await inbound_ringing(pbx, agent)
    mark = len(agent.events)
    assert not await agent.connector.hold(call_id)
    assert only_activity(agent, mark) == (ActivityName.INFO, ErrorCode.WRONG_STATE, call_id)
    assert agent.last(call_id).status is CallStatus.RINGING


async def test_hold_twice_and_resume_a_connected_call_are_wrong_state(pbx: Pbx) -> None:
    agent = await pbx.login()
    call_id = await inbound_connected(pbx, agent)
    mark = len(agent.events)
    assert not await agent.connector.resume(call_id)
    assert await agent.connector.hold(call_id)
    assert not await agent.connector.hold(call_id)
    assert [(e.name, getattr(e, "code", None)) for e in agent.events[mark:]] == [
        (ActivityName.INFO, ErrorCode.WRONG_STATE),
        ("ON_HOLD", None),
        (ActivityName.INFO, ErrorCode.WRONG_STATE),
    ]


async def test_hold_and_resume_unknown_and_ended(pbx: Pbx) -> None:
    agent = await pbx.login()
    call_id = await inbound_connected(pbx, agent)
    await agent.connector.terminate(call_id)
    mark = len(agent.events)
    for action in (agent.connector.hold, agent.connector.resume):
        assert not await action(call_id)
        assert not await action("nope")
    assert [e.code for e in agent.events[mark:]] == [
        ErrorCode.CALL_ENDED,
        ErrorCode.UNKNOWN_CALL,
        ErrorCode.CALL_ENDED,
        ErrorCode.UNKNOWN_CALL,
    ]


# --- transfer / supervised transfer / merge: argument checks (flows in test_transfer.py) --------------------


async def test_transfer_to_a_bad_number_is_error_and_the_call_stays(pbx: Pbx) -> None:
    agent = await pbx.login()
    call_id = await inbound_connected(pbx, agent)
    mark = len(agent.events)
    assert not await agent.connector.transfer(call_id, "not a number")
    assert only_activity(agent, mark)[:2] == (ActivityName.ERROR, ErrorCode.BAD_NUMBER)
    assert pbx.exchange.legs[call_id].status is CallStatus.CONNECTED


async def test_transfer_a_ringing_call_is_wrong_state(pbx: Pbx) -> None:
    agent = await pbx.login()
    call_id = await inbound_ringing(pbx, agent)
    mark = len(agent.events)
    assert not await agent.connector.transfer(call_id, "1002")
    assert only_activity(agent, mark) == (ActivityName.INFO, ErrorCode.WRONG_STATE, call_id)


async def test_transfer_unknown_and_ended(pbx: Pbx) -> None:
    agent = await pbx.login()
    call_id = await inbound_connected(pbx, agent)
    await agent.connector.terminate(call_id)
    mark = len(agent.events)
    assert not await agent.connector.transfer(call_id, "1002")
    assert not await agent.connector.transfer("nope", "1002")
    assert [e.code for e in agent.events[mark:]] == [ErrorCode.CALL_ENDED, ErrorCode.UNKNOWN_CALL]


async def test_supervised_transfer_argument_checks(pbx: Pbx) -> None:
    agent = await pbx.login()
    call_id = await inbound_ringing(pbx, agent)
    mark = len(agent.events)
    assert not await agent.connector.supervised_transfer(call_id, "1002")
    assert not await agent.connector.supervised_transfer("nope", "1002")
    assert [(e.name, e.code) for e in agent.events[mark:]] == [
        (ActivityName.INFO, ErrorCode.WRONG_STATE),
        (ActivityName.INFO, ErrorCode.UNKNOWN_CALL),
    ]
    await agent.connector.answer(call_id)
    mark = len(agent.events)
    assert not await agent.connector.supervised_transfer(call_id, "1002", invite_timeout=0)
    assert not await agent.connector.supervised_transfer(call_id, "1002", invite_timeout=-5)
    assert not await agent.connector.supervised_transfer(call_id, "x1002")
    assert [(e.name, e.code) for e in agent.events[mark:]] == [
        (ActivityName.ERROR, ErrorCode.BAD_REQUEST),
        (ActivityName.ERROR, ErrorCode.BAD_REQUEST),
        (ActivityName.ERROR, ErrorCode.BAD_NUMBER),
    ]
    assert pbx.exchange.legs[call_id].status is CallStatus.CONNECTED
    assert pbx.exchange.legs[call_id].consult is None
    assert len(pbx.exchange.legs) == 1


async def test_cancel_supervised_transfer_with_nothing_pending_is_info(pbx: Pbx) -> None:
    agent = await pbx.login()
    call_id = await inbound_connected(pbx, agent)
    mark = len(agent.events)
    assert not await agent.connector.cancel_supervised_transfer(call_id)
    assert not await agent.connector.cancel_supervised_transfer("nope")
    assert [(e.name, e.code) for e in agent.events[mark:]] == [
        (ActivityName.INFO, ErrorCode.WRONG_STATE),
        (ActivityName.INFO, ErrorCode.WRONG_STATE),
    ]


async def test_merge_argument_checks(pbx: Pbx) -> None:
    agent = await pbx.login()
    first = await outbound_connected(pbx, agent)
    ringing = await inbound_ringing(pbx, agent)
    mark = len(agent.events)
    assert not await agent.connector.merge(first, first)
    assert not await agent.connector.merge(first, "nope")
    assert not await agent.connector.merge(first, ringing)
    assert not await agent.connector.merge("nope", first)
    assert [(e.name, e.code) for e in agent.events[mark:]] == [
        (ActivityName.INFO, ErrorCode.BAD_REQUEST),
        (ActivityName.INFO, ErrorCode.UNKNOWN_CALL),
        (ActivityName.INFO, ErrorCode.WRONG_STATE),
        (ActivityName.INFO, ErrorCode.UNKNOWN_CALL),
    ]
    assert pbx.exchange.legs[first].status is CallStatus.CONNECTED
    assert pbx.exchange.legs[ringing].status is CallStatus.RINGING


async def test_merge_with_an_ended_call_is_info(pbx: Pbx) -> None:
    agent = await pbx.login()
    first = await outbound_connected(pbx, agent)
    second = await outbound_connected(pbx, agent, "+12025550105")
    await agent.connector.terminate(second)
    mark = len(agent.events)
    assert not await agent.connector.merge(first, second)
    assert only_activity(agent, mark)[:2] == (ActivityName.INFO, ErrorCode.CALL_ENDED)


# --- park / unpark: argument checks (flows in test_park.py) -------------------------------------------------


@pytest.mark.parametrize("slot", [0, 11, -1, True, "3", 2.0])
async def test_park_bad_slot_is_error(pbx: Pbx, slot: object) -> None:
    agent = await pbx.login()
    call_id = await inbound_connected(pbx, agent)
    mark = len(agent.events)
    assert not await agent.connector.park(call_id, slot)  # type: ignore[arg-type]
    assert only_activity(agent, mark)[:2] == (ActivityName.ERROR, ErrorCode.BAD_REQUEST)
    assert pbx.exchange.legs[call_id].status is CallStatus.CONNECTED
    assert pbx.exchange.slots == {}


@pytest.mark.parametrize("slot", [0, 11, None, "1"])
async def test_unpark_bad_slot_is_error(pbx: Pbx, slot: object) -> None:
    agent = await pbx.login()
    mark = len(agent.events)
    assert not await agent.connector.unpark(slot)  # type: ignore[arg-type]
    assert only_activity(agent, mark)[:2] == (ActivityName.ERROR, ErrorCode.BAD_REQUEST)


async def test_park_a_ringing_call_is_wrong_state(pbx: Pbx) -> None:
    agent = await pbx.login()
    call_id = await inbound_ringing(pbx, agent)
    mark = len(agent.events)
    assert not await agent.connector.park(call_id)
    assert only_activity(agent, mark) == (ActivityName.INFO, ErrorCode.WRONG_STATE, call_id)
    assert pbx.exchange.slots == {}


async def test_park_unknown_and_ended(pbx: Pbx) -> None:
    agent = await pbx.login()
    call_id = await inbound_connected(pbx, agent)
    await agent.connector.terminate(call_id)
    mark = len(agent.events)
    assert not await agent.connector.park(call_id)
    assert not await agent.connector.park("nope", 2)
    assert [e.code for e in agent.events[mark:]] == [ErrorCode.CALL_ENDED, ErrorCode.UNKNOWN_CALL]


# --- DTMF ---------------------------------------------------------------------------------------------------


async def test_send_dtmf(pbx: Pbx) -> None:
    agent = await pbx.login()
    call_id = await outbound_connected(pbx, agent)
    mark = len(agent.events)
    assert await agent.connector.send_dtmf(call_id, "0123456789*#")
    assert await agent.connector.send_dtmf(call_id, "abcd")
    assert agent.events[mark:] == []  # tones change no state and say nothing
    assert pbx.exchange.legs[call_id].dtmf == "0123456789*#ABCD"


@pytest.mark.parametrize("digits", ["", "12x", "E", " 1", "1 2", "+"])
async def test_send_bad_dtmf_is_error(pbx: Pbx, digits: str) -> None:
    agent = await pbx.login()
    call_id = await outbound_connected(pbx, agent)
    mark = len(agent.events)
    assert not await agent.connector.send_dtmf(call_id, digits)
    assert only_activity(agent, mark) == (ActivityName.ERROR, ErrorCode.BAD_REQUEST, call_id)
    assert pbx.exchange.legs[call_id].dtmf == ""


async def test_send_dtmf_wrong_state_unknown_and_ended(pbx: Pbx) -> None:
    agent = await pbx.login()
    call_id = await outbound_connected(pbx, agent)
    await agent.connector.hold(call_id)
    mark = len(agent.events)
    assert not await agent.connector.send_dtmf(call_id, "1")
    await agent.connector.terminate(call_id)
    assert not await agent.connector.send_dtmf(call_id, "1")
    assert not await agent.connector.send_dtmf("nope", "1")
    assert [e.code for e in agent.events[mark:] if e.name in ("INFO", "ERROR")] == [
        ErrorCode.WRONG_STATE,
        ErrorCode.CALL_ENDED,
        ErrorCode.UNKNOWN_CALL,
    ]


# --- auto answer --------------------------------------------------------------------------------------------


async def test_auto_answer_setting(pbx: Pbx) -> None:
    agent = await pbx.login()
    assert agent.connector.auto_answer() is False
    assert await agent.connector.set_auto_answer(True)
    assert agent.connector.auto_answer() is True
    assert pbx.exchange.sessions[0].auto_answer is True
    assert await agent.connector.set_auto_answer(False)
    assert agent.connector.auto_answer() is False
    call_id = (await agent.connector.call(ACME)).value
    assert agent.names(call_id) == ["INITIAL"]  # the pick-up wait is back
    pbx.advance(1)
    assert agent.names(call_id) == ["INITIAL", "ACCEPTED", "RINGING"]


async def test_auto_answer_is_per_session(pbx: Pbx) -> None:
    agent = await pbx.login()
    bruno = await pbx.login("bruno@demo.local")
    await agent.connector.set_auto_answer(True)
    assert bruno.connector.auto_answer() is False
    call_id = (await bruno.connector.call(ACME)).value
    assert bruno.names(call_id) == ["INITIAL"]


# --- calls() / get_call() -----------------------------------------------------------------------------------


async def test_calls_keep_made_received_and_missed_calls(pbx: Pbx) -> None:
    agent = await pbx.login()
    made = await outbound_connected(pbx, agent)
    await agent.connector.terminate(made)
    received = await inbound_connected(pbx, agent)
    missed = await inbound_ringing(pbx, agent)  # rings while the other is connected
    pbx.advance(30)
    calls = {c.id: c for c in agent.connector.calls()}
    assert list(calls) == [made, received, missed]  # oldest change first
    assert calls[made].status is CallStatus.HANGUP and calls[made].direction is Direction.OUTBOUND
    assert calls[received].status is CallStatus.CONNECTED
    assert calls[missed].status is CallStatus.CANCEL and calls[missed].cause == Cause.NO_ANSWER
    assert [c.id for c in agent.connector.active_calls()] == [received]
    assert agent.connector.get_call(received) == calls[received]
    assert agent.connector.get_call("nope") is None


async def test_get_call_matches_the_last_event(pbx: Pbx) -> None:
    agent = await pbx.login()
    call_id = (await agent.connector.call(ACME)).value
    for step in (0.5, 0.5, 3, 3, 10):
        pbx.advance(step)
        assert agent.connector.get_call(call_id) == agent.last(call_id)
        assert agent.connector.get_call(call_id) == pbx.exchange.legs[call_id].to_call()


async def test_operations_follow_the_state(pbx: Pbx) -> None:
    agent = await pbx.login()
    ops = agent.connector.operations
    ringing = await inbound_ringing(pbx, agent)
    assert ops(ringing) == {Operation.ANSWER, Operation.REJECT}
    await agent.connector.answer(ringing)
    assert {Operation.HOLD, Operation.HANGUP, Operation.TRANSFER, Operation.PARK, Operation.DTMF} <= ops(ringing)
    assert Operation.ANSWER not in ops(ringing)
    await agent.connector.hold(ringing)
    assert Operation.RESUME in ops(ringing) and Operation.HOLD not in ops(ringing)
    await agent.connector.terminate(ringing)
    assert ops(ringing) == frozenset()
    assert ops("nope") == frozenset()


# --- the exchange double-checks what the connector lets through --------------------------------------------


async def test_the_exchange_refuses_on_its_own(pbx: Pbx) -> None:
    agent = await pbx.login()
    backend = agent.connector.backend
    ringing = await inbound_ringing(pbx, agent)
    result = await backend.execute(cmd.Hold(ringing))
    assert (result.ok, result.level, result.code) == (False, ActivityName.INFO, ErrorCode.WRONG_STATE)
    result = await backend.execute(cmd.Hangup("nope"))
    assert (result.ok, result.code) == (False, ErrorCode.UNKNOWN_CALL)
    await agent.connector.reject(ringing)
    result = await backend.execute(cmd.Answer(ringing))
    assert (result.ok, result.code) == (False, ErrorCode.CALL_ENDED)
    result = await backend.execute(cmd.Park(ringing, 99))
    assert (result.ok, result.code) == (False, ErrorCode.CALL_ENDED)


async def test_a_command_after_close_is_not_connected(pbx: Pbx) -> None:
    agent = await pbx.login()
    backend = agent.connector.backend
    await agent.connector.logout()
    result = await backend.execute(cmd.Dial(ACME))
    assert (result.ok, result.level, result.code) == (False, ActivityName.ERROR, ErrorCode.NOT_CONNECTED)


# --- nothing works before login -----------------------------------------------------------------------------


ACTIONS = {
    "call": lambda c: c.call(ACME),
    "answer": lambda c: c.answer("x"),
    "reject": lambda c: c.reject("x"),
    "terminate": lambda c: c.terminate("x"),
    "hold": lambda c: c.hold("x"),
    "resume": lambda c: c.resume("x"),
    "transfer": lambda c: c.transfer("x", "1002"),
    "supervised_transfer": lambda c: c.supervised_transfer("x", "1002"),
    "cancel_supervised_transfer": lambda c: c.cancel_supervised_transfer("x"),
    "merge": lambda c: c.merge("x", "y"),
    "park": lambda c: c.park("x"),
    "unpark": lambda c: c.unpark(1),
    "send_dtmf": lambda c: c.send_dtmf("x", "1"),
    "subscribe": lambda c: c.subscribe("queue:sales"),
    "unsubscribe": lambda c: c.unsubscribe("queue:sales"),
    "set_auto_answer": lambda c: c.set_auto_answer(True),
}


@pytest.mark.parametrize("action", sorted(ACTIONS))
async def test_any_action_before_login_is_not_connected(pbx: Pbx, action: str) -> None:
    connector, events = pbx.connector()
    assert not connector.is_connected()
    assert not await ACTIONS[action](connector)
    assert [(e.name, e.code, e.seq) for e in events] == [(ActivityName.ERROR, ErrorCode.NOT_CONNECTED, 1)]
    assert pbx.exchange.legs == {}
    assert connector.subscriptions() == []
    assert connector.auto_answer() is False


@pytest.mark.parametrize("action", sorted(ACTIONS))
async def test_any_action_after_logout_is_not_connected(pbx: Pbx, action: str) -> None:
    agent = await pbx.login()
    await agent.connector.logout()
    mark = len(agent.events)
    assert not await ACTIONS[action](agent.connector)
    assert only_activity(agent, mark)[:2] == (ActivityName.ERROR, ErrorCode.NOT_CONNECTED)
    assert pbx.exchange.legs == {}


async def test_calls_and_subscriptions_before_login_are_empty(pbx: Pbx) -> None:
    connector, events = pbx.connector()
    assert connector.calls() == []
    assert connector.active_calls() == []
    assert connector.get_call("x") is None
    assert connector.subscriptions() == []
    assert connector.identity is None
    assert events == []


async def test_calls_keeps_the_newest_ended_calls_and_every_live_one(pbx: Pbx, monkeypatch) -> None:
    from cti_tui.engine import connector as connector_module

    monkeypatch.setattr(connector_module, "MAX_ENDED_CALLS", 5)
    agent = await pbx.login()
    live = pbx.exchange.inbound_call("+12025550100", "1001", "Still Ringing")
    ended = []
    for n in range(40):
        leg = pbx.exchange.inbound_call(f"+120255502{n:02d}", "1001", f"Caller {n}")
        await agent.connector.reject(leg.id)
        ended.append(leg.id)
    kept = [c.id for c in agent.connector.calls()]
    assert live.id in kept
    assert len(kept) <= 2 * (5 + 1) + 1  # bounded: back to the newest 5 ended (+ live) whenever it doubles
    assert ended[-5:] == [cid for cid in kept if cid in ended][-5:]  # the newest ended calls are the ones kept
