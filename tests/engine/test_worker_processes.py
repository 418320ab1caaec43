"""Run leases across real processes: racing workers, a killed coordinator, SIGTERM, `baton worker` errors."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from engine import OutputEvent
from engine.stores.postgres import PostgresCheckpointStore
from tests.cli.support import postgres_url
from tests.engine import worker_flows

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
BATON = Path(sys.executable).with_name("baton")
TARGET = "tests.engine.worker_flows:steps"
EVERY_STEP = [f"step {n}" for n in range(1, worker_flows.STEPS + 1)]
EVERY_SUPERSTEP = list(range(1, worker_flows.STEPS + 1))

RESUME = """
import asyncio, json, sys
from engine.stores.postgres import PostgresCheckpointStore
from tests.engine import worker_flows

async def main(dsn, run_id, owner):
    async with PostgresCheckpointStore(dsn, owner=owner) as store:
        print("ready", flush=True)
        sys.stdin.readline()  # both coordinators are connected: resume at the same moment
        result = await worker_flows.steps.resume(run_id, store=store)
    print(json.dumps(list(result.outputs)), flush=True)

asyncio.run(main(*sys.argv[1:]))
"""
"""A coordinator process: `python -c RESUME DSN RUN_ID OWNER`; resumes the run on a line of stdin."""


@contextlib.contextmanager
def spawned(
    command: list[str], *, step_seconds: float, **options: Any
) -> Iterator[subprocess.Popen[str]]:
    """Run `command` from the repository with steps of `step_seconds`; kill it if still running."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "BATON_TEST_STEP_SECONDS": str(step_seconds),
    }
    env.pop("BATON_STORE", None)
    with subprocess.Popen(command, cwd=ROOT, env=env, text=True, **options) as process:
        try:
            yield process
        finally:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=10)


@contextlib.contextmanager
def baton_worker(
    url: str, log: Path, *options: str, step_seconds: float
) -> Iterator[subprocess.Popen[str]]:
    """`baton worker TARGET --store url *options`, its stdout and stderr in ``log.out``/``log.err``."""
    command = [str(BATON), "worker", TARGET, "--store", url, *options]
    with (
        log.with_suffix(".out").open("w") as out,
        log.with_suffix(".err").open("w") as err,
        spawned(command, step_seconds=step_seconds, stdout=out, stderr=err) as process,
    ):
        yield process


def output_of(log: Path) -> tuple[str, str]:
    """What a `baton_worker` wrote so far: stdout, stderr."""
    return log.with_suffix(".out").read_text(), log.with_suffix(".err").read_text()


def wait_until(
    check: Callable[[], bool], what: str, process: subprocess.Popen[str], log: Path
) -> None:
    """Poll `check` while `process` runs; fail saying `what` did not happen (within 20 s)."""
    deadline = time.monotonic() + 20
    while not check():
        assert process.poll() is None, f"the worker exited before {what}: {output_of(log)}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}: {output_of(log)}"
        time.sleep(0.05)


def exit_times(processes: dict[str, subprocess.Popen[str]], timeout: float) -> dict[str, float]:
    """Wait for every process to exit; when each did (monotonic clock)."""
    deadline = time.monotonic() + timeout
    exited: dict[str, float] = {}
    while len(exited) < len(processes):
        assert time.monotonic() < deadline, f"still running after {timeout} s: {exited}"
        for name, process in processes.items():
            if name not in exited and process.poll() is not None:
                exited[name] = time.monotonic()
        time.sleep(0.01)
    return exited


async def _submit(dsn: str, run_id: str) -> None:
    async with PostgresCheckpointStore(dsn) as store:
        await worker_flows.steps.submit(1, store=store, run_id=run_id)


def submit(dsn: str, run_id: str) -> None:
    """Leave a new `steps` run (from 1) runnable in the store, for a worker to claim."""
    asyncio.run(_submit(dsn, run_id))


def latest_superstep(dsn: str, run_id: str) -> int:
    """The superstep of the run's newest checkpoint (-1 before any).

    This and `lease` read the tables with plain queries while workers run: opening a store there
    would run its ``CREATE ... IF NOT EXISTS`` statements, whose locks can deadlock with a save.
    """
    with psycopg.connect(dsn, autocommit=True) as db:
        row = db.execute(
            "SELECT superstep FROM baton_checkpoints WHERE run_id = %s ORDER BY seq DESC LIMIT 1",
            (run_id,),
        ).fetchone()
    return -1 if row is None else int(row[0])


