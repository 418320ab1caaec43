"""Edge groups: the data of a graph's connections, declared by the builder and read by routing and export.

Kinds: a single edge (optionally conditional), a fan-out (optionally with a selection function), a fan-in
(the target receives one list once every source has sent) and a switch-case (first true case wins, else
the default). Edge *delivery* lives in `engine.routing`; this module only describes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    from engine.executor import Executor

__all__ = [
    "Case",
    "Condition",
    "Default",
    "EdgeGroup",
    "FanInEdgeGroup",
    "FanOutEdgeGroup",
    "Selection",
    "SingleEdgeGroup",
    "SwitchCaseEdgeGroup",
    "callable_name",
]

Condition: TypeAlias = Callable[[Any], bool | Awaitable[bool]]
"""A routing predicate over the message; sync or async."""
Selection: TypeAlias = Callable[[Any, list[str]], Sequence[str] | Awaitable[Sequence[str]]]
"""Picks which fan-out targets receive a message: ``(message, target_ids) -> subset of target_ids``."""


def callable_name(func: Callable[..., Any] | None) -> str:
    """A label for a predicate or selection in errors and diagrams (``condition`` for lambdas)."""
    if func is None:
        return ""
    name = getattr(func, "__name__", type(func).__name__)
    return "condition" if name == "<lambda>" else name


@dataclass(frozen=True, slots=True)
class Case:
    """One branch of a switch-case group: `target` gets the message when `predicate(message)` is true."""

    predicate: Condition
    target: Executor | str


@dataclass(frozen=True, slots=True)
class Default:
    """The branch of a switch-case group taken when no case matches."""

    target: Executor | str


@dataclass(frozen=True, slots=True)
class SingleEdgeGroup:
    """``source -> target``, taken when `condition` is absent or true."""

    source: str
    target: str
    condition: Condition | None = None

    @property
    def sources(self) -> tuple[str, ...]:
        """The executors whose messages this group routes."""
        return (self.source,)

    @property
    def targets(self) -> tuple[str, ...]:
        """The executors this group can deliver to."""
        return (self.target,)


@dataclass(frozen=True, slots=True)
class FanOutEdgeGroup:
    """``source -> each of targets`` (or the subset `selection` picks)."""

    source: str
    target_ids: tuple[str, ...]
    selection: Selection | None = None

    @property
    def sources(self) -> tuple[str, ...]:
        """The executors whose messages this group routes."""
        return (self.source,)

    @property
    def targets(self) -> tuple[str, ...]:
        """The executors this group can deliver to."""
        return self.target_ids


@dataclass(frozen=True, slots=True)
class FanInEdgeGroup:
    """``sources -> target``: the target receives one list once every source has sent."""

    source_ids: tuple[str, ...]
    target: str

    @property
    def sources(self) -> tuple[str, ...]:
        """The executors whose messages this group routes."""
        return self.source_ids

    @property
    def targets(self) -> tuple[str, ...]:
        """The executors this group can deliver to."""
        return (self.target,)


@dataclass(frozen=True, slots=True)
class SwitchCaseEdgeGroup:
    """``source -> first case whose predicate is true, else default``."""

    source: str
    cases: tuple[tuple[Condition, str], ...]
    defaults: tuple[str, ...]
    """Every `Default` declared; validation requires exactly one, all are kept so none looks unreachable."""

    @property
    def default(self) -> str | None:
        """The branch taken when no case matches (`None` only in an invalid group)."""
        return self.defaults[0] if self.defaults else None

    @property
    def sources(self) -> tuple[str, ...]:
        """The executors whose messages this group routes."""
        return (self.source,)

    @property
    def targets(self) -> tuple[str, ...]:
        """The executors this group can deliver to (cases first, default last)."""
        return tuple(dict.fromkeys([*(target for _, target in self.cases), *self.defaults]))


EdgeGroup: TypeAlias = SingleEdgeGroup | FanOutEdgeGroup | FanInEdgeGroup | SwitchCaseEdgeGroup
