"""The `ChatClient` protocol every model client implements, and `ToolSpec`, what a client sends as a tool.

Agents depend on this protocol only, so the OpenAI client, the scripted client and any user-written client
are interchangeable.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from executors.agents.messages import ChatMessage, ChatResponse, ChatResponseUpdate

__all__ = ["ChatClient", "ToolChoice", "ToolSpec"]

ToolChoice = Literal["auto", "none", "required"] | str
"""`auto`, `none`, `required`, or the name of the one tool the model must call."""


class ToolSpec(BaseModel):
    """A tool as the model sees it: a name, a description and a JSON schema for its arguments."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    description: str = ""
    parameters: dict[str, Any]
    """JSON schema of the arguments object."""


@runtime_checkable
class ChatClient(Protocol):
    """A model endpoint: one response at a time, or a stream of updates."""

    async def get_response(
        self,
        messages: Sequence[ChatMessage],
        *,
        tools: Sequence[ToolSpec] | None = None,
        tool_choice: ToolChoice | None = None,
        **options: Any,
    ) -> ChatResponse:
        """Send the conversation and return the model's reply."""
        ...

    def get_streaming_response(
        self,
        messages: Sequence[ChatMessage],
        *,
        tools: Sequence[ToolSpec] | None = None,
        tool_choice: ToolChoice | None = None,
        **options: Any,
    ) -> AsyncIterator[ChatResponseUpdate]:
        """Send the conversation and yield the reply as it is generated."""
        ...
