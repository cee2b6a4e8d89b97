"""Persistence: the SQLite call history. Nothing outside this package opens the database.

The plain types (rows, pages, outcomes, errors) live in :mod:`cti_tui.core.history`, where the front ends
find them without importing SQLite; they are re-exported here so that existing imports keep working.
"""

from cti_tui.store.history import (
    SCHEMA_VERSION,
    Cancellation,
    HistoryCancelled,
    HistoryError,
    HistoryPage,
    HistoryRecorder,
    HistoryRow,
    HistoryStore,
    Outcome,
    SqliteOnLoopError,
    default_history_path,
    derive_outcome,
)

__all__ = [
    "SCHEMA_VERSION",
    "Cancellation",
    "HistoryCancelled",
    "HistoryError",
    "HistoryPage",
    "HistoryRecorder",
    "HistoryRow",
    "HistoryStore",
    "Outcome",
    "SqliteOnLoopError",
    "default_history_path",
    "derive_outcome",
]
