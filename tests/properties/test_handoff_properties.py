"""Termination properties of the seeds' handoff graphs under any model behaviour.

Every agent runs on a `ChoiceChatClient`, so one `Choices` script decides, turn by turn, whether an
agent answers or hands off and to whom. With turn limits the analysis bounds each mesh, and every
input (the opening message and each user reply) ends within that bound whatever the models do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from cli.demos.support_desk import DESK_TURN_LIMIT, build_support_desk
from engine import BatonWarning, RequestInfoEvent, RunResult, RunStatus, Workflow
from engine.analysis import CycleKind, analyze
from engine.testing import (
    Choices,
    RouteExploration,
    assert_terminates,
    choices,
    explore_routes,
)
from executors import Agent
from executors.agents.testing import ChoiceChatClient
from orchestrations import (
    HandoffAgentUserRequest,
    HandoffBuilder,
    HandoffCompletedEvent,
    HandoffUserResponse,
    SequentialBuilder,
)

SETTINGS = settings(max_examples=40, deadline=None)
DECISIONS = choices(max_decisions=24, max_option=4)
REPLIES = ("It is about my last order.", "Please go on.", "That did not help.")


def agent(name: str, description: str, decisions: Choices) -> Agent:
    return Agent(
        ChoiceChatClient(decisions, name=name),
        name=name,
        instructions=f"You are the {name} agent.",
        description=description,
    )


# --- the seeds' graphs ------------------------------------------------------------------------------


def star(decisions: Choices) -> HandoffBuilder:
    triage = agent("triage", "Routes requests to the right specialist.", decisions)
    billing = agent("billing", "Handles billing questions.", decisions)
    tech = agent("tech", "Handles technical support questions.", decisions)
    return (
        HandoffBuilder(participants=[triage, billing, tech])
        .with_start_agent(triage)
        .add_handoff(triage, [billing, tech])
    )


def desk(decisions: Choices) -> HandoffBuilder:
    triage = agent("triage", "Routes customer requests.", decisions)
    returns = agent("returns", "Handles returns and refunds.", decisions)
    orders = agent("orders", "Places and changes orders.", decisions)
    fraud = agent("fraud", "Investigates suspicious activity.", decisions)
    return (
        HandoffBuilder(participants=[triage, returns, orders, fraud])
        .with_start_agent(triage)
        .add_handoff(triage, [returns, orders])
        .add_handoff(returns, [triage, orders])
        .add_handoff(orders, [triage, returns])
        .add_handoff(returns, [fraud], description="Suspected return fraud or abuse.")
    )


def pipeline(decisions: Choices) -> HandoffBuilder:
    researcher = agent("researcher", "Finds sources and facts.", decisions)
    writer = agent("writer", "Writes the draft.", decisions)
    editor = agent("editor", "Edits and publishes.", decisions)
    sequential = SequentialBuilder(participants=[researcher, writer, editor])
    return HandoffBuilder.from_sequential(sequential).add_handoff(
        writer, [researcher], description="Need additional research, sources, or fact-checking."
    )


def tutors(decisions: Choices) -> HandoffBuilder:
    triage = agent("triage", "Routes questions.", decisions)
    math = agent("math", "Answers math questions.", decisions)
    history = agent("history", "Answers history questions.", decisions)
    return (
        HandoffBuilder(participants=[triage, math, history])
        .with_start_agent(triage)
        .add_handoff(triage, [math, history])
        .add_handoff(math, [triage])
        .add_handoff(history, [triage])
    )


@dataclass(frozen=True)
class Seed:
    """One seed graph: how to build it, what to open with, and its shape."""

    name: str
    builder: Callable[[Choices], HandoffBuilder]
    opening: str
    agents: tuple[str, ...]
    terminal: tuple[str, ...]
    """Agents without an outbound handoff (the build warns about them)."""
    cyclic: tuple[str, ...]
    """The agents of the mesh's one cycle (none for the star)."""
    ping_pong: tuple[int, ...] = ()
    """A script whose every decision hands off around the cycle."""

    def __str__(self) -> str:
        return self.name


SEEDS = (
    Seed(
        "star",
        star,
        "I was charged twice",
        ("triage", "billing", "tech"),
        ("billing", "tech"),
        (),
    ),
    Seed(
        "desk",
        desk,
        "I want to return my blender",
        ("triage", "returns", "orders", "fraud"),
        ("fraud",),
        ("triage", "returns", "orders"),
        (1,) * 20,  # triage -> returns -> triage -> ...
    ),
    Seed(
        "pipeline",
        pipeline,
        "Write about superstep runtimes",
        ("researcher", "writer", "editor"),
        ("editor",),
        ("researcher", "writer"),
        (1, 2) * 10,  # researcher -> writer -> researcher -> ...
    ),
    Seed(
        "tutors",
        tutors,
        "Is 1066 a prime number or a date?",
        ("triage", "math", "history"),
        (),
        ("triage", "math", "history"),
        (1,) * 20,  # triage -> math -> triage -> ...
    ),
)
CYCLIC_SEEDS = tuple(seed for seed in SEEDS if seed.cyclic)


