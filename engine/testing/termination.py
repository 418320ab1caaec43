"""`assert_terminates`: run a workflow and check that every input ends within its superstep bound.

The bound is the analysed one (`engine.analysis.analyze(...).superstep_bound`) unless the test gives
its own. A run that pauses for input has ended its input; with a `responder`, the test answers each
pause and every answer is held to the same bound. When an input does not end in time, the assertion
names the route the run took: the decisions drawn from `Choices` and the executors of the last
supersteps, so a hypothesis failure shrinks to, and prints, a minimal route.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from engine.analysis import analyze
from engine.errors import ConvergenceError, RunError
from engine.events import RequestInfoEvent, SuperstepStartedEvent, WorkflowEvent
from engine.run import RunResult
from engine.testing.choices import Choice, Choices, with_choices
from engine.workflow import Workflow

__all__ = ["Responder", "Trace", "assert_terminates", "bound_for", "run_blocking", "trace"]

Responder = Callable[[RequestInfoEvent], Any]
"""Answers one request for outside input (the answer `respond()` would get)."""

ResultT = TypeVar("ResultT")
_SHOWN_STEPS = 12


@dataclass(slots=True)
class Trace:
    """What one driven run did: how each input ended, and the way it went."""

    result: RunResult | None = None
    """The last segment's result (`None` when the run failed)."""
    error: RunError | None = None
    segments: list[int] = field(default_factory=list)
    """Supersteps each input took, in order (the start, then each answer)."""
    route: tuple[Choice, ...] = ()
    steps: list[tuple[str, ...]] = field(default_factory=list)
    """The executors of every superstep, in order."""
    outputs: list[Any] = field(default_factory=list)
    """Every output of every segment, in order."""

    @property
    def terminated(self) -> bool:
        """Whether every input ended within the budget (a failing handler still counts as ending)."""
        return not isinstance(self.error, ConvergenceError)

    def describe(self, choices: Choices | None) -> str:
        """The route for a failure message: decisions, then the last supersteps' executors."""
        lines = []
        if choices is not None:
            lines.append(f"decisions: {choices.describe()}")
        first = max(len(self.steps) - _SHOWN_STEPS, 0)
        if first:
            lines.append(f"supersteps 1-{first}: ...")
        for number, executors in enumerate(self.steps[first:], first + 1):
            lines.append(f"superstep {number}: {', '.join(executors)}")
        return "\n".join(lines)


def bound_for(workflow: Workflow, within: int | None) -> int:
    """`within`, or the analysed superstep bound; a `ValueError` when neither exists."""
    if within is not None:
        if isinstance(within, bool) or not isinstance(within, int) or within < 1:
            raise ValueError(f"within must be a positive number of supersteps, got {within!r}")
        return within
    report = analyze(workflow)
    if report.superstep_bound is not None:
        return report.superstep_bound
    unbounded = [c for c in report.cycles if not c.is_bounded]
    loops = "; ".join(" -> ".join(f"`{eid}`" for eid in c.loop) for c in unbounded)
    raise ValueError(
        f"the analysis cannot bound workflow `{workflow.name}`: {loops} passes no turn limit or "
        "loop bound. Bound the loop (`max_traversals=` on one of its edges, or turn limits), or "
        "pass `within=` the number of supersteps one input may take."
    )


async def trace(
    workflow: Workflow,
    message: Any,
    *,
    within: int,
    choices: Choices | None = None,
    responder: Responder | None = None,
    max_responses: int = 10,
) -> Trace:
    """Drive one run of `workflow` (answering up to `max_responses` pauses) and record it."""
    if choices is not None:
        choices.restart()
        workflow = with_choices(workflow, choices)
    found = Trace()
    run = workflow.start(message, max_supersteps=within)
    before = 0
    try:
        result = await run.execute()
        for answered in range(max_responses + 1):
            _record(found, result.events, result.supersteps - before)
            found.result, before = result, result.supersteps
            if responder is None or not result.requests or answered == max_responses:
                break
            answers = {request.request_id: responder(request) for request in result.requests}
            result = await run.respond(answers)
    except RunError as error:
        found.error, found.result = error, None
        if error.result is not None:
            _record(found, error.result.events, error.superstep - before)
    found.route = choices.route if choices is not None else ()
    return found


def _record(found: Trace, events: tuple[WorkflowEvent, ...], supersteps: int) -> None:
    found.segments.append(supersteps)
    for event in events:
        if isinstance(event, SuperstepStartedEvent):
            found.steps.append(event.executor_ids)
        elif event.type == "output":
            found.outputs.append(getattr(event, "data", None))


def assert_terminates(
    workflow: Workflow,
    message: Any,
    *,
    within: int | None = None,
    choices: Choices | None = None,
    responder: Responder | None = None,
    max_responses: int = 10,
) -> RunResult:
    """Run `workflow` on `message` and assert every input ends within `within` supersteps.

    `within` defaults to the analysed bound (a `ValueError` says so when the graph has an unbounded
    cycle). `choices` drives the switches (and any chat client built on it); `responder` answers
    each pause, up to `max_responses` times. Returns the last segment's result; a handler that
    raises is re-raised with the route as a note. Works in sync tests and inside a running loop.
    """
    bound = bound_for(workflow, within)
    found = run_blocking(
        trace(
            workflow,
            message,
            within=bound,
            choices=choices,
            responder=responder,
            max_responses=max_responses,
        )
    )
    if not found.terminated:
        raise AssertionError(
            f"workflow `{workflow.name}` did not terminate: input {len(found.segments)} was still "
            f"running after {bound} supersteps.\n{found.describe(choices)}"
        )
    if found.error is not None:
        found.error.add_note(f"route taken:\n{found.describe(choices)}")
        raise found.error
    assert found.result is not None
    return found.result


def run_blocking(coroutine: Coroutine[Any, Any, ResultT]) -> ResultT:
    """Run `coroutine` to completion from sync code, even when an event loop is already running."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
