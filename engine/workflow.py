"""`Workflow`: a built, validated, immutable graph of executors that any number of runs can share.

It holds configuration only: executors, edge groups, the start executor, the superstep budget and the
router derived from them. Each `run()` creates a fresh `Run` with its own `RunState`.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Coroutine, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, overload

from engine.edges import EdgeGroup
from engine.errors import ValidationIssue, WorkflowInputError
from engine.events import WorkflowEvent
from engine.executor import Executor
from engine.graph import build_graph
from engine.routing import Router
from engine.run import Run, RunResult
from engine.state import Delivery, RunState
from engine.typecheck import type_name

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["Workflow"]


class Workflow:
    """A validated executor graph. Build it with `WorkflowBuilder`; run it with `run()`."""

    __slots__ = (
        "_edge_groups",
        "_executors",
        "_max_supersteps",
        "_name",
        "_router",
        "_start_id",
        "_strict",
        "_warnings",
    )

    def __init__(
        self,
        *,
        name: str,
        start_executor_id: str,
        executors: Mapping[str, Executor],
        edge_groups: tuple[EdgeGroup, ...],
        max_supersteps: int,
        strict: bool,
        warnings: tuple[ValidationIssue, ...] = (),
    ) -> None:
        self._name = name
        self._start_id = start_executor_id
        self._executors: Mapping[str, Executor] = MappingProxyType(dict(executors))
        self._edge_groups = edge_groups
        self._max_supersteps = max_supersteps
        self._strict = strict
        self._warnings = warnings
        self._router = Router(self._executors, edge_groups, strict=strict)

    @property
    def name(self) -> str:
        """The workflow's name (used in logs, events and diagrams)."""
        return self._name

    @property
    def start_executor_id(self) -> str:
        """The executor that receives a run's input message."""
        return self._start_id

    @property
    def executors(self) -> Mapping[str, Executor]:
        """Every executor by id, in the order they were added."""
        return self._executors

    @property
    def edge_groups(self) -> tuple[EdgeGroup, ...]:
        """Every edge group, in declaration order."""
        return self._edge_groups

    @property
    def max_supersteps(self) -> int:
        """The default superstep budget of a run."""
        return self._max_supersteps

    @property
    def strict(self) -> bool:
        """Whether dropped messages fail the run instead of producing `message_dropped` events."""
        return self._strict

    @property
    def warnings(self) -> tuple[ValidationIssue, ...]:
        """Non-fatal problems validation found when the workflow was built."""
        return self._warnings

    @property
    def output_types(self) -> tuple[object, ...]:
        """Every type some executor declares it yields as a workflow output."""
        return tuple(
            dict.fromkeys(t for executor in self._executors.values() for t in executor.yield_types)
        )

    def start(
        self, message: Any, *, max_supersteps: int | None = None, run_id: str | None = None
    ) -> Run:
        """Create a run for `message` without driving it (see `Run.execute` and `Run.stream`).

        Raises `WorkflowInputError` when the start executor has no handler for the message.
        """
        budget = self._max_supersteps if max_supersteps is None else max_supersteps
        if not isinstance(budget, int) or isinstance(budget, bool) or budget < 1:
            raise ValueError(f"max_supersteps must be a positive integer, got {budget!r}")
        start = self._executors[self._start_id]
        if start.handlers.find(message) is None:
            accepted = ", ".join(f"`{type_name(t)}`" for t in start.input_types)
            raise WorkflowInputError(
                f"the start executor `{self._start_id}` cannot accept `{type(message).__name__}`; it "
                f"accepts {accepted}. Pass one of those, or put an executor in front that converts."
            )
        state = RunState(run_id=run_id or uuid.uuid4().hex)
        state.pending.append(Delivery(self._start_id, message, None))
        return Run(
            workflow_name=self._name,
            executors=self._executors,
            router=self._router,
            state=state,
            max_supersteps=budget,
        )

    @overload
    def run(
        self,
        message: Any,
        *,
        stream: Literal[False] = False,
        max_supersteps: int | None = None,
        run_id: str | None = None,
    ) -> Coroutine[Any, Any, RunResult]: ...

    @overload
    def run(
        self,
        message: Any,
        *,
        stream: Literal[True],
        max_supersteps: int | None = None,
        run_id: str | None = None,
    ) -> AsyncIterator[WorkflowEvent]: ...

    def run(
        self,
        message: Any,
        *,
        stream: bool = False,
        max_supersteps: int | None = None,
        run_id: str | None = None,
    ) -> Coroutine[Any, Any, RunResult] | AsyncIterator[WorkflowEvent]:
        """Start a fresh run with `message`.

        ``await workflow.run(msg)`` returns a `RunResult`; ``async for event in workflow.run(msg,
        stream=True)`` yields the same events as they happen. A failing run raises its `RunError`
        (`ExecutorFailedError`, `RoutingError` or `ConvergenceError`) after its `run_failed` event.
        """
        run = self.start(message, max_supersteps=max_supersteps, run_id=run_id)
        return run.stream() if stream else run.execute()

    def to_networkx(self) -> nx.MultiDiGraph[str]:
        """The graph as a networkx `MultiDiGraph` (one edge per connection; `group` names its edge group)."""
        return build_graph(self._executors, self._edge_groups)

    def to_mermaid(self) -> str:
        """A Mermaid flowchart of the graph."""
        from engine.export import to_mermaid  # export knows sub-workflows, which import this module

        return to_mermaid(self)

    def to_dot(self) -> str:
        """A Graphviz DOT digraph of the graph."""
        from engine.export import to_dot

        return to_dot(self)

    def __repr__(self) -> str:
        return (
            f"Workflow(name={self._name!r}, start={self._start_id!r}, "
            f"executors={len(self._executors)}, edge_groups={len(self._edge_groups)})"
        )
