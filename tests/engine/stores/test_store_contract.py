"""The `CheckpointStore` contract, run against every store; the damage tests against the durable ones."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import closing
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from engine.errors import CheckpointCorruptError, CheckpointNotFoundError
from engine.stores import (
    CheckpointStore,
    InMemoryCheckpointStore,
    PostgresCheckpointStore,
    SqliteCheckpointStore,
)
from tests.engine.durable_app import Approval, build, outputs_after
from tests.engine.stores.sample import SampleRun

Tamper = Callable[[str, str], Awaitable[int]]
"""Run a raw statement (``{checkpoints}``/``{blobs}`` for the tables, ``%s`` for the one parameter)
against the store's own rows, as a torn write or a lost row would; return the rows it changed."""


def _sqlite_tamper(path: Path) -> Tamper:
    async def tamper(statement: str, value: str) -> int:
        text = statement.format(checkpoints="checkpoints", blobs="blobs").replace("%s", "?")
        with closing(sqlite3.connect(path)) as db, db:  # close, and commit
            return db.execute(text, (value,)).rowcount

    return tamper


def _postgres_tamper(dsn: str) -> Tamper:
    async def tamper(statement: str, value: str) -> int:
        names = {"checkpoints": "baton_checkpoints", "blobs": "baton_blobs"}
        query = sql.SQL(statement).format(**{k: sql.Identifier(v) for k, v in names.items()})
        async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as db:
            return (await db.execute(query, (value,))).rowcount

    return tamper


async def _no_tamper(statement: str, value: str) -> int:
    raise AssertionError("the in-memory store has no rows to damage")


async def _nothing_to_close() -> None:
    pass


