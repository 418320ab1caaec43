"""`--store URL`: which checkpoint store a command uses.

``sqlite:///relative/path.db`` and ``sqlite:////absolute/path.db`` (three slashes, then the path, as
SQLAlchemy spells it) name a SQLite file; ``postgresql://user:password@host:port/db`` (or
``postgres://``) a PostgreSQL database, given to libpq as is. Without ``--store``, ``$BATON_STORE``
is used, then the embedded default file that ``durable=True`` uses (``$BATON_CHECKPOINTS`` or
``.baton/checkpoints.sqlite3``).

Commands that read runs (`runs list|show|resume`) open a store with ``must_exist=True``: a mistyped
SQLite path is an error instead of a new empty database.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

from cli.errors import CliError, first_line
from engine import CheckpointStore, SqliteCheckpointStore
from engine.stores.sqlite import DEFAULT_PATH

__all__ = ["default_store_url", "open_store", "redact"]

_FORMS = "`sqlite:///path/to/runs.db` or `postgresql://user@host:5432/dbname`"


def default_store_url() -> str:
    """The store commands use when none is named: the embedded SQLite default."""
    return f"sqlite:///{os.environ.get('BATON_CHECKPOINTS') or DEFAULT_PATH}"


def redact(url: str) -> str:
    """`url` with any password (``user:password@`` or ``?password=``) replaced by ``***``."""
    scheme, sep, rest = url.partition("://")
    location, mark, query = rest.partition("?")
    credentials, at, host = location.rpartition("@")  # the last @: a password may contain one
    if at and ":" in credentials:
        location = f"{credentials.split(':', 1)[0]}:***@{host}"
    query = re.sub(r"(^|&)(password=)[^&]*", r"\1\2***", query, flags=re.IGNORECASE)
    return f"{scheme}{sep}{location}{mark}{query}"


@contextlib.asynccontextmanager
async def open_store(
    url: str, *, must_exist: bool = False, lease_seconds: float | None = None
) -> AsyncIterator[CheckpointStore]:
    """Open the store `url` names and close it afterwards; raise `CliError` saying what is wrong.

    `lease_seconds` sets how long a PostgreSQL store's run leases last (default: the store's).
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise CliError(f"--store `{redact(url)}` is not a store URL; use {_FORMS}.")
    if scheme == "sqlite":
        store = _sqlite(url, rest, must_exist)
        try:
            yield store
        finally:
            store.close()
    elif scheme in ("postgresql", "postgres"):
        async with _postgres(url, lease_seconds) as remote:
            yield remote
    else:
        raise CliError(f"--store scheme `{scheme}` is not supported; use {_FORMS}.")


def _sqlite(url: str, rest: str, must_exist: bool) -> SqliteCheckpointStore:
    if not rest.startswith("/") or rest == "/":
        raise CliError(
            f"--store `{url}` names no file; a SQLite URL is `sqlite:///relative.db` or "
            "`sqlite:////absolute/path.db`."
        )
    path = Path(rest[1:])
    if must_exist and not path.is_file():
        raise CliError(
            f"there is no SQLite store at `{path}`; check the path (runs are only stored by "
            "`baton run --store ...`)."
        )
    try:
        return SqliteCheckpointStore(path)
    except (OSError, sqlite3.Error) as error:  # not a database, or a directory that cannot be made
        raise CliError(f"cannot open the SQLite store at `{path}`: {first_line(error)}") from error


@contextlib.asynccontextmanager
async def _postgres(url: str, lease_seconds: float | None) -> AsyncIterator[CheckpointStore]:
    try:
        from engine.stores.postgres import PostgresCheckpointStore
    except ImportError:
        raise CliError(
            "PostgreSQL stores need psycopg 3: `pip install 'baton[postgres]'`."
        ) from None
    import psycopg

    store = (
        PostgresCheckpointStore(url)
        if lease_seconds is None
        else PostgresCheckpointStore(url, lease_seconds=lease_seconds)
    )
    try:
        await store.__aenter__()  # connect now, so an unreachable server is reported plainly
    except psycopg.Error as error:
        raise CliError(
            f"cannot open the PostgreSQL store at `{redact(url)}`: {first_line(error)}"
        ) from error
    try:
        yield store
    finally:
        await store.aclose()
