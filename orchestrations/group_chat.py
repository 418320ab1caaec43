"""`GroupChatBuilder`: a manager picks who speaks next in one shared conversation, until the chat ends.

Wiring: input -> manager -> chosen speaker -> manager -> chosen speaker -> ... -> manager -> output.
The manager is the start executor. Each time it receives the conversation it checks the termination
condition and the round limit, then chooses the next speaker (round-robin by default, a selector function
with ``with_selector``, or a manager agent's structured decision with ``with_manager``) and sends the
conversation to that participant alone; the participant appends its turn and sends it back. When the chat
ends the manager emits a `GroupChatCompletedEvent` and yields the conversation. Rounds taken and the last
speaker live in the manager's run state, so one workflow serves concurrent runs and checkpoints carry them.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Self, TypeAlias

from pydantic import BaseModel, ConfigDict, ValidationError

from engine import Executor, UserEvent, WorkflowBuilder, WorkflowContext, handler
from executors.agents import Agent, ChatMessage, run_agent_turn
from orchestrations.base import OrchestrationBuilder
from orchestrations.conversation import (
    ConversationAgent,
    TerminationCondition,
    as_conversation,
    is_terminated,
)
from orchestrations.participants import Member, Participant, members_of

__all__ = [
    "DEFAULT_MAX_ROUNDS",
    "MANAGER_ID",
    "CompletionReason",
    "GroupChatBuilder",
    "GroupChatCompletedEvent",
    "GroupChatManager",
    "GroupChatState",
    "ManagerDecision",
    "Selector",
]

MANAGER_ID = "manager"
"""The id of the executor that chooses speakers and yields the conversation."""
DEFAULT_MAX_ROUNDS = 10
"""How many participant turns a chat takes at most unless `with_max_rounds` says otherwise."""

CompletionReason = Literal["termination_condition", "max_rounds", "selector", "manager"]
"""Why a group chat ended."""

_PREVIEW = 200
_FENCE = re.compile(r"^\s*```[A-Za-z]*\s*(.*?)\s*```\s*$", re.DOTALL)
_DECISION_FORMAT = (
    '{"next_speaker": "<participant name>" or null, "finish": true or false, "reason": "<why>"}'
)


class GroupChatState(BaseModel):
    """What a selector sees when it chooses the next speaker."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    conversation: tuple[ChatMessage, ...]
    participants: dict[str, str]
    """Participant name -> description, in participant order."""
    round: int
    """How many participant turns were taken so far (0 for the first choice)."""
    last_speaker: str | None = None
    """The participant that spoke last (`None` before the first turn)."""


class ManagerDecision(BaseModel):
    """A manager agent's structured choice: the next speaker, or the end of the chat."""

    model_config = ConfigDict(frozen=True)

    next_speaker: str | None = None
    finish: bool = False
    reason: str = ""

    @classmethod
    def from_text(cls, text: str) -> ManagerDecision:
        """Parse a manager agent's reply: a JSON object, optionally inside a ```json fence."""
        fenced = _FENCE.match(text)
        body = fenced.group(1) if fenced is not None else text.strip()
        try:
            decision = cls.model_validate_json(body)
        except ValidationError as exc:
            problem = exc.errors()[0]["msg"]
            raise ValueError(
                f"the group chat manager's reply is not a valid decision ({problem}): "
                f"{text[:_PREVIEW]!r}. It must be only a JSON object: {_DECISION_FORMAT}."
            ) from exc
        if not decision.finish and decision.next_speaker is None:
            raise ValueError(
                f"the group chat manager's reply neither names a next speaker nor finishes the chat: "
                f"{text[:_PREVIEW]!r}. Set `next_speaker` to a participant name, or `finish` to true."
            )
        return decision


@dataclass(frozen=True, slots=True)
class GroupChatCompletedEvent(UserEvent):
    """A group chat ended, and why; its conversation is the workflow output that follows."""

    type: ClassVar[str] = "group_chat_completed"
    reason: CompletionReason
    rounds: int
    """How many participant turns the chat took."""


Selector: TypeAlias = Callable[[GroupChatState], str | None | Awaitable[str | None]]
"""Chooses the next speaker by name, or returns `None` to end the chat (sync or async)."""