async def _open(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> tuple[CheckpointStore, Tamper, Callable[[], Awaitable[None]]]:
    """A fresh store of `kind`, a way to damage its rows, and a way to close it."""
    if kind == "memory":
        return InMemoryCheckpointStore(), _no_tamper, _nothing_to_close
    if kind == "sqlite":
        path = tmp_path / "checkpoints.sqlite3"
        lite = SqliteCheckpointStore(path)

        async def close_sqlite() -> None:
            lite.close()

        return lite, _sqlite_tamper(path), close_sqlite
    dsn = request.getfixturevalue("postgres_dsn")
    postgres = PostgresCheckpointStore(dsn)
    return postgres, _postgres_tamper(dsn), postgres.aclose


@pytest.fixture(params=["memory", "sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[CheckpointStore]:
    opened, _, close = await _open(request.param, request, tmp_path)
    yield opened
    await close()


@pytest.fixture(params=["sqlite", "postgres"])
async def durable(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[CheckpointStore, Tamper]]:
    opened, tamper, close = await _open(request.param, request, tmp_path)
    yield opened, tamper
    await close()


async def _saved_run(store: CheckpointStore, count: int, run: SampleRun | None = None) -> SampleRun:
    run = run or SampleRun()
    for n in range(count):
        await store.save(run.next(final=n == count - 1))
    return run


# --- the contract: every store ---------------------------------------------------------------------


async def test_load_returns_each_checkpoint_with_every_blob_it_refers_to(
    store: CheckpointStore,
) -> None:
    run = await _saved_run(store, 4)
    for saved in run.saved:
        loaded = await store.load(saved.checkpoint_id)
        assert loaded == run.expected(saved)
    last = await store.load(run.saved[-1].checkpoint_id)
    # the newest checkpoint refers to blobs saved with three different earlier checkpoints
    assert run.saved[0].blobs.keys() & last.blobs.keys()
    assert run.saved[2].blobs.keys() & last.blobs.keys()
    assert set(last.blobs) == last.blob_keys


async def test_a_blob_sent_again_under_its_key_replaces_the_stored_one(
    store: CheckpointStore,
) -> None:
    run = await _saved_run(store, 1)
    again = run.next()
    key = run.blob_key(run.saved[0], "planner")
    resent = again.model_copy(update={"blobs": {**again.blobs, key: {"plan": ["redone"]}}})
    await store.save(resent)
    assert (await store.load(again.checkpoint_id)).blobs[key] == {"plan": ["redone"]}


async def test_list_checkpoints_gives_metadata_oldest_first(store: CheckpointStore) -> None:
    run = await _saved_run(store, 3)
    await _saved_run(store, 2)  # another run, not listed
    infos = await store.list_checkpoints(run.run_id)
    assert infos == [checkpoint.info for checkpoint in run.saved]
    assert [info.parent_id for info in infos] == [None, *(c.checkpoint_id for c in run.saved[:2])]
    assert [info.status for info in infos] == ["running", "running", "idle"]
    assert await store.list_checkpoints("no-such-run") == []


async def test_latest_gives_the_newest_checkpoint_and_none_for_an_unknown_run(
    store: CheckpointStore,
) -> None:
    run = await _saved_run(store, 3)
    assert await store.latest(run.run_id) == run.expected(run.saved[-1])
    assert await store.latest("no-such-run") is None


async def test_list_runs_gives_every_run_oldest_first(store: CheckpointStore) -> None:
    assert await store.list_runs() == []
    second, first = SampleRun("second"), SampleRun("first")
    await store.save(second.next())
    await store.save(first.next())
    await store.save(second.next())
    assert await store.list_runs() == ["second", "first"]


async def test_delete_run_removes_that_run_only_and_counts_its_checkpoints(
    store: CheckpointStore,
) -> None:
    doomed = await _saved_run(store, 3)
    kept = await _saved_run(store, 2)
    assert await store.delete_run(doomed.run_id) == 3
    assert await store.list_checkpoints(doomed.run_id) == []
    assert await store.latest(doomed.run_id) is None
    assert await store.list_runs() == [kept.run_id]
    with pytest.raises(CheckpointNotFoundError):
        await store.load(doomed.saved[0].checkpoint_id)
    for saved in kept.saved:
        assert await store.load(saved.checkpoint_id) == kept.expected(saved)
    assert await store.delete_run(doomed.run_id) == 0


async def test_load_of_an_unknown_id_raises_not_found_naming_the_id(
    store: CheckpointStore,
) -> None:
    await _saved_run(store, 1)
    with pytest.raises(CheckpointNotFoundError, match=r"^no checkpoint `nope` in this \w+"):
        await store.load("nope")


async def test_concurrent_saves_from_many_tasks_all_land_in_order(store: CheckpointStore) -> None:
    runs = [SampleRun(f"run-{n}") for n in range(8)]

    async def write(run: SampleRun) -> None:
        for _ in range(6):
            await store.save(run.next())
            await asyncio.sleep(0)

    await asyncio.gather(*(write(run) for run in runs))
    assert sorted(await store.list_runs()) == sorted(run.run_id for run in runs)
    for run in runs:
        infos = await store.list_checkpoints(run.run_id)
        assert [info.checkpoint_id for info in infos] == [c.checkpoint_id for c in run.saved]
        assert await store.latest(run.run_id) == run.expected(run.saved[-1])


# --- damage: the stores that keep rows ---------------------------------------------------------------

HALVE_BODY = (
    "UPDATE {checkpoints} SET body = substr(body, 1, length(body) / 2) WHERE checkpoint_id = %s"
)
HALVE_BLOB = "UPDATE {blobs} SET body = substr(body, 1, length(body) / 2) WHERE key = %s"
DELETE_BLOB = "DELETE FROM {blobs} WHERE key = %s"


def _falls_back_to(last_good: str) -> str:
    return (
        f"; the last good checkpoint of this run is `{last_good}`; resume from it with "
        f"`checkpoint_id={last_good!r}`."
    )


async def test_a_torn_body_is_refused_naming_the_last_good_checkpoint(
    durable: tuple[CheckpointStore, Tamper],
) -> None:
    store, tamper = durable
    run = await _saved_run(store, 3)
    first, second, third = (c.checkpoint_id for c in run.saved)
    assert await tamper(HALVE_BODY, third) == 1
    with pytest.raises(CheckpointCorruptError) as caught:
        await store.load(third)
    assert str(caught.value) == (
        f"checkpoint `{third}` is damaged and was not loaded: its body does not match its digest "
        f"(torn or altered)" + _falls_back_to(second)
    )
    assert (caught.value.checkpoint_id, caught.value.last_good_id) == (third, second)
    assert await store.load(second) == run.expected(run.saved[1])


async def test_a_damaged_blob_is_refused_naming_the_last_good_checkpoint(
    durable: tuple[CheckpointStore, Tamper],
) -> None:
    store, tamper = durable
    run = await _saved_run(store, 3)
    newest = run.saved[-1]
    writer_blob = run.blob_key(newest, "writer")  # written with the newest checkpoint only
    assert await tamper(HALVE_BLOB, writer_blob) == 1
    with pytest.raises(CheckpointCorruptError) as caught:
        await store.load(newest.checkpoint_id)
    assert str(caught.value) == (
        f"checkpoint `{newest.checkpoint_id}` is damaged and was not loaded: state blob "
        f"`{writer_blob}` does not match its digest" + _falls_back_to(run.saved[1].checkpoint_id)
    )
    assert caught.value.last_good_id == run.saved[1].checkpoint_id


async def test_a_missing_blob_is_refused_naming_it(
    durable: tuple[CheckpointStore, Tamper],
) -> None:
    store, tamper = durable
    run = await _saved_run(store, 2)
    newest = run.saved[-1]
    writer_blob = run.blob_key(newest, "writer")
    assert await tamper(DELETE_BLOB, writer_blob) == 1
    with pytest.raises(CheckpointCorruptError) as caught:
        await store.load(newest.checkpoint_id)
    assert f"state blobs [{writer_blob!r}] are missing" in str(caught.value)
    assert caught.value.last_good_id == run.saved[0].checkpoint_id


async def test_latest_refuses_a_damaged_newest_checkpoint_naming_the_last_good_one(
    durable: tuple[CheckpointStore, Tamper],
) -> None:
    store, tamper = durable
    run = await _saved_run(store, 3)
    await tamper(HALVE_BODY, run.saved[-1].checkpoint_id)
    with pytest.raises(CheckpointCorruptError) as caught:
        await store.latest(run.run_id)
    assert caught.value.checkpoint_id == run.saved[-1].checkpoint_id
    assert caught.value.last_good_id == run.saved[1].checkpoint_id
    assert str(caught.value).endswith(_falls_back_to(run.saved[1].checkpoint_id))


async def test_when_every_checkpoint_is_damaged_none_is_named_as_last_good(
    durable: tuple[CheckpointStore, Tamper],
) -> None:
    store, tamper = durable
    run = await _saved_run(store, 3)
    # the planner's blob from step 0 is referred to by every checkpoint of the run
    assert await tamper(HALVE_BLOB, run.blob_key(run.saved[0], "planner")) == 1
    with pytest.raises(CheckpointCorruptError) as caught:
        await store.latest(run.run_id)
    assert caught.value.last_good_id is None
    assert str(caught.value).endswith("; no earlier checkpoint of this run is intact.")
    for saved in run.saved:
        with pytest.raises(CheckpointCorruptError, match="no earlier checkpoint"):
            await store.load(saved.checkpoint_id)


async def test_damage_in_one_run_leaves_other_runs_loadable(
    durable: tuple[CheckpointStore, Tamper],
) -> None:
    store, tamper = durable
    damaged, intact = await _saved_run(store, 2), await _saved_run(store, 2)
    await tamper(HALVE_BODY, damaged.saved[0].checkpoint_id)
    with pytest.raises(CheckpointCorruptError):
        await store.load(damaged.saved[0].checkpoint_id)
    assert await store.latest(intact.run_id) == intact.expected(intact.saved[-1])


# --- durable runs end to end, on every store --------------------------------------------------------


async def test_a_durable_run_pauses_resumes_and_forks_on_every_store(
    store: CheckpointStore,
) -> None:
    paused = await build().run("tea", checkpoint_store=store, run_id="e2e")
    (request,) = paused.requests
    done = await build().resume(
        "e2e", store=store, responses={request.request_id: Approval(ok=True)}
    )
    assert done.outputs == ("tea total 6: approved",)
    history = await store.list_checkpoints("e2e")
    assert [c.reason for c in history][-2:] == ["responses", "superstep"]
    middle = history[3]
    forked = await build().resume(
        checkpoint_id=middle.checkpoint_id, store=store, new_run_id="e2e-fork"
    )
    assert list(forked.outputs) == outputs_after(paused.events, middle.superstep)
    assert [c.checkpoint_id for c in await store.list_checkpoints("e2e")] == [
        c.checkpoint_id for c in history
    ]
