"""Runs handed to workers: submit a new run, or answers for a paused one, to a leasing store.

Nothing here drives a run. `submit_run` saves the entry checkpoint and leaves the run `runnable`;
`submit_answers` checks the answers against the paused run's requests (so a bad answer is refused now,
not by a worker later), stores them encoded like a checkpoint and makes the run `runnable` again. A
worker (`engine.worker`) claims either and continues the run from its checkpoint.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from engine.serialization import TypeRegistry
from engine.stores.base import CheckpointStore, LeasingStore

if TYPE_CHECKING:
    from engine.workflow import Workflow

__all__ = ["decode_answers", "submit_answers", "submit_run"]


def _leasing(store: CheckpointStore) -> LeasingStore:
    if not isinstance(store, LeasingStore):
        raise TypeError(
            "runs are handed to workers through a store that leases runs "
            f"(PostgresCheckpointStore); {type(store).__name__} does not. Drive the run here "
            "with `workflow.run(...)` instead, or use a PostgreSQL store."
        )
    return store


async def submit_run(
    workflow: Workflow,
    message: Any,
    store: CheckpointStore,
    *,
    run_id: str | None = None,
    registry: TypeRegistry | None = None,
) -> str:
    """Save a new run of `workflow` for `message` as runnable; return its run id."""
    leasing = _leasing(store)
    run = workflow.start(message, run_id=run_id, checkpoint_store=leasing, registry=registry)
    await run.submit()
    return run.run_id


async def submit_answers(
    workflow: Workflow,
    run_id: str,
    responses: Mapping[str, Any],
    store: CheckpointStore,
    *,
    registry: TypeRegistry | None = None,
) -> None:
    """Check `responses` against the paused run's requests and queue them for a worker."""
    leasing = _leasing(store)
    run = await workflow.reopen(run_id, store=leasing, registry=registry)
    answers = run.check_answers(responses)
    data = workflow.registry(registry).encode(answers, f"the answers to run `{run_id}`")
    await leasing.post_answers(run_id, json.dumps(data))


def decode_answers(
    workflow: Workflow, text: str | None, registry: TypeRegistry | None = None
) -> dict[str, Any]:
    """Answers queued by `submit_answers`, decoded (an empty dict for none)."""
    if not text:
        return {}
    answers: dict[str, Any] = workflow.registry(registry).decode(json.loads(text), "queued answers")
    return answers
