"""`RunState`: everything that changes during one run, as a plain value that a checkpoint can capture.

The workflow holds configuration only; a run owns one `RunState`. Nothing in it refers to tasks, contexts
or executors, so it can be saved between supersteps and continued anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from engine.events import RequestInfoEvent, RunStatus

if TYPE_CHECKING:
    from engine.executor import HandlerSpec

__all__ = ["Delivery", "RecordedWrites", "RunState", "idempotency_key"]


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message waiting to be handled by `target_id` in the next superstep."""

    target_id: str
    payload: Any
    source_id: str | None
    """`None` for the run's input message."""
    handler: HandlerSpec | None = field(
        default=None, compare=False, repr=False, metadata={"checkpoint": False}
    )
    """The handler routing already chose (a cache, not part of the value: never saved)."""


@dataclass(slots=True)
class RunState:
    """The mutable state of one run."""

    run_id: str
    superstep: int = 0
    """Number of the last superstep started (0 before the first)."""
    status: RunStatus = RunStatus.RUNNING
    pending: list[Delivery] = field(default_factory=list)
    """Messages to deliver in the next superstep, already in delivery order."""
    fan_in_buffers: dict[int, dict[str, list[Any]]] = field(default_factory=dict)
    """Partial fan-in sets: edge group index -> source id -> messages in send order."""
    executor_states: dict[str, Any] = field(default_factory=dict)
    shared_state: dict[str, Any] = field(default_factory=dict)
    pending_requests: dict[str, RequestInfoEvent] = field(default_factory=dict)
    """Requests for outside input that wait for an answer, by request id, in the order they were made."""
    traversals: dict[str, int] = field(default_factory=dict)
    """Messages carried so far by each edge with `max_traversals`: ``"<group index>"`` for an edge,
    ``"<group index>:<case index>"`` for a switch case."""
    answered_request_ids: set[str] = field(default_factory=set)
    """Requests already answered, so a second answer is refused instead of delivered twice."""
    replay: dict[str, RecordedWrites] = field(default_factory=dict)
    """Results of executors that finished in a superstep that then failed; resuming that superstep
    reuses them instead of running those executors again."""


@dataclass(frozen=True, slots=True)
class RecordedWrites:
    """What one executor staged in a superstep: kept when a sibling failed, replayed on resume."""

    outbox: tuple[tuple[Any, str | None], ...]
    """Messages it sent, with the target id it named (or `None`)."""
    wrote_state: bool
    state: Any
    shared: dict[str, Any]
    """Shared-state writes (`engine.context.DELETED` for a deletion)."""
    requests: tuple[RequestInfoEvent, ...]
    outputs: tuple[Any, ...]
    """Workflow outputs it yielded; re-emitted as output events when the superstep is resumed."""


def idempotency_key(run_id: str, superstep: int, executor_id: str) -> str:
    """``run_id:superstep:executor_id``: one executor's invocation, equal across retries of it."""
    return f"{run_id}:{superstep}:{executor_id}"
