"""Terminal rendering of run events: who speaks, handoffs, pauses, the end of a conversation, outputs.

`EventPrinter` writes one line per event that matters to a person (agents' words are streamed onto
their speaker's line); `json_line` is the machine form, one JSON object per event. Colour only on a
terminal (typer/click strip it otherwise), so piped output stays plain.
"""

from __future__ import annotations

import json
from typing import Any

import typer

from engine import (
    ExecutorFailedEvent,
    MessageDroppedEvent,
    OutputEvent,
    RequestInfoEvent,
    SuperstepStartedEvent,
    WarningEvent,
    WorkflowEvent,
)
from engine.events import event_to_dict
from executors import AgentResponse, AgentRunUpdateEvent, ChatMessage
from orchestrations import (
    AgentReviewRequest,
    GroupChatCompletedEvent,
    HandoffAgentUserRequest,
    HandoffCompletedEvent,
    HandoffSentEvent,
)

__all__ = ["EventPrinter", "json_line", "show_output"]


class EventPrinter:
    """Prints a run's events for a person; `user` names who answers requests (``customer``, ...)."""

    __slots__ = ("speaker", "supersteps", "user")

    def __init__(self, *, user: str = "user", supersteps: bool = True) -> None:
        self.user = user
        self.supersteps = supersteps
        """Whether to print a line per superstep (noise in a conversation, progress elsewhere)."""
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

    def __call__(self, event: WorkflowEvent) -> None:
        """Print `event`, or nothing for bookkeeping events."""
        if isinstance(event, AgentRunUpdateEvent):
            if event.update.text:
                self.say(event.executor_id, event.update.text)
            return
        line = self._line(event)
        if line is None:
            return
        text, style = line
        self.close()
        typer.secho(f"  {text}", err=style == "error", **_STYLES[style])

    def _line(self, event: WorkflowEvent) -> tuple[str, str] | None:
        if isinstance(event, HandoffSentEvent):
            return f"{event.source} -> {event.target}", "handoff"
        if isinstance(event, RequestInfoEvent):
            said = self._request(event)
            return None if said is None else (said, "quiet")
        if isinstance(event, HandoffCompletedEvent):
            return f"conversation ended at {event.agent} ({event.reason})", "quiet"
        if isinstance(event, GroupChatCompletedEvent):
            return f"group chat ended ({event.reason}) after {event.rounds} rounds", "quiet"
        if isinstance(event, OutputEvent):
            return show_output(event.executor_id, event.data), "output"
        if isinstance(event, SuperstepStartedEvent):
            if not self.supersteps:
                return None
            return f"superstep {event.superstep}: {', '.join(event.executor_ids)}", "quiet"
        if isinstance(event, MessageDroppedEvent):
            return f"dropped from {event.source_id}: {event.reason}", "warning"
        if isinstance(event, WarningEvent):
            return f"warning: {event.message}", "warning"
        if isinstance(event, ExecutorFailedEvent):
            return f"{event.executor_id} failed: {event.error}", "error"
        return None  # run_failed: the command reports the error itself, once

    def _request(self, event: RequestInfoEvent) -> str | None:
        data = event.data
        if isinstance(data, HandoffAgentUserRequest):
            return f"({data.agent_name} waits for the {self.user})"
        if isinstance(data, AgentReviewRequest):
            return f"({data.agent_name}'s reply waits for the {self.user})"
        return None  # the session shows the request in full when it asks for the answer


_STYLES: dict[str, dict[str, Any]] = {
    "handoff": {"fg": typer.colors.MAGENTA},
    "quiet": {"dim": True},
    "output": {"fg": typer.colors.GREEN},
    "warning": {"fg": typer.colors.YELLOW},
    "error": {"fg": typer.colors.RED},
}


def show_output(executor_id: str, data: object) -> str:
    """One line for a workflow output: a conversation by size and speakers, a reply by its text."""
    if isinstance(data, list | tuple) and data and all(isinstance(m, ChatMessage) for m in data):
        authors = dict.fromkeys(m.author_name or m.role for m in data if m.text)
        spoken = sum(1 for m in data if m.text)
        return f"output: {spoken} messages from {', '.join(authors)}"
    if isinstance(data, AgentResponse):
        return f"output from {executor_id}: {data.text}"
    return f"output from {executor_id}: {data}"


def json_line(event: WorkflowEvent) -> str:
    """The event as one line of JSON (`engine.events.event_to_dict`)."""
    return json.dumps(event_to_dict(event), default=str)