def build(seed: Seed, builder: HandoffBuilder) -> Workflow:
    """Build, expecting the warning about the seed's terminal agents (and no other warning)."""
    if not seed.terminal:
        return builder.build()
    names = ", ".join(f"`{name}`" for name in seed.terminal)
    with pytest.warns(BatonWarning, match=f"{names} ha(s|ve) no outbound handoff"):
        return builder.build()


Limits = Callable[[HandoffBuilder, Seed], dict[str, int]]
"""Sets turn limits on a seed's builder; returns every agent's expected limit."""


def limit_every_agent_to_three(builder: HandoffBuilder, seed: Seed) -> dict[str, int]:
    builder.with_turn_limits(default=3)
    return dict.fromkeys(seed.agents, 3)


def limit_each_agent_differently(builder: HandoffBuilder, seed: Seed) -> dict[str, int]:
    named = {name: number for number, name in enumerate(seed.agents[1:], 1)}
    builder.with_turn_limits(named, default=4)
    return {seed.agents[0]: 4, **named}


def autonomous_with_limits(builder: HandoffBuilder, seed: Seed) -> dict[str, int]:
    limits = {name: 2 for name in seed.agents[:-1]}
    builder.with_autonomous_mode(turn_limits=limits).with_turn_limits(default=3)
    return {**dict.fromkeys(seed.agents, 3), **limits}


LIMITS: tuple[Limits, ...] = (
    limit_every_agent_to_three,
    limit_each_agent_differently,
    autonomous_with_limits,
)


def limited(seed: Seed, limits: Limits, decisions: Choices) -> tuple[Workflow, dict[str, int]]:
    builder = seed.builder(decisions)
    expected = limits(builder, seed)
    return build(seed, builder), expected


# --- what the analysis says ---------------------------------------------------------------------------


