"""The exception tree of Baton: every error the engine raises derives from `BatonError`.

```
BatonError
├── DefinitionError            an executor, handler or edge is declared wrongly (raised where it is declared)
├── WorkflowValidationError    `build()` found problems; `.issues` lists every one of them
├── WorkflowInputError         the start executor cannot accept the message a run was started with
├── ResponseError              `respond()` was given answers it cannot deliver; nothing was changed
├── CheckpointError            a checkpoint cannot be saved, found, trusted or resumed
│   ├── SerializationError     a value in the run cannot be written to (or read from) a checkpoint
│   ├── CheckpointNotFoundError    no checkpoint (or run) with that id in the store
│   ├── CheckpointCorruptError     a stored checkpoint failed its integrity check; names the last good one
│   ├── GraphMismatchError     the checkpoint was taken on a different graph; says what differs
│   └── LeaseError             a run's lease (one coordinator at a time) forbids what was asked
│       ├── RunLeasedError     another coordinator holds the run; says who and for how long
│       └── LeaseLostError     this coordinator's lease was taken over; it must stop driving the run
└── RunError                   a run stopped; `.run_id` and `.superstep` say where
    ├── RoutingError           a message could not be routed (unknown target, bad selection, raising predicate,
    │                          a drop in strict mode)
    ├── ExecutorFailedError    a handler raised; `.executor_id`, the user's exception is `__cause__`
    │                          (a `RemoteExecutorError` when it ran on another process's backend)
    └── ConvergenceError       the run exceeded its superstep budget (`max_supersteps`)
```

`WorkflowInputError` is also a `TypeError`, and `ResponseError` a `ValueError`, because they are misused
arguments. Exceptions never log themselves;
the runner reports failures as events.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.run import RunResult

__all__ = [
    "BatonError",
    "CheckpointCorruptError",
    "CheckpointError",
    "CheckpointNotFoundError",
    "GraphMismatchError",
    "LeaseError",
    "LeaseLostError",
    "RunLeasedError",
    "ResponseError",
    "SerializationError",
    "ConvergenceError",
    "DefinitionError",
    "ExecutorFailedError",
    "RemoteExecutorError",
    "RoutingError",
    "RunError",
    "ValidationIssue",
    "WorkflowInputError",
    "WorkflowValidationError",
]


class BatonError(Exception):
    """Root of every error Baton raises."""


class DefinitionError(BatonError):
    """An executor, handler or edge is declared in a way the engine cannot use."""


@dataclass(frozen=True, slots=True)
class ValidationIssue:
    """One problem found while validating a workflow graph."""

    check: str
    """Short name of the check that found it, e.g. ``"type_mismatch"``."""
    message: str
    """What is wrong and why, naming the executors in backticks."""
    hint: str
    """What to do about it."""
    executor_ids: tuple[str, ...] = ()
    """The executors involved, for tools that want to highlight them."""

    def __str__(self) -> str:
        return f"[{self.check}] {self.message} Fix: {self.hint}"


class WorkflowValidationError(BatonError):
    """`WorkflowBuilder.build()` found one or more problems; all of them are in `issues`."""

    def __init__(self, issues: Sequence[ValidationIssue]) -> None:
        self.issues = tuple(issues)
        lines = "\n".join(f"  {n}. {issue}" for n, issue in enumerate(self.issues, 1))
        super().__init__(f"workflow is invalid ({len(self.issues)} problem(s)):\n{lines}")


class WorkflowInputError(BatonError, TypeError):
    """The message given to `run()` cannot be handled by the start executor."""


class RunError(BatonError):
    """A run ended in `failed`; `run_id` and `superstep` locate it, `result` holds its events so far."""

    def __init__(self, message: str, *, run_id: str = "", superstep: int = 0) -> None:
        super().__init__(message)
        self.run_id = run_id
        self.superstep = superstep
        self.result: RunResult | None = None
        """The failed run's `RunResult` (status `failed`, every event up to the failure)."""


class RoutingError(RunError):
    """A message could not be routed along the graph's edges."""


class ExecutorFailedError(RunError):
    """A handler raised; the original exception is chained as `__cause__`."""

    def __init__(
        self, message: str, *, executor_id: str, run_id: str = "", superstep: int = 0
    ) -> None:
        super().__init__(message, run_id=run_id, superstep=superstep)
        self.executor_id = executor_id


class RemoteExecutorError(BatonError):
    """What a handler raised in another process (a backend's worker), as its type name and text.

    The original exception stays on the worker (nothing is unpickled from one); `traceback` is its
    traceback as the worker formatted it.
    """

    def __init__(self, error_type: str, message: str, traceback: str) -> None:
        super().__init__(f"{error_type}: {message}")
        self.error_type = error_type
        self.traceback = traceback


class ConvergenceError(RunError):
    """The run still had messages to deliver after `max_supersteps` supersteps."""


class ResponseError(BatonError, ValueError):
    """`respond()` was called with answers it cannot deliver; the run was left untouched."""


class CheckpointError(BatonError):
    """A checkpoint could not be saved, found, trusted or resumed."""


class LeaseError(CheckpointError):
    """A run's lease forbids what was asked: one coordinator at a time drives a run."""

    def __init__(self, message: str, *, run_id: str) -> None:
        super().__init__(message)
        self.run_id = run_id


class RunLeasedError(LeaseError):
    """Another coordinator holds the run's lease; `owner` is who, `expires_in` the seconds left."""

    def __init__(self, message: str, *, run_id: str, owner: str, expires_in: float) -> None:
        super().__init__(message, run_id=run_id)
        self.owner = owner
        self.expires_in = expires_in


class LeaseLostError(LeaseError):
    """This coordinator's lease expired and another took the run over; nothing more was written."""


class SerializationError(CheckpointError, TypeError):
    """A value cannot be written to or read from a checkpoint; the message says how to register it."""


class CheckpointNotFoundError(CheckpointError, LookupError):
    """The store has no checkpoint (or run) with the requested id."""


class CheckpointCorruptError(CheckpointError):
    """A stored checkpoint failed its integrity check and was not loaded."""

    def __init__(
        self, message: str, *, checkpoint_id: str, last_good_id: str | None = None
    ) -> None:
        super().__init__(message)
        self.checkpoint_id = checkpoint_id
        self.last_good_id = last_good_id
        """The newest earlier checkpoint of the same run that is intact (`None` if there is none)."""


class GraphMismatchError(CheckpointError):
    """The checkpoint's graph signature differs from the workflow asked to resume it."""
