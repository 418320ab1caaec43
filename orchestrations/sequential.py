"""`SequentialBuilder`: participants take turns on one shared conversation, in a fixed order.

Wiring: input -> p1 -> p2 -> ... -> pN (-> output, when pN is a plain executor).
Each participant receives the conversation so far and sends it on with its turn appended. The last agent
yields its `AgentResponse` (or, with ``output="conversation"``, the whole conversation); a plain executor
at the end hands its conversation to an `output` node that yields it. ``with_request_info(agents=[...])``
makes the named agents wait for a person's review after each reply.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

from engine import Executor, WorkflowBuilder
from orchestrations.base import OrchestrationBuilder
from orchestrations.conversation import (
    ConversationAgent,
    ConversationInput,
    ConversationOutput,
    OutputMode,
)
from orchestrations.participants import Member, Participant, members_of, resolve_ids
from orchestrations.review import ReviewedAgent

__all__ = [
    "INPUT_ID",
    "OUTPUT_ID",
    "SequentialBuilder",
]

INPUT_ID = "input"
"""The id of the executor that turns a run's input into the conversation."""
OUTPUT_ID = "output"
"""The id of the node that yields the conversation when the last participant is a plain executor."""


class SequentialBuilder(OrchestrationBuilder):
    """A pipeline of agents and executors over one shared conversation."""

    def __init__(
        self,
        participants: Sequence[Participant],
        *,
        output: OutputMode = "response",
        name: str = "sequential",
        max_supersteps: int = 1000,
    ) -> None:
        super().__init__(name=name, max_supersteps=max_supersteps)
        if output not in ("response", "conversation"):
            raise ValueError(f"output must be 'response' or 'conversation', got {output!r}")
        self._members = members_of(
            participants, "SequentialBuilder", reserved=(INPUT_ID, OUTPUT_ID)
        )
        self._output: OutputMode = output
        self._reviewed: frozenset[str] = frozenset()

    @property
    def members(self) -> tuple[Member, ...]:
        """The participants, in pipeline order."""
        return self._members

    @property
    def reviewed_agents(self) -> frozenset[str]:
        """The agents whose replies wait for review (see `with_request_info`)."""
        return self._reviewed

    def with_request_info(self, *, agents: Sequence[Participant | str] | None = None) -> Self:
        """Pause after each reply of the named agents (every agent when `agents` is None) for review.

        The run stops with a `request_info` carrying an `AgentReviewRequest`; answering
        ``request.approve()`` sends the reply on, ``request.revise(feedback)`` (or plain text) makes the
        agent revise it and asks again.
        """
        where = "SequentialBuilder.with_request_info(agents=...)"
        if agents is None:
            ids = [m.id for m in self._members if m.agent is not None]
            if not ids:
                raise ValueError(
                    f"{where}: no participant is an agent, so nothing can be reviewed."
                )
        else:
            ids = resolve_ids(agents, self._members, where, agents_only=True)
            if not ids:
                raise ValueError(
                    f"{where}: the list is empty; name the agents to review, or pass no `agents` "
                    "to review every agent."
                )
        self._reviewed = frozenset(ids)
        return self

    def compile(self) -> WorkflowBuilder:
        """The pipeline as an unbuilt `WorkflowBuilder` of fresh executors."""
        last = len(self._members) - 1
        nodes: list[Executor] = [ConversationInput(INPUT_ID)]
        nodes.extend(self._node(m, is_last=i == last) for i, m in enumerate(self._members))
        if self._members[-1].agent is None:
            nodes.append(ConversationOutput(OUTPUT_ID))
        return self.new_builder(nodes[0]).add_chain(nodes)

    def _node(self, member: Member, *, is_last: bool) -> Executor:
        if member.agent is None:
            assert member.executor is not None
            return member.executor
        output = self._output if is_last else None
        if member.id in self._reviewed:
            return ReviewedAgent(member.agent, id=member.id, output=output)
        return ConversationAgent(member.agent, id=member.id, output=output)
