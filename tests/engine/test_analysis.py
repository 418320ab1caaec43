from __future__ import annotations

from typing import Any

import pytest

from engine import (
    BatonWarning,
    Case,
    Default,
    Executor,
    Workflow,
    WorkflowBuilder,
    WorkflowContext,
    WorkflowValidationError,
    handler,
    response_handler,
)
from engine.analysis import Bound, CycleKind, DeadEnd, Exit, analyze
from executors import Agent, ChatMessage, ScriptedChatClient, ToolCall
from orchestrations import HandoffBuilder
from orchestrations.group_chat import GroupChatBuilder


class Bump(Executor):
    """Sends its number plus one."""

    @handler
    async def bump(self, n: int, ctx: WorkflowContext[int]) -> None:
        await ctx.send_message(n + 1)


class Limited(Bump):
    """A `Bump` that declares it sends on at most three times per input."""

    @property
    def turn_limit(self) -> int:
        return 3


class Out(Executor):
    """Yields what it receives."""

    @handler
    async def on(self, n: int, ctx: WorkflowContext[None, int]) -> None:
        await ctx.yield_output(n)


class Report(Executor):
    """Yields what it receives and sends it on."""

    @handler
    async def on(self, n: int, ctx: WorkflowContext[int, int]) -> None:
        await ctx.yield_output(n)
        await ctx.send_message(n)


class Ask(Executor):
    """Asks for a number and sends the answer on."""

    @handler
    async def ask(self, n: int, ctx: WorkflowContext[int]) -> None:
        await ctx.request_info(n, response_type=int)

    @response_handler
    async def answered(self, question: int, answer: int, ctx: WorkflowContext[int]) -> None:
        await ctx.send_message(answer)


class OrderLookup(Executor):
    """A handoff step: appends an order's status to the conversation."""

    @handler
    async def on(
        self, conversation: list[ChatMessage], ctx: WorkflowContext[list[ChatMessage]]
    ) -> None:
        status = ChatMessage("assistant", "Order 42: shipped.", author_name=self.id)
        await ctx.send_message([*conversation, status])


def is_small(n: int) -> bool:
    return n < 5


def is_big(n: int) -> bool:
    return n >= 5


def agent(name: str, replies: list[Any] | None = None) -> Agent:
    return Agent(
        ScriptedChatClient(replies or []),
        name=name,
        instructions=f"You are {name}.",
        description=f"The {name} agent.",
    )


def exit_possible_ping_pong() -> Workflow:
    """`ping` -> `pong` -> `ping` while small; `pong` -> `done` once big."""
    ping, pong = Bump("ping"), Bump("pong")
    return (
        WorkflowBuilder(ping, name="ping_pong", max_supersteps=50)
        .add_edge(ping, pong)
        .add_edge(pong, ping, is_small)
        .add_edge(pong, Out("done"), is_big)
        .build()
    )


def bounded_ping_pong(bound: int = 3) -> Workflow:
    """`ping` -> `pong` -> `ping` at most `bound` times; `pong` -> `seen` every time."""
    ping, pong = Bump("ping"), Bump("pong")
    return (
        WorkflowBuilder(ping, name="bounded", max_supersteps=50)
        .add_edge(ping, pong)
        .add_edge(pong, ping, max_traversals=bound)
        .add_edge(pong, Out("seen"))
        .build()
    )


# --- cycle classification ---


def test_a_loop_with_a_bounded_edge_is_bounded() -> None:
    report = analyze(bounded_ping_pong(3))

    (cycle,) = report.cycles
    assert cycle.executor_ids == ("ping", "pong")
    assert cycle.kind is CycleKind.BOUNDED
    assert cycle.is_bounded
    assert cycle.bounds == (Bound(3, "pong", "ping"),)
    assert cycle.exits == (Exit("pong", "direct", "seen"),)
    assert cycle.loop == ("ping", "pong", "ping")
    assert cycle.supersteps == 8  # (3 + 1) laps of 2 executors
    assert report.is_bounded
    assert report.trapped == ()


