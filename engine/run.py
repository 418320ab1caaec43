"""`Run` and `RunResult`: one execution of a workflow, driven to idle in segments, awaited or streamed.

A run owns its `RunState`; the workflow it runs is shared configuration. The first segment starts with
the input message; a run that pauses for human input is continued by `respond()`, each call one more
segment. Awaiting a segment returns a `RunResult` of that segment; streaming yields the same events as
they happen. A failed segment raises its `RunError` after the `run_failed` event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Coroutine, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, overload

import structlog
from pydantic import TypeAdapter, ValidationError

from engine.errors import CheckpointError, ExecutorFailedError, ResponseError, RunError
from engine.events import (
    OutputEvent,
    RequestInfoEvent,
    RunFailedEvent,
    RunStartedEvent,
    RunStatus,
    StatusEvent,
    WarningEvent,
    WorkflowEvent,
)
from engine.executor import Executor
from engine.log import get_logger, is_enabled
from engine.requests import RequestResponse
from engine.routing import Router
from engine.runner import Runner
from engine.state import Delivery, RunState
from engine.typecheck import type_name

if TYPE_CHECKING:
    from engine.backends.base import Dispatcher
    from engine.checkpointer import Checkpointer

__all__ = ["Run", "RunResult"]

logger = get_logger(__name__)

_PAUSED = (RunStatus.IDLE_WITH_PENDING_REQUESTS, RunStatus.IN_PROGRESS_PENDING_REQUESTS)


@dataclass(frozen=True, slots=True)
class RunResult:
    """How a run segment ended: its outputs, status, events, and the requests still waiting."""

    run_id: str
    status: RunStatus
    outputs: tuple[Any, ...]
    """Outputs yielded in this segment (since the run started, or since the last `respond()`)."""
    events: tuple[WorkflowEvent, ...]
    supersteps: int
    """The number of the last superstep run (counted from the run's start)."""
    requests: tuple[RequestInfoEvent, ...] = ()
    """Requests for outside input still waiting for an answer, in the order they were made."""
    run: Run | None = None
    """The run itself, to continue it with ``await result.run.respond({...})``."""
    checkpoint_id: str | None = None
    """The run's latest checkpoint, when it is durable."""


class Run:
    """One execution of a workflow. Create it with `Workflow.run()` (or `Workflow.start()`)."""

    __slots__ = (
        "_checkpointer",
        "_driving",
        "_events",
        "_listener",
        "_notices",
        "_runner",
        "_started",
        "_state",
        "_workflow_name",
    )

    def __init__(
        self,
        *,
        workflow_name: str,
        executors: Mapping[str, Executor],
        router: Router,
        state: RunState,
        max_supersteps: int,
        checkpointer: Checkpointer | None = None,
        notices: tuple[WorkflowEvent, ...] = (),
        dispatcher: Dispatcher | None = None,
    ) -> None:
        """Set up a run over `state`.

        `notices` are events a restored run reports when it is resumed (see `Workflow.reopen`);
        `dispatcher` runs its supersteps' invocations on a backend (`None`: in the event loop).
        """
        self._workflow_name = workflow_name
        self._state = state
        self._events: list[WorkflowEvent] = []
        self._listener: asyncio.Queue[WorkflowEvent | None] | None = None
        self._started = False
        self._driving = False
        self._checkpointer = checkpointer
        self._notices = notices
        self._runner = Runner(
            executors, router, state, self._emit, max_supersteps, dispatcher=dispatcher
        )
        self._runner.checkpoints = checkpointer

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

    @property
    def pending_requests(self) -> tuple[RequestInfoEvent, ...]:
        """Requests waiting for an answer, in the order they were made."""
        return tuple(self._state.pending_requests.values())

    def _emit(self, event: WorkflowEvent) -> None:
        self._events.append(event)
        if self._listener is not None:
            self._listener.put_nowait(event)
        if type(event) is RequestInfoEvent and self._state.status is RunStatus.RUNNING:
            self._set_status(RunStatus.IN_PROGRESS_PENDING_REQUESTS)

    def result(self) -> RunResult:
        """The current (or last) segment so far as a `RunResult`."""
        events = tuple(self._events)
        outputs = tuple(e.data for e in events if isinstance(e, OutputEvent))
        checkpoint = self._checkpointer.latest_id if self._checkpointer is not None else None
        return RunResult(
            self.run_id,
            self.status,
            outputs,
            events,
            self._state.superstep,
            self.pending_requests,
            self,
            checkpoint,
        )

    def _claim(self) -> None:
        if self._started:
            raise RuntimeError(
                f"run `{self.run_id}` was already driven; continue it with `respond()` or start a "
                "new one with `workflow.run()`."
            )
        self._started = True

    async def execute(self) -> RunResult:
        """Drive the run until it is idle and return its result; raise its `RunError` if it fails."""
        self._claim()
        return await self._segment(None)

    def stream(self) -> AsyncIterator[WorkflowEvent]:
        """Drive the run, yielding each event as it happens; raise its `RunError` if it fails."""
        self._claim()
        return self._stream_segment(None)

    @overload
    def respond(
        self, responses: Mapping[str, Any], *, stream: Literal[False] = False
    ) -> Coroutine[Any, Any, RunResult]: ...

    @overload
    def respond(
        self, responses: Mapping[str, Any], *, stream: Literal[True]
    ) -> AsyncIterator[WorkflowEvent]: ...

    @overload
    def respond(
        self, responses: Mapping[str, Any], *, stream: bool
    ) -> Coroutine[Any, Any, RunResult] | AsyncIterator[WorkflowEvent]: ...

    def respond(
        self, responses: Mapping[str, Any], *, stream: bool = False
    ) -> Coroutine[Any, Any, RunResult] | AsyncIterator[WorkflowEvent]:
        """Answer pending requests (``{request_id: answer}``) and drive the run until idle again.

        Partial answers are fine: unanswered requests stay pending. Answers are validated against each
        request's response type (with pydantic's lossless coercion) before anything changes; a bad
        call raises `ResponseError` and leaves the run exactly as it was.
        """
        if not isinstance(responses, Mapping):
            raise TypeError(
                "respond() takes a mapping of request id to answer, e.g. "
                f"`{{request_id: answer}}`, got {type(responses).__name__}"
            )
        answers = dict(responses)
        return self._stream_segment(answers) if stream else self._segment(answers)

    def resume(
        self, responses: Mapping[str, Any] | None = None, *, stream: bool = False
    ) -> Coroutine[Any, Any, RunResult] | AsyncIterator[WorkflowEvent]:
        """Continue a run restored from a checkpoint (`Workflow.reopen`), answering `responses` first.

        The first segment of a restored run reports `run_started`, then any notices the restore
        produced (a damaged newest checkpoint that was skipped), then carries on like `respond()`.
        """
        self._claim()
        answers = dict(responses) if responses else None
        notices, self._notices = self._notices, ()
        if stream:
            return self._stream_segment(answers, resumed=True, notices=notices)
        return self._segment(answers, resumed=True, notices=notices)

    async def _segment(
        self,
        answers: dict[str, Any] | None,
        resumed: bool = False,
        notices: tuple[WorkflowEvent, ...] = (),
    ) -> RunResult:
        self._begin(answers)
        try:
            await self._drive(answers, resumed, notices)
        finally:
            self._driving = False
        return self.result()

    async def _stream_segment(
        self,
        answers: dict[str, Any] | None,
        resumed: bool = False,
        notices: tuple[WorkflowEvent, ...] = (),
    ) -> AsyncIterator[WorkflowEvent]:
        self._begin(answers)
        queue: asyncio.Queue[WorkflowEvent | None] = asyncio.Queue()
        self._listener = queue
        self._runner.yield_every = 1  # the consumer should see each superstep's events promptly
        self._runner.streaming = True
        task = asyncio.create_task(self._drive(answers, resumed, notices))
        task.add_done_callback(lambda _: queue.put_nowait(None))
        try:
            while (event := await queue.get()) is not None:
                yield event
            task.result()
        finally:
            self._listener = None
            self._runner.yield_every, self._runner.streaming = 16, False
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            self._driving = False

    def _begin(self, answers: dict[str, Any] | None) -> None:
        """Check that a segment may start now (and that `answers` are deliverable), then claim it."""
        if self._driving:
            raise RuntimeError(
                f"run `{self.run_id}` is being driven right now; wait for it to become idle."
            )
        if answers is not None:
            self._validate_answers(answers)
        self._driving = True
        self._events = []

    def _validate_answers(self, answers: dict[str, Any]) -> None:
        answers.update(self.check_answers(answers))

    def check_answers(self, responses: Mapping[str, Any]) -> dict[str, Any]:
        """`responses` checked against the pending requests and coerced to their response types.

        Raises `ResponseError` (changing nothing) for an unknown, repeated or ill-typed answer.
        """
        state = self._state
        answers = dict(responses)
        if not answers:
            raise ResponseError("respond() was given no answers; pass `{request_id: answer}`.")
        for request_id in answers:
            if request_id in state.answered_request_ids:
                raise ResponseError(f"request `{request_id}` was already answered; answer it once.")
        if not state.pending_requests:
            raise ResponseError(
                f"run `{self.run_id}` has no pending requests (status `{state.status}`); there is "
                "nothing to answer."
            )
        for request_id in answers:
            if request_id not in state.pending_requests:
                known = ", ".join(f"`{r}`" for r in state.pending_requests)
                raise ResponseError(
                    f"run `{self.run_id}` has no pending request `{request_id}`; pending: {known}."
                )
        return {rid: coerce_answer(state.pending_requests[rid], a) for rid, a in answers.items()}

    async def submit(self) -> None:
        """Save this durable run's entry checkpoint and leave it for a worker to claim and drive.

        The run must be new and its store a `LeasingStore` (`PostgresCheckpointStore`).
        """
        checkpointer = self._checkpointer
        if checkpointer is None or self._state.superstep or self._started:
            raise RuntimeError("submit() takes a new durable run, before it is driven")
        self._started = True
        await checkpointer.begin(self._state)
        await checkpointer.end(self._state)

    def _deliver_answers(self, answers: dict[str, Any]) -> None:
        state = self._state
        for request_id, request in list(state.pending_requests.items()):  # in request order
            if request_id in answers:
                del state.pending_requests[request_id]
                state.answered_request_ids.add(request_id)
                response = RequestResponse(
                    request_id, request.data, answers[request_id], request.response_type
                )
                state.pending.append(Delivery(request.source_executor_id, response, "respond"))

    async def _drive(
        self, answers: dict[str, Any] | None, resumed: bool, notices: tuple[WorkflowEvent, ...]
    ) -> None:
        state = self._state
        logs = is_enabled(__name__, logging.INFO)
        first = not resumed and state.superstep == 0 and not state.pending_requests
        with structlog.contextvars.bound_contextvars(run_id=state.run_id):
            if logs:
                logger.info(
                    "run_started" if first else "run_continued", workflow=self._workflow_name
                )
            if first or resumed:
                self._emit(RunStartedEvent(state.run_id, self._workflow_name))
            for notice in notices:
                self._emit(notice)
            self._set_status(
                RunStatus.IN_PROGRESS_PENDING_REQUESTS
                if state.pending_requests and not answers
                else RunStatus.RUNNING
            )
            if self._checkpointer is not None:
                await self._checkpointer.begin(state)
            try:
                await self._advance(answers)
            finally:
                if self._checkpointer is not None:
                    await self._checkpointer.end(state)
            if state.pending:  # stopped between supersteps, as `request_stop()` asked
                self._emit(
                    WarningEvent(
                        f"run `{state.run_id}` stopped after superstep {state.superstep} as asked; "
                        f"{len(state.pending)} message(s) wait. Resume it to continue."
                    )
                )
                if logs:
                    logger.info("run_stopped", supersteps=state.superstep)
                return
            paused = bool(state.pending_requests)
            self._set_status(RunStatus.IDLE_WITH_PENDING_REQUESTS if paused else RunStatus.IDLE)
            if logs:
                event = "run_paused" if paused else "run_completed"
                logger.info(event, supersteps=state.superstep, pending=len(state.pending_requests))

    async def _advance(self, answers: dict[str, Any] | None) -> None:
        """Deliver `answers`, then run supersteps until idle (or stopped); fail the run on error."""
        state = self._state
        try:
            if answers:
                self._deliver_answers(answers)
                if state.pending_requests:
                    self._set_status(RunStatus.IN_PROGRESS_PENDING_REQUESTS)
                if self._checkpointer is not None:
                    await self._checkpointer.after_responses(state)
            await self._runner.run_until_idle()
        except (RunError, CheckpointError) as error:
            self._fail(error)
            raise

    def request_stop(self) -> None:
        """Stop after the superstep running now (its checkpoint is saved), leaving the rest pending.

        The segment then ends with status `running` and a warning event; a durable run is resumed
        later from that checkpoint, on this machine or another (a worker does this on SIGTERM). The
        request holds for this `Run` object's life: continue with a new one from `Workflow.reopen`.
        """
        self._runner.stop_requested = True

    def _fail(self, error: RunError | CheckpointError) -> None:
        step = error.superstep if isinstance(error, RunError) else self._state.superstep
        self._emit(RunFailedEvent(step, type(error).__name__, str(error)))
        self._set_status(RunStatus.FAILED)
        where = error.executor_id if isinstance(error, ExecutorFailedError) else None
        logger.info("run_failed", superstep=step, error=type(error).__name__, executor_id=where)
        if isinstance(error, RunError):
            error.result = self.result()

    def _set_status(self, status: RunStatus) -> None:
        if self._state.status is status and status in _PAUSED:
            return
        self._state.status = status
        self._emit(StatusEvent(status))


_ADAPTERS: dict[object, TypeAdapter[Any]] = {}


def coerce_answer(request: RequestInfoEvent, answer: Any) -> Any:
    """`answer` validated against the request's response type, coerced only where nothing is lost."""
    response_type = request.response_type
    adapter = _ADAPTERS.get(response_type)
    if adapter is None:
        adapter = _ADAPTERS[response_type] = TypeAdapter(response_type)
    try:
        return adapter.validate_python(answer)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}" for e in exc.errors()
        )
        raise ResponseError(
            f"the answer to request `{request.request_id}` from `{request.source_executor_id}` must "
            f"be `{type_name(response_type)}`, got `{type(answer).__name__}` ({problems}); nothing "
            "was delivered."
        ) from exc
