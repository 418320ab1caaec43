from __future__ import annotations

from typing import Any, Literal

import pytest

from engine import (
    BatonWarning,
    Case,
    Default,
    Executor,
    MessageDroppedEvent,
    RoutingError,
    ValidationIssue,
    Workflow,
    WorkflowBuilder,
    WorkflowContext,
    WorkflowValidationError,
    handler,
)
from engine.analysis import analyze


class Animal:
    pass


class Dog(Animal):
    pass


class Cat(Animal):
    pass


class Forward(Executor):
    """Sends on whatever it receives; subclasses declare what that is."""

    async def forward(self, message: Any, ctx: WorkflowContext[Any]) -> None:
        await ctx.send_message(message)


class SendsIntOrStr(Forward):
    @handler
    async def on(self, message: object, ctx: WorkflowContext[int | str]) -> None:
        await self.forward(message, ctx)


class SendsIntStrOrDog(Forward):
    @handler
    async def on(self, message: object, ctx: WorkflowContext[int | str | Dog]) -> None:
        await self.forward(message, ctx)


class SendsAnimal(Forward):
    @handler
    async def on(self, message: object, ctx: WorkflowContext[Animal]) -> None:
        await self.forward(message, ctx)


class SendsAnimalOrInt(Forward):
    @handler
    async def on(self, message: object, ctx: WorkflowContext[Animal | int]) -> None:
        await self.forward(message, ctx)


class SendsDogOrCat(Forward):
    @handler
    async def on(self, message: object, ctx: WorkflowContext[Dog | Cat]) -> None:
        await self.forward(message, ctx)


class SendsLists(Forward):
    @handler
    async def on(self, message: object, ctx: WorkflowContext[list[int] | list[str]]) -> None:
        await self.forward(message, ctx)


class SendsBareList(Forward):
    @handler
    async def on(self, message: object, ctx: WorkflowContext[list]) -> None:  # type: ignore[type-arg]
        await self.forward(message, ctx)


class SendsInt(Forward):
    @handler
    async def on(self, message: object, ctx: WorkflowContext[int]) -> None:
        await self.forward(message, ctx)


class SendsOptionalInt(Forward):
    @handler
    async def on(self, message: object, ctx: WorkflowContext[int | None]) -> None:
        await self.forward(message, ctx)


class SendsAny(Forward):
    @handler
    async def on(self, message: object, ctx: WorkflowContext[Any]) -> None:
        await self.forward(message, ctx)


class SendsXOrY(Forward):
    @handler
    async def on(self, message: object, ctx: WorkflowContext[Literal["x", "y"]]) -> None:
        await self.forward(message, ctx)


class Out(Executor):
    """Yields `<id>:<type of the message>` for whatever it receives."""

    @handler
    async def on(self, message: object, ctx: WorkflowContext[None, str]) -> None:
        await ctx.yield_output(f"{self.id}:{type(message).__name__}")


def switch(source: Executor, cases: list[Case | Default], **options: Any) -> WorkflowBuilder:
    return WorkflowBuilder(source, **options).add_switch_case_edge_group(source, cases)


def only_issue(builder: WorkflowBuilder) -> ValidationIssue:
    with pytest.raises(WorkflowValidationError) as info:
        builder.build()
    (issue,) = info.value.issues
    return issue


async def routed(workflow: Workflow, message: object) -> tuple[str, ...]:
    return (await workflow.run(message)).outputs


def is_big(n: int) -> bool:
    return n > 10


# --- dispatch ---


async def test_type_cases_route_each_message_by_its_type() -> None:
    workflow = switch(SendsIntOrStr("s"), [Case(int, Out("ints")), Case(str, Out("strs"))]).build()

    assert await routed(workflow, 3) == ("ints:int",)
    assert await routed(workflow, "three") == ("strs:str",)


async def test_a_type_case_takes_an_instance_of_a_subclass() -> None:
    workflow = switch(SendsAnimal("s"), [Case(Dog, Out("dogs")), Case(Animal, Out("animals"))])
    built = workflow.build()

    assert await routed(built, Dog()) == ("dogs:Dog",)
    assert await routed(built, Cat()) == ("animals:Cat",)
    assert await routed(built, Animal()) == ("animals:Animal",)


async def test_a_union_case_takes_every_member() -> None:
    workflow = switch(
        SendsIntStrOrDog("s"), [Case(int | str, Out("scalars")), Case(Dog, Out("dogs"))]
    ).build()

    assert await routed(workflow, 1) == ("scalars:int",)
    assert await routed(workflow, "one") == ("scalars:str",)
    assert await routed(workflow, Dog()) == ("dogs:Dog",)