def test_a_loop_through_an_executor_with_a_turn_limit_is_bounded() -> None:
    ping, pong = Limited("ping"), Bump("pong")
    workflow = (
        WorkflowBuilder(ping)
        .add_edge(ping, pong)
        .add_edge(pong, ping)
        .add_edge(pong, Out("done"), is_big)
        .build()
    )

    (cycle,) = analyze(workflow).cycles

    assert cycle.kind is CycleKind.BOUNDED
    assert cycle.bounds == (Bound(3, "ping"),)
    assert cycle.turn_limits == {"ping": 3, "pong": None}
    assert cycle.supersteps == 8  # edges out of `ping` are bounded: stretches of `pong` -> `ping`


def test_a_loop_that_can_be_left_but_passes_no_bound_is_exit_possible() -> None:
    report = analyze(exit_possible_ping_pong())

    (cycle,) = report.cycles
    assert cycle.kind is CycleKind.EXIT_POSSIBLE
    assert not cycle.is_bounded
    assert cycle.bounds == ()
    assert cycle.loop == ("ping", "pong", "ping")
    assert cycle.exits == (Exit("pong", "conditional", "done"),)
    assert cycle.supersteps is None
    assert not report.is_bounded
    assert report.trapped == ()


def test_yielding_an_output_or_asking_for_input_is_a_way_out_of_a_loop() -> None:
    ask, report_, bump = Ask("ask"), Report("report"), Bump("bump")
    workflow = (
        WorkflowBuilder(ask)
        .add_edge(ask, report_)
        .add_edge(report_, bump)
        .add_edge(bump, ask)
        .build()
    )

    (cycle,) = analyze(workflow).cycles

    assert cycle.kind is CycleKind.EXIT_POSSIBLE
    assert cycle.exits == (Exit("ask", "request"), Exit("report", "output"))
    assert [str(e) for e in cycle.exits] == ["`ask` asks for input", "`report` yields outputs"]


def test_a_loop_nothing_leaves_is_trapped_and_fails_the_build() -> None:
    ping, pong = Bump("ping"), Bump("pong")
    builder = WorkflowBuilder(ping).add_edge(ping, pong).add_edge(pong, ping)

    with pytest.raises(WorkflowValidationError) as info:
        builder.build()

    (issue,) = info.value.issues
    assert issue.check == "trapped_cycle"
    assert issue.executor_ids == ("ping", "pong")
    assert issue.message == (
        "`ping`, `pong` form a cycle (`ping` -> `pong` -> `ping`) that nothing leaves: no edge "
        "leads out of it, none of them yields an output or asks for input, and no bound limits "
        "it, so a message that enters it goes around until the superstep budget fails the run."
    )
    assert "`allow_trapped_cycles=True`" in issue.hint
    assert "`max_traversals=`" in issue.hint


def test_a_trapped_loop_builds_when_allowed_and_the_report_shows_it() -> None:
    ping, pong = Bump("ping"), Bump("pong")
    workflow = (
        WorkflowBuilder(ping, allow_trapped_cycles=True)
        .add_edge(ping, pong)
        .add_edge(pong, ping)
        .build()
    )

    report = analyze(workflow)

    (cycle,) = report.cycles
    assert cycle.kind is CycleKind.TRAPPED
    assert cycle.exits == ()
    assert report.trapped == (cycle,)
    assert report.superstep_bound is None


def test_a_loop_bounded_on_only_one_of_its_two_ways_around_is_not_bounded() -> None:
    a, b, c = Bump("a"), Bump("b"), Bump("c")
    workflow = (
        WorkflowBuilder(a)
        .add_edge(a, b)
        .add_edge(b, a, max_traversals=2)
        .add_edge(a, c)
        .add_edge(c, a, is_small)
        .add_edge(c, Out("done"), is_big)
        .build()
    )

    report = analyze(workflow)

    (cycle,) = report.cycles
    assert cycle.executor_ids == ("a", "b", "c")
    assert cycle.kind is CycleKind.EXIT_POSSIBLE
    assert cycle.bounds == (Bound(2, "b", "a"),)  # declared, but not on every way around
    assert cycle.loop == ("a", "c", "a")  # the way around that passes no bound
    assert report.superstep_bound is None


def test_a_loop_bounded_on_both_ways_around_is_bounded() -> None:
    a, b, c = Bump("a"), Bump("b"), Bump("c")
    workflow = (
        WorkflowBuilder(a)
        .add_edge(a, b)
        .add_edge(b, a, max_traversals=2)
        .add_edge(a, c)
        .add_edge(c, a, max_traversals=1)
        .add_edge(c, Out("done"))
        .build()
    )

    (cycle,) = analyze(workflow).cycles

    assert cycle.kind is CycleKind.BOUNDED
    assert cycle.supersteps == (2 + 1 + 1) * 2


