"""`Workflow`: a built, validated, immutable graph of executors that any number of runs can share.

It holds configuration only: executors, edge groups, the start executor, the superstep budget and the
router derived from them. Each `run()` creates a fresh `Run` with its own `RunState`.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Coroutine, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, overload

from engine.backends.base import Backend, Dispatcher
from engine.checkpointer import Checkpointer
from engine.durable import default_store, find_resume_point, new_checkpointer
from engine.edges import EdgeGroup
from engine.errors import ValidationIssue, WorkflowInputError
from engine.events import WorkflowEvent
from engine.executor import Executor
from engine.graph import build_graph
from engine.routing import Router
from engine.run import Run, RunResult
from engine.serialization import TypeRegistry, default_registry
from engine.signature import describe, signature_of
from engine.state import Delivery, RunState
from engine.stores.base import CheckpointStore
from engine.typecheck import type_name

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["Workflow"]


class Workflow:
    """A validated executor graph. Build it with `WorkflowBuilder`; run it with `run()`."""

    __slots__ = (
        "_description",
        "_edge_groups",
        "_executors",
        "_max_supersteps",
        "_name",
        "_registry",
        "_router",
        "_signature",
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
        self._description: dict[str, Any] | None = None
        self._signature: str | None = None
        self._registry: TypeRegistry | None = None

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

    @property
    def description(self) -> dict[str, Any]:
        """The JSON-ready shape of the graph that `signature` hashes (see `engine.signature`)."""
        if self._description is None:
            self._description = describe(self)
        return self._description

    @property
    def signature(self) -> str:
        """A hash of executor ids and types and the edge groups (nested workflows included)."""
        if self._signature is None:
            self._signature = signature_of(self.description)
        return self._signature

    @property
    def message_types(self) -> tuple[object, ...]:
        """Every type a handler, response handler or context of this graph (or a nested one) names."""
        found: list[object] = []
        for executor in self._executors.values():
            found.extend(executor.input_types)
            found.extend(executor.output_types)
            found.extend(executor.yield_types)
            for spec in executor.response_handlers.specs:
                found.extend((spec.request_type, spec.response_type))
            inner = getattr(executor, "workflow", None)
            if isinstance(inner, Workflow):
                found.extend(inner.message_types)
        return tuple(dict.fromkeys(found))

    def registry(self, base: TypeRegistry | None = None) -> TypeRegistry:
        """The type registry for this workflow's checkpoints.

        It is `base` (default: the process-wide one) plus this graph's message types, so classes
        defined inside functions resolve too.
        """
        if base is not None:
            return base.extended(self.message_types)
        if self._registry is None:
            self._registry = default_registry.extended(self.message_types)
        return self._registry

    def _budget(self, max_supersteps: int | None) -> int:
        budget = self._max_supersteps if max_supersteps is None else max_supersteps
        if not isinstance(budget, int) or isinstance(budget, bool) or budget < 1:
            raise ValueError(f"max_supersteps must be a positive integer, got {budget!r}")
        return budget

    def start(
        self,
        message: Any,
        *,
        max_supersteps: int | None = None,
        run_id: str | None = None,
        checkpoint_store: CheckpointStore | None = None,
        durable: bool = False,
        registry: TypeRegistry | None = None,
        backend: Backend | None = None,
    ) -> Run:
        """Create a run for `message` without driving it (see `Run.execute` and `Run.stream`).

        With `checkpoint_store` (or ``durable=True``, which uses the embedded SQLite store) the run
        saves a checkpoint at entry and after every superstep. `backend` says where its executors
        execute (default: in this event loop; see `engine.backends`). Raises `WorkflowInputError`
        when the start executor has no handler for the message.
        """
        budget = self._budget(max_supersteps)
        if checkpoint_store is not None and not isinstance(checkpoint_store, CheckpointStore):
            raise TypeError(
                "checkpoint_store must implement engine.CheckpointStore (e.g. "
                f"InMemoryCheckpointStore, SqliteCheckpointStore), got {type(checkpoint_store).__name__}"
            )
        start = self._executors[self._start_id]
        if start.handlers.find(message) is None:
            accepted = ", ".join(f"`{type_name(t)}`" for t in start.input_types)
            raise WorkflowInputError(
                f"the start executor `{self._start_id}` cannot accept `{type(message).__name__}`; it "
                f"accepts {accepted}. Pass one of those, or put an executor in front that converts."
            )
        state = RunState(run_id=run_id or uuid.uuid4().hex)
        state.pending.append(Delivery(self._start_id, message, None))
        checkpointer = None
        if checkpoint_store is not None or durable:
            store = checkpoint_store if checkpoint_store is not None else default_store()
            checkpointer = new_checkpointer(self, store, self.registry(registry))
        return self._new_run(state, budget, checkpointer, self._dispatcher(backend, registry))

    def restore(
        self, state: RunState, *, max_supersteps: int | None = None, backend: Backend | None = None
    ) -> Run:
        """A run over an existing `RunState` (a paused run kept by the caller, e.g. a sub-workflow)."""
        return self._new_run(
            state, self._budget(max_supersteps), None, self._dispatcher(backend, None)
        )

    def _dispatcher(
        self, backend: Backend | None, registry: TypeRegistry | None
    ) -> Dispatcher | None:
        if backend is None:
            return None
        if not isinstance(backend, Backend):
            raise TypeError(
                "backend must implement engine.backends.Backend (e.g. LocalBackend(), "
                f"RayBackend()), got {type(backend).__name__}"
            )
        return backend.bind(self._executors, self.registry(registry))

    def _new_run(
        self,
        state: RunState,
        budget: int,
        checkpointer: Checkpointer | None,
        dispatcher: Dispatcher | None,
        notices: tuple[WorkflowEvent, ...] = (),
    ) -> Run:
        return Run(
            workflow_name=self._name,
            executors=self._executors,
            router=self._router,
            state=state,
            max_supersteps=budget,
            checkpointer=checkpointer,
            notices=notices,
            dispatcher=dispatcher,
        )

    @overload
    def run(
        self,
        message: Any,
        *,
        stream: Literal[False] = False,
        max_supersteps: int | None = None,
        run_id: str | None = None,
        checkpoint_store: CheckpointStore | None = None,
        durable: bool = False,
        registry: TypeRegistry | None = None,
        backend: Backend | None = None,
    ) -> Coroutine[Any, Any, RunResult]: ...

    @overload
    def run(
        self,
        message: Any,
        *,
        stream: Literal[True],
        max_supersteps: int | None = None,
        run_id: str | None = None,
        checkpoint_store: CheckpointStore | None = None,
        durable: bool = False,
        registry: TypeRegistry | None = None,
        backend: Backend | None = None,
    ) -> AsyncIterator[WorkflowEvent]: ...

    def run(
        self,
        message: Any,
        *,
        stream: bool = False,
        max_supersteps: int | None = None,
        run_id: str | None = None,
        checkpoint_store: CheckpointStore | None = None,
        durable: bool = False,
        registry: TypeRegistry | None = None,
        backend: Backend | None = None,
    ) -> Coroutine[Any, Any, RunResult] | AsyncIterator[WorkflowEvent]:
        """Start a fresh run with `message`.

        ``await workflow.run(msg)`` returns a `RunResult`; ``async for event in workflow.run(msg,
        stream=True)`` yields the same events as they happen. A failing run raises its `RunError`
        (`ExecutorFailedError`, `RoutingError` or `ConvergenceError`) after its `run_failed` event.
        `checkpoint_store` / `durable` make the run durable (see `start`).
        """
        run = self.start(
            message,
            max_supersteps=max_supersteps,
            run_id=run_id,
            checkpoint_store=checkpoint_store,
            durable=durable,
            registry=registry,
            backend=backend,
        )
        return run.stream() if stream else run.execute()

    @overload
    def resume(
        self,
        run_id: str | None = None,
        *,
        checkpoint_id: str | None = None,
        store: CheckpointStore | None = None,
        responses: Mapping[str, Any] | None = None,
        stream: Literal[False] = False,
        new_run_id: str | None = None,
        max_supersteps: int | None = None,
        registry: TypeRegistry | None = None,
        backend: Backend | None = None,
    ) -> Coroutine[Any, Any, RunResult]: ...

    @overload
    def resume(
        self,
        run_id: str | None = None,
        *,
        checkpoint_id: str | None = None,
        store: CheckpointStore | None = None,
        responses: Mapping[str, Any] | None = None,
        stream: Literal[True],
        new_run_id: str | None = None,
        max_supersteps: int | None = None,
        registry: TypeRegistry | None = None,
        backend: Backend | None = None,
    ) -> AsyncIterator[WorkflowEvent]: ...

    def resume(
        self,
        run_id: str | None = None,
        *,
        checkpoint_id: str | None = None,
        store: CheckpointStore | None = None,
        responses: Mapping[str, Any] | None = None,
        stream: bool = False,
        new_run_id: str | None = None,
        max_supersteps: int | None = None,
        registry: TypeRegistry | None = None,
        backend: Backend | None = None,
    ) -> Coroutine[Any, Any, RunResult] | AsyncIterator[WorkflowEvent]:
        """Continue a durable run from `store` (default: the embedded SQLite store).

        ``resume(run_id)`` continues the run from its latest intact checkpoint under the same run id.
        ``resume(checkpoint_id=...)`` continues from any checkpoint as a new run (`new_run_id`, or a
        fresh id), leaving the original lineage intact. `responses` answers pending requests in the
        same call. Resuming onto a graph whose signature differs raises `GraphMismatchError`.
        """
        budget = self._budget(max_supersteps)  # bad arguments fail here, not when awaited

        async def reopened() -> Run:
            return await self.reopen(
                run_id,
                checkpoint_id=checkpoint_id,
                store=store,
                new_run_id=new_run_id,
                max_supersteps=budget,
                registry=registry,
                backend=backend,
            )

        async def execute() -> RunResult:
            result = (await reopened()).resume(responses)
            assert not isinstance(result, AsyncIterator)
            return await result

        async def streamed() -> AsyncIterator[WorkflowEvent]:
            events = (await reopened()).resume(responses, stream=True)
            assert isinstance(events, AsyncIterator)
            async for event in events:
                yield event

        return streamed() if stream else execute()

    async def reopen(
        self,
        run_id: str | None = None,
        *,
        checkpoint_id: str | None = None,
        store: CheckpointStore | None = None,
        new_run_id: str | None = None,
        max_supersteps: int | None = None,
        registry: TypeRegistry | None = None,
        backend: Backend | None = None,
    ) -> Run:
        """Load a durable run from `store` without driving it (the first half of `resume`).

        The returned run stands where its checkpoint left it: look at ``run.pending_requests`` (to
        show or prompt for them, as ``baton runs resume`` does), then continue it once with
        ``run.resume(answers)`` and afterwards with ``run.respond(...)``. Arguments and errors are
        those of `resume`.
        """
        budget = self._budget(max_supersteps)
        point = await find_resume_point(
            self,
            store if store is not None else default_store(),
            self.registry(registry),
            run_id=run_id,
            checkpoint_id=checkpoint_id,
            new_run_id=new_run_id,
        )
        dispatcher = self._dispatcher(backend, registry)
        return self._new_run(point.state, budget, point.checkpointer, dispatcher, point.notices)

    async def submit(
        self,
        message: Any,
        *,
        store: CheckpointStore,
        run_id: str | None = None,
        registry: TypeRegistry | None = None,
    ) -> str:
        """Save a new run for `message` in `store` for a worker to drive; return its run id.

        The store must lease runs (`PostgresCheckpointStore`); `baton worker` (or
        `engine.worker.Worker`) claims the run and drives it. Input errors raise here, at once.
        """
        from engine.queue import submit_run

        return await submit_run(self, message, store, run_id=run_id, registry=registry)

    async def submit_answers(
        self,
        run_id: str,
        responses: Mapping[str, Any],
        *,
        store: CheckpointStore,
        registry: TypeRegistry | None = None,
    ) -> None:
        """Queue answers for a paused run in `store`; a worker continues the run with them.

        The answers are checked against the run's pending requests now (`ResponseError`, nothing
        queued, when one is unknown or ill-typed).
        """
        from engine.queue import submit_answers

        await submit_answers(self, run_id, responses, store, registry=registry)

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
