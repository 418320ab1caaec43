from __future__ import annotations

from typing import Any

import pytest

from engine import (
    BatonError,
    BatonWarning,
    Case,
    Default,
    Executor,
    FunctionExecutor,
    ValidationIssue,
    Workflow,
    WorkflowBuilder,
    WorkflowContext,
    WorkflowExecutor,
    WorkflowValidationError,
    handler,
)


class Animal:
    pass


class Dog(Animal):
    pass


class IntRelay(Executor):
    @handler
    async def relay(self, message: int, ctx: WorkflowContext[int]) -> None:
        await ctx.send_message(message)


class IntToStr(Executor):
    @handler
    async def convert(self, message: int, ctx: WorkflowContext[str]) -> None:
        await ctx.send_message(str(message))


class IntOrStrSource(Executor):
    @handler
    async def either(self, message: int, ctx: WorkflowContext[int | str]) -> None:
        await ctx.send_message(message if message else "zero")


class DogSource(Executor):
    @handler
    async def fetch(self, message: int, ctx: WorkflowContext[Dog]) -> None:
        await ctx.send_message(Dog())


class AnimalSource(Executor):
    @handler
    async def fetch(self, message: int, ctx: WorkflowContext[Animal]) -> None:
        await ctx.send_message(Animal())


class UndeclaredSender(Executor):
    @handler
    async def send(self, message: int, ctx: WorkflowContext) -> None:
        await ctx.send_message(message)


class SendsNothing(Executor):
    @handler
    async def swallow(self, message: int, ctx: WorkflowContext[None]) -> None:
        ctx.set_state(message)


class IntSink(Executor):
    @handler
    async def collect(self, message: int, ctx: WorkflowContext[None, int]) -> None:
        await ctx.yield_output(message)


class StrSink(Executor):
    @handler
    async def collect(self, message: str, ctx: WorkflowContext[None, str]) -> None:
        await ctx.yield_output(message)


class AnimalSink(Executor):
    @handler
    async def collect(self, message: Animal, ctx: WorkflowContext[None, Animal]) -> None:
        await ctx.yield_output(message)


class DogSink(Executor):
    @handler
    async def collect(self, message: Dog, ctx: WorkflowContext[None, Dog]) -> None:
        await ctx.yield_output(message)


class AnySink(Executor):
    @handler
    async def collect(self, message: Any, ctx: WorkflowContext[None, Any]) -> None:
        await ctx.yield_output(message)


class ObjectSink(Executor):
    @handler
    async def collect(self, message: object, ctx: WorkflowContext[None, object]) -> None:
        await ctx.yield_output(message)


class IntListSink(Executor):
    @handler
    async def collect(self, message: list[int], ctx: WorkflowContext[None, int]) -> None:
        await ctx.yield_output(sum(message))


class BareListSink(Executor):
    @handler
    async def collect(self, message: list, ctx: WorkflowContext[None, int]) -> None:  # type: ignore[type-arg]
        await ctx.yield_output(len(message))


class AnyListSink(Executor):
    @handler
    async def collect(self, message: list[Any], ctx: WorkflowContext[None, int]) -> None:
        await ctx.yield_output(len(message))


class AnimalListSink(Executor):
    @handler
    async def collect(self, message: list[Animal], ctx: WorkflowContext[None, int]) -> None:
        await ctx.yield_output(len(message))


class StrListSink(Executor):
    @handler
    async def collect(self, message: list[str], ctx: WorkflowContext[None, str]) -> None:
        await ctx.yield_output("".join(message))


def is_small(number: int) -> bool:
    return number < 10


def is_even(number: int) -> bool:
    return number % 2 == 0


def to_text(number: int) -> str:
    return str(number)


def build_issues(builder: WorkflowBuilder) -> tuple[ValidationIssue, ...]:
    with pytest.raises(WorkflowValidationError) as info:
        builder.build()
    return info.value.issues


def only_issue(builder: WorkflowBuilder) -> ValidationIssue:
    issues = build_issues(builder)
    assert len(issues) == 1, [str(issue) for issue in issues]
    return issues[0]


# --- the error itself ---


