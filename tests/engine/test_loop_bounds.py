from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from engine import (
    BatonWarning,
    Case,
    Checkpoint,
    Default,
    Executor,
    InMemoryCheckpointStore,
    LoopBoundReachedEvent,
    MessageDroppedEvent,
    RunResult,
    RunStatus,
    SqliteCheckpointStore,
    Workflow,
    WorkflowBuilder,
    WorkflowContext,
    WorkflowValidationError,
    handler,
    response_handler,
)


@dataclass(frozen=True)
class Question:
    n: int


class Bump(Executor):
    """Sends its number plus one."""

    @handler
    async def bump(self, n: int, ctx: WorkflowContext[int]) -> None:
        await ctx.send_message(n + 1)


class Burst(Executor):
    """Sends five numbers at once."""

    @handler
    async def burst(self, n: int, ctx: WorkflowContext[int]) -> None:
        for k in range(5):
            await ctx.send_message(n + k)


class SendsIntOrStr(Executor):
    """Sends on what it receives, declared as `int | str`."""

    @handler
    async def on(self, message: object, ctx: WorkflowContext[int | str]) -> None:
        await ctx.send_message(message)


class Out(Executor):
    """Yields `<id>:<message>` for whatever it receives."""

    @handler
    async def on(self, message: int, ctx: WorkflowContext[None, str]) -> None:
        await ctx.yield_output(f"{self.id}:{message}")


class Ask(Executor):
    """Asks for a number and sends the answer on."""

    @handler
    async def ask(self, n: int, ctx: WorkflowContext[int]) -> None:
        await ctx.request_info(Question(n), response_type=int)

    @response_handler
    async def answered(self, question: Question, answer: int, ctx: WorkflowContext[int]) -> None:
        await ctx.send_message(answer)


class RecordingStore(InMemoryCheckpointStore):
    """An in-memory store that also keeps each checkpoint as it was saved."""

    def __init__(self) -> None:
        super().__init__()
        self.saved: list[Checkpoint] = []

    async def save(self, checkpoint: Checkpoint) -> None:
        self.saved.append(checkpoint)
        await super().save(checkpoint)


def is_even(n: int) -> bool:
    return n % 2 == 0


def bound_events(result: RunResult) -> list[LoopBoundReachedEvent]:
    return [e for e in result.events if isinstance(e, LoopBoundReachedEvent)]


def ping_pong(bound: int = 3) -> Workflow:
    """`ping` -> `pong` -> `ping` (at most `bound` times); `pong` also feeds `seen`."""
    ping, pong = Bump("ping"), Bump("pong")
    return (
        WorkflowBuilder(ping)
        .add_edge(ping, pong)
        .add_edge(pong, ping, max_traversals=bound)
        .add_edge(pong, Out("seen"))
        .build()
    )


def asking_loop() -> Workflow:
    """`ask` (pauses for a number) -> `bump` -> `ask` at most twice, and `bump` -> `seen`."""
    ask, bump = Ask("ask"), Bump("bump")
    return (
        WorkflowBuilder(ask)
        .add_edge(ask, bump)
        .add_edge(bump, ask, max_traversals=2)
        .add_edge(bump, Out("seen"))
        .build()
    )


# --- a single edge ---


async def test_a_bounded_edge_carries_at_most_max_traversals_messages_per_run() -> None:
    result = await ping_pong(3).run(0)

    assert result.outputs == ("seen:2", "seen:4", "seen:6", "seen:8")
    assert result.status is RunStatus.IDLE
    assert result.supersteps == 9


async def test_a_spent_edge_reports_each_held_back_message_with_its_fields() -> None:
    result = await ping_pong(3).run(0)

    assert bound_events(result) == [
        LoopBoundReachedEvent(
            source_id="pong", target_id="ping", max_traversals=3, message_type="int"
        )
    ]
    assert bound_events(result)[0].type == "loop_bound_reached"
    assert not [e for e in result.events if isinstance(e, MessageDroppedEvent)]


async def test_a_bound_of_one_lets_exactly_one_message_back() -> None:
    result = await ping_pong(1).run(0)

    assert result.outputs == ("seen:2", "seen:4")
    assert len(bound_events(result)) == 1


