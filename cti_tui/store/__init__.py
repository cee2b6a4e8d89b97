"""Persistence: the SQLite call history. Nothing outside this package opens the database."""

from cti_tui.store.history import (
    SCHEMA_VERSION,
    HistoryError,
    HistoryPage,
    HistoryRecorder,
    HistoryRow,
    HistoryStore,
    Outcome,
    default_history_path,
    derive_outcome,
)

__all__ = [
    "SCHEMA_VERSION",
    "HistoryError",
    "HistoryPage",
    "HistoryRecorder",
    "HistoryRow",
    "HistoryStore",
    "Outcome",
    "default_history_path",
    "derive_outcome",
]
