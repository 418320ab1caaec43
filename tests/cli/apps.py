"""Workflows the CLI tests name as TARGETs (``tests.cli.apps:<name>``).

`approval` asks a person and then yields; `slow` is a ten-step loop whose steps sleep ``SLOW_APP_DELAY``
seconds (for kill-and-resume tests); `invalid` does not validate; the rest are the shapes TARGET may
take (a builder, an orchestration builder, factories) and the shapes it may not.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from pydantic import BaseModel

from engine import (
    Executor,
    Workflow,
    WorkflowBuilder,
    WorkflowContext,
    executor,
    handler,
    response_handler,
)
from executors import Agent, ScriptedChatClient
from orchestrations import SequentialBuilder


class Approval(BaseModel):
    """A person's verdict on a draft."""

    ok: bool
    note: str = ""


class Draft(BaseModel):
    """What the person is asked to approve."""

    topic: str
    text: str


class Reviewer(Executor):
    """Drafts a line about the topic, asks for approval, then yields the verdict."""

    @handler
    async def on_topic(self, topic: str, ctx: WorkflowContext[None, str]) -> None:
        draft = Draft(topic=topic, text=f"All about {topic}.")
        await ctx.request_info(draft, response_type=Approval)

    @response_handler
    async def on_verdict(
        self, draft: Draft, verdict: Approval, ctx: WorkflowContext[None, str]
    ) -> None:
        word = "approved" if verdict.ok else "rejected"
        note = f" ({verdict.note})" if verdict.note else ""
        await ctx.yield_output(f"{draft.topic}: {word}{note}")


def build_approval() -> Workflow:
    return WorkflowBuilder(start_executor=Reviewer(id="reviewer"), name="approval").build()


approval = build_approval()


class Step(BaseModel):
    """One turn of the slow loop."""

    n: int


@executor(id="count")
async def count(step: Step, ctx: WorkflowContext[Step, str]) -> None:
    delay = float(os.environ.get("SLOW_APP_DELAY", "0"))
    if delay:
        await asyncio.sleep(delay)
    await ctx.yield_output(f"step {step.n}")
    if step.n < 10:
        await ctx.send_message(Step(n=step.n + 1))


def build_slow() -> Workflow:
    return WorkflowBuilder(start_executor=count, name="slow").add_edge(count, count).build()


@executor(id="upper")
async def upper(text: str, ctx: WorkflowContext[str]) -> None:
    await ctx.send_message(text.upper())


@executor(id="shout")
async def shout(text: str, ctx: WorkflowContext[None, str]) -> None:
    await ctx.yield_output(text + "!")


builder = WorkflowBuilder(start_executor=upper, name="shouting").add_edge(upper, shout)
"""An unbuilt builder: TARGET builds it."""


@executor(id="numbers")
async def numbers(value: int, ctx: WorkflowContext[int]) -> None:
    await ctx.send_message(value)


invalid = WorkflowBuilder(start_executor=upper, name="broken").add_edge(upper, numbers)
"""Invalid: `upper` sends `str`, `numbers` takes `int`."""


def pipeline() -> SequentialBuilder:
    """A factory returning an orchestration builder."""
    agent = Agent(
        ScriptedChatClient(["Hello from the scripted agent."]),
        name="greeter",
        instructions="Greet.",
    )
    return SequentialBuilder(participants=[agent], name="greeting")


@executor(id="doubler")
async def doubler(value: int, ctx: WorkflowContext[None, int]) -> None:
    await ctx.yield_output(value * 2)


doubling = WorkflowBuilder(start_executor=doubler, name="doubling").build()
"""Takes an `int`: the CLI parses MESSAGE as JSON."""


@executor(id="boom")
async def boom(text: str, ctx: WorkflowContext[None, str]) -> None:
    raise RuntimeError(f"cannot handle {text}")


failing = WorkflowBuilder(start_executor=boom, name="failing").build()

not_a_workflow = 42


def needs_arguments(name: str) -> Workflow:
    raise AssertionError("never called")


def raises() -> Workflow:
    raise RuntimeError("the factory broke")


def returns_wrong() -> Any:
    return "a string"


def factory_of_invalid() -> Workflow:
    return invalid.build()
