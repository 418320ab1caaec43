"""Stock executors: function executors, sub-workflows, and agents with their chat clients and tools.

The function executor and `WorkflowExecutor` live in the engine because the runtime and export need them;
they are re-exported here so user code finds every stock executor in one place. The agent names come from
`executors.agents`, which holds the rest of that surface (errors, message parts, `ExtraTools`, ...).
"""

from __future__ import annotations

from engine.function_executor import FunctionExecutor, executor
from engine.subworkflow import WorkflowExecutor
from executors.agents import (
    Agent,
    AgentExecutor,
    AgentExecutorRequest,
    AgentExecutorResponse,
    AgentResponse,
    AgentResponseUpdate,
    AgentRunUpdateEvent,
    ChatClient,
    ChatMessage,
    FunctionTool,
    OpenAIChatClient,
    ScriptedChatClient,
    ToolCall,
    tool,
)

__all__ = [
    "Agent",
    "AgentExecutor",
    "AgentExecutorRequest",
    "AgentExecutorResponse",
    "AgentResponse",
    "AgentResponseUpdate",
    "AgentRunUpdateEvent",
    "ChatClient",
    "ChatMessage",
    "FunctionExecutor",
    "FunctionTool",
    "OpenAIChatClient",
    "ScriptedChatClient",
    "ToolCall",
    "WorkflowExecutor",
    "executor",
    "tool",
]
