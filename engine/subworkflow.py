"""`WorkflowExecutor`: run a whole workflow as one executor of another.

Wiring: outer message -> inner run (fresh, until idle) -> each inner output sent downstream.
It accepts what the inner start executor accepts and sends what the inner workflow yields. An inner
failure fails the outer executor; the error chain names the inner executor. A request for outside input
inside the inner run surfaces to the outer caller under the same request id; the inner run waits, kept
in this executor's run state (so outer checkpoints carry it), and the answer is routed back inside.
"""

from __future__ import annotations

import copy
import functools
import operator
import uuid
from typing import Any

from engine.context import WorkflowContext
from engine.executor import Executor, HandlerSpec, HandlerTable
from engine.requests import RequestResponse
from engine.run import RunResult
from engine.state import RunState
from engine.workflow import Workflow

__all__ = ["WorkflowExecutor"]


class WorkflowExecutor(Executor):
    """An executor whose work is a complete run of `workflow`."""

    def __init__(self, workflow: Workflow, id: str) -> None:  # noqa: A002
        if not isinstance(workflow, Workflow):
            raise TypeError(
                f"WorkflowExecutor needs a built Workflow, got {type(workflow).__name__}"
            )
        super().__init__(id)
        self._workflow = workflow
        start = workflow.executors[workflow.start_executor_id]
        accepts: Any = functools.reduce(operator.or_, start.input_types)
        sends = workflow.output_types or ()
        spec = HandlerSpec("run_workflow", _run_inner, accepts, sends, ())
        self._table = HandlerTable([spec], id)

    @property
    def workflow(self) -> Workflow:
        """The inner workflow."""
        return self._workflow

    @property
    def handlers(self) -> HandlerTable:
        """One handler accepting whatever the inner start executor accepts."""
        return self._table

    def can_respond(self, request: object, response_type: object) -> bool:
        """Any request of the inner run can be answered: the answer is routed back inside."""
        return True

    async def handle_response(
        self, answer: RequestResponse, ctx: WorkflowContext[Any, Any]
    ) -> None:
        """Continue the inner run that asked, with the answer, until it is idle again."""
        paused: dict[str, RunState] = ctx.get_state() or {}
        inner_id = next(
            (rid for rid, st in paused.items() if answer.request_id in st.pending_requests), None
        )
        if inner_id is None:
            raise LookupError(
                f"`{self.id}` holds no inner run waiting for request `{answer.request_id}`"
            )
        state = copy.deepcopy(paused[inner_id])  # the committed copy stays intact if this fails
        run = self._workflow.restore(state)
        result = await run.respond({answer.request_id: answer.response})
        await _forward(self, result, state, paused, ctx)


async def _run_inner(executor: WorkflowExecutor, message: Any, ctx: WorkflowContext[Any]) -> None:
    run = executor.workflow.start(
        message, run_id=f"{ctx.run_id}/{executor.id}/{uuid.uuid4().hex[:8]}"
    )
    result = await run.execute()
    await _forward(executor, result, run.state, ctx.get_state() or {}, ctx)


async def _forward(
    executor: WorkflowExecutor,
    result: RunResult,
    state: RunState,
    paused: dict[str, RunState],
    ctx: WorkflowContext[Any, Any],
) -> None:
    """Send the inner outputs on; surface new inner requests; keep a paused inner run in state."""
    for output in result.outputs:
        await ctx.send_message(output)
    surfaced = {r for st in paused.values() for r in st.pending_requests}
    for request in result.requests:
        if request.request_id not in surfaced:
            await ctx.request_info(
                request.data, request.response_type, request_id=request.request_id
            )
    if state.run_id in paused or state.pending_requests:
        remaining = {rid: st for rid, st in paused.items() if rid != state.run_id}
        if state.pending_requests:
            remaining[state.run_id] = state
        ctx.set_state(remaining)