def test_validation_error_is_a_baton_error_listing_every_issue_numbered() -> None:
    a = IntToStr("a")
    builder = WorkflowBuilder().add_edge(a, IntSink("b")).add_edge(a, "ghost")

    with pytest.raises(WorkflowValidationError) as info:
        builder.build()

    error = info.value
    assert isinstance(error, BatonError)
    assert all(isinstance(issue, ValidationIssue) for issue in error.issues)
    lines = str(error).splitlines()
    assert lines[0] == f"workflow is invalid ({len(error.issues)} problem(s)):"
    assert len(error.issues) == 3
    assert lines[1:] == [f"  {n}. {issue}" for n, issue in enumerate(error.issues, 1)]


def test_validation_issue_renders_check_message_and_fix() -> None:
    issue = ValidationIssue("some_check", "`a` is wrong.", "fix `a`.", ("a",))

    assert str(issue) == "[some_check] `a` is wrong. Fix: fix `a`."


# --- start executor ---


def test_build_without_start_executor_reports_missing_start() -> None:
    builder = WorkflowBuilder().add_edge(IntRelay("a"), IntSink("b"))

    issue = only_issue(builder)

    assert issue.check == "missing_start"
    assert issue.message == "the workflow has no start executor."
    assert "`start_executor=`" in issue.hint
    assert "`set_start_executor()`" in issue.hint


def test_set_start_executor_makes_the_workflow_buildable() -> None:
    a = IntRelay("a")
    builder = WorkflowBuilder().add_edge(a, IntSink("b"))

    workflow = builder.set_start_executor(a).build()

    assert workflow.start_executor_id == "a"


def test_start_executor_may_be_named_by_id() -> None:
    workflow = WorkflowBuilder("a").add_edge(IntRelay("a"), IntSink("b")).build()

    assert workflow.start_executor_id == "a"
    assert list(workflow.executors) == ["a", "b"]


def test_start_executor_named_by_an_unknown_id_is_reported() -> None:
    builder = WorkflowBuilder("ghost").add_executor(IntSink("a"))

    issue = only_issue(builder)

    assert issue.check == "unknown_executor"
    assert "`ghost`" in issue.message


# --- executor ids ---


def test_two_executors_with_the_same_id_are_reported() -> None:
    builder = (
        WorkflowBuilder(IntRelay("a")).add_edge("a", IntRelay("b")).add_edge("b", IntSink("a"))
    )

    issue = only_issue(builder)

    assert issue.check == "duplicate_id"
    assert issue.executor_ids == ("a",)
    assert "two different executors use the id `a`" in issue.message
    assert "IntRelay(id='a')" in issue.message
    assert "IntSink(id='a')" in issue.message
    assert "ids must be unique" in issue.message
    assert issue.hint == "give each executor its own id."


def test_reusing_one_executor_instance_is_not_a_duplicate() -> None:
    a, b, c = IntRelay("a"), IntRelay("b"), IntSink("c")

    workflow = WorkflowBuilder(a).add_edge(a, b).add_edge(b, c).add_executor(a).build()

    assert list(workflow.executors) == ["a", "b", "c"]
    assert workflow.executors["a"] is a


def test_duplicate_id_is_reported_once_however_often_the_impostor_is_used() -> None:
    a, b, impostor = IntRelay("a"), IntRelay("b"), IntSink("a")
    builder = WorkflowBuilder(a).add_edge(a, b).add_edge(b, impostor).add_executor(impostor)

    issues = build_issues(builder)

    assert [(issue.check, issue.executor_ids) for issue in issues] == [("duplicate_id", ("a",))]


def test_edge_to_an_unknown_id_is_reported() -> None:
    a = IntRelay("a")
    builder = WorkflowBuilder(a).add_edge(a, IntSink("b")).add_edge(a, "ghost")

    issue = only_issue(builder)

    assert issue.check == "unknown_executor"
    assert issue.executor_ids == ("ghost",)
    assert issue.message == (
        "`ghost` is used as an executor id, but no executor with that id was added."
    )
    assert "`add_executor()`" in issue.hint


def test_unknown_id_used_twice_is_reported_once() -> None:
    a = IntRelay("a")
    builder = (
        WorkflowBuilder(a).add_edge(a, IntSink("b")).add_edge(a, "ghost").add_edge("ghost", "b")
    )

    issue = only_issue(builder)

    assert issue.check == "unknown_executor"
    assert issue.executor_ids == ("ghost",)


