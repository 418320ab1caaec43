"""The executors of a handoff graph: one `HandoffAgentExecutor` per agent, and the output node.

An agent's turn, in five lines:
  1. out of turns on entry: ask the user (interactive) or end the conversation (autonomous);
  2. run the agent with one ``handoff_to_<name>`` tool per outbound edge (the first call wins);
  3. a handoff: emit `handoff_sent` and pass the baton (unless the termination condition holds);
  4. no handoff: a terminal agent sends the conversation to the output, and then, like any
     interactive agent, asks the user; an autonomous agent is prompted to continue, up to its limit;
  5. the user's reply returns to this agent (or to the start agent); `terminate()` ends the conversation.
Between turns the executor keeps nothing but the paused conversation in its run state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

from engine import Executor, WorkflowContext, handler, response_handler
from executors.agents import (
    Agent,
    AgentResponse,
    ChatMessage,
    ExtraTools,
    FunctionCallContent,
    FunctionResultContent,
    ToolSpec,
    run_agent_turn,
)
from orchestrations.conversation import TerminationCondition, as_conversation, is_terminated
from orchestrations.handoff_types import (
    EndReason,
    HandoffAgentUserRequest,
    HandoffCompletedEvent,
    HandoffEnd,
    HandoffMessage,
    HandoffSentEvent,
    HandoffUserResponse,
    UserRequestReason,
)

__all__ = [
    "HandoffAgentExecutor",
    "HandoffOutput",
    "HandoffSettings",
    "HandoffStepCall",
    "HandoffStepReturn",
]

_Context: TypeAlias = WorkflowContext[HandoffMessage | HandoffEnd, Any]
_NO_ARGUMENTS: dict[str, Any] = {"type": "object", "properties": {}}


@dataclass(frozen=True, slots=True)
class HandoffSettings:
    """How one agent behaves in a handoff graph; fixed at build time."""

    routes: Mapping[str, tuple[str, str]]
    """Handoff tool name -> (target participant, description the model reads)."""
    nodes: Mapping[str, str]
    """Target participant -> the node a handoff to it is delivered to (an executor's call node)."""
    start_id: str
    output_id: str
    return_to_previous: bool = True
    autonomous: bool = False
    turn_limit: int | None = None
    prompt: str = "User did not respond. Continue assisting autonomously."
    termination_condition: TerminationCondition | None = None


class HandoffAgentExecutor(Executor):
    """Runs one agent of a handoff graph: takes the baton, takes turns, hands off or yields to the user."""

    def __init__(self, agent: Agent, settings: HandoffSettings) -> None:
        super().__init__(agent.name)
        self._agent = agent
        self._settings = settings
        self._specs = tuple(
            ToolSpec(name=name, description=description, parameters=_NO_ARGUMENTS)
            for name, (_, description) in settings.routes.items()
        )

    @property
    def agent(self) -> Agent:
        """The hosted agent (never modified; handoff tools are added per turn)."""
        return self._agent

    @property
    def settings(self) -> HandoffSettings:
        """This agent's place in the graph."""
        return self._settings

    @property
    def turn_limit(self) -> int | None:
        """How many turns the agent may take between two user inputs (`None`: unbounded)."""
        return self._settings.turn_limit

    @property
    def is_terminal(self) -> bool:
        """Whether the agent has no outbound handoff: its finished turn ends the conversation."""
        return not self._settings.routes

    @property
    def handoff_tools(self) -> tuple[ToolSpec, ...]:
        """The synthesized ``handoff_to_<name>`` tools offered to the model, one per outbound edge."""
        return self._specs

    @handler
    async def on_text(self, text: str, ctx: _Context) -> None:
        """Start a conversation with the user's text."""
        await self._enter(as_conversation(text), {}, ctx)

    @handler
    async def on_message(self, message: ChatMessage, ctx: _Context) -> None:
        """Start a conversation with one message."""
        await self._enter([message], {}, ctx)

    @handler
    async def on_conversation(self, conversation: list[ChatMessage], ctx: _Context) -> None:
        """Start from a conversation that already has messages."""
        await self._enter(list(conversation), {}, ctx)

    @handler
    async def on_handoff(self, baton: HandoffMessage, ctx: _Context) -> None:
        """Continue the conversation another agent handed over (or the user's forwarded reply)."""
        await self._enter(list(baton.conversation), dict(baton.turns), ctx)

    @response_handler
    async def on_user_reply(
        self, request: HandoffAgentUserRequest, reply: HandoffUserResponse, ctx: _Context
    ) -> None:
        """Continue with the user's reply, or end the conversation when the user terminates it."""
        stored = ctx.get_state()
        ctx.set_state(None)
        conversation = [ChatMessage.model_validate(m) for m in stored]
        if reply.terminate:
            if request.reason != "conversation_ended":  # else it was output as it stands already
                await self._end(conversation, "user_terminated", ctx)
            return
        conversation.extend(reply.messages)
        if await self._should_terminate(conversation):
            await self._end(conversation, "termination_condition", ctx)
        elif self._settings.return_to_previous or self.id == self._settings.start_id:
            await self._enter(conversation, {}, ctx)
        else:
            baton = HandoffMessage(
                target=self._settings.start_id,
                kind="user_reply",
                source=self.id,
                conversation=tuple(conversation),
            )
            await ctx.send_message(baton, target_id=self._settings.start_id)

    async def _enter(
        self, conversation: list[ChatMessage], turns: dict[str, int], ctx: _Context
    ) -> None:
        if self._out_of_turns(turns):
            await self._limit_reached(conversation, None, ctx)
            return
        while True:
            turns[self.id] = turns.get(self.id, 0) + 1
            chosen: list[str] = []
            response = await run_agent_turn(
                self._agent, conversation, ctx, extra_tools=self._extra_tools(chosen)
            )
            conversation = [*conversation, *response.messages]
            if chosen:
                await self._hand_off(chosen[0], conversation, turns, ctx)
                return
            if await self._should_terminate(conversation):
                await self._end(conversation, "termination_condition", ctx)
                return
            if self.is_terminal:
                await self._end(conversation, "terminal_agent", ctx)
                if not self._settings.autonomous:
                    await self._ask_user(conversation, "conversation_ended", response, ctx)
                return
            if not self._settings.autonomous:
                await self._ask_user(conversation, "turn_finished", response, ctx)
                return
            if self._out_of_turns(turns):
                await self._limit_reached(conversation, response, ctx)
                return
            conversation.append(ChatMessage("user", self._settings.prompt))

    def _out_of_turns(self, turns: Mapping[str, int]) -> bool:
        limit = self._settings.turn_limit
        return limit is not None and turns.get(self.id, 0) >= limit

    async def _limit_reached(
        self, conversation: list[ChatMessage], response: AgentResponse | None, ctx: _Context
    ) -> None:
        if self._settings.autonomous:
            await self._end(conversation, "turn_limit", ctx)
        else:
            await self._ask_user(conversation, "turn_limit", response, ctx)

    def _extra_tools(self, chosen: list[str]) -> ExtraTools | None:
        if not self._specs:
            return None
        routes = self._settings.routes

        async def answer(call: FunctionCallContent) -> FunctionResultContent:
            target = routes[call.name][0]
            if chosen:
                return FunctionResultContent(
                    call_id=call.call_id,
                    result=(
                        f"Not done: this turn already hands off to `{chosen[0]}`, and only the first "
                        "handoff of a turn is carried out."
                    ),
                    is_error=True,
                )
            chosen.append(target)
            return FunctionResultContent(call_id=call.call_id, result=f"Handed off to `{target}`.")

        return ExtraTools(self._specs, answer, ends_turn=True)

    async def _hand_off(
        self, target: str, conversation: list[ChatMessage], turns: dict[str, int], ctx: _Context
    ) -> None:
        await ctx.add_event(HandoffSentEvent(self.id, target))
        if await self._should_terminate(conversation):
            await self._end(conversation, "termination_condition", ctx)
            return
        node = self._settings.nodes[target]
        baton = HandoffMessage(
            target=node, source=self.id, conversation=tuple(conversation), turns=turns
        )
        await ctx.send_message(baton, target_id=node)

    async def _should_terminate(self, conversation: list[ChatMessage]) -> bool:
        return await is_terminated(self._settings.termination_condition, conversation)

    async def _end(self, conversation: list[ChatMessage], reason: EndReason, ctx: _Context) -> None:
        end = HandoffEnd(agent=self.id, reason=reason, conversation=tuple(conversation))
        await ctx.send_message(end, target_id=self._settings.output_id)

    async def _ask_user(
        self,
        conversation: list[ChatMessage],
        reason: UserRequestReason,
        response: AgentResponse | None,
        ctx: _Context,
    ) -> None:
        ctx.set_state(tuple(conversation))
        request = HandoffAgentUserRequest(
            agent_name=self.id, reason=reason, agent_response=response
        )
        await ctx.request_info(request, response_type=HandoffUserResponse)


class HandoffOutput(Executor):
    """Where every handoff conversation ends: emits `handoff_completed`, then yields the conversation.

    When executors are wired on after it (through ``compile()``), it sends them the conversation instead.
    """

    @handler
    async def on_end(
        self, end: HandoffEnd, ctx: WorkflowContext[list[ChatMessage], list[ChatMessage]]
    ) -> None:
        """Report why the conversation ended and pass it on."""
        await ctx.add_event(HandoffCompletedEvent(end.agent, end.reason))
        if ctx.target_ids:
            await ctx.send_message(list(end.conversation))
        else:
            await ctx.yield_output(list(end.conversation))


class HandoffStepCall(Executor):
    """Hands the conversation to an executor participant, and tells its return node who called.

    Two nodes, not one, so the graph has no loop between the bridge and the executor: a handoff
    through an executor is bounded by the calling agent's turn limit alone (see `engine.analysis`).
    """

    def __init__(self, id: str, step_id: str, return_id: str) -> None:  # noqa: A002
        super().__init__(id)
        self._step_id = step_id
        self._return_id = return_id

    @handler
    async def on_handoff(
        self, baton: HandoffMessage, ctx: WorkflowContext[list[ChatMessage] | HandoffMessage]
    ) -> None:
        """Give the conversation to the executor; send the baton (who called) to the return node."""
        await ctx.send_message(list(baton.conversation), target_id=self._step_id)
        await ctx.send_message(baton, target_id=self._return_id)


class HandoffStepReturn(Executor):
    """Hands an executor participant's conversation back to the agent that called it.

    The baton from `HandoffStepCall` arrives while the executor works; it is kept in the run state
    until the executor's conversation comes, which goes back with a `handoff_sent` event.
    """

    def __init__(self, id: str, step_id: str) -> None:  # noqa: A002
        super().__init__(id)
        self._step_id = step_id

    @handler
    async def on_handoff(self, baton: HandoffMessage, ctx: WorkflowContext[HandoffMessage]) -> None:
        """Remember who handed off to the executor, and the turn counts so far."""
        ctx.set_state((baton.source, dict(baton.turns)))

    @handler
    async def on_conversation(
        self, conversation: list[ChatMessage], ctx: WorkflowContext[HandoffMessage]
    ) -> None:
        """Hand the executor's conversation back to the agent that called it."""
        caller, turns = ctx.get_state()
        ctx.set_state(None)
        await ctx.add_event(HandoffSentEvent(self._step_id, caller))
        baton = HandoffMessage(
            target=caller, source=self._step_id, conversation=tuple(conversation), turns=turns
        )
        await ctx.send_message(baton, target_id=caller)