def lease(dsn: str, run_id: str) -> tuple[str, str | None]:
    """The run row's state and lease holder."""
    with psycopg.connect(dsn, autocommit=True) as db:
        row = db.execute(
            "SELECT state, owner FROM baton_runs WHERE run_id = %s", (run_id,)
        ).fetchone()
    assert row is not None, f"no run `{run_id}` in baton_runs"
    return row[0], row[1]


async def _saved(dsn: str, run_id: str) -> tuple[list[int], list[str]]:
    async with PostgresCheckpointStore(dsn) as store:
        infos = await store.list_checkpoints(run_id)
        outputs = [
            output["data"]
            for info in infos
            for output in (await store.load(info.checkpoint_id)).outputs
        ]
    return [info.superstep for info in infos if info.reason == "superstep"], outputs


def saved(dsn: str, run_id: str) -> tuple[list[int], list[str]]:
    """The supersteps the run's superstep checkpoints close, and every output they record.

    Call it (and `submit`) only while no worker runs: it opens a store (see `latest_superstep`).
    """
    return asyncio.run(_saved(dsn, run_id))


async def _stop_after_superstep_3(dsn: str, run_id: str) -> None:
    async with PostgresCheckpointStore(dsn) as store:
        run = worker_flows.steps.start(1, run_id=run_id, checkpoint_store=store)
        async for event in run.stream():
            if isinstance(event, OutputEvent) and event.data == "step 3":
                run.request_stop()  # superstep 3 finishes and is saved; the rest stays pending


def test_two_processes_racing_for_one_run_never_both_advance_it(
    postgres_dsn: str, tmp_path: Path
) -> None:
    submit(postgres_dsn, "race")
    url = postgres_url(postgres_dsn)
    with (
        baton_worker(url, tmp_path / "a", "--once", step_seconds=0.1) as a,
        baton_worker(url, tmp_path / "b", "--once", step_seconds=0.1) as b,
    ):
        exited = exit_times({"a": a, "b": b}, timeout=30)
    for name, process in {"a": a, "b": b}.items():
        assert process.returncode == 0, output_of(tmp_path / name)
    stdouts = {name: output_of(tmp_path / name)[0] for name in "ab"}
    assert sorted(stdouts.values()) == ["", "run race: idle\n"]  # one drove it, one found no work
    winner = next(name for name, stdout in stdouts.items() if stdout)
    loser = next(name for name, stdout in stdouts.items() if not stdout)
    assert exited[loser] < exited[winner]  # the loser looked while the winner was driving the run
    assert saved(postgres_dsn, "race") == (EVERY_SUPERSTEP, EVERY_STEP)
    assert lease(postgres_dsn, "race") == ("done", None)


def test_two_coordinators_resuming_one_run_at_once_never_both_drive_it(
    postgres_dsn: str,
) -> None:
    asyncio.run(_stop_after_superstep_3(postgres_dsn, "halfway"))
    assert latest_superstep(postgres_dsn, "halfway") == 3
    assert lease(postgres_dsn, "halfway") == ("runnable", None)
    pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    with (
        spawned(
            [sys.executable, "-c", RESUME, postgres_dsn, "halfway", "first"],
            step_seconds=0.3,
            **pipes,
        ) as first,
        spawned(
            [sys.executable, "-c", RESUME, postgres_dsn, "halfway", "second"],
            step_seconds=0.3,
            **pipes,
        ) as second,
    ):
        coordinators = {"first": first, "second": second}
        for process in coordinators.values():
            assert process.stdout is not None
            assert process.stdout.readline() == "ready\n", process.communicate(timeout=10)
        for process in coordinators.values():
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        ended = {name: process.communicate(timeout=30) for name, process in coordinators.items()}
        codes = {name: process.returncode for name, process in coordinators.items()}
    assert sorted(codes.values()) == [0, 1], ended
    winner = next(name for name, code in codes.items() if code == 0)
    loser = next(name for name, code in codes.items() if code == 1)
    assert json.loads(ended[winner][0].splitlines()[-1]) == EVERY_STEP[3:]
    assert "RunLeasedError: run `halfway` is being driven by `" + winner + "`" in ended[loser][1]
    assert saved(postgres_dsn, "halfway") == (EVERY_SUPERSTEP, EVERY_STEP)
    assert lease(postgres_dsn, "halfway") == ("done", None)


