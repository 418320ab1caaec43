"""Termination properties over generated graphs (`engine.testing.workflow_graphs`).

Every generated graph is bounded by the analysis and ends within that bound; fan-ins join whole
sets; streaming, finishing order and resuming from a checkpoint do not change the outputs.
A token's route is its history: the executor at route index ``i`` handled it in superstep ``i + 1``.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import (
    CheckpointError,
    Executor,
    ExecutorInvokedEvent,
    InMemoryCheckpointStore,
    LoopBoundReachedEvent,
    RunResult,
    Workflow,
    WorkflowContext,
    handler,
)
from engine.analysis import CycleKind, analyze
from engine.edges import FanInEdgeGroup, SingleEdgeGroup
from engine.testing import Choices, Token, assert_terminates, choices, with_choices, workflow_graphs
from engine.testing.graphs import Join, Relay, Sink

SETTINGS = settings(max_examples=40, deadline=None)
DELAYS = st.sampled_from([0.0, 0.0005, 0.002])
_MARKER = re.compile(r"(?P<join>.+)\*(?P<parts>\d+)")


def run(workflow: Workflow, decisions: Choices | None = None) -> RunResult:
    """Await one run; switches follow `decisions` from its first decision when given."""
    if decisions is not None:
        decisions.restart()
        workflow = with_choices(workflow, decisions)
    return asyncio.run(workflow.run(Token()))


def fan_ins(workflow: Workflow) -> dict[str, FanInEdgeGroup]:
    """Each fan-in group of a generated graph, by its join's id."""
    return {g.target: g for g in workflow.edge_groups if isinstance(g, FanInEdgeGroup)}


def joins_in(route: tuple[str, ...]) -> list[tuple[int, str, int]]:
    """``(route index, join id, parts joined)`` of every fan-in marker in `route`."""
    found = []
    for index, step in enumerate(route):
        marker = _MARKER.fullmatch(step)
        if marker is not None:
            found.append((index, marker["join"], int(marker["parts"])))
    return found


# --- bounded, and ending within the bound ----------------------------------------------------------


@SETTINGS
@given(graph=workflow_graphs(), decisions=choices())
def test_every_generated_graph_is_bounded_and_ends_within_its_analysed_bound(
    graph: Workflow, decisions: Choices
) -> None:
    report = analyze(graph)
    assert report.is_bounded, str(report)
    assert all(cycle.kind is CycleKind.BOUNDED for cycle in report.cycles)
    assert report.superstep_bound is not None
    assert report.superstep_bound >= len(report.longest_acyclic_path)
    result = assert_terminates(graph, Token(), choices=decisions)
    assert result.status == "idle"
    assert result.outputs, "every generated graph leads to its sink"
    assert result.supersteps <= report.superstep_bound
    assert max(len(token.route) for token in result.outputs) <= report.superstep_bound


@SETTINGS
@given(graph=workflow_graphs(cycles=False), decisions=choices())
def test_an_acyclic_generated_graph_takes_exactly_its_longest_path_once(
    graph: Workflow, decisions: Choices
) -> None:
    report = analyze(graph)
    assert report.cycles == ()
    assert report.superstep_bound == len(report.longest_acyclic_path)
    result = run(graph, decisions)
    (token,) = result.outputs  # no loop: one token in, one token out
    assert result.supersteps == len(token.route) == report.superstep_bound


# --- fan-in ------------------------------------------------------------------------------------------


def join_firings(workflow: Workflow, result: RunResult, join: str) -> int:
    """How often `join` handled a fan-in list: its invocations minus the single tokens it was sent.

    Every executor of a generated graph sends each token on along every outgoing edge, so an edge
    straight into the join carried one token per invocation of its source, less the ones its
    `max_traversals` held back.
    """
    invoked = Counter(e.executor_id for e in result.events if isinstance(e, ExecutorInvokedEvent))
    held = Counter(
        (e.source_id, e.target_id) for e in result.events if isinstance(e, LoopBoundReachedEvent)
    )
    direct = [
        g.source
        for g in workflow.edge_groups
        if isinstance(g, SingleEdgeGroup) and g.target == join
    ]
    return invoked[join] - sum(invoked[source] - held[(source, join)] for source in direct)


@SETTINGS
@given(graph=workflow_graphs(max_blocks=6), decisions=choices())
def test_a_fan_in_fires_once_per_superstep_of_its_workers_with_whole_sets_only(
    graph: Workflow, decisions: Choices
) -> None:
    groups = fan_ins(graph)
    result = run(graph, decisions)
    per_step = Counter(
        (e.executor_id, e.superstep) for e in result.events if isinstance(e, ExecutorInvokedEvent)
    )
    for token in result.outputs:
        for index, join, parts in joins_in(token.route):
            group = groups[join]
            first = group.source_ids[0]
            assert token.route[index - 1] == first  # parts[0] comes from the first source
            tokens_per_worker = {per_step[(worker, index)] for worker in group.source_ids}
            (sets,) = tokens_per_worker  # every worker got the same tokens in that superstep
            assert sets >= 1
            assert parts == sets * len(group.source_ids), (token.route, join)
    for join, group in groups.items():
        worker_steps = {step for (eid, step) in per_step if eid == group.source_ids[0]}
        join_steps = {step for (eid, step) in per_step if eid == join}
        assert {step + 1 for step in worker_steps} <= join_steps
        assert join_firings(graph, result, join) == len(worker_steps), join


