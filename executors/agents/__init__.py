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
from executors.agents.scripted import RecordedRequest, ScriptedChatClient, ScriptedReply, ToolCall
from executors.agents.tools import FunctionTool, tool

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
    "FunctionTool",
    "ModelNotFoundError",
    "RateLimitError",
    "RecordedRequest",
    "Role",
    "ScriptExhaustedError",
    "ScriptedChatClient",
    "ScriptedReply",
    "TextContent",
    "ToolCall",
    "ToolCallDelta",
    "ToolChoice",
    "ToolLoopLimitError",
    "ToolSpec",
    "UsageDetails",
    "tool",
]