def test_an_unbounded_switch_default_back_into_the_loop_leaves_it_unbounded() -> None:
    loop = Bump("loop")
    builder = WorkflowBuilder(loop).add_switch_case_edge_group(
        loop, [Case(is_big, Out("done")), Case(is_small, loop, max_traversals=3), Default(loop)]
    )
    with pytest.warns(BatonWarning, match=r"\[self_loop\] `loop` has an edge to itself"):
        workflow = builder.build()

    (cycle,) = analyze(workflow).cycles

    assert cycle.kind is CycleKind.EXIT_POSSIBLE
    assert cycle.loop == ("loop", "loop")
    assert cycle.exits == (Exit("loop", "switch_case", "done"),)


def test_cycles_are_listed_in_executor_order_and_their_turn_limits_merged() -> None:
    a, b, c, d = Bump("a"), Bump("b"), Limited("c"), Bump("d")
    workflow = (
        WorkflowBuilder(a)
        .add_edge(a, b)
        .add_edge(b, a, is_small)
        .add_edge(b, c, is_big)
        .add_edge(c, d)
        .add_edge(d, c)
        .add_edge(d, Out("done"))
        .build()
    )

    report = analyze(workflow)

    assert [(c.executor_ids, c.kind) for c in report.cycles] == [
        (("a", "b"), CycleKind.EXIT_POSSIBLE),
        (("c", "d"), CycleKind.BOUNDED),
    ]
    assert report.turn_limits == {"a": None, "b": None, "c": 3, "d": None}
    assert not report.is_bounded


# --- superstep bound ---


async def test_a_chain_takes_one_superstep_per_executor() -> None:
    a, b, c, d = Bump("a"), Bump("b"), Bump("c"), Out("d")
    workflow = WorkflowBuilder(a).add_chain([a, b, c, d]).build()

    report = analyze(workflow)
    result = await workflow.run(0)

    assert report.cycles == ()
    assert report.superstep_bound == 4
    assert result.supersteps == 4


async def test_a_bounded_loop_is_bounded_by_its_laps_and_the_run_stays_within() -> None:
    workflow = bounded_ping_pong(3)

    report = analyze(workflow)
    result = await workflow.run(0)

    assert report.superstep_bound == 9  # 8 in the loop, then `seen`
    assert result.supersteps == 9
    assert result.outputs == (2, 4, 6, 8)


async def test_a_bounded_self_loop_takes_one_superstep_per_lap() -> None:
    loop = Bump("loop")
    workflow = (
        WorkflowBuilder(loop).add_edge(loop, loop, max_traversals=4).add_edge(loop, Out("seen"))
    ).build()

    report = analyze(workflow)
    result = await workflow.run(0)

    assert report.cycles[0].supersteps == 5
    assert report.superstep_bound == 6
    assert result.supersteps <= 6


async def test_the_bound_follows_the_heaviest_path_through_loops_and_tails() -> None:
    start, ping, pong = Bump("start"), Bump("ping"), Bump("pong")
    c, d = Bump("c"), Out("d")
    workflow = (
        WorkflowBuilder(start)
        .add_edge(start, ping)
        .add_edge(start, d)
        .add_edge(ping, pong)
        .add_edge(pong, ping, max_traversals=2)
        .add_edge(pong, c)
        .add_edge(c, d)
        .build()
    )

    report = analyze(workflow)
    result = await workflow.run(0)

    assert report.cycles[0].supersteps == (2 + 1) * 2
    assert report.superstep_bound == 1 + 6 + 1 + 1
    assert result.supersteps <= report.superstep_bound
    assert result.supersteps == 9


async def test_a_loop_that_asks_for_input_gets_one_more_stretch_per_answer() -> None:
    ask, bump = Ask("ask"), Bump("bump")
    workflow = (
        WorkflowBuilder(ask)
        .add_edge(ask, bump)
        .add_edge(bump, ask, max_traversals=2)
        .add_edge(bump, Out("seen"))
        .build()
    )

    report = analyze(workflow)

    (cycle,) = report.cycles
    assert cycle.kind is CycleKind.BOUNDED
    assert cycle.supersteps == (2 + 1 + 1) * 2  # the bound, the answer's stretch, the last one
    assert report.superstep_bound == cycle.supersteps + 1
    result = await workflow.run(0)
    while result.requests:  # every input (the start, each answer) stays within the bound
        assert result.run is not None
        before = result.supersteps
        (request,) = result.requests
        result = await result.run.respond({request.request_id: 10})
        assert result.supersteps - before <= report.superstep_bound


