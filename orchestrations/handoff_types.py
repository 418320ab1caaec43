"""The values a handoff conversation exchanges: the baton, the end of a conversation, user turns, events.

`HandoffMessage` carries the shared transcript from one agent to the next (and the per-agent turn counts,
so limits travel with the conversation instead of living in any executor). `HandoffEnd` carries it to the
output node. `HandoffAgentUserRequest` is what a run pauses on when an agent gives the turn back to the
user; `HandoffUserResponse` is the answer. `HandoffRoute` is the named edge condition that labels each
handoff edge with its description in diagrams and in the graph signature.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from engine import UserEvent
from executors.agents import AgentResponse, ChatMessage

__all__ = [
    "EndReason",
    "HandoffAgentUserRequest",
    "HandoffCompletedEvent",
    "HandoffEnd",
    "HandoffMessage",
    "HandoffRoute",
    "HandoffSentEvent",
    "HandoffUserResponse",
    "UserRequestReason",
]

EndReason = Literal["terminal_agent", "termination_condition", "user_terminated", "turn_limit"]
"""Why a handoff conversation ended."""
UserRequestReason = Literal["turn_finished", "conversation_ended", "turn_limit"]
"""Why an agent gives the turn to the user: it answered, it is terminal and finished, or it is out of
turns."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class HandoffMessage(_Frozen):
    """The baton: the whole conversation, sent to the agent that continues it."""

    target: str
    kind: Literal["handoff", "user_reply"] = "handoff"
    """A handoff between agents, or a user's reply forwarded to the start agent."""
    source: str
    conversation: tuple[ChatMessage, ...]
    turns: dict[str, int] = Field(default_factory=dict)
    """Turns each agent has taken since the user last spoke."""


class HandoffEnd(_Frozen):
    """A finished conversation, on its way to the output node."""

    agent: str
    """The agent that had the turn when it ended."""
    reason: EndReason
    conversation: tuple[ChatMessage, ...]


class HandoffUserResponse(_Frozen):
    """The user's next turn (messages for the agent), or the instruction to end the conversation.

    Text, one message or a list of messages are accepted wherever this type is expected.
    """

    messages: tuple[ChatMessage, ...] = ()
    terminate: bool = False

    @model_validator(mode="before")
    @classmethod
    def _from_shorthand(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"messages": (ChatMessage("user", value),)}
        if isinstance(value, ChatMessage):
            return {"messages": (value,)}
        if isinstance(value, (list, tuple)):
            return {"messages": tuple(value)}
        return value

    @model_validator(mode="after")
    def _says_something(self) -> HandoffUserResponse:
        if not self.terminate and not self.messages:
            raise ValueError(
                "a reply needs at least one message; use HandoffAgentUserRequest.create_response(text)"
                " or HandoffAgentUserRequest.terminate() to end the conversation"
            )
        return self


class HandoffAgentUserRequest(_Frozen):
    """An agent gave the turn back to the user; the run waits for their reply."""

    agent_name: str
    reason: UserRequestReason = "turn_finished"
    agent_response: AgentResponse | None = None
    """What the agent said in the turn it just finished (`None` when it ran out of turns on entry)."""

    @property
    def text(self) -> str:
        """The text of the agent's last reply (empty when there is none)."""
        return self.agent_response.text if self.agent_response is not None else ""

    @staticmethod
    def create_response(reply: str | ChatMessage | Sequence[ChatMessage]) -> HandoffUserResponse:
        """The user's reply: text (sent as a user message) or messages."""
        if isinstance(reply, (str, ChatMessage)):
            return HandoffUserResponse.model_validate(reply)
        return HandoffUserResponse(messages=tuple(reply))

    @staticmethod
    def terminate() -> HandoffUserResponse:
        """The answer that ends the conversation; the workflow outputs it as it stands."""
        return HandoffUserResponse(terminate=True)


@dataclass(frozen=True, slots=True)
class HandoffSentEvent(UserEvent):
    """An agent handed the conversation to another agent (only emitted for handoffs that happened)."""

    type: ClassVar[str] = "handoff_sent"
    source: str
    target: str


@dataclass(frozen=True, slots=True)
class HandoffCompletedEvent(UserEvent):
    """A handoff conversation reached an end, and why; its conversation is the output that follows."""

    type: ClassVar[str] = "handoff_completed"
    agent: str
    reason: EndReason


@dataclass(frozen=True, slots=True)
class HandoffRoute:
    """The condition of one handoff edge: it lets through the baton addressed to `target`.

    Its name is the edge's label, so diagrams show the description the source agent's model reads, and a
    changed description changes the graph signature checkpoints are matched against.
    """

    target: str
    label: str
    kind: Literal["handoff", "user_reply"] = "handoff"

    @property
    def __name__(self) -> str:
        """The edge label."""
        return self.label

    def __call__(self, message: object) -> bool:
        """Whether `message` is the baton for this edge."""
        return (
            isinstance(message, HandoffMessage)
            and message.target == self.target
            and message.kind == self.kind
        )
