"""`Checkpointer`: turns a durable run's superstep boundaries into saved checkpoints.

It keeps the blob key of every executor state and shared value it has written, so a checkpoint encodes
only what the superstep changed (the states it wrote, the messages now in flight) and refers to the rest.
The runner calls it at each boundary; the run calls it at entry and when answers arrive.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from typing import Any

from engine.checkpoint import Checkpoint, CheckpointReason, new_checkpoint
from engine.errors import (
    CheckpointError,
    ExecutorFailedError,
    LeaseLostError,
    RunError,
    SerializationError,
)
from engine.events import RunStatus
from engine.log import get_logger
from engine.serialization import TypeRegistry
from engine.state import RecordedWrites, RunState
from engine.stores.base import CheckpointStore, LeasingStore, RunOutcome

__all__ = ["Checkpointer"]

logger = get_logger(__name__)


_OUTCOMES = {
    RunStatus.FAILED: RunOutcome.FAILED,
    RunStatus.IDLE_WITH_PENDING_REQUESTS: RunOutcome.PAUSED,
    RunStatus.IDLE: RunOutcome.DONE,
}
"""Lease outcomes by where a run rests; a run still running (stopped between supersteps) is runnable."""


def _resting_status(state: RunState) -> RunStatus:
    """The run's status at a superstep boundary: its own while messages wait, else idle or paused."""
    if state.pending:
        return state.status
    return RunStatus.IDLE_WITH_PENDING_REQUESTS if state.pending_requests else RunStatus.IDLE


