from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import pytest

from engine import (
    DefinitionError,
    Executor,
    WorkflowBuilder,
    WorkflowContext,
    executor,
    handler,
)

T = TypeVar("T")


@dataclass
class Animal:
    name: str


@dataclass
class Dog(Animal):
    pass


@dataclass
class Puppy(Dog):
    pass


class Zoo(Executor):
    @handler
    async def on_animal(self, message: Animal, ctx: WorkflowContext[str]) -> None:
        await ctx.send_message(f"animal:{message.name}")

    @handler
    async def on_dog(self, message: Dog, ctx: WorkflowContext[str]) -> None:
        await ctx.send_message(f"dog:{message.name}")

    @handler
    async def on_any_number(self, message: int | float, ctx: WorkflowContext[str]) -> None:
        await ctx.send_message(f"number:{message}")


class Collect(Executor):
    @handler
    async def on_text(self, message: str, ctx: WorkflowContext[None, str]) -> None:
        await ctx.yield_output(message)


async def run_zoo(message: object) -> list[Any]:
    workflow = WorkflowBuilder(start_executor=Zoo("zoo")).add_edge("zoo", Collect("out")).build()
    return list((await workflow.run(message)).outputs)


def test_handler_types_are_resolved_when_the_class_is_created() -> None:
    specs = {spec.name: spec for spec in Zoo._class_handlers.specs}
    assert specs["on_dog"].input_type is Dog
    assert specs["on_dog"].output_types == (str,)
    assert specs["on_dog"].yield_types == ()
    assert set(Zoo("z").input_types) == {Animal, Dog, int, float}
    assert Collect("c").yield_types == (str,)


async def test_dispatch_picks_the_most_specific_handler() -> None:
    assert await run_zoo(Dog("rex")) == ["dog:rex"]
    assert await run_zoo(Puppy("bit")) == ["dog:bit"]  # nearest in the MRO, not declaration order
    assert await run_zoo(Animal("cat")) == ["animal:cat"]


async def test_union_annotated_handler_accepts_each_member() -> None:
    assert await run_zoo(3) == ["number:3"]
    assert await run_zoo(2.5) == ["number:2.5"]


def test_two_handlers_for_the_same_type_is_a_definition_error() -> None:
    with pytest.raises(DefinitionError, match=r"two handlers for `str`: `a` and `b`"):

        class Twice(Executor):
            @handler
            async def a(self, message: str, ctx: WorkflowContext) -> None: ...

            @handler
            async def b(self, message: int | str, ctx: WorkflowContext) -> None: ...


def test_handler_without_message_annotation_is_a_definition_error() -> None:
    with pytest.raises(DefinitionError, match=r"no type annotation on `message`"):

        class Bare(Executor):
            @handler
            async def on(self, message, ctx: WorkflowContext) -> None: ...  # type: ignore[no-untyped-def]


def test_handler_with_wrong_arity_is_a_definition_error() -> None:
    with pytest.raises(DefinitionError, match=r"takes 2 parameter\(s\); a handler takes exactly"):

        class Short(Executor):
            @handler
            async def on(self, message: str) -> None: ...


def test_sync_handler_is_a_definition_error() -> None:
    with pytest.raises(DefinitionError, match=r"must be declared with `async def`"):

        class Sync(Executor):
            @handler  # type: ignore[type-var]
            def on(self, message: str, ctx: WorkflowContext) -> None: ...


def test_unresolved_typevar_in_message_is_a_definition_error() -> None:
    with pytest.raises(DefinitionError, match=r"unresolved type variable `~T`"):

        class Generic1(Executor, Generic[T]):
            @handler
            async def on(self, message: T, ctx: WorkflowContext) -> None: ...


def test_unresolved_typevar_in_context_is_a_definition_error() -> None:
    with pytest.raises(DefinitionError, match=r"unresolved type variable `~T`"):

        class Generic2(Executor, Generic[T]):
            @handler
            async def on(self, message: str, ctx: WorkflowContext[T]) -> None: ...


def test_context_annotation_must_be_a_workflow_context() -> None:
    with pytest.raises(DefinitionError, match=r"annotate it as `WorkflowContext\[OutT, YieldT\]`"):

        class WrongCtx(Executor):
            @handler
            async def on(self, message: str, ctx: int) -> None: ...


def test_unresolvable_annotation_says_how_to_fix_it() -> None:
    with pytest.raises(
        DefinitionError, match=r"cannot resolve the annotations of `Ghost.on`.*module level"
    ):

        class Ghost(Executor):
            @handler
            async def on(self, message: NoSuchType, ctx: WorkflowContext) -> None: ...  # type: ignore[name-defined]  # noqa: F821


