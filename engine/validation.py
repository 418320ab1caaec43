"""Build-time validation: run every check, collect every problem, and let the builder raise once.

Each check yields `ValidationIssue` records (check, what and why, how to fix, executor ids). Errors stop
the build; warnings (self-loops, executors that neither send nor yield) are attached to the workflow and
reported through Python's `warnings` module.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import networkx as nx

from engine.edges import EdgeGroup, FanInEdgeGroup, FanOutEdgeGroup, SwitchCaseEdgeGroup
from engine.errors import ValidationIssue
from engine.executor import Executor
from engine.graph import connections
from engine.typecheck import is_any, is_compatible, type_name

__all__ = ["validate"]


def validate(
    start_id: str | None,
    executors: Mapping[str, Executor],
    groups: Sequence[EdgeGroup],
    graph: nx.MultiDiGraph[str],
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
    warnings = list(_self_loops(graph)) + list(_silent_executors(executors))
    return errors, warnings


def _group_shapes(groups: Sequence[EdgeGroup]) -> Iterator[ValidationIssue]:
    for group in groups:
        if isinstance(group, SwitchCaseEdgeGroup) and group.default_count != 1:
            yield ValidationIssue(
                "switch_default",
                f"the switch-case group from `{group.source}` has {group.default_count} `Default` "
                "branches; it needs exactly one so every message has somewhere to go.",
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
    checked: set[tuple[str, str, bool]] = set()
    for group in groups:
        for source, target, kind, _ in connections(group):
            key = (source, target, kind == "fan_in")
            if key in checked or source not in executors or target not in executors:
                continue
            checked.add(key)
            issue = _edge_type_issue(executors[source], executors[target], fan_in=kind == "fan_in")
            if issue is not None:
                yield issue


def _edge_type_issue(source: Executor, target: Executor, *, fan_in: bool) -> ValidationIssue | None:
    sends = source.output_types
    if not sends:
        return ValidationIssue(
            "type_mismatch",
            f"`{source.id}` declares that it sends nothing, but it has an edge to `{target.id}`.",
            f"declare what `{source.id}` sends (`WorkflowContext[T]` or a return annotation), or "
            "remove the edge.",
            (source.id, target.id),
        )
    accepts = target.input_types
    if any(is_any(t) for t in sends):
        return None
    carried: list[Any] = [list[t] for t in sends] if fan_in else list(sends)  # type: ignore[valid-type]
    if any(is_compatible(c, a) for c in carried for a in accepts):
        return None
    sent = " | ".join(type_name(t) for t in carried)
    accepted = " | ".join(type_name(t) for t in accepts) or "nothing"
    if fan_in:
        return ValidationIssue(
            "fan_in_type",
            f"the fan-in into `{target.id}` delivers `{sent}`, but `{target.id}` accepts `{accepted}`.",
            f"give `{target.id}` a handler for `{sent}` (a fan-in target receives one list).",
            (source.id, target.id),
        )
    return ValidationIssue(
        "type_mismatch",
        f"`{source.id}` sends `{sent}`, but `{target.id}` accepts `{accepted}`; no message could "
        "cross this edge.",
        f"add a handler for `{sent}` to `{target.id}`, or change what `{source.id}` sends.",
        (source.id, target.id),
    )


def _self_loops(graph: nx.MultiDiGraph[str]) -> Iterator[ValidationIssue]:
    for node in sorted({u for u, _ in nx.selfloop_edges(graph)}):
        yield ValidationIssue(
            "self_loop",
            f"`{node}` has an edge to itself; it will run again every superstep it sends.",
            "make sure the loop has a condition that ends it, or bound it with `max_supersteps`.",
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
