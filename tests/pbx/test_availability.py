"""Agent availability on the embedded PBX: only available agents, logged in to a queue, are offered its
calls; a call from a queue is followed by its wrap-up; dispositions and break reasons come from the org."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import pytest
from conftest import Pbx, quiet_demo

from cti_tui.core.availability import AgentState, Availability, time_in_states
from cti_tui.core.clock import DEFAULT_EPOCH
from cti_tui.core.model import ActivityName, AgentEvent, ErrorCode
from cti_tui.core.results import Refused
from cti_tui.pbx.org import OrgError, load_demo, parse_org

SALES = "6001"
SUPPORT = "6002"


def states(agent_events: list[object], extension: str = "1001") -> list[AgentState]:
    return [e.agent.state for e in agent_events if isinstance(e, AgentEvent) and e.agent.extension == extension]


async def test_logging_in_makes_an_agent_available_in_its_queues(pbx: Pbx) -> None:
    alice = await pbx.login()
    own = alice.connector.availability()
    assert own is not None
    assert (own.state, own.queues, own.member_of) == (AgentState.AVAILABLE, ("sales", "support"), ("sales", "support"))
    assert own.since == pbx.clock.now()
    assert own.break_reasons == load_demo().agents.break_reasons
    assert own.dispositions == load_demo().agents.dispositions


async def test_an_agent_on_a_break_is_not_offered_queue_calls_until_ready(pbx: Pbx) -> None:
    alice = await pbx.login()
    assert await alice.connector.take_break("lunch")
    assert alice.connector.availability().state is AgentState.BREAK  # type: ignore[union-attr]
    assert alice.connector.availability().reason == "lunch"  # type: ignore[union-attr]
    leg = pbx.exchange.inbound_call("+12025551001", SALES)
    assert leg is not None and alice.ringing() == []
    assert pbx.exchange.legs[leg.id].line == "queue:sales"  # it waits for someone available
    pbx.advance(60)
    assert alice.ringing() == []
    assert await alice.connector.ready()
    assert [c.id for c in alice.ringing()] == [leg.id]  # ready: the waiting call is offered at once
    assert states(alice.events) == [AgentState.BREAK, AgentState.AVAILABLE]


async def test_a_direct_call_still_rings_an_agent_on_a_break(pbx: Pbx) -> None:
    alice = await pbx.login()
    assert await alice.connector.go_offline()
    leg = pbx.exchange.inbound_call("+12025551001", "1001")
    assert leg is not None and [c.id for c in alice.ringing()] == [leg.id]  # availability is for queues


async def test_queue_logout_and_login_per_queue(pbx: Pbx) -> None:
    alice = await pbx.login()
    assert await alice.connector.queue_logout("sales")
    assert alice.connector.availability().queues == ("support",)  # type: ignore[union-attr]
    sales = pbx.exchange.inbound_call("+12025551001", SALES)
    assert sales is not None and alice.ringing() == []
    support = pbx.exchange.inbound_call("+12025551002", SUPPORT)
    assert support is not None and [c.id for c in alice.ringing()] == [support.id]
    await alice.connector.reject(support.id)
    refused = await alice.connector.queue_logout("sales")
    assert isinstance(refused, Refused) and refused.code is ErrorCode.BAD_REQUEST
    not_member = await alice.connector.queue_login("nope")
    assert isinstance(not_member, Refused) and not_member.code is ErrorCode.NOT_PERMITTED
    assert await alice.connector.queue_login("sales")
    assert sales.id in [c.id for c in alice.ringing()]


async def test_a_break_needs_a_reason_of_the_organisation(pbx: Pbx) -> None:
    alice = await pbx.login()
    refused = await alice.connector.take_break("golf")
    assert isinstance(refused, Refused) and refused.code is ErrorCode.BAD_REQUEST
    assert "lunch" in refused.message
    assert alice.connector.availability().state is AgentState.AVAILABLE  # type: ignore[union-attr]


async def test_wrap_up_follows_a_queue_call_for_the_queues_time_then_offers_again(pbx: Pbx) -> None:
    alice = await pbx.login()
    first = pbx.exchange.inbound_call("+12025551001", SALES)
    assert first is not None
    assert await alice.connector.answer(first.id)
    pbx.advance(40)
    assert pbx.exchange.remote_hangup(first.id)
    own = alice.connector.availability()
    assert own is not None and own.state is AgentState.WRAP_UP and own.call_id == first.id
    assert own.wrap_up_until == pbx.clock.now() + timedelta(seconds=30)  # sales: wrap_up_seconds = 30
    second = pbx.exchange.inbound_call("+12025551002", SALES)
    assert second is not None and alice.ringing() == []  # no queue call during wrap-up
    pbx.advance(29)
    assert alice.ringing() == []
    pbx.advance(1)
    assert alice.connector.availability().state is AgentState.AVAILABLE  # type: ignore[union-attr]
    assert [c.id for c in alice.ringing()] == [second.id]


async def test_ready_ends_wrap_up_early(pbx: Pbx) -> None:
    alice = await pbx.login()
    call = pbx.exchange.inbound_call("+12025551001", SUPPORT)
    assert call is not None and await alice.connector.answer(call.id)
    assert await alice.connector.terminate(call.id)
    assert alice.connector.availability().state is AgentState.WRAP_UP  # type: ignore[union-attr]
    assert await alice.connector.ready()
    waiting = pbx.exchange.inbound_call("+12025551002", SUPPORT)
    assert waiting is not None and [c.id for c in alice.ringing()] == [waiting.id]
    pbx.advance(45)  # the old countdown does not move the agent again
    assert states(alice.events) == [AgentState.WRAP_UP, AgentState.AVAILABLE]


async def test_an_unanswered_call_has_no_wrap_up(pbx: Pbx) -> None:
    alice = await pbx.login()
    call = pbx.exchange.inbound_call("+12025551001", SALES)
    assert call is not None
    assert await alice.connector.reject(call.id)
    assert alice.connector.availability().state is AgentState.AVAILABLE  # type: ignore[union-attr]


async def test_dispose_an_ended_call_with_a_code_of_the_organisation(pbx: Pbx) -> None:
    alice = await pbx.login()
    call = pbx.exchange.inbound_call("+12025551001", SALES)
    assert call is not None and await alice.connector.answer(call.id)
    early = await alice.connector.dispose(call.id, "sale")
    assert isinstance(early, Refused) and early.code is ErrorCode.WRONG_STATE
    assert await alice.connector.terminate(call.id)
    wrong = await alice.connector.dispose(call.id, "won_the_lottery")
    assert isinstance(wrong, Refused) and wrong.code is ErrorCode.BAD_REQUEST
    unknown = await alice.connector.dispose("nope", "sale")
    assert isinstance(unknown, Refused) and unknown.code is ErrorCode.UNKNOWN_CALL
    assert await alice.connector.dispose(call.id, "sale", "two licences\x1b]2;x")
    own = alice.connector.availability()
    assert own is not None
    assert (own.state, own.call_id, own.disposition) == (AgentState.WRAP_UP, call.id, "sale")
    assert own.note == "two licences␛]2;x"  # outside text is shown, never obeyed


async def test_a_supervisor_watching_the_agents_line_sees_its_state(pbx: Pbx) -> None:
    alice = await pbx.login()
    sam = await pbx.login("supervisor@demo.local")
    assert await sam.connector.subscribe("user:1001")
    assert states(sam.events) == [AgentState.AVAILABLE]  # the present, when it starts watching
    assert await alice.connector.take_break("training")
    assert states(sam.events) == [AgentState.AVAILABLE, AgentState.BREAK]
    watched = sam.connector.availability("1001")
    assert watched is not None and watched.reason == "training"
    await alice.connector.logout()
    assert states(sam.events)[-1] is AgentState.OFFLINE
    assert await sam.connector.unsubscribe("user:1001")
    assert sam.connector.availability("1001") is None


async def test_the_state_is_the_exchanges_a_second_login_finds_the_break(pbx: Pbx) -> None:
    alice = await pbx.login()
    assert await alice.connector.take_break("meeting")
    again = await pbx.login()
    assert again.connector.availability().state is AgentState.BREAK  # type: ignore[union-attr]
    await alice.connector.logout()
    assert again.connector.availability().state is AgentState.BREAK  # type: ignore[union-attr]  # still here
    await again.connector.logout()
    back = await pbx.login()
    assert back.connector.availability().state is AgentState.AVAILABLE  # type: ignore[union-attr]


async def test_a_second_window_leaves_an_agent_who_went_offline_offline(pbx: Pbx) -> None:
    alice = await pbx.login()
    assert await alice.connector.go_offline()
    again = await pbx.login()
    assert again.connector.availability().state is AgentState.OFFLINE  # type: ignore[union-attr]
    assert alice.connector.availability().state is AgentState.OFFLINE  # type: ignore[union-attr]


async def test_an_agent_logged_out_of_the_app_is_offline_and_not_offered(pbx: Pbx) -> None:
    alice = await pbx.login()
    await alice.connector.logout()
    assert alice.connector.availability("1001") is None and alice.connector.agents() == []  # nothing stale
    assert pbx.exchange.agents.of("1001").state is AgentState.OFFLINE  # type: ignore[union-attr]


def test_time_in_states_adds_up() -> None:
    start = DEFAULT_EPOCH

    def at(seconds: float) -> datetime:
        return start + timedelta(seconds=seconds)

    changes = [
        Availability("1001", AgentState.AVAILABLE, at(0)),
        Availability("1001", AgentState.WRAP_UP, at(100)),
        Availability("1001", AgentState.WRAP_UP, at(100), disposition="sale"),  # same state: no restart
        Availability("1001", AgentState.AVAILABLE, at(130)),
        Availability("1001", AgentState.BREAK, at(200), reason="lunch"),
    ]
    totals = time_in_states(changes, start, at(300))
    assert totals == {
        AgentState.AVAILABLE: 170.0,
        AgentState.WRAP_UP: 30.0,
        AgentState.BREAK: 100.0,
        AgentState.OFFLINE: 0.0,
    }
    assert sum(totals.values()) == 300.0


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ('[agents]\ndispositions = ["ok", "ok"]\n', "listed twice"),
        ('[agents]\nbreak_reasons = ["lunch break"]\n', "codes"),
        ("[agents]\nbreak_reasons = []\n", "codes"),
        ("[agents]\nwrap_up_seconds = -1\n", "seconds"),
    ],
)
def test_bad_agent_codes_in_an_org_file_say_where(table: str, problem: str) -> None:
    text = '[[users]]\nextension = "1001"\nname = "A"\nemail = "a@x"\npassword_hash = "pbkdf2_sha256$1$s$00"\n'
    with pytest.raises(OrgError, match=problem) as caught:
        parse_org(text + table, "org.toml")
    assert "org.toml:" in str(caught.value) and "agents." in str(caught.value)


def test_a_queues_wrap_up_time_comes_from_the_org_file() -> None:
    org = load_demo()
    assert {q.id: q.wrap_up_seconds for q in org.queues} == {"sales": 30.0, "support": 45.0}
    assert org.agents.wrap_up_seconds == 0.0  # the demo's direct calls have none


async def test_the_login_sequence_is_unchanged_by_availability(pbx: Pbx) -> None:
    alice = await pbx.login()
    assert [e.name for e in alice.activities()] == [ActivityName.LOGGED_IN, ActivityName.READY]
    assert not [e for e in alice.events if isinstance(e, AgentEvent)]  # its state is part of the present


async def test_a_call_ending_during_wrap_up_starts_a_wrap_up_of_its_own(pbx_factory) -> None:
    demo = quiet_demo()
    pbx = pbx_factory(dataclasses.replace(demo, agents=dataclasses.replace(demo.agents, wrap_up_seconds=25)))
    alice = await pbx.login()
    first = pbx.exchange.inbound_call("+12025551001", SALES)
    assert first is not None and await alice.connector.answer(first.id)
    assert await alice.connector.terminate(first.id)  # sales: 30 s of wrap-up
    pbx.advance(20)
    waiting = pbx.exchange.inbound_call("+12025551002", SUPPORT)  # no queue call in wrap-up: it waits
    assert waiting is not None and alice.ringing() == []
    direct = pbx.exchange.inbound_call("+12025551003", "1001")  # a direct call still rings
    assert direct is not None and await alice.connector.answer(direct.id)
    assert await alice.connector.terminate(direct.id)  # a call from no queue: the org's 25 s
    own = alice.connector.availability()
    assert own is not None and (own.state, own.call_id) == (AgentState.WRAP_UP, direct.id)
    assert own.wrap_up_until == pbx.clock.now() + timedelta(seconds=25)
    pbx.advance(24)  # the first wrap-up's end has passed: the second one holds
    assert alice.connector.availability().state is AgentState.WRAP_UP  # type: ignore[union-attr]
    assert alice.ringing() == []
    pbx.advance(1)
    assert alice.connector.availability().state is AgentState.AVAILABLE  # type: ignore[union-attr]
    assert [c.id for c in alice.ringing()] == [waiting.id]


async def test_a_colleague_who_logged_out_is_played_again_by_the_simulated_world(pbx_factory) -> None:
    pbx = pbx_factory(colleagues=True)  # users nobody is logged in as act on their own (not 1001: a person)
    bruno = await pbx.login("bruno@demo.local")  # 1002, the member idle longest (ties go by extension)
    assert await bruno.connector.take_break("lunch")
    on_break = pbx.exchange.inbound_call("+12025551001", SALES)
    assert on_break is not None and pbx.exchange.legs[on_break.id].owner == "1003"  # not bruno: on a break
    await bruno.connector.logout()
    assert pbx.exchange.agents.of("1002").state is AgentState.OFFLINE  # type: ignore[union-attr]
    after = pbx.exchange.inbound_call("+12025551002", SALES)
    assert after is not None and pbx.exchange.legs[after.id].owner == "1002"  # the world plays bruno again
