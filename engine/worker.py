"""`Worker`: a long-running coordinator that claims runnable runs from a leasing store and drives them.

Loop: claim the oldest run of one of its workflows that is runnable (new, answered, stopped) or whose
coordinator's lease expired (it died); reopen it from its latest checkpoint and resume it, with any
queued answers, until it rests (done, paused, failed, or stopped); the run's checkpointer releases the
lease with that outcome. `stop()` (SIGTERM in `baton worker`) finishes the superstep running now,
which saves its checkpoint, and releases the run as runnable for another worker.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable
from typing import Any

from engine.backends.base import Backend
from engine.errors import CheckpointError, LeaseError, RunError
from engine.events import RunStatus
from engine.log import get_logger
from engine.queue import decode_answers
from engine.run import Run, RunResult
from engine.stores.base import Claim, LeasingStore, RunOutcome
from engine.workflow import Workflow

__all__ = ["Worker"]

logger = get_logger(__name__)


class Worker:
    """Claims and drives the runs of `workflows` kept in `store`, one run at a time.

    `backend` is where the runs' executors execute (default: this event loop); `poll_seconds` is
    how long an idle worker waits before looking for work again.
    """

    __slots__ = (
        "_backend",
        "_by_signature",
        "_current",
        "_max_supersteps",
        "_stopping",
        "poll_seconds",
        "store",
    )

    def __init__(
        self,
        workflows: Iterable[Workflow],
        store: LeasingStore,
        *,
        backend: Backend | None = None,
        poll_seconds: float = 1.0,
        max_supersteps: int | None = None,
    ) -> None:
        if not isinstance(store, LeasingStore):
            raise TypeError(
                "a Worker claims runs from a store that leases them (PostgresCheckpointStore), "
                f"got {type(store).__name__}"
            )
        self._by_signature = {w.signature: w for w in workflows}
        if not self._by_signature:
            raise ValueError("a Worker needs at least one workflow whose runs it may drive")
        if not poll_seconds > 0:
            raise ValueError(f"poll_seconds must be positive, got {poll_seconds!r}")
        self.store = store
        self.poll_seconds = poll_seconds
        self._backend = backend
        self._max_supersteps = max_supersteps
        self._current: Run | None = None
        self._stopping = asyncio.Event()

    @property
    def current_run(self) -> Run | None:
        """The run being driven now, if any."""
        return self._current

    def stop(self) -> None:
        """Finish the superstep running now (checkpointed), release the run, and stop serving."""
        self._stopping.set()
        if self._current is not None:
            self._current.request_stop()

    async def serve(self) -> None:
        """Claim and drive runs until `stop()`; wait `poll_seconds` whenever there is nothing to do."""
        logger.info("worker_started", owner=self.store.owner, workflows=len(self._by_signature))
        while not self._stopping.is_set():
            if await self.run_once() is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self.poll_seconds)
        logger.info("worker_stopped", owner=self.store.owner)

    async def run_once(self) -> RunResult | None:
        """Claim one runnable run and drive it until it rests; `None` when there was nothing to claim.

        A run that fails is reported in the returned result (status `failed`), not raised: the worker
        goes on with the next run. A run interrupted by anything else (the database went away) is
        logged and left to its lease, and `None` is returned, so a serving worker pauses first.
        """
        if self._stopping.is_set():
            return None
        claim = await self.store.claim(list(self._by_signature))
        if claim is None:
            return None
        logger.info("run_claimed", run_id=claim.run_id, owner=self.store.owner)
        run = await self._reopen(claim)
        if run is None:
            return None
        self._current = run
        try:
            return await self._drive(run, claim)
        except Exception as error:  # e.g. the database went away: the lease lapses or was released
            logger.warning("run_interrupted", run_id=claim.run_id, error=repr(error))
            return None
        finally:
            self._current = None

    async def _reopen(self, claim: Claim) -> Run | None:
        workflow = self._by_signature[claim.graph_signature]
        try:
            return await workflow.reopen(
                claim.run_id,
                store=self.store,
                backend=self._backend,
                max_supersteps=self._max_supersteps,
            )
        except CheckpointError as error:
            latest = await self.store.latest(claim.run_id)
            done = latest is not None and latest.status is RunStatus.IDLE and not latest.pending
            outcome = RunOutcome.DONE if done else RunOutcome.FAILED
            if not done:
                logger.warning("run_unresumable", run_id=claim.run_id, error=str(error))
            await self.store.release(claim.run_id, outcome)
            return None

    async def _drive(self, run: Run, claim: Claim) -> RunResult:
        workflow = self._by_signature[claim.graph_signature]
        queued = decode_answers(workflow, claim.answers)
        # an answer already delivered before a coordinator died is in the checkpoint: skip it
        answers = {k: v for k, v in queued.items() if k in run.state.pending_requests}
        if self._stopping.is_set():
            run.request_stop()
        try:
            segment: Any = run.resume(answers or None)
            result: RunResult = await segment
        except RunError as error:
            logger.warning("run_failed_on_worker", run_id=run.run_id, error=str(error))
            assert error.result is not None
            return error.result
        except CheckpointError as error:  # the lease was lost, or the store failed: the run stays
            event = "run_lost" if isinstance(error, LeaseError) else "run_checkpoint_failed"
            logger.warning(event, run_id=run.run_id, error=str(error))
            return run.result()
        logger.info("run_rested", run_id=run.run_id, status=str(result.status))
        return result

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[asyncio.Task[None]]:
        """Serve in a background task for the block's duration; stop and wait for it on exit."""
        task = asyncio.create_task(self.serve())
        try:
            yield task
        finally:
            self.stop()
            await task