async def test_messages_sent_in_one_superstep_share_the_budget_in_send_order() -> None:
    burst = Burst("burst")
    workflow = (
        WorkflowBuilder(burst)
        .add_edge(burst, Out("first"), max_traversals=3)
        .add_edge(burst, Out("always"))
        .build()
    )

    result = await workflow.run(10)

    assert [o for o in result.outputs if o.startswith("first")] == [
        "first:10",
        "first:11",
        "first:12",
    ]
    assert len([o for o in result.outputs if o.startswith("always")]) == 5
    assert [e.target_id for e in bound_events(result)] == ["first", "first"]


async def test_a_message_held_back_by_a_spent_edge_still_takes_the_other_edges() -> None:
    burst = Burst("burst")
    workflow = (
        WorkflowBuilder(burst)
        .add_edge(burst, Out("limited"), max_traversals=2)
        .add_edge(burst, Out("overflow"), lambda n: n >= 12)
        .build()
    )

    result = await workflow.run(10)

    assert sorted(result.outputs) == [
        "limited:10",
        "limited:11",
        "overflow:12",
        "overflow:13",
        "overflow:14",
    ]


async def test_a_bounded_conditional_edge_counts_only_messages_its_condition_lets_through() -> None:
    burst = Burst("burst")
    workflow = (
        WorkflowBuilder(burst).add_edge(burst, Out("evens"), is_even, max_traversals=2).build()
    )

    result = await workflow.run(1)  # sends 1..5: the evens are 2 and 4

    assert result.outputs == ("evens:2", "evens:4")
    assert bound_events(result) == []


async def test_a_bounded_self_loop_builds_without_a_self_loop_warning() -> None:
    loop = Bump("loop")
    workflow = (
        WorkflowBuilder(loop)
        .add_edge(loop, loop, max_traversals=2)
        .add_edge(loop, Out("seen"))
        .build()
    )

    assert workflow.warnings == ()
    assert (await workflow.run(0)).outputs == ("seen:1", "seen:2", "seen:3")


def test_an_unbounded_self_loop_still_warns() -> None:
    loop = Bump("loop")
    builder = WorkflowBuilder(loop).add_edge(loop, loop, is_even).add_edge(loop, Out("seen"))

    with pytest.warns(BatonWarning, match=r"\[self_loop\] `loop` has an edge to itself"):
        workflow = builder.build()

    assert [w.check for w in workflow.warnings] == ["self_loop"]


# --- a switch case ---


def switch_loop(bound: int = 2) -> Workflow:
    """`loop` -> `loop` by a bounded case for even numbers, else `done`."""
    loop = Bump("loop")
    return (
        WorkflowBuilder(loop)
        .add_switch_case_edge_group(
            loop, [Case(is_even, loop, max_traversals=bound), Default(Out("done"))]
        )
        .build()
    )


async def test_a_spent_switch_case_falls_through_to_the_default() -> None:
    bump = Bump("bump")
    workflow = (
        WorkflowBuilder(bump)
        .add_switch_case_edge_group(
            bump, [Case(lambda n: n < 100, bump, max_traversals=2), Default(Out("done"))]
        )
        .build()
    )
    result = await workflow.run(0)  # 1 and 2 go around; 3 is held back and takes the default

    assert result.outputs == ("done:3",)
    assert result.supersteps == 4
    assert bound_events(result) == [
        LoopBoundReachedEvent(
            source_id="bump", target_id="bump", max_traversals=2, message_type="int"
        )
    ]


async def test_a_bounded_case_that_is_not_spent_reports_nothing() -> None:
    result = await switch_loop(2).run(1)  # 2 goes around, 3 is odd and takes the default

    assert result.outputs == ("done:3",)
    assert bound_events(result) == []


async def test_a_spent_switch_case_falls_through_to_the_next_matching_case() -> None:
    burst = Burst("burst")
    workflow = (
        WorkflowBuilder(burst)
        .add_switch_case_edge_group(
            burst,
            [
                Case(lambda n: n > 0, Out("first"), max_traversals=2),
                Case(is_even, Out("second")),
                Default(Out("rest")),
            ],
        )
        .build()
    )

    result = await workflow.run(1)  # sends 1..5

    assert sorted(result.outputs) == ["first:1", "first:2", "rest:3", "rest:5", "second:4"]
    assert [e.target_id for e in bound_events(result)] == ["first", "first", "first"]


