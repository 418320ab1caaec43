"""Termination analysis of workflow graphs (networkx): will a run of this graph end, and how soon.

``analyze(workflow)`` returns a `TerminationReport`: reachability, dead ends, every cycle classified as
bounded, exit-possible or trapped, switch-case coverage, the longest acyclic path and, when every cycle
is bounded, the most supersteps one input can take. Validation uses the same code, so a trapped cycle
and a type switch that misses a member fail the build, and unreachable cases are warnings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import networkx as nx

from engine.analysis.cycles import (
    Bound,
    Cycle,
    CycleKind,
    Exit,
    find_cycles,
    longest_acyclic_path,
    superstep_bound,
)
from engine.analysis.report import DeadEnd, TerminationReport
from engine.analysis.switches import SwitchCoverage, constant_verdict, switch_coverage
from engine.edges import EdgeGroup, SwitchCaseEdgeGroup
from engine.executor import Executor
from engine.typecheck import type_name

if TYPE_CHECKING:
    from engine.workflow import Workflow

__all__ = [
    "Bound",
    "Cycle",
    "CycleKind",
    "DeadEnd",
    "Exit",
    "SwitchCoverage",
    "TerminationReport",
    "analyze",
    "constant_verdict",
    "find_cycles",
    "switch_coverage",
    "switch_coverages",
]


def analyze(workflow: Workflow) -> TerminationReport:
    """Analyse `workflow`'s graph; see `TerminationReport` for what it holds."""
    graph = workflow.to_networkx()
    executors = workflow.executors
    start = workflow.start_executor_id
    cycles = find_cycles(graph, executors)
    reachable = nx.descendants(graph, start) | {start}
    return TerminationReport(
        workflow_name=workflow.name,
        start_executor_id=start,
        executor_ids=tuple(executors),
        unreachable=tuple(eid for eid in executors if eid not in reachable),
        dead_ends=tuple(_dead_ends(graph, executors)),
        cycles=tuple(cycles),
        switches=tuple(switch_coverages(workflow.edge_groups, executors)),
        longest_acyclic_path=longest_acyclic_path(graph, start),
        superstep_bound=superstep_bound(graph, start, cycles),
        max_supersteps=workflow.max_supersteps,
    )


def switch_coverages(
    groups: Sequence[EdgeGroup], executors: Mapping[str, Executor]
) -> list[SwitchCoverage]:
    """The coverage of every switch-case group, in declaration order."""
    return [
        switch_coverage(index, group, executors)
        for index, group in enumerate(groups)
        if isinstance(group, SwitchCaseEdgeGroup)
    ]


def _dead_ends(graph: nx.MultiDiGraph[str], executors: Mapping[str, Executor]) -> list[DeadEnd]:
    return [
        DeadEnd(
            eid,
            tuple(type_name(t) for t in executor.yield_types),
            tuple(type_name(t) for t in executor.output_types),
        )
        for eid, executor in executors.items()
        if graph.out_degree(eid) == 0
    ]
