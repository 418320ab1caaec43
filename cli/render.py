"""Terminal rendering of run events: who runs in each superstep, what is dropped, what is output.

Colour only on a terminal (typer/click strip it otherwise), so piped output stays plain.
"""

from __future__ import annotations

import typer

from engine import (
    ExecutorFailedEvent,
    MessageDroppedEvent,
    OutputEvent,
    RunFailedEvent,
    SuperstepStartedEvent,
    WarningEvent,
    WorkflowEvent,
)

__all__ = ["render_event"]


def render_event(event: WorkflowEvent) -> None:
    """Print one event as a line, or nothing for bookkeeping events."""
    if isinstance(event, SuperstepStartedEvent):
        names = ", ".join(event.executor_ids)
        typer.secho(f"  superstep {event.superstep}: {names}", dim=True)
    elif isinstance(event, OutputEvent):
        typer.secho(f"  output from {event.executor_id}: {event.data}", fg=typer.colors.GREEN)
    elif isinstance(event, MessageDroppedEvent):
        typer.secho(f"  dropped from {event.source_id}: {event.reason}", fg=typer.colors.YELLOW)
    elif isinstance(event, WarningEvent):
        typer.secho(f"  warning: {event.message}", fg=typer.colors.YELLOW)
    elif isinstance(event, ExecutorFailedEvent):
        typer.secho(f"  {event.executor_id} failed: {event.error}", fg=typer.colors.RED, err=True)
    elif isinstance(event, RunFailedEvent):
        typer.secho(f"  run failed: {event.error}", fg=typer.colors.RED, err=True)
