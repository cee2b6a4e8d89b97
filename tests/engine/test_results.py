"""Connector commands return Done or Refused, and a refusal is the very INFO/ERROR event the session gets.

The caller reads why from the result; everyone watching reads it from the event; both say the same thing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pyotp
import pytest
from conftest import Agent, Pbx

from cti_tui.core.model import ActivityEvent, ActivityName, ErrorCode
from cti_tui.core.results import DONE, Done, Refused, TwoFactorRequired
from cti_tui.engine.connector import Connector

ACME = "+12025550101"  # answers after 3 rings


def test_only_done_is_true() -> None:
    assert Done("c1") and DONE and Done(None)
    refused = Refused(ActivityName.INFO, ErrorCode.WRONG_STATE, "no")
    assert not refused and refused.value is None
    assert not TwoFactorRequired("n") and TwoFactorRequired("n").value is None


@pytest.mark.parametrize("level", [n for n in ActivityName if n not in (ActivityName.INFO, ActivityName.ERROR)])
def test_a_refusal_is_info_or_error(level: ActivityName) -> None:
    with pytest.raises(ValueError):
        Refused(level, ErrorCode.BAD_REQUEST, "x")


def last_activity(events: list) -> ActivityEvent:
    return [e for e in events if isinstance(e, ActivityEvent)][-1]


def as_event(refused: Refused) -> tuple[object, ...]:
    return (refused.level, refused.code, refused.message, refused.call_id)


def told(event: ActivityEvent) -> tuple[object, ...]:
    return (event.name, event.code, event.message, event.call_id)


async def ringing(pbx: Pbx, agent: Agent) -> str:
    leg = pbx.exchange.inbound_call("+12025550199", "1001", "Zed")
    assert leg is not None
    return leg.id


Scenario = Callable[[Pbx, Agent], Awaitable[object]]


async def _hold_ringing(pbx: Pbx, agent: Agent) -> object:
    return await agent.connector.hold(await ringing(pbx, agent))


async def _unpark_empty(pbx: Pbx, agent: Agent) -> object:
    return await agent.connector.unpark(3)


async def _terminate_twice(pbx: Pbx, agent: Agent) -> object:
    call_id = await ringing(pbx, agent)
    assert await agent.connector.reject(call_id)
    return await agent.connector.terminate(call_id)


SCENARIOS: dict[str, tuple[Scenario, ActivityName, ErrorCode]] = {
    "bad number": (lambda pbx, a: a.connector.call("not a number"), ActivityName.ERROR, ErrorCode.BAD_NUMBER),
    "unknown call": (lambda pbx, a: a.connector.hold("nope"), ActivityName.INFO, ErrorCode.UNKNOWN_CALL),
    "wrong state": (_hold_ringing, ActivityName.INFO, ErrorCode.WRONG_STATE),
    "ended": (_terminate_twice, ActivityName.INFO, ErrorCode.CALL_ENDED),
    "slot out of range": (lambda pbx, a: a.connector.unpark(99), ActivityName.ERROR, ErrorCode.BAD_REQUEST),
    "empty slot (the PBX says)": (_unpark_empty, ActivityName.INFO, ErrorCode.SLOT_EMPTY),
    "no such line (the PBX says)": (
        lambda pbx, a: a.connector.subscribe("user:9999"),
        ActivityName.ERROR,
        ErrorCode.UNKNOWN_NODE,
    ),
    "not a line": (lambda pbx, a: a.connector.subscribe("nowhere"), ActivityName.ERROR, ErrorCode.UNKNOWN_NODE),
    "not subscribed": (lambda pbx, a: a.connector.unsubscribe("queue:x"), ActivityName.INFO, ErrorCode.BAD_REQUEST),
    "merge with itself": (lambda pbx, a: a.connector.merge("c", "c"), ActivityName.INFO, ErrorCode.BAD_REQUEST),
    "already logged in": (lambda pbx, a: a.connector.login("x@y", "z"), ActivityName.INFO, ErrorCode.BAD_REQUEST),
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
async def test_each_refusal_is_returned_and_emitted_alike(pbx: Pbx, name: str) -> None:
    scenario, level, code = SCENARIOS[name]
    agent = await pbx.login()
    result = await scenario(pbx, agent)
    assert isinstance(result, Refused), result
    assert (result.level, result.code) == (level, code)
    assert as_event(result) == told(last_activity(agent.events))


@pytest.mark.parametrize(
    "action",
    [
        lambda c: c.call(ACME),
        lambda c: c.hold("x"),
        lambda c: c.subscribe("queue:sales"),
        lambda c: c.set_auto_answer(True),
        lambda c: c.logout(),
        lambda c: c.two_factor_auth("123456"),
    ],
)
async def test_refusals_before_login(pbx: Pbx, action: Callable[[Connector], Awaitable[object]]) -> None:
    connector, events = pbx.connector()
    result = await action(connector)
    assert isinstance(result, Refused)
    assert as_event(result) == told(last_activity(events))


async def test_done_carries_the_new_calls_id_and_nothing_else(pbx: Pbx) -> None:
    agent = await pbx.login()
    placed = await agent.connector.call(ACME)
    assert isinstance(placed, Done) and agent.last(placed.value).id == placed.value
    assert await agent.connector.set_auto_answer(True) == DONE
    assert await agent.connector.subscribe("queue:sales") == DONE
    assert await agent.connector.terminate(placed.value) == DONE
    assert await agent.connector.logout() == DONE


async def test_a_login_refused_or_waiting_for_its_code(pbx: Pbx) -> None:
    connector, events = pbx.connector()
    wrong = await connector.login("agent@demo.local", "nope")
    assert isinstance(wrong, Refused) and wrong.code is ErrorCode.BAD_CREDENTIALS
    assert as_event(wrong) == told(last_activity(events))
    challenge = await connector.login("secure@demo.local", "demo")
    assert challenge == TwoFactorRequired(last_activity(events).nonce or "")
    assert last_activity(events).name is ActivityName.TWO_FACTOR_AUTH
    bad = await connector.two_factor_auth("000000" if _code(pbx) != "000000" else "111111")
    assert isinstance(bad, Refused) and bad.code is ErrorCode.BAD_OTP
    assert as_event(bad) == told(last_activity(events))
    assert await connector.two_factor_auth(_code(pbx)) == DONE
    assert last_activity(events).name is ActivityName.READY


def _code(pbx: Pbx) -> str:
    user = pbx.exchange.org.user_by_email("secure@demo.local")
    assert user is not None and user.totp_secret
    return pyotp.TOTP(user.totp_secret).at(pbx.clock.now().timestamp())
