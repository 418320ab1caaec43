"""`ConcurrentBuilder`: every participant answers the same prompt at once; an aggregator combines them.

Wiring: input -> dispatcher -> fan-out(p1..pN) -> fan-in(dispatcher, p1..pN) -> aggregator -> output.
The dispatcher also feeds the fan-in, so the aggregator knows the prompt and can tell each participant's
own messages apart (and a single participant works without a one-way fan-out). By default the output
is each participant's last reply, in participant order; ``with_aggregator`` replaces that with a
function (its return value is the output) or an executor (it receives the `ParticipantResult`s).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Self, TypeAlias

from pydantic import BaseModel, ConfigDict

from engine import Executor, WorkflowBuilder, WorkflowContext, handler
from executors.agents import ChatMessage
from orchestrations.base import OrchestrationBuilder
from orchestrations.conversation import ConversationAgent, ConversationInput
from orchestrations.participants import Member, Participant, members_of

__all__ = [
    "AGGREGATOR_ID",
    "Aggregate",
    "ConcurrentAggregator",
    "ConcurrentBuilder",
    "ConcurrentDispatcher",
    "DISPATCHER_ID",
    "ParticipantResult",
]

DISPATCHER_ID = "dispatcher"
"""The id of the executor that sends the prompt to every participant."""
AGGREGATOR_ID = "aggregator"
"""The id of the executor that collects the participants' results."""


class ParticipantResult(BaseModel):
    """What one participant of a concurrent run added to the prompt."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    participant: str
    messages: tuple[ChatMessage, ...]
    """The participant's own messages (its replies and tool results), in order."""

    @property
    def reply(self) -> ChatMessage | None:
        """The participant's last assistant message, if it wrote one."""
        for message in reversed(self.messages):
            if message.role == "assistant":
                return message
        return None

    @property
    def text(self) -> str:
        """The text of the last reply (empty without one)."""
        reply = self.reply
        return reply.text if reply is not None else ""


Aggregate: TypeAlias = Callable[[list[ParticipantResult]], Any | Awaitable[Any]]
"""A custom aggregate: the results in participant order to the output value (sync or async)."""


class ConcurrentDispatcher(ConversationInput):
    """Sends each participant and the aggregator its own copy of the prompt.

    The engine delivers one sent object to every target (no copies on the hot path), so a participant
    that appended to the list it received would change what the others, and the aggregator, see.
    """

    def __init__(self, id: str, targets: Sequence[str]) -> None:  # noqa: A002
        super().__init__(id)
        self._targets = tuple(targets)

    async def forward(
        self, conversation: list[ChatMessage], ctx: WorkflowContext[list[ChatMessage]]
    ) -> None:
        """Send a copy of the conversation to every participant and to the aggregator."""
        for target in self._targets:
            await ctx.send_message(list(conversation), target_id=target)


class ConcurrentAggregator(Executor):
    """Receives the prompt and every participant's conversation; yields (or sends on) the aggregate."""

    def __init__(
        self,
        id: str,  # noqa: A002 - `id` is the name every executor takes
        participants: Sequence[str],
        aggregate: Aggregate | None = None,
    ) -> None:
        super().__init__(id)
        self._participants = tuple(participants)
        self._aggregate = aggregate

    @handler
    async def on_results(
        self, conversations: list[list[ChatMessage]], ctx: WorkflowContext[Any, Any]
    ) -> None:
        """Turn the fan-in's conversations into results, aggregate them, and yield or send that on.

        With executors wired on after this one (an executor aggregator, or anything added through
        ``compile()``) the aggregate is sent to them instead of yielded.
        """
        prompt, *answers = conversations
        if len(answers) != len(self._participants):
            raise ValueError(
                f"the aggregator `{self.id}` received {len(answers)} conversations for "
                f"{len(self._participants)} participants; each participant must send exactly one "
                "conversation per prompt."
            )
        results = [
            ParticipantResult(participant=name, messages=tuple(conversation[len(prompt) :]))
            for name, conversation in zip(self._participants, answers, strict=True)
        ]
        value: Any
        if self._aggregate is not None:
            value = self._aggregate(results)
            if inspect.isawaitable(value):
                value = await value
        elif ctx.target_ids:
            value = results
        else:
            value = [r.reply for r in results if r.reply is not None]
        if value is None:
            return
        if ctx.target_ids:
            await ctx.send_message(value)
        else:
            await ctx.yield_output(value)


class ConcurrentBuilder(OrchestrationBuilder):
    """Participants answer the same prompt concurrently; an aggregator combines their answers."""

    def __init__(
        self,
        participants: Sequence[Participant],
        *,
        name: str = "concurrent",
        max_supersteps: int = 1000,
    ) -> None:
        super().__init__(name=name, max_supersteps=max_supersteps)
        self._members = members_of(
            participants, "ConcurrentBuilder", reserved=(DISPATCHER_ID, AGGREGATOR_ID)
        )
        self._aggregate: Aggregate | None = None
        self._aggregator: Executor | None = None

    @property
    def members(self) -> tuple[Member, ...]:
        """The participants, in the order their results are aggregated."""
        return self._members

    def with_aggregator(self, aggregator: Aggregate | Executor) -> Self:
        """Replace the default aggregate with a function or an executor.

        A function receives the `ParticipantResult`s in participant order and may be async; a non-None
        return value becomes the workflow's output. An executor receives the same list as a message and
        yields whatever it wants.
        """
        if isinstance(aggregator, Executor):
            if aggregator.id in {m.id for m in self._members} | {DISPATCHER_ID, AGGREGATOR_ID}:
                raise ValueError(
                    f"the aggregator executor's id `{aggregator.id}` is already used in this "
                    "orchestration; give it another id."
                )
            self._aggregator, self._aggregate = aggregator, None
        elif callable(aggregator):
            self._aggregate, self._aggregator = aggregator, None
        else:
            raise TypeError(
                "with_aggregator() takes a function of the results or an Executor, got "
                f"{type(aggregator).__name__}"
            )
        return self

    def compile(self) -> WorkflowBuilder:
        """Dispatcher, fan-out, participants, fan-in and aggregator as an unbuilt `WorkflowBuilder`."""
        participants: list[Executor] = [_node(m) for m in self._members]
        ids = [m.id for m in self._members]
        dispatcher = ConcurrentDispatcher(DISPATCHER_ID, [*ids, AGGREGATOR_ID])
        aggregator = ConcurrentAggregator(AGGREGATOR_ID, ids, self._aggregate)
        builder = self.new_builder(dispatcher)
        if len(participants) == 1:
            builder.add_edge(dispatcher, participants[0])
        else:
            builder.add_fan_out_edges(dispatcher, participants)
        builder.add_fan_in_edges([dispatcher, *participants], aggregator)
        if self._aggregator is not None:
            builder.add_edge(aggregator, self._aggregator)
        return builder


def _node(member: Member) -> Executor:
    if member.agent is not None:
        return ConversationAgent(member.agent, id=member.id)
    assert member.executor is not None
    return member.executor