def test_an_unbounded_loop_leaves_no_superstep_bound() -> None:
    assert analyze(exit_possible_ping_pong()).superstep_bound is None


def test_the_report_keeps_the_superstep_budget_for_comparison() -> None:
    report = analyze(exit_possible_ping_pong())

    assert report.max_supersteps == 50
    assert report.workflow_name == "ping_pong"
    assert report.start_executor_id == "ping"
    assert report.executor_ids == ("ping", "pong", "done")
    assert report.unreachable == ()


# --- longest acyclic path and dead ends ---


def test_longest_acyclic_path_of_a_dag_takes_the_longer_branch() -> None:
    s, a, b, c, d, e = Bump("s"), Bump("a"), Bump("b"), Bump("c"), Bump("d"), Out("e")
    workflow = (
        WorkflowBuilder(s)
        .add_fan_out_edges(s, [c, a])
        .add_edge(a, b)
        .add_edge(b, d)
        .add_edge(c, d)
        .add_edge(d, e)
        .build()
    )

    assert analyze(workflow).longest_acyclic_path == ("s", "a", "b", "d", "e")


def test_longest_acyclic_path_of_a_cyclic_graph_never_returns_to_an_executor() -> None:
    report = analyze(exit_possible_ping_pong())

    assert report.longest_acyclic_path == ("ping", "pong", "done")


def test_longest_acyclic_path_leaves_out_the_edge_that_closes_each_loop() -> None:
    a, b, c, d = Bump("a"), Bump("b"), Bump("c"), Out("d")
    workflow = (
        WorkflowBuilder(a)
        .add_edge(a, b)
        .add_edge(b, c)
        .add_edge(c, a, is_small)
        .add_edge(c, b, max_traversals=2)
        .add_edge(c, d, is_big)
        .build()
    )

    path = analyze(workflow).longest_acyclic_path

    assert path == ("a", "b", "c", "d")
    assert len(set(path)) == len(path)


def test_dead_ends_are_executors_with_no_edge_out() -> None:
    start, quiet = Bump("start"), Bump("quiet")
    workflow = WorkflowBuilder(start).add_fan_out_edges(start, [Out("out"), quiet]).build()

    report = analyze(workflow)

    assert report.dead_ends == (
        DeadEnd("out", ("int",), ()),
        DeadEnd("quiet", (), ("int",)),
    )
    assert [str(d) for d in report.dead_ends] == [
        "`out` (yields int)",
        "`quiet` (declares it sends int, which no edge takes)",
    ]
    assert (
        "Dead ends: `out` (yields int), `quiet` (declares it sends int, which no edge takes)."
        in str(report).splitlines()
    )


# --- switch coverage ---


def test_switch_coverage_lists_each_switch_in_declaration_order() -> None:
    start, router = Bump("start"), Bump("router")
    workflow = (
        WorkflowBuilder(start)
        .add_switch_case_edge_group(start, [Case(is_small, router), Default(Out("late"))])
        .add_switch_case_edge_group(router, [Case(int, Out("ints"))])
        .build()
    )

    first, second = analyze(workflow).switches

    assert (first.source, first.group_index, first.has_default, first.exhaustive) == (
        "start",
        0,
        True,
        False,
    )
    assert (second.source, second.group_index, second.has_default, second.exhaustive) == (
        "router",
        1,
        False,
        True,
    )
    assert first.unreachable == second.unreachable == ()
    assert first.uncovered == second.uncovered == ()


def test_switch_coverage_reports_unreachable_branches_with_the_reason() -> None:
    start = Bump("start")
    with pytest.warns(BatonWarning, match=r"\[unreachable_case\]"):
        workflow = (
            WorkflowBuilder(start)
            .add_switch_case_edge_group(start, [Case(int, Out("ints")), Default(Out("rest"))])
            .build()
        )

    (coverage,) = analyze(workflow).switches

    assert [branch for branch, _ in coverage.unreachable] == ["default"]
    assert coverage.exhaustive


