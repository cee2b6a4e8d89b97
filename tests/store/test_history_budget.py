"""Issue 15: no history search can run away. A fixed list of 50 terms (the one bench/history_search.py times at
a million rows) each returns a page or is cut by a budget: matches counted to ``_SORT_AT_MOST`` at most, and a
search too short for the trigram index reads only the ``scan_at_most`` newest calls (the page says so).

No timing here: the budgets are asserted on what the query returns and on how much work SQLite did (its
virtual-machine steps, counted with a progress handler). The caps are lowered so that 400 calls are "many".
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from cti_tui.store import history as history_module
from cti_tui.store.history import HistoryStore
from tests.store.test_history import OWNER, make_call

CALLS = 400
SORT_AT_MOST = 40
SCAN = 100
LIMIT = 50

# 50 terms: the "Caller 1", 1-2 characters (common and rare), digits with and without formatting,
# names, characters LIKE and FTS treat specially, text from outside the alphabet, and nothing at all.
TERMS = (
    *("Caller 1", "Caller", "Caller 12", "Caller 399", "aller", "ler 3", "Ada", "ada", "Lovelace", "Grace H"),
    *("Busy Bee", "Katherine Johnson", "nobody at all", "anonymous", "Zola"),
    *("1", "12", "99", "5", "0", "00", "9", "10", "+1", "+4"),
    *("202", "555", "2025550", "(202) 555", "202-555-01", "+1 202 555 0", "+44 20", "0399", "1001"),
    *("a", "e", "C", "zq", "zz", "x", "ü", "é", "→"),
    *("%", "_", "\\", "'", '"', "--", "()"),
)
assert len(TERMS) == 50 and len(set(TERMS)) == 50

NAMES = ("Ada Lovelace", "Grace Hopper", "Busy Bee Ltd", "Katherine Johnson", "Émile Zola")


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[HistoryStore]:
    monkeypatch.setattr(history_module, "_SORT_AT_MOST", SORT_AT_MOST)
    opened = HistoryStore(tmp_path / "history.sqlite3")
    calls = []
    for i in range(CALLS):
        name = NAMES[i % len(NAMES)] if i % 7 == 0 else f"Caller {i}"
        calls.append(make_call(f"c{i:03d}", minute=i, party=f"+1202555{i:04d}", party_name=name))
    calls.append(make_call("old-zq", minute=-1, party="+33 1 99 00", party_name="Zq Oldest"))  # older than all
    opened.record_many(calls, OWNER)
    yield opened
    opened.close()


def _matches(term: str, texts: list[str]) -> bool:
    wanted = term.strip().lower()
    digits = re.sub(r"[\s\-.()\[\]/]", "", term.strip())
    return any(wanted in t.lower() or (digits and digits in re.sub(r"[\s\-.()\[\]/]", "", t)) for t in texts)


def _scans(term: str) -> bool:
    """Whether the search reads rows one by one (too short for a trigram, also once compacted)."""
    raw = term.strip()
    digits = re.sub(r"[\s\-.()\[\]/]", "", raw)
    is_number = re.fullmatch(r"[\d\s\-.()\[\]/+]*\d[\d\s\-.()\[\]/+]*", raw) is not None
    return len(raw) < 3 or (is_number and len(digits) < 3)


@pytest.mark.parametrize("term", TERMS)
def test_each_term_returns_or_is_cut_within_the_budget(store: HistoryStore, term: str) -> None:
    page = store.query(OWNER, search=term, limit=LIMIT, exact_total=False, scan_at_most=SCAN)
    assert len(page.rows) <= LIMIT
    assert page.total <= SORT_AT_MOST + 1  # counting stopped at the cap
    for row in page.rows:
        assert _matches(term, [row.source, row.source_name, row.destination, row.destination_name]), row
    everything = store.query(OWNER, search=term, limit=CALLS + 1)  # no budget: the truth
    if not _scans(term):
        assert page.searched_newest is None
        assert [r.id for r in page.rows] == [r.id for r in everything.rows[:LIMIT]]
        return
    newest = store.query(OWNER, limit=SCAN + 1).rows  # the budget's window: the newest SCAN (+ a tie) calls
    window = {r.id for r in newest}
    assert {r.id for r in page.rows} <= window
    in_window = [r.id for r in everything.rows if r.id in window]
    assert [r.id for r in page.rows] == in_window[:LIMIT]
    if page.total <= SORT_AT_MOST:
        assert page.searched_newest == SCAN and not page.exact  # older calls were not looked at: it says so
    else:
        assert page.searched_newest is None and not page.exact  # "N+", as any search not counted to the end


def _steps(store: HistoryStore, **query: object) -> int:
    """SQLite virtual-machine steps (in hundreds) one query takes: its work, without a clock."""
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0

    store._reader.set_progress_handler(count, 100)
    try:
        store.query(OWNER, exact_total=False, **query)  # type: ignore[arg-type]
    finally:
        store._reader.set_progress_handler(None, 0)
    return steps


def test_a_rare_short_search_reads_only_the_newest_calls(store: HistoryStore) -> None:
    """ "zq" matches only the oldest call: without the budget the scan read every row (at a million, seconds);
    with it, the newest SCAN, and the page says the older ones were not searched."""
    unbounded = store.query(OWNER, search="zq", exact_total=False)
    assert [r.id for r in unbounded.rows] == ["old-zq"] and unbounded.searched_newest is None
    bounded = store.query(OWNER, search="zq", exact_total=False, scan_at_most=SCAN)
    assert bounded.rows == [] and bounded.searched_newest == SCAN and not bounded.exact
    assert _steps(store, search="zq", scan_at_most=SCAN) * 2 < _steps(store, search="zq")


def test_a_budget_larger_than_the_history_changes_nothing(store: HistoryStore) -> None:
    page = store.query(OWNER, search="zq", exact_total=False, scan_at_most=CALLS + 1)
    assert [r.id for r in page.rows] == ["old-zq"] and page.searched_newest is None and page.exact


def test_a_budget_below_one_is_refused(store: HistoryStore) -> None:
    with pytest.raises(ValueError, match="scan_at_most"):
        store.query(OWNER, search="a", scan_at_most=0)
