"""Workflows the backend contract runs on every backend (importable, so Ray workers can load them)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import ClassVar

from engine import (
    Case,
    Default,
    Executor,
    UserEvent,
    Workflow,
    WorkflowBuilder,
    WorkflowContext,
    executor,
    handler,
    response_handler,
)
from engine.invoke import current_idempotency_key, idempotency_scope


@dataclass(frozen=True)
class Noted(UserEvent):
    type: ClassVar[str] = "noted"
    text: str


@dataclass(frozen=True)
class Question:
    text: str


@dataclass(frozen=True)
class Answer:
    approved: bool
    note: str


class Counter(Executor):
    """Counts its calls in executor state, writes shared state, sends the number on."""

    @handler
    async def on_int(self, number: int, ctx: WorkflowContext[int]) -> None:
        calls = ctx.get_state(0) + 1
        ctx.set_state(calls)
        ctx.shared.set(f"seen_by_{self.id}", number)
        await ctx.add_event(Noted(f"{self.id} call {calls}"))
        await ctx.send_message(number + calls)


@executor(id="sink")
async def sink(number: int, ctx: WorkflowContext[None, tuple[int, int | None]]) -> None:
    await ctx.yield_output((number, ctx.shared.get("seen_by_first")))


def chain() -> Workflow:
    """first -> second -> sink, with state, shared state and user events."""
    first, second = Counter("first"), Counter("second")
    return (
        WorkflowBuilder(start_executor=first, name="chain").add_chain([first, second, sink]).build()
    )


@executor(id="split")
async def split(number: int, ctx: WorkflowContext[int]) -> None:
    await ctx.send_message(number)


def _worker(name: str, factor: int) -> Executor:
    @executor(id=name)
    async def work(number: int, ctx: WorkflowContext[int, str]) -> None:
        await asyncio.sleep(0.01 * (5 - factor))  # later workers finish first
        await ctx.yield_output(f"{name}:{number * factor}")
        await ctx.send_message(number * factor)

    return work


@executor(id="total")
async def total(numbers: list[int], ctx: WorkflowContext[None, int]) -> None:
    await ctx.yield_output(sum(numbers))


def fan(width: int = 4) -> Workflow:
    """split -> fan-out to `width` workers (each yields) -> fan-in -> total."""
    workers = [_worker(f"w{i}", i + 1) for i in range(width)]
    return (
        WorkflowBuilder(start_executor=split, name="fan")
        .add_fan_out_edges(split, workers)
        .add_fan_in_edges(workers, total)
        .build()
    )


@executor(id="classify")
async def classify(number: int, ctx: WorkflowContext[int]) -> None:
    await ctx.send_message(number)


@executor(id="small")
async def small(number: int, ctx: WorkflowContext[None, str]) -> None:
    await ctx.yield_output(f"small {number}")


@executor(id="large")
async def large(number: int, ctx: WorkflowContext[None, str]) -> None:
    await ctx.yield_output(f"large {number}")


def switch() -> Workflow:
    """classify -> switch: < 10 to small, else large."""
    return (
        WorkflowBuilder(start_executor=classify, name="switch")
        .add_switch_case_edge_group(classify, [Case(lambda n: n < 10, small), Default(large)])
        .build()
    )


class Reviewer(Executor):
    """Asks a person to approve a draft, then yields the verdict."""

    @handler
    async def on_text(self, text: str, ctx: WorkflowContext[None, str]) -> None:
        ctx.set_state(text)
        await ctx.request_info(Question(f"approve {text!r}?"), response_type=Answer)

    @response_handler
    async def on_answer(
        self, question: Question, answer: Answer, ctx: WorkflowContext[None, str]
    ) -> None:
        verdict = "approved" if answer.approved else "rejected"
        await ctx.yield_output(f"{ctx.get_state()} {verdict}: {answer.note}")


def review() -> Workflow:
    """One reviewer that pauses for a person's answer."""
    return WorkflowBuilder(start_executor=Reviewer("review"), name="review").build()


@executor(id="fragile")
async def fragile(number: int, ctx: WorkflowContext[int]) -> None:
    await ctx.send_message(number)


@executor(id="boom")
async def boom(number: int, ctx: WorkflowContext[None, str]) -> None:
    if number < 0:
        raise ValueError(f"negative input {number}")
    await ctx.yield_output(f"fine {number}")


@executor(id="steady")
async def steady(number: int, ctx: WorkflowContext[None, str]) -> None:
    await ctx.yield_output(f"steady {number}")


def failing() -> Workflow:
    """fragile -> fan-out to boom (raises on negatives) and steady."""
    return (
        WorkflowBuilder(start_executor=fragile, name="failing")
        .add_fan_out_edges(fragile, [boom, steady])
        .build()
    )


@executor(id="router")
async def router(number: int, ctx: WorkflowContext[int]) -> None:
    await ctx.send_message(number, target_id="nowhere" if number == 13 else "small")


def targeted() -> Workflow:
    """router sends to `small` by id (or to an executor it has no edge to, for 13)."""
    return (
        WorkflowBuilder(start_executor=router, name="targeted")
        .add_fan_out_edges(router, [small, large])
        .build()
    )


@executor(id="keys")
async def keys(number: int, ctx: WorkflowContext[None, tuple[str, str | None, str | None]]) -> None:
    outside = current_idempotency_key()  # no scope open: the handler has ctx.idempotency_key
    with idempotency_scope(ctx):
        await ctx.yield_output((ctx.idempotency_key, current_idempotency_key(), outside))


def idempotency() -> Workflow:
    """One executor that yields its invocation's idempotency key, from ctx and from anywhere."""
    return WorkflowBuilder(start_executor=keys, name="keys").build()


def _placed(name: str) -> Executor:
    @executor(id=name)
    async def placed(seconds: float, ctx: WorkflowContext[None, tuple[str, str]]) -> None:
        import ray  # only on a Ray worker

        await asyncio.sleep(seconds)
        await ctx.yield_output((name, ray.get_runtime_context().get_node_id()))

    return placed


@executor(id="spread")
async def spread(seconds: float, ctx: WorkflowContext[float]) -> None:
    await ctx.send_message(seconds)


def placement(width: int = 6) -> Workflow:
    """spread -> fan-out to `width` executors that sleep, then yield the Ray node they ran on."""
    return (
        WorkflowBuilder(start_executor=spread, name="placement")
        .add_fan_out_edges(spread, [_placed(f"p{i}") for i in range(width)])
        .build()
    )
