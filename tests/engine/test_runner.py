from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import ClassVar

import pytest

from engine import (
    ConvergenceError,
    Executor,
    ExecutorFailedError,
    ExecutorFailedEvent,
    OutputEvent,
    RunFailedEvent,
    RunStatus,
    UserEvent,
    WorkflowBuilder,
    WorkflowContext,
    WorkflowInputError,
    executor,
    handler,
)
from engine.events import StatusEvent, SuperstepStartedEvent


class Step(Executor):
    """Records the superstep it ran in and forwards the message."""

    @handler
    async def on(self, message: list[int], ctx: WorkflowContext[list[int], list[int]]) -> None:
        await ctx.send_message([*message, ctx.superstep])


class Sink(Executor):
    @handler
    async def on(self, message: list[int], ctx: WorkflowContext[None, list[int]]) -> None:
        await ctx.yield_output([*message, ctx.superstep])


async def test_message_sent_in_superstep_k_is_handled_in_k_plus_1() -> None:
    workflow = (
        WorkflowBuilder(start_executor=Step("a")).add_chain(["a", Step("b"), Sink("c")]).build()
    )
    result = await workflow.run([])
    assert result.outputs == ([1, 2, 3],)
    assert result.supersteps == 3
    assert result.status is RunStatus.IDLE


async def test_simple_run_emits_lifecycle_events_in_order() -> None:
    workflow = WorkflowBuilder(start_executor=Sink("only")).build()
    result = await workflow.run([])
    assert [event.type for event in result.events] == [
        "run_started",
        "status",
        "superstep_started",
        "executor_invoked",
        "output",
        "executor_completed",
        "superstep_completed",
        "status",
    ]
    statuses = [e.status for e in result.events if isinstance(e, StatusEvent)]
    assert statuses == [RunStatus.RUNNING, RunStatus.IDLE]
    assert result.events[0].run_id == result.run_id  # type: ignore[attr-defined]


class Rendezvous(Executor):
    """Waits for its partner inside the same superstep: deadlocks unless both run concurrently."""

    def __init__(self, id: str, mine: str, theirs: str) -> None:  # noqa: A002
        super().__init__(id)
        self.mine, self.theirs = mine, theirs

    @handler
    async def on(self, message: dict[str, asyncio.Event], ctx: WorkflowContext[None, str]) -> None:
        message[self.mine].set()
        await asyncio.wait_for(message[self.theirs].wait(), timeout=5)
        await ctx.yield_output(self.id)


@executor(id="split")
async def split(message: dict[str, asyncio.Event]) -> dict[str, asyncio.Event]:
    return message


async def test_executors_in_one_superstep_run_concurrently() -> None:
    workflow = (
        WorkflowBuilder(start_executor=split)
        .add_fan_out_edges(split, [Rendezvous("left", "l", "r"), Rendezvous("right", "r", "l")])
        .build()
    )
    result = await workflow.run({"l": asyncio.Event(), "r": asyncio.Event()})
    assert sorted(result.outputs) == ["left", "right"]


class Serial(Executor):
    """Fails the run if two of its deliveries are ever handled at the same time."""

    active: ClassVar[int] = 0

    @handler
    async def on(self, message: str, ctx: WorkflowContext[None, str]) -> None:
        Serial.active += 1
        assert Serial.active == 1, "one executor handled two messages at once"
        await asyncio.sleep(0.001)
        Serial.active -= 1
        await ctx.yield_output(message)


@executor(id="fan")
async def fan(message: str, ctx: WorkflowContext[str]) -> None:
    for n in range(3):
        await ctx.send_message(f"{message}{n}")


async def test_one_executor_handles_its_deliveries_one_at_a_time_in_send_order() -> None:
    workflow = WorkflowBuilder(start_executor=fan).add_edge(fan, Serial("serial")).build()
    result = await workflow.run("m")
    assert result.outputs == ("m0", "m1", "m2")


class Writer(Executor):
    @handler
    async def on(self, message: str, ctx: WorkflowContext[str]) -> None:
        ctx.shared.set("key", "written")
        assert ctx.shared.get("key") == "written"  # an executor reads its own staged write
        await ctx.send_message(message)


class Reader(Executor):
    @handler
    async def on(self, message: str, ctx: WorkflowContext[str, str]) -> None:
        await ctx.yield_output(f"{self.id}@{ctx.superstep}:{ctx.shared.get('key', 'missing')}")
        if ctx.superstep == 2:
            await ctx.send_message(message)


@executor(id="split_text")
async def split_text(message: str) -> str:
    return message


