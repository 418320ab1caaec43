"""Durable runs: which store a run uses, and how a stored checkpoint becomes a running `Run` again.

Resuming by run id continues the run's lineage from its newest intact checkpoint (a damaged newest one
is skipped with a warning event). Resuming by checkpoint id forks: a new run id, a new lineage whose
entry checkpoint points at the one it came from, and the old lineage left as it was. Either way the
checkpoint's graph signature must match the workflow's, or nothing runs.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from engine.checkpoint import Checkpoint, restore_state
from engine.checkpointer import Checkpointer
from engine.errors import (
    CheckpointCorruptError,
    CheckpointError,
    CheckpointNotFoundError,
    GraphMismatchError,
)
from engine.events import RunStatus, WarningEvent, WorkflowEvent
from engine.serialization import TypeRegistry
from engine.signature import diff
from engine.state import RunState
from engine.stores.base import CheckpointStore
from engine.stores.sqlite import SqliteCheckpointStore

if TYPE_CHECKING:
    from engine.workflow import Workflow

__all__ = ["ResumePoint", "default_store", "find_resume_point", "new_checkpointer"]


def default_store() -> CheckpointStore:
    """The embedded default: a SQLite file (``$BATON_CHECKPOINTS`` or ``.baton/checkpoints.sqlite3``)."""
    return SqliteCheckpointStore()


def new_checkpointer(
    workflow: Workflow, store: CheckpointStore, registry: TypeRegistry
) -> Checkpointer:
    """A checkpointer for a fresh durable run of `workflow`."""
    return Checkpointer(
        store,
        registry,
        workflow_name=workflow.name,
        signature=workflow.signature,
        description=workflow.description,
    )


class ResumePoint:
    """A loaded checkpoint ready to continue: its restored state, checkpointer and any notices."""

    __slots__ = ("checkpointer", "notices", "state")

    def __init__(
        self, state: RunState, checkpointer: Checkpointer, notices: tuple[WorkflowEvent, ...]
    ) -> None:
        self.state = state
        self.checkpointer = checkpointer
        self.notices = notices


async def find_resume_point(
    workflow: Workflow,
    store: CheckpointStore,
    registry: TypeRegistry,
    *,
    run_id: str | None,
    checkpoint_id: str | None,
    new_run_id: str | None,
) -> ResumePoint:
    """Load, verify and restore the checkpoint to continue from (see the module docstring)."""
    if (run_id is None) == (checkpoint_id is None):
        raise ValueError("resume() needs exactly one of `run_id` or `checkpoint_id`")
    notices: list[WorkflowEvent] = []
    if checkpoint_id is not None:
        checkpoint = await store.load(checkpoint_id)
    else:
        assert run_id is not None
        checkpoint = await _latest_intact(store, run_id, notices)
    await _check_graph(workflow, store, checkpoint)
    if checkpoint.status is RunStatus.IDLE and not checkpoint.pending:
        raise CheckpointError(
            f"run `{checkpoint.run_id}` completed at superstep {checkpoint.superstep} (checkpoint "
            f"`{checkpoint.checkpoint_id}`); there is nothing left to resume. Resume an earlier "
            "checkpoint with `checkpoint_id=...` to run part of it again."
        )
    forks = checkpoint_id is not None
    target_run = (new_run_id or uuid.uuid4().hex) if forks else checkpoint.run_id
    state = restore_state(checkpoint, registry, target_run)
    checkpointer = Checkpointer(
        store,
        registry,
        workflow_name=workflow.name,
        signature=workflow.signature,
        description=workflow.description,
        parent=checkpoint,
        continues_parent=not forks,
    )
    return ResumePoint(state, checkpointer, tuple(notices))


async def _latest_intact(
    store: CheckpointStore, run_id: str, notices: list[WorkflowEvent]
) -> Checkpoint:
    try:
        checkpoint = await store.latest(run_id)
    except CheckpointCorruptError as damaged:
        if damaged.last_good_id is None:
            raise
        checkpoint = await store.load(damaged.last_good_id)
        notices.append(
            WarningEvent(
                f"the newest checkpoint `{damaged.checkpoint_id}` of run `{run_id}` is damaged; "
                f"resumed from the last good one, `{damaged.last_good_id}` (superstep "
                f"{checkpoint.superstep})."
            )
        )
    if checkpoint is None:
        raise CheckpointNotFoundError(
            f"the store has no checkpoints for run `{run_id}`; start it with "
            "`workflow.run(..., checkpoint_store=store)` or check the run id "
            "(`await store.list_runs()` lists them)."
        )
    return checkpoint


async def _check_graph(workflow: Workflow, store: CheckpointStore, checkpoint: Checkpoint) -> None:
    if checkpoint.graph_signature == workflow.signature:
        return
    before = checkpoint.graph or await _entry_graph(store, checkpoint)
    changes = diff(before, workflow.description) if before is not None else []
    detail = "; ".join(changes) if changes else "the stored graph description is unavailable"
    raise GraphMismatchError(
        f"checkpoint `{checkpoint.checkpoint_id}` of run `{checkpoint.run_id}` was taken on a "
        f"different graph than `{workflow.name}`: {detail}. Resume it with the workflow it was "
        "started with, or start a new run."
    )


async def _entry_graph(store: CheckpointStore, checkpoint: Checkpoint) -> dict[str, Any] | None:
    for info in await store.list_checkpoints(checkpoint.run_id):
        if info.reason == "entry":
            try:
                return (await store.load(info.checkpoint_id)).graph
            except CheckpointError:
                return None
    return None
