from __future__ import annotations

import logging

import pytest

from engine import WorkflowBuilder, WorkflowContext, executor


@executor(id="seed")
async def seed(message: str, ctx: WorkflowContext[str]) -> None:
    ctx.shared.set("keep", 1)
    ctx.shared.set("drop", 2)
    await ctx.send_message(message)


@executor(id="prune")
async def prune(message: str, ctx: WorkflowContext[str]) -> None:
    ctx.shared.delete("drop")
    ctx.shared.delete("never-set")  # deleting a missing key is fine
    assert (
        "drop" not in ctx.shared and ctx.shared.get("drop", "gone") == "gone"
    )  # own write visible
    await ctx.send_message(message)


@executor(id="look")
async def look(message: str, ctx: WorkflowContext[None, dict[str, object]]) -> None:
    await ctx.yield_output({"keep": "keep" in ctx.shared, "drop": "drop" in ctx.shared})


async def test_shared_state_deletes_are_staged_like_writes() -> None:
    workflow = WorkflowBuilder(start_executor=seed).add_chain([seed, prune, look]).build()
    run = workflow.start("x")
    result = await run.execute()
    assert result.outputs == ({"keep": True, "drop": False},)
    assert run.state.shared_state == {"keep": 1}


async def test_shared_state_keys_must_be_strings() -> None:
    @executor(id="bad")
    async def bad(message: str, ctx: WorkflowContext[None, str]) -> None:
        with pytest.raises(TypeError, match="shared state keys are strings, got int"):
            ctx.shared.set(1, "x")  # type: ignore[arg-type]
        await ctx.yield_output("checked")

    assert (await WorkflowBuilder(start_executor=bad).build().run("x")).outputs == ("checked",)


async def test_context_reports_where_it_runs() -> None:
    @executor(id="where")
    async def where(message: str, ctx: WorkflowContext[None, str]) -> None:
        await ctx.yield_output(f"{ctx.executor_id}@{ctx.superstep}:{ctx.run_id}")

    result = await WorkflowBuilder(start_executor=where).build().run("x", run_id="run-7")
    assert result.outputs == ("where@1:run-7",)


async def test_logs_carry_the_bound_run_id_and_stay_off_by_default(
    caplog: pytest.LogCaptureFixture,
) -> None:
    workflow = WorkflowBuilder(start_executor=look).build()
    await workflow.run("quiet")
    assert not [r for r in caplog.records if r.name.startswith("engine.")]  # silent unless enabled
    with caplog.at_level(logging.DEBUG, logger="engine"):
        result = await workflow.run("loud", run_id="run-42")
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("engine.")]
    assert any("run_started" in m and "run_id=run-42" in m for m in messages)
    assert any("superstep_completed" in m and "run_id=run-42" in m for m in messages)
    assert any("run_completed" in m for m in messages)
    assert result.run_id == "run-42"