def test_id_may_name_an_executor_added_later() -> None:
    workflow = WorkflowBuilder(IntRelay("a")).add_edge("a", "b").add_executor(IntSink("b")).build()

    assert list(workflow.executors) == ["a", "b"]


# --- duplicate edges ---


def test_same_edge_declared_twice_is_reported() -> None:
    a, b = IntRelay("a"), IntSink("b")
    builder = WorkflowBuilder(a).add_edge(a, b).add_edge(a, b)

    issue = only_issue(builder)

    assert issue.check == "duplicate_edge"
    assert issue.executor_ids == ("a", "b")
    assert "the edge `a` -> `b` is declared more than once" in issue.message
    assert "`b` would receive every message twice" in issue.message
    assert "declare each connection once" in issue.hint


def test_edge_repeated_by_a_fan_out_is_reported() -> None:
    a, b, c = IntRelay("a"), IntSink("b"), IntSink("c")
    builder = WorkflowBuilder(a).add_edge(a, b).add_fan_out_edges(a, [b, c])

    issue = only_issue(builder)

    assert issue.check == "duplicate_edge"
    assert issue.executor_ids == ("a", "b")


def test_edge_repeated_by_a_chain_is_reported() -> None:
    a, b, c = IntRelay("a"), IntRelay("b"), IntSink("c")
    builder = WorkflowBuilder(a).add_chain([a, b, c]).add_edge(b, c)

    issue = only_issue(builder)

    assert issue.check == "duplicate_edge"
    assert issue.executor_ids == ("b", "c")


def test_fan_out_listing_a_target_twice_is_reported() -> None:
    a, b = IntRelay("a"), IntSink("b")
    builder = WorkflowBuilder(a).add_fan_out_edges(a, [b, b])

    issue = only_issue(builder)

    assert issue.check == "duplicate_edge"
    assert issue.executor_ids == ("a", "b")


def test_switch_case_with_two_cases_to_the_same_target_is_not_a_duplicate() -> None:
    a, b, c = IntRelay("a"), IntSink("b"), IntSink("c")

    workflow = (
        WorkflowBuilder(a)
        .add_switch_case_edge_group(a, [Case(is_small, b), Case(is_even, b), Default(c)])
        .build()
    )

    assert len(workflow.edge_groups) == 1
    assert workflow.edge_groups[0].targets == ("b", "c")


def test_switch_case_default_sharing_a_case_target_is_not_a_duplicate() -> None:
    a, b, c = IntRelay("a"), IntSink("b"), IntSink("c")

    workflow = (
        WorkflowBuilder(a)
        .add_switch_case_edge_group(a, [Case(is_small, b), Case(is_even, c), Default(b)])
        .build()
    )

    assert len(workflow.edge_groups) == 1
    assert workflow.edge_groups[0].targets == ("b", "c")


def test_switch_case_repeating_a_plain_edge_is_reported() -> None:
    a, b, c = IntRelay("a"), IntSink("b"), IntSink("c")
    builder = (
        WorkflowBuilder(a)
        .add_edge(a, b)
        .add_switch_case_edge_group(a, [Case(is_small, b), Default(c)])
    )

    issue = only_issue(builder)

    assert issue.check == "duplicate_edge"
    assert issue.executor_ids == ("a", "b")


# --- reachability ---


def test_executors_without_a_path_from_start_are_reported() -> None:
    a, c = IntRelay("a"), IntRelay("c")
    builder = WorkflowBuilder(a).add_edge(a, IntSink("b")).add_edge(c, IntSink("d"))

    issues = build_issues(builder)

    assert [issue.check for issue in issues] == ["unreachable", "unreachable"]
    assert sorted(issue.executor_ids for issue in issues) == [("c",), ("d",)]
    by_id = {issue.executor_ids[0]: issue for issue in issues}
    assert by_id["c"].message == (
        "`c` cannot be reached from the start executor `a`, so it would never run."
    )
    assert by_id["d"].hint == "add an edge that leads to `d`, or remove it from the workflow."


