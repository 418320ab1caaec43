"""What only the PostgreSQL store does: shared databases, table setup races, lost connections."""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from engine.errors import CheckpointError, CheckpointNotFoundError
from engine.stores.postgres import PostgresCheckpointStore
from tests.engine.stores.sample import SampleRun


async def _admin(dsn: str) -> psycopg.AsyncConnection[tuple[object, ...]]:
    return await psycopg.AsyncConnection.connect(dsn, autocommit=True)


async def test_stores_starting_at_once_on_an_empty_database_all_get_their_tables(
    postgres_dsn: str,
) -> None:
    stores = [PostgresCheckpointStore(postgres_dsn) for _ in range(8)]
    try:
        started = [store.list_runs() for store in stores]
        assert await asyncio.gather(*started, return_exceptions=True) == [[]] * 8
    finally:
        for store in stores:
            await store.aclose()


async def test_schema_and_table_prefix_keep_stores_in_one_database_apart(
    postgres_dsn: str,
) -> None:
    async with (
        PostgresCheckpointStore(postgres_dsn) as plain,
        PostgresCheckpointStore(postgres_dsn, schema="tenant a") as tenant,
        PostgresCheckpointStore(postgres_dsn, table_prefix="other_") as other,
    ):
        for name, store in (("plain", plain), ("tenant", tenant), ("other", other)):
            await store.save(SampleRun(name).next())
        assert [await s.list_runs() for s in (plain, tenant, other)] == [
            ["plain"],
            ["tenant"],
            ["other"],
        ]
    async with await _admin(postgres_dsn) as admin:
        tables = await (
            await admin.execute(
                "SELECT table_schema, table_name FROM information_schema.tables "
                "WHERE table_schema IN ('public', 'tenant a') ORDER BY 1, 2"
            )
        ).fetchall()
    assert tables == [
        ("public", "baton_blobs"),
        ("public", "baton_checkpoints"),
        ("public", "baton_runs"),
        ("public", "other_blobs"),
        ("public", "other_checkpoints"),
        ("public", "other_runs"),
        ("tenant a", "baton_blobs"),
        ("tenant a", "baton_checkpoints"),
        ("tenant a", "baton_runs"),
    ]


async def test_the_store_reconnects_when_the_server_dropped_its_connection(
    postgres_dsn: str,
) -> None:
    run = SampleRun()
    async with PostgresCheckpointStore(postgres_dsn) as store:
        await store.save(run.next())
        async with await _admin(postgres_dsn) as admin:
            killed = await (
                await admin.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).fetchone()
        assert killed == (1,)
        await store.save(run.next())
        assert await store.load(run.saved[-1].checkpoint_id) == run.expected(run.saved[-1])


async def test_a_cancelled_save_writes_nothing_and_leaves_the_store_usable(
    postgres_dsn: str,
) -> None:
    run = SampleRun()
    async with PostgresCheckpointStore(postgres_dsn) as store:
        async with await _admin(postgres_dsn) as admin, admin.transaction():
            await admin.execute("LOCK TABLE baton_blobs IN ACCESS EXCLUSIVE MODE")
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(store.save(run.next()), timeout=0.5)
        assert await store.list_checkpoints(run.run_id) == []
        retry = SampleRun(run.run_id)
        await store.save(retry.next())
        assert await store.latest(run.run_id) == retry.expected(retry.saved[0])


async def test_saving_a_checkpoint_again_is_harmless_but_a_different_one_under_its_id_is_refused(
    postgres_dsn: str,
) -> None:
    run = SampleRun()
    async with PostgresCheckpointStore(postgres_dsn) as store:
        first = run.next()
        await store.save(first)
        await store.save(first)  # as a save retried after its COMMIT's reply was lost
        impostor = run.next().model_copy(update={"checkpoint_id": first.checkpoint_id})
        with pytest.raises(CheckpointError) as caught:
            await store.save(impostor)
        assert str(caught.value) == (
            f"checkpoint id `{first.checkpoint_id}` is already taken by a different checkpoint "
            "in this store; nothing was saved. Give every checkpoint a new id."
        )
        assert [info.checkpoint_id for info in await store.list_checkpoints(run.run_id)] == [
            first.checkpoint_id
        ]
        assert await store.load(first.checkpoint_id) == run.expected(first)


async def test_not_found_names_the_postgres_store(postgres_dsn: str) -> None:
    async with PostgresCheckpointStore(postgres_dsn) as store:
        with pytest.raises(CheckpointNotFoundError) as caught:
            await store.load("nope")
    assert str(caught.value) == "no checkpoint `nope` in this PostgreSQL store"


async def test_a_closed_store_refuses_to_work(postgres_dsn: str) -> None:
    store = PostgresCheckpointStore(postgres_dsn)
    await store.list_runs()
    await store.aclose()
    await store.aclose()
    with pytest.raises(RuntimeError, match="^this PostgresCheckpointStore is closed"):
        await store.list_runs()


def test_one_store_serves_one_event_loop_after_another(postgres_dsn: str) -> None:
    runs = [SampleRun(), SampleRun()]
    store = PostgresCheckpointStore(postgres_dsn)

    async def save_both() -> None:  # two tasks at once, so they wait on the store's lock
        await asyncio.gather(*(store.save(run.next()) for run in runs))

    try:
        asyncio.run(save_both())
        asyncio.run(save_both())
        for run in runs:
            assert asyncio.run(store.latest(run.run_id)) == run.expected(run.saved[-1])
    finally:
        asyncio.run(store.aclose())
