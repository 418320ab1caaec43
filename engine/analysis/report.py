"""`TerminationReport`: what the analysis found about one workflow, as values and as readable text."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from engine.analysis.cycles import Cycle, CycleKind
from engine.analysis.switches import SwitchCoverage

__all__ = ["DeadEnd", "TerminationReport"]


@dataclass(frozen=True, slots=True)
class DeadEnd:
    """An executor with no outgoing edge: a chain of messages stops there."""

    executor_id: str
    yield_types: tuple[str, ...]
    """What it yields as workflow outputs (empty: nothing leaves it at all)."""
    send_types: tuple[str, ...]
    """What it declares it sends; with no edge out, such messages are reported as dropped."""

    def __str__(self) -> str:
        parts = []
        if self.yield_types:
            parts.append(f"yields {' | '.join(self.yield_types)}")
        if self.send_types:
            parts.append(f"declares it sends {' | '.join(self.send_types)}, which no edge takes")
        return f"`{self.executor_id}`" + (f" ({'; '.join(parts)})" if parts else "")


@dataclass(frozen=True, slots=True)
class TerminationReport:
    """Reachability, dead ends, cycles and their bounds, switch coverage and the superstep bound."""

    workflow_name: str
    start_executor_id: str
    executor_ids: tuple[str, ...]
    unreachable: tuple[str, ...]
    """Executors no path from the start leads to (never any in a workflow that built)."""
    dead_ends: tuple[DeadEnd, ...]
    cycles: tuple[Cycle, ...]
    switches: tuple[SwitchCoverage, ...]
    longest_acyclic_path: tuple[str, ...]
    """The longest path from the start that goes around no cycle."""
    superstep_bound: int | None
    """The most supersteps one input (the start message, or one answer) can take; `None` when a
    reachable cycle is unbounded."""
    max_supersteps: int
    """The workflow's superstep budget, for comparison."""

    @property
    def is_bounded(self) -> bool:
        """Whether every cycle is bounded, so every run ends within `superstep_bound` supersteps."""
        return all(cycle.is_bounded for cycle in self.cycles)

    @property
    def trapped(self) -> tuple[Cycle, ...]:
        """The cycles nothing leaves and nothing bounds."""
        return tuple(c for c in self.cycles if c.kind is CycleKind.TRAPPED)

    @property
    def turn_limits(self) -> Mapping[str, int | None]:
        """The declared turn limit of every executor on a cycle (`None`: it declares none)."""
        return {eid: limit for cycle in self.cycles for eid, limit in cycle.turn_limits.items()}

    def __str__(self) -> str:
        return "\n".join(self._lines())

    def _lines(self) -> Iterator[str]:
        count = len(self.executor_ids)
        yield (
            f"Workflow `{self.workflow_name}`: {count} executor{'' if count == 1 else 's'}, "
            f"start `{self.start_executor_id}`."
        )
        if self.unreachable:
            yield f"Unreachable from the start: {_ids(self.unreachable)}."
        else:
            yield "Reachable: every executor."
        if self.dead_ends:
            yield f"Dead ends: {', '.join(str(d) for d in self.dead_ends)}."
        yield from self._cycle_lines()
        path = self.longest_acyclic_path
        yield f"Longest acyclic path ({len(path)}): {' -> '.join(f'`{p}`' for p in path)}."
        yield from self._switch_lines()
        yield self._bound_line()

    def _cycle_lines(self) -> Iterator[str]:
        if not self.cycles:
            yield "Cycles: none."
            return
        unbounded = sum(not c.is_bounded for c in self.cycles)
        summary = "all bounded" if not unbounded else f"{unbounded} not bounded"
        yield f"Cycles ({len(self.cycles)}, {summary}):"
        for number, cycle in enumerate(self.cycles, 1):
            yield f"  {number}. {cycle.kind.value}: {_ids(cycle.executor_ids)}"
            yield "     turn limits: " + ", ".join(
                f"`{eid}` {'none' if limit is None else limit}"
                for eid, limit in cycle.turn_limits.items()
            )
            others = [b for b in cycle.bounds if b.target_id is not None]
            if others:
                yield f"     loop bounds: {', '.join(str(b) for b in others)}"
            loop = " -> ".join(f"`{eid}`" for eid in cycle.loop)
            if cycle.is_bounded:
                yield f"     a chain of messages spends at most {cycle.supersteps} supersteps in it"
            else:
                yield f"     unbounded loop: {loop} passes no turn limit or loop bound"
            if cycle.exits:
                yield f"     exits: {_exits(cycle)}"
            elif not cycle.is_bounded:
                yield "     exits: none; nothing can leave it"

    def _switch_lines(self) -> Iterator[str]:
        for switch in self.switches:
            for branch, why in switch.unreachable:
                yield f"Switch from `{switch.source}`: {branch} is unreachable: {why}."
            if switch.uncovered:
                yield (
                    f"Switch from `{switch.source}`: no case covers {_ids(switch.uncovered)} "
                    "and there is no default."
                )

    def _bound_line(self) -> str:
        budget = f"(budget {self.max_supersteps})"
        if self.superstep_bound is not None:
            steps = f"{self.superstep_bound} superstep{'' if self.superstep_bound == 1 else 's'}"
            return f"Bounded: one input takes at most {steps} {budget}."
        numbers = [str(n) for n, c in enumerate(self.cycles, 1) if not c.is_bounded]
        which = (
            f"cycle {numbers[0]} is" if len(numbers) == 1 else f"cycles {', '.join(numbers)} are"
        )
        return (
            f"Not bounded: {which} not bounded, so only the superstep budget ends a run that "
            f"keeps going around {budget}. Bound it with `max_traversals=` on an edge of each "
            "loop, or with turn limits."
        )


def _exits(cycle: Cycle) -> str:
    """The exits grouped by executor: ``from `a` (to `b` (conditional), yields outputs)``."""
    by_executor: dict[str, list[str]] = {}
    for way in cycle.exits:
        if way.target_id is None:
            text = "yields outputs" if way.kind == "output" else "asks for input"
        else:
            kind = "" if way.kind == "direct" else f" ({way.kind.replace('_', ' ')})"
            text = f"to `{way.target_id}`{kind}"
        by_executor.setdefault(way.executor_id, []).append(text)
    return "; ".join(f"from `{eid}` ({', '.join(ways)})" for eid, ways in by_executor.items())


def _ids(ids: tuple[str, ...]) -> str:
    return ", ".join(f"`{eid}`" for eid in ids)
