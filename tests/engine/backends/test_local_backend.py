"""`LocalBackend`: the default costs nothing; validation fails in a test what a cluster could not carry."""

from __future__ import annotations

import threading

import pytest

from engine import SerializationError, WorkflowBuilder, WorkflowContext, executor
from engine.backends import Backend, LocalBackend, RayBackend
from engine.serialization import default_registry
from tests.engine.backends import flows


@executor(id="locker")
async def locker(number: int, ctx: WorkflowContext[int]) -> None:
    ctx.set_state(threading.Lock())  # fine in one process, cannot travel to a worker
    await ctx.send_message(number)


@executor(id="after")
async def after(number: int, ctx: WorkflowContext[None, int]) -> None:
    await ctx.yield_output(number)


class Opaque:
    """A class the checkpoint serializer does not know."""


@executor(id="sender")
async def sender(number: int, ctx: WorkflowContext[object]) -> None:
    await ctx.send_message(Opaque())


@executor(id="taker")
async def taker(value: object, ctx: WorkflowContext[None, str]) -> None:
    await ctx.yield_output(type(value).__name__)


def test_the_default_backend_runs_in_the_event_loop_without_a_dispatcher() -> None:
    assert LocalBackend().bind(flows.chain().executors, default_registry) is None
    assert LocalBackend(validate=True).bind(flows.chain().executors, default_registry) is not None
    assert isinstance(LocalBackend(), Backend)
    assert repr(LocalBackend(validate=True)) == "LocalBackend(validate=True)"


async def test_state_that_cannot_travel_fails_only_when_validating() -> None:
    workflow = WorkflowBuilder(start_executor=locker).add_edge(locker, after).build()
    assert (await workflow.run(1)).outputs == (1,)
    with pytest.raises(SerializationError, match="the result of `locker`") as failed:
        await workflow.run(1, backend=LocalBackend(validate=True))
    assert "lock" in str(failed.value).lower()


async def test_a_message_that_cannot_travel_names_its_sender() -> None:
    workflow = WorkflowBuilder(start_executor=sender).add_edge(sender, taker).build()
    assert (await workflow.run(1)).outputs == ("Opaque",)
    with pytest.raises(SerializationError, match="the result of `sender`") as failed:
        await workflow.run(1, backend=LocalBackend(validate=True))
    assert "Opaque" in str(failed.value)


async def test_a_run_refuses_something_that_is_not_a_backend() -> None:
    with pytest.raises(TypeError, match="engine.backends.Backend"):
        await flows.chain().run(1, backend="ray")  # type: ignore[call-overload]


@pytest.mark.parametrize(
    ("options", "message"),
    [({"max_retries": -1}, "max_retries"), ({"num_cpus": -2}, "num_cpus")],
)
def test_ray_backend_options_are_checked(options: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RayBackend(**options)  # type: ignore[arg-type]
