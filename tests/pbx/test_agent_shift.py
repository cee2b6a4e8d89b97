"""A one-hour shift of one agent at 30 calls an hour, on virtual time: the agent answers, rejects or lets
callers give up, wraps up with a disposition and a note (sometimes ready early), takes a lunch break while
calls queue. Every call that rang the agent ends in history with an outcome, a reason when it failed and a
disposition when it was answered; the time in each state adds up to the hour, as the script spent it."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from pathlib import Path

from conftest import Pbx

from cti_tui.core.availability import AgentState, Availability, time_in_states
from cti_tui.core.history import Outcome
from cti_tui.core.model import AgentEvent, CallStatus, Event
from cti_tui.store import HistoryStore
from cti_tui.store.history import HistoryRecorder

SALES = "6001"
HOUR = 3600
CALLS_PER_HOUR = 30
LUNCH_AT, LUNCH_SECONDS = 1810, 300


@dataclass
class Plan:
    """What the agent (or the caller) does with one call once it rings the agent."""

    action: str  # answer, reject, give_up
    at: float  # when, in seconds since the shift began
    talk: float = 0.0
    ends_at: float | None = None  # answered: when the agent hangs up


async def test_one_hour_shift_every_call_in_history_and_the_states_add_up(pbx: Pbx, tmp_path: Path) -> None:
    rng = random.Random(30)
    store = HistoryStore(tmp_path / "history.sqlite3")
    agent = await pbx.login()
    connector = agent.connector
    recorder = HistoryRecorder(store, "user:1001")
    connector.add_listener(recorder)
    changes: list[Availability] = []
    start = pbx.clock.now()
    own = connector.availability()
    assert own is not None and own.state is AgentState.AVAILABLE
    changes.append(own)

    def on_event(event: Event) -> None:
        if isinstance(event, AgentEvent) and event.agent.extension == "1001":
            changes.append(event.agent)

    connector.add_listener(on_event)
    arrivals = {round(k * HOUR / CALLS_PER_HOUR) + 5: f"+1202555{2000 + k}" for k in range(CALLS_PER_HOUR)}
    offered: dict[str, Plan] = {}
    disposed: set[str] = set()
    expected_wrap_up = 0.0
    wrap_up_started: float | None = None
    codes = pbx.exchange.org.agents.dispositions

    def now() -> float:
        return (pbx.clock.now() - start).total_seconds()

    for second in range(HOUR):
        if second > now():
            pbx.advance(second - now())
        if second in arrivals:
            assert pbx.exchange.inbound_call(arrivals[second], SALES, f"Caller {second}") is not None
        if second == LUNCH_AT:
            if wrap_up_started is not None:  # a break cuts the wrap-up short
                expected_wrap_up += second - wrap_up_started
                wrap_up_started = None
            assert await connector.take_break("lunch")
        if second == LUNCH_AT + LUNCH_SECONDS:
            assert await connector.ready()
        for call in connector.active_calls():
            plan = offered.get(call.id)
            if call.status is CallStatus.RINGING and plan is None:
                roll = rng.random()
                action = "answer" if roll < 0.7 else "reject" if roll < 0.85 else "give_up"
                offered[call.id] = Plan(action, second + rng.uniform(2, 6), rng.uniform(30, 70))
            elif plan is not None and second >= plan.at and call.status is CallStatus.RINGING:
                if plan.action == "answer":
                    assert await connector.answer(call.id)
                    plan.ends_at = second + plan.talk
                elif plan.action == "reject":
                    assert await connector.reject(call.id)
                else:
                    assert pbx.exchange.remote_hangup(call.id)  # the caller gives up
            elif plan is not None and plan.ends_at is not None and second >= plan.ends_at:
                assert await connector.terminate(call.id)
                after = connector.availability()
                if after is not None and after.state is AgentState.WRAP_UP:  # not after a call taken into a break
                    wrap_up_started = float(second)
        state = connector.availability()
        assert state is not None
        wrapping = state.state is AgentState.WRAP_UP and state.call_id not in disposed
        if wrapping and wrap_up_started is not None and second >= wrap_up_started + 10:
            note = f"spoke with {state.call_id}"
            assert await connector.dispose(state.call_id, rng.choice(codes), note)
            disposed.add(state.call_id)
            if rng.random() < 0.5:  # done early: ready now, not when the countdown ends
                assert await connector.ready()
                expected_wrap_up += second - wrap_up_started
                wrap_up_started = None
        if wrap_up_started is not None and second >= wrap_up_started + 30:
            expected_wrap_up += 30  # the sales queue's wrap-up ran out
            wrap_up_started = None
    pbx.advance(HOUR - now())

    end = pbx.clock.now()
    totals = time_in_states(changes, start, end)
    assert sum(totals.values()) == HOUR
    assert totals[AgentState.BREAK] == LUNCH_SECONDS
    assert totals[AgentState.OFFLINE] == 0
    assert totals[AgentState.WRAP_UP] == expected_wrap_up
    assert totals[AgentState.AVAILABLE] == HOUR - LUNCH_SECONDS - expected_wrap_up

    assert await asyncio.to_thread(store.wait_written, 30)
    page = await asyncio.to_thread(store.query, "user:1001", limit=1000)
    rows = {row.id: row for row in page.rows}
    assert len(offered) == CALLS_PER_HOUR  # every caller of the hour rang the agent (lunch only delayed some)
    assert set(rows) == set(offered)
    for call_id, plan in offered.items():
        row = rows[call_id]
        if plan.action == "answer":
            assert row.outcome is Outcome.ANSWERED and row.disposition in codes, row
            assert row.note == f"spoke with {call_id}"
        else:
            assert row.outcome is {"reject": Outcome.REJECTED, "give_up": Outcome.MISSED}[plan.action], row
            assert row.cause in ("rejected", "cancelled"), row  # why it failed
    answered = sum(1 for p in offered.values() if p.action == "answer")
    assert 0 < answered < CALLS_PER_HOUR and len(disposed) == answered
    store.close()
