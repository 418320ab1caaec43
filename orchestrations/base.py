"""What every orchestration builder shares: `compile()` to an unbuilt `WorkflowBuilder`, `build()` on top.

A builder holds configuration only. `compile()` creates fresh executors every time it is called, so two
builds share nothing but the (immutable) agents and the executors passed in as participants (which
keep their per-run state in the run, like every executor), and the returned `WorkflowBuilder` can be extended
with a typed switch or a downstream executor before its own `build()`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from engine import Executor, Workflow, WorkflowBuilder

__all__ = ["OrchestrationBuilder"]


class OrchestrationBuilder(ABC):
    """Base of the orchestration builders."""

    def __init__(self, *, name: str, max_supersteps: int) -> None:
        if isinstance(max_supersteps, bool) or not isinstance(max_supersteps, int):
            raise TypeError(f"max_supersteps must be an int, got {type(max_supersteps).__name__}")
        if max_supersteps < 1:
            raise ValueError(f"max_supersteps must be a positive integer, got {max_supersteps!r}")
        self._name = name
        self._max_supersteps = max_supersteps

    @property
    def name(self) -> str:
        """The name of the workflows this builder builds."""
        return self._name

    @property
    def max_supersteps(self) -> int:
        """The superstep budget of the workflows this builder builds."""
        return self._max_supersteps

    def new_builder(self, start: Executor) -> WorkflowBuilder:
        """A `WorkflowBuilder` with this orchestration's name and superstep budget."""
        return WorkflowBuilder(start, name=self._name, max_supersteps=self._max_supersteps)

    @abstractmethod
    def compile(self) -> WorkflowBuilder:
        """The orchestration as an unbuilt `WorkflowBuilder` made of fresh executors."""

    def build(self) -> Workflow:
        """`compile()` and build: a validated, immutable `Workflow`."""
        return self.compile().build()
