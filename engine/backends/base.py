"""What a backend is: it runs one superstep's batch of executor invocations and returns their results.

The coordinator (the runner) keeps the superstep loop, routing, state commits and checkpoints. For each
executor with deliveries it builds an `Invocation` (the deliveries, the executor's local state, a
snapshot of the shared state) and hands the batch to a `Dispatcher`; each `InvocationResult` carries
what the executor staged (messages out, new state, shared writes, requests, outputs), its events in
order, or its failure. An invocation is a plain value, so it can cross a process boundary; the
executor itself travels as configuration, once per run, however the backend ships it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from engine.events import WorkflowEvent
from engine.executor import Executor
from engine.serialization import TypeRegistry
from engine.state import RecordedWrites, idempotency_key

__all__ = ["Backend", "Dispatcher", "Invocation", "InvocationResult", "RemoteFailure"]


@dataclass(frozen=True, slots=True)
class Invocation:
    """One executor's work in one superstep, with everything it may read."""

    run_id: str
    superstep: int
    executor_id: str
    messages: tuple[tuple[Any, str | None], ...]
    """Its deliveries in order: (payload, source id, `None` for the run's input)."""
    targets: tuple[str, ...]
    """The executors it has edges to (what ``ctx.send_message(target_id=...)`` may name)."""
    has_state: bool
    state: Any
    """Its executor-local state (meaningful when `has_state`)."""
    shared: dict[str, Any]
    """The shared state as of the last committed superstep."""
    pending_request_ids: tuple[str, ...]
    """Requests already waiting, so a handler cannot reuse one of their ids."""
    streaming: bool

    @property
    def idempotency_key(self) -> str:
        """``run_id:superstep:executor_id``: the same for every retry of this invocation."""
        return idempotency_key(self.run_id, self.superstep, self.executor_id)


@dataclass(frozen=True, slots=True)
class RemoteFailure:
    """A handler raised where it ran; the coordinator raises `ExecutorFailedError` from it."""

    message: str
    """The `ExecutorFailedError` message, the same as when the executor runs in the event loop."""
    error_type: str
    """The class name of what the handler raised (or of the backend's error when the work was lost)."""
    error_message: str
    traceback: str
    """The traceback as text, from the process the handler ran in."""


@dataclass(frozen=True, slots=True)
class InvocationResult:
    """What one invocation produced: its staged writes and events, or its failure."""

    executor_id: str
    writes: RecordedWrites | None
    """`None` when it failed."""
    events: tuple[WorkflowEvent, ...]
    """Its events in the order it emitted them (released by the coordinator in invocation order)."""
    failure: RemoteFailure | None = None


@runtime_checkable
class Dispatcher(Protocol):
    """A backend bound to one run's executors: runs each superstep's batch."""

    async def run_batch(self, invocations: Sequence[Invocation]) -> list[InvocationResult]:
        """Run every invocation (concurrently where it can) and return their results in order.

        A handler that raises, or work the backend lost for good, is a result with a `failure`;
        the method itself raises only when the backend cannot work at all.
        """
        ...


@runtime_checkable
class Backend(Protocol):
    """Where a run's executors execute. Pass one as ``workflow.run(..., backend=...)``."""

    def bind(self, executors: Mapping[str, Executor], registry: TypeRegistry) -> Dispatcher | None:
        """A dispatcher for a run over `executors`, whose values `registry` can serialize.

        `None` means "run them in the event loop", the runner's own path (what `LocalBackend` does
        unless it validates): no invocation values are built at all.
        """
        ...
