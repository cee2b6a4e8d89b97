"""The call history: one SQLite row per ended call and owner line, searchable, paged and exportable.

SQLite in WAL mode with ``synchronous=NORMAL``: each call is committed to the OS as soon as it is written, so
a killed process loses nothing it acknowledged, and readers (the history pane, a CSV export) never block the
writer. The file carries a schema version so an upgrade never breaks old data; a file we do not understand
(damaged, foreign or written by a newer cti-tui) is refused with :class:`HistoryError` and left exactly as it is.

Nothing here runs on an event loop: the app and the servers hand ended calls to a writer thread (a bounded
queue, see :meth:`HistoryStore.submit`) and query from worker threads. Every statement checks where it runs;
with ``CTI_TUI_STRICT_OFF_LOOP=1`` (the tests) SQLite on a thread that runs an asyncio loop raises.

Substring search uses an FTS5 trigram index (kept in step with ``calls`` by triggers), so finding a number or
a name among a million calls does not scan them all; terms shorter than a trigram fall back to ``LIKE``.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import csv
import json
import logging
import os
import queue
import re
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, TextIO

from cti_tui import paths
from cti_tui.core.availability import Availability
from cti_tui.core.history import (
    Cancellation,
    HistoryCancelled,
    HistoryError,
    HistoryPage,
    HistoryRow,
    Outcome,
    derive_outcome,
)
from cti_tui.core.model import AgentEvent, Call, CallEvent, CallStatus, Direction, Event

__all__ = [
    "CSV_HEADER",
    "SCHEMA_VERSION",
    "STRICT_OFF_LOOP_ENV",
    "WRITE_QUEUE_LIMIT",
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

log = logging.getLogger(__name__)

SCHEMA_VERSION = 3
"""The schema this code writes. Bump it and add the steps to ``_MIGRATIONS`` when the tables change.

1: calls and their search index. 2: ``call_counts``, so that "History · 1000000" costs no count of the rows.
3: the agent's disposition and note of each call (after-call work), searchable.
"""

_BUSY_TIMEOUT = 5.0  # seconds to wait for another process (a second cti-tui) holding the write lock
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

WRITE_QUEUE_LIMIT = 10_000
"""Ended calls waiting for the writer thread at most. A person's line ends a call a minute; even a server's
many lines stay far below this unless the disk stops, and then a call is refused (``on_error``) rather than
the event loop made to wait for the disk."""

STRICT_OFF_LOOP_ENV = "CTI_TUI_STRICT_OFF_LOOP"


class SqliteOnLoopError(RuntimeError):
    """SQLite was about to run on a thread that runs an asyncio loop (raised only in strict mode)."""


_warned_on_loop = False


def _off_the_loop(what: str) -> None:
    """Refuse (strict mode) or log once: a statement on the event loop's thread freezes the UI or a server for
    as long as the disk or a search takes (a search of a million rows took seconds on the loop)."""
    global _warned_on_loop
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return  # no loop runs on this thread: a worker, the writer, a script
    message = f"{what} ran SQLite on the thread of a running asyncio loop; use a worker thread"
    if os.environ.get(STRICT_OFF_LOOP_ENV) == "1":
        raise SqliteOnLoopError(message)
    if not _warned_on_loop:
        _warned_on_loop = True
        log.warning("%s", message)


class _Connection(sqlite3.Connection):
    """A connection whose statements check that they are off the event loop once ``guarded`` (after open)."""

    guarded = False

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        if self.guarded:
            _off_the_loop("call history")
        return super().execute(sql, parameters)

    def executemany(self, sql: str, parameters: Any, /) -> sqlite3.Cursor:
        if self.guarded:
            _off_the_loop("call history")
        return super().executemany(sql, parameters)


def default_history_path() -> Path:
    """The user's data folder (platformdirs), or ``$CTI_TUI_DATA_DIR`` — see :mod:`cti_tui.paths`."""
    return paths.history_path()


# --- schema -------------------------------------------------------------------------------------------------

_CALL_COLUMNS = (
    "id",
    "owner",
    "direction",
    "source",
    "source_name",
    "destination",
    "destination_name",
    "line",
    "cause",
    "outcome",
    "setup_at",
    "connect_at",
    "release_at",
    "ringing_seconds",
    "talk_seconds",
    "status",
)
# --- after-call work (schema 3): what the agent said about a call, written after the call itself ----------
_WRAP_UP_COLUMNS = ("disposition", "note")
_COLUMNS = (*_CALL_COLUMNS, *_WRAP_UP_COLUMNS)
_SET_DISPOSITION = "UPDATE calls SET disposition = :disposition, note = :note WHERE owner = :owner AND id = :id"
# ---
_TEXT_COLUMNS = ("source", "source_name", "destination", "destination_name", *_WRAP_UP_COLUMNS)
# The numbers without formatting, stored only when they differ from the number (else ''), for digit searches.
_COMPACT_COLUMNS = ("source_digits", "destination_digits")
_NUMBER_COLUMNS = ("source", "destination", *_COMPACT_COLUMNS)
_INDEXED_COLUMNS = (*_TEXT_COLUMNS, *_COMPACT_COLUMNS)

_CREATE_TABLES = (
    """CREATE TABLE schema_version (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        version INTEGER NOT NULL
    )""",
    # row_id is explicit because VACUUM may renumber an implicit rowid, and the search index refers to it.
    # (owner, id) is unique rather than id alone: two accounts sharing the file may both see one call.
    """CREATE TABLE calls (
        row_id INTEGER PRIMARY KEY,
        id TEXT NOT NULL,
        owner TEXT NOT NULL,
        direction TEXT NOT NULL,
        source TEXT NOT NULL,
        source_name TEXT NOT NULL,
        destination TEXT NOT NULL,
        destination_name TEXT NOT NULL,
        line TEXT NOT NULL,
        cause TEXT NOT NULL,
        outcome TEXT NOT NULL,
        setup_at TEXT,
        connect_at TEXT,
        release_at TEXT,
        ringing_seconds REAL NOT NULL,
        talk_seconds REAL NOT NULL,
        status TEXT NOT NULL,
        source_digits TEXT NOT NULL,
        destination_digits TEXT NOT NULL,
        disposition TEXT NOT NULL DEFAULT '',
        note TEXT NOT NULL DEFAULT '',
        UNIQUE (owner, id)
    )""",
    "CREATE INDEX calls_by_owner ON calls (owner, release_at DESC, id DESC)",
    "CREATE INDEX calls_by_owner_outcome ON calls (owner, outcome, release_at DESC, id DESC)",
    "CREATE INDEX calls_by_owner_direction ON calls (owner, direction, release_at DESC, id DESC)",
)

