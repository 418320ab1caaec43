"""`PostgresCheckpointStore`: checkpoints in PostgreSQL, for durable runs shared by processes and hosts.

The layout and guarantees are the SQLite store's: a checkpoints table (metadata plus body, ordered by a
serial ``seq``) and a per-run blobs table, every body and blob stored as TEXT beside its SHA-256 (not
JSONB, which would reformat the text and so break the digest). A checkpoint and its new blobs are one
transaction; a row that fails its check is reported as damaged, never loaded. The store holds a single
connection used by one operation at a time, creates its tables on first use, and reconnects when the
server dropped the connection.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any, LiteralString, Self, TypeVar

import psycopg
from psycopg import sql
from psycopg.pq import TransactionStatus

from engine.checkpoint import Checkpoint, CheckpointInfo, corrupt
from engine.errors import CheckpointError, CheckpointNotFoundError, LeaseLostError, RunLeasedError
from engine.stores._rows import (
    INFO_COLUMNS,
    StoredBody,
    assemble,
    blob_keys_to_fetch,
    info_from_row,
    rows_of,
)
from engine.stores.base import Claim, RunOutcome
from engine.stores.leases import CREATE_RUNS, LeaseQueries

__all__ = ["PostgresCheckpointStore"]

ResultT = TypeVar("ResultT")
Connection = psycopg.AsyncConnection[tuple[Any, ...]]

_CREATE: list[LiteralString] = [
    # In the order `save` takes locks (runs, then blobs, then checkpoints), so creating a missing
    # index while another coordinator saves waits for it instead of deadlocking with it.
    *CREATE_RUNS,
    """CREATE TABLE IF NOT EXISTS {blobs} (
        run_id TEXT NOT NULL,
        key TEXT NOT NULL,
        body TEXT NOT NULL,
        digest TEXT NOT NULL,
        PRIMARY KEY (run_id, key)
    )""",
    """CREATE TABLE IF NOT EXISTS {checkpoints} (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        checkpoint_id TEXT NOT NULL UNIQUE,
        run_id TEXT NOT NULL,
        parent_id TEXT,
        superstep INTEGER NOT NULL,
        status TEXT NOT NULL,
        reason TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        body TEXT NOT NULL,
        digest TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS {by_run} ON {checkpoints} (run_id, seq)",
]
_RELATIONS = ("checkpoints", "blobs", "by_run", "runs", "runs_by_state")
"""The names in `_names` that `_CREATE` makes (tables and indexes)."""
_INDEXES = ("by_run", "runs_by_state")


