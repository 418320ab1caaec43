"""`Run` and `RunResult`: one execution of a workflow, driven to idle, awaited or streamed.

A run owns its `RunState` and its event list; the workflow it runs is shared configuration. Awaiting a
run collects events into a `RunResult`; streaming yields the same events as they happen, from a task
that drives the same loop. Both end the same way: a `RunResult`, or the run's `RunError` raised after the
`run_failed` event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import structlog

from engine.errors import ExecutorFailedError, RunError
from engine.events import (
    OutputEvent,
    RunFailedEvent,
    RunStartedEvent,
    RunStatus,
    StatusEvent,
    WorkflowEvent,
)
from engine.executor import Executor
from engine.log import get_logger, is_enabled
from engine.routing import Router
from engine.runner import Runner
from engine.state import RunState

__all__ = ["Run", "RunResult"]

logger = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class RunResult:
    """How a run ended: its outputs, status and every event, in order."""

    run_id: str
    status: RunStatus
    outputs: tuple[Any, ...]
    events: tuple[WorkflowEvent, ...]
    supersteps: int
    """How many supersteps ran."""


class Run:
    """One execution of a workflow. Create it with `Workflow.run()` (or `Workflow.start()`)."""

    __slots__ = ("_events", "_listener", "_runner", "_started", "_state", "_workflow_name")

    def __init__(
        self,
        *,
        workflow_name: str,
        executors: Mapping[str, Executor],
        router: Router,
        state: RunState,
        max_supersteps: int,
    ) -> None:
        self._workflow_name = workflow_name
        self._state = state
        self._events: list[WorkflowEvent] = []
        self._listener: asyncio.Queue[WorkflowEvent | None] | None = None
        self._started = False
        self._runner = Runner(executors, router, state, self._emit, max_supersteps)

    @property
    def run_id(self) -> str:
        """This run's id."""
        return self._state.run_id

    @property
    def status(self) -> RunStatus:
        """Where the run stands now."""
        return self._state.status

    @property
    def state(self) -> RunState:
        """The run's mutable state (the value a checkpoint captures)."""
        return self._state

    def _emit(self, event: WorkflowEvent) -> None:
        self._events.append(event)
        if self._listener is not None:
            self._listener.put_nowait(event)

    def result(self) -> RunResult:
        """A snapshot of the run so far as a `RunResult`."""
        events = tuple(self._events)
        outputs = tuple(e.data for e in events if isinstance(e, OutputEvent))
        return RunResult(self.run_id, self.status, outputs, events, self._state.superstep)

    def _claim(self) -> None:
        if self._started:
            raise RuntimeError(
                f"run `{self.run_id}` was already driven; start a new one with `workflow.run()`."
            )
        self._started = True

    async def execute(self) -> RunResult:
        """Drive the run until it is idle and return its result; raise its `RunError` if it fails."""
        self._claim()
        await self._drive()
        return self.result()

    async def stream(self) -> AsyncIterator[WorkflowEvent]:
        """Drive the run, yielding each event as it happens; raise its `RunError` if it fails."""
        self._claim()
        queue: asyncio.Queue[WorkflowEvent | None] = asyncio.Queue()
        self._listener = queue
        self._runner.yield_every = 1  # the consumer should see each superstep's events promptly
        self._runner.streaming = True
        task = asyncio.create_task(self._drive())
        task.add_done_callback(lambda _: queue.put_nowait(None))
        try:
            while (event := await queue.get()) is not None:
                yield event
            task.result()
        finally:
            self._listener = None
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _drive(self) -> None:
        state = self._state
        logs = is_enabled(__name__, logging.INFO)
        with structlog.contextvars.bound_contextvars(run_id=state.run_id):
            if logs:
                logger.info("run_started", workflow=self._workflow_name)
            self._emit(RunStartedEvent(state.run_id, self._workflow_name))
            self._set_status(RunStatus.RUNNING)
            try:
                await self._runner.run_until_idle()
            except RunError as error:
                self._fail(error)
                raise
            self._set_status(RunStatus.IDLE)
            if logs:
                logger.info("run_completed", supersteps=state.superstep)

    def _fail(self, error: RunError) -> None:
        step = error.superstep
        self._emit(RunFailedEvent(step, type(error).__name__, str(error)))
        self._set_status(RunStatus.FAILED)
        where = error.executor_id if isinstance(error, ExecutorFailedError) else None
        logger.info("run_failed", superstep=step, error=type(error).__name__, executor_id=where)
        error.result = self.result()

    def _set_status(self, status: RunStatus) -> None:
        self._state.status = status
        self._emit(StatusEvent(status))
