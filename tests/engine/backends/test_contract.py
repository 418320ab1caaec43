"""The engine's contract on every backend: same outputs, same events, same errors, same durability."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from engine import ExecutorFailedError, InMemoryCheckpointStore, RemoteExecutorError, RoutingError
from engine.backends import Backend, LocalBackend
from engine.events import WorkflowEvent
from tests.engine.backends import flows

BACKENDS = ["default", "validating", "ray"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Backend | None:
    if request.param == "default":
        return None
    if request.param == "validating":
        return LocalBackend(validate=True)
    backend: Backend = request.getfixturevalue("ray_backend")
    return backend


def shape(events: tuple[WorkflowEvent, ...]) -> list[tuple[str, Any]]:
    """Events as comparable values: the type, and what identifies them (not ids that are random)."""
    out: list[tuple[str, Any]] = []
    for event in events:
        detail = getattr(event, "executor_id", None) or getattr(event, "source_executor_id", None)
        data = getattr(event, "data", None) or getattr(event, "text", None)
        out.append((event.type, (detail, data if event.type != "request_info" else None)))
    return out


async def test_chain_with_state_shared_state_and_user_events(backend: Backend | None) -> None:
    workflow = flows.chain()
    expected = await workflow.run(5)
    result = await workflow.run(5, backend=backend)
    assert result.outputs == expected.outputs == ((5 + 1 + 1, 5),)
    assert shape(result.events) == shape(expected.events)
    assert [e.text for e in result.events if e.type == "noted"] == ["first call 1", "second call 1"]


async def test_fan_out_and_fan_in_keep_invocation_order(backend: Backend | None) -> None:
    workflow = flows.fan()
    expected = await workflow.run(3)
    result = await workflow.run(3, backend=backend)
    assert result.outputs == expected.outputs == ("w0:3", "w1:6", "w2:9", "w3:12", 30)
    assert shape(result.events) == shape(expected.events)


@pytest.mark.parametrize(("number", "output"), [(3, "small 3"), (42, "large 42")])
async def test_switch_routes_alike(backend: Backend | None, number: int, output: str) -> None:
    result = await flows.switch().run(number, backend=backend)
    assert result.outputs == (output,)


async def test_pause_for_an_answer_and_continue(backend: Backend | None) -> None:
    workflow = flows.review()
    paused = await workflow.run("notes", backend=backend)
    assert paused.status == "idle_with_pending_requests"
    (request,) = paused.requests
    assert request.data == flows.Question("approve 'notes'?")
    assert paused.run is not None
    done = await paused.run.respond({request.request_id: {"approved": True, "note": "ship it"}})
    assert done.outputs == ("notes approved: ship it",)
    assert done.status == "idle"


async def test_a_raising_handler_fails_the_run_with_the_same_message(
    backend: Backend | None,
) -> None:
    with pytest.raises(ExecutorFailedError) as expected:
        await flows.failing().run(-1)
    with pytest.raises(ExecutorFailedError) as failed:
        await flows.failing().run(-1, backend=backend)
    assert str(failed.value) == str(expected.value)
    assert "ValueError: negative input -1" in str(failed.value)
    assert failed.value.executor_id == "boom"
    cause = failed.value.__cause__
    if backend is None:
        assert isinstance(cause, ValueError)
    else:  # the user's exception stays on the worker: its type, text and traceback come back
        assert isinstance(cause, RemoteExecutorError)
        assert cause.error_type == "ValueError"
        assert "negative input -1" in cause.traceback
    assert failed.value.result is not None
    assert failed.value.result.status == "failed"
    assert shape(failed.value.result.events) == shape(expected.value.result.events)  # type: ignore[union-attr]


async def test_sending_to_an_executor_without_an_edge_fails_alike(backend: Backend | None) -> None:
    result = await flows.targeted().run(4, backend=backend)
    assert result.outputs == ("small 4",)
    with pytest.raises(ExecutorFailedError, match="no edge from `router` to `nowhere`") as failed:
        await flows.targeted().run(13, backend=backend)
    if backend is None:
        assert isinstance(failed.value.__cause__, RoutingError)
    else:
        assert isinstance(failed.value.__cause__, RemoteExecutorError)
        assert failed.value.__cause__.error_type == "RoutingError"


async def test_the_idempotency_key_names_run_superstep_and_executor(
    backend: Backend | None,
) -> None:
    result = await flows.idempotency().run(1, backend=backend, run_id="run-7")
    assert result.outputs == (("run-7:1:keys", "run-7:1:keys", None),)


async def test_a_failed_superstep_resumes_without_rerunning_the_finished_sibling(
    backend: Backend | None,
) -> None:
    store = InMemoryCheckpointStore()
    workflow = flows.failing()
    with pytest.raises(ExecutorFailedError):
        await workflow.run(-1, checkpoint_store=store, run_id="r", backend=backend)
    with pytest.raises(ExecutorFailedError, match="negative input -1") as again:
        await workflow.resume("r", store=store, backend=backend)
    # `steady` finished before `boom` failed: its output is replayed, it is not invoked again
    assert again.value.result is not None
    events = again.value.result.events
    assert [e.data for e in events if e.type == "output"] == ["steady -1"]
    invoked = [e.executor_id for e in events if e.type == "executor_invoked"]
    assert invoked == ["boom"]


async def test_one_workflow_serves_runs_on_different_backends_at_once(
    backend: Backend | None,
) -> None:
    workflow = flows.chain()
    results = await asyncio.gather(
        workflow.run(1, backend=backend), workflow.run(2), workflow.run(3, backend=backend)
    )
    assert [r.outputs for r in results] == [((3, 1),), ((4, 2),), ((5, 3),)]