_FTS_COLS = ", ".join(_INDEXED_COLUMNS)
_FTS_NEW = ", ".join(f"new.{c}" for c in _INDEXED_COLUMNS)
_FTS_OLD = ", ".join(f"old.{c}" for c in _INDEXED_COLUMNS)
_FTS_ADD = f"INSERT INTO calls_search (rowid, {_FTS_COLS}) VALUES (new.row_id, {_FTS_NEW});"
_FTS_REMOVE = f"INSERT INTO calls_search (calls_search, rowid, {_FTS_COLS}) VALUES ('delete', old.row_id, {_FTS_OLD});"
_CREATE_SEARCH = (
    f"""CREATE VIRTUAL TABLE calls_search USING fts5(
        {_FTS_COLS}, content='calls', content_rowid='row_id', tokenize='trigram'
    )""",
    f"CREATE TRIGGER calls_search_insert AFTER INSERT ON calls BEGIN {_FTS_ADD} END",
    f"CREATE TRIGGER calls_search_delete AFTER DELETE ON calls BEGIN {_FTS_REMOVE} END",
    f"CREATE TRIGGER calls_search_update AFTER UPDATE ON calls BEGIN {_FTS_REMOVE} {_FTS_ADD} END",
)

# How many calls each owner has per outcome and direction, kept by triggers: the total of a page without a
# search is a sum over a handful of rows instead of a count over all of the owner's calls (50 ms at a million).
_COUNT_KEY = "owner, outcome, direction"
_COUNT_UP = (
    f"INSERT INTO call_counts ({_COUNT_KEY}, calls) VALUES (new.owner, new.outcome, new.direction, 1) "
    f"ON CONFLICT ({_COUNT_KEY}) DO UPDATE SET calls = calls + 1;"
)
_COUNT_DOWN = (
    "UPDATE call_counts SET calls = calls - 1 "
    "WHERE owner = old.owner AND outcome = old.outcome AND direction = old.direction;"
)
_CREATE_COUNTS = (
    f"""CREATE TABLE call_counts (
        owner TEXT NOT NULL,
        outcome TEXT NOT NULL,
        direction TEXT NOT NULL,
        calls INTEGER NOT NULL,
        PRIMARY KEY ({_COUNT_KEY})
    ) WITHOUT ROWID""",
    f"CREATE TRIGGER call_counts_insert AFTER INSERT ON calls BEGIN {_COUNT_UP} END",
    f"CREATE TRIGGER call_counts_delete AFTER DELETE ON calls BEGIN {_COUNT_DOWN} END",
    f"CREATE TRIGGER call_counts_update AFTER UPDATE OF {_COUNT_KEY} ON calls BEGIN {_COUNT_DOWN} {_COUNT_UP} END",
)

# Steps from version N to N + 1, applied in order inside one transaction when an older file is opened.
_MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        *_CREATE_COUNTS,
        f"INSERT INTO call_counts ({_COUNT_KEY}, calls) SELECT {_COUNT_KEY}, count(*) FROM calls GROUP BY {_COUNT_KEY}",
    ),
    2: tuple(f"ALTER TABLE calls ADD COLUMN {column} TEXT NOT NULL DEFAULT ''" for column in _WRAP_UP_COLUMNS),
}
# A file with a search index gets it rebuilt over the new columns too (after the step's statements).
_REINDEX_AFTER = {
    2: (
        "DROP TRIGGER calls_search_insert",
        "DROP TRIGGER calls_search_delete",
        "DROP TRIGGER calls_search_update",
        "DROP TABLE calls_search",
        *_CREATE_SEARCH,
        "INSERT INTO calls_search (calls_search) VALUES ('rebuild')",
    ),
}

_UPSERT = (
    f"INSERT INTO calls ({', '.join((*_COLUMNS, *_COMPACT_COLUMNS))}) "
    f"VALUES ({', '.join(f':{c}' for c in (*_COLUMNS, *_COMPACT_COLUMNS))}) "
    "ON CONFLICT (owner, id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in (*_CALL_COLUMNS, *_COMPACT_COLUMNS) if c not in ("id", "owner"))
)
_SELECT = ", ".join(f"calls.{c}" for c in _COLUMNS)
_NEWEST_FIRST = "ORDER BY calls.release_at DESC, calls.id DESC"
# Up to this many search matches a page sorts them; beyond, it walks the owner's rows newest first instead.
# A query that need not count exactly stops counting there too.
_SORT_AT_MOST = 20_000

_CORRUPT_CODES = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})


def _fts5_trigram_available(conn: sqlite3.Connection) -> bool:
    """Some SQLite builds lack FTS5 (or are older than 3.34, without trigrams); search then uses LIKE."""
    try:
        conn.execute("CREATE VIRTUAL TABLE temp.cti_fts5_probe USING fts5(x, tokenize='trigram')")
    except sqlite3.OperationalError:
        return False
    conn.execute("DROP TABLE temp.cti_fts5_probe")
    return True


def _private_file(path: Path) -> None:
    """Who called whom is personal data: the folder is made 0700 and a new file 0600 before SQLite opens it
    (SQLite gives its -wal and -shm files the database's mode)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(OSError):  # there already, or cannot be made: opening it says which
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))  # an empty file is a new database


def _tighten(path: Path) -> None:
    """A history that others may read (made by an older cti-tui) becomes 0600, its contents untouched, and
    cti-tui's own data folder 0700 (a history file elsewhere may sit in a shared folder: that is left alone); only
    once the file was accepted, so that a refused file is left exactly as it was."""
    for member in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        with contextlib.suppress(OSError):  # not there, or not ours to change: SQLite will say if it matters
            if member.stat().st_mode & 0o077:
                member.chmod(0o600)
    with contextlib.suppress(OSError):
        if path.parent == paths.data_dir() and path.parent.stat().st_mode & 0o077:
            path.parent.chmod(0o700)


def _lower_this_threads_priority() -> None:
    """Nice the calling thread (Linux schedules threads as tasks: a thread id is a process id to setpriority);
    elsewhere, or when not allowed, it keeps its priority."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)


@contextmanager
def _transaction(conn: sqlite3.Connection, begin: str = "BEGIN") -> Iterator[None]:
    conn.execute(begin)
    try:
        yield
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