class Checkpointer:
    """Saves the checkpoints of one run lineage into `store`.

    On a `LeasingStore` it also holds the run's lease while a segment runs: taken in `begin`,
    renewed by a heartbeat (and by every save, in the store), released with the outcome in `end`.
    """

    __slots__ = (
        "_blob_count",
        "_heartbeat",
        "_leasing",
        "_blob_prefix",
        "_checkpoint_count",
        "_description",
        "_id_prefix",
        "_needs_entry",
        "_new_blobs",
        "_registry",
        "_shared_keys",
        "_signature",
        "_state_keys",
        "_store",
        "_workflow_name",
        "latest_id",
    )

    def __init__(
        self,
        store: CheckpointStore,
        registry: TypeRegistry,
        *,
        workflow_name: str,
        signature: str,
        description: dict[str, Any],
        parent: Checkpoint | None = None,
        continues_parent: bool = False,
    ) -> None:
        """Set up a lineage; `parent` is the checkpoint a resumed run starts from.

        `continues_parent` says whether the run keeps its run id (its blobs are in the store
        already) or forks a new lineage.
        """
        self._store = store
        self._leasing = store if isinstance(store, LeasingStore) else None
        self._heartbeat: asyncio.Task[None] | None = None
        self._registry = registry
        self._workflow_name = workflow_name
        self._signature = signature
        self._description = description
        self._id_prefix = uuid.uuid4().hex  # ids are prefix-counter: unique without a uuid each
        self._checkpoint_count = 0
        self._blob_prefix = self._id_prefix[:12]
        self._blob_count = 0
        self._new_blobs: dict[str, Any] = {}
        self.latest_id: str | None = parent.checkpoint_id if parent is not None else None
        """The id of the newest checkpoint saved (or resumed from)."""
        self._needs_entry = not continues_parent
        self._state_keys: dict[str, str] = {}
        self._shared_keys: dict[str, str] = {}
        if parent is not None and continues_parent:
            self._state_keys = dict(parent.executor_states)
            self._shared_keys = dict(parent.shared_state)

    def _blob(self, value: Any, where: str) -> str:
        self._blob_count += 1
        key = f"{self._blob_prefix}.{self._blob_count}"
        self._new_blobs[key] = self._registry.encode(value, where)
        return key

    async def begin(self, state: RunState) -> None:
        """Save the entry checkpoint of a new lineage (a fresh run or a fork); no-op otherwise.

        A run id the store already has is refused: its checkpoints would interleave with this run's.
        On a leasing store, every segment first takes the run's lease (`RunLeasedError` when
        another coordinator drives it).
        """
        if not self._needs_entry:
            await self._hold(state.run_id)
            return
        if await self._store.list_checkpoints(state.run_id):
            raise CheckpointError(
                f"the store already has a run `{state.run_id}`; a new run under that id would mix "
                f"two runs' checkpoints. Continue it with `workflow.resume({state.run_id!r})` "
                "(`baton runs resume`), or start this one under another run id."
            )
        await self._hold(state.run_id)
        self._needs_entry = False
        for eid, value in state.executor_states.items():
            self._state_keys[eid] = self._blob(value, f"the state of executor `{eid}`")
        for key, value in state.shared_state.items():
            self._shared_keys[key] = self._blob(value, f"shared state key `{key}`")
        await self._save(state, "entry", state.status)

    async def _hold(self, run_id: str) -> None:
        leasing = self._leasing
        if leasing is None:
            return
        await leasing.acquire(run_id, workflow_name=self._workflow_name, signature=self._signature)
        if self._heartbeat is None:
            self._heartbeat = asyncio.create_task(self._renew_every(leasing, run_id))

    async def _renew_every(self, leasing: LeasingStore, run_id: str) -> None:
        """Keep the lease through supersteps longer than it lasts (saves renew it too)."""
        while True:
            await asyncio.sleep(leasing.lease_seconds / 3)
            try:
                await leasing.renew(run_id)
            except LeaseLostError:
                return  # the next save raises it where the run can stop
            except Exception as error:  # a passing database problem: the next beat tries again
                logger.warning("lease_renewal_failed", run_id=run_id, error=str(error))

    async def end(self, state: RunState) -> None:
        """The segment ended: stop the heartbeat and release the lease with where the run stands."""
        beat, self._heartbeat = self._heartbeat, None
        if beat is not None:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat
        leasing = self._leasing
        if leasing is None or not leasing.holds(state.run_id):
            return
        status = RunStatus.FAILED if state.status is RunStatus.FAILED else _resting_status(state)
        await leasing.release(state.run_id, _OUTCOMES.get(status, RunOutcome.RUNNABLE))

    async def after_responses(self, state: RunState) -> None:
        """Save the checkpoint taken when answers arrive (they are now messages in flight)."""
        await self._save(state, "responses", state.status)

    async def after_superstep(
        self, state: RunState, writes: list[tuple[str, RecordedWrites]]
    ) -> None:
        """Save the checkpoint after a committed superstep, encoding only what it changed."""
        for eid, staged in writes:
            if staged.wrote_state:
                self._state_keys[eid] = self._blob(staged.state, f"the state of executor `{eid}`")
            for key in staged.shared:
                if key in state.shared_state:
                    where = f"shared state key `{key}` (written by `{eid}`)"
                    self._shared_keys[key] = self._blob(state.shared_state[key], where)
                else:
                    self._shared_keys.pop(key, None)
        status = _resting_status(state)
        outputs = [self._output(eid, value) for eid, staged in writes for value in staged.outputs]
        await self._save(state, "superstep", status, outputs=outputs)

    def _output(self, executor_id: str, value: Any) -> dict[str, Any]:
        """An output as stored for `baton runs show`; never fails the run (outputs are not state)."""
        try:
            data = self._registry.encode(value, f"an output of `{executor_id}`")
        except SerializationError:
            return {"executor_id": executor_id, "unserializable": type(value).__qualname__}
        return {"executor_id": executor_id, "data": data}

    async def after_failure(
        self, state: RunState, completed: dict[str, RecordedWrites], error: RunError
    ) -> None:
        """Save a failure checkpoint: the state before the superstep plus its siblings' results."""
        failed = error.executor_id if isinstance(error, ExecutorFailedError) else None
        done = {
            eid: self._registry.encode(writes, f"the recorded results of `{eid}`")
            for eid, writes in completed.items()
            if eid != failed
        }
        await self._save(state, "failure", RunStatus.FAILED, completed=done, error=str(error))

    async def _save(
        self,
        state: RunState,
        reason: CheckpointReason,
        status: RunStatus,
        *,
        completed: dict[str, Any] | None = None,
        error: str | None = None,
        outputs: list[dict[str, Any]] | None = None,
    ) -> None:
        encode = self._registry.encode
        pending = [
            {
                "target": d.target_id,
                "source": d.source_id,
                "payload": encode(d.payload, f"a message from `{d.source_id}` to `{d.target_id}`"),
            }
            for d in state.pending
        ]
        buffers = {
            str(index): {
                source: [encode(m, f"the fan-in buffer of `{source}`") for m in messages]
                for source, messages in buffer.items()
            }
            for index, buffer in state.fan_in_buffers.items()
        }
        requests = [
            encode(r, f"the pending request `{r.request_id}` of `{r.source_executor_id}`")
            for r in state.pending_requests.values()
        ]
        self._checkpoint_count += 1
        checkpoint = new_checkpoint(
            checkpoint_id=f"{self._id_prefix}-{self._checkpoint_count}",
            run_id=state.run_id,
            parent_id=self.latest_id,
            superstep=state.superstep,
            status=status,
            reason=reason,
            created_at=time.time(),
            workflow_name=self._workflow_name,
            graph_signature=self._signature,
            graph=self._description if reason == "entry" else None,
            pending=pending,
            fan_in_buffers=buffers,
            executor_states=dict(self._state_keys),
            shared_state=dict(self._shared_keys),
            pending_requests=requests,
            answered_request_ids=sorted(state.answered_request_ids)
            if state.answered_request_ids
            else [],
            traversals=dict(state.traversals) if state.traversals else {},
            completed=completed or {},
            error=error,
            outputs=outputs or [],
            blobs=self._new_blobs,
        )
        await self._store.save(checkpoint)
        self._new_blobs = {}  # kept until saved, so a failed save loses no blob
        self.latest_id = checkpoint.checkpoint_id
