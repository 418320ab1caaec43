"""Edge groups: the data of a graph's connections, declared by the builder and read by routing and export.

Kinds: a single edge (optionally conditional), a fan-out (optionally with a selection function), a fan-in
(the target receives one list once every source has sent) and a switch-case (first true case wins, else
the default). A single edge and a switch case may carry a loop bound, `max_traversals`: the most messages
it carries in one run; once spent, it counts as false. A case may name a type instead of a predicate.
Edge *delivery* lives in `engine.routing`; this module only describes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias, get_origin

from engine.typecheck import matches, type_name

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
    "TypeCondition",
    "callable_name",
    "check_bound",
    "is_type_form",
]

Condition: TypeAlias = Callable[[Any], bool | Awaitable[bool]]
"""A routing predicate over the message; sync or async."""
Selection: TypeAlias = Callable[[Any, list[str]], Sequence[str] | Awaitable[Sequence[str]]]
"""Picks which fan-out targets receive a message: ``(message, target_ids) -> subset of target_ids``."""


def callable_name(func: Callable[..., Any] | None) -> str:
    """A label for a predicate or selection in errors and diagrams (``condition`` for lambdas)."""
    if func is None:
        return ""
    if isinstance(func, TypeCondition):
        return type_name(func.message_type)
    name = getattr(func, "__name__", type(func).__name__)
    return "condition" if name == "<lambda>" else name


def is_type_form(value: object) -> bool:
    """Whether `value` names a type a switch case can match on: a class, union, generic or `Any`."""
    return isinstance(value, type) or value is Any or get_origin(value) is not None


def check_bound(max_traversals: object, where: str) -> int | None:
    """`max_traversals` if it is `None` or a positive int, else a `ValueError` saying what to pass."""
    if max_traversals is None:
        return None
    if (
        isinstance(max_traversals, bool)
        or not isinstance(max_traversals, int)
        or max_traversals < 1
    ):
        raise ValueError(
            f"{where}: max_traversals must be a positive integer (how many messages the edge may "
            f"carry in one run), got {max_traversals!r}"
        )
    return max_traversals


@dataclass(frozen=True, slots=True)
class TypeCondition:
    """A switch case declared with a type: true for every message that type's handler would accept.

    Generics and unions work as in handler dispatch (``list[int]``, ``Refund | Return``), and the
    analysis can reason about them: which union members no case covers, which cases come too late.
    """

    message_type: object

    def __call__(self, message: Any) -> bool:
        """Whether `message` is of the case's type."""
        return matches(message, self.message_type)


@dataclass(frozen=True, slots=True)
class Case:
    """One branch of a switch-case group: `target` gets the message when `predicate` matches it.

    `predicate` is a function of the message (sync or async), or a type: ``Case(Refund, refunds)``
    takes every `Refund`. With `max_traversals`, the case carries at most that many messages in one
    run; after that it counts as false (a ``loop_bound_reached`` event says so) and the next case or
    the default takes the message: the way to bound a loop that a switch closes.
    """

    predicate: Condition | type | Any
    target: Executor | str
    max_traversals: int | None = None


@dataclass(frozen=True, slots=True)
class Default:
    """The branch of a switch-case group taken when no case matches."""

    target: Executor | str


@dataclass(frozen=True, slots=True)
class SingleEdgeGroup:
    """``source -> target``, taken when `condition` is absent or true (and its bound is not spent)."""

    source: str
    target: str
    condition: Condition | None = None
    max_traversals: int | None = None
    """The most messages this edge carries in one run (`None`: no bound)."""

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
    """Every `Default` declared: at most one is valid (none only when type cases cover every type
    the source sends); all are kept so none looks unreachable."""
    bounds: tuple[int | None, ...] = ()
    """Each case's `max_traversals`, parallel to `cases`; empty when no case is bounded."""

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
