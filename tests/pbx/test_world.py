"""The simulated world: seeded callers and colleagues on virtual time — alive, consistent, repeatable."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable

from conftest import Agent, Pbx, quiet_demo

from cti_tui.core.clock import VirtualClock
from cti_tui.core.model import ActivityName, CallStatus, Direction, ErrorCode
from cti_tui.pbx.exchange import Exchange
from cti_tui.pbx.world import SimulatedWorld
from cti_tui.protocol.events import event_to_wire

WATCHED = ("queue:sales", "queue:support", "ivr:main", "callpark", "conf:room1")


def busy_pbx(pbx_factory: Callable[..., Pbx], seed: int = 7, rate: float = 6.0) -> Pbx:
    pbx = pbx_factory(colleagues=True, inbound_per_minute=rate, seed=seed)
    SimulatedWorld(pbx.exchange).start()
    return pbx


async def watch_everything(pbx: Pbx) -> Agent:
    boss = await pbx.login("supervisor@demo.local")
    for node in WATCHED:
        assert await boss.connector.subscribe(node)
    return boss


def assert_consistent(pbx: Pbx, *agents: Agent) -> None:
    """What must hold at any moment, whatever the traffic did."""
    for agent in agents:
        assert [e.seq for e in agent.events] == list(range(1, len(agent.events) + 1))
        # the exchange never reported a move the state machine refuses
        assert not [e for e in agent.activities(ActivityName.INFO) if e.code is ErrorCode.WRONG_STATE]
        assert agent.activities(ActivityName.ERROR) == []
    exchange = pbx.exchange
    for slot, leg in exchange.slots.items():
        assert leg.live and leg.status is CallStatus.PARKED and leg.call.park_slot == slot and leg.line == "callpark"
    for queue_id, waiting in exchange.queues.items():
        for leg in waiting:
            assert leg.live and leg.queue_id == queue_id and leg.status is CallStatus.RINGING
            if leg.owner is None:
                assert leg.line == f"queue:{queue_id}"
        numbers = [leg.call.queue_position for leg in waiting if leg.owner is None]
        assert numbers == list(range(1, len(numbers) + 1))
    for leg in exchange.legs.values():
        if leg.live and leg.owner is not None:
            assert leg.line == f"user:{leg.owner}"
        if not leg.live:
            assert leg.call.release_at is not None and leg.call.cause


async def test_ten_minutes_of_traffic(pbx_factory) -> None:
    pbx = busy_pbx(pbx_factory)
    boss = await watch_everything(pbx)
    pbx.advance(600)
    inbound = [leg for leg in pbx.exchange.legs.values() if leg.direction is Direction.INBOUND]
    assert len(inbound) >= 20  # about 6 a minute, some of them colleagues dialling out instead
    lines = Counter(e.call.line.partition(":")[0] for e in boss.call_events())
    names = Counter(e.name.value for e in boss.call_events())
    assert lines["queue"] > 0 and lines["ivr"] > 0
    assert names["CONNECTED"] > 0  # colleagues answer
    assert names["PARKED"] > 0  # and now and then park a call
    assert {e.call.line for e in boss.call_events() if e.name == "PARKED"} == {"callpark"}
    assert_consistent(pbx, boss)


async def test_a_logged_in_agent_is_never_answered_for(pbx_factory) -> None:
    pbx = busy_pbx(pbx_factory, seed=11)
    agent = await pbx.login()
    pbx.advance(900)
    assert agent.call_events(), "the agent's DID and queues should have rung"
    assert {e.name.value for e in agent.call_events()} <= {"RINGING", "CANCEL"}
    for leg in pbx.exchange.legs.values():
        assert not (leg.owner == "1001" and leg.status is CallStatus.CONNECTED)
    assert_consistent(pbx, agent)


async def test_a_logged_in_agent_takes_a_call_and_the_caller_hangs_up_in_time(pbx_factory) -> None:
    pbx = busy_pbx(pbx_factory, seed=5)
    agent = await pbx.login()
    ringing: list = []
    for _ in range(600):
        pbx.advance(1)
        ringing = agent.ringing()
        if ringing:
            break
    assert ringing, "no call reached the agent in 10 minutes"
    call_id = ringing[0].id
    assert await agent.connector.answer(call_id)
    pbx.advance(121)  # talk time is at most 120 s
    assert agent.last(call_id).status is CallStatus.HANGUP
    assert agent.last(call_id).cause == "normal"
    assert_consistent(pbx, agent)


async def test_simulated_colleagues_answer_their_phones(pbx_factory) -> None:
    pbx = pbx_factory(colleagues=True, inbound_per_minute=0.0)
    SimulatedWorld(pbx.exchange)  # hooks only: no random callers
    boss = await pbx.login("supervisor@demo.local")
    await boss.connector.subscribe("user:1002")
    legs = [pbx.exchange.inbound_call(f"+1202555100{n}", "+12025550112", "Caller") for n in range(5)]
    # the simulated colleague picks up after 2–8 s (and now and then lets a call ring)
    pbx.advance(8)
    answered = [leg for leg in legs if leg.status is CallStatus.CONNECTED]
    assert answered
    for leg in answered:
        call = leg.call
        assert call.connect_at is not None and call.setup_at is not None
        assert 2 <= (call.connect_at - call.setup_at).total_seconds() <= 8
    assert_consistent(pbx, boss)


async def test_with_colleagues_on_queue_calls_reach_absent_members(pbx_factory) -> None:
    pbx = pbx_factory(colleagues=True, inbound_per_minute=0.0)
    SimulatedWorld(pbx.exchange)
    leg = pbx.exchange.inbound_call("+12025551001", "+12025550120")
    assert leg is not None
    # longest idle (a tie broken by extension), logged in or simulated: 1001, the demo's own agent, is not
    # simulated (nobody takes its calls before someone logs in as it), so the call goes to 1002
    assert leg.owner == "1002"
    assert leg.line == "user:1002"


async def test_nobody_works_the_demo_agents_line_before_they_log_in(pbx_factory) -> None:
    """Issue 17 #3: wait on the login form, log in, and find a call a simulated colleague took as you."""
    pbx = pbx_factory(colleagues=True, inbound_per_minute=0.0)
    SimulatedWorld(pbx.exchange)
    leg = pbx.exchange.inbound_call("+12025551001", "+12025550111")  # the agent's own number
    assert leg is not None and leg.owner == "1001"
    pbx.advance(60)
    assert leg.call.connect_at is None  # rang, unanswered: nobody played the agent
    agent = await pbx.login()
    assert all(c.connect_at is None for c in agent.connector.active_calls())


