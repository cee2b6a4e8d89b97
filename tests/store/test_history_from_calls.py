"""History rows from real calls on the embedded PBX: one row per ended call, with each outcome."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from conftest import Pbx

from cti_tui.core.model import Direction
from cti_tui.store.history import STRICT_OFF_LOOP_ENV, HistoryRecorder, HistoryStore, Outcome

CALLER = "+12025550188"


@pytest.fixture(autouse=True)
def strict_off_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite on a thread that runs an asyncio loop raises here instead of logging a warning."""
    monkeypatch.setenv(STRICT_OFF_LOOP_ENV, "1")


async def test_each_outcome_from_real_calls(pbx: Pbx, tmp_path: Path) -> None:
    with HistoryStore(tmp_path / "history.sqlite3") as store:
        agent = await pbx.login()
        agent.connector.add_listener(HistoryRecorder(store, "user:1001"))
        await agent.connector.set_auto_answer(True)

        answered = pbx.exchange.inbound_call(CALLER, "1001", "Ann Swered")
        await agent.connector.answer(answered.id)
        pbx.advance(42)
        await agent.connector.terminate(answered.id)

        missed = pbx.exchange.inbound_call("+12025550189", "1001", "Miss Ed")
        pbx.advance(5)
        pbx.exchange.remote_hangup(missed.id)

        rejected = pbx.exchange.inbound_call("+12025550190", "1001", "Re Jected")
        await agent.connector.reject(rejected.id)

        cancelled = (await agent.connector.call("+12025550102")).value  # busy
        pbx.advance(2)

        transferred = pbx.exchange.inbound_call("+12025550191", "1001", "Trans Ferred")
        await agent.connector.answer(transferred.id)
        await agent.connector.transfer(transferred.id, "6001")

        watched_elsewhere = pbx.exchange.inbound_call("+12025550192", "1002", "Not Mine")
        pbx.advance(40)  # rings out on 1002's line: not in 1001's history

        # The recorder hands calls to the store's writer thread; the reads go to a thread too (strict here).
        assert await asyncio.to_thread(store.wait_written, 30)
        page = await asyncio.to_thread(store.query, "user:1001", limit=10)
        outcomes = {row.id: row.outcome for row in page.rows}
        assert outcomes == {
            answered.id: Outcome.ANSWERED,
            missed.id: Outcome.MISSED,
            rejected.id: Outcome.REJECTED,
            cancelled: Outcome.CANCELLED,
            transferred.id: Outcome.TRANSFERRED,
        }
        assert watched_elsewhere.id not in outcomes
        row = next(r for r in page.rows if r.id == answered.id)
        assert (row.direction, row.party, row.party_name) == (Direction.INBOUND, CALLER, "Ann Swered")
        assert row.talk_seconds == 42
        assert page.rows[0].id == transferred.id  # newest first
        missed_page = await asyncio.to_thread(store.query, "user:1001", outcome=Outcome.MISSED)
        assert [r.id for r in missed_page.rows] == [missed.id]
        found = await asyncio.to_thread(store.query, "user:1001", search="ann")
        assert [r.id for r in found.rows] == [answered.id]
