"""The benchmark harness runs and every workload computes its expected result (timings are not asserted)."""

from __future__ import annotations

import gc
import sqlite3
import subprocess
import sys

import pytest

from benchmarks import handoff
from benchmarks.harness import AGENT_CAPTION, BACKEND_CAPTION, DURABLE_CAPTION, Summary, render
from benchmarks.workloads import (
    ENGINE,
    FLOOR,
    PLAIN_ENGINE,
    WORKLOADS,
    SqliteFiles,
    StoreFactory,
    build_chain,
    memory_store,
)
from orchestrations import HandoffAgentExecutor, HandoffSentEvent

DURABLE = ["chain_1000_ckpt_memory", "chain_1000_ckpt_sqlite"]
BACKENDS = ["chain_100_validating", "chain_100_ray", "fan_8_cpu_ray"]


def _run_benchmarks(*options: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--rounds", "1", "--markdown", *options],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _table_names(markdown: str) -> list[list[str]]:
    """The workload names of each Markdown table in `markdown`, table by table."""
    tables: list[list[str]] = []
    previous = ""
    for line in markdown.splitlines():
        if line.startswith("| ") and "---" not in line:
            if not previous.startswith("| "):
                tables.append([])  # this line is a header
            else:
                tables[-1].append(line.split("|")[1].strip())
        previous = line
    return tables


def test_benchmark_harness_runs_every_workload_once() -> None:
    main, durable, backends, agent = _table_names(_run_benchmarks())
    assert main == [
        "chain_1000",
        "chain_100",
        "fan_1000",
        "fan_100",
        "loop_5000",
        "concurrent_500x5",
        "build_chain_1000",
        *DURABLE,
        "handoff_200",
        *BACKENDS,
    ]
    assert durable == DURABLE
    assert backends == BACKENDS
    assert agent == ["handoff_200"]


def test_only_selects_workloads_and_the_durable_and_agent_tables_follow_them() -> None:
    assert _table_names(_run_benchmarks("--only", "chain_100")) == [["chain_100"]]
    output = _run_benchmarks("--only", "chain_100", "--only", "chain_1000_ckpt_sqlite")
    assert _table_names(output) == [
        ["chain_100", "chain_1000_ckpt_sqlite"],
        ["chain_1000_ckpt_sqlite"],
    ]
    assert DURABLE_CAPTION in output
    assert AGENT_CAPTION not in output
    output = _run_benchmarks("--only", "handoff_200")
    assert _table_names(output) == [["handoff_200"], ["handoff_200"]]
    assert AGENT_CAPTION in output
    output = _run_benchmarks("--only", "chain_100_validating")
    assert _table_names(output) == [["chain_100_validating"], ["chain_100_validating"]]
    assert BACKEND_CAPTION in output
    assert DURABLE_CAPTION not in output


def test_backend_table_reports_ratio_to_the_default_backend_and_added_ms_per_superstep() -> None:
    by_name = {w.name: w for w in WORKLOADS}
    ray = Summary(by_name["chain_100_ray"], {PLAIN_ENGINE: [0.002], ENGINE: [0.302]})
    output = render([ray], rounds=1, warmup=0, markdown=True)
    assert "| chain_100_ray | RayBackend() | 100 | 2.00 | 302 | 151.00x | 3.000 |" in output


async def test_backend_workloads_compute_the_same_on_both_backends() -> None:
    (workload,) = [w for w in WORKLOADS if w.name == "chain_100_validating"]
    thunks = workload.setup()
    assert await thunks[PLAIN_ENGINE]() == await thunks[ENGINE]() == workload.expected


@pytest.mark.parametrize("open_store", [memory_store, SqliteFiles()], ids=["memory", "sqlite"])
async def test_checkpointed_chain_saves_an_entry_and_one_checkpoint_per_superstep(
    open_store: StoreFactory,
) -> None:
    with open_store() as store:
        result = await build_chain(10).run(0, checkpoint_store=store)
        checkpoints = await store.list_checkpoints(result.run_id)
    assert result.outputs == (10,)
    assert result.supersteps == 10
    assert [c.reason for c in checkpoints] == ["entry", *["superstep"] * 10]


async def test_sqlite_files_open_a_new_file_per_run_and_close_it() -> None:
    files = SqliteFiles()
    directory = files.directory
    for _ in range(2):
        with files() as store:
            await build_chain(3).run(0, checkpoint_store=store)
        with pytest.raises(sqlite3.ProgrammingError, match="closed"):
            await store.list_runs()
    assert sorted(p.name for p in directory.glob("*.sqlite3")) == ["run1.sqlite3", "run2.sqlite3"]
    del files, store
    gc.collect()
    assert not directory.exists()


async def test_durable_workloads_count_the_supersteps_their_chain_runs() -> None:
    durable = [w for w in WORKLOADS if w.supersteps is not None and w.backend is None]
    assert [w.name for w in durable] == DURABLE
    for workload in durable:
        assert workload.supersteps is not None
        result = await build_chain(workload.supersteps).run(0)
        assert result.supersteps == workload.supersteps
        assert list(result.outputs) == workload.expected


def test_durable_table_reports_ratio_to_plain_engine_and_added_ms_per_superstep() -> None:
    by_name = {w.name: w for w in WORKLOADS}
    memory = Summary(by_name["chain_1000_ckpt_memory"], {PLAIN_ENGINE: [0.010], ENGINE: [0.025]})
    sqlite = Summary(by_name["chain_1000_ckpt_sqlite"], {PLAIN_ENGINE: [0.010], ENGINE: [0.210]})
    chain = Summary(by_name["chain_100"], {ENGINE: [0.001]})
    output = render([chain, memory, sqlite], rounds=1, warmup=0, markdown=True)
    assert (
        "| chain_1000_ckpt_memory | 1000 | 10.0 | 25.0 | 2.50x | 0.015 | ≤ 2x plain engine: OVER |"
        in output
    )
    assert (
        "| chain_1000_ckpt_sqlite | 1000 | 10.0 | 210 | 21.00x | 0.200 | < 1 ms/superstep added: ok |"
        in output
    )
    assert DURABLE_CAPTION not in render([chain], rounds=1, warmup=0, markdown=True)


async def test_handoff_workload_hands_off_around_the_ring_and_answers_on_both_variants() -> None:
    (workload,) = [w for w in WORKLOADS if w.name == "handoff_200"]
    assert workload.expected == handoff.HandoffOutcome(200, "c", 402, handoff.FINAL_TEXT)
    assert workload.turns == 201
    thunks = workload.setup()
    assert sorted(thunks) == [ENGINE, FLOOR]
    for _ in range(2):  # the clients are not consumed: one setup serves every run
        assert await thunks[ENGINE]() == workload.expected
        assert await thunks[FLOOR]() == workload.expected


async def test_handoff_engine_run_sends_every_handoff_to_the_next_agent() -> None:
    ring = handoff.Ring.of(7)
    result = await handoff.build_workflow(ring).run(handoff.PROMPT)
    sent = [(e.source, e.target) for e in result.events if isinstance(e, HandoffSentEvent)]
    assert sent == [
        ("a", "b"),
        ("b", "c"),
        ("c", "a"),
        ("a", "b"),
        ("b", "c"),
        ("c", "a"),
        ("a", "b"),
    ]
    assert handoff.engine_outcome(result) == handoff.expected_outcome(7)
    assert await handoff.run_floor(ring, handoff.PROMPT) == handoff.expected_outcome(7)


def test_handoff_floor_offers_the_handoff_tools_the_orchestration_makes() -> None:
    ring = handoff.Ring.of(3)
    workflow = handoff.build_workflow(ring)
    for name, spec in ring.tools.items():
        executor = workflow.executors[name]
        assert isinstance(executor, HandoffAgentExecutor)
        assert executor.handoff_tools == (spec,)


def test_agent_table_reports_ratio_to_floor_and_overhead_per_turn() -> None:
    by_name = {w.name: w for w in WORKLOADS}
    ring = Summary(by_name["handoff_200"], {FLOOR: [0.0100], ENGINE: [0.0301]})
    chain = Summary(by_name["chain_100"], {ENGINE: [0.001]})
    output = render([chain, ring], rounds=1, warmup=0, markdown=True)
    assert "| handoff_200 | 30.1 | 30.1 | 30.1 | 10.0 | 3.01x | — | — | — |" in output
    assert "| handoff_200 | 201 | 10.0 | 30.1 | 3.01x | 100 | — |" in output
    assert AGENT_CAPTION not in render([chain], rounds=1, warmup=0, markdown=True)
