"""Run leases on PostgreSQL: one coordinator at a time, fenced saves, the run queue, workers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import psycopg
import pytest

from engine import (
    CheckpointError,
    InMemoryCheckpointStore,
    LeaseLostError,
    ResponseError,
    RunLeasedError,
    RunStatus,
)
from engine.stores.base import LeasingStore, RunOutcome
from engine.stores.postgres import PostgresCheckpointStore
from engine.worker import Worker
from tests.engine import worker_flows
from tests.engine.backends import flows

EVERY_STEP = tuple(f"step {n}" for n in range(1, worker_flows.STEPS + 1))


@pytest.fixture
async def stores(postgres_dsn: str) -> AsyncIterator[tuple[PostgresCheckpointStore, ...]]:
    """Two coordinators (`a`, `b`) on one database, as two machines would be."""
    async with (
        PostgresCheckpointStore(postgres_dsn, owner="a", lease_seconds=5) as a,
        PostgresCheckpointStore(postgres_dsn, owner="b", lease_seconds=5) as b,
    ):
        yield a, b


@pytest.fixture
def gate() -> Iterator[asyncio.Event]:
    worker_flows.GATE = asyncio.Event()
    yield worker_flows.GATE
    worker_flows.GATE = None


async def lease_row(dsn: str, run_id: str) -> tuple[str, str | None]:
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as db:
        cursor = await db.execute(
            "SELECT state, owner FROM baton_runs WHERE run_id = %s", (run_id,)
        )
        row = await cursor.fetchone()
    assert row is not None
    return row[0], row[1]


async def expire(dsn: str, run_id: str) -> None:
    """Make `run_id`'s lease run out now, as when its coordinator stopped renewing it."""
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as db:
        await db.execute("UPDATE baton_runs SET expires_at = 0 WHERE run_id = %s", (run_id,))


def test_only_the_postgres_store_leases_runs(postgres_dsn: str) -> None:
    assert isinstance(PostgresCheckpointStore(postgres_dsn), LeasingStore)
    assert not isinstance(InMemoryCheckpointStore(), LeasingStore)
    with pytest.raises(ValueError, match="lease_seconds"):
        PostgresCheckpointStore(postgres_dsn, lease_seconds=0)


async def test_a_run_is_leased_while_driven_and_released_with_its_outcome(
    stores: tuple[PostgresCheckpointStore, ...], postgres_dsn: str, gate: asyncio.Event
) -> None:
    a, b = stores
    task = asyncio.create_task(worker_flows.steps.run(1, checkpoint_store=a, run_id="r1"))
    await asyncio.sleep(0.2)
    assert await lease_row(postgres_dsn, "r1") == ("running", "a")
    with pytest.raises(RunLeasedError, match=r"run `r1` is being driven by `a`") as refused:
        await worker_flows.steps.resume("r1", store=b)
    assert refused.value.owner == "a"
    assert 0 < refused.value.expires_in <= 5
    gate.set()
    assert (await task).outputs == EVERY_STEP
    assert await lease_row(postgres_dsn, "r1") == ("done", None)


async def test_a_paused_run_is_released_and_another_coordinator_answers_it(
    stores: tuple[PostgresCheckpointStore, ...], postgres_dsn: str
) -> None:
    a, b = stores
    paused = await flows.review().run("notes", checkpoint_store=a, run_id="p1")
    assert await lease_row(postgres_dsn, "p1") == ("paused", None)
    run = await flows.review().reopen("p1", store=b)
    (request,) = run.pending_requests
    done = await run.resume({request.request_id: {"approved": False, "note": "too short"}})
    assert done.outputs == ("notes rejected: too short",)
    assert paused.requests[0].request_id == request.request_id
    assert await lease_row(postgres_dsn, "p1") == ("done", None)


async def test_a_coordinator_that_lost_its_lease_writes_nothing_more(
    stores: tuple[PostgresCheckpointStore, ...], postgres_dsn: str, gate: asyncio.Event
) -> None:
    a, b = stores
    first = asyncio.create_task(worker_flows.steps.run(1, checkpoint_store=a, run_id="r2"))
    await asyncio.sleep(0.2)
    await expire(postgres_dsn, "r2")  # `a` stalled past its lease...
    run = await worker_flows.steps.reopen("r2", store=b)  # ...and `b` took the run over
    second = asyncio.create_task(run.resume())
    await asyncio.sleep(0.1)
    gate.set()
    with pytest.raises(LeaseLostError, match="lost the lease of run `r2`"):
        await first
    assert (await second).outputs == EVERY_STEP
    steps = [
        info.superstep for info in await a.list_checkpoints("r2") if info.reason == "superstep"
    ]
    assert steps == list(range(1, worker_flows.STEPS + 1))  # each superstep saved once, by `b`