async def test_two_bounded_cases_count_separately() -> None:
    burst = Burst("burst")
    workflow = (
        WorkflowBuilder(burst)
        .add_switch_case_edge_group(
            burst,
            [
                Case(is_even, Out("even"), max_traversals=1),
                Case(lambda n: n % 2 == 1, Out("odd"), max_traversals=1),
                Default(Out("rest")),
            ],
        )
        .build()
    )

    result = await workflow.run(1)  # sends 1..5

    assert sorted(result.outputs) == ["even:2", "odd:1", "rest:3", "rest:4", "rest:5"]
    assert [(e.target_id, e.max_traversals) for e in bound_events(result)] == [
        ("odd", 1),
        ("even", 1),
        ("odd", 1),
    ]


# --- counts per run, and across pauses and checkpoints ---


async def test_each_run_of_one_workflow_gets_the_full_budget() -> None:
    workflow = ping_pong(2)

    first = await workflow.run(0)
    second = await workflow.run(100)

    assert first.outputs == ("seen:2", "seen:4", "seen:6")
    assert second.outputs == ("seen:102", "seen:104", "seen:106")
    assert len(bound_events(first)) == len(bound_events(second)) == 1


async def test_an_in_memory_run_keeps_counting_across_answers() -> None:
    result = await asking_loop().run(0)
    answers = [10, 20, 30]
    outputs: list[str] = []
    for answer in answers:
        (request,) = result.requests
        assert result.run is not None
        result = await result.run.respond({request.request_id: answer})
        outputs.extend(result.outputs)

    assert outputs == ["seen:11", "seen:21", "seen:31"]
    assert result.status is RunStatus.IDLE
    assert result.requests == ()
    assert len(bound_events(result)) == 1


async def test_a_durable_run_resumed_after_a_pause_keeps_counting() -> None:
    store = RecordingStore()
    result = await asking_loop().run(0, checkpoint_store=store, run_id="r")
    outputs: list[str] = []
    for answer in [10, 20, 30]:
        (request,) = result.requests
        # a fresh workflow object each time: the counts can only come from the checkpoint
        result = await asking_loop().resume(
            "r", store=store, responses={request.request_id: answer}
        )
        outputs.extend(result.outputs)

    assert outputs == ["seen:11", "seen:21", "seen:31"]
    assert result.status is RunStatus.IDLE
    assert len(bound_events(result)) == 1
    latest = await store.latest("r")
    assert latest is not None
    assert latest.traversals == {"1": 2}


async def test_loop_counts_survive_a_sqlite_store(tmp_path: Path) -> None:
    store = SqliteCheckpointStore(tmp_path / "runs.db")
    try:
        result = await asking_loop().run(0, checkpoint_store=store, run_id="r")
        outputs: list[str] = []
        for answer in [10, 20, 30]:
            (request,) = result.requests
            result = await asking_loop().resume(
                "r", store=store, responses={request.request_id: answer}
            )
            outputs.extend(result.outputs)
    finally:
        store.close()

    assert outputs == ["seen:11", "seen:21", "seen:31"]
    assert len(bound_events(result)) == 1


async def test_checkpoints_record_how_many_messages_each_bounded_edge_carried() -> None:
    store = RecordingStore()
    await ping_pong(3).run(0, checkpoint_store=store, run_id="r")

    counts = [(c.superstep, c.traversals) for c in store.saved]

    assert counts[0] == (0, {})
    assert counts[-1] == (9, {"1": 3})
    carried = [c.traversals.get("1", 0) for c in store.saved]
    assert carried == sorted(carried)  # only ever grows
    assert sorted(set(carried)) == [0, 1, 2, 3]


async def test_resuming_from_a_mid_loop_checkpoint_continues_the_count() -> None:
    store = RecordingStore()
    whole = await ping_pong(3).run(0, checkpoint_store=store, run_id="r")
    middle = next(c for c in store.saved if c.traversals == {"1": 2})

    forked = await ping_pong(3).resume(
        checkpoint_id=middle.checkpoint_id, store=store, new_run_id="fork"
    )

    assert middle.superstep == 4
    assert forked.outputs == ("seen:4", "seen:6", "seen:8")  # one more lap, then the bound holds
    assert forked.outputs == whole.outputs[1:]
    assert len(bound_events(forked)) == 1
    assert forked.supersteps == whole.supersteps


