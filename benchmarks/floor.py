"""The floor: the least a superstep loop can do, as the baseline the engine's overhead is measured against.

A node is ``async def node(message, outbox, outputs)``; it appends ``(target_id, message)`` sends to
`outbox` and workflow outputs to `outputs`. Each superstep runs every node with an inbox; the outbox is
then grouped by target into the next inbox. A join node waits until it has collected its expected
number of messages and then receives them as one list. No events, no validation, no types, no budget.

`run` always uses ``asyncio.gather``, even for a lone node: this is deliberate, so the floor pays for
concurrency the way a straightforward loop does. `run_lean` awaits a lone node directly (as the engine
does) and is reported only as an extra reference column.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FloorGraph", "Node", "Outbox", "run", "run_lean"]

Outbox = list[tuple[str, Any]]
Node = Callable[[Any, Outbox, list[Any]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class FloorGraph:
    """Nodes by id; routing is done by the nodes themselves (they name their targets)."""

    nodes: Mapping[str, Node]
    joins: Mapping[str, int] = field(default_factory=dict)
    """Join node id -> how many messages it collects before it runs once on their list."""


async def _deliver(node: Node, messages: list[Any], outbox: Outbox, outputs: list[Any]) -> None:
    for message in messages:
        await node(message, outbox, outputs)


async def run(graph: FloorGraph, start: str, message: Any, *, lean: bool = False) -> list[Any]:
    """Run supersteps from `start` until no message is left; return the outputs in yield order."""
    nodes, joins = graph.nodes, graph.joins
    inbox: dict[str, list[Any]] = {start: [message]}
    waiting: dict[str, list[Any]] = {}
    outputs: list[Any] = []
    while inbox:
        outbox: Outbox = []
        if lean and len(inbox) == 1:
            ((target, messages),) = inbox.items()
            await _deliver(nodes[target], messages, outbox, outputs)
        else:
            await asyncio.gather(
                *(_deliver(nodes[t], m, outbox, outputs) for t, m in inbox.items())
            )
        inbox = {}
        for target, sent in outbox:
            if target in joins:
                collected = waiting.setdefault(target, [])
                collected.append(sent)
                if len(collected) < joins[target]:
                    continue
                del waiting[target]
                sent = collected
            inbox.setdefault(target, []).append(sent)
    return outputs


async def run_lean(graph: FloorGraph, start: str, message: Any) -> list[Any]:
    """`run`, but a superstep with a single active node awaits it directly instead of gathering."""
    return await run(graph, start, message, lean=True)
