"""`baton worker`, `baton run --submit` and `baton runs resume --submit` on a real PostgreSQL server."""

from __future__ import annotations

import asyncio

from engine.stores.postgres import PostgresCheckpointStore
from tests.cli.support import error_line, invoke, postgres_url, show_json, sqlite_url

STEPS = "tests.engine.worker_flows:steps"
REVIEW = "tests.engine.backends.flows:review"


def test_a_submitted_run_is_driven_by_a_worker(postgres_dsn: str) -> None:
    url = postgres_url(postgres_dsn)
    submitted = invoke("run", STEPS, "1", "--store", url, "--submit", "--run-id", "s1")
    assert submitted.exit_code == 0, submitted.output
    assert submitted.stdout.strip() == "run s1 submitted; `baton worker` drives it"
    assert show_json(url, "s1")["status"] == "running"
    worked = invoke("worker", STEPS, "--store", url, "--once")
    assert worked.exit_code == 0, worked.output
    assert worked.stdout.splitlines() == ["run s1: idle"]
    shown = show_json(url, "s1")
    assert shown["status"] == "idle"
    assert [o["data"] for o in shown["outputs"]] == [f"step {n}" for n in range(1, 11)]
    again = invoke("worker", STEPS, "--store", url, "--once")
    assert again.exit_code == 0
    assert again.stdout == ""  # nothing left to claim


def test_answers_submitted_for_a_paused_run_are_used_by_a_worker(postgres_dsn: str) -> None:
    url = postgres_url(postgres_dsn)
    assert (
        invoke("run", REVIEW, "notes", "--store", url, "--submit", "--run-id", "p1").exit_code == 0
    )
    paused = invoke("worker", REVIEW, "--store", url, "--once")
    assert paused.stdout.splitlines() == ["run p1: idle_with_pending_requests"]
    (request,) = show_json(url, "p1")["pending_requests"]
    answer = f'{request["request_id"]}={{"approved": true, "note": "ok"}}'
    bad = invoke("runs", "resume", REVIEW, "p1", "--store", url, "--answer", "x=1", "--submit")
    assert "x" in error_line(bad)
    queued = invoke("runs", "resume", REVIEW, "p1", "--store", url, "--answer", answer, "--submit")
    assert queued.exit_code == 0, queued.output
    assert queued.stdout.strip() == "answers for run p1 queued; a worker will continue it"
    done = invoke("worker", REVIEW, "--store", url, "--once")
    assert done.stdout.splitlines() == ["run p1: idle"]
    assert [o["data"] for o in show_json(url, "p1")["outputs"]] == ["notes approved: ok"]


def test_resuming_a_run_another_coordinator_holds_is_refused(postgres_dsn: str) -> None:
    url = postgres_url(postgres_dsn)
    assert (
        invoke("run", REVIEW, "notes", "--store", url, "--submit", "--run-id", "p2").exit_code == 0
    )
    assert invoke("worker", REVIEW, "--store", url, "--once").exit_code == 0
    (request,) = show_json(url, "p2")["pending_requests"]

    async def hold() -> None:
        async with PostgresCheckpointStore(postgres_dsn, owner="elsewhere") as other:
            await other.acquire("p2", workflow_name="review", signature="-")

    asyncio.run(hold())
    answer = f'{request["request_id"]}={{"approved": true, "note": "ok"}}'
    refused = invoke("runs", "resume", REVIEW, "p2", "--store", url, "--answer", answer)
    line = error_line(refused)
    assert "run `p2` is being driven by `elsewhere`" in line
    assert "lease expires in" in line


def test_submit_and_worker_need_a_postgresql_store(tmp_path: object) -> None:
    from pathlib import Path

    url = sqlite_url(Path(str(tmp_path)) / "runs.db")
    assert "needs a PostgreSQL --store" in error_line(
        invoke("run", STEPS, "1", "--store", url, "--submit")
    )
    assert "give --store postgresql://" in error_line(invoke("run", STEPS, "1", "--submit"))
    assert "needs a PostgreSQL store" in error_line(invoke("worker", STEPS, "--store", url))
    worker = invoke("worker", STEPS, "--store", "postgresql://x@127.0.0.1:1/db", "--address", "a:1")
    assert "add --backend ray" in error_line(worker)