async def test_a_worker_drives_submitted_runs_and_queued_answers(
    stores: tuple[PostgresCheckpointStore, ...], postgres_dsn: str
) -> None:
    a, b = stores
    first = await worker_flows.steps.submit(1, store=a, run_id="s1")
    review = await flows.review().submit("draft", store=a)
    assert first == "s1"
    assert await lease_row(postgres_dsn, "s1") == ("runnable", None)
    worker = Worker([worker_flows.steps, flows.review()], b)
    results = {}
    while (result := await worker.run_once()) is not None:
        results[result.run_id] = result
    assert results["s1"].outputs == EVERY_STEP
    assert results[review].status == RunStatus.IDLE_WITH_PENDING_REQUESTS
    assert await lease_row(postgres_dsn, review) == ("paused", None)
    assert await worker.run_once() is None  # a paused run is not work
    (request,) = results[review].requests
    with pytest.raises(ResponseError, match="must be `Answer`"):
        await flows.review().submit_answers(review, {request.request_id: 42}, store=a)
    with pytest.raises(ResponseError, match="no pending request `nope`"):
        await flows.review().submit_answers(review, {"nope": True}, store=a)
    answer = {"approved": True, "note": "ok"}
    await flows.review().submit_answers(review, {request.request_id: answer}, store=a)
    with pytest.raises(CheckpointError, match="cannot take answers from the queue: it is runnable"):
        await flows.review().submit_answers(review, {request.request_id: answer}, store=a)
    answered = await worker.run_once()
    assert answered is not None
    assert answered.outputs == ("draft approved: ok",)
    assert await lease_row(postgres_dsn, review) == ("done", None)


async def test_a_worker_claims_only_runs_of_its_workflows(
    stores: tuple[PostgresCheckpointStore, ...],
) -> None:
    a, b = stores
    await flows.review().submit("x", store=a, run_id="other")
    assert await Worker([worker_flows.steps], b).run_once() is None
    assert (await Worker([flows.review()], b).run_once()) is not None


async def test_a_worker_finishes_a_run_whose_coordinator_died(
    stores: tuple[PostgresCheckpointStore, ...], postgres_dsn: str, gate: asyncio.Event
) -> None:
    a, b = stores
    dying = asyncio.create_task(worker_flows.steps.run(1, checkpoint_store=a, run_id="orphan"))
    await asyncio.sleep(0.2)
    dying.cancel()  # the coordinator is gone without releasing anything...
    with pytest.raises(asyncio.CancelledError):
        await dying
    async with await psycopg.AsyncConnection.connect(postgres_dsn, autocommit=True) as db:
        # (cancelling released it as runnable; a killed process would leave it `running`)
        await db.execute(
            "UPDATE baton_runs SET state = 'running', owner = 'a', expires_at = "
            "extract(epoch from clock_timestamp()) + 60 WHERE run_id = 'orphan'"
        )
    gate.set()
    worker = Worker([worker_flows.steps], b)
    assert await worker.run_once() is None  # its lease has not expired yet
    await expire(postgres_dsn, "orphan")
    result = await worker.run_once()
    assert result is not None
    assert result.outputs == EVERY_STEP


async def test_a_stopped_worker_leaves_the_run_runnable_after_the_current_superstep(
    stores: tuple[PostgresCheckpointStore, ...], postgres_dsn: str, gate: asyncio.Event
) -> None:
    a, b = stores
    await worker_flows.steps.submit(1, store=a, run_id="stop-me")
    worker = Worker([worker_flows.steps], b, poll_seconds=0.05)
    async with worker.serving():
        while worker.current_run is None:  # noqa: ASYNC110 - another task sets it
            await asyncio.sleep(0.01)
        worker.stop()  # mid-superstep 1: it finishes, checkpoints, and releases
        gate.set()
    assert await lease_row(postgres_dsn, "stop-me") == ("runnable", None)
    latest = await a.latest("stop-me")
    assert latest is not None
    assert latest.superstep == 1
    rest = await Worker([worker_flows.steps], a).run_once()
    assert rest is not None
    assert rest.outputs == EVERY_STEP[1:]


async def test_submitting_needs_a_leasing_store() -> None:
    with pytest.raises(TypeError, match="PostgresCheckpointStore"):
        await worker_flows.steps.submit(1, store=InMemoryCheckpointStore())
    with pytest.raises(TypeError, match="PostgresCheckpointStore"):
        Worker([worker_flows.steps], InMemoryCheckpointStore())  # type: ignore[arg-type]


async def test_release_records_each_outcome(
    stores: tuple[PostgresCheckpointStore, ...], postgres_dsn: str
) -> None:
    a, _ = stores
    for outcome in RunOutcome:
        await a.acquire("o", workflow_name="w", signature="sig")
        await a.release("o", outcome)
        assert await lease_row(postgres_dsn, "o") == (outcome.value, None)


async def test_a_superstep_longer_than_the_lease_keeps_it_through_the_heartbeat(
    postgres_dsn: str, gate: asyncio.Event
) -> None:
    async with (
        PostgresCheckpointStore(postgres_dsn, owner="slow", lease_seconds=0.6) as slow,
        PostgresCheckpointStore(postgres_dsn, owner="eager", lease_seconds=0.6) as eager,
    ):
        task = asyncio.create_task(worker_flows.steps.run(1, checkpoint_store=slow, run_id="long"))
        await asyncio.sleep(1.5)  # superstep 1 waits at the gate for 2.5 leases
        with pytest.raises(RunLeasedError, match="driven by `slow`"):
            await worker_flows.steps.resume("long", store=eager)
        gate.set()
        assert (await task).outputs == EVERY_STEP
    assert await lease_row(postgres_dsn, "long") == ("done", None)