def test_a_killed_coordinator_run_is_finished_by_another_worker(
    postgres_dsn: str, tmp_path: Path
) -> None:
    submit(postgres_dsn, "orphan")
    url = postgres_url(postgres_dsn)
    lease_options = ("--lease-seconds", "2")
    first_log = tmp_path / "first"
    with baton_worker(
        url, first_log, *lease_options, "--poll-seconds", "0.1", step_seconds=0.3
    ) as first:
        wait_until(
            lambda: latest_superstep(postgres_dsn, "orphan") >= 3,
            "superstep 3 was saved",
            first,
            first_log,
        )
        first.send_signal(signal.SIGKILL)
        assert first.wait(timeout=10) == -signal.SIGKILL
    killed_at = latest_superstep(postgres_dsn, "orphan")
    assert 3 <= killed_at < worker_flows.STEPS
    state, owner = lease(postgres_dsn, "orphan")
    assert state == "running"  # nobody released it: the lease must run out
    assert owner is not None and owner.startswith(f"{socket.gethostname()}:{first.pid}:")
    assert f"worker {owner} serving `steps`" in output_of(first_log)[1]

    second_log = tmp_path / "second"
    with baton_worker(
        url, second_log, *lease_options, "--poll-seconds", "0.2", step_seconds=0.3
    ) as second:
        wait_until(
            lambda: lease(postgres_dsn, "orphan")[0] == "done",
            "the run was done",
            second,
            second_log,
        )
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=10) == 0, output_of(second_log)
    uninterrupted = asyncio.run(worker_flows.steps.run(1))
    assert saved(postgres_dsn, "orphan") == (EVERY_SUPERSTEP, list(uninterrupted.outputs))
    assert list(uninterrupted.outputs) == EVERY_STEP
    assert lease(postgres_dsn, "orphan") == ("done", None)


def test_sigterm_finishes_the_superstep_and_releases_the_run(
    postgres_dsn: str, tmp_path: Path
) -> None:
    submit(postgres_dsn, "stopped")
    url = postgres_url(postgres_dsn)
    serving_log = tmp_path / "serving"
    with baton_worker(url, serving_log, "--poll-seconds", "0.1", step_seconds=0.5) as serving:
        wait_until(
            lambda: latest_superstep(postgres_dsn, "stopped") >= 2,
            "superstep 2 was saved",
            serving,
            serving_log,
        )
        serving.send_signal(signal.SIGTERM)
        assert serving.wait(timeout=5) == 0, output_of(serving_log)
    assert "worker stopped" in output_of(serving_log)[1]
    assert lease(postgres_dsn, "stopped") == ("runnable", None)
    stopped_at = latest_superstep(postgres_dsn, "stopped")
    assert 2 <= stopped_at < worker_flows.STEPS
    supersteps, outputs = saved(postgres_dsn, "stopped")
    assert supersteps == EVERY_SUPERSTEP[:stopped_at]  # the superstep under way was finished
    assert outputs == EVERY_STEP[:stopped_at]

    once_log = tmp_path / "once"
    with baton_worker(url, once_log, "--once", step_seconds=0) as once:
        assert once.wait(timeout=30) == 0, output_of(once_log)
    assert output_of(once_log)[0] == "run stopped: idle\n"
    assert saved(postgres_dsn, "stopped") == (EVERY_SUPERSTEP, EVERY_STEP)
    assert lease(postgres_dsn, "stopped") == ("done", None)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (
            ["--store", "sqlite:///x.db"],
            "error: baton worker needs a PostgreSQL store (--store postgresql://...), "
            "got sqlite:///x.db",
        ),
        (
            ["--store", "postgresql://nobody@127.0.0.1:1/none", "--address", "127.0.0.1:1"],
            "error: --address names a Ray cluster; add --backend ray.",
        ),
    ],
    ids=["sqlite-store", "address-without-ray"],
)
def test_baton_worker_refuses_a_store_or_backend_it_cannot_use(
    options: list[str], expected: str, tmp_path: Path
) -> None:
    done = subprocess.run(
        [str(BATON), "worker", TARGET, *options],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, done.stderr
    assert errors[0].startswith(expected)
    assert done.stdout == ""
    assert list(tmp_path.iterdir()) == []  # no store was opened, not even a SQLite file