# --- values -------------------------------------------------------------------------------------------------

# Formatting people type in numbers: spaces, dashes, dots, brackets, slashes.
_FORMATTING = re.compile(r"[\s\-.()\[\]/]")
_DIGITISH = re.compile(r"[\d\s\-.()\[\]/+]*\d[\d\s\-.()\[\]/+]*")


def _compact(number: str) -> str:
    compact = _FORMATTING.sub("", number)
    return "" if compact == number else compact


def _to_text(moment: datetime | None) -> str | None:
    """Fixed-width ISO-8601 UTC (``2024-05-01T09:30:00.000000Z``), so text order is time order."""
    if moment is None:
        return None
    if moment.tzinfo is None:  # the engine's clocks are UTC; a naive time is taken to be UTC too
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _from_text(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _values(call: Call, owner: str) -> dict[str, Any]:
    end = call.release_at or call.connect_at or call.setup_at or _EPOCH
    return {
        "id": call.id,
        "owner": owner,
        "direction": call.direction.value,
        "source": call.source,
        "source_name": call.source_name,
        "destination": call.destination,
        "destination_name": call.destination_name,
        "line": call.line,
        "cause": str(call.cause),
        "outcome": derive_outcome(call).value,
        "setup_at": _to_text(call.setup_at),
        "connect_at": _to_text(call.connect_at),
        "release_at": _to_text(call.release_at),
        "ringing_seconds": call.ringing_seconds(end),
        "talk_seconds": call.talk_seconds(end),
        "status": call.status.value,
        "source_digits": _compact(call.source),
        "destination_digits": _compact(call.destination),
        "disposition": "",  # a new row has none yet; a repeat of the call keeps the one it has
        "note": "",
    }


def _row(record: tuple[Any, ...]) -> HistoryRow:
    id_, owner, direction, source, source_name, destination, destination_name, line, cause = record[:9]
    outcome, setup_at, connect_at, release_at, ringing, talk, status, disposition, note = record[9:]
    return HistoryRow(
        id=id_,
        owner=owner,
        direction=Direction(direction),
        source=source,
        source_name=source_name,
        destination=destination,
        destination_name=destination_name,
        line=line,
        cause=cause,
        outcome=Outcome(outcome),
        setup_at=_from_text(setup_at),
        connect_at=_from_text(connect_at),
        release_at=_from_text(release_at),
        ringing_seconds=float(ringing),
        talk_seconds=float(talk),
        status=CallStatus(status),
        disposition=disposition,
        note=note,
    )


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _fts_phrase(text: str) -> str:
    """A trigram phrase matches as a plain substring; only the double quote needs escaping."""
    return '"' + text.replace('"', '""') + '"'


# --- CSV ----------------------------------------------------------------------------------------------------

CSV_HEADER = (
    "id",
    "owner",
    "direction",
    "status",
    "outcome",
    "cause",
    "line",
    "party",
    "party_name",
    "source",
    "source_name",
    "destination",
    "destination_name",
    "setup_at",
    "connect_at",
    "release_at",
    "ringing_seconds",
    "talk_seconds",
    "disposition",
    "note",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"\+?[\d\s\-.()]+")


def _cell(text: str) -> str:
    """Caller names come from outside; a spreadsheet would run ``=...`` as a formula (CSV injection)."""
    if text.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def _csv_cells(record: tuple[Any, ...]) -> list[Any]:
    """A CSV line straight from a ``_SELECT`` record: stored times are already ISO-8601 UTC text."""
    id_, owner, direction, source, source_name, destination, destination_name, line, cause = record[:9]
    outcome, setup_at, connect_at, release_at, ringing, talk, status, disposition, note = record[9:]
    inbound = direction == Direction.INBOUND
    party, party_name = (source, source_name) if inbound else (destination, destination_name)
    texts = (id_, owner, direction, status, outcome, cause, line, party, party_name)
    names = (source, source_name, destination, destination_name)
    return [
        *map(_cell, texts),
        *map(_cell, names),
        setup_at or "",
        connect_at or "",
        release_at or "",
        round(ringing, 3),
        round(talk, 3),
        _cell(disposition),
        _cell(note),
    ]


class _RowWriter:
    """Writes exported rows to a text stream in one format."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out

    def row(self, record: tuple[Any, ...]) -> None:
        raise NotImplementedError

    def end(self) -> None:
        pass


class _CsvRows(_RowWriter):
    def __init__(self, out: IO[str]) -> None:
        super().__init__(out)
        self.writer = csv.writer(out)
        self.writer.writerow(CSV_HEADER)

    def row(self, record: tuple[Any, ...]) -> None:
        self.writer.writerow(_csv_cells(record))


class _JsonRows(_RowWriter):
    """One JSON array, streamed: a row at a time, never the whole export in memory."""

    def __init__(self, out: IO[str]) -> None:
        super().__init__(out)
        self.first = True
        out.write("[")

    def row(self, record: tuple[Any, ...]) -> None:
        cells = _json_cells(record)
        self.out.write(("\n" if self.first else ",\n") + json.dumps(dict(zip(CSV_HEADER, cells, strict=True))))
        self.first = False

    def end(self) -> None:
        self.out.write("\n]\n")


def _json_cells(record: tuple[Any, ...]) -> list[Any]:
    id_, owner, direction, source, source_name, destination, destination_name, line, cause = record[:9]
    outcome, setup_at, connect_at, release_at, ringing, talk, status, disposition, note = record[9:]
    inbound = direction == Direction.INBOUND
    party, party_name = (source, source_name) if inbound else (destination, destination_name)
    return [
        *(id_, owner, direction, status, outcome, cause, line, party, party_name),
        *(source, source_name, destination, destination_name),
        *(setup_at, connect_at, release_at),
        round(ringing, 3),
        round(talk, 3),
        disposition,
        note,
    ]


# --- the store ----------------------------------------------------------------------------------------------

# A search matching more than _SORT_AT_MOST rows is paged by walking the owner's rows newest first, a window
# of rows at a time, and asking the search index for its matches among the row ids the window spans (one
# index lookup per window, not one per row: per row it took 0.3 ms, and 236 s for "Caller 1" at a million rows
# whose matches were all old). Windows double from _WALK_CHUNK up to _WALK_CHUNK_MAX rows.
_WALK_CHUNK = 1_000
_WALK_CHUNK_MAX = 256_000
# Row ids follow time when calls are filed as they end. When a window's row ids spread over more than this
# many times its size (rows filed out of order, or a file shared by very many lines), each window would ask
# the index about much of the file: the set of all matches is built once instead.
_WALK_SPREAD = 64
_EXPORT_PROGRESS_EVERY = 1_000  # rows between two progress reports of an export


@dataclass(frozen=True, slots=True)
class _Write:
    """An ended call waiting for the writer thread, and the future its recorder holds."""

    call_id: str
    values: dict[str, Any]
    done: Future[None]
    sql: str | None = None  # another statement than the call's upsert (a disposition)


class HistoryStore:
    """The call history file. Thread-safe: one connection writes, another reads, each behind its own lock;
    calls handed over with :meth:`submit` are written by a thread of the store's own, in order."""

    def __init__(
        self, path: Path | None = None, *, check_in_background: bool = False, check_delay: float = 0.0
    ) -> None:
        """Open (or create) the file; raises :class:`HistoryError` for a file it must not touch.

        The full integrity check reads the whole file (~0.7 s for a million calls). ``check_in_background``
        runs it on a thread of its own instead, ``check_delay`` seconds later (an app starting up has better
        use for the CPU), for an app that should not wait for it. The cheap checks (SQLite header, schema,
        schema version) still run here; nothing is written until the full check has passed (submitted calls
        wait in the writer's queue), and if it fails the store closes and every later call raises the damage,
        the file untouched. A file that must be created or migrated is always checked in full here.
        """
        self.path = Path(path) if path is not None else default_history_path()
        _private_file(self.path)
        self._write_lock = threading.Lock()
        self._read_lock = threading.Lock()
        self._checked = threading.Event()
        self._damage: HistoryError | None = None
        self._damage_watchers: list[Callable[[HistoryError], None]] = []  # guarded by _progress
        self._checker: threading.Thread | None = None
        self._closing = threading.Event()  # close(): stop the check, nothing waits to be written
        self._wake = threading.Event()  # ends the check's delay: closing, or close() hurrying it for waiting rows
        self._writes: queue.SimpleQueue[_Write | None] = queue.SimpleQueue()  # bounded by submit()
        self._writer_thread: threading.Thread | None = None
        self._progress = threading.Condition()  # guards the counts below and _closed
        self._submitted = 0
        self._finished = 0
        self._closed = False
        self._writer = self._connect()
        try:
            self._searchable = self._prepare(self._writer, full_check=not check_in_background)
            self._reader = self._connect()
            self._reader.execute("PRAGMA query_only = ON")
            _tighten(self.path)
        except BaseException:
            self._writer.close()
            raise
        # Opening runs where the caller runs (the app's composition, before a loop may need it); from here on
        # every statement must be off the event loop.
        self._writer.guarded = self._reader.guarded = True
        if not self._checked.is_set():
            try:
                self._start_checker(check_delay)
            except BaseException:
                self.close()
                raise

    # -- opening

    def _connect(self) -> _Connection:
        try:
            return sqlite3.connect(
                self.path,
                timeout=_BUSY_TIMEOUT,
                isolation_level=None,
                check_same_thread=False,
                factory=_Connection,
            )
        except sqlite3.Error as exc:
            raise HistoryError(f"cannot open call history {self.path}: {exc}", self.path) from exc

    def _prepare(self, conn: sqlite3.Connection, *, full_check: bool) -> bool:
        """Check the file read-only, then switch to WAL and create or migrate. True: it has a search index."""
        try:
            version = self._schema_version(conn)  # refuses foreign and newer files before anything is written
            searchable = self._has_search_index(conn)
            if searchable and not _fts5_trigram_available(conn):
                raise HistoryError(
                    f"call history {self.path} has a full-text search index, but this Python's SQLite "
                    f"{sqlite3.sqlite_version} lacks FTS5 trigram support. It was left untouched.",
                    self.path,
                )
            journal = str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower()
            if full_check or version is None or version < SCHEMA_VERSION or journal != "wal":
                self._check_integrity(conn)  # about to write (or asked to): the whole file first
                self._checked.set()
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                log.warning("call history %s: journal mode is %s, not WAL", self.path, mode)
            conn.execute("PRAGMA synchronous = NORMAL")
            with _transaction(conn, "BEGIN IMMEDIATE"):
                version = self._schema_version(conn)  # again under the lock: another process may have won
                if version is None:
                    self._create(conn)
                elif version < SCHEMA_VERSION:
                    self._migrate(conn, version)
            return self._has_search_index(conn)
        except sqlite3.DatabaseError as exc:
            raise self._unreadable(exc) from exc

    def _start_checker(self, delay: float) -> None:
        self._checker_connection = self._connect()  # its own, so that close() can interrupt it
        self._checker_connection.execute("PRAGMA query_only = ON")
        self._checker_connection.guarded = True
        self._checker = threading.Thread(
            target=self._check_in_background,
            args=(self._checker_connection, delay),
            name="history-check",
            daemon=True,
        )
        self._checker.start()

    def _check_in_background(self, connection: sqlite3.Connection, delay: float) -> None:
        _lower_this_threads_priority()  # the check may take the CPU the app does not want
        try:
            self._wake.wait(delay)
            if not self._closing.is_set():
                self._check_integrity(connection)
        except HistoryError as exc:
            self._refuse(exc)
        except sqlite3.OperationalError as exc:
            if "interrupted" not in str(exc):  # close() stopped the check: nothing was found
                self._refuse(self._unreadable(exc))
        except sqlite3.DatabaseError as exc:
            self._refuse(self._unreadable(exc))
        except Exception as exc:  # the check itself broke: nothing says the file is sound, so write nothing
            self._refuse(HistoryError(f"call history {self.path} could not be checked ({exc!r})", self.path))
        finally:
            connection.close()
            self._checked.set()

    def _refuse(self, damage: HistoryError) -> None:
        """The full check failed: close, so that nothing is ever written to the file and its WAL goes; then
        tell whoever watches (the app shows it at once, not at the next search)."""
        log.error("%s", damage)
        with self._progress:
            self._damage = damage
            watchers, self._damage_watchers = self._damage_watchers, []
        with self._write_lock, self._read_lock:
            self._reader.close()
            self._writer.close()
        for watcher in watchers:
            try:
                watcher(damage)
            except Exception:  # a watcher's bug must not hide the damage from the others
                log.exception("history damage watcher failed")

    def when_damaged(self, watcher: Callable[[HistoryError], None]) -> None:
        """Call ``watcher`` once with the damage the background check finds: on the checker's thread, or here
        at once when it was already found. Never called for a sound file."""
        with self._progress:
            damage = self._damage
            if damage is None:
                self._damage_watchers.append(watcher)
                return
        watcher(damage)

    def wait_checked(self, timeout: float | None = None) -> bool:
        """Wait for the full integrity check; True once it is done (its verdict: :attr:`damage`)."""
        _off_the_loop("HistoryStore.wait_checked")
        return self._checked.wait(timeout)

    @property
    def damage(self) -> HistoryError | None:
        """Why the file was refused after it was opened (the background check found it damaged), else None."""
        return self._damage

    def _sound(self) -> None:
        """Raise the damage the full check found; the caller is about to read the file."""
        if self._damage is not None:
            raise self._damage

    def _unreadable(self, exc: sqlite3.Error) -> HistoryError:
        if getattr(exc, "sqlite_errorcode", 0) & 0xFF in _CORRUPT_CODES:
            return self._damaged(str(exc))
        return HistoryError(f"cannot open call history {self.path}: {exc}", self.path)

    def _damaged(self, detail: str) -> HistoryError:
        return HistoryError(
            f"call history {self.path} is damaged or not a SQLite database ({detail}). "
            "It was left untouched; move it aside to start a new history.",
            self.path,
        )

    @staticmethod
    def _has_search_index(conn: sqlite3.Connection) -> bool:
        query = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'calls_search'"
        return conn.execute(query).fetchone() is not None

    def _check_integrity(self, conn: sqlite3.Connection) -> None:
        problems = [row[0] for row in conn.execute("PRAGMA quick_check(5)")]
        if problems != ["ok"]:
            raise self._damaged("; ".join(problems))

    def _schema_version(self, conn: sqlite3.Connection) -> int | None:
        """The file's schema version, ``None`` if empty; raises for a file this code must not touch."""
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not tables:
            return None
        if "schema_version" not in tables:
            raise HistoryError(
                f"{self.path} is a SQLite database but not a cti-tui call history (it has no schema_version "
                "table). It was left untouched.",
                self.path,
            )
        versions = [row[0] for row in conn.execute("SELECT version FROM schema_version")]
        if len(versions) != 1 or not isinstance(versions[0], int) or versions[0] < 1:
            raise self._damaged(f"schema_version holds {versions!r}")
        version = versions[0]
        if version > SCHEMA_VERSION:
            raise HistoryError(
                f"call history {self.path} has schema version {version}, newer than version {SCHEMA_VERSION} "
                "that this cti-tui understands. It was left untouched; upgrade cti-tui to use it.",
                self.path,
            )
        return version

    def _create(self, conn: sqlite3.Connection) -> None:
        for statement in (*_CREATE_TABLES, *_CREATE_COUNTS):
            conn.execute(statement)
        if _fts5_trigram_available(conn):
            for statement in _CREATE_SEARCH:
                conn.execute(statement)
        else:
            log.warning("SQLite %s lacks FTS5 trigrams: history search scans", sqlite3.sqlite_version)
        conn.execute("INSERT INTO schema_version (id, version) VALUES (1, ?)", (SCHEMA_VERSION,))

    def _migrate(self, conn: sqlite3.Connection, version: int) -> None:
        for step in range(version, SCHEMA_VERSION):
            searchable = self._has_search_index(conn)
            for statement in (*_MIGRATIONS[step], *(_REINDEX_AFTER.get(step, ()) if searchable else ())):
                conn.execute(statement)
        conn.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION,))

    # -- writing

    def record(self, call: Call, owner: str) -> None:
        """File an ended call under ``owner`` now, on this thread; a repeat of the same call id replaces the
        earlier row. Blocking (a script, an import, a test): an event loop hands calls to :meth:`submit`.

        The single INSERT runs in autocommit mode, so it is committed (in the WAL, handed to the OS) before
        this returns: a process killed right afterwards keeps the row.
        """
        if not call.ended:
            raise ValueError(f"call {call.id} is {call.status.value}; only ended calls go to history")
        _off_the_loop("HistoryStore.record")
        values = _values(call, owner)
        self._checked.wait()  # never write to a file before the full check has passed
        self._write(call.id, values)

    def submit(self, call: Call, owner: str) -> Future[None]:
        """Hand an ended call to the writer thread without waiting: safe on an event loop.

        The future resolves once the row is committed (as :meth:`record` commits it), or fails with
        :class:`HistoryError`: the file was refused or cannot be written, the store is closed, or
        ``WRITE_QUEUE_LIMIT`` calls already wait. Calls are written in the order they were submitted, after
        the full integrity check has passed; :meth:`close` writes what waits.
        """
        if not call.ended:
            raise ValueError(f"call {call.id} is {call.status.value}; only ended calls go to history")
        return self._enqueue(_Write(call.id, _values(call, owner), _started()))

    def submit_disposition(self, owner: str, call_id: str, disposition: str, note: str) -> Future[None]:
        """Hand the agent's disposition and note of an already filed call to the writer thread (after the
        call itself, in order); a call the history never filed is left alone."""
        values = {"owner": owner, "id": call_id, "disposition": disposition, "note": note}
        return self._enqueue(_Write(call_id, values, _started(), _SET_DISPOSITION))

    def _enqueue(self, write: _Write) -> Future[None]:
        done, call_id = write.done, write.call_id
        refusal: HistoryError | None = None
        with self._progress:
            if self._closed:
                refusal = HistoryError(f"call history {self.path} is closed: call {call_id} was not saved", self.path)
            elif self._damage is not None:
                refusal = self._damage
            elif self._submitted - self._finished >= WRITE_QUEUE_LIMIT:
                refusal = HistoryError(
                    f"{WRITE_QUEUE_LIMIT} calls are waiting to be written to {self.path}: call {call_id} was not saved",
                    self.path,
                )
            else:
                self._writes.put(write)  # never blocks: the count above is the bound
                self._submitted += 1
                self._start_writer()
        if refusal is not None:  # outside the lock: the future's callbacks run here
            done.set_exception(refusal)
        return done

    def wait_written(self, timeout: float | None = None) -> bool:
        """Block until every call submitted before now is committed or has failed; False on timeout.

        What a reader wants before it shows "the newest calls" right after one ended: the row may still be in
        the writer's queue (or waiting there for the integrity check, seconds after start-up).
        """
        _off_the_loop("HistoryStore.wait_written")
        with self._progress:
            target = self._submitted
            return self._progress.wait_for(lambda: self._finished >= target, timeout)

    def _start_writer(self) -> None:
        """The writer thread, on the first submitted call (a store that only reads never starts one). Called
        with ``_progress`` held."""
        if self._writer_thread is not None:
            return
        self._writer_thread = threading.Thread(target=self._write_queued, name="history-writer", daemon=True)
        self._writer_thread.start()
        atexit.register(self.close)  # an exit without close() still writes what waits (before daemons die)

    def _write_queued(self) -> None:
        while (write := self._writes.get()) is not None:
            try:
                self._checked.wait()  # rows wait here for the full check, never the event loop
                if write.sql is None:
                    self._write(write.call_id, write.values)
                else:
                    self._execute(write.call_id, write.sql, write.values)
            except HistoryError as exc:
                write.done.set_exception(exc)
            except Exception as exc:  # not a HistoryError: a bug, but the writer goes on and the caller hears
                log.exception("call %s not saved to history", write.call_id)
                write.done.set_exception(HistoryError(f"cannot save call {write.call_id}: {exc!r}", self.path))
            else:
                write.done.set_result(None)
            finally:
                with self._progress:
                    self._finished += 1
                    self._progress.notify_all()

    def _write(self, call_id: str, values: dict[str, Any]) -> None:
        self._execute(call_id, _UPSERT, values)

    def _execute(self, call_id: str, sql: str, values: dict[str, Any]) -> None:
        with self._write_lock:
            self._sound()
            try:
                self._writer.execute(sql, values)
            except sqlite3.Error as exc:
                raise HistoryError(f"cannot save call {call_id} to {self.path}: {exc}", self.path) from exc

    def record_many(self, calls: Iterable[Call], owner: str) -> int:
        """File many ended calls under ``owner`` in one transaction (an import, a benchmark's million rows):
        all or none, and far faster than one commit per call. Returns how many were filed."""
        count = 0

        def values() -> Iterator[dict[str, Any]]:
            nonlocal count
            for call in calls:
                if not call.ended:
                    raise ValueError(f"call {call.id} is {call.status.value}; only ended calls go to history")
                count += 1
                yield _values(call, owner)

        _off_the_loop("HistoryStore.record_many")
        self._checked.wait()
        with self._write_lock:
            self._sound()
            try:
                with _transaction(self._writer, "BEGIN IMMEDIATE"):
                    self._writer.executemany(_UPSERT, values())
            except sqlite3.Error as exc:
                raise HistoryError(f"cannot save calls to {self.path}: {exc}", self.path) from exc
        return count

    # -- reading

    def _filters(
        self,
        owner: str,
        search: str | None,
        outcome: Outcome | None,
        direction: Direction | None,
        *,
        plan: str = "sort",
        released_from: str | None = None,
    ) -> tuple[str, dict[str, Any]]:
        """``FROM ... WHERE ...`` for query and export: fixed SQL fragments, user input only in params.

        A search by index is planned one of two ways here. ``sort`` (the default) drives the join from the
        search index (CROSS JOIN fixes the order): it counts fast and sorts only the matches, best when they
        are few. ``set`` walks the owner's rows newest first and builds the set of matches once: for a whole
        export, where every row is visited. Many matches are paged by :meth:`_walk`, which uses ``:match``.
        """
        params: dict[str, Any] = {"owner": owner}
        source = "calls"
        where = ["calls.owner = :owner"]
        if outcome is not None:
            where.append("calls.outcome = :outcome")
            params["outcome"] = Outcome(outcome).value
        if direction is not None:
            where.append("calls.direction = :direction")
            params["direction"] = Direction(direction).value
        raw = (search or "").strip()
        if raw:
            # "202 555" or "(202) 555-01" should find +12025550143: digit-ish input is also tried compacted.
            digits = _FORMATTING.sub("", raw) if _DIGITISH.fullmatch(raw) else None
            terms = [raw] if digits is None else [raw, digits]
            if self._searchable and all(len(term) >= 3 for term in terms):
                match = f"{{{' '.join(_TEXT_COLUMNS)}}} : {_fts_phrase(raw)}"
                if digits is not None:
                    match += f" OR {{{' '.join(_NUMBER_COLUMNS)}}} : {_fts_phrase(digits)}"
                params["match"] = match
                if plan == "set":
                    where.append("calls.row_id IN (SELECT rowid FROM calls_search WHERE calls_search MATCH :match)")
                else:
                    source = "calls_search CROSS JOIN calls ON calls.row_id = calls_search.rowid"
                    where.append("calls_search MATCH :match")
            else:  # too short for a trigram (or no index): scan, case-insensitive for ASCII
                if released_from is not None:  # the scan's budget: an index range, so the scan stops there
                    where.append("calls.release_at >= :released_from")
                    params["released_from"] = released_from
                likes = [f"calls.{c} LIKE :raw ESCAPE '\\'" for c in _TEXT_COLUMNS]
                params["raw"] = _like_pattern(raw)
                if digits is not None:
                    likes += [f"calls.{c} LIKE :digits ESCAPE '\\'" for c in _NUMBER_COLUMNS]
                    params["digits"] = _like_pattern(digits)
                where.append(f"({' OR '.join(likes)})")
        return f"FROM {source} WHERE {' AND '.join(where)}", params

    def query(
        self,
        owner: str,
        *,
        search: str | None = None,
        outcome: Outcome | None = None,
        direction: Direction | None = None,
        limit: int = 50,
        offset: int = 0,
        exact_total: bool = True,
        cancel: Cancellation | None = None,
        scan_at_most: int | None = None,
    ) -> HistoryPage:
        """One page of ``owner``'s history, newest first, with the total count of matching rows. Blocking.

        Counting a search that matches most of a million rows takes seconds; ``exact_total=False`` (what a
        screen that shows "20000+" wants) stops counting after ``_SORT_AT_MOST`` matches. ``cancel`` stops
        the query where it is (:class:`HistoryCancelled`): a newer keystroke wants another answer.

        A search too short for the trigram index reads rows one by one; a rare one ("zq") read all of them.
        ``scan_at_most`` bounds that to the owner's newest calls (``searched_newest`` says so when it mattered):
        with the two budgets no search reads more than about that many rows plus ``_SORT_AT_MOST`` matches.
        """
        if limit < 0 or offset < 0:
            raise ValueError(f"limit and offset must not be negative (got {limit}, {offset})")
        if scan_at_most is not None and scan_at_most < 1:
            raise ValueError(f"scan_at_most must be at least 1 (got {scan_at_most})")
        searching = bool((search or "").strip())
        with self._read_lock, self._cancellable(self._reader, cancel, "search"):
            released_from = self._scan_start(owner, search, scan_at_most) if searching else None
        body, params = self._filters(owner, search, outcome, direction, released_from=released_from)
        if not searching:
            counting = self._kept_count(outcome, direction)
        elif exact_total:
            counting = f"SELECT count(*) {body}"
        else:
            counting = f"SELECT count(*) FROM (SELECT 1 {body} LIMIT {_SORT_AT_MOST + 1})"
        with self._read_lock, self._cancellable(self._reader, cancel, "search"):
            self._sound()
            try:
                with _transaction(self._reader):  # one snapshot, so the page and the total agree
                    total = self._reader.execute(counting, params).fetchone()[0]
                    records = None
                    if total > _SORT_AT_MOST and "match" in params:
                        records = self._walk(owner, outcome, direction, params["match"], limit, offset)
                        if records is None:  # row ids far from time order: the set of matches, once
                            body, params = self._filters(owner, search, outcome, direction, plan="set")
                    if records is None:
                        records = self._reader.execute(
                            f"SELECT {_SELECT} {body} {_NEWEST_FIRST} LIMIT :limit OFFSET :offset",
                            {**params, "limit": limit, "offset": offset},
                        ).fetchall()
            except sqlite3.Error as exc:
                raise HistoryError(f"cannot read call history {self.path}: {exc}", self.path) from exc
        # Many matches among the newest calls: "N+" as for any search not counted to the end. Fewer: older
        # calls were not looked at, and the page says how many were.
        searched = scan_at_most if released_from is not None and total <= _SORT_AT_MOST else None
        exact = (exact_total or not searching or total <= _SORT_AT_MOST) and searched is None
        return HistoryPage([_row(record) for record in records], total, exact, searched)

    def _scan_start(self, owner: str, search: str | None, scan_at_most: int | None) -> str | None:
        """The release time from which a scanning search (``scan_at_most`` newest calls) starts; None when the
        search uses the index, there is no budget, or the owner has no more calls than the budget."""
        if scan_at_most is None or "raw" not in self._filters(owner, search, None, None)[1]:
            return None
        self._sound()
        try:
            found = self._reader.execute(
                f"SELECT calls.release_at FROM calls WHERE calls.owner = :owner {_NEWEST_FIRST} LIMIT 1 OFFSET :n",
                {"owner": owner, "n": scan_at_most},
            ).fetchone()
        except sqlite3.Error as exc:
            raise HistoryError(f"cannot read call history {self.path}: {exc}", self.path) from exc
        return None if found is None or found[0] is None else str(found[0])

    def _walk(
        self,
        owner: str,
        outcome: Outcome | None,
        direction: Direction | None,
        match: str,
        limit: int,
        offset: int,
    ) -> list[Any] | None:
        """A page of a search with many matches: walk the owner's rows newest first, a window at a time, and
        ask the search index once per window for its matches between the window's lowest and highest row id.

        None when the row ids of a window spread too far (see ``_WALK_SPREAD``): the caller then uses ``set``.
        """
        body, params = self._filters(owner, None, outcome, direction)
        window = (
            f"SELECT calls.row_id AS row_id, calls.release_at AS release_at, calls.id AS id {body} "
            f"{_NEWEST_FIRST} LIMIT :chunk OFFSET :walked"
        )
        matches = (
            f"SELECT w.row_id FROM ({window}) AS w WHERE w.row_id IN "
            "(SELECT rowid FROM calls_search WHERE calls_search MATCH :match AND rowid BETWEEN :low AND :high) "
            "ORDER BY w.release_at DESC, w.id DESC LIMIT :wanted"
        )
        found: list[int] = []
        walked, chunk = 0, _WALK_CHUNK
        while len(found) < offset + limit:
            step = {**params, "chunk": chunk, "walked": walked}
            low, high, seen = self._reader.execute(
                f"SELECT min(row_id), max(row_id), count(*) FROM ({window})", step
            ).fetchone()
            if not seen:
                break
            if high - low + 1 > _WALK_SPREAD * seen:
                return None
            step.update(match=match, low=low, high=high, wanted=offset + limit - len(found))
            found += [row[0] for row in self._reader.execute(matches, step)]
            walked += seen
            if seen < chunk:
                break
            chunk = min(2 * chunk, _WALK_CHUNK_MAX)
        page = found[offset : offset + limit]
        if not page:
            return []
        marks = ", ".join("?" * len(page))
        return self._reader.execute(
            f"SELECT {_SELECT} FROM calls WHERE calls.row_id IN ({marks}) {_NEWEST_FIRST}", page
        ).fetchall()

    @contextmanager
    def _cancellable(self, conn: sqlite3.Connection, cancel: Cancellation | None, what: str) -> Iterator[None]:
        """While the block runs, ``cancel`` interrupts ``conn`` (and whatever it raises becomes
        :class:`HistoryCancelled`). The interrupt is unregistered before the block's lock is let go, so it
        never reaches the next user of the connection."""
        if cancel is None:
            yield
            return
        if cancel.cancelled:
            raise HistoryCancelled(f"{what} in {self.path} cancelled", self.path)
        unregister = cancel.register(conn.interrupt)
        try:
            yield
        except HistoryError as exc:
            if cancel.cancelled:
                raise HistoryCancelled(f"{what} in {self.path} cancelled", self.path) from exc
            raise
        finally:
            unregister()

    @staticmethod
    def _kept_count(outcome: Outcome | None, direction: Direction | None) -> str:
        """The total without a search, from ``call_counts`` (the same parameters as :meth:`_filters`)."""
        where = ["owner = :owner"]
        if outcome is not None:
            where.append("outcome = :outcome")
        if direction is not None:
            where.append("direction = :direction")
        return f"SELECT coalesce(sum(calls), 0) FROM call_counts WHERE {' AND '.join(where)}"

    def export_csv(
        self,
        owner: str,
        destination: Path | TextIO,
        *,
        search: str | None = None,
        outcome: Outcome | None = None,
        direction: Direction | None = None,
        progress: Callable[[int], None] | None = None,
        cancel: Cancellation | None = None,
    ) -> int:
        """Write a header and every matching row (newest first) as CSV; returns the number of rows. Blocking.

        Rows stream from the cursor of a connection of its own, so a big export neither fills memory nor
        holds up ``record``. A path is written atomically (:func:`cti_tui.paths.replacing`: a failed or
        cancelled export leaves nothing, an earlier file at the path stays whole); a text stream should be
        opened with ``newline=""`` as the csv module asks. ``progress`` is called with the rows written so far
        every ``_EXPORT_PROGRESS_EVERY`` rows and at the end, on this thread.
        """
        _off_the_loop("HistoryStore.export_csv")
        return self._export(owner, destination, _CsvRows, search, outcome, direction, progress, cancel)

    def export_json(
        self,
        owner: str,
        destination: Path | TextIO,
        *,
        search: str | None = None,
        outcome: Outcome | None = None,
        direction: Direction | None = None,
        progress: Callable[[int], None] | None = None,
        cancel: Cancellation | None = None,
    ) -> int:
        """As :meth:`export_csv`, as one JSON array of objects (the CSV's columns as keys, numbers as numbers,
        text as it was stored: JSON has no formulas to guard against)."""
        _off_the_loop("HistoryStore.export_json")
        return self._export(owner, destination, _JsonRows, search, outcome, direction, progress, cancel)

    def _export(
        self,
        owner: str,
        destination: Path | TextIO,
        rows: type[_RowWriter],
        search: str | None,
        outcome: Outcome | None,
        direction: Direction | None,
        progress: Callable[[int], None] | None,
        cancel: Cancellation | None,
    ) -> int:
        self._sound()
        if self._closed:
            raise HistoryError(f"call history {self.path} is closed: nothing exported", self.path)
        body, params = self._filters(owner, search, outcome, direction, plan="set")
        sql = f"SELECT {_SELECT} {body} {_NEWEST_FIRST}"
        if not isinstance(destination, str | os.PathLike):
            return self._write_csv(sql, params, destination, progress, cancel, rows)
        with paths.replacing(Path(destination), newline="") as out:
            return self._write_csv(sql, params, out, progress, cancel, rows)

    def _write_csv(
        self,
        sql: str,
        params: dict[str, Any],
        out: IO[str],
        progress: Callable[[int], None] | None,
        cancel: Cancellation | None,
        rows: type[_RowWriter] | None = None,
    ) -> int:
        conn = self._connect()
        conn.guarded = True
        try:
            with self._cancellable(conn, cancel, "export"):
                try:
                    conn.execute("PRAGMA query_only = ON")
                    writer = (rows or _CsvRows)(out)
                    count = 0
                    for record in conn.execute(sql, params):
                        writer.row(record)
                        count += 1
                        if progress is not None and count % _EXPORT_PROGRESS_EVERY == 0:
                            progress(count)
                    writer.end()
                    if progress is not None:
                        progress(count)
                    return count
                except sqlite3.Error as exc:
                    raise HistoryError(f"cannot export call history {self.path}: {exc}", self.path) from exc
        finally:
            conn.close()

    # -- lifetime

    def close(self) -> None:
        """Write what was submitted, then close the file. A full check still running is interrupted (and so
        finds nothing) unless calls wait for it: then it runs now, so that nothing goes to an unchecked file.
        Idempotent; blocks until the writer is done (an app closes its history when it exits)."""
        with self._progress:
            if self._closed:
                return
            self._closed = True
            waiting = self._submitted > self._finished
        atexit.unregister(self.close)
        if self._checker is not None:
            if not (waiting and not self._checked.is_set()):
                self._closing.set()
                with contextlib.suppress(sqlite3.ProgrammingError):  # the check may have just finished
                    self._checker_connection.interrupt()
            self._wake.set()
            self._checker.join()
        if self._writer_thread is not None:
            self._writes.put(None)
            self._writer_thread.join()
        with self._write_lock, self._read_lock:
            self._reader.close()
            self._writer.close()

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class HistoryRecorder:
    """A connector listener that files the owner line's ended calls, so history is complete without a UI.

    Listeners run inline in the connector's event delivery, on the event loop: the call goes to the store's
    writer thread (:meth:`HistoryStore.submit`), never to the disk from here. A failure is logged and handed
    to ``on_error`` (e.g. to show a notification) on the loop that delivered the event, never raised into it.
    """

    def __init__(
        self,
        store: HistoryStore,
        owner: str,
        on_error: Callable[[HistoryError], None] | None = None,
    ) -> None:
        self.store = store
        self.owner = owner
        self.on_error = on_error

    def __call__(self, event: Event) -> None:
        self.record(event)

    def record(self, event: Event) -> Future[None] | None:
        """Submit the call if the event ends one of the owner's calls; the future resolves once its row is
        committed (``cti-tui events`` may print HANGUP only then). None for any other event."""
        if isinstance(event, AgentEvent):
            return self._record_disposition(event.agent)
        if not isinstance(event, CallEvent):
            return None
        call = event.call
        if not call.ended or call.line != self.owner:
            return None
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        done = self.store.submit(call, self.owner)
        done.add_done_callback(lambda future: self._finished(future, call.id, loop))
        return done

    def _record_disposition(self, agent: Availability) -> Future[None] | None:
        """The owner's disposition and note of one of its calls go into that call's row."""
        if agent.line != self.owner or not agent.call_id or not agent.disposition:
            return None
        loop = _running_loop()
        done = self.store.submit_disposition(self.owner, agent.call_id, agent.disposition, agent.note)
        done.add_done_callback(lambda future: self._finished(future, agent.call_id, loop))
        return done

    def _finished(self, future: Future[None], call_id: str, loop: asyncio.AbstractEventLoop | None) -> None:
        """On the writer thread (or here, for a call refused at once): report a failure where it belongs."""
        exc = future.exception()
        if exc is None:
            return
        error = exc if isinstance(exc, HistoryError) else HistoryError(str(exc), self.store.path)
        log.warning("call %s not saved to history: %s", call_id, error)
        if self.on_error is None:
            return
        if loop is None or _running_loop() is loop:
            self.on_error(error)
            return
        with contextlib.suppress(RuntimeError):  # a closed loop (the app has exited): the log above is all
            loop.call_soon_threadsafe(self.on_error, error)


def _started() -> Future[None]:
    done: Future[None] = Future()
    done.set_running_or_notify_cancel()
    return done


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
