"""`Checkpoint`: a run's state at a superstep boundary, as JSON-ready data, and the way back to a `RunState`.

A checkpoint holds the messages in flight, fan-in buffers, pending requests, the superstep number, the
status and the graph signature inline. Executor states and shared-state values are *blobs*: each is
written once, when it changes, under a key; a checkpoint refers to the current key of every state, so
the cost of a checkpoint follows what changed, not how much state the run holds. `blobs` carries the
blobs written with this checkpoint when it is saved, and every blob it refers to when it is loaded.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from engine.errors import CheckpointCorruptError
from engine.events import RequestInfoEvent, RunStatus
from engine.serialization import TypeRegistry
from engine.state import Delivery, RecordedWrites, RunState

__all__ = [
    "Checkpoint",
    "CheckpointInfo",
    "CheckpointReason",
    "blob_keys_of",
    "body_digest",
    "checkpoint_from_json",
    "checkpoint_to_json",
    "corrupt",
    "new_checkpoint",
    "restore_state",
]

CheckpointReason = Literal["entry", "superstep", "responses", "failure"]


class CheckpointInfo(BaseModel):
    """What a store can tell about a checkpoint without loading it."""

    model_config = ConfigDict(frozen=True)

    checkpoint_id: str
    run_id: str
    parent_id: str | None
    superstep: int
    status: RunStatus
    reason: CheckpointReason
    created_at: float


class Checkpoint(CheckpointInfo):
    """Everything needed to continue a run: see the module docstring for how states are stored."""

    workflow_name: str
    graph_signature: str
    graph: dict[str, Any] | None = None
    """The graph description, on the first checkpoint of a run (to explain a signature mismatch)."""
    pending: list[dict[str, Any]]
    """Messages in flight: ``{"target", "source", "payload"}`` in delivery order."""
    fan_in_buffers: dict[str, dict[str, list[Any]]]
    executor_states: dict[str, str]
    """Executor id -> blob key of its state."""
    shared_state: dict[str, str]
    """Shared-state key -> blob key of its value."""
    pending_requests: list[Any]
    answered_request_ids: list[str]
    traversals: dict[str, int] = {}
    """Messages carried so far by each edge with `max_traversals` (see `RunState.traversals`)."""
    completed: dict[str, Any]
    """On a failure checkpoint: what the executors that finished before the failure staged."""
    error: str | None = None
    outputs: list[dict[str, Any]] = []
    """Workflow outputs yielded in the superstep this checkpoint closes: ``{"executor_id", "data"}``
    (or ``{"executor_id", "unserializable": type name}`` for a value the registry cannot write)."""
    blobs: dict[str, Any]

    @property
    def info(self) -> CheckpointInfo:
        """The metadata part."""
        return CheckpointInfo(**{name: getattr(self, name) for name in CheckpointInfo.model_fields})

    @property
    def blob_keys(self) -> set[str]:
        """Every blob this checkpoint refers to."""
        return {*self.executor_states.values(), *self.shared_state.values()}


_FIELDS = frozenset(Checkpoint.model_fields)


def new_checkpoint(**fields: Any) -> Checkpoint:
    """A `Checkpoint` from already-valid fields, without validation: the checkpointer's hot path.

    `model_construct` walks every field's defaults and costs ~8 us; a durable run builds one
    checkpoint per superstep, so this sets the same four slots pydantic's constructor sets (~1 us).
    Every field must be given; a test compares the result with `model_construct`.
    """
    if fields.keys() != _FIELDS:
        raise TypeError(f"new_checkpoint() needs exactly the fields {sorted(_FIELDS)}")
    checkpoint = object.__new__(Checkpoint)
    object.__setattr__(checkpoint, "__dict__", fields)
    object.__setattr__(checkpoint, "__pydantic_fields_set__", set(_FIELDS))
    object.__setattr__(checkpoint, "__pydantic_extra__", None)
    object.__setattr__(checkpoint, "__pydantic_private__", None)
    return checkpoint


def checkpoint_to_json(checkpoint: Checkpoint) -> tuple[str, dict[str, str]]:
    """The checkpoint's body (without blobs) as JSON text, and each blob as JSON text."""
    fields = {name: getattr(checkpoint, name) for name in type(checkpoint).model_fields}
    del fields["blobs"]
    fields["status"] = str(checkpoint.status)
    body = json.dumps(fields, separators=(",", ":"))
    blobs = {
        key: json.dumps(value, separators=(",", ":")) for key, value in checkpoint.blobs.items()
    }
    return body, blobs


