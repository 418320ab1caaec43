"""Build-time validation: run every check, collect every problem, and let the builder raise once.

Each check yields `ValidationIssue` records (check, what and why, how to fix, executor ids). Errors stop
the build; warnings (self-loops, executors that neither send nor yield) are attached to the workflow and
reported through Python's `warnings` module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import networkx as nx

from engine.analysis import Cycle, CycleKind, find_cycles, switch_coverages
from engine.edges import (
    EdgeGroup,
    FanInEdgeGroup,
    FanOutEdgeGroup,
    SingleEdgeGroup,
    SwitchCaseEdgeGroup,
)
from engine.errors import ValidationIssue
from engine.executor import Executor
from engine.graph import connections
from engine.requests import requested_pairs
from engine.typecheck import is_any, is_compatible, type_name

__all__ = ["validate"]


def validate(
    start_id: str | None,
    executors: Mapping[str, Executor],
    groups: Sequence[EdgeGroup],
    graph: nx.MultiDiGraph[str],
    *,
    allow_trapped_cycles: bool = False,
) -> tuple[list[ValidationIssue], list[ValidationIssue]]:
    """Return ``(errors, warnings)`` for a graph whose executor ids are already known to be unique."""
    errors: list[ValidationIssue] = []
    if start_id is None:
        errors.append(
            ValidationIssue(
                "missing_start",
                "the workflow has no start executor.",
                "pass `start_executor=` to `WorkflowBuilder` or call `set_start_executor()`.",
            )
        )
    errors.extend(_group_shapes(groups))
    errors.extend(_duplicate_edges(groups))
    if start_id is not None and start_id in executors:
        errors.extend(_unreachable(start_id, graph))
    errors.extend(_edge_types(executors, groups))
    switch_errors, switch_warnings = _switches(groups, executors)
    errors.extend(switch_errors)
    cycles = find_cycles(graph, executors)
    if not allow_trapped_cycles:
        errors.extend(_trapped(c) for c in cycles if c.kind is CycleKind.TRAPPED)
    warnings = [
        *_self_loops(graph, cycles),
        *switch_warnings,
        *_silent_executors(executors),
        *_unanswerable_requests(executors),
    ]
    return errors, warnings


def _group_shapes(groups: Sequence[EdgeGroup]) -> Iterator[ValidationIssue]:
    for group in groups:
        if isinstance(group, SwitchCaseEdgeGroup) and len(group.defaults) > 1:
            yield ValidationIssue(
                "switch_default",
                f"the switch-case group from `{group.source}` has {len(group.defaults)} `Default` "
                "branches; only the first could ever be taken.",
                "end the case list with exactly one `Default(target)`.",
                (group.source,),
            )
        elif isinstance(group, FanOutEdgeGroup) and len(group.target_ids) < 2:
            yield ValidationIssue(
                "fan_out_size",
                f"the fan-out from `{group.source}` has {len(group.target_ids)} target(s); a fan-out "
                "needs at least two.",
                "use `add_edge()` for a single target, or add more targets.",
                (group.source,),
            )
        elif isinstance(group, FanInEdgeGroup) and len(group.source_ids) < 2:
            yield ValidationIssue(
                "fan_in_size",
                f"the fan-in into `{group.target}` has {len(group.source_ids)} source(s); a fan-in "
                "needs at least two.",
                "use `add_edge()` for a single source, or add more sources.",
                (group.target,),
            )


def _duplicate_edges(groups: Sequence[EdgeGroup]) -> Iterator[ValidationIssue]:
    seen: set[tuple[str, str]] = set()
    for group in groups:
        if isinstance(group, SingleEdgeGroup) and group.condition is not None:
            continue  # several conditional edges between one pair are branching, like switch cases
        pairs = [(source, target) for source, target, _, _ in connections(group)]
        if isinstance(group, SwitchCaseEdgeGroup):
            pairs = list(
                dict.fromkeys(pairs)
            )  # several cases may share a target: that is branching
        for pair in dict.fromkeys(pairs):
            if pair in seen or pairs.count(pair) > 1:
                source, target = pair
                yield ValidationIssue(
                    "duplicate_edge",
                    f"the edge `{source}` -> `{target}` is declared more than once, so `{target}` "
                    "would receive every message twice.",
                    "declare each connection once (use a condition or a switch-case to branch).",
                    (source, target),
                )
        seen.update(pairs)


def _unreachable(start_id: str, graph: nx.MultiDiGraph[str]) -> Iterator[ValidationIssue]:
    reachable = nx.descendants(graph, start_id) | {start_id}
    for node in graph.nodes:
        if node not in reachable:
            yield ValidationIssue(
                "unreachable",
                f"`{node}` cannot be reached from the start executor `{start_id}`, so it would never run.",
                f"add an edge that leads to `{node}`, or remove it from the workflow.",
                (node,),
            )


def _edge_types(
    executors: Mapping[str, Executor], groups: Sequence[EdgeGroup]
) -> Iterator[ValidationIssue]:
    checked: set[tuple[str, str]] = set()
    for group in groups:
        if isinstance(group, FanInEdgeGroup):
            yield from _fan_in_types(group, executors)
            continue
        for source, target, _, _ in connections(group):
            if (source, target) in checked:
                continue
            checked.add((source, target))
            issue = _edge_type_issue(executors[source], executors[target])
            if issue is not None:
                yield issue


def _sends_nothing(source: Executor, target: Executor) -> ValidationIssue:
    return ValidationIssue(
        "type_mismatch",
        f"`{source.id}` declares that it sends nothing, but it has an edge to `{target.id}`.",
        f"declare what `{source.id}` sends (`WorkflowContext[T]` or a return annotation), or "
        "remove the edge.",
        (source.id, target.id),
    )


def _edge_type_issue(source: Executor, target: Executor) -> ValidationIssue | None:
    sends = source.output_types
    if not sends:
        return _sends_nothing(source, target)
    accepts = target.input_types
    if any(is_any(t) for t in sends) or any(is_compatible(s, a) for s in sends for a in accepts):
        return None
    sent = " | ".join(type_name(t) for t in sends)
    accepted = " | ".join(type_name(t) for t in accepts) or "nothing"
    return ValidationIssue(
        "type_mismatch",
        f"`{source.id}` sends `{sent}`, but `{target.id}` accepts `{accepted}`; no message could "
        "cross this edge.",
        f"add a handler for `{sent}` to `{target.id}`, or change what `{source.id}` sends.",
        (source.id, target.id),
    )


def _fan_in_types(
    group: FanInEdgeGroup, executors: Mapping[str, Executor]
) -> Iterator[ValidationIssue]:
    """One check per fan-in: its target must accept a list of what the sources send."""
    target = executors[group.target]
    elements: list[object] = []
    for source_id in group.source_ids:
        source = executors[source_id]
        if not source.output_types:
            yield _sends_nothing(source, target)
        elements.extend(t for t in source.output_types if t not in elements)
    if not elements or any(is_any(t) for t in elements):
        return
    carried: list[Any] = [list[t] for t in elements]  # type: ignore[valid-type]
    if any(is_compatible(c, a) for c in carried for a in target.input_types):
        return
    delivered = f"list[{' | '.join(type_name(t) for t in elements)}]"
    accepted = " | ".join(type_name(t) for t in target.input_types) or "nothing"
    yield ValidationIssue(
        "fan_in_type",
        f"the fan-in into `{target.id}` delivers `{delivered}`, but `{target.id}` accepts "
        f"`{accepted}`.",
        f"give `{target.id}` a handler for `{delivered}` (a fan-in target receives one list).",
        (*group.source_ids, target.id),
    )


def _switches(
    groups: Sequence[EdgeGroup], executors: Mapping[str, Executor]
) -> tuple[list[ValidationIssue], list[ValidationIssue]]:
    """A switch without a `Default` must be an exhaustive type switch; unreachable cases warn."""
    errors: list[ValidationIssue] = []
    warnings: list[ValidationIssue] = []
    for coverage in switch_coverages(groups, executors):
        source = coverage.source
        if not coverage.has_default and not coverage.exhaustive:
            if coverage.uncovered:
                missing = ", ".join(f"`{t}`" for t in coverage.uncovered)
                why = f"no case covers {missing} of what `{source}` sends, so such a message "
                if coverage.bounded_only:
                    spent = ", ".join(f"`{t}`" for t in coverage.bounded_only)
                    why = (
                        f"no case always takes {missing} of what `{source}` sends ({spent} only "
                        "by a case with `max_traversals`, which takes nothing once spent), so "
                        "such a message "
                    )
            else:
                why = "a message no case matches "
            errors.append(
                ValidationIssue(
                    "switch_default",
                    f"the switch-case group from `{source}` has no `Default`, and {why}would have "
                    "nowhere to go.",
                    "end the case list with `Default(target)`"
                    + (", or add a case for each missing type." if coverage.uncovered else "."),
                    (source,),
                )
            )
        for branch, why in coverage.unreachable:
            warnings.append(
                ValidationIssue(
                    "unreachable_case",
                    f"in the switch-case group from `{source}`, {branch} can never be taken: {why}.",
                    "remove it, or move it before the case that takes its messages.",
                    (source,),
                )
            )
    return errors, warnings


def _trapped(cycle: Cycle) -> ValidationIssue:
    ids = ", ".join(f"`{eid}`" for eid in cycle.executor_ids)
    loop = " -> ".join(f"`{eid}`" for eid in cycle.loop)
    return ValidationIssue(
        "trapped_cycle",
        f"{ids} form a cycle ({loop}) that nothing leaves: no edge leads out of it, none of them "
        "yields an output or asks for input, and no bound limits it, so a message that enters it "
        "goes around until the superstep budget fails the run.",
        "add a conditional edge or a switch-case out of the cycle, bound it with "
        "`max_traversals=` on one of its edges, or pass `allow_trapped_cycles=True` to "
        "`WorkflowBuilder` if running until `max_supersteps` is intended.",
        cycle.executor_ids,
    )


def _self_loops(graph: nx.MultiDiGraph[str], cycles: Sequence[Cycle]) -> Iterator[ValidationIssue]:
    bounded = {eid for cycle in cycles if cycle.is_bounded for eid in cycle.executor_ids}
    for node in sorted({u for u, _ in nx.selfloop_edges(graph)} - bounded):
        yield ValidationIssue(
            "self_loop",
            f"`{node}` has an edge to itself; it will run again every superstep it sends.",
            "make sure the loop has a condition that ends it, or bound it with `max_traversals=` on "
            "the edge.",
            (node,),
        )


def _silent_executors(executors: Mapping[str, Executor]) -> Iterator[ValidationIssue]:
    for executor in executors.values():
        if not executor.output_types and not executor.yield_types:
            yield ValidationIssue(
                "silent_executor",
                f"`{executor.id}` neither sends messages nor yields outputs, so its work is invisible.",
                "declare `WorkflowContext[OutT, YieldT]` on its handlers if it does send or yield.",
                (executor.id,),
            )


def _unanswerable_requests(executors: Mapping[str, Executor]) -> Iterator[ValidationIssue]:
    """Handlers that call ``ctx.request_info`` with no `@response_handler` that could take the answer."""
    for executor in executors.values():
        if type(executor).can_respond is not Executor.can_respond:
            continue  # it routes answers itself (a sub-workflow)
        table = executor.response_handlers
        funcs: list[Callable[..., Any]] = [spec.func for spec in executor.handlers.specs]
        funcs.extend(spec.func for spec in table.specs)
        for func in funcs:
            for request_type, response_type in requested_pairs(func):
                if table.specs and not (
                    isinstance(request_type, type)
                    and response_type is not None
                    and table.find_for_type(request_type, response_type) is None
                ):
                    continue
                asked = (
                    f"`{type_name(request_type)}` answered with `{type_name(response_type)}`"
                    if request_type is not None and response_type is not None
                    else "outside input"
                )
                yield ValidationIssue(
                    "unanswerable_request",
                    f"`{executor.id}` asks for {asked} in `{func.__name__}`, but has no "
                    f"`@response_handler` for it (it handles {table.describe()}); the run would "
                    "fail when the request is made.",
                    "add an `@response_handler` method taking (request, response, ctx) with those "
                    "types.",
                    (executor.id,),
                )
