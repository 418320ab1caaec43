"""HandoffBuilder.with_turn_limits: turn limits for interactive agents, a default, and the analysis."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from engine import RunResult, RunStatus, Workflow, WorkflowContext, executor
from engine.analysis import CycleKind, analyze
from engine.testing import Choices, assert_terminates
from executors import Agent, ScriptedChatClient, ToolCall
from executors.agents.testing import ChoiceChatClient
from orchestrations import HandoffAgentExecutor, HandoffAgentUserRequest, HandoffBuilder
from tests.orchestrations.support import client_of, completions, handoffs

Configure = Callable[[HandoffBuilder], Any]


def agent(name: str, replies: list[Any] | None = None) -> Agent:
    return Agent(ScriptedChatClient(replies or []), name=name, instructions=name)


def mesh(configure: Configure = lambda builder: builder) -> Workflow:
    """A full mesh of `a`, `b` and `c` (every agent may hand off to every other), configured."""
    builder = HandoffBuilder([agent("a"), agent("b"), agent("c")])
    configure(builder)
    return builder.build()


def node(workflow: Workflow, name: str) -> HandoffAgentExecutor:
    executor = workflow.executors[name]
    assert isinstance(executor, HandoffAgentExecutor)
    return executor


def limits(workflow: Workflow) -> dict[str, int | None]:
    return {name: node(workflow, name).turn_limit for name in ("a", "b", "c")}


def autonomous(workflow: Workflow) -> set[str]:
    return {name for name in ("a", "b", "c") if node(workflow, name).settings.autonomous}


def ping_pong(a_turns: int, b_turns: int) -> tuple[HandoffBuilder, Agent, Agent]:
    """`a` and `b` hand the conversation back and forth for as many turns as they are given."""
    a = agent("a", [ToolCall("handoff_to_b")] * a_turns)
    b = agent("b", [ToolCall("handoff_to_a")] * b_turns)
    return HandoffBuilder([a, b]), a, b


def only_request(result: RunResult) -> tuple[str, HandoffAgentUserRequest]:
    (request,) = result.requests
    return request.request_id, request.data


# --- limits for interactive agents ------------------------------------------------------------------


def test_interactive_agents_get_the_limits_they_are_given() -> None:
    workflow = mesh(lambda b: b.with_turn_limits({"a": 2, "b": 1}))

    assert limits(workflow) == {"a": 2, "b": 1, "c": None}
    assert autonomous(workflow) == set()


async def test_an_interactive_agent_out_of_turns_asks_the_user_with_reason_turn_limit() -> None:
    builder, a, b = ping_pong(a_turns=2, b_turns=2)
    workflow = builder.with_turn_limits({"a": 2}).build()

    result = await workflow.run("hi")

    assert handoffs(result) == [("a", "b"), ("b", "a"), ("a", "b"), ("b", "a")]
    _, request = only_request(result)
    assert (request.agent_name, request.reason, request.agent_response) == ("a", "turn_limit", None)
    assert result.outputs == ()
    client_of(a).assert_complete()  # the third entry asked the user without calling the model
    client_of(b).assert_complete()


async def test_a_user_reply_gives_the_agents_their_turns_again() -> None:
    builder, a, b = ping_pong(a_turns=4, b_turns=4)
    workflow = builder.with_turn_limits({"a": 2}).build()
    first = await workflow.run("hi")
    request_id, _ = only_request(first)
    assert first.run is not None

    second = await first.run.respond({request_id: "keep going"})

    assert handoffs(second) == [("a", "b"), ("b", "a"), ("a", "b"), ("b", "a")]
    _, request = only_request(second)
    assert (request.agent_name, request.reason) == ("a", "turn_limit")
    assert client_of(a).requests[2].messages[-1].text == "keep going"


async def test_the_default_limit_applies_at_run_time_to_an_agent_not_named() -> None:
    builder, _, _ = ping_pong(a_turns=5, b_turns=5)
    workflow = builder.with_turn_limits({"a": 5}, default=1).build()

    result = await workflow.run("hi")

    assert handoffs(result) == [("a", "b"), ("b", "a"), ("a", "b")]
    _, request = only_request(result)
    assert (request.agent_name, request.reason) == ("b", "turn_limit")


@pytest.mark.parametrize(
    ("configure", "expected"),
    [
        (lambda b: b.with_turn_limits({"a": 5}, default=2), {"a": 5, "b": 2, "c": 2}),
        (
            lambda b: b.with_turn_limits(default=2).with_turn_limits({"a": 5}),
            {"a": 5, "b": 2, "c": 2},
        ),
        (
            lambda b: b.with_turn_limits({"a": 5}).with_turn_limits(default=2),
            {"a": 5, "b": 2, "c": 2},
        ),
        (
            lambda b: b.with_turn_limits({"a": 5}).with_turn_limits({"a": 3, "b": 4}),
            {"a": 3, "b": 4, "c": None},
        ),
        (
            lambda b: b.with_turn_limits(default=2).with_turn_limits(default=4),
            {"a": 4, "b": 4, "c": 4},
        ),
    ],
)
def test_a_named_limit_beats_the_default_in_any_order(
    configure: Configure, expected: dict[str, int | None]
) -> None:
    assert limits(mesh(configure)) == expected


@pytest.mark.parametrize(
    ("configure", "expected", "expected_autonomous"),
    [
        (
            lambda b: b.with_turn_limits({"a": 2}).with_autonomous_mode(turn_limits={"b": 4}),
            {"a": 2, "b": 4, "c": 50},
            {"a", "b", "c"},
        ),
        (
            lambda b: b.with_autonomous_mode(turn_limits={"b": 4}).with_turn_limits({"a": 2}),
            {"a": 2, "b": 4, "c": 50},
            {"a", "b", "c"},
        ),
        (
            lambda b: b.with_autonomous_mode().with_turn_limits(default=3),
            {"a": 3, "b": 3, "c": 3},
            {"a", "b", "c"},
        ),
        (
            lambda b: b.with_autonomous_mode(agents=["a"]).with_turn_limits({"b": 2}),
            {"a": 50, "b": 2, "c": None},
            {"a"},
        ),
    ],
)
def test_limits_accumulate_with_autonomous_mode(
    configure: Configure, expected: dict[str, int | None], expected_autonomous: set[str]
) -> None:
    workflow = mesh(configure)

    assert limits(workflow) == expected
    assert autonomous(workflow) == expected_autonomous


async def test_a_limit_set_after_autonomous_mode_ends_the_autonomous_agent() -> None:
    a = agent("a", ["one", "two"])
    builder = HandoffBuilder([a, agent("b")]).with_autonomous_mode(agents=["a"])
    workflow = builder.with_turn_limits({"a": 2}).build()

    result = await workflow.run("go")

    assert completions(result) == [("a", "turn_limit")]
    assert result.outputs[0][-1].text == "two"
    client_of(a).assert_complete()


# --- bad calls --------------------------------------------------------------------------------------


@executor(id="step")
async def step(text: str, ctx: WorkflowContext[str]) -> None:
    await ctx.send_message(text)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda b: b.with_turn_limits({"a": 0}),
            r"the turn limit of `a` must be a positive integer, got 0\.",
        ),
        (
            lambda b: b.with_turn_limits({"a": True}),
            r"the turn limit of `a` must be a positive integer, got True\.",
        ),
        (
            lambda b: b.with_turn_limits({"a": 1.5}),
            r"the turn limit of `a` must be a positive integer, got 1\.5\.",
        ),
        (
            lambda b: b.with_turn_limits(default=0),
            r"the default turn limit must be a positive integer, got 0\.",
        ),
        (
            lambda b: b.with_turn_limits(default=True),
            r"the default turn limit must be a positive integer, got True\.",
        ),
        (
            lambda b: b.with_turn_limits({"ghost": 2}),
            r"`ghost` is not a participant \(participants: `a`, `b`, `step`\)",
        ),
        (lambda b: b.with_turn_limits({"step": 2}), r"`step` is an executor, not an agent"),
    ],
)
def test_bad_turn_limits_are_refused_with_the_reason(call: Configure, message: str) -> None:
    builder = HandoffBuilder([agent("a"), agent("b"), step])
    with pytest.raises(ValueError, match=rf"^with_turn_limits\(\)(:| turn_limits:) .*{message}"):
        call(builder)


def test_a_refused_call_changes_no_limit() -> None:
    builder = HandoffBuilder([agent("a"), agent("b"), agent("c")])
    with pytest.raises(ValueError, match="default turn limit"):
        builder.with_turn_limits({"a": 2}, default=0)
    with pytest.raises(ValueError, match="turn limit of `b`"):
        builder.with_turn_limits({"c": 3, "b": -1})

    assert limits(builder.build()) == {"a": None, "b": None, "c": None}


# --- the analysis -----------------------------------------------------------------------------------


def test_an_interactive_mesh_without_limits_is_not_bounded() -> None:
    report = analyze(mesh())

    (cycle,) = report.cycles
    assert cycle.kind is CycleKind.EXIT_POSSIBLE
    assert not report.is_bounded and report.superstep_bound is None


def test_a_mesh_with_one_unlimited_loop_left_is_not_bounded() -> None:
    report = analyze(mesh(lambda b: b.with_turn_limits({"a": 2})))

    (cycle,) = report.cycles
    assert cycle.kind is CycleKind.EXIT_POSSIBLE
    assert set(cycle.loop) == {"b", "c"}  # the way around that passes no limit
    assert report.superstep_bound is None


def test_a_mesh_with_a_limit_on_every_agent_is_bounded() -> None:
    report = analyze(mesh(lambda b: b.with_turn_limits({"a": 2}, default=3)))

    (cycle,) = report.cycles
    assert cycle.kind is CycleKind.BOUNDED
    assert cycle.turn_limits == {"a": 2, "b": 3, "c": 3}
    # B + 1 stretches of one agent, one more because an answer starts a chain inside; then `output`
    assert report.superstep_bound == (2 + 3 + 3 + 1 + 1) + 1


def test_a_mesh_is_bounded_once_every_way_around_passes_a_limited_agent() -> None:
    report = analyze(mesh(lambda b: b.with_turn_limits({"a": 2, "b": 2})))

    (cycle,) = report.cycles
    assert cycle.kind is CycleKind.BOUNDED
    assert cycle.turn_limits == {"a": 2, "b": 2, "c": None}
    # `c` cannot hand off to itself: every stretch is at most `c` and one limited agent
    assert report.superstep_bound == (2 + 2 + 1 + 1) * 2 + 1


@pytest.mark.parametrize(
    "configure",
    [
        lambda b: b.with_turn_limits(default=2),
        lambda b: b.with_turn_limits({"a": 2, "b": 2}),
    ],
    ids=["every agent", "a and b"],
)
@pytest.mark.parametrize("script", [[1] * 40, [2] * 40, [1, 2] * 20])
def test_every_user_input_stays_within_the_analysed_bound(
    configure: Configure, script: list[int]
) -> None:
    model = Choices(script)
    agents = [Agent(ChoiceChatClient(model, name=n), name=n, instructions=n) for n in "abc"]
    builder = HandoffBuilder(agents)
    configure(builder)

    result = assert_terminates(builder.build(), "hi", choices=model, responder=lambda r: "go on")

    assert result.status is RunStatus.IDLE_WITH_PENDING_REQUESTS
    assert len(model.route) == 40  # the agents handed off through every answer