async def test_generic_cases_tell_lists_apart_by_their_elements() -> None:
    workflow = switch(
        SendsLists("s"), [Case(list[int], Out("numbers")), Case(list[str], Out("words"))]
    ).build()

    assert await routed(workflow, [1, 2]) == ("numbers:list",)
    assert await routed(workflow, ["a", "b"]) == ("words:list",)


async def test_an_any_case_takes_what_earlier_cases_left() -> None:
    workflow = switch(
        SendsIntStrOrDog("s"), [Case(int, Out("ints")), Case(Any, Out("rest"))]
    ).build()

    assert await routed(workflow, 1) == ("ints:int",)
    assert await routed(workflow, Dog()) == ("rest:Dog",)


async def test_type_and_predicate_cases_mix_in_declaration_order() -> None:
    workflow = switch(
        SendsIntOrStr("s"),
        [Case(str, Out("strs")), Case(is_big, Out("big")), Default(Out("small"))],
    ).build()

    assert await routed(workflow, "x") == ("strs:str",)
    assert await routed(workflow, 50) == ("big:int",)
    assert await routed(workflow, 5) == ("small:int",)


# --- exhaustive switches ---


def test_a_switch_whose_type_cases_cover_every_sent_type_needs_no_default() -> None:
    workflow = switch(SendsIntOrStr("s"), [Case(int, Out("ints")), Case(str, Out("strs"))]).build()

    assert workflow.warnings == ()
    (coverage,) = analyze(workflow).switches
    assert (coverage.source, coverage.exhaustive, coverage.has_default) == ("s", True, False)
    assert coverage.uncovered == ()
    assert coverage.unreachable == ()


def test_a_superclass_case_covers_a_union_of_its_subclasses() -> None:
    workflow = switch(SendsDogOrCat("s"), [Case(Animal, Out("animals"))]).build()

    assert [s.exhaustive for s in analyze(workflow).switches] == [True]


def test_a_switch_missing_a_sent_type_without_a_default_names_the_missing_type() -> None:
    issue = only_issue(switch(SendsIntOrStr("s"), [Case(int, Out("ints"))]))

    assert issue.check == "switch_default"
    assert issue.executor_ids == ("s",)
    assert issue.message == (
        "the switch-case group from `s` has no `Default`, and no case covers `str` of what `s` "
        "sends, so such a message would have nowhere to go."
    )
    assert issue.hint == (
        "end the case list with `Default(target)`, or add a case for each missing type."
    )


def test_a_switch_missing_several_types_names_each_in_declaration_order() -> None:
    issue = only_issue(switch(SendsIntStrOrDog("s"), [Case(str, Out("strs"))]))

    assert "no case covers `int`, `Dog` of what `s` sends" in issue.message


def test_subclass_cases_do_not_cover_their_superclass() -> None:
    issue = only_issue(switch(SendsAnimal("s"), [Case(Dog, Out("dogs")), Case(Cat, Out("cats"))]))

    assert "no case covers `Animal` of what `s` sends" in issue.message


def test_a_list_case_for_one_element_type_does_not_cover_another() -> None:
    issue = only_issue(switch(SendsLists("s"), [Case(list[int], Out("numbers"))]))

    assert "no case covers `list[str]` of what `s` sends" in issue.message


def test_a_case_for_a_list_of_one_element_type_does_not_cover_a_bare_list() -> None:
    issue = only_issue(switch(SendsBareList("s"), [Case(list[int], Out("numbers"))]))

    assert issue.check == "switch_default"
    assert "no case covers `list` of what `s` sends" in issue.message


def test_a_missing_none_is_named_as_none() -> None:
    issue = only_issue(switch(SendsOptionalInt("s"), [Case(int, Out("ints"))]))

    assert "no case covers `None` of what `s` sends" in issue.message


def test_a_predicate_case_does_not_count_toward_type_coverage() -> None:
    issue = only_issue(
        switch(SendsIntOrStr("s"), [Case(int, Out("ints")), Case(lambda m: m == "x", Out("x"))])
    )

    assert issue.check == "switch_default"
    assert issue.message == (
        "the switch-case group from `s` has no `Default`, and no case covers `str` of what `s` "
        "sends, so such a message would have nowhere to go."
    )
    assert (
        issue.hint
        == "end the case list with `Default(target)`, or add a case for each missing type."
    )