def test_executor_added_but_never_connected_is_unreachable() -> None:
    a = IntRelay("a")
    builder = WorkflowBuilder(a).add_edge(a, IntSink("b")).add_executor(IntSink("loner"))

    issue = only_issue(builder)

    assert issue.check == "unreachable"
    assert issue.executor_ids == ("loner",)
    assert issue.hint == "add an edge that leads to `loner`, or remove it from the workflow."


def test_executor_only_leading_into_the_graph_is_unreachable() -> None:
    a, feeder = IntRelay("a"), IntRelay("feeder")
    builder = WorkflowBuilder(a).add_edge(a, IntSink("b")).add_edge(feeder, a)

    issue = only_issue(builder)

    assert issue.check == "unreachable"
    assert issue.executor_ids == ("feeder",)


def test_reachability_follows_every_edge_kind() -> None:
    start, left, right = IntRelay("start"), IntRelay("left"), IntRelay("right")
    p1, p2, p3, joined = IntRelay("p1"), IntRelay("p2"), IntRelay("p3"), IntListSink("joined")
    last = IntSink("last")

    workflow = (
        WorkflowBuilder(start)
        .add_switch_case_edge_group(start, [Case(is_small, left), Default(right)])
        .add_fan_out_edges(left, [p1, p2])
        .add_edge(right, p3, is_even)
        .add_fan_in_edges([p1, p2], joined)
        .add_chain([p3, last])
        .build()
    )

    assert set(workflow.executors) == {"start", "left", "right", "p1", "p2", "p3", "joined", "last"}


# --- edge types ---


def test_edge_between_incompatible_types_is_reported() -> None:
    a = IntToStr("a")
    builder = WorkflowBuilder(a).add_edge(a, IntSink("b"))

    issue = only_issue(builder)

    assert issue.check == "type_mismatch"
    assert issue.executor_ids == ("a", "b")
    assert issue.message == (
        "`a` sends `str`, but `b` accepts `int`; no message could cross this edge."
    )
    assert issue.hint == "add a handler for `str` to `b`, or change what `a` sends."


def test_subclass_sent_to_a_base_handler_passes() -> None:
    a = DogSource("a")

    workflow = WorkflowBuilder(a).add_edge(a, AnimalSink("b")).build()

    assert list(workflow.executors) == ["a", "b"]


def test_base_sent_to_a_subclass_handler_is_reported() -> None:
    a = AnimalSource("a")
    builder = WorkflowBuilder(a).add_edge(a, DogSink("b"))

    issue = only_issue(builder)

    assert issue.check == "type_mismatch"
    assert "`a` sends `Animal`, but `b` accepts `Dog`" in issue.message


def test_union_sender_passes_when_one_member_is_accepted() -> None:
    a = IntOrStrSource("a")

    workflow = WorkflowBuilder(a).add_edge(a, StrSink("b")).build()

    assert list(workflow.executors) == ["a", "b"]


def test_union_sender_is_reported_when_no_member_is_accepted() -> None:
    a = IntOrStrSource("a")
    builder = WorkflowBuilder(a).add_edge(a, DogSink("b"))

    issue = only_issue(builder)

    assert issue.check == "type_mismatch"
    assert "`a` sends `int | str`, but `b` accepts `Dog`" in issue.message


@pytest.mark.parametrize("sink_class", [AnySink, ObjectSink])
def test_any_and_object_handlers_accept_every_sender(sink_class: type[Executor]) -> None:
    start = IntRelay("start")
    senders = [IntToStr("text"), DogSource("dog"), IntOrStrSource("either"), IntRelay("number")]
    builder = WorkflowBuilder(start).add_fan_out_edges(start, senders)
    for sender in senders:
        builder.add_edge(sender, sink_class(f"{sender.id}_sink"))

    workflow = builder.build()

    assert len(workflow.executors) == 1 + 2 * len(senders)


def test_undeclared_sender_is_not_checked() -> None:
    a = UndeclaredSender("a")

    workflow = WorkflowBuilder(a).add_edge(a, DogSink("b")).build()

    assert list(workflow.executors) == ["a", "b"]


def test_function_executor_return_annotation_is_checked() -> None:
    a = IntRelay("a")
    text = FunctionExecutor(to_text, id="text")
    builder = WorkflowBuilder(a).add_edge(a, text).add_edge(text, IntSink("b"))

    issue = only_issue(builder)

    assert issue.check == "type_mismatch"
    assert issue.executor_ids == ("text", "b")
    assert "`text` sends `str`, but `b` accepts `int`" in issue.message


