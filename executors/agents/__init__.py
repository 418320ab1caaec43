"""Agents and chat clients: messages, the `ChatClient` protocol, tools, `Agent` and `AgentExecutor`."""

from __future__ import annotations

from executors.agents.client import ChatClient, ToolChoice, ToolSpec
from executors.agents.errors import (
    AgentError,
    ChatAuthenticationError,
    ChatClientError,
    ChatConnectionError,
    ChatServerError,
    ChatTimeoutError,
    ModelNotFoundError,
    RateLimitError,
    ScriptExhaustedError,
    ToolLoopLimitError,
)
from executors.agents.messages import (
    ChatMessage,
    ChatResponse,
    ChatResponseUpdate,
    Content,
    FunctionCallContent,
    FunctionResultContent,
    Role,
    TextContent,
    ToolCallDelta,
    UsageDetails,
)

__all__ = [
    "AgentError",
    "ChatAuthenticationError",
    "ChatClient",
    "ChatClientError",
    "ChatConnectionError",
    "ChatMessage",
    "ChatResponse",
    "ChatResponseUpdate",
    "ChatServerError",
    "ChatTimeoutError",
    "Content",
    "FunctionCallContent",
    "FunctionResultContent",
    "ModelNotFoundError",
    "RateLimitError",
    "Role",
    "ScriptExhaustedError",
    "TextContent",
    "ToolCallDelta",
    "ToolChoice",
    "ToolLoopLimitError",
    "ToolSpec",
    "UsageDetails",
]