@SETTINGS
@given(graph=workflow_graphs(max_blocks=6, cycles=False), decisions=choices())
def test_without_loops_every_fan_in_joins_exactly_one_set_of_its_width(
    graph: Workflow, decisions: Choices
) -> None:
    groups = fan_ins(graph)
    (token,) = run(graph, decisions).outputs
    markers = joins_in(token.route)
    assert [join for _, join, _ in markers] == list(groups)  # each fan-in fired once, in order
    assert all(parts == len(groups[join].source_ids) for _, join, parts in markers)


# --- streaming, finishing order ----------------------------------------------------------------------


@SETTINGS
@given(graph=workflow_graphs(), decisions=choices())
def test_streaming_and_awaiting_give_the_same_outputs_and_event_sequence(
    graph: Workflow, decisions: Choices
) -> None:
    awaited = run(graph, decisions)

    async def stream() -> list[Any]:
        decisions.restart()
        chosen = with_choices(graph, decisions)
        return [event async for event in chosen.run(Token(), stream=True)]

    streamed = asyncio.run(stream())
    assert [e.data for e in streamed if e.type == "output"] == list(awaited.outputs)
    assert [e.type for e in streamed] == [e.type for e in awaited.events]


class SlowRelay(Relay):
    """A `Relay` that sleeps before it passes the token on."""

    def __init__(self, id: str, delay: float) -> None:  # noqa: A002
        super().__init__(id)
        self.delay = delay

    @handler
    async def on_token(self, token: Token, ctx: WorkflowContext[Token]) -> None:
        await asyncio.sleep(self.delay)
        await ctx.send_message(Token((*token.route, self.id)))


class SlowJoin(Join):
    """A `Join` that sleeps before it passes the joined token on."""

    def __init__(self, id: str, delay: float) -> None:  # noqa: A002
        super().__init__(id)
        self.delay = delay

    @handler
    async def on_parts(self, parts: list[Token], ctx: WorkflowContext[Token]) -> None:
        await asyncio.sleep(self.delay)
        await ctx.send_message(Token((*parts[0].route, f"{self.id}*{len(parts)}")))

    @handler
    async def on_token(self, token: Token, ctx: WorkflowContext[Token]) -> None:
        await asyncio.sleep(self.delay)
        await ctx.send_message(Token((*token.route, self.id)))


class SlowSink(Sink):
    """A `Sink` that sleeps before it yields."""

    def __init__(self, id: str, delay: float) -> None:  # noqa: A002
        super().__init__(id)
        self.delay = delay

    @handler
    async def on_token(self, token: Token, ctx: WorkflowContext[None, Token]) -> None:
        await asyncio.sleep(self.delay)
        await ctx.yield_output(Token((*token.route, self.id)))


def slowed(workflow: Workflow, delays: Mapping[str, float]) -> Workflow:
    """The same graph with each executor sleeping its delay (0 when `delays` does not name it)."""

    def slow(executor: Executor) -> Executor:
        delay = delays.get(executor.id, 0.0)
        if isinstance(executor, Join):
            return SlowJoin(executor.id, delay)
        if isinstance(executor, Sink):
            return SlowSink(executor.id, delay)
        assert isinstance(executor, Relay)
        return SlowRelay(executor.id, delay)

    return Workflow(
        name=workflow.name,
        start_executor_id=workflow.start_executor_id,
        executors={eid: slow(executor) for eid, executor in workflow.executors.items()},
        edge_groups=workflow.edge_groups,
        max_supersteps=workflow.max_supersteps,
        strict=workflow.strict,
    )


@SETTINGS
@given(graph=workflow_graphs(), decisions=choices(), data=st.data())
def test_outputs_do_not_depend_on_the_order_executors_finish_within_a_superstep(
    graph: Workflow, decisions: Choices, data: st.DataObject
) -> None:
    ids = list(graph.executors)
    drawn = data.draw(st.lists(DELAYS, min_size=len(ids), max_size=len(ids)))
    first = dict(zip(ids, drawn, strict=True))
    second = {eid: 0.002 - delay for eid, delay in first.items()}  # the slow ones finish first
    plain = run(graph, decisions)
    one = run(slowed(graph, first), decisions)
    other = run(slowed(graph, second), decisions)
    assert one.outputs == other.outputs == plain.outputs
    assert one.supersteps == other.supersteps == plain.supersteps


# --- checkpoints -------------------------------------------------------------------------------------


@SETTINGS
@given(graph=workflow_graphs())
def test_resuming_from_any_checkpoint_gives_the_uninterrupted_outputs(graph: Workflow) -> None:
    async def check() -> None:
        store = InMemoryCheckpointStore()
        whole = await graph.run(Token(), checkpoint_store=store)
        registry = graph.registry()
        infos = await store.list_checkpoints(whole.run_id)
        assert infos[0].reason == "entry" and infos[-1].checkpoint_id == whole.checkpoint_id
        recorded: list[Any] = []
        for info in infos[:-1]:
            checkpoint = await store.load(info.checkpoint_id)
            recorded += [registry.decode(o["data"], "an output") for o in checkpoint.outputs]
            fork = await graph.resume(checkpoint_id=info.checkpoint_id, store=store)
            assert fork.run_id != whole.run_id
            assert (*recorded, *fork.outputs) == whole.outputs, (info.reason, info.superstep)
        last = await store.load(infos[-1].checkpoint_id)
        recorded += [registry.decode(o["data"], "an output") for o in last.outputs]
        assert tuple(recorded) == whole.outputs
        with pytest.raises(CheckpointError, match="there is nothing left to resume"):
            await graph.resume(checkpoint_id=last.checkpoint_id, store=store)

    asyncio.run(check())