async def test_shared_state_writes_become_visible_after_the_superstep_commits() -> None:
    reader = Reader("reader")
    workflow = (
        WorkflowBuilder(start_executor=split_text)
        .add_fan_out_edges(split_text, [Writer("writer"), Reader("peer")])
        .add_edge("writer", reader)
        .build()
    )
    # Writer and peer share superstep 2: peer must not see the write; reader (superstep 3) must.
    result = await workflow.run("go")
    assert sorted(result.outputs) == ["peer@2:missing", "reader@3:written"]


class Boom(Executor):
    @handler
    async def on(self, message: str, ctx: WorkflowContext[str]) -> None:
        ctx.shared.set("from_boom", 1)
        raise RuntimeError("kaboom")


class Sleeper(Executor):
    cancelled: ClassVar[list[str]] = []

    @handler
    async def on(self, message: str, ctx: WorkflowContext[str]) -> None:
        ctx.shared.set("from_sleeper", 1)
        ctx.set_state("touched")
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            Sleeper.cancelled.append(self.id)
            raise


async def test_failing_handler_fails_the_run_cancels_siblings_and_discards_staged_writes() -> None:
    workflow = (
        WorkflowBuilder(start_executor=fan)
        .add_fan_out_edges(fan, [Boom("boom"), Sleeper("sleeper")])
        .build()
    )
    run = workflow.start("x")
    with pytest.raises(ExecutorFailedError) as caught:
        await run.execute()
    error = caught.value
    assert isinstance(error.__cause__, RuntimeError) and str(error.__cause__) == "kaboom"
    assert error.executor_id == "boom" and error.superstep == 2
    assert "executor `boom` failed in superstep 2" in str(error)
    assert Sleeper.cancelled == ["sleeper"]
    assert run.status is RunStatus.FAILED
    assert run.state.shared_state == {} and run.state.executor_states == {}
    assert (
        run.state.superstep == 1 and len(run.state.pending) == 6
    )  # as before the failed superstep
    assert error.result is not None
    failed = [e for e in error.result.events if isinstance(e, ExecutorFailedEvent)]
    assert failed == [ExecutorFailedEvent("boom", 2, "RuntimeError", "kaboom")]
    assert isinstance(error.result.events[-2], RunFailedEvent)
    assert error.result.events[-1] == StatusEvent(RunStatus.FAILED)


@executor(id="ping")
async def ping(n: int) -> int:
    return n + 1


@executor(id="pong")
async def pong(n: int) -> int:
    return n + 1


def ping_pong(max_supersteps: int = 1000) -> WorkflowBuilder:
    return (
        WorkflowBuilder(
            start_executor=ping, max_supersteps=max_supersteps, allow_trapped_cycles=True
        )
        .add_edge(ping, pong)
        .add_edge(pong, ping)
    )


async def test_exceeding_max_supersteps_fails_with_convergence_error_not_a_hang() -> None:
    workflow = ping_pong(max_supersteps=10).build()
    with pytest.raises(
        ConvergenceError, match=r"did not finish within 10 supersteps.*`(ping|pong)`"
    ):
        await workflow.run(0)
    with pytest.raises(ConvergenceError) as caught:
        await workflow.run(0, max_supersteps=4)  # a per-run budget overrides the builder's
    assert caught.value.superstep == 4
    assert caught.value.result is not None
    assert caught.value.result.events[-2].type == "run_failed"


async def test_default_superstep_budget_is_1000() -> None:
    workflow = ping_pong().build()
    assert workflow.max_supersteps == 1000
    with pytest.raises(ConvergenceError) as caught:
        await workflow.run(0)
    assert caught.value.superstep == 1000


async def test_bad_superstep_budget_is_refused() -> None:
    workflow = ping_pong().build()
    with pytest.raises(ValueError, match="positive integer"):
        await workflow.run(0, max_supersteps=0)


async def test_start_executor_refusing_the_input_fails_before_any_superstep() -> None:
    workflow = WorkflowBuilder(start_executor=Sink("sink")).build()
    with pytest.raises(
        WorkflowInputError, match=r"`sink` cannot accept `str`; it accepts `list\[int\]`"
    ):
        await workflow.run("not a list")
    with pytest.raises(TypeError):  # it is also a TypeError, and raised before streaming starts
        workflow.run("not a list", stream=True)


async def test_streaming_and_awaiting_give_the_same_events_and_outputs() -> None:
    workflow = (
        WorkflowBuilder(start_executor=Step("a")).add_chain(["a", Step("b"), Sink("c")]).build()
    )
    awaited = await workflow.run([])
    streamed = [event async for event in workflow.run([], stream=True)]
    assert [e.type for e in streamed] == [e.type for e in awaited.events]
    assert [e.data for e in streamed if isinstance(e, OutputEvent)] == list(awaited.outputs)


