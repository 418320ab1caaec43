"""Baton's engine: a superstep (Pregel) runtime over typed executors joined by edge groups.

Import the public names from here; everything else stays reachable by module (``engine.events.X``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.builder import BatonWarning, WorkflowBuilder
from engine.checkpoint import Checkpoint, CheckpointInfo
from engine.context import SharedState, WorkflowContext
from engine.edges import Case, Default
from engine.errors import (
    BatonError,
    CheckpointCorruptError,
    CheckpointError,
    CheckpointNotFoundError,
    ConvergenceError,
    DefinitionError,
    ExecutorFailedError,
    GraphMismatchError,
    LeaseError,
    LeaseLostError,
    RemoteExecutorError,
    ResponseError,
    RoutingError,
    RunError,
    RunLeasedError,
    SerializationError,
    ValidationIssue,
    WorkflowInputError,
    WorkflowValidationError,
)
from engine.events import (
    ExecutorCompletedEvent,
    ExecutorFailedEvent,
    ExecutorInvokedEvent,
    LoopBoundReachedEvent,
    MessageDroppedEvent,
    OutputEvent,
    RequestInfoEvent,
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
from engine.invoke import current_idempotency_key, idempotency_scope
from engine.requests import RequestResponse, response_handler
from engine.run import Run, RunResult
from engine.serialization import TypeRegistry, register_type
from engine.stores import CheckpointStore, InMemoryCheckpointStore, SqliteCheckpointStore
from engine.subworkflow import WorkflowExecutor
from engine.workflow import Workflow

if TYPE_CHECKING:
    from engine.stores.postgres import PostgresCheckpointStore

__all__ = [
    "BatonError",
    "BatonWarning",
    "Case",
    "Checkpoint",
    "CheckpointCorruptError",
    "CheckpointError",
    "CheckpointInfo",
    "CheckpointNotFoundError",
    "CheckpointStore",
    "ConvergenceError",
    "Default",
    "DefinitionError",
    "Executor",
    "ExecutorCompletedEvent",
    "ExecutorFailedError",
    "ExecutorFailedEvent",
    "ExecutorInvokedEvent",
    "FunctionExecutor",
    "GraphMismatchError",
    "InMemoryCheckpointStore",
    "LeaseError",
    "LeaseLostError",
    "LoopBoundReachedEvent",
    "MessageDroppedEvent",
    "OutputEvent",
    "PostgresCheckpointStore",
    "RemoteExecutorError",
    "RequestInfoEvent",
    "RequestResponse",
    "ResponseError",
    "RoutingError",
    "Run",
    "RunError",
    "RunFailedEvent",
    "RunLeasedError",
    "RunResult",
    "RunStartedEvent",
    "RunStatus",
    "SerializationError",
    "SharedState",
    "SqliteCheckpointStore",
    "StatusEvent",
    "SuperstepCompletedEvent",
    "SuperstepStartedEvent",
    "TypeRegistry",
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
    "current_idempotency_key",
    "executor",
    "handler",
    "idempotency_scope",
    "register_type",
    "response_handler",
]


def __getattr__(name: str) -> Any:
    # PostgresCheckpointStore needs the optional psycopg extra: import it on first use only.
    if name == "PostgresCheckpointStore":
        import engine.stores

        return engine.stores.PostgresCheckpointStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
