"""Hypothesis strategies: decision scripts (`choices`) and random valid graphs (`workflow_graphs`).

Generated graphs are a spine of blocks from a `Relay` start to a `Sink`: relays, fan-out/fan-in
diamonds, and switches whose branches merge again, plus back edges (or self-loops) along the spine,
each bounded by `max_traversals`. Every graph builds, every cycle in it is bounded, and the input of a
run is ``Token()``.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from engine.builder import WorkflowBuilder
from engine.edges import Case, Default
from engine.executor import Executor
from engine.testing.choices import Choices
from engine.testing.graphs import Join, Relay, RouteLength, Sink
from engine.workflow import Workflow

__all__ = ["choices", "workflow_graphs"]

_BLOCKS = ("relay", "fan", "switch")


def choices(*, max_decisions: int = 12, max_option: int = 7) -> st.SearchStrategy[Choices]:
    """Decision scripts for switch outcomes and model behaviour (see `Choices`).

    Hypothesis shrinks a script toward fewer and smaller numbers: fewer forced decisions, and the
    first option at each (a switch's first case, a model that answers without handing off).
    """
    script = st.lists(st.integers(min_value=0, max_value=max_option), max_size=max_decisions)
    return script.map(Choices)


@st.composite
def workflow_graphs(
    draw: st.DrawFn,
    *,
    max_blocks: int = 5,
    max_width: int = 3,
    fan: bool = True,
    switches: bool = True,
    cycles: bool = True,
    max_traversals: int = 3,
) -> Workflow:
    """Random valid workflows of no-op executors (`engine.testing.graphs`); run them on ``Token()``.

    `fan`, `switches` and `cycles` turn block kinds and back edges on or off; `max_traversals` is
    the largest bound a back edge gets.
    """
    kinds = [k for k, on in zip(_BLOCKS, (True, fan, switches), strict=True) if on]
    blocks = draw(st.lists(st.sampled_from(kinds), min_size=1, max_size=max_blocks))
    start = Relay("n0")
    builder = WorkflowBuilder(start, name="generated")
    spine: list[Executor] = [start]
    for number, kind in enumerate(blocks, 1):
        width = draw(st.integers(min_value=2, max_value=max_width)) if kind != "relay" else 1
        spine.append(_add_block(builder, spine[-1], kind, number, width))
    builder.add_edge(spine[-1], Sink("out"))
    if cycles:
        pairs = draw(
            st.lists(
                st.tuples(st.integers(0, len(spine) - 1), st.integers(0, len(spine) - 1)),
                max_size=3,
                unique=True,
            )
        )
        for late, early in sorted({(max(a, b), min(a, b)) for a, b in pairs}):
            bound = draw(st.integers(min_value=1, max_value=max_traversals))
            builder.add_edge(spine[late], spine[early], max_traversals=bound)
    return builder.build()


def _add_block(
    builder: WorkflowBuilder, previous: Executor, kind: str, number: int, width: int
) -> Executor:
    """Wire one block after `previous`; return the executor the next block follows."""
    if kind == "relay":
        node = Relay(f"n{number}")
        builder.add_edge(previous, node)
        return node
    if kind == "fan":
        workers = [Relay(f"f{number}_{w}") for w in range(width)]
        join = Join(f"j{number}")
        builder.add_fan_out_edges(previous, workers).add_fan_in_edges(workers, join)
        return join
    branches = [Relay(f"s{number}_{w}") for w in range(width)]
    merge = Relay(f"m{number}")
    cases: list[Any] = [Case(RouteLength(width, w), branches[w]) for w in range(width - 1)]
    builder.add_switch_case_edge_group(previous, [*cases, Default(branches[-1])])
    for branch in branches:
        builder.add_edge(branch, merge)
    return merge
