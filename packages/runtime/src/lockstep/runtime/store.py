"""The run store: one SQLite database per run (stdlib ``sqlite3``, WAL).

Tables::

    meta        (key, value JSON)   strategy, params, engine, versions, data digest,
                                    setup, started/finished, status, error
    inputs      (seq, item)         every item the runtime fed the core, in order
                                    (market events or groups, intent batches); reports
                                    the core generates are not inputs: replay regenerates them
    records     (seq_id, origin, record, hash, prev_hash)   the whole trace
    checkpoints (seq_id, state_hash, snapshot)               periodic core snapshots
    results     (key, value JSON)   metrics, trades, final hashes, skip reports, the seal
    verifications (id, entry JSON)  outcomes of ``replay verify`` (created by the first one;
                                    outside the run and its seal)

JSON is canonical (sorted keys, no whitespace) for items, records and
snapshots, so stored bytes can be compared with a replay byte for byte.
Writes are buffered and committed in batches, always at a time-step boundary
(an input together with every record it produced), so a committed prefix is
always replayable. ``status`` is ``running`` from the first transaction and
becomes ``complete`` only in the last one: a run that was killed never looks
complete. ``PRAGMA application_id`` marks the file as a Lockstep run store and
``PRAGMA user_version`` holds the schema version.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lockstep.core import canonical_json
from lockstep.core.canonical import canonical_json_unchecked
from lockstep.runtime.claim import ClaimedConnection, StoreClaim, create_exclusively
from lockstep.runtime.errors import StoreError

SCHEMA_VERSION = 1
APPLICATION_ID = 0x4C4B5354  # "LKST"
SQLITE_HEADER = b"SQLite format 3\x00"
TABLES = ("meta", "inputs", "records", "checkpoints", "results")
STATUSES = ("running", "complete", "failed")
READ_MAP_BYTES = 1 << 40
"""How much of the file a read-only connection may memory-map (SQLite caps
it at its own build limit, 2 GiB by default): reading a large store through
the map instead of ``read`` calls saves a copy of every page, which is about
half of what ``quick_check`` and replay's reading cost."""

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE inputs (seq INTEGER PRIMARY KEY, item TEXT NOT NULL);
CREATE TABLE records (
    seq_id INTEGER PRIMARY KEY,
    origin TEXT NOT NULL,
    record TEXT NOT NULL,
    hash TEXT NOT NULL,
    prev_hash TEXT NOT NULL
);
-- state_hash before snapshot: reading the hashes then never walks a snapshot's overflow pages.
CREATE TABLE checkpoints (seq_id INTEGER PRIMARY KEY, state_hash TEXT NOT NULL, snapshot TEXT NOT NULL);
CREATE TABLE results (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


_VERIFICATIONS = (
    "CREATE TABLE IF NOT EXISTS verifications (id INTEGER PRIMARY KEY, entry TEXT NOT NULL)"
)
"""Created by the first ``replay verify`` of a store (not part of the run: see
:meth:`RunStore.record_verification`)."""


RecordRow = tuple[int, str, str, str, str]
"""A stored record as a plain row: seq_id, origin, record text, hash, prev_hash."""


@dataclass(frozen=True, slots=True)
class StoredRecord:
    seq_id: int
    origin: str
    record: str
    """Canonical JSON of the whole record, hash included."""
    hash: str
    prev_hash: str


@dataclass(frozen=True, slots=True)
class InputBlock:
    """Stored inputs as one JSON-lines block (one item per line) and their seq numbers."""

    seqs: list[int]
    data: bytes


@dataclass(frozen=True, slots=True)
class TraceChunk:
    """Consecutive stored records in the form :class:`lockstep.core.block.Expected` takes.

    ``lines`` holds the record texts and ``keys`` the ``seq_id origin hash
    prev_hash`` columns, one line per record, for ``rows`` records.
    """

    lines: bytes
    keys: bytes
    rows: int


class RunStore:
    """Write a run (:meth:`create`) or read one (:meth:`open`)."""

    def __init__(self, path: Path, conn: sqlite3.Connection, *, writable: bool) -> None:
        self.path = path
        self._conn = conn
        self._writable = writable
        self._inputs: list[tuple[int, str]] = []
        self._records: list[tuple[int, str, str, str, str]] = []
        self._checkpoints: list[tuple[int, str, str]] = []
        self._input_seq = 0
        self.records_written = 0
        self.batch_size = 1000
        self.on_flush: Callable[[int], None] | None = None

    # -- creating and writing -------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        path: str | Path,
        *,
        overwrite: bool = False,
        batch_size: int = 1000,
        on_flush: Callable[[int], None] | None = None,
    ) -> RunStore:
        """A new, empty store at ``path``; refuses an existing file unless ``overwrite``.

        The path is claimed first (:mod:`lockstep.runtime.claim`) and stays
        claimed until :meth:`close`: a second writer, or an ``overwrite`` of a
        store another process is writing, gets a :class:`StoreError` at once.
        """
        target = Path(path)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise StoreError(target, f"cannot create the run store: {err}") from None
        claim = StoreClaim.acquire(target)
        created = False
        try:
            if target.exists() and not overwrite:
                raise StoreError(target, "already exists; choose another path or overwrite it")
            # Under the claim, so only a dead writer's files go; a stray -wal next
            # to a new database would be replayed into it.
            for suffix in ("", "-wal", "-shm"):
                Path(f"{target}{suffix}").unlink(missing_ok=True)
            create_exclusively(target)
            created = True
            conn = sqlite3.connect(target, isolation_level=None, factory=ClaimedConnection)
            conn.claim = claim
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("BEGIN")
            for statement in _SCHEMA.strip().split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except (OSError, sqlite3.Error) as err:
            if created:
                target.unlink(missing_ok=True)
            claim.release()
            raise StoreError(target, f"cannot create the run store: {err}") from None
        except BaseException:
            claim.release()
            raise
        store = cls(target, conn, writable=True)
        store.batch_size = batch_size
        store.on_flush = on_flush
        return store

    def start(self, meta: Mapping[str, object]) -> None:
        """Write the run's metadata with ``status = running`` (committed at once)."""
        rows = [(k, json.dumps(v, sort_keys=True)) for k, v in meta.items()]
        rows.append(("status", json.dumps("running")))
        with self._transaction():
            self._conn.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", rows)

    def add_input(self, item: Mapping[str, Any], *, checked: bool = True) -> None:
        """Buffer an input item; ``checked=False`` skips the float scan for items known clean."""
        encode = canonical_json if checked else canonical_json_unchecked
        self.add_input_line(encode(item).decode())

    def add_input_line(self, line: str) -> None:
        """Buffer an input item given as its canonical JSON line (the native core's
        block line), kept as it is."""
        self._input_seq += 1
        self._inputs.append((self._input_seq, line))

    def add_records(self, records: list[dict[str, Any]], lines: list[str] | None = None) -> None:
        """Buffer trace records; ``lines`` are their canonical JSON lines when the core
        wrote them (the native core does), kept as they are rather than encoded again."""
        if lines is None:
            lines = [canonical_json_unchecked(r).decode() for r in records]
        for r, line in zip(records, lines, strict=True):
            self._records.append((r["seq_id"], r["origin"], line, r["hash"], r["prev_hash"]))

    def add_checkpoint(
        self, seq_id: int, snapshot: Mapping[str, Any] | bytes, state_hash: str
    ) -> None:
        """Queue a checkpoint: ``snapshot`` as a mapping, or as the canonical JSON
        ``Core.checkpoint`` returns (stored as it is)."""
        text = snapshot if isinstance(snapshot, bytes) else canonical_json_unchecked(snapshot)
        self._checkpoints.append((seq_id, text.decode(), state_hash))

    def step_done(self) -> None:
        """Called at a time-step boundary: commits once enough rows are buffered."""
        if max(len(self._records), len(self._inputs)) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        with self._transaction():
            self._write_buffers()
        if self.on_flush is not None:
            self.on_flush(self.records_written)

    def finish(self, results: Mapping[str, object], meta: Mapping[str, object]) -> None:
        """The last transaction: remaining rows, results, and ``status = complete``."""
        self._close_run("complete", results, meta)

    def fail(self, error: str, meta: Mapping[str, object]) -> None:
        """Keep what was committed, mark the run ``failed`` with the reason."""
        self._close_run("failed", {}, {**meta, "error": error})

    def _close_run(
        self, status: str, results: Mapping[str, object], meta: Mapping[str, object]
    ) -> None:
        rows = [(k, json.dumps(v, sort_keys=True)) for k, v in results.items()]
        meta_rows = [(k, json.dumps(v, sort_keys=True)) for k, v in meta.items()]
        meta_rows.append(("status", json.dumps(status)))
        with self._transaction():
            self._write_buffers()
            self._conn.executemany("INSERT OR REPLACE INTO results VALUES (?, ?)", rows)
            self._conn.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", meta_rows)

    def _write_buffers(self) -> None:
        self._conn.executemany("INSERT INTO inputs VALUES (?, ?)", self._inputs)
        self._conn.executemany("INSERT INTO records VALUES (?, ?, ?, ?, ?)", self._records)
        self._conn.executemany(
            "INSERT INTO checkpoints (seq_id, snapshot, state_hash) VALUES (?, ?, ?)",
            self._checkpoints,
        )
        self.records_written += len(self._records)
        self._inputs, self._records, self._checkpoints = [], [], []

    def _transaction(self) -> _Transaction:
        if not self._writable:
            raise StoreError(self.path, "opened read-only")
        return _Transaction(self)

    def close(self) -> None:
        """Close; a writer folds the WAL back into the database file so it is self-contained."""
        try:
            if self._writable:
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._conn.close()
        except sqlite3.Error as err:
            raise StoreError(self.path, f"cannot close: {err}") from None

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- opening and reading --------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | Path) -> RunStore:
        """Open an existing store for reading; anything else is a :class:`StoreError`."""
        target = Path(path)
        if not target.is_file():
            raise StoreError(target, "no such run store (file does not exist)")
        with target.open("rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
        if header != SQLITE_HEADER:
            raise StoreError(target, "not a Lockstep run store (not an SQLite database)")
        try:
            conn = sqlite3.connect(f"file:{target}?mode=rw", uri=True, isolation_level=None)
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = {
                row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
        except sqlite3.Error as err:
            raise StoreError(target, f"corrupt run store: {err}") from None
        if app_id != APPLICATION_ID:
            conn.close()
            raise StoreError(
                target, "not a Lockstep run store (SQLite file of another application)"
            )
        if version > SCHEMA_VERSION:
            conn.close()
            raise StoreError(
                target,
                f"written with store schema {version}; this lockstep-runtime reads up to {SCHEMA_VERSION}",
            )
        missing = [t for t in TABLES if t not in tables]
        if missing:
            conn.close()
            raise StoreError(target, f"corrupt run store: missing tables {', '.join(missing)}")
        return cls(target, conn, writable=False)

    def _query(self, sql: str, args: tuple[object, ...] = ()) -> Iterator[tuple[Any, ...]]:
        try:
            yield from self._conn.execute(sql, args)
        except sqlite3.Error as err:
            raise StoreError(self.path, f"corrupt run store: {err}") from None

    def _json(self, table: str, key: str, text: str) -> Any:
        try:
            return json.loads(text)
        except json.JSONDecodeError as err:
            raise StoreError(self.path, f"corrupt {table} entry {key!r}: {err.msg}") from None

    def meta(self) -> dict[str, Any]:
        return {k: self._json("meta", k, v) for k, v in self._query("SELECT key, value FROM meta")}

    @property
    def status(self) -> str:
        status = self.meta().get("status")
        return status if isinstance(status, str) else "unknown"

    def results(self) -> dict[str, Any]:
        return {
            k: self._json("results", k, v) for k, v in self._query("SELECT key, value FROM results")
        }

    def inputs(self) -> Iterator[tuple[int, dict[str, Any]]]:
        for seq, text in self._query("SELECT seq, item FROM inputs ORDER BY seq"):
            yield seq, self._json("inputs", str(seq), text)

    def records(self) -> Iterator[StoredRecord]:
        """Stored records in order, each with a consistency check of its columns."""
        for row in self.record_rows():
            yield StoredRecord(*row)

    def record_rows(self) -> Iterator[RecordRow]:
        """``(seq_id, origin, record, hash, prev_hash)`` rows in seq_id order, unparsed."""
        sql = "SELECT seq_id, origin, record, hash, prev_hash FROM records ORDER BY seq_id"
        for batch in self._fetch(self._conn, sql, 4096):
            yield from batch

    def record_texts(self) -> Iterator[str]:
        """Stored record texts in seq_id order, on a read-only connection of their own
        (so they can be read in a thread beside a replay)."""
        for rows in self._batches("SELECT record FROM records ORDER BY seq_id", 4096):
            for row in rows:
                yield row[0]

    def input_blocks(self, size: int) -> Iterator[InputBlock]:
        """Stored inputs, ``size`` at a time, as the JSON-lines blocks a core steps."""
        for rows in self._batches("SELECT seq, CAST(item AS BLOB) FROM inputs ORDER BY seq", size):
            yield InputBlock([row[0] for row in rows], b"\n".join([row[1] for row in rows]) + b"\n")

    def trace_chunks(self, size: int) -> Iterator[TraceChunk]:
        """Stored records, ``size`` at a time, as the lines and key lines replay checks against.

        Read as BLOBs: the bytes go to the core as they are, with no text
        decoding and re-encoding in between.
        """
        sql = (
            "SELECT CAST(record AS BLOB), "
            "CAST(seq_id || ' ' || origin || ' ' || hash || ' ' || prev_hash AS BLOB) "
            "FROM records ORDER BY seq_id"
        )
        for rows in self._batches(sql, size):
            lines = b"\n".join([row[0] for row in rows]) + b"\n"
            keys = b"\n".join([row[1] for row in rows]) + b"\n"
            yield TraceChunk(lines, keys, len(rows))

    def first_record_with_line_break(self) -> int | None:
        """The first seq_id whose stored columns hold a line break (a tampered store)."""
        columns = ("record", "origin", "hash", "prev_hash")
        found = " OR ".join(f"instr({c}, char(10)) > 0" for c in columns)
        rows = self._query(f"SELECT min(seq_id) FROM records WHERE {found}")
        seq: int | None = next(rows)[0]
        return seq

    def _batches(self, sql: str, size: int) -> Iterator[list[Any]]:
        """Rows of ``sql`` in lists of ``size``, read on a read-only connection of their own.

        Replay reads the inputs and the records side by side, each ahead of the
        core in a thread of its own (``sqlite3`` releases the interpreter while
        SQLite reads), so every such reader needs its own connection.
        """
        conn = self._reader()
        try:
            yield from self._fetch(conn, sql, size)
        finally:
            conn.close()

    def _reader(self) -> sqlite3.Connection:
        """A read-only connection usable from any one thread."""
        try:
            conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
        except sqlite3.Error as err:
            raise StoreError(self.path, f"cannot open for reading: {err}") from None
        try:
            conn.execute(f"PRAGMA mmap_size={READ_MAP_BYTES}")
        except sqlite3.Error as err:
            conn.close()
            raise StoreError(self.path, f"cannot open for reading: {err}") from None
        return conn

    def _fetch(self, conn: sqlite3.Connection, sql: str, size: int) -> Iterator[list[Any]]:
        try:
            cursor = conn.execute(sql)
            while batch := cursor.fetchmany(size):
                yield batch
        except sqlite3.Error as err:
            raise StoreError(self.path, f"corrupt run store: {err}") from None

    def checkpoint_hashes(self) -> list[tuple[int, str]]:
        """``(seq_id, state_hash)`` of every checkpoint, without the snapshots."""
        return list(self._query("SELECT seq_id, state_hash FROM checkpoints ORDER BY seq_id"))

    def checkpoint_snapshots(self) -> Iterator[tuple[int, bytes, str, str | None]]:
        """``(seq_id, snapshot bytes, state_hash, stored hash of the record at seq_id)``.

        One checkpoint at a time (a snapshot holds every order of the run), on
        a read-only connection of its own so it can be read beside a replay.
        """
        sql = (
            "SELECT c.seq_id, CAST(c.snapshot AS BLOB), c.state_hash, r.hash "
            "FROM checkpoints AS c LEFT JOIN records AS r ON r.seq_id = c.seq_id "
            "ORDER BY c.seq_id"
        )
        for rows in self._batches(sql, 1):
            yield from rows

    def checkpoints(self) -> Iterator[tuple[int, str, str]]:
        """``(seq_id, snapshot JSON, state_hash)`` in order."""
        yield from self._query(
            "SELECT seq_id, snapshot, state_hash FROM checkpoints ORDER BY seq_id"
        )

    def counts(self) -> dict[str, int]:
        return {
            table: next(self._query(f"SELECT count(*) FROM {table}"))[0]
            for table in ("inputs", "records", "checkpoints")
        }

    def integrity_problem(self) -> str | None:
        """SQLite's own ``quick_check``: None when the file is sound.

        Runs on a connection of its own, so replay can check the file in a
        thread while it reads it.
        """
        conn = self._reader()
        try:
            rows = [r[0] for r in conn.execute("PRAGMA quick_check")]
        except sqlite3.Error as err:
            return str(err)
        finally:
            conn.close()
        return None if rows == ["ok"] else "; ".join(str(r) for r in rows[:3])

    def record_verification(self, entry: Mapping[str, object]) -> bool:
        """Append a ``replay verify`` outcome to the ``verifications`` table.

        The table sits outside the trace, the results and the seal: it says
        when the run was last checked, never that it is sound now (readers
        re-check the seal against it). Written on a connection of its own, so
        a store opened for reading can record it; returns False, writing
        nothing, when the file cannot be written (a read-only archive).
        """
        try:
            conn = sqlite3.connect(f"file:{self.path}?mode=rw", uri=True, isolation_level=None)
        except sqlite3.Error:
            return False
        try:
            conn.execute(_VERIFICATIONS)
            conn.execute(
                "INSERT INTO verifications (entry) VALUES (?)", (json.dumps(entry, sort_keys=True),)
            )
        except sqlite3.Error:
            return False
        finally:
            conn.close()
        return True

    def verifications(self) -> list[dict[str, Any]]:
        """Every recorded verification, oldest first (empty when there is none)."""
        tables = next(
            self._query("SELECT count(*) FROM sqlite_master WHERE name = 'verifications'")
        )[0]
        if not tables:
            return []
        return [
            self._json("verifications", str(n), text)
            for n, text in self._query("SELECT id, entry FROM verifications ORDER BY id")
        ]

    def result(self, key: str) -> Any:
        """One entry of the results table (None when absent), without reading the others."""
        rows = list(self._query("SELECT value FROM results WHERE key = ?", (key,)))
        return self._json("results", key, rows[0][0]) if rows else None


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (or ``ROLLBACK``), with sqlite errors as StoreError."""

    def __init__(self, store: RunStore) -> None:
        self._store = store

    def __enter__(self) -> None:
        try:
            self._store._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as err:
            raise StoreError(self._store.path, f"cannot write: {err}") from None

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        conn = self._store._conn
        if exc_type is None:
            try:
                conn.execute("COMMIT")
            except sqlite3.Error as err:
                raise StoreError(self._store.path, f"cannot commit: {err}") from None
            return
        conn.execute("ROLLBACK")
        if isinstance(exc, sqlite3.Error):
            raise StoreError(self._store.path, f"cannot write: {exc}") from exc
