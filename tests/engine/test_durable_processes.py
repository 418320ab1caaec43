"""Durable runs across real processes: fresh-process resume, SIGKILL mid-run, human input later."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from engine import CheckpointInfo, InMemoryCheckpointStore, RunStatus, SqliteCheckpointStore
from tests.engine.durable_app import Approval, build, outputs_after

ROOT = Path(__file__).resolve().parents[2]


def app(*args: str, delay: float = 0.0) -> dict[str, Any]:
    """Run the durable app in a fresh interpreter and return its JSON report."""
    env = {**os.environ, "DURABLE_APP_DELAY": str(delay)}
    done = subprocess.run(
        [sys.executable, "-m", "tests.engine.durable_app", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


async def uninterrupted() -> tuple[list[Any], list[Any]]:
    """Events and outputs of the whole run, answered `yes`, in this process."""
    paused = await build().run("tea", checkpoint_store=InMemoryCheckpointStore())
    assert paused.run is not None
    done = await paused.run.respond({paused.requests[0].request_id: Approval(ok=True)})
    return [*paused.events, *done.events], [*paused.outputs, *done.outputs]


async def stored(path: Path, run_id: str) -> list[CheckpointInfo]:
    store = SqliteCheckpointStore(path)
    try:
        return await store.list_checkpoints(run_id)
    finally:
        store.close()


def checkpoint_count(path: Path) -> int:
    try:
        with sqlite3.connect(path, timeout=5) as db:
            return int(db.execute("SELECT COUNT(*) FROM checkpoints").fetchone()[0])
    except sqlite3.OperationalError:  # the table does not exist yet
        return 0


def test_every_checkpoint_resumes_in_a_fresh_process_to_the_same_outputs(tmp_path: Path) -> None:
    db = tmp_path / "runs.sqlite3"
    events, _ = asyncio.run(uninterrupted())
    first = app("start", str(db), "whole")
    assert first["status"] == "idle_with_pending_requests"
    checkpoints = asyncio.run(stored(db, "whole"))
    assert len(checkpoints) == 8  # entry + seven supersteps up to the pause
    for checkpoint in checkpoints:
        resumed = app(
            "resume", str(db), "--checkpoint-id", checkpoint.checkpoint_id, "--answer", "yes"
        )
        assert resumed["status"] == "idle"
        assert resumed["outputs"] == outputs_after(events, checkpoint.superstep), checkpoint


def test_a_run_killed_mid_superstep_resumes_in_another_process(tmp_path: Path) -> None:
    db = tmp_path / "runs.sqlite3"
    events, outputs = asyncio.run(uninterrupted())
    env = {**os.environ, "DURABLE_APP_DELAY": "0.4"}
    victim = subprocess.Popen(
        [sys.executable, "-m", "tests.engine.durable_app", "start", str(db), "crash"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while checkpoint_count(db) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert checkpoint_count(db) >= 4, "the run never got going"
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
    finally:
        if victim.poll() is None:
            victim.kill()
        assert victim.stdout is not None and victim.stderr is not None
        victim.stdout.close()
        victim.stderr.close()
    assert victim.returncode == -signal.SIGKILL
    latest = asyncio.run(stored(db, "crash"))[-1]
    assert latest.status is RunStatus.RUNNING  # killed, not finished
    resumed = app("resume", str(db), "--run-id", "crash", "--answer", "yes")
    assert resumed["status"] == "idle"
    assert resumed["outputs"] == outputs_after(events, latest.superstep)
    assert resumed["outputs"][-1] == outputs[-1] == "tea total 6: approved"


def test_a_run_paused_for_input_is_answered_in_another_process(tmp_path: Path) -> None:
    db = tmp_path / "runs.sqlite3"
    paused = app("start", str(db), "ask")
    assert paused["status"] == "idle_with_pending_requests" and len(paused["requests"]) == 1
    answered = app("resume", str(db), "--run-id", "ask", "--answer", "no")
    assert answered == {
        "run_id": "ask",
        "status": "idle",
        "outputs": ["tea total 6: rejected"],
        "requests": [],
    }
