"""The worker's side of a backend: run one `Invocation` on an executor, and the wire codec around it.

`execute_invocation` rebuilds just enough of a run for the executor's context (its own state, the
shared snapshot, the pending request ids), runs the same `invoke_handlers` the runner uses, and
returns what the context staged. `to_wire`/`from_wire` carry invocations and results as JSON text
through the checkpoint serializer, so anything that crosses to a worker is exactly what a checkpoint
could hold: a value that cannot travel fails the same way in `LocalBackend(validate=True)` as on a
cluster, and nothing is ever unpickled from a result.
"""

from __future__ import annotations

import json
import traceback
from typing import Any, cast

from engine.backends.base import Invocation, InvocationResult, RemoteFailure
from engine.context import WorkflowContext, staged_writes
from engine.errors import ExecutorFailedError, SerializationError
from engine.events import RequestInfoEvent, WorkflowEvent
from engine.executor import Executor
from engine.invoke import invoke_handlers
from engine.serialization import TypeRegistry
from engine.state import Delivery, RunState

__all__ = ["execute_invocation", "from_wire", "to_wire"]


async def execute_invocation(executor: Executor, invocation: Invocation) -> InvocationResult:
    """Run `invocation` on `executor` here; a raising handler becomes the result's `failure`."""
    eid = invocation.executor_id
    run = RunState(
        run_id=invocation.run_id,
        superstep=invocation.superstep,
        executor_states={eid: invocation.state} if invocation.has_state else {},
        shared_state=invocation.shared,
        # only the ids are read (to refuse a reused request id), so the requests stay behind
        pending_requests=cast(
            dict[str, RequestInfoEvent], dict.fromkeys(invocation.pending_request_ids)
        ),
    )
    events: list[WorkflowEvent] = []
    ctx: WorkflowContext[Any, Any] = WorkflowContext(
        eid,
        run,
        frozenset(invocation.targets),
        events.append,
        invocation.streaming,
        executor.can_respond,
    )
    deliveries = [Delivery(eid, payload, source) for payload, source in invocation.messages]
    try:
        await invoke_handlers(executor, deliveries, ctx, events.append)
    except ExecutorFailedError as error:
        cause = error.__cause__ if error.__cause__ is not None else error
        failure = RemoteFailure(
            str(error),
            type(cause).__name__,
            str(cause),
            "".join(traceback.format_exception(cause)),
        )
        return InvocationResult(eid, None, tuple(events), failure)
    return InvocationResult(eid, staged_writes(ctx), tuple(events))


def to_wire(registry: TypeRegistry, value: Invocation | InvocationResult) -> str:
    """`value` as JSON text, through the checkpoint serializer (raises `SerializationError`)."""
    what = f"the invocation of `{value.executor_id}`"
    if isinstance(value, InvocationResult):
        what = f"the result of `{value.executor_id}`"
    data = registry.encode(value, what)
    try:
        return json.dumps(data, separators=(",", ":"), allow_nan=False)
    except ValueError as exc:  # NaN or infinity: JSON cannot carry them
        raise SerializationError(f"{what} holds a value JSON cannot carry: {exc}") from exc


def from_wire(registry: TypeRegistry, text: str, what: str) -> Any:
    """The value `to_wire` wrote (`what` names it in errors)."""
    return registry.decode(json.loads(text), what)
