"""The superstep loop: deliver pending messages, run the executors that have them, commit at the barrier.

Each superstep, in four lines:
  1. group `state.pending` by target, keeping delivery order (the executors' invocation order);
  2. run each target's deliveries one at a time; different targets run concurrently, but their events
     are released in invocation order (as if they had run one after another), so the event sequence
     does not depend on which finishes first;
  3. at the barrier, plan the routing of every outbox, then commit state writes and the plan together;
  4. stop when nothing is pending, or fail when a handler or routing raises or the budget is spent.
A failed superstep commits nothing: the run state is exactly as it was before the superstep began.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from engine.backends.base import Dispatcher, Invocation, InvocationResult, RemoteFailure
from engine.context import DELETED, WorkflowContext, replay_writes, staged_writes
from engine.errors import ConvergenceError, ExecutorFailedError, RemoteExecutorError, RunError
from engine.events import (
    OutputEvent,
    SuperstepCompletedEvent,
    SuperstepStartedEvent,
    WarningEvent,
    WorkflowEvent,
)
from engine.executor import Executor
from engine.invoke import invoke_handlers
from engine.log import get_logger, is_enabled
from engine.routing import Router
from engine.state import Delivery, RecordedWrites, RunState

__all__ = ["CheckpointHook", "Runner"]

logger = get_logger(__name__)

Emit = Callable[[WorkflowEvent], None]


class CheckpointHook(Protocol):
    """What the runner tells a checkpointer at each superstep boundary."""

    async def after_superstep(
        self, state: RunState, writes: list[tuple[str, RecordedWrites]]
    ) -> None:
        """A superstep committed; `writes` say which executor states and shared keys changed."""
        ...

    async def after_failure(
        self, state: RunState, completed: dict[str, RecordedWrites], error: RunError
    ) -> None:
        """A superstep failed; `state` is as before it, `completed` holds the siblings that finished."""
        ...


class Runner:
    """Drives the supersteps of one run over a workflow's executors and router."""

    __slots__ = (
        "_debug",
        "_dispatcher",
        "_emit",
        "_executors",
        "_max_supersteps",
        "_router",
        "_state",
        "checkpoints",
        "stop_requested",
        "streaming",
        "yield_every",
    )

    def __init__(
        self,
        executors: Mapping[str, Executor],
        router: Router,
        state: RunState,
        emit: Emit,
        max_supersteps: int,
        yield_every: int = 16,
        dispatcher: Dispatcher | None = None,
    ) -> None:
        """`dispatcher` runs each superstep's batch on a backend; `None` runs it in the event loop."""
        self._executors = executors
        self._dispatcher = dispatcher
        self._router = router
        self._state = state
        self._emit = emit
        self._max_supersteps = max_supersteps
        self._debug = is_enabled(__name__, logging.DEBUG)
        self.yield_every = yield_every
        """Supersteps between forced yields to the event loop (see `_superstep`)."""
        self.streaming = False
        """Whether a consumer streams the events (handlers see it as `ctx.is_streaming`)."""
        self.checkpoints: CheckpointHook | None = None
        """Told about every superstep boundary when the run is durable."""
        self.stop_requested = False
        """Set to stop between supersteps, leaving what is pending for a later resume."""

    async def run_until_idle(self) -> None:
        """Run supersteps until nothing is pending; raise a `RunError` when the run fails.

        The budget is per input: each call (the start, each answer, a resume) may take up to
        `max_supersteps`, so a long conversation never runs out, while one input that loops does.
        """
        state = self._state
        limit = state.superstep + self._max_supersteps
        while state.pending and not self.stop_requested:
            if state.superstep >= limit:
                waiting = sorted({d.target_id for d in state.pending})
                raise ConvergenceError(
                    f"the run did not finish within {self._max_supersteps} supersteps (the budget "
                    "of one input); messages are still waiting for "
                    f"{', '.join(f'`{t}`' for t in waiting)}. Raise `max_supersteps` if the work "
                    "is legitimately longer, or bound the loop.",
                    run_id=state.run_id,
                    superstep=state.superstep,
                )
            await self._superstep()

    async def _superstep(self) -> None:
        state = self._state
        pending = state.pending
        state.superstep += 1
        step = state.superstep
        batches: dict[str, list[Delivery]] = {}
        for delivery in pending:
            batches.setdefault(delivery.target_id, []).append(delivery)
        self._emit(SuperstepStartedEvent(step, tuple(batches)))
        finished: dict[str, RecordedWrites] = {}
        try:
            await self._run_batches(batches, finished)
            writes = list(finished.items())
            plan = await self._router.route([(eid, w.outbox) for eid, w in writes], state)
        except BaseException as error:
            state.pending, state.superstep = pending, step - 1
            if self.checkpoints is not None and isinstance(error, ExecutorFailedError):
                await self.checkpoints.after_failure(state, finished, error)
            raise
        state.replay = {}
        self._commit(writes)
        plan.apply(state)
        for event in plan.events:
            self._emit(event)
        if self.checkpoints is not None:
            await self.checkpoints.after_superstep(state, writes)
        self._emit(SuperstepCompletedEvent(step))
        if step % self.yield_every == 0:
            # A lone executor is awaited without a task; if its handler never suspends, the run would
            # hold the event loop until it ends. Yielding here keeps sibling runs, timeouts and stream
            # consumers moving, at ~3 us a yield.
            await asyncio.sleep(0)
        if self._debug:
            logger.debug(
                "superstep_completed",
                superstep=step,
                executors=len(batches),
                next=len(state.pending),
            )

    def _context(self, executor_id: str, emit: Emit) -> WorkflowContext[Any, Any]:
        return WorkflowContext(
            executor_id,
            self._state,
            self._router.targets_of(executor_id),
            emit,
            self.streaming,
            self._executors[executor_id].can_respond,
        )

    async def _run_batches(
        self, batches: dict[str, list[Delivery]], finished: dict[str, RecordedWrites]
    ) -> None:
        """Run every batch; `finished` collects, in invocation order, the writes of each that returned."""
        if self._dispatcher is not None:
            await self._dispatch(self._dispatcher, batches, finished)
            return
        if len(batches) == 1:  # a lone executor needs no task: await it directly
            ((target, deliveries),) = batches.items()
            ctx = self._context(target, self._emit)
            if not (self._state.replay and self._replayed(ctx, self._emit)):
                await invoke_handlers(self._executors[target], deliveries, ctx, self._emit)
            finished[target] = staged_writes(ctx)
            return
        order = _InvocationOrder(self._emit, len(batches))
        results: list[RecordedWrites | None] = [None] * len(batches)

        async def invoke(position: int, target: str, deliveries: list[Delivery]) -> None:
            emit = order.emitter(position)
            try:
                ctx = self._context(target, emit)
                if not (self._state.replay and self._replayed(ctx, emit)):
                    await invoke_handlers(self._executors[target], deliveries, ctx, emit)
                results[position] = staged_writes(ctx)
            finally:
                order.finish(position)

        try:
            async with asyncio.TaskGroup() as group:
                for position, (target, deliveries) in enumerate(batches.items()):
                    group.create_task(invoke(position, target, deliveries))
        except BaseExceptionGroup as failures:
            error = _first_failure(failures)
            raise error from error.__cause__  # keep the user's exception as the cause
        finally:
            for target, writes in zip(batches, results, strict=True):
                if writes is not None:
                    finished[target] = writes

    def _replayed(self, ctx: WorkflowContext[Any, Any], emit: Emit) -> bool:
        """Replay what `ctx`'s executor did before a sibling failed; `False` when it has no record."""
        executor_id = ctx.executor_id
        recorded = self._state.replay.get(executor_id)
        if recorded is None:
            return False
        replay_writes(ctx, recorded)  # it finished before a sibling failed: reuse, do not redo
        for output in recorded.outputs:
            emit(OutputEvent(executor_id, output))
        for request in recorded.requests:
            emit(request)
        return True

    async def _dispatch(
        self,
        dispatcher: Dispatcher,
        batches: dict[str, list[Delivery]],
        finished: dict[str, RecordedWrites],
    ) -> None:
        """Run the batches on a backend, then release their events and writes in invocation order.

        Executors finished before a failed superstep are replayed here instead of dispatched again.
        """
        state = self._state
        replayed: dict[str, InvocationResult] = {}
        invocations: list[Invocation] = []
        for target, deliveries in batches.items():
            if target in state.replay:
                events: list[WorkflowEvent] = []
                ctx = self._context(target, events.append)
                self._replayed(ctx, events.append)
                replayed[target] = InvocationResult(target, staged_writes(ctx), tuple(events))
            else:
                invocations.append(self._invocation(target, deliveries))
        results = {r.executor_id: r for r in await dispatcher.run_batch(invocations)}
        results.update(replayed)
        failure: tuple[str, RemoteFailure] | None = None
        for target in batches:
            result = results[target]
            for event in result.events:
                self._emit(event)
            if result.writes is not None:
                finished[target] = result.writes
            elif failure is None and result.failure is not None:
                failure = (target, result.failure)
        if failure is not None:
            target, remote = failure
            raise ExecutorFailedError(
                remote.message, executor_id=target, run_id=state.run_id, superstep=state.superstep
            ) from RemoteExecutorError(remote.error_type, remote.error_message, remote.traceback)

    def _invocation(self, target: str, deliveries: list[Delivery]) -> Invocation:
        state = self._state
        return Invocation(
            run_id=state.run_id,
            superstep=state.superstep,
            executor_id=target,
            messages=tuple((d.payload, d.source_id) for d in deliveries),
            targets=tuple(sorted(self._router.targets_of(target))),
            has_state=target in state.executor_states,
            state=state.executor_states.get(target),
            shared=dict(state.shared_state),
            pending_request_ids=tuple(state.pending_requests),
            streaming=self.streaming,
        )

    def _commit(self, writes: list[tuple[str, RecordedWrites]]) -> None:
        state = self._state
        written_by: dict[str, str] = {}
        for executor_id, staged in writes:
            if staged.wrote_state:
                state.executor_states[executor_id] = staged.state
            for request in staged.requests:
                state.pending_requests[request.request_id] = request
            for key, item in staged.shared.items():
                if key in written_by:
                    self._emit(
                        WarningEvent(
                            f"`{written_by[key]}` and `{executor_id}` both wrote shared key "
                            f"`{key}` in superstep {state.superstep}; `{executor_id}` (later in "
                            "invocation order) wins. Give each executor its own key.",
                            executor_id,
                        )
                    )
                written_by[key] = executor_id
                if item is DELETED:
                    state.shared_state.pop(key, None)
                else:
                    state.shared_state[key] = item


