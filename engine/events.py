"""Typed run events: what a run reports, as small frozen values.

Every event has a `type` string (``"output"``, ``"superstep_started"``, ...) so both
``isinstance(event, OutputEvent)`` and ``event.type == "output"`` work. Lifecycle events are produced by
the runner only; user code emits subclasses of `UserEvent` through ``ctx.add_event()``. Events are slotted
dataclasses rather than pydantic models because a run creates several per superstep; `event_to_dict`
turns any of them into JSON-ready data for the places that cross a process boundary.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from typing import Any, ClassVar, get_origin

from pydantic import TypeAdapter

from engine.typecheck import type_name

__all__ = [
    "ExecutorCompletedEvent",
    "ExecutorFailedEvent",
    "ExecutorInvokedEvent",
    "LoopBoundReachedEvent",
    "MessageDroppedEvent",
    "OutputEvent",
    "RequestInfoEvent",
    "RunFailedEvent",
    "RunStartedEvent",
    "RunStatus",
    "StatusEvent",
    "SuperstepCompletedEvent",
    "SuperstepStartedEvent",
    "UserEvent",
    "WarningEvent",
    "WorkflowEvent",
    "event_to_dict",
]


class RunStatus(enum.StrEnum):
    """Where a run stands."""

    RUNNING = "running"
    """Supersteps are being executed."""
    IN_PROGRESS_PENDING_REQUESTS = "in_progress_pending_requests"
    """Supersteps are still running, and at least one request for outside input is waiting."""
    IDLE = "idle"
    """Nothing is left to deliver: the run is done."""
    IDLE_WITH_PENDING_REQUESTS = "idle_with_pending_requests"
    """Nothing is left to deliver, but requests for outside input wait for answers."""
    FAILED = "failed"
    """An executor raised, routing failed, or the superstep budget ran out."""


class WorkflowEvent:
    """Base of every event. `type` names the kind of event."""

    __slots__ = ()
    type: ClassVar[str] = "event"


class UserEvent(WorkflowEvent):
    """Base for events that executors emit with ``ctx.add_event()``.

    Subclass it (a frozen dataclass is a good fit) and set ``type`` to your own name.
    """

    __slots__ = ()
    type: ClassVar[str] = "user"


@dataclass(frozen=True, slots=True)
class RunStartedEvent(WorkflowEvent):
    """A run began."""

    type: ClassVar[str] = "run_started"
    run_id: str
    workflow_name: str


@dataclass(frozen=True, slots=True)
class StatusEvent(WorkflowEvent):
    """The run's status changed."""

    type: ClassVar[str] = "status"
    status: RunStatus


@dataclass(frozen=True, slots=True)
class SuperstepStartedEvent(WorkflowEvent):
    """A superstep began; `executor_ids` are the executors with deliveries, in invocation order."""

    type: ClassVar[str] = "superstep_started"
    superstep: int
    executor_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SuperstepCompletedEvent(WorkflowEvent):
    """A superstep committed: its messages are routed and its state writes are visible."""

    type: ClassVar[str] = "superstep_completed"
    superstep: int


@dataclass(frozen=True, slots=True)
class ExecutorInvokedEvent(WorkflowEvent):
    """An executor's handler is about to handle one message."""

    type: ClassVar[str] = "executor_invoked"
    executor_id: str
    superstep: int


@dataclass(frozen=True, slots=True)
class ExecutorCompletedEvent(WorkflowEvent):
    """An executor's handler returned."""

    type: ClassVar[str] = "executor_completed"
    executor_id: str
    superstep: int


@dataclass(frozen=True, slots=True)
class ExecutorFailedEvent(WorkflowEvent):
    """An executor's handler raised; the run fails."""

    type: ClassVar[str] = "executor_failed"
    executor_id: str
    superstep: int
    error_type: str
    error: str


@dataclass(frozen=True, slots=True)
class OutputEvent(WorkflowEvent):
    """An executor yielded a workflow output."""

    type: ClassVar[str] = "output"
    executor_id: str
    data: Any


@dataclass(frozen=True, slots=True)
class RequestInfoEvent(WorkflowEvent):
    """An executor asked for outside input; answer it with ``run.respond({request_id: answer})``.

    The same value is kept in the run's state while the request is pending, so a checkpoint carries it.
    """

    type: ClassVar[str] = "request_info"
    request_id: str
    source_executor_id: str
    data: Any
    """The request payload the executor passed to ``ctx.request_info``."""
    response_type: Any
    """The type the answer must have (answers are validated, with lossless coercion, against it)."""


@dataclass(frozen=True, slots=True)
class MessageDroppedEvent(WorkflowEvent):
    """A message found no edge or handler that accepts it (never silently lost)."""

    type: ClassVar[str] = "message_dropped"
    source_id: str
    message_type: str
    reason: str
    target_id: str | None = None


@dataclass(frozen=True, slots=True)
class LoopBoundReachedEvent(WorkflowEvent):
    """An edge with `max_traversals` has carried its last message, so it held this one back.

    The message still goes wherever else it is routed (the next matching switch case, the default,
    another edge); when nothing else takes it, the loop has ended here by design, not by a drop.
    """

    type: ClassVar[str] = "loop_bound_reached"
    source_id: str
    target_id: str
    max_traversals: int
    message_type: str


@dataclass(frozen=True, slots=True)
class WarningEvent(WorkflowEvent):
    """Something worked but probably not as intended."""

    type: ClassVar[str] = "warning"
    message: str
    executor_id: str | None = None


@dataclass(frozen=True, slots=True)
class RunFailedEvent(WorkflowEvent):
    """The run ended in `failed`."""

    type: ClassVar[str] = "run_failed"
    superstep: int
    error_type: str
    error: str


_ANY_ADAPTER: TypeAdapter[Any] = TypeAdapter(Any)


def event_to_dict(event: WorkflowEvent) -> dict[str, Any]:
    """JSON-ready data for an event: its `type` plus its fields (payloads through pydantic)."""
    data: dict[str, Any] = {"type": event.type}
    if dataclasses.is_dataclass(event):
        for field in dataclasses.fields(event):
            value = getattr(event, field.name)
            if isinstance(value, type) or get_origin(value) is not None:
                data[field.name] = type_name(value)  # e.g. a request's response type
            else:
                data[field.name] = _ANY_ADAPTER.dump_python(value, mode="json")
    return data