# --- orchestrations ---


def test_an_autonomous_handoff_with_turn_limits_is_one_bounded_cycle() -> None:
    triage, billing, tech = agent("triage"), agent("billing"), agent("tech")
    workflow = (
        HandoffBuilder([triage, billing, tech])
        .with_autonomous_mode(turn_limits={"triage": 2, "billing": 3, "tech": 4})
        .build()
    )

    report = analyze(workflow)

    (cycle,) = report.cycles
    assert cycle.kind is CycleKind.BOUNDED
    assert cycle.executor_ids == ("triage", "billing", "tech")
    assert cycle.turn_limits == {"triage": 2, "billing": 3, "tech": 4}
    assert cycle.bounds == (Bound(2, "triage"), Bound(3, "billing"), Bound(4, "tech"))
    # every agent is bounded, so stretches are one executor long: the turns, one more because an
    # answer to an agent's question starts a chain inside the loop, one more to end; then `output`
    assert cycle.supersteps == (2 + 3 + 4) + 1 + 1
    assert report.superstep_bound == cycle.supersteps + 1
    assert "     turn limits: `triage` 2, `billing` 3, `tech` 4" in str(report).splitlines()


async def test_an_autonomous_handoff_run_stays_within_its_bound() -> None:
    triage = agent("triage", [[ToolCall("handoff_to_billing")]] * 5)
    billing = agent("billing", [[ToolCall("handoff_to_triage")]] * 5)
    workflow = (
        HandoffBuilder([triage, billing])
        .with_autonomous_mode(turn_limits={"triage": 2, "billing": 3})
        .build()
    )

    report = analyze(workflow)
    result = await workflow.run("hello")

    assert report.superstep_bound == (2 + 3 + 1 + 1) + 1
    assert result.supersteps <= 8


def test_an_interactive_handoff_with_turn_limits_on_every_agent_is_bounded() -> None:
    triage, billing = agent("triage"), agent("billing")
    workflow = HandoffBuilder([triage, billing]).with_turn_limits({"triage": 4}, default=2).build()

    (cycle,) = analyze(workflow).cycles

    assert cycle.kind is CycleKind.BOUNDED
    assert cycle.turn_limits == {"triage": 4, "billing": 2}


def test_an_interactive_handoff_without_turn_limits_is_exit_possible() -> None:
    triage, billing = agent("triage"), agent("billing")
    workflow = HandoffBuilder([triage, billing]).build()

    report = analyze(workflow)

    (cycle,) = report.cycles
    assert cycle.kind is CycleKind.EXIT_POSSIBLE
    assert cycle.turn_limits == {"triage": None, "billing": None}
    assert cycle.loop == ("triage", "billing", "triage")
    assert Exit("triage", "request") in cycle.exits
    assert Exit("billing", "direct", "output") in cycle.exits
    assert report.superstep_bound is None


def test_a_handoff_through_an_executor_participant_is_bounded_by_the_agents_limits() -> None:
    triage, billing = agent("triage"), agent("billing")
    workflow = (
        HandoffBuilder([triage, billing, OrderLookup("lookup")])
        .add_handoff(triage, [billing, "lookup"])
        .add_handoff(billing, [triage])
        .with_autonomous_mode(turn_limits={"triage": 2, "billing": 3})
        .build()
    )

    report = analyze(workflow)

    (cycle,) = report.cycles
    assert cycle.kind is CycleKind.BOUNDED
    assert set(cycle.executor_ids) == {
        "triage",
        "billing",
        "lookup_call",
        "lookup",
        "lookup_return",
    }
    assert cycle.bounds == (Bound(2, "triage"), Bound(3, "billing"))
    assert cycle.turn_limits["lookup"] is None
    assert report.is_bounded
    assert report.superstep_bound is not None


def test_a_group_chat_is_bounded_by_the_managers_round_limit() -> None:
    workflow = GroupChatBuilder([agent("a"), agent("b")]).with_max_rounds(4).build()

    report = analyze(workflow)

    (cycle,) = report.cycles
    assert cycle.kind is CycleKind.BOUNDED
    assert cycle.executor_ids == ("manager", "a", "b")
    assert cycle.bounds == (Bound(4, "manager"),)
    assert report.turn_limits == {"manager": 4, "a": None, "b": None}
    assert report.superstep_bound == (4 + 1) * 2