# --- arguments and export ---


@pytest.mark.parametrize("bad", [0, -1, True, "3", 2.0])
def test_add_edge_rejects_a_max_traversals_that_is_not_a_positive_int(bad: object) -> None:
    a, b = Bump("a"), Out("b")

    with pytest.raises(
        ValueError,
        match=rf"add_edge\(\): max_traversals must be a positive integer .*, got {bad!r}$",
    ):
        WorkflowBuilder(a).add_edge(a, b, max_traversals=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [0, -1, True, "3"])
def test_a_switch_case_rejects_a_max_traversals_that_is_not_a_positive_int(bad: object) -> None:
    a = Bump("a")

    with pytest.raises(
        ValueError,
        match=rf"add_switch_case_edge_group\(\) Case: max_traversals must be a positive integer "
        rf"\(how many messages the edge may carry in one run\), got {bad!r}$",
    ):
        WorkflowBuilder(a).add_switch_case_edge_group(
            a,
            [Case(is_even, Out("b"), max_traversals=bad), Default(Out("c"))],  # type: ignore[arg-type]
        )


def test_mermaid_labels_bounded_edges_and_cases_with_their_bound() -> None:
    ping, pong = Bump("ping"), Bump("pong")
    workflow = (
        WorkflowBuilder(ping)
        .add_edge(ping, pong)
        .add_edge(pong, ping, is_even, max_traversals=3)
        .add_switch_case_edge_group(
            pong, [Case(lambda n: n > 5, Out("big"), max_traversals=4), Default(Out("small"))]
        )
        .build()
    )

    mermaid = workflow.to_mermaid()

    assert '  pong -->|"is_even [max 3]"| ping' in mermaid.splitlines()
    assert '  pong -->|"case 1: condition [max 4]"| big' in mermaid.splitlines()
    assert "  ping --> pong" in mermaid.splitlines()


def test_an_unconditional_bounded_edge_is_labelled_with_its_bound_alone() -> None:
    mermaid = ping_pong(3).to_mermaid()

    assert '  pong -->|"max 3"| ping' in mermaid.splitlines()


# --- a bounded case does not hide what comes after it ---


async def test_a_default_after_a_bounded_always_true_case_is_not_reported_unreachable() -> None:
    bump = Bump("bump")
    builder = WorkflowBuilder(bump).add_switch_case_edge_group(
        bump, [Case(lambda n: True, bump, max_traversals=3), Default(Out("done"))]
    )

    workflow = builder.build()  # warnings are errors: an unreachable_case warning fails here

    assert workflow.warnings == ()
    assert (await workflow.run(0)).outputs == ("done:4",)


async def test_a_default_after_a_bounded_type_case_for_every_sent_type_is_not_unreachable() -> None:
    bump = Bump("bump")
    builder = WorkflowBuilder(bump).add_switch_case_edge_group(
        bump, [Case(int, bump, max_traversals=3), Default(Out("done"))]
    )

    workflow = builder.build()

    assert workflow.warnings == ()
    assert (await workflow.run(0)).outputs == ("done:4",)


def test_a_bounded_type_case_does_not_make_a_switch_exhaustive() -> None:
    source = SendsIntOrStr("s")
    builder = WorkflowBuilder(source).add_switch_case_edge_group(
        source, [Case(int, Out("ints"), max_traversals=2), Case(str, Out("strs"))]
    )

    with pytest.raises(WorkflowValidationError) as info:
        builder.build()

    (issue,) = info.value.issues
    assert issue.check == "switch_default"
    assert issue.message == (
        "the switch-case group from `s` has no `Default`, and no case always takes `int` of what "
        "`s` sends (`int` only by a case with `max_traversals`, which takes nothing once spent), "
        "so such a message would have nowhere to go."
    )


async def test_an_unbounded_case_after_a_bounded_one_takes_what_it_holds_back() -> None:
    burst = Burst("burst")
    workflow = (
        WorkflowBuilder(burst)
        .add_switch_case_edge_group(
            burst, [Case(int, Out("first"), max_traversals=2), Case(int, Out("later"))]
        )
        .build()
    )

    assert workflow.warnings == ()
    result = await workflow.run(1)
    assert sorted(result.outputs) == ["first:1", "first:2", "later:3", "later:4", "later:5"]
