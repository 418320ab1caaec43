"""`AgentExecutor`: runs an `Agent` as a node of a workflow, keeping its conversation in the run's state.

Wiring: (str | ChatMessage | list[ChatMessage] | AgentExecutorRequest | AgentExecutorResponse)
-> agent turn -> AgentExecutorResponse to successors (+ AgentResponse as output when asked).
The conversation lives in ``ctx.get_state()/ctx.set_state()`` as a tuple of messages, never on the
executor, so one built workflow serves concurrent runs and a checkpoint carries the conversation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, TypeAdapter

from engine import Executor, UserEvent, WorkflowContext, handler, idempotency_scope
from executors.agents.agent import Agent, ExtraTools
from executors.agents.messages import ChatMessage
from executors.agents.responses import AgentResponse, AgentResponseUpdate

__all__ = [
    "AgentExecutor",
    "AgentExecutorRequest",
    "AgentExecutorResponse",
    "AgentRunUpdateEvent",
    "run_agent_turn",
]

_CONVERSATION: TypeAdapter[list[ChatMessage]] = TypeAdapter(list[ChatMessage])


class AgentExecutorRequest(BaseModel):
    """Messages for an `AgentExecutor`, with the choice of whether it answers now."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    messages: list[ChatMessage]
    should_respond: bool = True
    """`False` only appends the messages to the conversation; the agent answers a later message."""


class AgentExecutorResponse(BaseModel):
    """What an `AgentExecutor` sends downstream after its agent's turn."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    executor_id: str
    agent_response: AgentResponse
    full_conversation: list[ChatMessage]
    """The conversation including this turn, ready to hand to the next agent."""


@dataclass(frozen=True, slots=True)
class AgentRunUpdateEvent(UserEvent):
    """A streamed piece of an agent's turn (token deltas, tool results), emitted only when streaming."""

    type: ClassVar[str] = "agent_run_update"
    executor_id: str
    update: AgentResponseUpdate


class AgentExecutor(Executor):
    """An executor whose handlers run one turn of `agent` on the conversation so far.

    Inputs: a `str` (a user message), a `ChatMessage`, a `list[ChatMessage]`, an `AgentExecutorRequest`
    (whose `should_respond=False` only records messages), or another agent's `AgentExecutorResponse`,
    whose full conversation replaces this one (the shared transcript of a pipeline). Each turn sends an
    `AgentExecutorResponse`; with `output_response=True` the `AgentResponse` is also a workflow output.
    """

    def __init__(
        self,
        agent: Agent,
        *,
        id: str | None = None,  # noqa: A002 - `id` is the name every executor takes
        output_response: bool = False,
    ) -> None:
        if not isinstance(agent, Agent):
            raise TypeError(f"AgentExecutor needs an Agent, got {type(agent).__name__}")
        super().__init__(id if id is not None else agent.name)
        self._agent = agent
        self._output_response = output_response

    @property
    def agent(self) -> Agent:
        """The agent this executor runs."""
        return self._agent

    @property
    def output_response(self) -> bool:
        """Whether each turn's `AgentResponse` is also yielded as a workflow output."""
        return self._output_response

    @handler
    async def on_text(
        self, text: str, ctx: WorkflowContext[AgentExecutorResponse, AgentResponse]
    ) -> None:
        """Answer a user's text."""
        await self._respond([*self._conversation(ctx), ChatMessage("user", text)], ctx)

    @handler
    async def on_message(
        self, message: ChatMessage, ctx: WorkflowContext[AgentExecutorResponse, AgentResponse]
    ) -> None:
        """Answer one message."""
        await self._respond([*self._conversation(ctx), message], ctx)

    @handler
    async def on_messages(
        self,
        messages: list[ChatMessage],
        ctx: WorkflowContext[AgentExecutorResponse, AgentResponse],
    ) -> None:
        """Answer after appending several messages."""
        await self._respond([*self._conversation(ctx), *messages], ctx)

    @handler
    async def on_request(
        self,
        request: AgentExecutorRequest,
        ctx: WorkflowContext[AgentExecutorResponse, AgentResponse],
    ) -> None:
        """Append the request's messages; answer only if it asks for an answer."""
        conversation = [*self._conversation(ctx), *request.messages]
        if request.should_respond:
            await self._respond(conversation, ctx)
        else:
            ctx.set_state(tuple(conversation))

    @handler
    async def on_response(
        self,
        response: AgentExecutorResponse,
        ctx: WorkflowContext[AgentExecutorResponse, AgentResponse],
    ) -> None:
        """Continue another agent's conversation: it replaces this executor's own."""
        await self._respond(list(response.full_conversation), ctx)

    @staticmethod
    def _conversation(ctx: WorkflowContext[Any, Any]) -> list[ChatMessage]:
        """The conversation stored in this run; validated, because a restored checkpoint holds dicts."""
        stored: Sequence[Any] = ctx.get_state(())
        return _CONVERSATION.validate_python(list(stored))

    async def _respond(
        self,
        conversation: list[ChatMessage],
        ctx: WorkflowContext[AgentExecutorResponse, AgentResponse],
    ) -> None:
        response = await run_agent_turn(self._agent, conversation, ctx)
        full = (*conversation, *response.messages)
        ctx.set_state(full)
        if ctx.target_ids:  # a terminal agent's response is its output, not a dropped message
            await ctx.send_message(
                AgentExecutorResponse(
                    executor_id=self.id, agent_response=response, full_conversation=list(full)
                )
            )
        if self._output_response:
            await ctx.yield_output(response)


async def run_agent_turn(
    agent: Agent,
    conversation: Sequence[ChatMessage],
    ctx: WorkflowContext[Any, Any],
    *,
    extra_tools: ExtraTools | None = None,
) -> AgentResponse:
    """Run one turn of `agent` inside a handler and return what it added to `conversation`.

    When the run is streamed, each update of the turn is emitted as an `AgentRunUpdateEvent` tagged with
    the calling executor's id; otherwise the turn runs in one piece. Every executor that hosts an agent
    (here and in the orchestrations) goes through this one function, so streaming behaves the same in all.
    The turn runs in the invocation's `idempotency_scope`: its tools can read
    `engine.current_idempotency_key()` to deduplicate side effects of a retried invocation.
    """
    with idempotency_scope(ctx):
        if not ctx.is_streaming:
            return await agent.run(conversation, extra_tools=extra_tools)
        stream = agent.run_stream(conversation, extra_tools=extra_tools)
        async for update in stream:
            await ctx.add_event(AgentRunUpdateEvent(ctx.executor_id, update))
        return stream.response
