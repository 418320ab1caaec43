"""`WorkflowExecutor`: run a whole workflow as one executor of another.

Wiring: outer message -> inner run (fresh, to completion) -> each inner output sent downstream.
It accepts what the inner start executor accepts and sends what the inner workflow yields. An inner
failure fails the outer executor; the error chain names the inner executor.
"""

from __future__ import annotations

import functools
import operator
from typing import Any

from engine.context import WorkflowContext
from engine.executor import Executor, HandlerSpec, HandlerTable
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


async def _run_inner(executor: WorkflowExecutor, message: Any, ctx: WorkflowContext[Any]) -> None:
    result = await executor.workflow.run(message, run_id=f"{ctx.run_id}/{executor.id}")
    for output in result.outputs:
        await ctx.send_message(output)
