"""engine.testing: Choices, with_choices, assert_terminates, explore_routes, workflow_graphs, and the
per-input superstep budget they rely on."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings

from engine import (
    Case,
    ConvergenceError,
    Default,
    Executor,
    ExecutorFailedError,
    RequestInfoEvent,
    RunStatus,
    Workflow,
    WorkflowBuilder,
    WorkflowContext,
    handler,
    response_handler,
)
from engine.analysis import analyze
from engine.edges import SingleEdgeGroup
from engine.testing import (
    Choice,
    Choices,
    Responder,
    Token,
    assert_terminates,
    choices,
    explore_routes,
    trace,
    with_choices,
    workflow_graphs,
)
from engine.testing.termination import bound_for

GRAPHS = settings(max_examples=30, deadline=None)


@dataclass(frozen=True)
class Question:
    n: int


class Bump(Executor):
    """Sends its number plus one."""

    @handler
    async def bump(self, n: int, ctx: WorkflowContext[int]) -> None:
        await ctx.send_message(n + 1)


class Down(Executor):
    """Sends its number minus one."""

    @handler
    async def down(self, n: int, ctx: WorkflowContext[int]) -> None:
        await ctx.send_message(n - 1)


class Pass(Executor):
    """Sends its number on unchanged."""

    @handler
    async def on(self, n: int, ctx: WorkflowContext[int]) -> None:
        await ctx.send_message(n)


class Out(Executor):
    """Yields `<id>:<n>`."""

    @handler
    async def on(self, n: int, ctx: WorkflowContext[None, str]) -> None:
        await ctx.yield_output(f"{self.id}:{n}")


class Broken(Executor):
    """Raises on every message."""

    @handler
    async def on(self, n: int, ctx: WorkflowContext[None, str]) -> None:
        raise RuntimeError(f"broken on {n}")


class Ask(Executor):
    """Asks how many rounds to count down, then sends the answer on."""

    @handler
    async def ask(self, n: int, ctx: WorkflowContext[int]) -> None:
        await ctx.request_info(Question(n), response_type=int)

    @response_handler
    async def answered(self, question: Question, rounds: int, ctx: WorkflowContext[int]) -> None:
        await ctx.send_message(rounds)


def below_three(n: int) -> bool:
    return n < 3


def is_big(n: int) -> bool:
    return n > 10


def is_odd(n: int) -> bool:
    return n % 2 == 1


def is_positive(n: int) -> bool:
    return n > 0


def reached_hundred(n: int) -> bool:
    return n >= 100


def counting_loop(
    exit_to: Executor | None = None, *, max_traversals: int | None = None
) -> Workflow:
    """`bump` -> `gate`; the gate sends the number back to `bump` while it is below three."""
    bump, gate = Bump("bump"), Pass("gate")
    return (
        WorkflowBuilder(bump, name="loop")
        .add_edge(bump, gate)
        .add_switch_case_edge_group(
            gate,
            [
                Case(below_three, bump, max_traversals=max_traversals),
                Default(exit_to or Out("out")),
            ],
        )
        .build()
    )


def three_way() -> Workflow:
    """A switch `start` -> big | odd | other, beside a conditional edge `start` -> `watch` (big)."""
    start = Pass("start")
    return (
        WorkflowBuilder(start, name="three_way")
        .add_switch_case_edge_group(
            start, [Case(is_big, Out("big")), Case(is_odd, Out("odd")), Default(Out("other"))]
        )
        .add_edge(start, Out("watch"), condition=is_big)
        .build()
    )


def fork(default: Executor, *, max_supersteps: int = 1000) -> Workflow:
    """`triage` sends big numbers to `done`, the rest to `default`."""
    triage = Pass("triage")
    return (
        WorkflowBuilder(triage, name="fork", max_supersteps=max_supersteps)
        .add_switch_case_edge_group(triage, [Case(is_big, Out("done")), Default(default)])
        .build()
    )


def spinning_fork(*, max_supersteps: int = 1000) -> Workflow:
    """`triage` -> `done`, or into a `bump` <-> `check` loop that only a hundred rounds would leave."""
    bump, check = Bump("bump"), Pass("check")
    return (
        WorkflowBuilder(Pass("triage"), name="spinning", max_supersteps=max_supersteps)
        .add_switch_case_edge_group("triage", [Case(is_big, Out("done")), Default(bump)])
        .add_edge(bump, check)
        .add_switch_case_edge_group(check, [Case(reached_hundred, Out("finish")), Default(bump)])
        .build()
    )


def countdown(*, max_supersteps: int = 1000) -> Workflow:
    """`ask` asks for k; then `down` <-> `gate` count k down and return to `ask` (2k + 2 supersteps)."""
    ask, down, gate = Ask("ask"), Down("down"), Pass("gate")
    return (
        WorkflowBuilder(ask, name="countdown", max_supersteps=max_supersteps)
        .add_edge(ask, down)
        .add_edge(down, gate)
        .add_switch_case_edge_group(gate, [Case(is_positive, down), Default(ask)])
        .build()
    )


def answers(*replies: int) -> Responder:
    """A responder giving `replies` in order, one per pause."""
    queue = list(replies)

    def respond(request: RequestInfoEvent) -> int:
        return queue.pop(0)

    return respond


# --- Choices ----------------------------------------------------------------------------------------


def test_choose_takes_the_script_modulo_the_number_of_options() -> None:
    script = Choices([5, 1])
    assert script.choose("p", ["a", "b", "c"]) == 2
    assert script.choose("q", ["a", "b"]) == 1
    assert script.route == (Choice("p", ("a", "b", "c"), 2), Choice("q", ("a", "b"), 1))


def test_a_point_with_a_single_option_uses_no_decision() -> None:
    script = Choices([1])
    assert script.choose("only", ["a"]) == 0
    assert script.route == ()
    assert script.choose("p", ["a", "b"]) == 1  # the script's first number is still there


def test_choose_returns_none_once_the_script_is_used_up() -> None:
    script = Choices([1])
    assert script.choose("p", ["a", "b"]) == 1
    assert script.choose("p", ["a", "b"]) is None
    assert Choices().choose("p", ["a", "b"]) is None
    assert len(script.route) == 1


def test_route_and_describe_name_each_point_and_the_option_taken() -> None:
    script = Choices([1, 0])
    assert script.describe() == "no decisions (every branch point behaved naturally)"
    script.choose("switch `gate`", ["case 1: below_three", "default"])
    script.choose("agent `triage`", ["answer", "handoff_to_billing"])
    assert [str(choice) for choice in script.route] == [
        "switch `gate` -> default",
        "agent `triage` -> answer",
    ]
    assert script.describe() == "switch `gate` -> default; agent `triage` -> answer"
    assert script.script == (1, 0)
    assert repr(script) == "Choices([1, 0])"


def test_restart_replays_the_script_from_its_first_decision() -> None:
    script = Choices([1, 2])
    assert [script.choose("p", "abc"), script.choose("p", "abc")] == [1, 2]
    script.restart()
    assert script.route == ()
    assert [script.choose("p", "abc"), script.choose("p", "abc")] == [1, 2]


def test_replay_loads_a_script_and_takes_option_zero_up_to_the_depth() -> None:
    script = Choices([2, 2, 2])
    script.choose("p", "abc")
    script.replay([], depth=2)
    assert [script.choose("p", "abc") for _ in range(3)] == [0, 0, None]
    assert script.script == ()

    script.replay([1], depth=3)  # the depth counts the script's decisions too
    assert [script.choose("p", "abc") for _ in range(4)] == [1, 0, 0, None]
    assert [choice.chosen for choice in script.route] == [1, 0, 0]


@pytest.mark.parametrize(
    ("script", "shown"),
    [([1, -1], "[1, -1]"), ([True], "[True]"), ("12", "['1', '2']"), ([1.0], "[1.0]")],
)
def test_a_bad_script_is_refused_with_the_numbers(script: Any, shown: str) -> None:
    message = f"a Choices script holds non-negative integers, got {shown}"
    with pytest.raises(ValueError, match=re.escape(message)):
        Choices(script)
    with pytest.raises(ValueError, match="non-negative integers"):
        Choices().replay(script)


def test_choose_without_options_is_refused() -> None:
    with pytest.raises(ValueError, match=r"choose\(\) at switch `x` needs at least one option"):
        Choices([0]).choose("switch `x`", [])


# --- with_choices -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("script", "outputs"),
    [([0], ("big:5",)), ([1], ("odd:5",)), ([2], ("other:5",)), ([3], ("big:5",))],
)
async def test_a_switch_takes_the_branch_the_script_picks(
    script: list[int], outputs: tuple[str, ...]
) -> None:
    decisions = Choices(script)
    result = await with_choices(three_way(), decisions).run(5)  # naturally: odd
    assert result.outputs == outputs
    (choice,) = decisions.route
    assert choice.chosen == script[0] % 3
    assert choice.point == "switch `start`"
    assert choice.options == ("case 1: is_big", "case 2: is_odd", "default")


async def test_a_switch_uses_its_predicates_once_the_script_is_used_up() -> None:
    decisions = Choices([0, 0, 0, 0])
    result = await with_choices(counting_loop(), decisions).run(5)  # naturally: out at once
    assert result.outputs == ("out:10",)  # four forced rounds, then 10 is not below three
    assert [str(c) for c in decisions.route] == ["switch `gate` -> case 1: below_three"] * 4

    decisions = Choices([1])
    result = await with_choices(counting_loop(), decisions).run(-5)  # forced out at once
    assert result.outputs == ("out:-4",)
    decisions = Choices([0])
    result = await with_choices(counting_loop(), decisions).run(-2)  # then below three: loops on
    assert result.outputs == ("out:3",)
    assert len(decisions.route) == 1


async def test_conditional_edges_still_decide_from_the_message() -> None:
    workflow = three_way()
    assert (await with_choices(workflow, Choices([1])).run(50)).outputs == ("odd:50", "watch:50")
    assert (await with_choices(workflow, Choices([2])).run(7)).outputs == ("other:7",)


class Classify(Executor):
    @handler
    async def on(self, n: int, ctx: WorkflowContext[int | str]) -> None:
        await ctx.send_message(n if n % 2 else str(n))


class Label(Executor):
    @handler
    async def on(self, value: int | str, ctx: WorkflowContext[None, str]) -> None:
        await ctx.yield_output(f"{self.id}:{value!r}")


def is_short(value: int | str) -> bool:
    return len(str(value)) < 2


async def test_a_forced_type_switch_offers_only_the_cases_the_message_can_take() -> None:
    classify = Classify("classify")
    cases = [Case(int, Label("ints")), Case(is_short, Label("shorts")), Case(str, Label("strs"))]
    workflow = WorkflowBuilder(classify).add_switch_case_edge_group(classify, cases).build()
    decisions = Choices([1])
    result = await with_choices(workflow, decisions).run(4)  # sends "4": the int case is no option
    assert result.outputs == ("strs:'4'",)
    (choice,) = decisions.route
    assert choice.options == ("case 2: is_short", "case 3: str")
    decisions = Choices([0])
    assert (await with_choices(workflow, decisions).run(3)).outputs == ("ints:3",)
    assert decisions.route[0].options == ("case 1: int", "case 2: is_short")


async def test_with_choices_leaves_the_original_workflow_unchanged() -> None:
    workflow = three_way()
    groups = workflow.edge_groups
    chosen = with_choices(workflow, Choices([2]))
    assert chosen is not workflow and chosen.edge_groups != groups
    assert workflow.edge_groups is groups
    assert chosen.executors == workflow.executors
    assert (await workflow.run(5)).outputs == ("odd:5",)
    assert (await chosen.run(5)).outputs == ("other:5",)


# --- assert_terminates ------------------------------------------------------------------------------


def test_assert_terminates_passes_within_the_analysed_bound_and_returns_the_result() -> None:
    workflow = counting_loop(max_traversals=3)
    assert bound_for(workflow, None) == analyze(workflow).superstep_bound == 9

    result = assert_terminates(workflow, -10)  # three rounds, then the spent case falls through

    assert result.outputs == ("out:-6",)
    assert result.supersteps == 9 and result.status is RunStatus.IDLE


def test_an_unbounded_loop_without_within_is_a_value_error_naming_the_loop() -> None:
    with pytest.raises(
        ValueError,
        match=(
            r"the analysis cannot bound workflow `loop`: `bump` -> `gate` -> `bump` passes no turn "
            r"limit or loop bound\. .*or pass `within=`"
        ),
    ):
        assert_terminates(counting_loop(), 0)
    assert assert_terminates(counting_loop(), 0, within=7).outputs == ("out:3",)


def test_a_forced_loop_fails_with_the_input_bound_decisions_and_supersteps() -> None:
    with pytest.raises(AssertionError) as caught:
        assert_terminates(counting_loop(), 0, within=7, choices=Choices([0] * 10))

    assert str(caught.value).splitlines() == [
        "workflow `loop` did not terminate: input 1 was still running after 7 supersteps.",
        "decisions: " + "; ".join(["switch `gate` -> case 1: below_three"] * 3),
        "superstep 1: bump",
        "superstep 2: gate",
        "superstep 3: bump",
        "superstep 4: gate",
        "superstep 5: bump",
        "superstep 6: gate",
        "superstep 7: bump",
    ]


def test_a_long_failing_route_shows_only_the_last_twelve_supersteps() -> None:
    with pytest.raises(AssertionError) as caught:
        assert_terminates(counting_loop(), 0, within=20, choices=Choices([0] * 20))

    lines = str(caught.value).splitlines()
    assert lines[2] == "supersteps 1-8: ..."
    assert lines[3:] == [f"superstep {n}: {'bump' if n % 2 else 'gate'}" for n in range(9, 21)]


def test_a_raising_handler_is_re_raised_with_the_route_taken() -> None:
    workflow = counting_loop(Broken("broken"))

    with pytest.raises(ExecutorFailedError, match="executor `broken` failed") as caught:
        assert_terminates(workflow, 0, within=10, choices=Choices([1]))

    assert caught.value.executor_id == "broken"
    assert str(caught.value.__cause__) == "broken on 1"
    assert caught.value.__notes__ == [
        "route taken:\n"
        "decisions: switch `gate` -> default\n"
        "superstep 1: bump\n"
        "superstep 2: gate\n"
        "superstep 3: broken"
    ]


@pytest.mark.parametrize("within", [0, -3, True, 2.5])
def test_a_bad_within_is_refused(within: Any) -> None:
    with pytest.raises(
        ValueError, match=f"within must be a positive number of supersteps, got {within!r}"
    ):
        assert_terminates(counting_loop(max_traversals=3), 0, within=within)


def test_a_responder_answers_each_pause_and_the_run_goes_on() -> None:
    asked: list[Any] = []

    def two_rounds(request: RequestInfoEvent) -> int:
        asked.append(request.data)
        return 2

    result = assert_terminates(countdown(), 7, within=6, responder=two_rounds, max_responses=4)

    assert asked == [Question(7), Question(0), Question(0), Question(0)]
    assert result.status is RunStatus.IDLE_WITH_PENDING_REQUESTS
    assert result.supersteps == 1 + 4 * 6  # far past `within`: each answer has its own bound


def test_each_answer_is_held_to_the_bound() -> None:
    with pytest.raises(AssertionError) as caught:
        assert_terminates(countdown(), 0, within=6, responder=answers(2, 3))

    first = str(caught.value).splitlines()[0]
    assert first == (
        "workflow `countdown` did not terminate: input 3 was still running after 6 supersteps."
    )


async def test_assert_terminates_works_inside_a_running_event_loop() -> None:
    asyncio.get_running_loop()
    result = assert_terminates(counting_loop(max_traversals=3), -10)
    assert result.outputs == ("out:-6",)


async def test_trace_records_each_input_its_supersteps_executors_and_outputs() -> None:
    found = await trace(counting_loop(), 0, within=10, choices=Choices([1]))

    assert found.terminated and found.error is None and found.result is not None
    assert found.segments == [3]
    assert found.steps == [("bump",), ("gate",), ("out",)]
    assert found.outputs == ["out:1"]
    assert found.route == (Choice("switch `gate`", ("case 1: below_three", "default"), 1),)


async def test_trace_counts_the_supersteps_of_each_answer_on_its_own() -> None:
    found = await trace(countdown(), 7, within=6, responder=answers(2, 0), max_responses=2)

    assert found.segments == [1, 6, 4]
    assert len(found.steps) == 11
    assert found.result is not None and found.result.supersteps == 11


async def test_trace_of_a_run_past_its_bound_holds_the_convergence_error() -> None:
    found = await trace(counting_loop(), 0, within=4, choices=Choices([0] * 5))

    assert not found.terminated
    assert isinstance(found.error, ConvergenceError) and found.result is None
    assert found.segments == [4]
    assert found.steps == [("bump",), ("gate",), ("bump",), ("gate",)]


# --- explore_routes ---------------------------------------------------------------------------------


def test_explore_finds_the_route_that_never_leaves_the_loop() -> None:
    workflow = spinning_fork()

    found = explore_routes(workflow, 0, depth=3, within=20)

    assert found.routes == 4 and found.complete
    (outcome,) = found.non_terminating
    assert found.errors == ()
    assert outcome.script == (1, 1, 1)
    assert isinstance(outcome.error, ConvergenceError) and not outcome.terminated
    assert outcome.supersteps == 20
    assert str(outcome) == (
        "did not terminate (ConvergenceError): switch `triage` -> default; "
        "switch `check` -> default; switch `check` -> default"
    )
    replayed = Choices(outcome.script)
    with pytest.raises(AssertionError, match="input 1 was still running after 20 supersteps"):
        assert_terminates(workflow, 0, within=20, choices=replayed)
    assert replayed.route == outcome.route


def test_explore_without_within_falls_back_to_the_workflow_budget() -> None:
    found = explore_routes(spinning_fork(max_supersteps=25), 0, depth=3)
    (outcome,) = found.non_terminating
    assert outcome.supersteps == 25


def test_explore_reports_a_route_that_ends_in_an_error() -> None:
    found = explore_routes(fork(Broken("broken")), 0, depth=2)

    assert found.routes == 2 and found.complete
    assert found.non_terminating == ()
    (outcome,) = found.errors
    assert outcome.script == (1,) and outcome.terminated
    assert isinstance(outcome.error, ExecutorFailedError)
    assert outcome.error.executor_id == "broken"
    assert str(outcome) == "ended in an error (ExecutorFailedError): switch `triage` -> default"


def test_explore_finds_nothing_wrong_with_a_bounded_loop() -> None:
    found = explore_routes(counting_loop(max_traversals=3), 0, depth=4)

    # the gate exits at its 1st, 2nd, 3rd or 4th visit, or loops until the bound is spent
    assert found.routes == 5 and found.complete
    assert found.failures == ()


def test_max_routes_cuts_the_search_short() -> None:
    found = explore_routes(spinning_fork(), 0, depth=3, within=20, max_routes=2)
    assert found.routes == 2
    assert not found.complete
    assert found.failures == ()  # the non-terminating route was never reached


@pytest.mark.parametrize("within", [0, True])
def test_explore_refuses_a_bad_within(within: Any) -> None:
    with pytest.raises(
        ValueError, match=f"within must be a positive number of supersteps, got {within!r}"
    ):
        explore_routes(spinning_fork(), 0, depth=3, within=within)


@pytest.mark.parametrize("depth", [-1, True, "3"])
def test_a_bad_depth_is_refused(depth: Any) -> None:
    with pytest.raises(
        ValueError, match=f"depth must be a non-negative number of decisions, got {depth!r}"
    ):
        explore_routes(fork(Out("x")), 0, depth=depth)


# --- the superstep budget is per input --------------------------------------------------------------


async def test_every_answer_gets_the_whole_superstep_budget() -> None:
    workflow = countdown(max_supersteps=7)  # each answer of 2 takes 6 supersteps

    result = await workflow.run(0)
    for _ in range(20):
        (request,) = result.requests
        assert result.run is not None
        result = await result.run.respond({request.request_id: 2})

    assert result.supersteps == 1 + 20 * 6
    assert result.status is RunStatus.IDLE_WITH_PENDING_REQUESTS


async def test_one_answer_that_outlives_the_budget_still_fails() -> None:
    paused = await countdown(max_supersteps=7).run(0)
    (request,) = paused.requests
    assert paused.run is not None

    with pytest.raises(ConvergenceError, match=r"within 7 supersteps \(the budget of one input\)"):
        await paused.run.respond({request.request_id: 3})  # 8 supersteps


# --- workflow_graphs --------------------------------------------------------------------------------


@GRAPHS
@given(graph=workflow_graphs(), decisions=choices())
def test_generated_graphs_are_bounded_and_end_within_their_bound(
    graph: Workflow, decisions: Choices
) -> None:
    report = analyze(graph)
    assert report.is_bounded and report.superstep_bound is not None

    result = assert_terminates(graph, Token(), choices=decisions)

    assert result.supersteps <= report.superstep_bound
    assert result.outputs
    assert all(out.route[0] == "n0" and out.route[-1] == "out" for out in result.outputs)


@GRAPHS
@given(graph=workflow_graphs(fan=False, switches=False, cycles=False))
def test_generated_graphs_without_fans_switches_or_cycles_are_a_plain_chain(
    graph: Workflow,
) -> None:
    ids = list(graph.executors)
    assert ids[0] == "n0" and ids[-1] == "out"
    edges = [g for g in graph.edge_groups if isinstance(g, SingleEdgeGroup)]
    assert len(edges) == len(graph.edge_groups)
    assert [(g.source, g.target) for g in edges] == list(zip(ids, ids[1:], strict=False))
    assert all(g.condition is None and g.max_traversals is None for g in edges)
    assert analyze(graph).cycles == ()

    result = assert_terminates(graph, Token())

    assert result.outputs == (Token(tuple(ids)),)
    assert result.supersteps == len(ids)
