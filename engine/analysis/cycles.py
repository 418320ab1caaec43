"""Cycles of a workflow graph: find them, classify them, and bound the supersteps one input can take.

A cycle here is a strongly connected component that a message can go around (more than one executor,
or one with an edge to itself). It is **bounded** when every way around passes a declared bound: an
edge's `max_traversals`, or an executor's `turn_limit` (a handoff agent's turn limit, a group chat's
round limit). It is **exit-possible** when it is not bounded but something lets a message out (an edge
leaving it, an executor that yields outputs or asks for input), and **trapped** when nothing does.

The superstep bound rests on one fact: a run's supersteps form causal chains (a delivery in superstep
k+1 was sent by a handler in superstep k), and each chain is a walk through the graph. Inside a bounded
cycle, take away the bounded edges and every edge out of a bounded executor: what is left is acyclic,
with a longest path of P executors, so a walk is at most B + 1 stretches of at most P executors, where
B is the sum of the bounds. An answer to a request starts a chain inside the cycle, and what the
response handler sends first is not a counted turn (a handoff agent forwarding the user's reply), so
a cycle with an executor that asks for input gets one stretch more. Across the acyclic graph of
components the bound is the heaviest path.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import networkx as nx

from engine.executor import Executor

__all__ = [
    "Bound",
    "Cycle",
    "CycleKind",
    "Exit",
    "find_cycles",
    "longest_acyclic_path",
    "superstep_bound",
]


class CycleKind(enum.StrEnum):
    """How a cycle ends."""

    BOUNDED = "bounded"
    """Every way around passes a declared bound: a message goes around a limited number of times."""
    EXIT_POSSIBLE = "exit-possible"
    """A message can leave, but nothing limits how often it goes around first."""
    TRAPPED = "trapped"
    """Nothing leaves and nothing bounds it: a message that enters circulates until the budget."""


@dataclass(frozen=True, slots=True)
class Bound:
    """A declared limit on a cycle: an edge's `max_traversals` or an executor's `turn_limit`."""

    limit: int
    executor_id: str
    """The bounded executor, or the source of the bounded edge."""
    target_id: str | None = None
    """The target of the bounded edge (`None` for an executor's turn limit)."""

    def __str__(self) -> str:
        if self.target_id is None:
            return f"turn limit {self.limit} on `{self.executor_id}`"
        return f"max_traversals={self.limit} on `{self.executor_id}` -> `{self.target_id}`"


@dataclass(frozen=True, slots=True)
class Exit:
    """A way for a message to leave a cycle."""

    executor_id: str
    kind: str
    """The kind of the edge that leaves (``direct``, ``conditional``, ``switch_case``, ...), or
    ``output`` (the executor yields workflow outputs) or ``request`` (it asks for outside input)."""
    target_id: str | None = None

    def __str__(self) -> str:
        if self.target_id is not None:
            return f"`{self.executor_id}` -> `{self.target_id}` ({self.kind.replace('_', ' ')})"
        what = "yields outputs" if self.kind == "output" else "asks for input"
        return f"`{self.executor_id}` {what}"


@dataclass(frozen=True, slots=True)
class Cycle:
    """One strongly connected component a message can go around, and what bounds it."""

    executor_ids: tuple[str, ...]
    """Its executors, in the order they were added to the workflow."""
    kind: CycleKind
    bounds: tuple[Bound, ...]
    """Every declared bound inside it (there may be some on an unbounded cycle, just not on every
    way around)."""
    turn_limits: Mapping[str, int | None]
    """Each of its executors' declared turn limit (`None`: it declares none)."""
    exits: tuple[Exit, ...]
    loop: tuple[str, ...]
    """A way around, first executor repeated at the end: for an unbounded cycle, one that passes no
    bound (the loop to fix); for a bounded one, a shortest way around."""
    supersteps: int | None
    """For a bounded cycle, the most supersteps a chain of messages can spend inside it."""

    @property
    def is_bounded(self) -> bool:
        """Whether every way around passes a declared bound."""
        return self.kind is CycleKind.BOUNDED


def find_cycles(graph: nx.MultiDiGraph[str], executors: Mapping[str, Executor]) -> list[Cycle]:
    """Every cycle of `graph`, classified, in the order of their first executor in `executors`."""
    order = {executor_id: n for n, executor_id in enumerate(executors)}
    cycles: list[Cycle] = []
    for component in nx.strongly_connected_components(graph):
        members = sorted(component, key=order.__getitem__)
        if len(members) == 1 and not graph.has_edge(members[0], members[0]):
            continue
        cycles.append(_classify(graph, executors, members))
    cycles.sort(key=lambda cycle: order[cycle.executor_ids[0]])
    return cycles


def _classify(
    graph: nx.MultiDiGraph[str], executors: Mapping[str, Executor], members: list[str]
) -> Cycle:
    inside = set(members)
    limits = {m: executors[m].turn_limit for m in members}
    bounds = [Bound(limit, m) for m, limit in limits.items() if limit is not None]
    free: nx.DiGraph[str] = nx.DiGraph()
    free.add_nodes_from(members)
    for source, target, data in graph.subgraph(members).edges(data=True):
        bound = data.get("max_traversals")
        if bound is not None:
            bounds.append(Bound(bound, source, target))
        elif limits[source] is None:
            free.add_edge(source, target)
    exits = list(_exits(graph, executors, members, inside))
    if nx.is_directed_acyclic_graph(free):
        longest = nx.dag_longest_path_length(free) + 1
        total = sum(b.limit for b in bounds) + any(e.kind == "request" for e in exits)
        loop = _shortest_loop(graph.subgraph(members), members[0])
        return Cycle(
            tuple(members),
            CycleKind.BOUNDED,
            tuple(bounds),
            limits,
            tuple(exits),
            loop,
            (total + 1) * longest,
        )
    unbounded = [source for source, _, *_ in nx.find_cycle(free)]
    kind = CycleKind.EXIT_POSSIBLE if exits else CycleKind.TRAPPED
    loop = (*unbounded, unbounded[0])
    return Cycle(tuple(members), kind, tuple(bounds), limits, tuple(exits), loop, None)


def _exits(
    graph: nx.MultiDiGraph[str],
    executors: Mapping[str, Executor],
    members: list[str],
    inside: set[str],
) -> Iterator[Exit]:
    for member in members:
        for _, target, data in graph.out_edges(member, data=True):
            if target not in inside:
                yield Exit(member, str(data["kind"]), target)
        executor = executors[member]
        if executor.yield_types:
            yield Exit(member, "output")
        if (
            executor.response_handlers.specs
            or type(executor).can_respond is not Executor.can_respond
        ):
            yield Exit(member, "request")


def _shortest_loop(graph: nx.MultiDiGraph[str], start: str) -> tuple[str, ...]:
    """A shortest way from `start` around and back (the nodes of a cycle through `start`)."""
    if graph.has_edge(start, start):
        return (start, start)
    best: list[str] | None = None
    for predecessor in graph.predecessors(start):
        path = nx.shortest_path(graph, start, predecessor)
        if best is None or len(path) < len(best):
            best = path
    assert best is not None  # `start` is in a strongly connected component of two or more
    return (*best, start)


def superstep_bound(
    graph: nx.MultiDiGraph[str], start_id: str, cycles: Sequence[Cycle]
) -> int | None:
    """The most supersteps one input can take from `start_id`, or `None` if a cycle is unbounded.

    Every executor counts one superstep, a bounded cycle counts its own `supersteps`; the answer is
    the heaviest path through the acyclic graph of components reachable from the start.
    """
    reachable = nx.descendants(graph, start_id) | {start_id}
    component_of: dict[str, int] = {}
    weights: list[int] = []
    for index, cycle in enumerate(cycles):
        if not reachable.intersection(cycle.executor_ids):
            continue
        if cycle.supersteps is None:
            return None
        for member in cycle.executor_ids:
            component_of[member] = index
    for node in reachable:
        if node not in component_of:
            component_of[node] = len(cycles) + len(weights)
            weights.append(1)
    weight = {index: cycle.supersteps or 0 for index, cycle in enumerate(cycles)}
    weight.update({len(cycles) + n: w for n, w in enumerate(weights)})
    dag: nx.DiGraph[int] = nx.DiGraph()
    dag.add_nodes_from(set(component_of.values()))
    for source, target in graph.subgraph(reachable).edges():
        if component_of[source] != component_of[target]:
            dag.add_edge(component_of[source], component_of[target])
    heaviest: dict[int, int] = {}
    for component in reversed(list(nx.topological_sort(dag))):
        after = max((heaviest[s] for s in dag.successors(component)), default=0)
        heaviest[component] = weight[component] + after
    return heaviest[component_of[start_id]]


def longest_acyclic_path(graph: nx.MultiDiGraph[str], start_id: str) -> tuple[str, ...]:
    """The longest path from `start_id` that goes around no cycle.

    Exact for an acyclic graph. With cycles, the back edges of a depth-first search from the start
    (in edge declaration order) are left out first, so the path never returns to an executor.
    """
    forward: nx.DiGraph[str] = nx.DiGraph()
    forward.add_node(start_id)
    on_stack, done = {start_id}, set()
    stack: list[tuple[str, Iterator[str]]] = [(start_id, iter(list(graph.successors(start_id))))]
    while stack:
        node, successors = stack[-1]
        child = next(successors, None)
        if child is None:
            stack.pop()
            on_stack.discard(node)
            done.add(node)
            continue
        if child in on_stack:
            continue  # a back edge: it closes a cycle
        forward.add_edge(node, child)
        if child not in done:
            on_stack.add(child)
            stack.append((child, iter(list(graph.successors(child)))))
    best: dict[str, tuple[str, ...]] = {}
    for node in reversed(list(nx.topological_sort(forward))):
        tails = [best[s] for s in forward.successors(node)]
        best[node] = (node, *max(tails, key=len, default=()))
    return best[start_id]
