"""Agents and chat clients: messages, the `ChatClient` protocol, tools, `Agent` and `AgentExecutor`."""

from __future__ import annotations

from executors.agents.agent import Agent, AgentRunStream, ExtraTools, ToolCallHandler
from executors.agents.agent_executor import (
    AgentExecutor,
    AgentExecutorRequest,
    AgentExecutorResponse,
    AgentRunUpdateEvent,
    run_agent_turn,
)
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
from executors.agents.openai_client import OpenAIChatClient
from executors.agents.responses import AgentResponse, AgentResponseUpdate
from executors.agents.scripted import RecordedRequest, ScriptedChatClient, ScriptedReply, ToolCall
from executors.agents.tools import FunctionTool, tool

__all__ = [
    "Agent",
    "AgentError",
    "AgentExecutor",
    "AgentExecutorRequest",
    "AgentExecutorResponse",
    "AgentResponse",
    "AgentResponseUpdate",
    "AgentRunStream",
    "AgentRunUpdateEvent",
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
    "ExtraTools",
    "FunctionCallContent",
    "FunctionResultContent",
    "FunctionTool",
    "ModelNotFoundError",
    "OpenAIChatClient",
    "RateLimitError",
    "RecordedRequest",
    "Role",
    "ScriptExhaustedError",
    "ScriptedChatClient",
    "ScriptedReply",
    "TextContent",
    "ToolCall",
    "ToolCallDelta",
    "ToolCallHandler",
    "ToolChoice",
    "ToolLoopLimitError",
    "ToolSpec",
    "UsageDetails",
    "run_agent_turn",
    "tool",
]