async def test_streaming_yields_events_before_the_run_finishes() -> None:
    release = asyncio.Event()

    @executor(id="slow")
    async def slow(message: str, ctx: WorkflowContext[None, str]) -> None:
        await ctx.yield_output("first")
        await release.wait()
        await ctx.yield_output("second")

    stream = WorkflowBuilder(start_executor=slow).build().run("go", stream=True)
    async for event in stream:
        if isinstance(event, OutputEvent):
            assert event.data == "first"  # arrived while the handler is still blocked
            release.set()
            break
    await stream.aclose()  # type: ignore[attr-defined]


async def test_streaming_a_failing_run_yields_run_failed_then_raises() -> None:
    workflow = WorkflowBuilder(start_executor=Boom("boom")).build()
    seen: list[str] = []
    with pytest.raises(ExecutorFailedError):
        async for event in workflow.run("x", stream=True):
            seen.append(event.type)
    assert seen[-3:] == ["executor_failed", "run_failed", "status"]


class Counter(Executor):
    """Counts messages in executor-local state; loops back to itself until it has seen `limit`."""

    @handler
    async def on(self, limit: int, ctx: WorkflowContext[int, str]) -> None:
        count = ctx.get_state(0) + 1
        ctx.set_state(count)
        await asyncio.sleep(0)  # let overlapping runs interleave
        if count < limit:
            await ctx.send_message(limit)
        else:
            await ctx.yield_output(f"{ctx.run_id}:{count}")


async def test_overlapping_runs_of_one_workflow_keep_separate_ids_and_state() -> None:
    counter = Counter("counter")
    with pytest.warns(UserWarning, match="edge to itself"):
        workflow = WorkflowBuilder(start_executor=counter).add_edge(counter, counter).build()
    results = await asyncio.gather(*(workflow.run(limit) for limit in (3, 5, 7, 3)))
    assert len({r.run_id for r in results}) == 4
    for result, limit in zip(results, (3, 5, 7, 3), strict=True):
        assert result.outputs == (f"{result.run_id}:{limit}",)


@dataclass(frozen=True)
class Progress(UserEvent):
    type: ClassVar[str] = "progress"
    percent: int


async def test_user_events_flow_into_the_run_but_lifecycle_events_cannot_be_forged() -> None:
    @executor(id="reporter")
    async def reporter(message: str, ctx: WorkflowContext[None, str]) -> None:
        await ctx.add_event(Progress(50))
        with pytest.raises(TypeError, match="lifecycle events are emitted by the runner only"):
            await ctx.add_event(OutputEvent("reporter", "forged"))  # type: ignore[arg-type]
        await ctx.yield_output("done")

    result = await WorkflowBuilder(start_executor=reporter).build().run("x")
    assert Progress(50) in result.events
    assert [e for e in result.events if e.type == "progress"] == [Progress(50)]
    assert result.outputs == ("done",)


async def test_conflicting_shared_writes_in_one_superstep_emit_a_warning_event() -> None:
    workflow = (
        WorkflowBuilder(start_executor=split_text)
        .add_fan_out_edges(split_text, [Writer("w1"), Writer("w2")])
        .build()
    )
    result = await workflow.run("go")
    warnings = [e for e in result.events if e.type == "warning"]
    assert len(warnings) == 1
    assert "`w1` and `w2` both wrote shared key `key`" in warnings[0].message  # type: ignore[attr-defined]


async def test_superstep_started_lists_active_executors_in_delivery_order() -> None:
    workflow = (
        WorkflowBuilder(start_executor=split)
        .add_fan_out_edges(split, [Rendezvous("x", "x", "y"), Rendezvous("y", "y", "x")])
        .build()
    )
    result = await workflow.run({"x": asyncio.Event(), "y": asyncio.Event()})
    started = [e for e in result.events if isinstance(e, SuperstepStartedEvent)]
    assert [s.executor_ids for s in started] == [("split",), ("x", "y")]


class StatefulSender(Executor):
    @handler
    async def on(self, n: int, ctx: WorkflowContext[int]) -> None:
        ctx.set_state("ran")
        ctx.shared.set("k", "written")
        await ctx.send_message(n)


async def test_a_routing_failure_commits_nothing() -> None:
    from engine import RoutingError

    def explode(n: int) -> bool:
        raise ValueError("bad predicate")

    sender = StatefulSender("a")
    workflow = (
        WorkflowBuilder(start_executor=sender)
        .add_edge(sender, Counter("b"), condition=explode)
        .build()
    )
    run = workflow.start(1)
    with pytest.raises(RoutingError, match="predicate `explode`"):
        await run.execute()
    assert run.state.superstep == 0
    assert [d.target_id for d in run.state.pending] == ["a"]
    assert run.state.executor_states == {} and run.state.shared_state == {}


