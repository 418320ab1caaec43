"""Driving a run from the command line: segments shown as they happen, pauses answered, until it rests.

One loop serves `baton demo`, `baton run` and `baton runs resume`: show a segment (streamed events, or
the finished segment's events), and while requests are pending ask an `Answerer` for answers and
continue with ``run.respond``. The answerer returns `None` when it has nothing more to give; the run
then stays paused, which is the end of the session, not an error.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any

import typer

from cli.answers import describe_request, parse_answer, read_line
from cli.errors import CliError
from cli.progress import progress
from cli.render import EventPrinter, json_line
from cli.stores import redact
from engine import RequestInfoEvent, ResponseError, Run, RunResult, RunStatus, WorkflowEvent

__all__ = ["Answerer", "View", "drive", "first_segment", "paused_notice", "prompt_for_answers"]

Answerer = Callable[[tuple[RequestInfoEvent, ...]], dict[str, Any] | None]
"""Given the pending requests, the answers to deliver (some or all), or `None` to stop here."""

Segment = AsyncIterator[WorkflowEvent] | Coroutine[Any, Any, RunResult]


@dataclass
class View:
    """How a session shows its run."""

    stream: bool = True
    """Print events as they happen (else each segment's events once it is done)."""
    json: bool = False
    """One JSON object per event per line on stdout, and nothing else there."""
    progress: bool = False
    """The live superstep line on stderr (only meaningful on a terminal)."""
    printer: EventPrinter = field(default_factory=EventPrinter)


def first_segment(run: Run, view: View) -> Segment:
    """The first segment of a fresh run, streamed or awaited as `view` says."""
    return run.stream() if view.stream else run.execute()


async def drive(run: Run, first: Segment, answer: Answerer, view: View) -> RunStatus:
    """Show `first` and every segment after it until the run is done, fails, or `answer` stops."""
    segment: Segment = first
    while True:
        await _show(run, segment, view)
        pending = run.pending_requests
        if not pending:
            return run.status
        answers = answer(pending)
        if not answers:
            return run.status
        segment = run.respond(answers, stream=view.stream)


async def _show(run: Run, segment: Segment, view: View) -> None:
    emit: Callable[[WorkflowEvent], None] = _print_json if view.json else view.printer
    async with progress(run, enabled=view.progress and not view.json):
        try:
            if isinstance(segment, Coroutine):
                result = await segment
                events: tuple[WorkflowEvent, ...] = result.events
            else:
                async for event in segment:
                    emit(event)
                events = ()
        finally:
            view.printer.close()
    for event in events:
        emit(event)


def _print_json(event: WorkflowEvent) -> None:
    typer.echo(json_line(event))


def prompt_for_answers(given: Mapping[str, str], *, err: bool) -> Answerer:
    """An answerer for `baton run` and `runs resume`: given ``--answer`` texts, then the terminal.

    A given id may be shortened to any prefix that names one pending request.

    A given answer that does not fit its request is an error (nothing is delivered); a typed one is
    asked again with what was wrong. At the end of input it delivers what it has, or stops.
    """
    remaining = dict(given)

    def answer(requests: tuple[RequestInfoEvent, ...]) -> dict[str, Any] | None:
        for given_id in list(remaining):
            remaining[_full_id(given_id, requests)] = remaining.pop(given_id)
        answers: dict[str, Any] = {}
        for request in requests:
            if request.request_id in remaining:
                text = remaining.pop(request.request_id)
                try:
                    answers[request.request_id] = parse_answer(request, text)
                except ResponseError as error:
                    raise CliError(f"--answer {request.request_id}: {error}") from None
                continue
            value = _ask(request, err=err)
            if value is _NO_MORE:
                break
            answers[request.request_id] = value
        return answers or None

    return answer


_NO_MORE = object()


def _full_id(given: str, requests: tuple[RequestInfoEvent, ...]) -> str:
    """The pending request `given` names: its whole id, or a prefix that fits exactly one."""
    ids = [r.request_id for r in requests]
    if given in ids:
        return given
    fits = [i for i in ids if i.startswith(given)]
    if len(fits) == 1:
        return fits[0]
    pending = ", ".join(f"`{i}`" for i in ids)
    if fits:
        raise CliError(f"`{given}` fits several pending requests ({pending}); give more of the id.")
    raise CliError(f"there is no pending request `{given}`; pending: {pending}.")


def _ask(request: RequestInfoEvent, *, err: bool) -> Any:
    first, *rest = describe_request(request)
    typer.secho(first, bold=True, err=err)
    for line in rest:
        typer.echo(line, err=err)
    while True:
        text = read_line("answer: ", err=err)
        if text is None:
            return _NO_MORE
        try:
            return parse_answer(request, text)
        except ResponseError as error:
            typer.secho(str(error), fg=typer.colors.YELLOW, err=err)


def paused_notice(run: Run, target: str, store_url: str) -> None:
    """Tell how to continue a durable run that is still waiting for answers (on stderr)."""
    if not run.pending_requests:
        return
    ids = ", ".join(r.request_id for r in run.pending_requests)
    typer.secho(
        f"run {run.run_id} is waiting for answers ({ids}); continue it with: baton runs resume "
        f"{target} {run.run_id} --store {redact(store_url)} --answer REQUEST_ID=VALUE",
        fg=typer.colors.YELLOW,
        err=True,
    )
