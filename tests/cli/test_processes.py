"""The installed `baton` command in real processes: the demo, a durable run, and a run killed mid-way."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine import SqliteCheckpointStore

ROOT = Path(__file__).resolve().parents[2]


def baton_command() -> list[str]:
    installed = Path(sys.executable).with_name("baton")
    return [str(installed)] if installed.exists() else [shutil.which("baton") or "baton"]


def baton(*args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*baton_command(), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, **env},
    )


def test_installed_baton_runs_the_handoff_demo_unattended() -> None:
    done = baton("demo", "handoff", "--yes")
    assert done.returncode == 0, done.stderr
    assert "  returns -> fraud" in done.stdout.splitlines()
    assert done.stderr == ""  # no warning or log line leaks into the demo
    piped = baton("demo", "handoff")  # stdin at its end: the scripted customer plays every turn
    assert piped.returncode == 0, piped.stderr
    assert [line for line in piped.stdout.splitlines() if "->" in line] == [
        line for line in done.stdout.splitlines() if "->" in line
    ]


def test_installed_baton_runs_a_durable_run_paused_then_answered(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/runs.db"
    paused = baton("run", "tests.cli.apps:approval", "tea", "--store", url, "--run-id", "r1")
    assert paused.returncode == 0, paused.stderr
    assert "baton runs resume tests.cli.apps:approval r1" in paused.stderr
    shown = json.loads(baton("runs", "show", "r1", "--store", url, "--json").stdout)
    assert shown["status"] == "idle_with_pending_requests"
    (request,) = shown["pending_requests"]
    assert request["data"]["topic"] == "tea"
    resumed = baton(
        "runs", "resume", "tests.cli.apps:approval", "r1", "--store", url,
        "--answer", f'{request["request_id"][:8]}={{"ok": true}}',
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    assert "output from reviewer: tea: approved" in resumed.stdout
    listed = json.loads(baton("runs", "list", "--store", url, "--json").stdout)
    assert [(r["run_id"], r["status"]) for r in listed] == [("r1", "idle")]
    answered = baton("run", "tests.cli.apps:approval", "tea", stdin='{"ok": false}\n')
    assert "output from reviewer: tea: rejected" in answered.stdout


def superstep_of(path: Path, run_id: str) -> int:
    store = SqliteCheckpointStore(path)
    try:
        infos = asyncio.run(store.list_checkpoints(run_id))
    finally:
        store.close()
    return infos[-1].superstep if infos else 0


@pytest.mark.slow
def test_a_run_killed_mid_way_is_finished_by_runs_resume(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    url = f"sqlite:///{path}"
    command = [*baton_command(), "run", "tests.cli.apps:build_slow", '{"n": 1}']
    process = subprocess.Popen(
        [*command, "--store", url, "--run-id", "slow", "--no-stream"],
        cwd=ROOT,
        env={**os.environ, "SLOW_APP_DELAY": "0.4"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not path.exists() or superstep_of(path, "slow") < 3:
            assert process.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline, "the run never reached superstep 3"
            time.sleep(0.05)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    killed_at = superstep_of(path, "slow")
    assert 3 <= killed_at < 10
    before = json.loads(baton("runs", "show", "slow", "--store", url, "--json").stdout)
    assert before["status"] == "running"

    resumed = baton("runs", "resume", "tests.cli.apps:build_slow", "slow", "--store", url)
    assert resumed.returncode == 0, resumed.stderr
    shown = json.loads(baton("runs", "show", "slow", "--store", url, "--json").stdout)
    assert shown["status"] == "idle"
    assert [o["data"] for o in shown["outputs"]] == [f"step {n}" for n in range(1, 11)]
    assert [o["superstep"] for o in shown["outputs"]] == list(range(1, 11))
    resumed_steps = [line for line in resumed.stdout.splitlines() if "output from count" in line]
    assert resumed_steps == [f"  output from count: step {n}" for n in range(killed_at + 1, 11)]
