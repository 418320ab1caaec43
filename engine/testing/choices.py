"""`Choices`: a script of decisions that drives a run's branch points, and the switches that obey it.

A test (or hypothesis, or the route explorer) hands one `Choices` to everything that branches: switch
groups, through `with_choices`, and scripted models, such as `executors.agents.testing.ChoiceChatClient`.
Each branch point asks ``choose(point, options)`` and gets the next number of the script (modulo the
number of options), and the choice is recorded in `route`. When the script is used up, `choose` returns
`None`, and the branch point behaves naturally: a switch evaluates its predicates, a chat client
answers without handing off. So a shorter script means a plainer run, and hypothesis shrinks a failing
script to the few decisions that matter.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from engine.edges import Condition, EdgeGroup, SwitchCaseEdgeGroup, TypeCondition, callable_name
from engine.workflow import Workflow

__all__ = ["Choice", "Choices", "with_choices"]


@dataclass(frozen=True, slots=True)
class Choice:
    """One decision taken at a branch point."""

    point: str
    """Where: ``switch `triage``` or ``agent `billing```."""
    options: tuple[str, ...]
    chosen: int

    def __str__(self) -> str:
        return f"{self.point} -> {self.options[self.chosen]}"


class Choices:
    """A script of decisions (non-negative integers), and the route the last run took through it."""

    def __init__(self, script: Iterable[int] = ()) -> None:
        numbers = list(script)
        if any(isinstance(n, bool) or not isinstance(n, int) or n < 0 for n in numbers):
            raise ValueError(f"a Choices script holds non-negative integers, got {numbers!r}")
        self._script = tuple(numbers)
        self._depth = 0
        """Past the script, the first `_depth` branch points take option 0 (the route explorer)."""
        self._cursor = 0
        self._route: list[Choice] = []

    @property
    def script(self) -> tuple[int, ...]:
        """The decisions, in the order branch points ask for them."""
        return self._script

    @property
    def route(self) -> tuple[Choice, ...]:
        """Every decision taken since the last `restart`, in order."""
        return tuple(self._route)

    def restart(self) -> None:
        """Start the script again from its first decision (each run should)."""
        self._cursor = 0
        self._route = []

    def replay(self, script: Sequence[int], *, depth: int = 0) -> None:
        """Load a new script; past its end, option 0 is taken until `depth` decisions in all.

        `depth` counts from the run's first decision, the script's included: ``replay([2], depth=3)``
        takes 2, then 0 twice, then behaves naturally (the route explorer's depth limit).
        """
        replayed = Choices(script)
        self._script, self._depth = replayed.script, depth
        self.restart()

    def choose(self, point: str, options: Sequence[str]) -> int | None:
        """The option to take at `point`, or `None` when the script is used up (behave naturally).

        A point with a single option is not a decision: it takes it without using the script.
        """
        if not options:
            raise ValueError(f"choose() at {point} needs at least one option")
        if len(options) == 1:
            return 0
        if self._cursor < len(self._script):
            chosen = self._script[self._cursor] % len(options)
        elif self._cursor < self._depth:
            chosen = 0
        else:
            return None
        self._cursor += 1
        self._route.append(Choice(point, tuple(options), chosen))
        return chosen

    def describe(self) -> str:
        """The route as lines, for failure messages."""
        if not self._route:
            return "no decisions (every branch point behaved naturally)"
        return "; ".join(str(choice) for choice in self._route)

    def __repr__(self) -> str:
        return f"Choices({list(self._script)!r})"


class _ChosenSwitch:
    """The predicates of one switch group, made to follow a `Choices` script.

    Routing asks a switch's case predicates in order, one message at a time, so the first predicate
    draws the decision for the message and the others answer from it. A type case is an option only
    for messages of its type: a script can force any route the messages could take, never one they
    could not.
    """

    def __init__(self, group: SwitchCaseEdgeGroup, choices: Choices) -> None:
        self._group = group
        self._choices = choices
        self._labels = [f"case {n}: {callable_name(p)}" for n, (p, _) in enumerate(group.cases, 1)]
        self._decision: int | None = None
        """The case number chosen for the message being routed (`len(cases)`: the default)."""

    def predicates(self) -> tuple[tuple[Condition, str], ...]:
        return tuple(
            (self._predicate(number, predicate), target)
            for number, (predicate, target) in enumerate(self._group.cases)
        )

    def _decide(self, message: Any) -> int | None:
        cases = self._group.cases
        eligible = [
            number
            for number, (predicate, _) in enumerate(cases)
            if not isinstance(predicate, TypeCondition) or predicate(message)
        ]
        if self._group.defaults:
            eligible.append(len(cases))
        if not eligible:
            return None
        options = [self._labels[n] if n < len(cases) else "default" for n in eligible]
        chosen = self._choices.choose(f"switch `{self._group.source}`", options)
        return None if chosen is None else eligible[chosen]

    def _predicate(self, number: int, predicate: Condition) -> Condition:
        async def chosen(message: Any) -> bool:
            if number == 0:
                self._decision = self._decide(message)
            if self._decision is None:
                verdict = predicate(message)
                return bool(await verdict if inspect.isawaitable(verdict) else verdict)
            return self._decision == number

        chosen.__name__ = callable_name(predicate)
        return chosen


def with_choices(workflow: Workflow, choices: Choices) -> Workflow:
    """A copy of `workflow` whose switch-case groups take the branch `choices` picks.

    Only this graph's switches change: conditional edges and fan-out selections keep deciding from
    the message, and switches inside a sub-workflow (`WorkflowExecutor`) keep their predicates. A
    bounded case that is spent still falls through when chosen. The copy shares the executors, so it
    is for tests, and for non-durable runs.
    """
    groups: list[EdgeGroup] = []
    for group in workflow.edge_groups:
        if isinstance(group, SwitchCaseEdgeGroup) and group.cases:
            group = replace(group, cases=_ChosenSwitch(group, choices).predicates())
        groups.append(group)
    return Workflow(
        name=workflow.name,
        start_executor_id=workflow.start_executor_id,
        executors=workflow.executors,
        edge_groups=tuple(groups),
        max_supersteps=workflow.max_supersteps,
        strict=workflow.strict,
        warnings=workflow.warnings,
    )
