"""After-call work in the history: the agent's disposition and note are kept with the call, searchable,
exported in CSV and JSON, and an existing (version 2) file is migrated with its rows and search intact."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path

from test_history import OWNER, _as_version_2, make_call

from cti_tui.core.availability import AgentState, Availability
from cti_tui.core.model import AgentEvent, CallEvent
from cti_tui.store import HistoryStore
from cti_tui.store.history import SCHEMA_VERSION, HistoryRecorder


def _disposed(call_id: str, code: str, note: str, extension: str = "1001") -> AgentEvent:
    return AgentEvent(9, Availability(extension, AgentState.WRAP_UP, call_id=call_id, disposition=code, note=note))


def test_the_recorder_keeps_the_disposition_and_note_with_the_call(tmp_path: Path) -> None:
    with HistoryStore(tmp_path / "history.sqlite3") as store:
        recorder = HistoryRecorder(store, OWNER)
        recorder(CallEvent(1, make_call("c1", minute=0)))
        recorder(CallEvent(2, make_call("c2", minute=1)))
        recorder(_disposed("c1", "sale", "wants the blue one"))
        recorder(_disposed("c2", "callback", "other agent's", extension="1002"))  # not this owner's
        assert store.wait_written(timeout=10)
        rows = {row.id: row for row in store.query(OWNER).rows}
        assert (rows["c1"].disposition, rows["c1"].note) == ("sale", "wants the blue one")
        assert (rows["c2"].disposition, rows["c2"].note) == ("", "")
        # a repeat of the call (a replay) keeps what the agent said about it
        store.record(make_call("c1", minute=0), OWNER)
        assert store.query(OWNER, search="blue one").rows[0].disposition == "sale"


def test_a_disposition_and_a_note_are_searchable(tmp_path: Path) -> None:
    with HistoryStore(tmp_path / "history.sqlite3") as store:
        for i in range(3):
            store.record(make_call(f"c{i}", minute=i), OWNER)
        store.submit_disposition(OWNER, "c1", "escalated", "refund over the limit").result(timeout=10)
        assert [r.id for r in store.query(OWNER, search="escalat").rows] == ["c1"]
        assert [r.id for r in store.query(OWNER, search="refund").rows] == ["c1"]
        assert [r.id for r in store.query(OWNER, search="re").rows] == ["c1"]  # too short for the index: a scan


def test_csv_and_json_exports_carry_the_disposition_and_note(tmp_path: Path) -> None:
    with HistoryStore(tmp_path / "history.sqlite3") as store:
        store.record(make_call("c1", minute=0), OWNER)
        store.record(make_call("c2", minute=1), OWNER)
        store.submit_disposition(OWNER, "c1", "resolved", '=HYPERLINK("x") "quoted"').result(timeout=10)
        out = io.StringIO(newline="")
        assert store.export_csv(OWNER, out) == 2
        rows = {r["id"]: r for r in csv.DictReader(io.StringIO(out.getvalue()))}
        assert rows["c1"]["disposition"] == "resolved"
        assert rows["c1"]["note"] == '\'=HYPERLINK("x") "quoted"'  # never a formula in a spreadsheet
        assert rows["c2"]["disposition"] == ""
        target = tmp_path / "history.json"
        assert store.export_json(OWNER, target, search="HYPERLINK") == 1
        exported = json.loads(target.read_text(encoding="utf-8"))
        assert [(r["id"], r["disposition"], r["note"], r["talk_seconds"]) for r in exported] == [
            ("c1", "resolved", '=HYPERLINK("x") "quoted"', 60.0)
        ]
        assert store.export_json(OWNER, tmp_path / "none.json", search="nothing like it") == 0
        assert json.loads((tmp_path / "none.json").read_text(encoding="utf-8")) == []


def test_a_version_2_file_is_migrated_keeping_its_calls_and_their_search(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    with HistoryStore(path) as store:
        store.record(make_call("old", minute=0, party_name="Zed Quill"), OWNER)
    _as_version_2(path)
    conn = sqlite3.connect(path)
    assert "disposition" not in {row[1] for row in conn.execute("PRAGMA table_info(calls)")}
    conn.close()
    with HistoryStore(path) as store:
        assert [r.id for r in store.query(OWNER, search="Zed Quill").rows] == ["old"]
        store.submit_disposition(OWNER, "old", "no_action", "wrong number").result(timeout=10)
        assert [r.id for r in store.query(OWNER, search="wrong number").rows] == ["old"]
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    assert conn.execute("SELECT disposition, note FROM calls").fetchall() == [("no_action", "wrong number")]
    conn.close()
