from __future__ import annotations

import pytest

from engine import (
    Executor,
    ExecutorFailedError,
    WorkflowBuilder,
    WorkflowContext,
    WorkflowExecutor,
    executor,
    handler,
)


@executor(id="shout")
async def shout(text: str) -> str:
    return text.upper()


@executor(id="exclaim")
async def exclaim(text: str, ctx: WorkflowContext[None, str]) -> None:
    await ctx.yield_output(text + "!")
    await ctx.yield_output(text + "?")


@executor(id="explode")
async def explode(text: str, ctx: WorkflowContext[None, str]) -> None:
    raise LookupError(f"no entry for {text}")


class Collect(Executor):
    @handler
    async def on(self, text: str, ctx: WorkflowContext[None, str]) -> None:
        await ctx.yield_output(f"outer got {text}")


def inner_workflow() -> WorkflowExecutor:
    inner = WorkflowBuilder(start_executor=shout, name="inner").add_edge(shout, exclaim).build()
    return WorkflowExecutor(inner, id="sub")


async def test_sub_workflow_outputs_become_messages_downstream() -> None:
    sub = inner_workflow()
    assert sub.input_types == (str,) and sub.output_types == (str,)
    outer = WorkflowBuilder(start_executor=sub).add_edge(sub, Collect("collect")).build()
    result = await outer.run("hi")
    assert result.outputs == ("outer got HI!", "outer got HI?")
    assert result.supersteps == 2  # the whole inner run is one outer superstep


async def test_sub_workflow_failure_fails_the_parent_naming_the_inner_executor() -> None:
    inner = WorkflowBuilder(start_executor=explode, name="inner").build()
    outer = WorkflowBuilder(start_executor=WorkflowExecutor(inner, id="sub")).build()
    with pytest.raises(ExecutorFailedError) as caught:
        await outer.run("key")
    assert caught.value.executor_id == "sub"
    inner_error = caught.value.__cause__
    assert isinstance(inner_error, ExecutorFailedError) and inner_error.executor_id == "explode"
    assert "executor `explode` failed" in str(caught.value)
    assert isinstance(inner_error.__cause__, LookupError)


async def test_sub_workflow_runs_are_isolated_per_outer_run() -> None:
    @executor(id="tally")
    async def tally(text: str, ctx: WorkflowContext[None, int]) -> None:
        count = ctx.get_state(0) + 1
        ctx.set_state(count)
        await ctx.yield_output(count)

    inner = WorkflowBuilder(start_executor=tally, name="inner").build()
    sub = WorkflowExecutor(inner, id="sub")

    @executor(id="show")
    async def show(count: int, ctx: WorkflowContext[None, int]) -> None:
        await ctx.yield_output(count)

    outer = WorkflowBuilder(start_executor=sub).add_edge(sub, show).build()
    first, second = await outer.run("a"), await outer.run("b")
    assert first.outputs == second.outputs == (1,)


def test_workflow_executor_needs_a_built_workflow() -> None:
    with pytest.raises(TypeError, match="needs a built Workflow"):
        WorkflowExecutor(WorkflowBuilder(start_executor=shout), id="sub")  # type: ignore[arg-type]
