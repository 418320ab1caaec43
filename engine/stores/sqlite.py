"""`SqliteCheckpointStore`: checkpoints in a SQLite file, the embedded default for durable runs.

WAL mode lets readers proceed while a run writes; each checkpoint (body plus new blobs) is one
``BEGIN IMMEDIATE`` transaction, so several processes on one machine can share a file, and a process
killed mid-write leaves the previous checkpoint intact. Every body and blob is stored with its SHA-256;
a row that fails the check is reported as damaged, never loaded.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from engine.checkpoint import Checkpoint, CheckpointInfo, corrupt
from engine.errors import CheckpointNotFoundError
from engine.stores._rows import (
    INFO_COLUMNS,
    StoredBody,
    assemble,
    blob_keys_to_fetch,
    info_from_row,
    rows_of,
)

__all__ = ["DEFAULT_PATH", "SqliteCheckpointStore"]

ResultT = TypeVar("ResultT")

DEFAULT_PATH = ".baton/checkpoints.sqlite3"
"""Where durable runs keep checkpoints when no store is named (override with `BATON_CHECKPOINTS`)."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS checkpoints (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    checkpoint_id TEXT NOT NULL UNIQUE,
    run_id TEXT NOT NULL,
    parent_id TEXT,
    superstep INTEGER NOT NULL,
    status TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_at REAL NOT NULL,
    body TEXT NOT NULL,
    digest TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS checkpoints_by_run ON checkpoints (run_id, seq);
CREATE TABLE IF NOT EXISTS blobs (
    run_id TEXT NOT NULL,
    key TEXT NOT NULL,
    body TEXT NOT NULL,
    digest TEXT NOT NULL,
    PRIMARY KEY (run_id, key)
);
"""


def _set_up(connection: sqlite3.Connection, attempts: int = 100) -> None:
    """Switch a new connection to WAL and create the schema, retrying while another process does.

    Two processes opening one new file at once can get "database is locked" from the journal-mode
    switch at once, without SQLite's busy timeout being applied (the switch needs the file to
    itself); it succeeds once the other process is through, so wait and try again.
    """
    for attempt in range(attempts):
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.executescript(_SCHEMA)
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or attempt == attempts - 1:
                raise
            time.sleep(0.05)


class SqliteCheckpointStore:
    """A checkpoint store in one SQLite file (created with its directory when missing)."""

    __slots__ = ("_connection", "_lock", "path")

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path or os.environ.get("BATON_CHECKPOINTS") or DEFAULT_PATH)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._connection = sqlite3.connect(
            self.path, timeout=30, isolation_level=None, check_same_thread=False
        )
        try:
            _set_up(self._connection)
        except BaseException:
            self._connection.close()
            raise

    def close(self) -> None:
        """Close the connection (the store is unusable afterwards)."""
        with self._lock:
            self._connection.close()

    async def _call(self, func: Callable[[sqlite3.Connection], ResultT]) -> ResultT:
        def locked() -> ResultT:
            with self._lock:
                return func(self._connection)

        return await asyncio.to_thread(locked)

    async def save(self, checkpoint: Checkpoint) -> None:
        """Write the checkpoint and its new blobs in one transaction."""
        row, blob_rows = rows_of(checkpoint)

        def write(db: sqlite3.Connection) -> None:
            with _immediate(db):
                db.executemany("INSERT OR REPLACE INTO blobs VALUES (?, ?, ?, ?)", blob_rows)
                db.execute(
                    f"INSERT INTO checkpoints ({INFO_COLUMNS}, body, digest) VALUES (?,?,?,?,?,?,?,?,?)",
                    row,
                )

        await self._call(write)

    async def load(self, checkpoint_id: str) -> Checkpoint:
        """The checkpoint with its blobs; raises when it is unknown or damaged."""
        return await self._call(lambda db: _load(db, checkpoint_id))

    async def list_checkpoints(self, run_id: str) -> list[CheckpointInfo]:
        """A run's checkpoints, oldest first."""

        def query(db: sqlite3.Connection) -> list[CheckpointInfo]:
            rows = db.execute(
                f"SELECT {INFO_COLUMNS} FROM checkpoints WHERE run_id = ? ORDER BY seq", (run_id,)
            ).fetchall()
            return [info_from_row(row) for row in rows]

        return await self._call(query)

    async def latest(self, run_id: str) -> Checkpoint | None:
        """The newest checkpoint of `run_id`, or `None` for an unknown run."""

        def query(db: sqlite3.Connection) -> Checkpoint | None:
            row = db.execute(
                "SELECT checkpoint_id FROM checkpoints WHERE run_id = ? ORDER BY seq DESC LIMIT 1",
                (run_id,),
            ).fetchone()
            return None if row is None else _load(db, row[0])

        return await self._call(query)

    async def list_runs(self) -> list[str]:
        """Every run with a checkpoint, oldest first."""

        def query(db: sqlite3.Connection) -> list[str]:
            rows = db.execute(
                "SELECT run_id FROM checkpoints GROUP BY run_id ORDER BY MIN(seq)"
            ).fetchall()
            return [row[0] for row in rows]

        return await self._call(query)

    async def delete_run(self, run_id: str) -> int:
        """Delete a run's checkpoints and blobs."""

        def delete(db: sqlite3.Connection) -> int:
            with _immediate(db):
                count = db.execute("DELETE FROM checkpoints WHERE run_id = ?", (run_id,)).rowcount
                db.execute("DELETE FROM blobs WHERE run_id = ?", (run_id,))
            return count

        return await self._call(delete)


@contextlib.contextmanager
def _immediate(db: sqlite3.Connection) -> Iterator[None]:
    """One write transaction, taken at once (`BEGIN IMMEDIATE`) and rolled back on any error."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _load(db: sqlite3.Connection, checkpoint_id: str) -> Checkpoint:
    row = db.execute(
        "SELECT seq, run_id, body, digest FROM checkpoints WHERE checkpoint_id = ?",
        (checkpoint_id,),
    ).fetchone()
    if row is None:
        raise CheckpointNotFoundError(f"no checkpoint `{checkpoint_id}` in this SQLite store")
    seq, run_id, body, digest = row
    try:
        return _verified(db, run_id, StoredBody(checkpoint_id, body, digest))
    except ValueError as damage:
        raise corrupt(checkpoint_id, str(damage), _last_good(db, run_id, seq)) from None


def _verified(db: sqlite3.Connection, run_id: str, stored: StoredBody) -> Checkpoint:
    """Check and parse a stored body with its blobs; `ValueError` says what is damaged."""
    keys = blob_keys_to_fetch(stored)
    rows: list[tuple[str, str, str]] = []
    for start in range(0, len(keys), 500):  # SQLite caps the number of bound parameters
        chunk = keys[start : start + 500]
        marks = ",".join("?" * len(chunk))
        rows += db.execute(
            f"SELECT key, body, digest FROM blobs WHERE run_id = ? AND key IN ({marks})",
            (run_id, *chunk),
        ).fetchall()
    return assemble(stored, rows)


def _last_good(db: sqlite3.Connection, run_id: str, before_seq: int) -> str | None:
    rows = db.execute(
        "SELECT checkpoint_id, body, digest FROM checkpoints WHERE run_id = ? AND seq < ? "
        "ORDER BY seq DESC",
        (run_id, before_seq),
    ).fetchall()
    for row in rows:
        stored = StoredBody(*row)
        try:
            _verified(db, run_id, stored)
        except ValueError:
            continue
        return stored.checkpoint_id
    return None
