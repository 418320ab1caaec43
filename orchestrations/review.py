"""Review pauses: an agent's reply waits for a person, who approves it or asks for a revision.

Wiring: conversation -> agent turn -> request_info(AgentReviewRequest) -> approve: send on | revise:
feedback appended, another turn, ask again. The conversation under review is kept in the executor's
run state, so a paused run can be checkpointed and answered in another process.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

from engine import WorkflowContext, response_handler
from executors.agents import AgentResponse, ChatMessage, run_agent_turn
from orchestrations.conversation import ConversationAgent

__all__ = ["AgentReviewRequest", "AgentReviewResponse", "ReviewedAgent"]


class AgentReviewResponse(BaseModel):
    """A reviewer's verdict: approve the reply, or send feedback the agent revises it with.

    A plain string is accepted wherever this type is expected and means "revise with this feedback".
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    approved: bool
    feedback: str = ""

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"approved": False, "feedback": value}
        return value

    @model_validator(mode="after")
    def _feedback_when_revising(self) -> AgentReviewResponse:
        if not self.approved and not self.feedback.strip():
            raise ValueError(
                "a revision needs feedback text; answer with request.approve() to accept the reply"
            )
        return self


class AgentReviewRequest(BaseModel):
    """Asks a person to review one agent reply in a pipeline."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    agent_name: str
    response: AgentResponse
    """The reply under review."""
    revision: int = 0
    """How many times the reply was already revised (0 for the first draft)."""

    @property
    def text(self) -> str:
        """The text of the reply under review."""
        return self.response.text

    @staticmethod
    def approve() -> AgentReviewResponse:
        """The answer that accepts the reply and lets the pipeline continue."""
        return AgentReviewResponse(approved=True)

    @staticmethod
    def revise(feedback: str) -> AgentReviewResponse:
        """The answer that asks the agent to revise its reply with `feedback`."""
        return AgentReviewResponse(approved=False, feedback=feedback)


class ReviewedAgent(ConversationAgent):
    """A `ConversationAgent` whose every reply is reviewed by a person before it moves on."""

    async def finish(
        self,
        conversation: list[ChatMessage],
        response: AgentResponse,
        ctx: WorkflowContext[list[ChatMessage], AgentResponse | list[ChatMessage]],
    ) -> None:
        """Keep the conversation and ask for a review instead of sending it on."""
        previous = ctx.get_state()
        revision = 0 if previous is None else previous[1] + 1
        ctx.set_state((tuple(conversation), revision))
        request = AgentReviewRequest(agent_name=self.id, response=response, revision=revision)
        await ctx.request_info(request, response_type=AgentReviewResponse)

    @response_handler
    async def on_review(
        self,
        request: AgentReviewRequest,
        verdict: AgentReviewResponse,
        ctx: WorkflowContext[list[ChatMessage], AgentResponse | list[ChatMessage]],
    ) -> None:
        """Send the approved reply on, or revise it with the feedback and ask again."""
        stored, _ = ctx.get_state()
        conversation = [ChatMessage.model_validate(m) for m in stored]
        if verdict.approved:
            ctx.set_state(None)
            await super().finish(conversation, request.response, ctx)
            return
        conversation.append(ChatMessage("user", verdict.feedback))
        response = await run_agent_turn(self.agent, conversation, ctx)
        await self.finish([*conversation, *response.messages], response, ctx)
