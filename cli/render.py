"""Terminal rendering of run events: who runs or speaks, handoffs, drops, pauses and outputs.

Colour only on a terminal (typer/click strip it otherwise), so piped output stays plain.
"""

from __future__ import annotations

import typer

from engine import (
    ExecutorFailedEvent,
    MessageDroppedEvent,
    OutputEvent,
    RequestInfoEvent,
    RunFailedEvent,
    SuperstepStartedEvent,
    WarningEvent,
    WorkflowEvent,
)
from executors import AgentRunUpdateEvent, ChatMessage
from orchestrations import HandoffAgentUserRequest, HandoffCompletedEvent, HandoffSentEvent

__all__ = ["SpeakerLine", "render_event", "render_handoff_event"]


class SpeakerLine:
    """The line an agent is speaking on: token deltas are appended to it until someone else speaks."""

    __slots__ = ("speaker",)

    def __init__(self) -> None:
        self.speaker: str | None = None

    def say(self, speaker: str, text: str) -> None:
        """Append `text` to `speaker`'s line, starting a new line when the speaker changes."""
        if speaker != self.speaker:
            self.close()
            typer.secho(f"  {speaker}: ", fg=typer.colors.CYAN, bold=True, nl=False)
            self.speaker = speaker
        typer.echo(text, nl=False)

    def close(self) -> None:
        """End the current speaker's line, if one is open."""
        if self.speaker is not None:
            typer.echo("")
            self.speaker = None


def render_handoff_event(event: WorkflowEvent, line: SpeakerLine) -> None:
    """Print a handoff run: agents' words as they stream, handoffs, pauses, the end and the output."""
    if isinstance(event, AgentRunUpdateEvent):
        if event.update.text:
            line.say(event.executor_id, event.update.text)
        return
    if isinstance(event, HandoffSentEvent):
        line.close()
        typer.secho(f"  {event.source} -> {event.target}", fg=typer.colors.MAGENTA)
    elif isinstance(event, RequestInfoEvent) and isinstance(event.data, HandoffAgentUserRequest):
        line.close()
        typer.secho(f"  ({event.data.agent_name} waits for the customer)", dim=True)
    elif isinstance(event, HandoffCompletedEvent):
        line.close()
        typer.secho(f"  conversation ended at {event.agent} ({event.reason})", dim=True)
    elif isinstance(event, OutputEvent) and isinstance(event.data, list):
        line.close()
        spoken = [m for m in event.data if isinstance(m, ChatMessage) and m.text]
        typer.secho(f"  output: the conversation, {len(spoken)} messages", fg=typer.colors.GREEN)
    elif not isinstance(event, SuperstepStartedEvent):  # supersteps are noise in a conversation
        render_event(event)


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