@pytest.mark.parametrize("limits", LIMITS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("seed", SEEDS, ids=str)
def test_turn_limits_bound_every_seed_mesh_and_the_report_names_each_limit(
    seed: Seed, limits: Limits
) -> None:
    workflow, expected = limited(seed, limits, Choices())
    report = analyze(workflow)
    assert report.is_bounded, str(report)
    assert report.superstep_bound is not None
    assert {eid: workflow.executors[eid].turn_limit for eid in seed.agents} == expected
    assert report.turn_limits == {eid: expected[eid] for eid in seed.cyclic}
    assert [set(cycle.executor_ids) for cycle in report.cycles] == (
        [set(seed.cyclic)] if seed.cyclic else []
    )
    assert all(cycle.kind is CycleKind.BOUNDED for cycle in report.cycles)


@pytest.mark.parametrize("seed", CYCLIC_SEEDS, ids=str)
def test_an_interactive_seed_mesh_without_turn_limits_is_exit_possible_not_bounded(
    seed: Seed,
) -> None:
    workflow = build(seed, seed.builder(Choices()))
    report = analyze(workflow)
    assert not report.is_bounded
    assert report.superstep_bound is None
    (cycle,) = report.cycles
    assert cycle.kind is CycleKind.EXIT_POSSIBLE
    assert set(cycle.executor_ids) == set(seed.cyclic)
    assert report.turn_limits == dict.fromkeys(seed.cyclic)
    with pytest.raises(ValueError, match=f"the analysis cannot bound workflow `{workflow.name}`"):
        assert_terminates(workflow, seed.opening)


def test_the_star_has_no_cycle_so_it_is_bounded_without_turn_limits() -> None:
    (seed,) = [s for s in SEEDS if s.name == "star"]
    report = analyze(build(seed, seed.builder(Choices())))
    assert report.cycles == ()
    assert report.is_bounded
    assert report.superstep_bound == 3  # triage -> billing or tech -> output


# --- under any model behaviour ------------------------------------------------------------------------

Answer = str | None
"""A user's reply text, or `None`: end the conversation."""
ANSWERS = st.lists(st.one_of(st.sampled_from(REPLIES), st.none()), max_size=4)


class User:
    """Answers each pause with the next drawn answer, and ends the conversation once out of them."""

    def __init__(self, answers: list[Answer], *, as_text: bool) -> None:
        self.answers = list(answers)
        self.as_text = as_text
        self.asked: list[HandoffAgentUserRequest] = []

    def __call__(self, event: RequestInfoEvent) -> Any:
        assert isinstance(event.data, HandoffAgentUserRequest)
        assert event.response_type is HandoffUserResponse
        self.asked.append(event.data)
        answer = self.answers[len(self.asked) - 1] if len(self.asked) <= len(self.answers) else None
        if answer is None:
            return HandoffAgentUserRequest.terminate()
        return answer if self.as_text else HandoffAgentUserRequest.create_response(answer)

    @property
    def pauses_until_terminate(self) -> int:
        """How many pauses an interactive conversation has: up to the first terminate, inclusive."""
        return next((n for n, a in enumerate(self.answers, 1) if a is None), len(self.answers) + 1)


def completions(result: RunResult) -> list[str]:
    return [e.reason for e in result.events if isinstance(e, HandoffCompletedEvent)]


@pytest.mark.parametrize(
    "limits", [limit_every_agent_to_three, limit_each_agent_differently], ids=lambda f: f.__name__
)
@pytest.mark.parametrize("seed", SEEDS, ids=str)
@SETTINGS
@given(decisions=DECISIONS, answers=ANSWERS, as_text=st.booleans())
@example(
    decisions=Choices((1,) * 24), answers=[REPLIES[0]], as_text=True
)  # desk, tutors: ping-pong
def test_every_input_of_an_interactive_seed_mesh_ends_within_its_bound_whatever_the_models_do(
    seed: Seed, limits: Limits, decisions: Choices, answers: list[Answer], as_text: bool
) -> None:
    workflow, _ = limited(seed, limits, decisions)
    user = User(answers, as_text=as_text)
    result = assert_terminates(
        workflow, seed.opening, choices=decisions, responder=user, max_responses=len(answers) + 1
    )
    assert result.status == RunStatus.IDLE  # the last answer ended the conversation
    assert len(user.asked) == user.pauses_until_terminate  # every input ended in one pause
    assert {request.agent_name for request in user.asked} <= set(seed.agents)


@pytest.mark.parametrize("limits", LIMITS[:2], ids=lambda f: f.__name__)
@pytest.mark.parametrize("seed", CYCLIC_SEEDS, ids=str)
def test_a_turn_limit_stops_models_that_keep_handing_off_and_a_reply_restores_the_budget(
    seed: Seed, limits: Limits
) -> None:
    decisions = Choices(seed.ping_pong)
    workflow, _ = limited(seed, limits, decisions)
    user = User([REPLIES[0], None], as_text=True)
    result = assert_terminates(workflow, seed.opening, choices=decisions, responder=user)
    assert result.status == RunStatus.IDLE
    assert [request.reason for request in user.asked] == ["turn_limit", "turn_limit"]
    assert all(choice.chosen != 0 for choice in decisions.route)  # every turn handed off


@pytest.mark.parametrize("seed", SEEDS, ids=str)
@SETTINGS
@given(decisions=DECISIONS)
def test_an_autonomous_seed_mesh_ends_in_one_conversation_whatever_the_models_do(
    seed: Seed, decisions: Choices
) -> None:
    workflow, _ = limited(seed, autonomous_with_limits, decisions)
    user = User([], as_text=True)
    result = assert_terminates(workflow, seed.opening, choices=decisions, responder=user)
    assert user.asked == []  # autonomous agents never ask the user
    assert result.status == RunStatus.IDLE
    assert len(result.outputs) == 1
    (reason,) = completions(result)
    assert reason in ("terminal_agent", "turn_limit")


@SETTINGS
@given(decisions=DECISIONS, answers=ANSWERS)
def test_the_support_desk_demo_ends_every_input_whatever_its_one_model_does(
    decisions: Choices, answers: list[Answer]
) -> None:
    workflow = build_support_desk(ChoiceChatClient(decisions, name="desk"))
    report = analyze(workflow)
    assert report.turn_limits == dict.fromkeys(("triage", "returns", "orders"), DESK_TURN_LIMIT)
    user = User(answers, as_text=True)
    result = assert_terminates(
        workflow, "My blender arrived cracked.", choices=decisions, responder=user
    )
    assert result.status == RunStatus.IDLE
    assert len(user.asked) == user.pauses_until_terminate


# --- every route, explored ----------------------------------------------------------------------------


def test_the_route_explorer_finds_every_desk_route_ends_within_its_bound() -> None:
    (seed,) = [s for s in SEEDS if s.name == "desk"]
    model = Choices()
    builder = seed.builder(model)
    limit_every_agent_to_three(builder, seed)
    workflow = build(seed, builder)

    def explore(depth: int) -> RouteExploration:
        return explore_routes(
            workflow,
            seed.opening,
            depth=depth,
            choices=model,
            responder=lambda event: REPLIES[0],
            max_responses=1,
        )

    shallow, deep = explore(4), explore(5)
    assert shallow.complete and deep.complete
    assert shallow.failures == deep.failures == ()
    assert deep.routes > shallow.routes > 3  # each decision: answer, or one handoff per edge
