"""`InMemoryCheckpointStore`: checkpoints in a dict, for tests and runs that need not survive the process."""

from __future__ import annotations

from engine.checkpoint import Checkpoint, CheckpointInfo
from engine.errors import CheckpointNotFoundError

__all__ = ["InMemoryCheckpointStore"]


class InMemoryCheckpointStore:
    """Keeps checkpoints as values (already JSON-ready data), so saving costs no serialization."""

    __slots__ = ("_blobs", "_checkpoints", "_runs")

    def __init__(self) -> None:
        self._checkpoints: dict[str, Checkpoint] = {}
        self._runs: dict[str, list[str]] = {}
        self._blobs: dict[str, dict[str, object]] = {}

    async def save(self, checkpoint: Checkpoint) -> None:
        """Store `checkpoint`; its blobs join the run's blobs."""
        self._checkpoints[checkpoint.checkpoint_id] = checkpoint
        self._runs.setdefault(checkpoint.run_id, []).append(checkpoint.checkpoint_id)
        if checkpoint.blobs:
            self._blobs.setdefault(checkpoint.run_id, {}).update(checkpoint.blobs)

    async def load(self, checkpoint_id: str) -> Checkpoint:
        """The checkpoint with every blob it refers to."""
        checkpoint = self._checkpoints.get(checkpoint_id)
        if checkpoint is None:
            raise CheckpointNotFoundError(
                f"no checkpoint `{checkpoint_id}` in this in-memory store"
            )
        run_blobs = self._blobs.get(checkpoint.run_id, {})
        blobs = {key: run_blobs[key] for key in checkpoint.blob_keys}
        return checkpoint.model_copy(update={"blobs": blobs})

    async def list_checkpoints(self, run_id: str) -> list[CheckpointInfo]:
        """A run's checkpoints, oldest first."""
        return [self._checkpoints[cid].info for cid in self._runs.get(run_id, ())]

    async def latest(self, run_id: str) -> Checkpoint | None:
        """The newest checkpoint of `run_id`, or `None`."""
        ids = self._runs.get(run_id)
        return await self.load(ids[-1]) if ids else None

    async def list_runs(self) -> list[str]:
        """Every run with a checkpoint, oldest first."""
        return list(self._runs)

    async def delete_run(self, run_id: str) -> int:
        """Forget a run; return how many checkpoints it had."""
        ids = self._runs.pop(run_id, [])
        for cid in ids:
            del self._checkpoints[cid]
        self._blobs.pop(run_id, None)
        return len(ids)