def test_type_check_covers_conditional_fan_out_and_switch_case_edges() -> None:
    a = IntToStr("a")
    builder = (
        WorkflowBuilder(a)
        .add_fan_out_edges(a, [StrSink("ok1"), IntSink("bad1")])
        .add_edge(a, IntSink("bad2"), is_small)
        .add_switch_case_edge_group(a, [Case(is_small, IntSink("bad3")), Default(StrSink("ok2"))])
    )

    issues = build_issues(builder)

    assert sorted((issue.check, issue.executor_ids) for issue in issues) == [
        ("type_mismatch", ("a", "bad1")),
        ("type_mismatch", ("a", "bad2")),
        ("type_mismatch", ("a", "bad3")),
    ]


def test_sender_of_nothing_with_an_outgoing_edge_is_reported() -> None:
    a = SendsNothing("a")
    builder = WorkflowBuilder(a).add_edge(a, IntSink("b"))

    issue = only_issue(builder)

    assert issue.check == "type_mismatch"
    assert issue.executor_ids == ("a", "b")
    assert issue.message == "`a` declares that it sends nothing, but it has an edge to `b`."
    assert "`WorkflowContext[T]`" in issue.hint
    assert "remove the edge" in issue.hint


def test_sub_workflow_is_checked_by_what_its_inner_workflow_accepts_and_yields() -> None:
    inner_start = IntRelay("x")
    inner = WorkflowBuilder(inner_start).add_edge(inner_start, IntSink("y")).build()
    a = IntToStr("a")
    sub = WorkflowExecutor(inner, id="sub")
    builder = WorkflowBuilder(a).add_edge(a, sub).add_edge(sub, StrSink("out"))

    issues = build_issues(builder)

    assert sorted((issue.check, issue.executor_ids) for issue in issues) == [
        ("type_mismatch", ("a", "sub")),
        ("type_mismatch", ("sub", "out")),
    ]
    messages = sorted(issue.message for issue in issues)
    assert messages[0].startswith("`a` sends `str`, but `sub` accepts `int`")
    assert messages[1].startswith("`sub` sends `int`, but `out` accepts `str`")


def test_sub_workflow_with_matching_types_builds() -> None:
    inner_start = IntRelay("x")
    inner = WorkflowBuilder(inner_start).add_edge(inner_start, IntSink("y")).build()
    a = IntRelay("a")
    sub = WorkflowExecutor(inner, id="sub")

    workflow = WorkflowBuilder(a).add_edge(a, sub).add_edge(sub, IntSink("out")).build()

    assert isinstance(workflow, Workflow)
    assert list(workflow.executors) == ["a", "sub", "out"]


# --- fan-in types ---


def test_fan_in_target_that_cannot_accept_a_list_is_reported() -> None:
    a, b, c = IntRelay("a"), IntRelay("b"), IntRelay("c")
    builder = WorkflowBuilder(a).add_fan_out_edges(a, [b, c]).add_fan_in_edges([b, c], IntSink("d"))

    issues = build_issues(builder)

    assert [issue.check for issue in issues] == [
        "fan_in_type"
    ]  # one issue per fan-in, not per source
    assert issues[0].executor_ids == ("b", "c", "d")
    assert issues[0].message == ("the fan-in into `d` delivers `list[int]`, but `d` accepts `int`.")
    assert issues[0].hint == (
        "give `d` a handler for `list[int]` (a fan-in target receives one list)."
    )


def test_fan_in_target_with_the_wrong_element_type_is_reported() -> None:
    a, b, c = IntRelay("a"), IntRelay("b"), IntRelay("c")
    builder = (
        WorkflowBuilder(a).add_fan_out_edges(a, [b, c]).add_fan_in_edges([b, c], StrListSink("d"))
    )

    issues = build_issues(builder)

    assert {issue.check for issue in issues} == {"fan_in_type"}
    assert "delivers `list[int]`, but `d` accepts `list[str]`" in issues[0].message


