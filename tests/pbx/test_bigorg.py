"""The generated large organisation: the demo plus thousands of agents, fast to build and still usable."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pyotp
import pytest
from conftest import Pbx

from cti_tui.core.model import ActivityName, ErrorCode
from cti_tui.pbx.bigorg import generate_org
from cti_tui.pbx.org import load_demo
from cti_tui.pbx.world import SimulatedWorld

SECURE_TOTP = "IIDSOVZMMF5MQLLU6SXN6M52XUGGFCXN"


@pytest.mark.parametrize("size", [0, 1, 49, 50, 51, 2_000, 10_001])
def test_sizes_and_queues(size: int) -> None:
    demo = load_demo()
    org = generate_org(size)
    assert len(org.users) == len(demo.users) + size
    extra = org.queues[len(demo.queues) :]
    assert len(extra) == (max(1, round(size / 50)) if size else 0)
    members = [m for q in extra for m in q.members]
    assert sorted(members) == sorted(u.extension for u in org.users[len(demo.users) :])  # each once
    if size >= 50:
        assert all(45 <= len(q.members) <= 55 for q in extra)
    assert all(org.user_by_extension(m) is not None for m in members)


def test_extensions_emails_and_lines_are_unique() -> None:
    org = generate_org(5_000)
    extensions = [x.extension for x in (*org.users, *org.queues, *org.ivrs, *org.conferences)]
    extensions.append(org.park_extension)
    assert not [e for e, n in Counter(extensions).items() if n > 1]
    assert all(e.isdigit() and 2 <= len(e) <= 6 for e in extensions)
    emails = [u.email.lower() for u in org.users]
    assert len(set(emails)) == len(emails)
    numbers = [x.number for x in (*org.users, *org.queues, *org.ivrs) if x.number]
    assert len(set(numbers)) == len(numbers)
    nodes = org.nodes()
    assert len(set(nodes)) == len(nodes)
    assert org.has_node("user:100000") and org.has_node("queue:q100") and not org.has_node("user:99")


def test_is_fast_and_deterministic() -> None:
    started = time.perf_counter()
    org = generate_org(10_000)
    assert time.perf_counter() - started < 0.5
    assert generate_org(10_000) == org
    assert [u.name for u in generate_org(100, seed=8).users] != [u.name for u in generate_org(100).users]


def test_rate_and_seed() -> None:
    assert generate_org(10).world.inbound_per_minute == load_demo().world.inbound_per_minute
    assert generate_org(10, rate=600).world.inbound_per_minute == 600.0
    assert generate_org(10, seed=3).world.seed == 3
    with pytest.raises(ValueError):
        generate_org(-1)
    with pytest.raises(ValueError):
        generate_org(10, rate=-1)


def test_lookups_find_the_same_as_a_scan() -> None:
    org = generate_org(300)
    for user in org.users[::37]:
        assert org.user_by_extension(user.extension) is user
        assert org.user_by_email(user.email.upper()) is user
    for queue in org.queues:
        assert org.queue(queue.id) is queue
    assert org.user_by_number("+12025550111") is org.user_by_extension("1001")
    assert org.user_by_extension("424242") is None and org.queue("nope") is None


async def test_demo_accounts_still_log_in(pbx_factory) -> None:
    pbx: Pbx = pbx_factory(generate_org(2_000, rate=0))
    agent = await pbx.login("agent@demo.local")
    assert agent.connector.identity.extension == "1001"
    boss = await pbx.login("supervisor@demo.local")
    assert boss.connector.identity.extension == "1100"
    generated = await pbx.login("agent1999@big.demo.local")
    assert generated.connector.identity.extension == "101999"
    keyed, _ = pbx.connector()
    assert await keyed.login(api_key="demo-api-key")
    secure, events = pbx.connector()
    assert not await secure.login("secure@demo.local", "demo")
    assert events[-1].name is ActivityName.TWO_FACTOR_AUTH
    code = pyotp.TOTP(SECURE_TOTP).at(pbx.clock.now())
    assert await secure.two_factor_auth(code)
    assert secure.identity.extension == "1008"


async def test_two_thousand_agents_carry_traffic_on_virtual_time(pbx_factory) -> None:
    pbx: Pbx = pbx_factory(generate_org(2_000, rate=240, seed=11))
    SimulatedWorld(pbx.exchange).start()
    boss = await pbx.login("supervisor@demo.local")
    for queue in pbx.exchange.org.queues[:20]:
        assert await boss.connector.subscribe(queue.line)
    started = time.perf_counter()
    for _ in range(600):
        pbx.advance(1.0)
    elapsed = time.perf_counter() - started
    legs = pbx.exchange.legs.values()
    assert len(legs) > 1_000  # a couple of thousand calls happened
    assert any(leg.call.connect_at is not None and leg.owner and int(leg.owner) >= 100_000 for leg in legs)
    assert [e.seq for e in boss.events] == list(range(1, len(boss.events) + 1))
    assert not [e for e in boss.activities(ActivityName.INFO) if e.code is ErrorCode.WRONG_STATE]
    assert boss.activities(ActivityName.ERROR) == []
    assert boss.call_events()
    assert elapsed < 60


def test_events_cli_with_a_generated_org(tmp_path: Path) -> None:
    environment = {**os.environ, "CTI_TUI_DATA_DIR": str(tmp_path / "data")}
    args = ["events", "--demo-org-size", "500", "--demo-rate", "0", "--no-history", "--exit-on-eof"]
    result = subprocess.run(
        [sys.executable, "-m", "cti_tui", *args],
        input="",
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert '"LOGGED_IN"' in result.stdout and '"READY"' in result.stdout


def test_cli_refuses_org_file_with_generated_org(tmp_path: Path) -> None:
    environment = {**os.environ, "CTI_TUI_DATA_DIR": str(tmp_path / "data")}
    result = subprocess.run(
        [sys.executable, "-m", "cti_tui", "events", "--demo-org-size", "5", "--org", str(tmp_path / "x.toml")],
        input="",
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
    )
    assert result.returncode == 2
    assert "--demo-org-size and --org cannot be used together" in result.stderr