def test_a_predicate_only_switch_without_default_is_invalid() -> None:
    issue = only_issue(switch(SendsIntOrStr("s"), [Case(lambda m: m == "x", Out("x"))]))

    assert issue.message == (
        "the switch-case group from `s` has no `Default`, and a message no case matches would "
        "have nowhere to go."
    )
    assert issue.hint == "end the case list with `Default(target)`."


async def test_type_cases_around_a_predicate_case_make_a_switch_exhaustive() -> None:
    workflow = switch(
        SendsIntOrStr("s"),
        [Case(int, Out("ints")), Case(lambda m: m == "x", Out("x")), Case(str, Out("strs"))],
    ).build()

    assert await routed(workflow, "x") == ("x:str",)
    assert await routed(workflow, "y") == ("strs:str",)


def test_a_case_that_is_always_true_makes_a_default_unneeded() -> None:
    workflow = switch(SendsIntOrStr("s"), [Case(lambda m: True, Out("all"))]).build()

    assert analyze(workflow).switches[0].exhaustive


def test_type_cases_for_a_source_that_sends_any_need_a_default() -> None:
    issue = only_issue(switch(SendsAny("s"), [Case(int, Out("ints")), Case(str, Out("strs"))]))

    assert issue.check == "switch_default"
    assert "a message no case matches would have nowhere to go" in issue.message


def test_an_any_case_covers_a_source_that_sends_any() -> None:
    workflow = switch(SendsAny("s"), [Case(Any, Out("all"))]).build()

    assert [s.exhaustive for s in analyze(workflow).switches] == [True]


def test_a_literal_case_does_not_cover_the_other_values_of_a_literal() -> None:
    issue = only_issue(switch(SendsXOrY("s"), [Case(Literal["x"], Out("x"))]))

    assert issue.check == "switch_default"


async def test_literal_cases_route_by_value_and_cover_the_literal_value_by_value() -> None:
    workflow = switch(
        SendsXOrY("s"), [Case(Literal["x"], Out("x")), Case(Literal["y"], Out("y"))]
    ).build()  # exhaustive: no Default needed, and no case reported unreachable

    assert [w.check for w in workflow.warnings] == []
    assert await routed(workflow, "y") == ("y:str",)

    with pytest.warns(BatonWarning, match="default can never be taken: cases 1-2 already take"):
        switch(
            SendsXOrY("s"),
            [Case(Literal["x"], Out("x")), Case(Literal["y"], Out("y")), Default(Out("other"))],
        ).build()


async def test_a_message_no_case_of_a_default_less_switch_matches_is_reported_as_dropped() -> None:
    # `s` declares `int | str` but sends a float: the exhaustive switch has nowhere to put it
    workflow = switch(SendsIntOrStr("s"), [Case(int, Out("ints")), Case(str, Out("strs"))]).build()

    result = await workflow.run(2.5)

    dropped = [e for e in result.events if isinstance(e, MessageDroppedEvent)]
    assert [(e.source_id, e.message_type) for e in dropped] == [("s", "float")]


async def test_a_message_no_case_matches_fails_a_strict_run() -> None:
    workflow = switch(
        SendsIntOrStr("s"), [Case(int, Out("ints")), Case(str, Out("strs"))], strict=True
    ).build()

    with pytest.raises(RoutingError, match="message dropped in strict mode"):
        await workflow.run(2.5)


# --- unreachable cases ---


def unreachable(builder: WorkflowBuilder, count: int = 1) -> list[str]:
    """Build, expecting `count` unreachable_case warnings; return their messages."""
    with pytest.warns(BatonWarning, match=r"\[unreachable_case\]") as record:
        workflow = builder.build()
    assert [w.check for w in workflow.warnings] == ["unreachable_case"] * count
    assert len(record) == count
    assert all(w.executor_ids == ("s",) for w in workflow.warnings)
    assert all(
        w.hint == "remove it, or move it before the case that takes its messages."
        for w in workflow.warnings
    )
    return [w.message for w in workflow.warnings]


def test_cases_after_an_always_true_predicate_are_unreachable() -> None:
    builder = switch(
        SendsIntOrStr("s"),
        [Case(lambda m: True, Out("all")), Case(int, Out("ints")), Default(Out("rest"))],
    )

    assert unreachable(builder, 2) == [
        "in the switch-case group from `s`, case 2: int can never be taken: case 1 before it is "
        "always true.",
        "in the switch-case group from `s`, default can never be taken: case 1 before it is "
        "always true.",
    ]


