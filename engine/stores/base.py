"""The `CheckpointStore` protocol: where durable runs keep their checkpoints.

A store saves whole checkpoints atomically (body and new blobs in one transaction), returns them with
every blob they refer to, and never hands out a damaged checkpoint as valid: loading one raises
`CheckpointCorruptError` naming the newest intact checkpoint before it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from engine.checkpoint import Checkpoint, CheckpointInfo

__all__ = ["CheckpointStore", "Claim", "LeasingStore", "RunOutcome"]


@runtime_checkable
class CheckpointStore(Protocol):
    """Persistence for checkpoints. Every method is safe to call from concurrent runs."""

    async def save(self, checkpoint: Checkpoint) -> None:
        """Store `checkpoint` and the blobs it carries, atomically."""
        ...

    async def load(self, checkpoint_id: str) -> Checkpoint:
        """The checkpoint with every blob it refers to.

        Raises `CheckpointNotFoundError` for an unknown id and `CheckpointCorruptError` for a damaged one.
        """
        ...

    async def list_checkpoints(self, run_id: str) -> list[CheckpointInfo]:
        """A run's checkpoints, oldest first (empty for an unknown run)."""
        ...

    async def latest(self, run_id: str) -> Checkpoint | None:
        """The newest checkpoint of `run_id` (`None` for an unknown run); raises like `load`."""
        ...

    async def list_runs(self) -> list[str]:
        """Every run with at least one checkpoint, oldest first."""
        ...

    async def delete_run(self, run_id: str) -> int:
        """Delete a run's checkpoints and blobs; return how many checkpoints were deleted."""
        ...


class RunOutcome(enum.StrEnum):
    """Where a run stands for coordinators once its lease is released."""

    RUNNABLE = "runnable"
    """Work is waiting: new, answered, or stopped between supersteps. Any worker may claim it."""
    PAUSED = "paused"
    """It waits for answers to its requests."""
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Claim:
    """A run this coordinator now holds: its id, graph, fencing token and any answers waiting."""

    run_id: str
    graph_signature: str
    token: int
    answers: str | None


@runtime_checkable
class LeasingStore(CheckpointStore, Protocol):
    """A store shared by several coordinators, where one at a time drives a run through its lease.

    The lease is taken when a segment of the run starts, renewed with every checkpoint (which fails
    with `LeaseLostError` once another coordinator took the run) and by a heartbeat every third of
    `lease_seconds`, and released with the run's outcome when the segment ends. `claim` and
    `post_answers` make it a queue that workers take runs from (`engine.worker`).
    """

    owner: str
    lease_seconds: float

    async def acquire(self, run_id: str, *, workflow_name: str, signature: str) -> None:
        """Hold `run_id`'s lease (no-op when held already); `RunLeasedError` if another holds it."""
        ...

    def holds(self, run_id: str) -> bool:
        """Whether this store holds `run_id`'s lease."""
        ...

    async def renew(self, run_id: str) -> None:
        """Extend a held lease; `LeaseLostError` when another coordinator took the run over."""
        ...

    async def release(self, run_id: str, outcome: RunOutcome) -> None:
        """Give up a held lease, recording where the run stands (no-op when not held)."""
        ...

    async def claim(self, signatures: list[str]) -> Claim | None:
        """Hold the oldest runnable (or orphaned) run of one of `signatures`; `None` if none."""
        ...

    async def post_answers(self, run_id: str, answers: str) -> None:
        """Queue encoded answers for a paused run, for a worker to continue it with them."""
        ...