@pytest.mark.parametrize("sink_class", [IntListSink, BareListSink, AnyListSink, ObjectSink])
def test_fan_in_target_accepting_a_list_passes(sink_class: type[Executor]) -> None:
    a, b, c = IntRelay("a"), IntRelay("b"), IntRelay("c")

    workflow = (
        WorkflowBuilder(a).add_fan_out_edges(a, [b, c]).add_fan_in_edges([b, c], sink_class("d"))
    )

    assert set(workflow.build().executors) == {"a", "b", "c", "d"}


def test_fan_in_of_subclasses_passes_for_a_list_of_the_base() -> None:
    a, b, c = IntRelay("a"), DogSource("b"), AnimalSource("c")

    workflow = (
        WorkflowBuilder(a)
        .add_fan_out_edges(a, [b, c])
        .add_fan_in_edges([b, c], AnimalListSink("d"))
        .build()
    )

    assert set(workflow.executors) == {"a", "b", "c", "d"}


# --- group shapes ---


def test_switch_case_without_default_is_reported() -> None:
    a = IntRelay("a")
    builder = WorkflowBuilder(a).add_switch_case_edge_group(a, [Case(is_small, IntSink("b"))])

    issue = only_issue(builder)

    assert issue.check == "switch_default"
    assert issue.executor_ids == ("a",)
    assert issue.message == (
        "the switch-case group from `a` has no `Default`, and a message no case matches would "
        "have nowhere to go."
    )
    assert issue.hint == "end the case list with `Default(target)`."


def test_switch_case_with_two_defaults_is_reported() -> None:
    a, b, c = IntRelay("a"), IntSink("b"), IntSink("c")
    builder = (
        WorkflowBuilder(a)
        .add_edge(a, c, is_even)
        .add_switch_case_edge_group(a, [Case(is_small, b), Default(b), Default(c)])
    )

    issue = only_issue(builder)

    assert issue.check == "switch_default"
    assert "the switch-case group from `a` has 2 `Default` branches" in issue.message


@pytest.mark.parametrize("count", [0, 1])
def test_fan_out_with_fewer_than_two_targets_is_reported(count: int) -> None:
    a = IntRelay("a")
    targets = [IntSink(f"t{n}") for n in range(count)]
    builder = WorkflowBuilder(a).add_edge(a, IntSink("b")).add_fan_out_edges(a, targets)

    issue = only_issue(builder)

    assert issue.check == "fan_out_size"
    assert issue.executor_ids == ("a",)
    assert issue.message == (
        f"the fan-out from `a` has {count} target(s); a fan-out needs at least two."
    )
    assert issue.hint == "use `add_edge()` for a single target, or add more targets."


def test_fan_in_with_one_source_is_reported() -> None:
    a = IntRelay("a")
    builder = WorkflowBuilder(a).add_fan_in_edges([a], IntListSink("d"))

    issue = only_issue(builder)

    assert issue.check == "fan_in_size"
    assert issue.executor_ids == ("d",)
    assert issue.message == ("the fan-in into `d` has 1 source(s); a fan-in needs at least two.")
    assert issue.hint == "use `add_edge()` for a single source, or add more sources."


# --- everything at once ---


def test_build_reports_every_problem_at_once() -> None:
    a = IntToStr("a")
    builder = (
        WorkflowBuilder()  # no start executor
        .add_edge(a, IntSink("b"))  # `a` sends `str`, `b` accepts `int`
        .add_executor(IntSink("b"))  # a second executor with the id `b`
        .add_edge(a, "b")  # the edge `a` -> `b` again
        .add_edge(a, "ghost")  # no executor has that id
        .add_fan_out_edges(a, [StrSink("only")])  # a fan-out with one target
        .add_switch_case_edge_group(a, [Case(is_small, StrSink("c"))])  # no `Default`
        .add_fan_in_edges([a], StrListSink("d"))  # a fan-in with one source
    )

    issues = build_issues(builder)

    assert sorted((issue.check, issue.executor_ids) for issue in issues) == [
        ("duplicate_edge", ("a", "b")),
        ("duplicate_id", ("b",)),
        ("fan_in_size", ("d",)),
        ("fan_out_size", ("a",)),
        ("missing_start", ()),
        ("switch_default", ("a",)),
        ("type_mismatch", ("a", "b")),
        ("unknown_executor", ("ghost",)),
    ]