def body_digest(text: str) -> str:
    """The integrity digest stores keep beside a body or blob."""
    return hashlib.sha256(text.encode()).hexdigest()


def checkpoint_from_json(body: str, blobs: dict[str, str]) -> Checkpoint:
    """Parse a stored checkpoint body and its blobs; raise `ValueError` saying what is damaged."""
    try:
        data = json.loads(body)
        data["blobs"] = {key: json.loads(text) for key, text in blobs.items()}
        checkpoint = Checkpoint.model_validate(data)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"it cannot be parsed ({type(exc).__name__}: {exc})") from exc
    missing = checkpoint.blob_keys - checkpoint.blobs.keys()
    if missing:
        raise ValueError(f"state blobs {sorted(missing)} are missing")
    return checkpoint


def blob_keys_of(body: str) -> set[str]:
    """The blob keys a stored body refers to; raise `ValueError` when the body cannot be parsed."""
    try:
        data = json.loads(body)
        return {*data["executor_states"].values(), *data["shared_state"].values()}
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise ValueError(f"it cannot be parsed ({type(exc).__name__}: {exc})") from exc


def corrupt(checkpoint_id: str, why: str, last_good_id: str | None) -> CheckpointCorruptError:
    """The error for a damaged checkpoint, naming the newest intact one before it."""
    fallback = (
        f"the last good checkpoint of this run is `{last_good_id}`; resume from it with "
        f"`checkpoint_id={last_good_id!r}`"
        if last_good_id
        else "no earlier checkpoint of this run is intact"
    )
    return CheckpointCorruptError(
        f"checkpoint `{checkpoint_id}` is damaged and was not loaded: {why}; {fallback}.",
        checkpoint_id=checkpoint_id,
        last_good_id=last_good_id,
    )


def restore_state(checkpoint: Checkpoint, registry: TypeRegistry, run_id: str) -> RunState:
    """Rebuild the `RunState` a checkpoint captured (under `run_id`, which differs for a fork)."""
    where = f"checkpoint `{checkpoint.checkpoint_id}`"
    decode = registry.decode
    state = RunState(run_id=run_id, superstep=checkpoint.superstep, status=checkpoint.status)
    state.pending = [
        Delivery(item["target"], decode(item["payload"], f"a message in {where}"), item["source"])
        for item in checkpoint.pending
    ]
    state.fan_in_buffers = {
        int(index): {
            source: [decode(m, f"a fan-in buffer in {where}") for m in messages]
            for source, messages in buffer.items()
        }
        for index, buffer in checkpoint.fan_in_buffers.items()
    }
    blobs = checkpoint.blobs
    state.executor_states = {
        eid: decode(blobs[key], f"the state of `{eid}` in {where}")
        for eid, key in checkpoint.executor_states.items()
    }
    state.shared_state = {
        name: decode(blobs[key], f"shared key `{name}` in {where}")
        for name, key in checkpoint.shared_state.items()
    }
    for item in checkpoint.pending_requests:
        request = decode(item, f"a pending request in {where}")
        assert isinstance(request, RequestInfoEvent)
        state.pending_requests[request.request_id] = request
    state.answered_request_ids = set(checkpoint.answered_request_ids)
    state.traversals = dict(checkpoint.traversals)
    for eid, item in checkpoint.completed.items():
        writes = decode(item, f"the recorded results of `{eid}` in {where}")
        assert isinstance(writes, RecordedWrites)
        state.replay[eid] = writes
    return state
