"""Properties of the superstep runtime over generated graphs (hypothesis)."""

from __future__ import annotations

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st

from engine import Executor, OutputEvent, WorkflowBuilder, WorkflowContext, executor, handler

SETTINGS = settings(max_examples=40, deadline=None)


class Worker(Executor):
    """Sleeps a drawn time, then sends `sends` tagged messages."""

    def __init__(self, id: str, delay: float, sends: int) -> None:  # noqa: A002
        super().__init__(id)
        self.delay, self.sends = delay, sends

    @handler
    async def on(self, message: int, ctx: WorkflowContext[str]) -> None:
        await asyncio.sleep(self.delay)
        for n in range(self.sends):
            await ctx.send_message(f"{self.id}.{n}")


@executor(id="start")
async def start(message: int) -> int:
    return message


class Join(Executor):
    @handler
    async def on(self, parts: list[str], ctx: WorkflowContext[None, list[str]]) -> None:
        await ctx.yield_output(parts)


workers_strategy = st.lists(
    st.tuples(st.sampled_from([0.0, 0.0005, 0.002]), st.integers(min_value=1, max_value=3)),
    min_size=2,
    max_size=6,
)


def diamond(shape: list[tuple[float, int]]) -> WorkflowBuilder:
    workers = [Worker(f"w{i}", delay, sends) for i, (delay, sends) in enumerate(shape)]
    return (
        WorkflowBuilder(start_executor=start)
        .add_fan_out_edges(start, workers)
        .add_fan_in_edges(workers, Join("join"))
    )


@SETTINGS
@given(shape=workers_strategy)
def test_fan_in_fires_once_in_declared_order_whatever_the_finish_order(
    shape: list[tuple[float, int]],
) -> None:
    result = asyncio.run(diamond(shape).build().run(0))
    expected = [f"w{i}.{n}" for i, (_, sends) in enumerate(shape) for n in range(sends)]
    assert result.outputs == (expected,)  # exactly one output: the fan-in fired once
    assert result.supersteps == 3


@SETTINGS
@given(shape=workers_strategy)
def test_streaming_and_awaiting_agree(shape: list[tuple[float, int]]) -> None:
    workflow = diamond(shape).build()

    async def both() -> tuple[list[object], list[object], list[str], list[str]]:
        awaited = await workflow.run(0)
        streamed = [event async for event in workflow.run(0, stream=True)]
        outputs = [e.data for e in streamed if isinstance(e, OutputEvent)]
        return (
            list(awaited.outputs),
            outputs,
            [e.type for e in awaited.events],
            [e.type for e in streamed],
        )

    awaited, streamed, awaited_types, streamed_types = asyncio.run(both())
    assert awaited == streamed
    assert awaited_types == streamed_types


class Relay(Executor):
    @handler
    async def on(self, hops: list[str], ctx: WorkflowContext[list[str], list[str]]) -> None:
        route = [*hops, self.id]
        await ctx.send_message(route)
        await ctx.yield_output(route)


@SETTINGS
@given(
    size=st.integers(min_value=2, max_value=12),
    extra=st.lists(st.tuples(st.integers(0, 11), st.integers(0, 11)), max_size=15),
)
def test_any_dag_terminates_within_its_longest_path(
    size: int, extra: list[tuple[int, int]]
) -> None:
    nodes = [Relay(f"n{i}") for i in range(size)]
    builder = WorkflowBuilder(start_executor=nodes[0]).add_chain(nodes)
    pairs = {(a, b) for a, b in extra if a < b < size and b != a + 1}
    for a, b in sorted(pairs):
        builder.add_edge(nodes[a], nodes[b])
    result = asyncio.run(builder.build().run([]))
    assert result.status == "idle"
    assert result.supersteps == size  # the longest path is the chain; the last send is dropped
    assert max(len(route) for route in result.outputs) == size


class Yielder(Executor):
    def __init__(self, id: str, delay: float) -> None:  # noqa: A002
        super().__init__(id)
        self.delay = delay

    @handler
    async def on(self, message: int, ctx: WorkflowContext[None, str]) -> None:
        await asyncio.sleep(self.delay)
        await ctx.yield_output(f"{self.id}:a")
        await asyncio.sleep(self.delay / 2)
        await ctx.yield_output(f"{self.id}:b")


@SETTINGS
@given(delays=st.lists(st.sampled_from([0.0, 0.0005, 0.002]), min_size=2, max_size=6))
def test_outputs_and_events_do_not_depend_on_finish_order(delays: list[float]) -> None:
    def build(order: list[float]) -> WorkflowBuilder:
        targets = [Yielder(f"y{i}", delay) for i, delay in enumerate(order)]
        return WorkflowBuilder(start_executor=start).add_fan_out_edges(start, targets)

    forward = asyncio.run(build(delays).build().run(0))
    backward = asyncio.run(build(list(reversed(delays))).build().run(0))
    expected = tuple(f"y{i}:{part}" for i in range(len(delays)) for part in "ab")
    assert forward.outputs == backward.outputs == expected

    def shape(events: tuple[object, ...]) -> list[tuple[str, object]]:
        return [(e.type, getattr(e, "executor_id", None)) for e in events]  # type: ignore[attr-defined]

    assert shape(forward.events) == shape(backward.events)
