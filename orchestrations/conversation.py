"""The executors every conversation-shaped orchestration shares: the input adapter and the agent host.

Orchestrations pass one value between participants: the whole conversation, a `list[ChatMessage]`. A
participant receives it, appends its turn and sends it on, so custom executors join a pipeline by
handling and sending `list[ChatMessage]`. `ConversationInput` turns a run's input into that shape;
`ConversationAgent` hosts an `Agent` on it.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Literal, TypeAlias

from engine import Executor, WorkflowContext, handler
from executors.agents import Agent, AgentResponse, ChatMessage, run_agent_turn

__all__ = [
    "ConversationAgent",
    "ConversationInput",
    "ConversationOutput",
    "OutputMode",
    "TerminationCondition",
    "as_conversation",
    "is_terminated",
]

OutputMode = Literal["response", "conversation"]
"""What a participant yields as the workflow output: its own `AgentResponse`, or the conversation."""


TerminationCondition: TypeAlias = Callable[[list[ChatMessage]], bool | Awaitable[bool]]
"""Ends a conversation when it returns true for it (sync or async)."""


async def is_terminated(
    condition: TerminationCondition | None, conversation: list[ChatMessage]
) -> bool:
    """Whether `condition` (if any) holds for a copy of `conversation`."""
    if condition is None:
        return False
    verdict = condition(list(conversation))
    if inspect.isawaitable(verdict):
        verdict = await verdict
    return bool(verdict)


def as_conversation(value: str | ChatMessage | list[ChatMessage]) -> list[ChatMessage]:
    """A run's input as a conversation: text becomes one user message."""
    if isinstance(value, str):
        return [ChatMessage("user", value)]
    if isinstance(value, ChatMessage):
        return [value]
    return list(value)


class ConversationInput(Executor):
    """The entry of a pipeline: accepts text, a message or a conversation, and sends the conversation."""

    @handler
    async def on_text(self, text: str, ctx: WorkflowContext[list[ChatMessage]]) -> None:
        """Start the conversation with a user message."""
        await self.forward(as_conversation(text), ctx)

    @handler
    async def on_message(
        self, message: ChatMessage, ctx: WorkflowContext[list[ChatMessage]]
    ) -> None:
        """Start the conversation with one message."""
        await self.forward([message], ctx)

    @handler
    async def on_conversation(
        self, conversation: list[ChatMessage], ctx: WorkflowContext[list[ChatMessage]]
    ) -> None:
        """Continue a conversation that already has messages."""
        await self.forward(list(conversation), ctx)

    async def forward(
        self, conversation: list[ChatMessage], ctx: WorkflowContext[list[ChatMessage]]
    ) -> None:
        """Send the conversation to the successors."""
        await ctx.send_message(conversation)


class ConversationAgent(Executor):
    """Hosts an agent in a shared conversation: one turn per conversation received, then send it on.

    The conversation is sent to successors when there are any (a pipeline's next participant, or an
    executor wired on through ``compile()``); with `output` set, the agent's response (or the whole
    conversation) is also a workflow output. Nothing is kept between messages, so one executor serves
    any number of concurrent runs.
    """

    def __init__(
        self,
        agent: Agent,
        *,
        id: str | None = None,  # noqa: A002 - `id` is the name every executor takes
        output: OutputMode | None = None,
    ) -> None:
        super().__init__(id if id is not None else agent.name)
        self._agent = agent
        self._output = output

    @property
    def agent(self) -> Agent:
        """The hosted agent."""
        return self._agent

    @handler
    async def on_conversation(
        self,
        conversation: list[ChatMessage],
        ctx: WorkflowContext[list[ChatMessage], AgentResponse | list[ChatMessage]],
    ) -> None:
        """Take a turn on the conversation so far."""
        response = await run_agent_turn(self._agent, conversation, ctx)
        await self.finish([*conversation, *response.messages], response, ctx)

    async def finish(
        self,
        conversation: list[ChatMessage],
        response: AgentResponse,
        ctx: WorkflowContext[list[ChatMessage], AgentResponse | list[ChatMessage]],
    ) -> None:
        """Send the conversation on and yield the configured output."""
        if ctx.target_ids:
            await ctx.send_message(conversation)
        if self._output == "response":
            await ctx.yield_output(response)
        elif self._output == "conversation":
            await ctx.yield_output(conversation)


class ConversationOutput(Executor):
    """The end of a pipeline whose last participant is a plain executor: yields what it receives.

    When executors are wired on after it (through ``compile()``), it sends the conversation to them
    instead.
    """

    @handler
    async def on_conversation(
        self,
        conversation: list[ChatMessage],
        ctx: WorkflowContext[list[ChatMessage], list[ChatMessage]],
    ) -> None:
        """Yield the conversation, or pass it to the executors wired on after this one."""
        if ctx.target_ids:
            await ctx.send_message(list(conversation))
        else:
            await ctx.yield_output(list(conversation))