def test_build_reports_reachability_types_and_shapes_together() -> None:
    a, b, c = IntRelay("a"), IntRelay("b"), IntRelay("c")
    builder = (
        WorkflowBuilder(a)
        .add_edge(a, b)
        .add_edge(a, b)
        .add_fan_in_edges([b], IntListSink("joined"))
        .add_edge(IntRelay("island"), StrSink("shore"))
        .add_switch_case_edge_group(c, [Case(is_small, IntSink("x")), Default(IntSink("y"))])
    )

    issues = build_issues(builder)

    found = sorted((issue.check, issue.executor_ids) for issue in issues)
    assert found == [
        ("duplicate_edge", ("a", "b")),
        ("fan_in_size", ("joined",)),
        ("type_mismatch", ("island", "shore")),
        ("unreachable", ("c",)),
        ("unreachable", ("island",)),
        ("unreachable", ("shore",)),
        ("unreachable", ("x",)),
        ("unreachable", ("y",)),
    ]


# --- warnings ---


def test_self_loop_builds_with_a_warning() -> None:
    a = IntRelay("a")
    builder = WorkflowBuilder(a).add_edge(a, a, is_small).add_edge(a, IntSink("b"))

    with pytest.warns(BatonWarning, match=r"\[self_loop\] `a` has an edge to itself") as record:
        workflow = builder.build()

    assert len(record) == 1
    assert [(w.check, w.executor_ids) for w in workflow.warnings] == [("self_loop", ("a",))]
    assert "`max_traversals=`" in workflow.warnings[0].hint


def test_executor_that_neither_sends_nor_yields_builds_with_a_warning() -> None:
    a = IntRelay("a")
    builder = WorkflowBuilder(a).add_edge(a, SendsNothing("quiet"))

    with pytest.warns(BatonWarning, match=r"\[silent_executor\] `quiet` neither sends") as record:
        workflow = builder.build()

    assert len(record) == 1
    assert [(w.check, w.executor_ids) for w in workflow.warnings] == [
        ("silent_executor", ("quiet",))
    ]
    assert workflow.warnings[0].message == (
        "`quiet` neither sends messages nor yields outputs, so its work is invisible."
    )


def test_every_warning_is_reported_and_kept_on_the_workflow() -> None:
    a = IntRelay("a")
    builder = WorkflowBuilder(a).add_edge(a, a, is_small).add_edge(a, SendsNothing("quiet"))

    with pytest.warns(BatonWarning) as record:
        workflow = builder.build()

    assert sorted(w.check for w in workflow.warnings) == ["self_loop", "silent_executor"]
    assert sorted(str(r.message) for r in record) == sorted(str(w) for w in workflow.warnings)


def test_build_warning_points_at_the_caller_of_build() -> None:
    a = IntRelay("a")
    builder = WorkflowBuilder(a).add_edge(a, SendsNothing("quiet"))

    with pytest.warns(BatonWarning) as record:
        builder.build()

    assert record[0].filename == __file__


def test_valid_workflow_has_no_warnings() -> None:
    a = IntRelay("a")

    workflow = WorkflowBuilder(a).add_edge(a, IntSink("b")).build()

    assert workflow.warnings == ()


def test_yielding_executor_that_sends_nothing_is_not_silent() -> None:
    workflow = WorkflowBuilder(IntSink("only")).build()

    assert workflow.warnings == ()


# --- misused builder arguments ---


def test_non_callable_condition_is_rejected_at_the_call() -> None:
    builder = WorkflowBuilder()

    with pytest.raises(TypeError, match="condition must be callable, got str"):
        builder.add_edge(IntRelay("a"), IntSink("b"), condition="yes")  # type: ignore[arg-type]


def test_non_callable_selection_is_rejected_at_the_call() -> None:
    builder = WorkflowBuilder()

    with pytest.raises(TypeError, match="selection must be callable, got list"):
        builder.add_fan_out_edges(IntRelay("a"), ["b", "c"], selection=["b"])  # type: ignore[arg-type]


@pytest.mark.parametrize(("ref", "type_label"), [(42, "int"), (None, "NoneType"), (3.5, "float")])
def test_reference_that_is_neither_executor_nor_id_is_rejected(
    ref: object, type_label: str
) -> None:
    builder = WorkflowBuilder()

    with pytest.raises(
        TypeError,
        match=rf"expected an Executor or an executor id \(str\), got {type_label}",
    ):
        builder.add_edge(IntRelay("a"), ref)  # type: ignore[arg-type]