class GroupChatManager(Executor):
    """Chooses each next speaker and sends it the conversation; yields the conversation at the end.

    Its per-run bookkeeping (rounds taken, last speaker) is kept in ``ctx.get_state()`` only.
    """

    def __init__(
        self,
        id: str,  # noqa: A002 - `id` is the name every executor takes
        participants: Mapping[str, str],
        *,
        selector: Selector | None = None,
        agent: Agent | None = None,
        max_rounds: int = DEFAULT_MAX_ROUNDS,
        termination_condition: TerminationCondition | None = None,
    ) -> None:
        super().__init__(id)
        if selector is not None and agent is not None:
            raise ValueError("a group chat manager takes a selector or an agent, not both")
        self._participants = dict(participants)
        self._selector = selector
        self._agent = agent
        self._max_rounds = max_rounds
        self._termination = termination_condition

    @property
    def participants(self) -> Mapping[str, str]:
        """Participant name -> description, in participant order."""
        return self._participants

    @property
    def turn_limit(self) -> int:
        """The round limit: the manager sends the conversation on at most this many times a run."""
        return self._max_rounds

    @handler
    async def on_conversation(
        self,
        message: str | ChatMessage | list[ChatMessage],
        ctx: WorkflowContext[list[ChatMessage], list[ChatMessage]],
    ) -> None:
        """End the chat if it is over, else send the conversation to the next speaker."""
        conversation = as_conversation(message)
        stored: dict[str, Any] = ctx.get_state() or {}
        rounds: int = stored.get("rounds", 0)
        step = await self._next(conversation, rounds, stored.get("last_speaker"), ctx)
        if isinstance(step, GroupChatCompletedEvent):
            await ctx.add_event(step)
            await ctx.yield_output(conversation)
            return
        ctx.set_state({"rounds": rounds + 1, "last_speaker": step})
        await ctx.send_message(conversation, target_id=step)

    async def _next(
        self,
        conversation: list[ChatMessage],
        rounds: int,
        last: str | None,
        ctx: WorkflowContext[Any, Any],
    ) -> str | GroupChatCompletedEvent:
        """The next speaker, or the event that says why the chat ends."""
        if await self._is_terminated(conversation):
            return GroupChatCompletedEvent("termination_condition", rounds)
        if rounds >= self._max_rounds:
            return GroupChatCompletedEvent("max_rounds", rounds)
        if self._agent is not None:
            decision = await self._ask_manager(self._agent, conversation, ctx)
            if decision.finish:
                return GroupChatCompletedEvent("manager", rounds)
            assert decision.next_speaker is not None  # from_text refuses a decision without either
            return self._check(decision.next_speaker, f"manager `{self._agent.name}`")
        if self._selector is None:
            names = list(self._participants)
            return names[rounds % len(names)]
        return await self._ask_selector(self._selector, conversation, rounds, last)

    async def _ask_selector(
        self, selector: Selector, conversation: list[ChatMessage], rounds: int, last: str | None
    ) -> str | GroupChatCompletedEvent:
        state = GroupChatState(
            conversation=tuple(conversation),
            participants=dict(self._participants),
            round=rounds,
            last_speaker=last,
        )
        choice = selector(state)
        if inspect.isawaitable(choice):
            choice = await choice
        if choice is None:
            return GroupChatCompletedEvent("selector", rounds)
        if not isinstance(choice, str):
            raise TypeError(
                f"the group chat selector returned {type(choice).__name__}; return a participant "
                "name (str), or None to finish the chat."
            )
        return self._check(choice, "selector")

    async def _is_terminated(self, conversation: list[ChatMessage]) -> bool:
        return await is_terminated(self._termination, conversation)

    async def _ask_manager(
        self, agent: Agent, conversation: list[ChatMessage], ctx: WorkflowContext[Any, Any]
    ) -> ManagerDecision:
        """Run the manager agent on the conversation plus the choice instruction; its turn stays private."""
        instruction = ChatMessage("user", _instruction(self._participants))
        response = await run_agent_turn(agent, [*conversation, instruction], ctx)
        return ManagerDecision.from_text(response.text)

    def _check(self, name: str, chooser: str) -> str:
        if name not in self._participants:
            known = ", ".join(f"`{p}`" for p in self._participants)
            raise ValueError(
                f"the group chat {chooser} chose `{name}`, which is not a participant "
                f"(participants: {known}); return one of those names."
            )
        return name


