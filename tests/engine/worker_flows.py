"""Workflows the lease and worker tests drive, importable by worker processes (`baton worker`)."""

from __future__ import annotations

import asyncio
import os

from engine import Workflow, WorkflowBuilder, WorkflowContext, executor

STEPS = 10
"""How many steps the `steps` workflow takes (one superstep each)."""

GATE: asyncio.Event | None = None
"""When set by a test, every step waits for it (to hold a run mid-superstep)."""


@executor(id="step")
async def step(number: int, ctx: WorkflowContext[int, str]) -> None:
    if GATE is not None:
        await GATE.wait()
    await asyncio.sleep(float(os.environ.get("BATON_TEST_STEP_SECONDS", "0")))
    await ctx.yield_output(f"step {number}")
    if number < STEPS:
        await ctx.send_message(number + 1)


def build_steps() -> Workflow:
    """`step` loops on itself from the input number up to `STEPS`, one output per superstep."""
    return (
        WorkflowBuilder(start_executor=step, name="steps")
        .add_edge(step, step, condition=lambda n: n <= STEPS, max_traversals=STEPS)
        .build()
    )


steps = build_steps()
