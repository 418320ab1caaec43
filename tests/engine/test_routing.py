from __future__ import annotations

import asyncio
from typing import Any

import pytest

from engine import (
    Case,
    Default,
    Executor,
    ExecutorFailedError,
    MessageDroppedEvent,
    RoutingError,
    WorkflowBuilder,
    WorkflowContext,
    executor,
    handler,
)


class Out(Executor):
    """Yields `<id>:<message>` for whatever it receives."""

    @handler
    async def on(self, message: object, ctx: WorkflowContext[None, str]) -> None:
        await ctx.yield_output(f"{self.id}:{message}")


@executor(id="src")
async def src(message: int) -> int:
    return message


def is_big(n: int) -> bool:
    return n > 10


async def is_small(n: int) -> bool:
    await asyncio.sleep(0)
    return n <= 10


async def test_conditional_edges_take_sync_and_async_predicates() -> None:
    workflow = (
        WorkflowBuilder(start_executor=src)
        .add_edge(src, Out("big"), condition=is_big)
        .add_edge(src, Out("small"), condition=is_small)
        .build()
    )
    assert (await workflow.run(50)).outputs == ("big:50",)
    assert (await workflow.run(5)).outputs == ("small:5",)


async def test_a_false_condition_is_routing_not_a_drop() -> None:
    workflow = (
        WorkflowBuilder(start_executor=src).add_edge(src, Out("big"), condition=is_big).build()
    )
    result = await workflow.run(1)
    assert result.outputs == ()
    assert not [e for e in result.events if isinstance(e, MessageDroppedEvent)]


async def test_fan_out_reaches_every_target_in_declaration_order() -> None:
    workflow = (
        WorkflowBuilder(start_executor=src).add_fan_out_edges(src, [Out("b"), Out("a")]).build()
    )
    assert (await workflow.run(1)).outputs == ("b:1", "a:1")


async def test_fan_out_selection_picks_a_subset_sync_or_async() -> None:
    def odd_goes_left(n: int, targets: list[str]) -> list[str]:
        return [targets[0]] if n % 2 else targets[1:]

    async def everyone(n: int, targets: list[str]) -> list[str]:
        return targets

    left, right = Out("left"), Out("right")
    picky = WorkflowBuilder(start_executor=src).add_fan_out_edges(src, [left, right], odd_goes_left)
    assert (await picky.build().run(3)).outputs == ("left:3",)
    assert (await picky.build().run(4)).outputs == ("right:4",)
    generous = WorkflowBuilder(start_executor=src).add_fan_out_edges(src, [left, right], everyone)
    assert (await generous.build().run(1)).outputs == ("left:1", "right:1")


async def test_fan_out_selection_returning_an_unknown_id_fails_the_run() -> None:
    def rogue(n: int, targets: list[str]) -> list[str]:
        return ["left", "nowhere"]

    workflow = (
        WorkflowBuilder(start_executor=src)
        .add_fan_out_edges(src, [Out("left"), Out("right")], rogue)
        .build()
    )
    with pytest.raises(
        RoutingError, match=r"`rogue`.*returned `nowhere`, which is not one of its targets"
    ) as caught:
        await workflow.run(1)
    assert caught.value.result is not None
    assert caught.value.result.status == "failed"


class Delay(Executor):
    """Forwards its message after `hops` extra supersteps (by looping through itself)."""

    def __init__(self, id: str, hops: int) -> None:  # noqa: A002
        super().__init__(id)
        self.hops = hops

    @handler
    async def on(self, message: int, ctx: WorkflowContext[int]) -> None:
        await ctx.send_message(message * 10 + self.hops)


class Join(Executor):
    @handler
    async def on(self, message: list[int], ctx: WorkflowContext[None, list[int]]) -> None:
        await ctx.yield_output(message)


@executor(id="lag")
async def lag(n: int, ctx: WorkflowContext[int]) -> None:
    """Reaches the fan-in two supersteps late: sends to itself first."""
    if n < 1000:
        await ctx.send_message(n + 1000, target_id="lag")
    else:
        await ctx.send_message(n - 1000, target_id="join")


async def test_fan_in_waits_for_every_source_in_declared_order_across_supersteps() -> None:
    quick = Delay("quick", 1)
    join = Join("join")
    with pytest.warns(UserWarning, match="edge to itself"):
        workflow = (
            WorkflowBuilder(start_executor=src)
            .add_fan_out_edges(src, [lag, quick])
            .add_edge(lag, lag)
            .add_fan_in_edges([lag, quick], join)
            .build()
        )
    result = await workflow.run(7)
    # `quick` arrives first (superstep 2) but `lag` is declared first; the buffer waits for it.
    assert result.outputs == ([7, 71],)
    joined = [e for e in result.events if e.type == "executor_invoked" and e.executor_id == "join"]  # type: ignore[attr-defined]
    assert len(joined) == 1


@executor(id="burst")
async def burst(n: int, ctx: WorkflowContext[int]) -> None:
    await ctx.send_message(n)
    await ctx.send_message(n + 1)


