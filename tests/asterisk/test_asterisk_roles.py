"""With an org file, who may act on whom on a real Asterisk 22 (the lab's tools/asterisk_lab_org.toml): an
agent manages its own queue availability but cannot pause or log out another agent nor listen in; a
supervisor may, on a line it watches; and the file's [roles] say which lines a role may watch."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from amilab import AmiRecorder, Lab, ami_fixture, asterisk_fixture  # noqa: F401 - fixtures
from softphone_lab import Recorder

from cti_tui.backends.asterisk import AsteriskBackend
from cti_tui.backends.registry import BackendOptions, open_provider
from cti_tui.core.agent_commands import QueueLogout, QueuePause, Spy, SpyMode
from cti_tui.core.model import ErrorCode
from cti_tui.engine.connector import Connector

pytestmark = pytest.mark.timeout(300)
LAB_ORG = Path(__file__).resolve().parents[2] / "tools" / "asterisk_lab_org.toml"
AGENTS_WATCH_NO_COLLEAGUE = '\n[roles.agent]\nwatch = ["queue:*", "callpark"]\n'


async def logged_in(provider: object, email: str) -> tuple[Recorder, AsteriskBackend]:
    backend = provider.new_backend()  # type: ignore[attr-defined]
    user = Recorder(Connector(backend))
    assert await asyncio.wait_for(user.connector.login(email, "demo"), 20), user.events
    return user, backend


async def paused(ami: AmiRecorder, extension: str, state: str, seen: int) -> None:
    """Asterisk itself says the member's pause changed (a QueueMemberPause after the ``seen`` first)."""
    await ami.wait_for(
        lambda: len(ami.named("QueueMemberPause", Interface=f"PJSIP/{extension}", Paused=state)) > seen,
        10,
        f"{extension} paused={state}",
    )


async def test_only_a_supervisor_acts_on_another_agent_and_only_on_a_watched_line(
    asterisk: Lab, ami: AmiRecorder, tmp_path: Path
) -> None:
    org = tmp_path / "org.toml"
    org.write_text(LAB_ORG.read_text(encoding="utf-8") + AGENTS_WATCH_NO_COLLEAGUE, encoding="utf-8")
    options = BackendOptions(address=asterisk.url(), org_file=org, secret=asterisk.ami_secret)
    provider = open_provider("asterisk", options)
    ann, ann_backend = await logged_in(provider, "agent1@lab.local")
    sue, sue_backend = await logged_in(provider, "supervisor@lab.local")
    try:
        # an agent pauses itself
        seen = len(ami.named("QueueMemberPause", Interface="PJSIP/1001", Paused="1"))
        assert (await ann_backend.execute(QueuePause(True, "lunch", "sales"))).ok
        await paused(ami, "1001", "1", seen)
        # ... but not a colleague, nor does it listen in: refused before anything reaches Asterisk
        for command in (QueuePause(True, "lunch", "sales", "1002"), QueueLogout("sales", "1002"), Spy("1002")):
            result = await ann_backend.execute(command)
            assert (result.ok, result.code) == (False, ErrorCode.NOT_PERMITTED), (command, result)
        assert "only a supervisor" in result.message
        # the file's [roles.agent] lets agents watch queues, not colleagues
        refused = await ann.connector.subscribe("user:1002")
        assert not refused and refused.code is ErrorCode.NOT_PERMITTED  # type: ignore[union-attr]
        assert await ann.connector.subscribe("queue:sales")

        # the supervisor, not watching 1001 yet: refused, told what to watch
        for command in (QueuePause(False, queue="sales", extension="1001"), Spy("1001", SpyMode.WHISPER)):
            result = await sue_backend.execute(command)
            assert (result.ok, result.code) == (False, ErrorCode.NOT_PERMITTED), (command, result)
            assert "watch user:1001" in result.message
        # watching 1001's line: it takes 1001 off its break, and may listen in (1001 is on no call: Asterisk's
        # side of it says so, which the permission check let through)
        assert await sue.connector.subscribe("user:1001")
        seen = len(ami.named("QueueMemberPause", Interface="PJSIP/1001", Paused="0"))
        assert (await sue_backend.execute(QueuePause(False, queue="sales", extension="1001"))).ok
        await paused(ami, "1001", "0", seen)
        spy = await sue_backend.execute(Spy("1001"))
        assert (spy.ok, spy.code) == (False, ErrorCode.WRONG_STATE) and "not on a call" in spy.message, spy
    finally:
        await ami.link.action("QueuePause", {"Queue": "sales", "Interface": "PJSIP/1001", "Paused": "false"})
        for user in (ann, sue):
            await user.connector.logout()
