"""`AgentResponse` and `AgentResponseUpdate`: what one agent turn produced, whole or as it streams.

Both are frozen pydantic models, like the messages they carry, so they cross executor boundaries,
events and checkpoints as plain JSON-ready values.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from executors.agents.messages import (
    ChatMessage,
    FunctionResultContent,
    ToolCallDelta,
    UsageDetails,
)

__all__ = ["AgentResponse", "AgentResponseUpdate"]


class AgentResponse(BaseModel):
    """The outcome of one turn: the messages it added to the conversation and the tokens it cost."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    messages: tuple[ChatMessage, ...]
    """Only what this turn added, in order: assistant replies (including those that called tools)
    and the `tool` messages holding the results. Append them to the conversation to continue it."""
    usage: UsageDetails = UsageDetails()
    """Summed over every model call of the turn; zeros when the client reported no usage."""

    @property
    def text(self) -> str:
        """The text of the final reply: the assistant messages after the last tool results.

        A turn that ended on tool results (see `ExtraTools.ends_turn`) has the text of the reply that
        made those calls, e.g. "Let me pass you to Orders." before a handoff.
        """
        messages = list(self.messages)
        while messages and messages[-1].role == "tool":
            messages.pop()
        final: list[str] = []
        for message in reversed(messages):
            if message.role == "tool":
                break
            if message.role == "assistant":
                final.append(message.text)
        return "".join(reversed(final))


class AgentResponseUpdate(BaseModel):
    """One piece of a streamed turn: a model delta, or the results of the tools the agent just ran.

    Model deltas mirror `ChatResponseUpdate` and add which agent and which model call of the turn they
    belong to, because a turn with tools makes several calls and each one numbers its tool-call deltas
    from 0. Tool results arrive as one update per round, after that round's model call ended.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    agent_name: str
    reply_index: int = 0
    """Which model call of the turn this belongs to (0 for the first)."""
    text: str = ""
    tool_call_deltas: tuple[ToolCallDelta, ...] = ()
    tool_results: tuple[FunctionResultContent, ...] = ()
    usage: UsageDetails | None = None