async def test_a_call_that_ended_leaves_no_simulated_timer_behind(pbx_factory) -> None:
    """What the world meant to do about a call (the colleague's pick-up and next move, the caller's hang-up
    20-120 s on) is cancelled when the call ends: each pending timer held its ended call in memory, ~10,000
    of them after a minute of a supervisor's wall (bench/README.md, ``wall.py wall --real``)."""
    pbx = pbx_factory(colleagues=True, inbound_per_minute=0.0)
    SimulatedWorld(pbx.exchange)  # hooks only: no random callers
    exchange = pbx.exchange
    for n in range(50):  # ring, answer, hold, resume, hang up: the wall bench's calls, on a simulated colleague
        leg = exchange.inbound_call(f"+1202555{n:04d}", "1002", "Caller")
        assert leg is not None
        exchange.answer_leg(leg)
        exchange.hold(leg)
        exchange.resume(leg)
        assert exchange.remote_hangup(leg.id)
    assert pbx.clock.next_due() is None


async def test_the_quiet_demo_stays_quiet(pbx: Pbx) -> None:
    SimulatedWorld(pbx.exchange).start()  # rate 0: start() does nothing
    boss = await watch_everything(pbx)
    pbx.advance(3600)
    assert pbx.exchange.legs == {}
    assert boss.call_events() == []
    assert pbx.clock.next_due() is None


async def test_stop_ends_the_arrivals(pbx_factory) -> None:
    pbx = pbx_factory(colleagues=True, inbound_per_minute=6.0)
    arrivals: list[float] = []
    inbound_call = pbx.exchange.inbound_call

    def counting(*args, **kwargs):
        arrivals.append(pbx.clock.elapsed)
        return inbound_call(*args, **kwargs)

    pbx.exchange.inbound_call = counting  # type: ignore[method-assign]
    world = SimulatedWorld(pbx.exchange)
    world.start()
    world.start()  # a second start does not double the rate
    pbx.advance(300)
    assert 10 <= len(arrivals) <= 60
    world.stop()
    stopped = len(arrivals)
    pbx.advance(600)
    assert len(arrivals) == stopped


async def run_day(pbx_factory: Callable[..., Pbx], seed: int, seconds: float = 600) -> list[str]:
    pbx = busy_pbx(pbx_factory, seed=seed)
    boss = await watch_everything(pbx)
    agent = await pbx.login()
    for _ in range(int(seconds / 30)):
        pbx.advance(30)
        # the human answers whatever rings, deterministically
        for call in agent.ringing():
            await agent.connector.answer(call.id)
    assert_consistent(pbx, boss, agent)
    return [json.dumps(event_to_wire(e), sort_keys=True) for e in boss.events + agent.events]


async def test_the_same_seed_replays_the_same_day(pbx_factory) -> None:
    first = await run_day(pbx_factory, seed=42)
    second = await run_day(pbx_factory, seed=42)
    assert len(first) > 50
    assert first == second


async def test_different_seeds_give_different_days(pbx_factory) -> None:
    assert await run_day(pbx_factory, seed=1) != await run_day(pbx_factory, seed=2)


async def test_an_exchange_seed_overrides_the_world_seed() -> None:
    org = quiet_demo(colleagues=True, inbound_per_minute=6.0)  # the demo's world seed is 7
    days = []
    for seed in (None, 7, 8):
        clock = VirtualClock()
        exchange = Exchange(org, clock, seed=seed)
        SimulatedWorld(exchange).start()
        clock.advance(300)
        days.append([(leg.call.source, leg.call.destination, leg.status) for leg in exchange.legs.values()])
    assert days[0] == days[1]
    assert days[1] != days[2]
