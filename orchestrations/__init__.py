"""Orchestrations: Sequential, Concurrent, Handoff and GroupChat builders that compile to executor graphs.

Each builder's ``compile()`` returns an ordinary, unbuilt `engine.WorkflowBuilder` made through the
engine's public API only, so a user can wire a typed switch or a downstream executor onto it; ``build()``
is compile plus build. Participants pass one value between them: the conversation, a `list[ChatMessage]`.
"""

from __future__ import annotations

from orchestrations.base import OrchestrationBuilder
from orchestrations.concurrent import ConcurrentBuilder, ParticipantResult
from orchestrations.conversation import (
    ConversationAgent,
    ConversationInput,
    ConversationOutput,
    TerminationCondition,
)
from orchestrations.group_chat import (
    GroupChatBuilder,
    GroupChatCompletedEvent,
    GroupChatState,
    ManagerDecision,
)
from orchestrations.handoff import HANDOFF_OUTPUT_ID, HandoffBuilder, handoff_tool_name
from orchestrations.handoff_agent import HandoffAgentExecutor
from orchestrations.handoff_types import (
    HandoffAgentUserRequest,
    HandoffCompletedEvent,
    HandoffSentEvent,
    HandoffUserResponse,
)
from orchestrations.review import AgentReviewRequest, AgentReviewResponse
from orchestrations.sequential import SequentialBuilder

__all__ = [
    "AgentReviewRequest",
    "AgentReviewResponse",
    "ConcurrentBuilder",
    "ConversationAgent",
    "ConversationInput",
    "ConversationOutput",
    "GroupChatBuilder",
    "GroupChatCompletedEvent",
    "GroupChatState",
    "HANDOFF_OUTPUT_ID",
    "HandoffAgentExecutor",
    "HandoffAgentUserRequest",
    "HandoffBuilder",
    "HandoffCompletedEvent",
    "HandoffSentEvent",
    "HandoffUserResponse",
    "ManagerDecision",
    "OrchestrationBuilder",
    "ParticipantResult",
    "SequentialBuilder",
    "TerminationCondition",
    "handoff_tool_name",
]