async def test_a_group_chat_run_stays_within_its_bound() -> None:
    a = agent("a", ["a1", "a2", "a3"])
    b = agent("b", ["b1", "b2", "b3"])
    workflow = GroupChatBuilder([a, b]).with_max_rounds(4).build()

    result = await workflow.run("tea")

    bound = analyze(workflow).superstep_bound
    assert bound is not None
    assert result.supersteps <= bound
    assert result.supersteps == 9  # four rounds of manager and speaker, then the manager ends it


# --- the text ---


def test_the_report_of_an_exit_possible_loop_reads_as_written() -> None:
    assert str(analyze(exit_possible_ping_pong())).splitlines() == [
        "Workflow `ping_pong`: 3 executors, start `ping`.",
        "Reachable: every executor.",
        "Dead ends: `done` (yields int).",
        "Cycles (1, 1 not bounded):",
        "  1. exit-possible: `ping`, `pong`",
        "     turn limits: `ping` none, `pong` none",
        "     unbounded loop: `ping` -> `pong` -> `ping` passes no turn limit or loop bound",
        "     exits: from `pong` (to `done` (conditional))",
        "Longest acyclic path (3): `ping` -> `pong` -> `done`.",
        "Not bounded: cycle 1 is not bounded, so only the superstep budget ends a run that keeps "
        "going around (budget 50). Bound it with `max_traversals=` on an edge of each loop, or "
        "with turn limits.",
    ]


def test_the_report_of_a_bounded_loop_reads_as_written() -> None:
    assert str(analyze(bounded_ping_pong(3))).splitlines() == [
        "Workflow `bounded`: 3 executors, start `ping`.",
        "Reachable: every executor.",
        "Dead ends: `seen` (yields int).",
        "Cycles (1, all bounded):",
        "  1. bounded: `ping`, `pong`",
        "     turn limits: `ping` none, `pong` none",
        "     loop bounds: max_traversals=3 on `pong` -> `ping`",
        "     a chain of messages spends at most 8 supersteps in it",
        "     exits: from `pong` (to `seen`)",
        "Longest acyclic path (3): `ping` -> `pong` -> `seen`.",
        "Bounded: one input takes at most 9 supersteps (budget 50).",
    ]


def test_the_report_of_a_single_executor_counts_one_superstep() -> None:
    workflow = WorkflowBuilder(Out("only"), name="single").build()

    assert str(analyze(workflow)).splitlines() == [
        "Workflow `single`: 1 executor, start `only`.",
        "Reachable: every executor.",
        "Dead ends: `only` (yields int).",
        "Cycles: none.",
        "Longest acyclic path (1): `only`.",
        "Bounded: one input takes at most 1 superstep (budget 1000).",
    ]


def test_the_report_of_a_trapped_loop_says_nothing_can_leave() -> None:
    ping = Bump("ping")
    workflow = WorkflowBuilder(ping, allow_trapped_cycles=True).add_edge(ping, ping)
    with pytest.warns(BatonWarning, match=r"\[self_loop\]"):
        built = workflow.build()

    lines = str(analyze(built)).splitlines()

    assert "Workflow `workflow`: 1 executor, start `ping`." in lines
    assert "  1. trapped: `ping`" in lines
    assert "     unbounded loop: `ping` -> `ping` passes no turn limit or loop bound" in lines
    assert "     exits: none; nothing can leave it" in lines


def test_the_report_groups_exits_by_executor_and_numbers_every_unbounded_cycle() -> None:
    a, b, c, d = Report("a"), Bump("b"), Bump("c"), Bump("d")
    workflow = (
        WorkflowBuilder(a)
        .add_edge(a, b)
        .add_edge(b, a, is_small)
        .add_edge(b, c, is_big)
        .add_edge(c, d)
        .add_edge(d, c, is_small)
        .add_edge(d, Out("done"), is_big)
        .build()
    )

    lines = str(analyze(workflow)).splitlines()

    assert "Cycles (2, 2 not bounded):" in lines
    assert "     exits: from `a` (yields outputs); from `b` (to `c` (conditional))" in lines
    assert lines[-1].startswith("Not bounded: cycles 1, 2 are not bounded, so only")