class _InvocationOrder:
    """Releases the events of concurrently running executors in invocation order.

    The executor at the head of the order emits live; the others buffer until every executor before
    them has finished. The result is the event sequence of running them one after another, while they
    still run concurrently, and the head still streams live (token deltas, progress).
    """

    __slots__ = ("_buffers", "_done", "_emit", "_head")

    def __init__(self, emit: Emit, count: int) -> None:
        self._emit = emit
        self._buffers: list[list[WorkflowEvent]] = [[] for _ in range(count)]
        self._done = [False] * count
        self._head = 0

    def emitter(self, position: int) -> Emit:
        """The emit function for the executor at `position` in invocation order."""

        def emit(event: WorkflowEvent) -> None:
            if position == self._head:
                self._emit(event)
            else:
                self._buffers[position].append(event)

        return emit

    def finish(self, position: int) -> None:
        """Mark `position` finished (or cancelled) and release whatever is now at the head."""
        self._done[position] = True
        while self._head < len(self._done) and self._done[self._head]:
            self._head += 1
            if self._head < len(self._done):
                buffered, self._buffers[self._head] = self._buffers[self._head], []
                for event in buffered:
                    self._emit(event)


def _first_failure(failures: BaseExceptionGroup[BaseException]) -> BaseException:
    """The error to report from a superstep whose tasks failed (a `RunError` when there is one)."""
    leaves: list[BaseException] = []
    stack: list[BaseException] = [failures]
    while stack:
        item = stack.pop()
        if isinstance(item, BaseExceptionGroup):
            stack.extend(reversed(item.exceptions))
        else:
            leaves.append(item)
    for leaf in leaves:
        if isinstance(leaf, RunError):
            return leaf
    return leaves[0]
