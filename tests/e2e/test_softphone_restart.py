"""A managed baresip that dies (kill -9) mid-call: its call ends in history (cause ``interrupted``), the user
is told why, and the baresip is started again and takes the next call. Real baresip and sipp."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest
from sipp_scenarios import uac
from softphone_lab import Lab, lab_fixture, sipp_exit  # noqa: F401 - lab_fixture provides `lab`

from cti_tui.core.model import ActivityName, ErrorCode
from cti_tui.store.history import HistoryRecorder, HistoryStore, Outcome

pytestmark = pytest.mark.timeout(90)


async def test_a_killed_baresip_is_restarted_and_its_calls_end_in_history(lab: Lab) -> None:
    phone = lab.phone(0, "1001", "Agent One")
    agent = await lab.agent(phone)
    identity = agent.connector.identity
    assert identity is not None
    store = HistoryStore(lab.tmp / "history.sqlite3")
    agent.connector.add_listener(HistoryRecorder(store, identity.line))

    first = await lab.call_from_sipp(phone, uac("+33100000001", "Cut Off", await_bye=True))
    ringing = await agent.call_in("RINGING")
    assert await agent.connector.answer(ringing.id)
    await agent.call_reaches(ringing.id, "CONNECTED")
    dead = phone.pid
    assert dead is not None
    os.kill(dead, signal.SIGKILL)

    ended = await agent.call_reaches(ringing.id, "HANGUP", 15)
    assert ended.cause == "interrupted"
    errors = [e for e in agent.activities() if e.name is ActivityName.ERROR]
    assert any("killed by SIGKILL" in e.message and "1 call interrupted" in e.message for e in errors), errors
    await agent.wait_for(
        lambda: [e for e in agent.activities() if e.name is ActivityName.READY][1:], 15, "READY after the restart"
    )
    assert any(e.code is ErrorCode.RECONNECTING for e in agent.activities())
    assert phone.pid is not None and phone.pid != dead  # a new baresip, started by the backend

    # the new baresip takes the next call
    os.kill(first.pid, signal.SIGKILL)  # the first caller would wait for a BYE that never comes
    await first.wait()
    second = await lab.call_from_sipp(phone, uac("+33100000002", "Next One", hangup_after_ms=200))
    next_call = await agent.wait_for(
        lambda: [c for c in agent.calls_in("RINGING") if c.source == "+33100000002"], 15, "the next call"
    )
    assert await agent.connector.answer(next_call[0].id)  # type: ignore[index]
    await agent.call_reaches(next_call[0].id, "HANGUP")  # type: ignore[index]
    assert await sipp_exit(second) == 0

    def rows() -> list[tuple[str, Outcome]]:
        assert store.wait_written(10), "the history writer did not catch up within 10 s"
        return [(row.cause, row.outcome) for row in store.query(identity.line).rows]

    assert sorted(await asyncio.to_thread(rows)) == [("interrupted", Outcome.INTERRUPTED), ("normal", Outcome.ANSWERED)]
    store.close()