async def test_locally_defined_message_types_resolve() -> None:
    @dataclass
    class Local:
        value: int

    class UsesLocal(Executor):
        @handler
        async def on(self, message: Local, ctx: WorkflowContext[None, int]) -> None:
            await ctx.yield_output(message.value * 2)

    workflow = WorkflowBuilder(start_executor=UsesLocal("u")).build()
    assert (await workflow.run(Local(21))).outputs == (42,)


async def test_subclass_inherits_and_overrides_handlers() -> None:
    class Base(Executor):
        @handler
        async def on_text(self, message: str, ctx: WorkflowContext[None, str]) -> None:
            await ctx.yield_output("base")

    class Child(Base):
        @handler
        async def on_text(self, message: str, ctx: WorkflowContext[None, str]) -> None:
            await ctx.yield_output("child")

        @handler
        async def on_int(self, message: int, ctx: WorkflowContext[None, str]) -> None:
            await ctx.yield_output("int")

    workflow = WorkflowBuilder(start_executor=Child("c")).build()
    assert (await workflow.run("x")).outputs == ("child",)
    assert (await workflow.run(1)).outputs == ("int",)


def test_executor_id_must_be_a_non_empty_string() -> None:
    with pytest.raises(ValueError, match="non-empty string"):
        Collect("")
    with pytest.raises(ValueError, match="non-empty string"):
        Collect(3)  # type: ignore[arg-type]


async def test_list_handlers_dispatch_on_element_types() -> None:
    class Lists(Executor):
        @handler
        async def ints(self, message: list[int], ctx: WorkflowContext[None, str]) -> None:
            await ctx.yield_output("ints")

        @handler
        async def strs(self, message: list[str], ctx: WorkflowContext[None, str]) -> None:
            await ctx.yield_output("strs")

    workflow = WorkflowBuilder(start_executor=Lists("l")).build()
    assert (await workflow.run([1, 2])).outputs == ("ints",)
    assert (await workflow.run(["a"])).outputs == ("strs",)


# --- function executors ---------------------------------------------------------------------


@executor(id="double")
async def double(value: int) -> int:
    return value * 2


@executor
async def emit(value: int, ctx: WorkflowContext[None, int]) -> None:
    await ctx.yield_output(value)


async def test_function_executor_sends_its_return_value_downstream() -> None:
    workflow = WorkflowBuilder(start_executor=double).add_edge(double, emit).build()
    assert double.id == "double" and emit.id == "emit"
    assert double.output_types == (int,)
    assert (await workflow.run(21)).outputs == (42,)


async def test_function_executor_returning_none_sends_nothing() -> None:
    @executor(id="quiet")
    async def quiet(value: int) -> int | None:
        return None

    workflow = WorkflowBuilder(start_executor=quiet).add_edge(quiet, emit).build()
    result = await workflow.run(1)
    assert result.outputs == ()
    assert [e.type for e in result.events].count("message_dropped") == 0


async def test_sync_function_runs_in_a_worker_thread_without_blocking_the_loop() -> None:
    gate = threading.Event()
    threads: list[str] = []

    @executor(id="blocking")
    def blocking(value: int) -> int:
        threads.append(threading.current_thread().name)
        # Only the event loop can open the gate: this deadlocks if the function runs on the loop.
        assert gate.wait(timeout=5), "the event loop was blocked by a sync executor"
        return value + 1

    async def open_gate() -> None:
        await asyncio.sleep(0.01)
        gate.set()

    workflow = WorkflowBuilder(start_executor=blocking).add_edge(blocking, emit).build()
    result, _ = await asyncio.gather(workflow.run(1), open_gate())
    assert result.outputs == (2,)
    assert threads != [threading.main_thread().name]


async def test_sync_function_can_use_executor_state() -> None:
    @executor(id="counter")
    def counter(value: int, ctx: WorkflowContext) -> int:
        total = ctx.get_state(0) + value
        ctx.set_state(total)
        return total

    workflow = WorkflowBuilder(start_executor=counter).add_edge(counter, emit).build()
    assert (await workflow.run(5)).outputs == (5,)


def test_function_executor_definition_errors() -> None:
    with pytest.raises(DefinitionError, match=r"takes 3 parameter\(s\); use `\(message: T\)`"):

        @executor
        async def too_many(a: int, b: WorkflowContext, c: int) -> None: ...

    with pytest.raises(DefinitionError, match=r"no type annotation on `value`"):

        @executor
        async def untyped(value) -> None: ...  # type: ignore[no-untyped-def]

    with pytest.raises(TypeError, match="needs a function"):
        executor(42)  # type: ignore[call-overload]
