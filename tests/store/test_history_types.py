"""The history's plain types live in ``cti_tui.core.history`` (the UI imports them from there); the store
re-exports the very same objects, so ``from cti_tui.store import HistoryError`` and the like keep working."""

from __future__ import annotations

from cti_tui import store
from cti_tui.core import history
from cti_tui.store import history as store_history


def test_the_store_re_exports_the_core_types() -> None:
    names = ("Cancellation", "HistoryCancelled", "HistoryError", "HistoryPage", "HistoryRow", "Outcome")
    for name in (*names, "derive_outcome"):
        assert getattr(store, name) is getattr(history, name)
        assert getattr(store_history, name) is getattr(history, name)


def test_the_store_implements_the_protocol_the_ui_uses() -> None:
    """The methods and keyword arguments of ``CallHistory`` exist on ``HistoryStore`` (mypy checks the types)."""
    import inspect

    for name in ("query", "export_csv", "wait_written", "close"):
        wanted = inspect.signature(getattr(history.CallHistory, name)).parameters
        offered = inspect.signature(getattr(store.HistoryStore, name)).parameters
        assert list(wanted) == [p for p in offered if p in wanted], name
        assert set(wanted) <= set(offered), name
