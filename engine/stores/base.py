"""The `CheckpointStore` protocol: where durable runs keep their checkpoints.

A store saves whole checkpoints atomically (body and new blobs in one transaction), returns them with
every blob they refer to, and never hands out a damaged checkpoint as valid: loading one raises
`CheckpointCorruptError` naming the newest intact checkpoint before it.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from engine.checkpoint import Checkpoint, CheckpointInfo

__all__ = ["CheckpointStore"]


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
