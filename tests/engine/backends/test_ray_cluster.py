"""RayBackend on a real two-node cluster on this machine: placement, node loss, importability."""

from __future__ import annotations

import asyncio
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine import ExecutorFailedError, WorkflowBuilder
from tests.engine.backends import flows
from tests.support.ray_cluster import RayCluster

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def two_nodes() -> Iterator[RayCluster]:
    with RayCluster(nodes=2, num_cpus=3) as cluster:
        yield cluster


async def test_a_fan_out_runs_on_both_nodes(two_nodes: RayCluster) -> None:
    backend = two_nodes.backend(scheduling_strategy="SPREAD")
    result = await flows.placement().run(0.3, backend=backend)
    names = [name for name, _ in result.outputs]
    assert names == [f"p{i}" for i in range(6)]  # invocation order, whatever finished first
    used = {node for _, node in result.outputs}
    assert used == {node.node_id for node in two_nodes.nodes}


async def test_executors_workers_cannot_import_fail_with_what_to_do(
    two_nodes: RayCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "elsewhere_flows.py").write_text(
        textwrap.dedent(
            """
            from engine import Executor, WorkflowContext, handler

            class LocalOnly(Executor):
                @handler
                async def on_int(self, n: int, ctx: WorkflowContext[None, int]) -> None:
                    await ctx.yield_output(n)
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    import elsewhere_flows  # type: ignore[import-not-found]

    workflow = WorkflowBuilder(start_executor=elsewhere_flows.LocalOnly("local_only")).build()
    assert (await workflow.run(1)).outputs == (1,)
    # a class travels by reference; here only this process can import its module
    with pytest.raises(ExecutorFailedError, match="could not be loaded on a Ray worker") as failed:
        await workflow.run(1, backend=two_nodes.backend())
    assert "elsewhere_flows" in str(failed.value)
    assert "runtime_env" in str(failed.value)
    sys.modules.pop("elsewhere_flows", None)


async def test_losing_a_node_mid_superstep_still_finishes_the_run(two_nodes: RayCluster) -> None:
    """Runs last in this module: it kills node b's raylet (the health check is fast, see RAY_ENV)."""
    backend = two_nodes.backend(scheduling_strategy="SPREAD", max_retries=3)
    head, other = two_nodes.nodes
    events = flows.placement().run(3.0, backend=backend, stream=True)
    outputs = []
    async for event in events:
        if event.type == "superstep_started" and event.superstep == 2:
            await asyncio.sleep(1.0)  # the six tasks are running, some on node b
            other.kill_raylet()
        if event.type == "output":
            outputs.append(event.data)
    assert [name for name, _ in outputs] == [f"p{i}" for i in range(6)]
    assert {node for _, node in outputs} == {head.node_id}  # b's tasks were retried on a
