"""Run leases and the run queue in PostgreSQL: one coordinator at a time drives a run.

A row per run in ``<prefix>runs`` says where the run stands for coordinators (``runnable``,
``running``, ``paused``, ``done``, ``failed``), who holds its lease and until when, and a fencing
token that grows with every claim. Claiming takes a run nobody holds, or whose lease expired; the
holder renews the lease with every checkpoint it saves, in the checkpoint's own transaction and only
while its token is still current, so a coordinator that lost its lease can never write again: its
next save fails and rolls back. Times are the server's clock, so machines need not agree on theirs.
"""

from __future__ import annotations

from typing import Any, LiteralString

import psycopg
from psycopg import sql

from engine.stores.base import Claim, RunOutcome

__all__ = ["CREATE_RUNS", "LeaseQueries"]

Connection = psycopg.AsyncConnection[tuple[Any, ...]]
Cursor = psycopg.AsyncCursor[tuple[Any, ...]]

CREATE_RUNS: list[LiteralString] = [
    """CREATE TABLE IF NOT EXISTS {runs} (
        run_id TEXT PRIMARY KEY,
        workflow_name TEXT NOT NULL,
        graph_signature TEXT NOT NULL,
        state TEXT NOT NULL,
        owner TEXT,
        token BIGINT NOT NULL DEFAULT 0,
        expires_at DOUBLE PRECISION,
        answers TEXT,
        updated_at DOUBLE PRECISION NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS {runs_by_state} ON {runs} (state, updated_at)",
]

_NOW = "extract(epoch from clock_timestamp())"


class LeaseQueries:
    """The lease and queue statements for one store's table names."""

    __slots__ = ("_names",)

    def __init__(self, names: dict[str, sql.Identifier]) -> None:
        self._names = names

    def _sql(self, text: LiteralString) -> sql.Composed:
        return sql.SQL(text).format(**self._names)

    async def acquire(
        self,
        db: Connection,
        run_id: str,
        owner: str,
        seconds: float,
        *,
        workflow_name: str,
        signature: str,
    ) -> int | None:
        """Take the lease of `run_id` (creating its row); its new token, or `None` if held by another."""
        query = self._sql(
            "INSERT INTO {runs} AS r (run_id, workflow_name, graph_signature, state, owner, token, "
            f"expires_at, updated_at) VALUES (%s, %s, %s, 'running', %s, 1, {_NOW} + %s, {_NOW}) "
            "ON CONFLICT (run_id) DO UPDATE SET state = 'running', owner = EXCLUDED.owner, "
            "token = r.token + 1, expires_at = EXCLUDED.expires_at, updated_at = EXCLUDED.updated_at "
            f"WHERE r.owner IS NULL OR r.expires_at < {_NOW} OR r.owner = EXCLUDED.owner "
            "RETURNING token"
        )
        args = (run_id, workflow_name, signature, owner, seconds)
        row = await (await db.execute(query, args)).fetchone()
        return None if row is None else int(row[0])

    async def holder(self, db: Connection, run_id: str) -> tuple[str, float] | None:
        """Who holds `run_id`'s lease and for how many more seconds (`None`: nobody)."""
        query = self._sql(
            f"SELECT owner, expires_at - {_NOW} FROM {{runs}} WHERE run_id = %s "
            "AND owner IS NOT NULL"
        )
        row = await (await db.execute(query, (run_id,))).fetchone()
        return None if row is None else (str(row[0]), float(row[1]))

    async def renew(
        self, db: Connection | Cursor, run_id: str, owner: str, token: int, seconds: float
    ) -> bool:
        """Extend the lease while `token` is current; `False` when another coordinator took it."""
        query = self._sql(
            f"UPDATE {{runs}} SET expires_at = {_NOW} + %s, updated_at = {_NOW} "
            "WHERE run_id = %s AND owner = %s AND token = %s"
        )
        cursor = await db.execute(query, (seconds, run_id, owner, token))
        return cursor.rowcount == 1

    async def release(
        self, db: Connection, run_id: str, owner: str, token: int, outcome: RunOutcome
    ) -> bool:
        """Give the lease up, recording `outcome`; `False` when it was no longer ours."""
        query = self._sql(
            f"UPDATE {{runs}} SET owner = NULL, expires_at = NULL, state = %s, updated_at = {_NOW}, "
            "answers = NULL WHERE run_id = %s AND owner = %s AND token = %s"
        )
        cursor = await db.execute(query, (outcome.value, run_id, owner, token))
        return cursor.rowcount == 1

    async def claim(
        self, db: Connection, owner: str, seconds: float, signatures: list[str]
    ) -> Claim | None:
        """Take the oldest run of one of `signatures` that is runnable, or whose lease expired."""
        query = self._sql(
            f"UPDATE {{runs}} SET state = 'running', owner = %s, token = token + 1, "
            f"expires_at = {_NOW} + %s, updated_at = {_NOW} "
            "WHERE run_id = (SELECT run_id FROM {runs} WHERE graph_signature = ANY(%s) AND "
            f"((state = 'runnable' AND owner IS NULL) OR (owner IS NOT NULL AND expires_at < {_NOW})) "
            "ORDER BY updated_at LIMIT 1 FOR UPDATE SKIP LOCKED) "
            "RETURNING run_id, graph_signature, token, answers"
        )
        row = await (await db.execute(query, (owner, seconds, signatures))).fetchone()
        return None if row is None else Claim(str(row[0]), str(row[1]), int(row[2]), row[3])

    async def post_answers(self, db: Connection, run_id: str, answers: str) -> str | None:
        """Queue answers for a paused run nobody holds; the run's state when that is impossible."""
        query = self._sql(
            f"UPDATE {{runs}} SET state = 'runnable', answers = %s, updated_at = {_NOW} "
            "WHERE run_id = %s AND state = 'paused' AND owner IS NULL"
        )
        if (await db.execute(query, (answers, run_id))).rowcount == 1:
            return None
        found = self._sql("SELECT state, owner FROM {runs} WHERE run_id = %s")
        row = await (await db.execute(found, (run_id,))).fetchone()
        if row is None:
            return "unknown"
        return f"{row[0]} (held by `{row[1]}`)" if row[1] else str(row[0])

    async def runs(self, db: Connection) -> list[tuple[str, str, str, str | None, float | None]]:
        """Every run's id, workflow, state, lease holder and seconds left, oldest first."""
        query = self._sql(
            f"SELECT run_id, workflow_name, state, owner, expires_at - {_NOW} FROM {{runs}} "
            "ORDER BY updated_at"
        )
        return [
            (str(r[0]), str(r[1]), str(r[2]), r[3], None if r[4] is None else float(r[4]))
            for r in await (await db.execute(query)).fetchall()
        ]