def _instruction(participants: Mapping[str, str]) -> str:
    """The message that asks a manager agent for its decision, listing every participant."""
    lines = "\n".join(f"- {name}: {description}" for name, description in participants.items())
    return (
        "You manage this group chat. Choose who speaks next, or finish the chat when the task is "
        f"done.\nParticipants:\n{lines}\nAnswer with only a JSON object: {_DECISION_FORMAT}."
    )


class GroupChatBuilder(OrchestrationBuilder):
    """Participants take turns on one shared conversation; a manager chooses each speaker."""

    def __init__(
        self,
        participants: Sequence[Participant],
        *,
        name: str = "group_chat",
        max_supersteps: int = 1000,
    ) -> None:
        super().__init__(name=name, max_supersteps=max_supersteps)
        self._members = members_of(participants, "GroupChatBuilder", reserved=(MANAGER_ID,))
        self._selector: Selector | None = None
        self._manager: Agent | None = None
        self._max_rounds = DEFAULT_MAX_ROUNDS
        self._termination: TerminationCondition | None = None

    @property
    def members(self) -> tuple[Member, ...]:
        """The participants, in round-robin order."""
        return self._members

    def with_selector(self, selector: Selector) -> Self:
        """Choose speakers with `selector(state)` (sync or async) instead of round-robin.

        It receives a `GroupChatState` and returns a participant name, or `None` to finish the chat.
        Replaces a manager agent set with `with_manager`.
        """
        if not callable(selector):
            raise TypeError(
                "with_selector() takes a function of the GroupChatState that returns a participant "
                f"name (or None), got {type(selector).__name__}"
            )
        self._selector, self._manager = selector, None
        return self

    def with_manager(self, agent: Agent) -> Self:
        """Let `agent` choose speakers: each time, it answers with a JSON `ManagerDecision`.

        The agent sees the conversation plus an instruction listing the participants; its own turn is
        not added to the conversation. Replaces a selector set with `with_selector`.
        """
        if not isinstance(agent, Agent):
            raise TypeError(
                f"with_manager() takes an Agent, got {type(agent).__name__}; use with_selector() "
                "for a function."
            )
        self._manager, self._selector = agent, None
        return self

    def with_max_rounds(self, rounds: int) -> Self:
        """End the chat after `rounds` participant turns (default 10)."""
        if isinstance(rounds, bool) or not isinstance(rounds, int):
            raise TypeError(
                f"with_max_rounds() takes a positive int, got {type(rounds).__name__} {rounds!r}"
            )
        if rounds < 1:
            raise ValueError(
                f"with_max_rounds() takes a positive int, got {rounds}; a chat needs at least one "
                "round."
            )
        self._max_rounds = rounds
        return self

    def with_termination_condition(self, condition: TerminationCondition) -> Self:
        """End the chat as soon as `condition(conversation)` is true (sync or async).

        The manager checks it every time it receives the conversation, before choosing a speaker.
        """
        if not callable(condition):
            raise TypeError(
                f"with_termination_condition() takes a function, got {type(condition).__name__}"
            )
        self._termination = condition
        return self

    def compile(self) -> WorkflowBuilder:
        """The manager and its participants, wired both ways, as an unbuilt `WorkflowBuilder`."""
        manager = GroupChatManager(
            MANAGER_ID,
            {m.id: m.description for m in self._members},
            selector=self._selector,
            agent=self._manager,
            max_rounds=self._max_rounds,
            termination_condition=self._termination,
        )
        builder = self.new_builder(manager)
        for member in self._members:
            node = _node(member)
            builder.add_edge(manager, node).add_edge(node, manager)
        return builder


def _node(member: Member) -> Executor:
    if member.agent is not None:
        return ConversationAgent(member.agent, id=member.id)
    assert member.executor is not None
    return member.executor