def test_plain_function_reference_is_rejected_with_a_hint_to_wrap_it() -> None:
    builder = WorkflowBuilder()

    with pytest.raises(TypeError, match=r"got function; wrap functions with @executor first"):
        builder.add_edge(to_text, IntSink("b"))  # type: ignore[arg-type]


def test_start_executor_of_the_wrong_kind_is_rejected() -> None:
    with pytest.raises(TypeError, match=r"expected an Executor or an executor id \(str\), got int"):
        WorkflowBuilder(7)  # type: ignore[arg-type]


def test_add_executor_rejects_an_id_string() -> None:
    builder = WorkflowBuilder()

    with pytest.raises(TypeError, match="add_executor\\(\\) takes an Executor, got str"):
        builder.add_executor("a")  # type: ignore[arg-type]


@pytest.mark.parametrize("count", [0, 1])
def test_add_chain_needs_at_least_two_executors(count: int) -> None:
    builder = WorkflowBuilder()
    chain = [IntRelay("a")][:count]

    with pytest.raises(
        ValueError, match=rf"add_chain\(\) needs at least two executors, got {count}"
    ):
        builder.add_chain(chain)


@pytest.mark.parametrize(
    ("call", "where", "type_label"),
    [
        (lambda b: b.add_chain("ab"), "add_chain()", "str"),
        (lambda b: b.add_fan_out_edges("a", IntSink("x")), "add_fan_out_edges()", "IntSink"),
        (lambda b: b.add_fan_in_edges(IntSink("x"), "a"), "add_fan_in_edges()", "IntSink"),
        (
            lambda b: b.add_switch_case_edge_group("a", Default("b")),
            "add_switch_case_edge_group()",
            "Default",
        ),
    ],
)
def test_edge_methods_taking_lists_reject_other_values(
    call: Any, where: str, type_label: str
) -> None:
    builder = WorkflowBuilder()

    with pytest.raises(TypeError) as info:
        call(builder)

    assert str(info.value) == f"{where} takes a list, got {type_label}"


@pytest.mark.parametrize("value", [0, -1, True, 1.5, "10"])
def test_bad_max_supersteps_is_rejected(value: object) -> None:
    with pytest.raises(ValueError) as info:
        WorkflowBuilder(max_supersteps=value)  # type: ignore[arg-type]

    assert str(info.value) == f"max_supersteps must be a positive integer, got {value!r}"


def test_switch_case_rejects_items_that_are_not_case_or_default() -> None:
    builder = WorkflowBuilder()
    a, b = IntRelay("a"), IntSink("b")

    with pytest.raises(
        TypeError, match=r"switch-case items are Case\(\.\.\.\) or Default\(\.\.\.\), got IntSink"
    ):
        builder.add_switch_case_edge_group(a, [Case(is_small, b), b])  # type: ignore[list-item]


def test_switch_case_rejects_a_non_callable_predicate() -> None:
    builder = WorkflowBuilder()

    with pytest.raises(
        TypeError, match="a Case takes a predicate .a function of the message. or a type, got 'big'"
    ):
        builder.add_switch_case_edge_group(
            IntRelay("a"),
            [Case("big", IntSink("b")), Default(IntSink("c"))],  # type: ignore[arg-type]
        )


def test_two_conditional_edges_between_one_pair_are_branching_not_duplicates() -> None:
    a, b = IntRelay("a"), IntSink("b")
    workflow = (
        WorkflowBuilder(a)
        .add_edge(a, b, condition=lambda n: n > 0)
        .add_edge(a, b, condition=lambda n: n < -10)
        .build()
    )
    assert len(workflow.edge_groups) == 2


def test_second_default_is_reported_without_a_bogus_unreachable() -> None:
    a, b, c = IntRelay("a"), IntSink("b"), IntSink("c")
    builder = WorkflowBuilder(a).add_switch_case_edge_group(a, [Default(b), Default(c)])
    issues = build_issues(builder)
    assert [issue.check for issue in issues] == ["switch_default"]
    assert "has 2 `Default` branches" in issues[0].message
