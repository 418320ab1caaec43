"""The networkx view of a workflow: one node per executor, one edge per connection of an edge group.

Validation, export and (later) analysis all read this graph, so the translation lives in one place.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import networkx as nx

from engine.edges import (
    EdgeGroup,
    FanInEdgeGroup,
    FanOutEdgeGroup,
    SingleEdgeGroup,
    SwitchCaseEdgeGroup,
    callable_name,
)
from engine.executor import Executor

__all__ = ["Connection", "bound_of", "build_graph", "connections"]

Connection = tuple[str, str, str, str]
"""``(source, target, kind, label)`` for one edge of one group."""


def connections(group: EdgeGroup) -> Iterator[Connection]:
    """Every ``(source, target, kind, label)`` a group declares, in declaration order."""
    if isinstance(group, SingleEdgeGroup):
        kind = "conditional" if group.condition is not None else "direct"
        label = _bounded(callable_name(group.condition), group.max_traversals)
        yield group.source, group.target, kind, label
    elif isinstance(group, FanOutEdgeGroup):
        for target in group.target_ids:
            yield group.source, target, "fan_out", callable_name(group.selection)
    elif isinstance(group, FanInEdgeGroup):
        for source in group.source_ids:
            yield source, group.target, "fan_in", ""
    else:
        yield from _switch_connections(group)


def _switch_connections(group: SwitchCaseEdgeGroup) -> Iterator[Connection]:
    for number, (predicate, target) in enumerate(group.cases, 1):
        label = _bounded(f"case {number}: {callable_name(predicate)}", bound_of(group, number - 1))
        yield group.source, target, "switch_case", label
    for default in group.defaults:
        yield group.source, default, "switch_default", "default"


def _bounded(label: str, bound: int | None) -> str:
    if bound is None:
        return label
    return f"{label} [max {bound}]" if label else f"max {bound}"


def bound_of(group: EdgeGroup, position: int) -> int | None:
    """The `max_traversals` of the connection at `position` in `connections(group)` (`None`: none)."""
    if isinstance(group, SingleEdgeGroup):
        return group.max_traversals
    if isinstance(group, SwitchCaseEdgeGroup) and group.bounds and position < len(group.cases):
        return group.bounds[position]
    return None


def build_graph(
    executors: Mapping[str, Executor], groups: Sequence[EdgeGroup]
) -> nx.MultiDiGraph[str]:
    """A `MultiDiGraph`: executor nodes (``executor_type``), edges (``group``, ``kind``, ``label``).

    A bounded edge also carries ``max_traversals``.

    Every connection is its own edge, so two switch cases (or a case and the default) that lead to the
    same target stay two edges.
    """
    graph: nx.MultiDiGraph[str] = nx.MultiDiGraph()
    for executor_id, executor in executors.items():
        graph.add_node(executor_id, executor_type=type(executor).__name__)
    for index, group in enumerate(groups):
        for position, (source, target, kind, label) in enumerate(connections(group)):
            bound = bound_of(group, position)
            extra = {} if bound is None else {"max_traversals": bound}
            graph.add_edge(source, target, group=index, kind=kind, label=label, **extra)
    return graph
