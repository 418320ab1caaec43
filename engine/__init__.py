"""Baton's engine: a superstep (Pregel) runtime over typed executors joined by edge groups.

Import the public names from here; everything else stays reachable by module (``engine.events.X``).
"""

from __future__ import annotations

from engine.builder import BatonWarning, WorkflowBuilder
from engine.context import SharedState, WorkflowContext
from engine.edges import Case, Default
from engine.errors import (
    BatonError,
    ConvergenceError,
    DefinitionError,
    ExecutorFailedError,
    RoutingError,
    RunError,
    ValidationIssue,
    WorkflowInputError,
    WorkflowValidationError,
)
from engine.events import (
    ExecutorCompletedEvent,
    ExecutorFailedEvent,
    ExecutorInvokedEvent,
    MessageDroppedEvent,
    OutputEvent,
    RunFailedEvent,
    RunStartedEvent,
    RunStatus,
    StatusEvent,
    SuperstepCompletedEvent,
    SuperstepStartedEvent,
    UserEvent,
    WarningEvent,
    WorkflowEvent,
)
from engine.executor import Executor, handler
from engine.function_executor import FunctionExecutor, executor
from engine.run import Run, RunResult
from engine.subworkflow import WorkflowExecutor
from engine.workflow import Workflow

__all__ = [
    "BatonError",
    "BatonWarning",
    "Case",
    "ConvergenceError",
    "Default",
    "DefinitionError",
    "Executor",
    "ExecutorCompletedEvent",
    "ExecutorFailedError",
    "ExecutorFailedEvent",
    "ExecutorInvokedEvent",
    "FunctionExecutor",
    "MessageDroppedEvent",
    "OutputEvent",
    "RoutingError",
    "Run",
    "RunError",
    "RunFailedEvent",
    "RunResult",
    "RunStartedEvent",
    "RunStatus",
    "SharedState",
    "StatusEvent",
    "SuperstepCompletedEvent",
    "SuperstepStartedEvent",
    "UserEvent",
    "ValidationIssue",
    "WarningEvent",
    "Workflow",
    "WorkflowBuilder",
    "WorkflowContext",
    "WorkflowEvent",
    "WorkflowExecutor",
    "WorkflowInputError",
    "WorkflowValidationError",
    "executor",
    "handler",
]