def long_loop() -> WorkflowBuilder:
    @executor(id="spin")
    async def spin(n: int, ctx: WorkflowContext[int, int]) -> None:  # never suspends by itself
        if n < 200:
            await ctx.send_message(n + 1)
        else:
            await ctx.yield_output(n)

    return WorkflowBuilder(start_executor=spin, max_supersteps=500).add_edge(spin, spin)


async def test_a_long_run_yields_to_the_event_loop_while_it_runs() -> None:
    with pytest.warns(UserWarning, match="edge to itself"):
        run = long_loop().build().start(0)
    task = asyncio.create_task(run.execute())
    await asyncio.sleep(0)
    seen = run.state.superstep  # a run that never yields would already be finished here
    result = await task
    assert 0 < seen < result.supersteps == 201


async def test_streaming_delivers_each_superstep_before_the_next_one_runs() -> None:
    with pytest.warns(UserWarning, match="edge to itself"):
        run = long_loop().build().start(0)
    async for event in run.stream():
        if event.type == "superstep_completed":
            assert run.state.superstep <= event.superstep + 1  # type: ignore[attr-defined]


async def test_a_run_is_driven_once() -> None:
    run = WorkflowBuilder(start_executor=Sink("sink")).build().start([])
    await run.execute()
    with pytest.raises(
        RuntimeError, match="already driven; continue it with `respond\\(\\)` or start a new one"
    ):
        await run.execute()
    with pytest.raises(RuntimeError, match="already driven"):
        async for _ in run.stream():
            pass


class Timed(Executor):
    """Yields after a delay taken from the message, so finish order differs from invocation order."""

    @handler
    async def on(self, delays: dict[str, float], ctx: WorkflowContext[None, str]) -> None:
        await asyncio.sleep(delays[self.id])
        await ctx.yield_output(self.id)


@executor(id="scatter")
async def scatter(delays: dict[str, float]) -> dict[str, float]:
    return delays


async def test_events_follow_invocation_order_not_finish_order() -> None:
    workflow = (
        WorkflowBuilder(start_executor=scatter)
        .add_fan_out_edges(scatter, [Timed("first"), Timed("second"), Timed("third")])
        .build()
    )
    slow_first = await workflow.run({"first": 0.03, "second": 0.0, "third": 0.01})
    fast_first = await workflow.run({"first": 0.0, "second": 0.02, "third": 0.0})
    assert slow_first.outputs == fast_first.outputs == ("first", "second", "third")
    sequence = [(e.type, getattr(e, "executor_id", None)) for e in slow_first.events]
    assert sequence == [(e.type, getattr(e, "executor_id", None)) for e in fast_first.events]
    superstep_two = sequence[sequence.index(("superstep_started", None), 3) + 1 :][:9]
    assert superstep_two == [
        ("executor_invoked", "first"),
        ("output", "first"),
        ("executor_completed", "first"),
        ("executor_invoked", "second"),
        ("output", "second"),
        ("executor_completed", "second"),
        ("executor_invoked", "third"),
        ("output", "third"),
        ("executor_completed", "third"),
    ]


async def test_the_first_executor_of_a_superstep_still_streams_live() -> None:
    release = asyncio.Event()

    class Gate(Executor):
        @handler
        async def on(self, delays: dict[str, float], ctx: WorkflowContext[None, str]) -> None:
            await ctx.yield_output(f"{self.id} started")
            await release.wait()

    workflow = (
        WorkflowBuilder(start_executor=scatter)
        .add_fan_out_edges(scatter, [Gate("a"), Gate("b")])
        .build()
    )
    stream = workflow.run({}, stream=True)
    async for event in stream:
        if isinstance(event, OutputEvent):
            assert event.data == "a started"  # live, while both executors are still running
            release.set()
            break
    await stream.aclose()  # type: ignore[attr-defined]


async def test_a_failure_behind_a_running_executor_still_reports_its_event() -> None:
    Sleeper.cancelled.clear()
    workflow = (
        WorkflowBuilder(start_executor=fan)
        .add_fan_out_edges(fan, [Sleeper("sleeper"), Boom("boom")])
        .build()
    )
    with pytest.raises(ExecutorFailedError) as caught:
        await workflow.run("x")
    assert caught.value.result is not None
    types = [(e.type, getattr(e, "executor_id", None)) for e in caught.value.result.events]
    assert ("executor_failed", "boom") in types
    assert types[-2:] == [("run_failed", None), ("status", None)]
    assert Sleeper.cancelled == ["sleeper"]