def test_a_predicate_that_always_returns_false_is_unreachable() -> None:
    builder = switch(
        SendsIntOrStr("s"), [Case(lambda m: False, Out("never")), Default(Out("rest"))]
    )

    assert unreachable(builder) == [
        "in the switch-case group from `s`, case 1: condition can never be taken: its predicate "
        "always returns a false value."
    ]


def test_a_predicate_returning_a_falsy_constant_is_unreachable() -> None:
    def never(message: object) -> int:
        return 0

    builder = switch(SendsIntOrStr("s"), [Case(never, Out("never")), Default(Out("rest"))])

    assert unreachable(builder) == [
        "in the switch-case group from `s`, case 1: never can never be taken: its predicate "
        "always returns a false value."
    ]


def test_a_predicate_that_reads_the_message_is_never_reported() -> None:
    workflow = switch(
        SendsIntOrStr("s"), [Case(lambda m: m == 1, Out("one")), Default(Out("rest"))]
    ).build()

    assert workflow.warnings == ()


def test_a_type_case_for_a_type_the_source_never_sends_is_unreachable() -> None:
    builder = switch(
        SendsIntOrStr("s"), [Case(float, Out("floats")), Case(int, Out("ints")), Default(Out("r"))]
    )

    assert unreachable(builder) == [
        "in the switch-case group from `s`, case 1: float can never be taken: `s` sends "
        "`int | str`, never a `float`."
    ]


def test_a_subclass_case_after_its_superclass_case_is_unreachable() -> None:
    builder = switch(
        SendsAnimalOrInt("s"),
        [Case(Animal, Out("animals")), Case(Dog, Out("dogs")), Case(int, Out("ints"))],
    )

    assert unreachable(builder) == [
        "in the switch-case group from `s`, case 2: Dog can never be taken: earlier cases take "
        "every `Dog` that `s` sends."
    ]


def test_a_subclass_case_before_its_superclass_case_is_reachable() -> None:
    workflow = switch(
        SendsAnimalOrInt("s"),
        [Case(Dog, Out("dogs")), Case(Animal, Out("animals")), Case(int, Out("ints"))],
    ).build()

    assert workflow.warnings == ()


def test_a_default_after_cases_that_cover_every_sent_type_is_unreachable() -> None:
    builder = switch(
        SendsIntOrStr("s"), [Case(int, Out("ints")), Case(str, Out("strs")), Default(Out("r"))]
    )

    assert unreachable(builder) == [
        "in the switch-case group from `s`, default can never be taken: cases 1-2 already take "
        "every type `s` sends."
    ]


def test_a_default_after_one_case_that_covers_everything_says_it_takes_them() -> None:
    builder = switch(SendsInt("s"), [Case(int, Out("ints")), Default(Out("rest"))])

    assert unreachable(builder) == [
        "in the switch-case group from `s`, default can never be taken: case 1 already takes "
        "every type `s` sends."
    ]


def test_unreachable_cases_are_listed_in_the_coverage_and_the_report() -> None:
    with pytest.warns(BatonWarning, match=r"\[unreachable_case\]"):
        workflow = switch(
            SendsIntOrStr("s"),
            [Case(float, Out("floats")), Case(int | str, Out("both")), Default(Out("rest"))],
        ).build()

    report = analyze(workflow)

    (coverage,) = report.switches
    assert coverage.unreachable == (
        ("case 1: float", "`s` sends `int | str`, never a `float`"),
        ("default", "cases 1-2 already take every type `s` sends"),
    )
    assert coverage.exhaustive is True
    lines = str(report).splitlines()
    assert (
        "Switch from `s`: case 1: float is unreachable: `s` sends `int | str`, never a `float`."
        in lines
    )


# --- arguments ---


def test_a_case_with_neither_a_predicate_nor_a_type_is_rejected() -> None:
    with pytest.raises(
        TypeError,
        match=r"^a Case takes a predicate \(a function of the message\) or a type, got 'x'$",
    ):
        switch(SendsInt("s"), [Case("x", Out("t")), Default(Out("d"))])  # type: ignore[arg-type]


def test_a_type_case_is_labelled_by_its_type_in_exports() -> None:
    workflow = switch(
        SendsLists("s"), [Case(list[int], Out("numbers")), Case(list[str], Out("words"))]
    ).build()

    lines = workflow.to_mermaid().splitlines()

    assert '  s -->|"case 1: list[int]"| numbers' in lines
    assert '  s -->|"case 2: list[str]"| words' in lines
