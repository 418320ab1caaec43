"""`WorkflowBuilder`: declare executors and edge groups, then `build()` a validated `Workflow`.

Edge methods take executors or their ids; an id must name an executor passed (as an instance) somewhere in
the builder. Misused arguments raise `TypeError`/`ValueError` at the call; graph-level problems are
collected and raised together by `build()` as one `WorkflowValidationError`.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from typing import Self

from engine.edges import (
    Case,
    Condition,
    Default,
    EdgeGroup,
    FanInEdgeGroup,
    FanOutEdgeGroup,
    Selection,
    SingleEdgeGroup,
    SwitchCaseEdgeGroup,
    TypeCondition,
    check_bound,
    is_type_form,
)
from engine.errors import ValidationIssue, WorkflowValidationError
from engine.executor import Executor
from engine.graph import build_graph
from engine.log import get_logger
from engine.validation import validate
from engine.workflow import Workflow

__all__ = ["BatonWarning", "WorkflowBuilder"]

logger = get_logger(__name__)

ExecutorRef = Executor | str


class BatonWarning(UserWarning):
    """A workflow was built, but validation found something that is probably a mistake."""


class WorkflowBuilder:
    """Collects executors and edge groups; `build()` validates them and returns a `Workflow`.

    `max_supersteps` is each run's default budget; `strict` turns dropped messages into errors;
    `allow_trapped_cycles` accepts a cycle that nothing leaves or bounds (see `engine.analysis`),
    which otherwise fails the build.
    """

    def __init__(
        self,
        start_executor: ExecutorRef | None = None,
        *,
        name: str = "workflow",
        max_supersteps: int = 1000,
        strict: bool = False,
        allow_trapped_cycles: bool = False,
    ) -> None:
        if (
            not isinstance(max_supersteps, int)
            or isinstance(max_supersteps, bool)
            or max_supersteps < 1
        ):
            raise ValueError(f"max_supersteps must be a positive integer, got {max_supersteps!r}")
        self._name = name
        self._max_supersteps = max_supersteps
        self._strict = strict
        self._allow_trapped = allow_trapped_cycles
        self._executors: dict[str, Executor] = {}
        self._conflicts: list[ValidationIssue] = []
        self._impostors: list[Executor] = []
        """Executors whose id was already taken by another instance (each reported once)."""
        self._references: list[str] = []
        self._groups: list[EdgeGroup] = []
        self._start: str | None = None
        if start_executor is not None:
            self.set_start_executor(start_executor)

    def set_start_executor(self, executor: ExecutorRef) -> Self:
        """Make `executor` the one that receives a run's input message."""
        self._start = self._ref(executor)
        return self

    def add_executor(self, executor: Executor) -> Self:
        """Register an executor without connecting it (edges can then refer to it by id)."""
        if not isinstance(executor, Executor):
            raise TypeError(f"add_executor() takes an Executor, got {type(executor).__name__}")
        self._ref(executor)
        return self

    def add_edge(
        self,
        source: ExecutorRef,
        target: ExecutorRef,
        condition: Condition | None = None,
        *,
        max_traversals: int | None = None,
    ) -> Self:
        """Connect `source -> target`; with `condition`, only messages it accepts (sync or async).

        `max_traversals` bounds a loop: the edge carries at most that many messages in one run, then
        counts as false (each message it then holds back is reported by a ``loop_bound_reached``
        event). `engine.analysis` counts such an edge as a bound on every cycle through it.
        """
        if condition is not None and not callable(condition):
            raise TypeError(f"condition must be callable, got {type(condition).__name__}")
        bound = check_bound(max_traversals, "add_edge()")
        group = SingleEdgeGroup(self._ref(source), self._ref(target), condition, bound)
        self._groups.append(group)
        return self

    def add_chain(self, executors: Sequence[ExecutorRef]) -> Self:
        """Connect ``executors[0] -> executors[1] -> ...`` with direct edges."""
        ids = [self._ref(e) for e in _sequence(executors, "add_chain()")]
        if len(ids) < 2:
            raise ValueError(f"add_chain() needs at least two executors, got {len(ids)}")
        for source, target in zip(ids, ids[1:], strict=False):
            self._groups.append(SingleEdgeGroup(source, target))
        return self

    def add_fan_out_edges(
        self,
        source: ExecutorRef,
        targets: Sequence[ExecutorRef],
        selection: Selection | None = None,
    ) -> Self:
        """Send each message from `source` to every target, or to the subset `selection` returns."""
        if selection is not None and not callable(selection):
            raise TypeError(f"selection must be callable, got {type(selection).__name__}")
        ids = tuple(self._ref(t) for t in _sequence(targets, "add_fan_out_edges()"))
        self._groups.append(FanOutEdgeGroup(self._ref(source), ids, selection))
        return self

    def add_fan_in_edges(self, sources: Sequence[ExecutorRef], target: ExecutorRef) -> Self:
        """Deliver one list to `target` once every source has sent (in source order, then send order)."""
        ids = tuple(self._ref(s) for s in _sequence(sources, "add_fan_in_edges()"))
        self._groups.append(FanInEdgeGroup(ids, self._ref(target)))
        return self

    def add_switch_case_edge_group(
        self, source: ExecutorRef, cases: Sequence[Case | Default]
    ) -> Self:
        """Route each message to the first `Case` that matches it, else to the `Default`.

        A case matches when its predicate returns true or, for ``Case(SomeType, target)``, when the
        message is a `SomeType`. The `Default` may be left out only when type cases cover every type
        the source sends (validation lists the members no case covers).
        """
        where = "add_switch_case_edge_group()"
        branches: list[tuple[Condition, str]] = []
        bounds: list[int | None] = []
        defaults: list[str] = []
        for item in _sequence(cases, where):
            if isinstance(item, Case):
                predicate = item.predicate
                if is_type_form(predicate):
                    predicate = TypeCondition(predicate)
                elif not callable(predicate):
                    raise TypeError(
                        f"a Case takes a predicate (a function of the message) or a type, got "
                        f"{predicate!r}"
                    )
                branches.append((predicate, self._ref(item.target)))
                bounds.append(check_bound(item.max_traversals, f"{where} Case"))
            elif isinstance(item, Default):
                defaults.append(self._ref(item.target))
            else:
                raise TypeError(
                    f"switch-case items are Case(...) or Default(...), got {type(item).__name__}"
                )
        bounded = tuple(bounds) if any(b is not None for b in bounds) else ()
        group = SwitchCaseEdgeGroup(self._ref(source), tuple(branches), tuple(defaults), bounded)
        self._groups.append(group)
        return self

    def build(self) -> Workflow:
        """Validate the graph and return a `Workflow`, or raise one error listing every problem."""
        errors = list(self._conflicts) + self._unknown_references()
        known = {e for e in self._executors}
        groups = [g for g in self._groups if all(i in known for i in (*g.sources, *g.targets))]
        graph = build_graph(self._executors, groups)
        found, cautions = validate(
            self._start,
            self._executors,
            groups,
            graph,
            # two executors under one id make one node of the graph: its cycles are not the user's
            allow_trapped_cycles=self._allow_trapped or bool(self._conflicts),
        )
        errors.extend(found)
        if errors:
            raise WorkflowValidationError(errors)
        assert self._start is not None
        for caution in cautions:
            logger.warning("workflow_warning", workflow=self._name, check=caution.check)
            warnings.warn(str(caution), BatonWarning, stacklevel=2)
        return Workflow(
            name=self._name,
            start_executor_id=self._start,
            executors=self._executors,
            edge_groups=tuple(self._groups),
            max_supersteps=self._max_supersteps,
            strict=self._strict,
            warnings=tuple(cautions),
        )

    def _ref(self, executor: object) -> str:
        if isinstance(executor, Executor):
            known = self._executors.get(executor.id)
            if known is None:
                self._executors[executor.id] = executor
            elif known is not executor and all(other is not executor for other in self._impostors):
                self._impostors.append(executor)
                self._conflicts.append(
                    ValidationIssue(
                        "duplicate_id",
                        f"two different executors use the id `{executor.id}` ({known!r} and "
                        f"{executor!r}); ids must be unique within a workflow.",
                        "give each executor its own id.",
                        (executor.id,),
                    )
                )
            return executor.id
        if isinstance(executor, str):
            self._references.append(executor)
            return executor
        raise TypeError(
            f"expected an Executor or an executor id (str), got {type(executor).__name__}; "
            "wrap functions with @executor first."
        )

    def _unknown_references(self) -> list[ValidationIssue]:
        unknown = [r for r in dict.fromkeys(self._references) if r not in self._executors]
        return [
            ValidationIssue(
                "unknown_executor",
                f"`{ref}` is used as an executor id, but no executor with that id was added.",
                "pass the executor instance at least once (to an edge method or `add_executor()`).",
                (ref,),
            )
            for ref in unknown
        ]


def _sequence(items: Iterable[object], where: str) -> list[object]:
    if isinstance(items, (str, bytes, Executor)) or not isinstance(items, Iterable):
        raise TypeError(f"{where} takes a list, got {type(items).__name__}")
    return list(items)