class PostgresCheckpointStore:
    """A checkpoint store in a PostgreSQL database, reached through `dsn` (a libpq connection string).

    `schema` puts the tables in that schema, created when missing (default: the connection's
    ``search_path``); `table_prefix` names them ``<prefix>checkpoints`` and ``<prefix>blobs``, so
    several stores can share one database. Close the store with `aclose()` or ``async with``; it is
    unusable afterwards. Use it from one event loop at a time (one after another is fine).

    The store is also a coordinator's identity (`owner`, default host:pid:random): a run driven
    through it holds the run's lease (see `engine.stores.leases`) for `lease_seconds` at a time,
    renewed with every checkpoint and by a heartbeat, so no other coordinator can drive it meanwhile.
    """

    __slots__ = (
        "_closed",
        "_connection",
        "_held",
        "_leases",
        "_lock",
        "_loop",
        "_names",
        "_ready",
        "dsn",
        "lease_seconds",
        "owner",
        "schema",
        "table_prefix",
    )

    def __init__(
        self,
        dsn: str,
        *,
        schema: str | None = None,
        table_prefix: str = "baton_",
        lease_seconds: float = 30.0,
        owner: str | None = None,
    ) -> None:
        if not lease_seconds > 0:
            raise ValueError(f"lease_seconds must be positive, got {lease_seconds!r}")
        self.dsn = dsn
        self.schema = schema
        self.table_prefix = table_prefix
        self.lease_seconds = float(lease_seconds)
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        """Who this coordinator is, in lease rows and in `RunLeasedError` messages."""
        self._names = {
            "checkpoints": self._table(f"{table_prefix}checkpoints"),
            "blobs": self._table(f"{table_prefix}blobs"),
            "by_run": sql.Identifier(f"{table_prefix}checkpoints_by_run"),
            "runs": self._table(f"{table_prefix}runs"),
            "runs_by_state": sql.Identifier(f"{table_prefix}runs_by_state"),
        }
        self._leases = LeaseQueries(self._names)
        self._held: dict[str, int] = {}
        """The leases this store holds: run id -> fencing token."""
        self._connection: Connection | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = asyncio.Lock()
        self._ready = False
        self._closed = False

    def _table(self, name: str) -> sql.Identifier:
        return sql.Identifier(self.schema, name) if self.schema else sql.Identifier(name)

    def _sql(self, text: LiteralString) -> sql.Composed:
        """`text` with ``{checkpoints}``, ``{blobs}`` and ``{by_run}`` filled in as quoted names."""
        return sql.SQL(text).format(**self._names)

    async def __aenter__(self) -> Self:
        await self._run(_nothing)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection once running operations finish; the store is unusable afterwards.

        Closing twice is harmless.
        """
        async with self._current_lock():
            self._closed = True
            if self._connection is not None:
                await self._connection.close()
                self._connection = None

    async def _run(self, work: Callable[[Connection], Awaitable[ResultT]]) -> ResultT:
        """Run `work` on the connection, one operation at a time.

        When the server dropped a connection that looked alive (a restart, an idle timeout, a
        failover), the work runs once more on a new connection; `save` is written to be safe to repeat.
        """
        async with self._current_lock():
            connection = await self._connected()
            try:
                return await work(connection)
            except psycopg.OperationalError:
                if not connection.broken:
                    raise
            except BaseException:
                # psycopg cancels an interrupted query and the transaction block rolls back; if
                # either failed (cancelled during ROLLBACK, say), the connection is still inside a
                # transaction, no use to the next operation: drop it (the server rolls back) and
                # let the next operation connect anew.
                if connection.info.transaction_status is not TransactionStatus.IDLE:
                    await connection.close()
                raise
            return await work(await self._connected())

    def _current_lock(self) -> asyncio.Lock:
        """The lock serializing operations, made anew for each event loop (a lock binds to one loop)."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._loop = loop
            self._lock = asyncio.Lock()
        return self._lock

    async def _connected(self) -> Connection:
        """The open connection, connecting (and creating the tables on first use) as needed."""
        if self._closed:
            raise RuntimeError("this PostgresCheckpointStore is closed; create a new one")
        connection = self._connection
        if connection is not None and not connection.closed:
            return connection
        if connection is not None:
            await connection.close()  # broken: close() only releases what is left
        self._connection = None
        connection = await psycopg.AsyncConnection.connect(self.dsn, autocommit=True)
        try:
            if not self._ready:
                await self._create_tables(connection)
        except BaseException:
            await connection.close()
            raise
        self._ready = True
        self._connection = connection
        return connection

    async def _create_tables(self, connection: Connection) -> None:
        """Create the schema, tables and indexes if missing.

        When they all exist nothing is run: even ``CREATE INDEX IF NOT EXISTS`` locks its table, which
        would make every store that opens wait for (or deadlock with) coordinators saving. When some
        are missing, ``IF NOT EXISTS`` alone is not enough when several processes start at once: two
        concurrent ``CREATE TABLE`` can still collide on the catalog. A transaction-scoped advisory
        lock, keyed by the tables' names, makes them take turns.
        """
        if await self._tables_exist(connection):
            return
        name = f"baton-checkpoints:{self.schema or ''}:{self.table_prefix}"
        key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
        async with connection.transaction():
            await connection.execute("SELECT pg_advisory_xact_lock(%s)", (key,))
            if self.schema:
                create_schema = sql.SQL("CREATE SCHEMA IF NOT EXISTS {}")
                await connection.execute(create_schema.format(sql.Identifier(self.schema)))
            for statement in _CREATE:
                await connection.execute(self._sql(statement))

    async def _tables_exist(self, connection: Connection) -> bool:
        names = [self._names[key].as_string(connection) for key in _RELATIONS]
        if self.schema:  # table names carry their schema already; index names do not
            schema = sql.Identifier(self.schema).as_string(connection)
            names = [
                f"{schema}.{name}" if key in _INDEXES else name
                for key, name in zip(_RELATIONS, names, strict=True)
            ]
        query = "SELECT count(to_regclass(name)) FROM unnest(%s::text[]) AS name"
        row = await (await connection.execute(query, (names,))).fetchone()
        return row is not None and row[0] == len(names)

    async def save(self, checkpoint: Checkpoint) -> None:
        """Write the checkpoint and its new blobs in one transaction (blobs replace same-key ones).

        Saving a checkpoint that is already stored with the same body is a no-op, so a save retried
        after a connection died during ``COMMIT`` cannot fail or duplicate it; a *different*
        checkpoint under a stored id raises `CheckpointError` and writes nothing.
        """
        row, blob_rows = rows_of(checkpoint)
        digest = row[-1]
        upsert_blob = self._sql(
            "INSERT INTO {blobs} (run_id, key, body, digest) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (run_id, key) DO UPDATE SET body = EXCLUDED.body, digest = EXCLUDED.digest"
        )
        insert = self._sql(
            "INSERT INTO {checkpoints} (" + INFO_COLUMNS + ", body, digest) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (checkpoint_id) DO NOTHING"
        )
        stored_digest = self._sql("SELECT digest FROM {checkpoints} WHERE checkpoint_id = %s")
        run_id = checkpoint.run_id

        async def write(db: Connection) -> None:
            async with db.transaction(), db.cursor() as cursor:
                token = self._held.get(run_id)
                if token is not None and not await self._leases.renew(
                    cursor, run_id, self.owner, token, self.lease_seconds
                ):
                    raise self._lost(run_id)
                if blob_rows:
                    await cursor.executemany(upsert_blob, blob_rows)
                await cursor.execute(insert, row)
                if cursor.rowcount == 1:
                    return
                await cursor.execute(stored_digest, (checkpoint.checkpoint_id,))
                if await cursor.fetchone() != (digest,):
                    raise CheckpointError(
                        f"checkpoint id `{checkpoint.checkpoint_id}` is already taken by a different "
                        "checkpoint in this store; nothing was saved. Give every checkpoint a new id."
                    )

        await self._run(write)

    async def acquire(self, run_id: str, *, workflow_name: str, signature: str) -> None:
        """Hold `run_id`'s lease (no-op when held already); `RunLeasedError` if another holds it."""
        if run_id in self._held:
            return

        async def take(db: Connection) -> int | None:
            return await self._leases.acquire(
                db,
                run_id,
                self.owner,
                self.lease_seconds,
                workflow_name=workflow_name,
                signature=signature,
            )

        token = await self._run(take)
        if token is not None:
            self._held[run_id] = token
            return
        holder = await self._run(lambda db: self._leases.holder(db, run_id))
        owner, left = holder if holder is not None else ("another coordinator", 0.0)
        raise RunLeasedError(
            f"run `{run_id}` is being driven by `{owner}` (its lease expires in {max(left, 0):.1f} "
            "s unless renewed); two coordinators never advance one run. Wait for it to finish or "
            "pause, or resume it after that coordinator stopped and its lease expired.",
            run_id=run_id,
            owner=owner,
            expires_in=left,
        )

    def holds(self, run_id: str) -> bool:
        """Whether this store holds `run_id`'s lease."""
        return run_id in self._held

    async def renew(self, run_id: str) -> None:
        """Extend a held lease; `LeaseLostError` when another coordinator took the run over."""
        token = self._held.get(run_id)
        if token is None:
            return

        async def extend(db: Connection) -> bool:
            return await self._leases.renew(db, run_id, self.owner, token, self.lease_seconds)

        if not await self._run(extend):
            raise self._lost(run_id)

    async def release(self, run_id: str, outcome: RunOutcome) -> None:
        """Give up a held lease, recording where the run stands (no-op when not held)."""
        token = self._held.pop(run_id, None)
        if token is not None:
            await self._run(lambda db: self._leases.release(db, run_id, self.owner, token, outcome))

    async def claim(self, signatures: list[str]) -> Claim | None:
        """Hold the oldest runnable (or orphaned) run of one of `signatures`; `None` if there is none."""
        found = await self._run(
            lambda db: self._leases.claim(db, self.owner, self.lease_seconds, signatures)
        )
        if found is not None:
            self._held[found.run_id] = found.token
        return found

    async def post_answers(self, run_id: str, answers: str) -> None:
        """Queue encoded answers for a paused run, for a worker to continue it with them."""
        refused = await self._run(lambda db: self._leases.post_answers(db, run_id, answers))
        if refused is not None:
            raise CheckpointError(
                f"run `{run_id}` cannot take answers from the queue: it is {refused}, not paused. "
                "Answer a run once it waits for answers (`baton runs show` lists its requests)."
            )

    async def list_leases(self) -> list[tuple[str, str, str, str | None, float | None]]:
        """Every run the coordinators know: id, workflow, state, lease holder, seconds left."""
        return await self._run(self._leases.runs)

    def _lost(self, run_id: str) -> LeaseLostError:
        self._held.pop(run_id, None)
        return LeaseLostError(
            f"this coordinator (`{self.owner}`) lost the lease of run `{run_id}`: it expired and "
            "another coordinator took the run over, so nothing more was written here. The run goes "
            "on there; give supersteps less work or a longer `lease_seconds` if this recurs.",
            run_id=run_id,
        )

    async def load(self, checkpoint_id: str) -> Checkpoint:
        """The checkpoint with its blobs; raises when it is unknown or damaged."""

        async def read(db: Connection) -> Checkpoint:
            async with _snapshot(db):
                return await self._load(db, checkpoint_id)

        return await self._run(read)

    async def latest(self, run_id: str) -> Checkpoint | None:
        """The newest checkpoint of `run_id`, or `None` for an unknown run; raises like `load`."""
        newest = self._sql(
            "SELECT checkpoint_id FROM {checkpoints} WHERE run_id = %s ORDER BY seq DESC LIMIT 1"
        )

        async def read(db: Connection) -> Checkpoint | None:
            async with _snapshot(db):
                row = await (await db.execute(newest, (run_id,))).fetchone()
                return None if row is None else await self._load(db, row[0])

        return await self._run(read)

    async def list_checkpoints(self, run_id: str) -> list[CheckpointInfo]:
        """A run's checkpoints, oldest first."""
        query = self._sql(
            "SELECT " + INFO_COLUMNS + " FROM {checkpoints} WHERE run_id = %s ORDER BY seq"
        )

        async def fetch(db: Connection) -> list[CheckpointInfo]:
            rows = await (await db.execute(query, (run_id,))).fetchall()
            return [info_from_row(row) for row in rows]

        return await self._run(fetch)

    async def list_runs(self) -> list[str]:
        """Every run with a checkpoint, oldest first."""
        query = self._sql("SELECT run_id FROM {checkpoints} GROUP BY run_id ORDER BY MIN(seq)")

        async def fetch(db: Connection) -> list[str]:
            return [row[0] for row in await (await db.execute(query)).fetchall()]

        return await self._run(fetch)

    async def delete_run(self, run_id: str) -> int:
        """Delete a run's checkpoints and blobs in one transaction."""
        delete_checkpoints = self._sql("DELETE FROM {checkpoints} WHERE run_id = %s")
        delete_blobs = self._sql("DELETE FROM {blobs} WHERE run_id = %s")

        async def delete(db: Connection) -> int:
            async with db.transaction(), db.cursor() as cursor:
                await cursor.execute(delete_checkpoints, (run_id,))
                count = cursor.rowcount
                await cursor.execute(delete_blobs, (run_id,))
            return count

        return await self._run(delete)

    async def _load(self, db: Connection, checkpoint_id: str) -> Checkpoint:
        query = self._sql(
            "SELECT seq, run_id, body, digest FROM {checkpoints} WHERE checkpoint_id = %s"
        )
        row = await (await db.execute(query, (checkpoint_id,))).fetchone()
        if row is None:
            raise CheckpointNotFoundError(
                f"no checkpoint `{checkpoint_id}` in this PostgreSQL store"
            )
        seq, run_id, body, digest = row
        try:
            return await self._verified(db, run_id, StoredBody(checkpoint_id, body, digest))
        except ValueError as damage:
            last_good = await self._last_good(db, run_id, seq)
            raise corrupt(checkpoint_id, str(damage), last_good) from None

    async def _verified(self, db: Connection, run_id: str, stored: StoredBody) -> Checkpoint:
        """Check and parse a stored body with its blobs; `ValueError` says what is damaged."""
        keys = blob_keys_to_fetch(stored)
        query = self._sql(
            "SELECT key, body, digest FROM {blobs} WHERE run_id = %s AND key = ANY(%s)"
        )
        rows = await (await db.execute(query, (run_id, keys))).fetchall() if keys else []
        return assemble(stored, rows)

    async def _last_good(self, db: Connection, run_id: str, before_seq: int) -> str | None:
        query = self._sql(
            "SELECT checkpoint_id, body, digest FROM {checkpoints} "
            "WHERE run_id = %s AND seq < %s ORDER BY seq DESC"
        )
        for row in await (await db.execute(query, (run_id, before_seq))).fetchall():
            stored = StoredBody(*row)
            try:
                await self._verified(db, run_id, stored)
            except ValueError:
                continue
            return stored.checkpoint_id
        return None


@asynccontextmanager
async def _snapshot(db: Connection) -> AsyncIterator[None]:
    """A read-only transaction seeing one snapshot.

    A body and its blobs are read by separate statements; without one snapshot a `delete_run`
    committed between them would make an intact checkpoint look damaged.
    """
    async with db.transaction():
        await db.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


async def _nothing(connection: Connection) -> None:
    """Work for `_run` that only makes sure the store is connected and its tables exist."""
