"""The `baton` command line (typer). Today: `baton demo`, the offline engine demo.

Later issues add `run`, `runs`, `graph`, `check` and the agent demos to this app.
"""

from __future__ import annotations

import asyncio

import typer

from cli.demos import build_refund_desk
from cli.render import render_event
from engine import BatonError, RunStatus, StatusEvent, Workflow

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


@app.command()
def demo(
    show_graph: bool = typer.Option(False, "--graph", help="Print the workflow as Mermaid first."),
) -> None:
    """Run the bundled refund-desk workflow offline: a typed switch, a fan-out and a fan-in."""
    workflow = build_refund_desk()
    if show_graph:
        typer.echo(workflow.to_mermaid())
    try:
        asyncio.run(_run_demo(workflow))
    except BatonError as error:
        typer.secho(f"error: {error}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None


async def _run_demo(workflow: Workflow) -> None:
    for ticket in DEMO_TICKETS:
        typer.secho(f"> {ticket}", bold=True)
        async for event in workflow.run(ticket, stream=True):
            render_event(event)
            if isinstance(event, StatusEvent) and event.status is RunStatus.IDLE:
                typer.secho("  done", dim=True)


def main() -> None:
    """Entry point of the `baton` console script."""
    app()
