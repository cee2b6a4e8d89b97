"""History rows from real calls on the embedded PBX: one row per ended call, with each outcome."""

from __future__ import annotations

from pathlib import Path

from conftest import Pbx

from cti_tui.core.model import Direction
from cti_tui.store.history import HistoryRecorder, HistoryStore, Outcome

CALLER = "+12025550188"


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

        page = store.query("user:1001", limit=10)
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
        assert [r.id for r in store.query("user:1001", outcome=Outcome.MISSED).rows] == [missed.id]
        assert [r.id for r in store.query("user:1001", search="ann").rows] == [answered.id]
