"""The `baton` command line (typer). Today: `baton demo [handoff|switch]`, the offline demos.

Later issues add `run`, `runs`, `graph`, `check` and more demos to this app.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import AsyncIterator
from typing import Annotated

import typer

from cli.demos import CUSTOMER_TURNS, build_refund_desk, build_support_desk
from cli.render import SpeakerLine, render_event, render_handoff_event
from engine import BatonError, RunStatus, StatusEvent, Workflow, WorkflowEvent
from orchestrations import HandoffAgentUserRequest

__all__ = ["app", "main"]

app = typer.Typer(
    name="baton",
    help="Baton: a superstep workflow engine for typed executors and agents.",
    no_args_is_help=True,
    add_completion=False,
)

DEMO_TICKETS = (
    "order 1042: $180 damaged in transit",
    "order 2077: $1400 never arrived",
    "order 3310: $720 changed my mind",
    "order 4501: $950 arrived broken",
)


@app.callback()
def _root() -> None:
    """Baton: a superstep workflow engine for typed executors and agents."""


class Demo(enum.StrEnum):
    """The bundled demos."""

    HANDOFF = "handoff"
    SWITCH = "switch"


@app.command()
def demo(
    name: Annotated[
        Demo, typer.Argument(help="handoff: the support desk; switch: the refund desk.")
    ] = Demo.HANDOFF,
    show_graph: bool = typer.Option(False, "--graph", help="Print the workflow as Mermaid first."),
) -> None:
    """Run a bundled workflow offline on scripted models (no API key, no network).

    handoff: the seeds' e-commerce support desk (handoffs, customer turns, a fraud escalation).

    switch: a refund desk on the raw WorkflowBuilder (a typed switch, a fan-out, a fan-in).
    """
    workflow = build_support_desk() if name is Demo.HANDOFF else build_refund_desk()
    if show_graph:
        typer.echo(workflow.to_mermaid())
    runner = _run_handoff_demo if name is Demo.HANDOFF else _run_switch_demo
    try:
        asyncio.run(runner(workflow))
    except BatonError as error:
        typer.secho(f"error: {error}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None


async def _run_handoff_demo(workflow: Workflow) -> None:
    opening, *answers = CUSTOMER_TURNS
    typer.secho(f"> customer: {opening}", bold=True)
    run = workflow.start(opening)
    await _stream(run.stream())
    for answer in answers:
        (request,) = run.pending_requests
        typer.secho(f"> customer: {answer}", bold=True)
        await _stream(run.respond({request.request_id: answer}, stream=True))
    for request in run.pending_requests:
        typer.secho("> customer ends the conversation", bold=True)
        ended = {request.request_id: HandoffAgentUserRequest.terminate()}
        await _stream(run.respond(ended, stream=True))


async def _stream(events: AsyncIterator[WorkflowEvent]) -> None:
    line = SpeakerLine()
    async for event in events:
        render_handoff_event(event, line)
    line.close()


async def _run_switch_demo(workflow: Workflow) -> None:
    for ticket in DEMO_TICKETS:
        typer.secho(f"> {ticket}", bold=True)
        async for event in workflow.run(ticket, stream=True):
            render_event(event)
            if isinstance(event, StatusEvent) and event.status is RunStatus.IDLE:
                typer.secho("  done", dim=True)


def main() -> None:
    """Entry point of the `baton` console script."""
    app()