async def test_fan_in_keeps_send_order_within_a_source_and_fires_once_per_set() -> None:
    join = Join("join")
    workflow = (
        WorkflowBuilder(start_executor=src)
        .add_fan_out_edges(src, [burst, Delay("one", 0)])
        .add_fan_in_edges([burst, "one"], join)
        .build()
    )
    result = await workflow.run(3)
    assert result.outputs == ([3, 4, 30],)


def is_negative(n: int) -> bool:
    return n < 0


def is_zero(n: int) -> bool:
    return n == 0


async def test_switch_case_first_true_case_wins_else_default() -> None:
    workflow = (
        WorkflowBuilder(start_executor=src)
        .add_switch_case_edge_group(
            src,
            [
                Case(is_negative, Out("neg")),
                Case(lambda n: n < 10, Out("small")),  # also true for negatives: must lose
                Default(Out("other")),
            ],
        )
        .build()
    )
    assert (await workflow.run(-5)).outputs == ("neg:-5",)
    assert (await workflow.run(5)).outputs == ("small:5",)
    assert (await workflow.run(50)).outputs == ("other:50",)


async def test_switch_case_predicate_that_raises_fails_the_run() -> None:
    def explode(n: int) -> bool:
        raise ValueError("bad predicate")

    workflow = (
        WorkflowBuilder(start_executor=src)
        .add_switch_case_edge_group(src, [Case(explode, Out("a")), Default(Out("b"))])
        .build()
    )
    with pytest.raises(
        RoutingError, match=r"predicate `explode` on the edge `src` -> `a` raised ValueError"
    ) as caught:
        await workflow.run(1)
    assert isinstance(caught.value.__cause__, ValueError)


@executor(id="director")
async def director(n: int, ctx: WorkflowContext[int]) -> None:
    await ctx.send_message(n, target_id="right" if n else "left")


async def test_send_with_target_id_travels_only_the_edge_to_that_target() -> None:
    workflow = (
        WorkflowBuilder(start_executor=director)
        .add_fan_out_edges(director, [Out("left"), Out("right")])
        .build()
    )
    assert (await workflow.run(0)).outputs == ("left:0",)
    assert (await workflow.run(1)).outputs == ("right:1",)


async def test_send_to_a_target_without_an_edge_is_a_clear_error() -> None:
    @executor(id="lost")
    async def lost(n: int, ctx: WorkflowContext[int]) -> None:
        await ctx.send_message(n, target_id="ghost")

    workflow = WorkflowBuilder(start_executor=lost).add_edge(lost, Out("real")).build()
    with pytest.raises(ExecutorFailedError) as caught:
        await workflow.run(1)
    cause = caught.value.__cause__
    assert isinstance(cause, RoutingError)
    assert "no edge from `lost` to `ghost` (its targets: `real`)" in str(cause)


class TextOnly(Executor):
    @handler
    async def on(self, message: str, ctx: WorkflowContext[None, str]) -> None:
        await ctx.yield_output(message)


@executor(id="anything")
async def anything(n: int, ctx: WorkflowContext) -> None:
    await ctx.send_message(n)  # an int, which `TextOnly` cannot take


async def test_message_no_handler_accepts_is_dropped_with_an_event_and_a_warning_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    workflow = WorkflowBuilder(start_executor=anything).add_edge(anything, TextOnly("text")).build()
    with caplog.at_level("WARNING", logger="engine.routing"):
        result = await workflow.run(1)
    dropped = [e for e in result.events if isinstance(e, MessageDroppedEvent)]
    assert len(dropped) == 1
    assert dropped[0].source_id == "anything" and dropped[0].message_type == "int"
    assert "no edge from `anything` leads to an executor that accepts `int`" in dropped[0].reason
    assert any("message_dropped" in record.getMessage() for record in caplog.records)


async def test_message_from_an_executor_without_edges_is_dropped() -> None:
    result = await WorkflowBuilder(start_executor=anything).build().run(1)
    dropped = [e for e in result.events if isinstance(e, MessageDroppedEvent)]
    assert [d.reason for d in dropped] == ["`anything` has no outgoing edges"]


async def test_strict_mode_turns_drops_into_errors() -> None:
    workflow = (
        WorkflowBuilder(start_executor=anything, strict=True)
        .add_edge(anything, TextOnly("t"))
        .build()
    )
    with pytest.raises(RoutingError, match="message dropped in strict mode"):
        await workflow.run(1)


async def test_delivery_order_follows_edge_declaration_order() -> None:
    order: list[str] = []

    class Record(Executor):
        @handler
        async def on(self, message: Any, ctx: WorkflowContext[None, str]) -> None:
            order.append(self.id)
            await ctx.yield_output(self.id)

    workflow = (
        WorkflowBuilder(start_executor=src)
        .add_edge(src, Record("z"))
        .add_edge(src, Record("m"))
        .add_edge(src, Record("a"))
        .build()
    )
    result = await workflow.run(1)
    assert result.outputs == ("z", "m", "a")
    started = [e for e in result.events if e.type == "superstep_started"]
    assert started[1].executor_ids == ("z", "m", "a")  # type: ignore[attr-defined]
