"""`WorkflowContext`: what a handler may do during one superstep, staged until the barrier commits it.

A context is created per executor per superstep. Messages, outputs, events and state writes go into the
context's buffers; the runner reads them after the handler returns, so a failed superstep leaves the run
exactly as it was. Reads of shared state see the last committed superstep plus this executor's own writes.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, Never

from typing_extensions import TypeVar

from engine.errors import DefinitionError, RoutingError
from engine.events import OutputEvent, RequestInfoEvent, UserEvent, WorkflowEvent
from engine.serialization import default_registry
from engine.state import RecordedWrites, idempotency_key
from engine.typecheck import type_name

if TYPE_CHECKING:
    from engine.state import RunState

__all__ = ["DELETED", "SharedState", "WorkflowContext", "replay_writes", "staged_writes"]

OutT = TypeVar("OutT", default=Any)
YieldT = TypeVar("YieldT", default=Never)

_MISSING: Any = object()


class SharedState:
    """Run-wide key/value state. Writes are staged and visible to other executors after the superstep."""

    __slots__ = ("_committed", "_staged")

    def __init__(self, committed: dict[str, Any]) -> None:
        self._committed = committed
        self._staged: dict[str, Any] = {}

    def get(self, key: str, default: Any = None) -> Any:
        """The value of `key` (this executor's staged write first), else `default`."""
        value = self._staged.get(key, _MISSING)
        if value is _MISSING:
            return self._committed.get(key, default)
        return default if value is _DELETED else value

    def __contains__(self, key: str) -> bool:
        value = self._staged.get(key, _MISSING)
        if value is _MISSING:
            return key in self._committed
        return value is not _DELETED

    def set(self, key: str, value: Any) -> None:
        """Stage `key = value`; other executors see it from the next superstep on."""
        if not isinstance(key, str):
            raise TypeError(f"shared state keys are strings, got {type(key).__name__}")
        self._staged[key] = value

    def delete(self, key: str) -> None:
        """Stage the removal of `key` (a missing key is fine)."""
        self._staged[key] = _DELETED

    @property
    def staged(self) -> dict[str, Any]:
        """The writes this executor made in this superstep (deletions as `DELETED`)."""
        return self._staged


_DELETED: Any = type("_Deleted", (), {"__repr__": lambda self: "DELETED"})()
DELETED = _DELETED
"""Marker for a staged deletion in `SharedState.staged`."""
default_registry.register(
    type(DELETED), name="baton:deleted", encode=lambda _: None, decode=lambda _: DELETED
)


class WorkflowContext(Generic[OutT, YieldT]):
    """The handler's view of the run.

    Type parameters declare what the handler sends (`OutT`) and yields as workflow output (`YieldT`);
    build-time validation checks every edge against them. ``WorkflowContext[None]`` sends nothing, a bare
    ``WorkflowContext`` sends anything (unchecked).
    """

    __slots__ = (
        "_can_respond",
        "_emit",
        "_executor_id",
        "_outbox",
        "_outputs",
        "_requests",
        "_run",
        "_shared",
        "_state",
        "_state_written",
        "_streaming",
        "_targets",
    )

    def __init__(
        self,
        executor_id: str,
        run: RunState,
        targets: frozenset[str],
        emit: Callable[[WorkflowEvent], None],
        streaming: bool = False,
        can_respond: Callable[[Any, Any], bool] | None = None,
    ) -> None:
        self._executor_id = executor_id
        self._streaming = streaming
        self._can_respond = can_respond
        self._requests: list[RequestInfoEvent] = []
        self._outputs: list[Any] = []
        self._run = run
        self._targets = targets
        self._emit = emit
        self._outbox: list[tuple[Any, str | None]] = []
        self._shared: SharedState | None = None
        self._state: Any = None
        self._state_written = False

    @property
    def executor_id(self) -> str:
        """The id of the executor this context belongs to."""
        return self._executor_id

    @property
    def run_id(self) -> str:
        """The id of the current run."""
        return self._run.run_id

    @property
    def superstep(self) -> int:
        """The current superstep number (the first is 1)."""
        return self._run.superstep

    @property
    def idempotency_key(self) -> str:
        """``run_id:superstep:executor_id``: the same when this invocation is retried, unique otherwise.

        Use it to deduplicate side effects (a payment, an email) that a retried invocation (a lost
        worker on a cluster, a resumed superstep) would otherwise repeat.
        """
        return idempotency_key(self._run.run_id, self._run.superstep, self._executor_id)

    @property
    def target_ids(self) -> frozenset[str]:
        """The executors this one has edges to (empty for a terminal executor)."""
        return self._targets

    @property
    def is_streaming(self) -> bool:
        """Whether the run is being streamed, so fine-grained progress events (token deltas) are wanted."""
        return self._streaming

    async def send_message(self, message: OutT, target_id: str | None = None) -> None:
        """Send `message` along this executor's outgoing edges, or only the edge to `target_id`.

        Delivery happens in the next superstep. Naming a target with no edge from this executor raises
        `RoutingError` at once, so the mistake points at the line that made it.
        """
        if target_id is not None and target_id not in self._targets:
            known = ", ".join(f"`{t}`" for t in sorted(self._targets)) or "none"
            raise RoutingError(
                f"`{self._executor_id}` sent a message to `{target_id}`, but there is no edge from "
                f"`{self._executor_id}` to `{target_id}` (its targets: {known}); add the edge or fix "
                "the target id.",
                run_id=self._run.run_id,
                superstep=self._run.superstep,
            )
        self._outbox.append((message, target_id))

    async def yield_output(self, output: YieldT) -> None:
        """Emit `output` as a workflow output (an `OutputEvent`, collected in `RunResult.outputs`)."""
        self._outputs.append(output)
        self._emit(OutputEvent(self._executor_id, output))

    async def request_info(
        self, request: Any, response_type: Any, *, request_id: str | None = None
    ) -> str:
        """Ask the outside world for an answer of type `response_type`; return the request id.

        Emits a `request_info` event at once. The request becomes pending when this superstep commits;
        other executors keep running, and once the run is idle it pauses with status
        `idle_with_pending_requests` until ``run.respond({request_id: answer})`` delivers the answer to
        this executor's `@response_handler` for ``(type(request), response_type)``.
        """
        if self._can_respond is not None and not self._can_respond(request, response_type):
            raise DefinitionError(
                f"`{self._executor_id}` asked for a `{type_name(response_type)}` answer to a "
                f"`{type(request).__name__}` request, but it has no `@response_handler` for "
                f"(`{type(request).__name__}`, `{type_name(response_type)}`); add one, or the answer "
                "could never be delivered."
            )
        if request_id is None:
            request_id = uuid.uuid4().hex
        elif request_id in self._run.pending_requests or any(
            r.request_id == request_id for r in self._requests
        ):
            raise ValueError(f"request id `{request_id}` is already pending; use a unique id.")
        event = RequestInfoEvent(request_id, self._executor_id, request, response_type)
        self._requests.append(event)
        self._emit(event)
        return request_id

    async def add_event(self, event: UserEvent) -> None:
        """Emit a user-defined event into the run's event stream."""
        if not isinstance(event, UserEvent):
            raise TypeError(
                f"add_event() takes a UserEvent subclass, got {type(event).__name__}; lifecycle events "
                "are emitted by the runner only. Subclass engine.UserEvent for your own events."
            )
        self._emit(event)

    def get_state(self, default: Any = None) -> Any:
        """This executor's state in this run (`default` before anything was set)."""
        if self._state_written:
            return self._state
        return self._run.executor_states.get(self._executor_id, default)

    def set_state(self, state: Any) -> None:
        """Replace this executor's state in this run; committed at the end of the superstep."""
        self._state = state
        self._state_written = True

    @property
    def shared(self) -> SharedState:
        """Run-wide shared state, staged per superstep."""
        if self._shared is None:
            self._shared = SharedState(self._run.shared_state)
        return self._shared


def staged_writes(ctx: WorkflowContext[Any, Any]) -> RecordedWrites:
    """What a handler staged during its superstep, as the value the barrier commits.

    A failure checkpoint records the same value. For the runner only; handlers never need it.
    """
    shared = ctx._shared.staged if ctx._shared is not None else {}
    return RecordedWrites(
        tuple(ctx._outbox),
        ctx._state_written,
        ctx._state,
        shared,
        tuple(ctx._requests),
        tuple(ctx._outputs),
    )


def replay_writes(ctx: WorkflowContext[Any, Any], writes: RecordedWrites) -> None:
    """Load recorded writes into a fresh context, as if its handler had just staged them."""
    ctx._outbox.extend(writes.outbox)
    ctx._state_written, ctx._state = writes.wrote_state, writes.state
    ctx.shared.staged.update(writes.shared)
    ctx._requests.extend(writes.requests)
    ctx._outputs.extend(writes.outputs)
