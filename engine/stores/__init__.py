"""Checkpoint stores: the `CheckpointStore` protocol and its in-memory, SQLite and PostgreSQL homes.

`PostgresCheckpointStore` needs the optional extra ``baton[postgres]`` (psycopg 3); it is imported on
first use so the engine works without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.stores.base import CheckpointStore
from engine.stores.memory import InMemoryCheckpointStore
from engine.stores.sqlite import SqliteCheckpointStore

if TYPE_CHECKING:
    from engine.stores.postgres import PostgresCheckpointStore

__all__ = [
    "CheckpointStore",
    "InMemoryCheckpointStore",
    "PostgresCheckpointStore",
    "SqliteCheckpointStore",
]


def __getattr__(name: str) -> Any:
    if name == "PostgresCheckpointStore":
        try:
            from engine.stores.postgres import PostgresCheckpointStore
        except ImportError as exc:  # psycopg missing
            raise ImportError(
                "PostgresCheckpointStore needs psycopg 3; install the extra: "
                "`pip install 'baton[postgres]'`"
            ) from exc
        return PostgresCheckpointStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
