"""Stock executors: function executors and sub-workflows today; agents and human input come next.

The function executor and `WorkflowExecutor` live in the engine because the runtime and export need them;
they are re-exported here so user code finds every stock executor in one place.
"""

from __future__ import annotations

from engine.function_executor import FunctionExecutor, executor
from engine.subworkflow import WorkflowExecutor

__all__ = ["FunctionExecutor", "WorkflowExecutor", "executor"]
