"""The route explorer: run every combination of decisions up to a depth, and report the bad routes.

A depth-first search over `Choices` scripts, without hypothesis: run with the script so far, look at
the branch points the run met past it (each with its number of options), and queue one script per
untried option of each, up to `depth` decisions. Past the depth a run behaves naturally. Every run
is deterministic, so each route is run once, and the routes that do not end within the bound, or that
end in an error, come back with the decisions that lead to them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.analysis import analyze
from engine.errors import ConvergenceError, RunError
from engine.testing.choices import Choice, Choices
from engine.testing.termination import Responder, bound_for, run_blocking, trace
from engine.workflow import Workflow

__all__ = ["RouteExploration", "RouteOutcome", "explore_routes"]


@dataclass(frozen=True, slots=True)
class RouteOutcome:
    """A route that went wrong: its decisions, and how it ended."""

    script: tuple[int, ...]
    """Replay it with ``Choices(script)``."""
    route: tuple[Choice, ...]
    supersteps: int
    """Supersteps of the input that went wrong."""
    error: RunError
    """`ConvergenceError` when it did not terminate, else the error it ended in."""

    @property
    def terminated(self) -> bool:
        """Whether the route ended (in an error) rather than running past the bound."""
        return not isinstance(self.error, ConvergenceError)

    def __str__(self) -> str:
        how = "ended in an error" if self.terminated else "did not terminate"
        decisions = "; ".join(str(choice) for choice in self.route) or "no decisions"
        return f"{how} ({type(self.error).__name__}): {decisions}"


@dataclass(frozen=True, slots=True)
class RouteExploration:
    """What the explorer ran and found."""

    routes: int
    """How many distinct routes ran."""
    failures: tuple[RouteOutcome, ...]
    complete: bool
    """Whether every route up to the depth ran (else `max_routes` cut the search short)."""

    @property
    def non_terminating(self) -> tuple[RouteOutcome, ...]:
        """The routes that ran past the bound."""
        return tuple(f for f in self.failures if not f.terminated)

    @property
    def errors(self) -> tuple[RouteOutcome, ...]:
        """The routes that ended in an error."""
        return tuple(f for f in self.failures if f.terminated)


def explore_routes(
    workflow: Workflow,
    message: Any,
    *,
    depth: int = 6,
    within: int | None = None,
    choices: Choices | None = None,
    responder: Responder | None = None,
    max_responses: int = 3,
    max_routes: int = 2000,
) -> RouteExploration:
    """Run `workflow` on `message` along every route of up to `depth` decisions.

    Pass the `Choices` your chat clients were built with (``ChoiceChatClient(choices)``) so agents'
    handoffs are explored too; without it only switches branch. `within` defaults to the analysed
    bound, else the workflow's superstep budget.
    """
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 0:
        raise ValueError(f"depth must be a non-negative number of decisions, got {depth!r}")
    if within is not None:
        bound = bound_for(workflow, within)  # checks it
    else:
        bound = analyze(workflow).superstep_bound or workflow.max_supersteps
    chooser = choices if choices is not None else Choices()
    return run_blocking(
        _search(workflow, message, bound, depth, chooser, responder, max_responses, max_routes)
    )


async def _search(
    workflow: Workflow,
    message: Any,
    bound: int,
    depth: int,
    chooser: Choices,
    responder: Responder | None,
    max_responses: int,
    max_routes: int,
) -> RouteExploration:
    queue: list[tuple[int, ...]] = [()]
    failures: list[RouteOutcome] = []
    routes = 0
    while queue and routes < max_routes:
        script = queue.pop()
        chooser.replay(script, depth=depth)
        found = await trace(
            workflow,
            message,
            within=bound,
            choices=chooser,
            responder=responder,
            max_responses=max_responses,
        )
        routes += 1
        taken = tuple(choice.chosen for choice in found.route)
        if found.error is not None:
            steps = found.segments[-1] if found.segments else 0
            failures.append(RouteOutcome(taken, found.route, steps, found.error))
        for position in range(len(taken) - 1, len(script) - 1, -1):
            options = len(found.route[position].options)
            queue.extend((*taken[:position], other) for other in range(options - 1, 0, -1))
    return RouteExploration(routes, tuple(failures), complete=not queue)
