"""`Agent`: a chat client, instructions and tools, plus the tool-calling loop that runs one turn.

One turn, in four lines:
  1. send the instructions (as a system message) and the conversation, with every tool's spec;
  2. a reply without function calls ends the turn;
  3. otherwise run every call of the reply (concurrently; results in call order, in one `tool` message);
  4. repeat, at most `max_tool_iterations` rounds, else raise `ToolLoopLimitError`.
An agent is configuration only: the conversation is passed in and the new messages come back, so one
agent serves any number of concurrent runs.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncGenerator, Awaitable, Sequence
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, Protocol

from engine.log import get_logger
from executors.agents.client import ChatClient, ToolSpec
from executors.agents.errors import ToolLoopLimitError
from executors.agents.messages import (
    ChatMessage,
    ChatResponse,
    FunctionCallContent,
    FunctionResultContent,
    UsageDetails,
)
from executors.agents.responses import AgentResponse, AgentResponseUpdate
from executors.agents.tools import FunctionTool, unknown_tool_result

__all__ = ["Agent", "AgentRunStream", "ExtraTools", "ToolCallHandler"]

logger = get_logger(__name__)

AgentInput = str | ChatMessage | Sequence[ChatMessage]
"""What a turn starts from: a user's text, one message, or a whole conversation."""


class ToolCallHandler(Protocol):
    """Answers a call to one of the `ExtraTools` of a run."""

    def __call__(self, call: FunctionCallContent, /) -> Awaitable[FunctionResultContent]:
        """Return the result for `call` (with its `call_id`); an error result if the call is refused."""
        ...


@dataclass(frozen=True, slots=True)
class ExtraTools:
    """Tools added to a single run and answered by the caller instead of by a `FunctionTool`.

    This is how orchestrations give an agent its ``handoff_to_<name>`` tools without changing the
    agent: the specs are offered to the model next to the agent's own tools, and each call to one of
    them goes to `handler`. Calls of one reply reach the handler one at a time, in call order (so a
    rule like "the first handoff wins" is deterministic), while the agent's own tools run concurrently.
    """

    specs: tuple[ToolSpec, ...]
    handler: ToolCallHandler
    ends_turn: bool = False
    """End the turn after a round in which the handler answered one of these calls without an error,
    instead of asking the model again. Error results keep the loop going, so the model can recover."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "specs", tuple(self.specs))
        for spec in self.specs:
            if not isinstance(spec, ToolSpec):
                raise TypeError(
                    f"ExtraTools.specs takes ToolSpec values, got {type(spec).__name__}"
                )
        _reject_duplicates([spec.name for spec in self.specs], "ExtraTools.specs")
        if not callable(self.handler):
            raise TypeError(
                f"ExtraTools.handler must be an async callable, got {type(self.handler).__name__}"
            )

    @property
    def names(self) -> frozenset[str]:
        """The names of the extra tools."""
        return frozenset(spec.name for spec in self.specs)


@dataclass(frozen=True, slots=True)
class Agent:
    """A named model persona with instructions and tools. Immutable: copy it with `replace()`."""

    client: ChatClient
    _: KW_ONLY
    name: str
    """Identifies the agent: set as `author_name` on its messages, used as `AgentExecutor`'s id."""
    instructions: str
    """Sent as the system message of every model call (nothing is sent when empty)."""
    description: str | None = None
    """What the agent is for, as other agents read it (orchestrations describe handoffs with it)."""
    tools: Sequence[FunctionTool] = ()
    max_tool_iterations: int = 8
    """How many rounds of tool calls one turn may make before `ToolLoopLimitError`."""
    _tools_by_name: dict[str, FunctionTool] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(f"an agent's name must be a non-empty string, got {self.name!r}")
        if not isinstance(self.client, ChatClient):
            raise TypeError(
                f"Agent `{self.name}` needs a ChatClient (an object with `get_response` and "
                f"`get_streaming_response`), got {type(self.client).__name__}."
            )
        if not isinstance(self.instructions, str):
            raise TypeError(
                f"Agent `{self.name}`: instructions must be a string, got "
                f"{type(self.instructions).__name__}"
            )
        if self.description is not None and not isinstance(self.description, str):
            raise TypeError(f"Agent `{self.name}`: description must be a string or None")
        limit = self.max_tool_iterations
        if isinstance(limit, bool) or not isinstance(limit, int):
            raise TypeError(
                f"Agent `{self.name}`: max_tool_iterations must be an int, got {type(limit).__name__}"
            )
        if limit < 1:
            raise ValueError(
                f"Agent `{self.name}`: max_tool_iterations must be a positive integer, got {limit!r}"
            )
        object.__setattr__(self, "tools", _check_tools(self.name, self.tools))
        object.__setattr__(self, "_tools_by_name", {t.name: t for t in self.tools})

    def replace(self, **changes: Any) -> Agent:
        """A copy with `changes` applied (validated like a new agent); this agent is unchanged."""
        return dataclasses.replace(self, **changes)

    def find_tool(self, name: str) -> FunctionTool | None:
        """The agent's tool called `name`, if it has one."""
        return self._tools_by_name.get(name)

    async def run(
        self, messages: AgentInput, *, extra_tools: ExtraTools | None = None, **options: Any
    ) -> AgentResponse:
        """Run one turn on `messages` and return what it added; `options` go to the chat client.

        `extra_tools` adds tools for this run only (see `ExtraTools`). Raises `ToolLoopLimitError` when
        the model keeps calling tools for more than `max_tool_iterations` rounds, and whatever the chat
        client raises (`ChatClientError`s).
        """
        turn = _Turn(self, messages, extra_tools)
        while not turn.is_done:
            reply = await self.client.get_response(turn.request, tools=turn.specs, **options)
            await turn.accept(reply)
        return turn.response()

    def run_stream(
        self, messages: AgentInput, *, extra_tools: ExtraTools | None = None, **options: Any
    ) -> AgentRunStream:
        """Run one turn, streaming it: iterate the result for updates, then read its `.response`.

        Each model call is streamed with `get_streaming_response` and reassembled with
        `ChatResponse.from_updates`, so the tool loop is the same as `run`'s.
        """
        turn = _Turn(self, messages, extra_tools)  # argument errors surface here, not mid-iteration
        return AgentRunStream(self._stream(turn, options))

    async def _stream(
        self, turn: _Turn, options: dict[str, Any]
    ) -> AsyncGenerator[AgentResponseUpdate | AgentResponse, None]:
        while not turn.is_done:
            index = turn.replies
            updates = []
            stream = self.client.get_streaming_response(turn.request, tools=turn.specs, **options)
            try:
                async for update in stream:
                    updates.append(update)
                    if update.text or update.tool_call_deltas or update.usage is not None:
                        yield AgentResponseUpdate(
                            agent_name=self.name,
                            reply_index=index,
                            text=update.text,
                            tool_call_deltas=update.tool_call_deltas,
                            usage=update.usage,
                        )
            finally:  # an abandoned turn releases the model stream (an HTTP response) at once
                close = getattr(stream, "aclose", None)
                if close is not None:
                    await close()
            results = await turn.accept(ChatResponse.from_updates(updates))
            if results:
                yield AgentResponseUpdate(
                    agent_name=self.name, reply_index=index, tool_results=results
                )
        yield turn.response()


class AgentRunStream:
    """The updates of one streamed turn; `.response` holds the `AgentResponse` once they are consumed.

    Iterate it once, to the end (``async for update in stream``). Reading `.response` earlier is an
    error rather than a partial answer, so a half-consumed stream is never mistaken for a whole turn.
    """

    __slots__ = ("_response", "_source")

    def __init__(self, source: AsyncGenerator[AgentResponseUpdate | AgentResponse, None]) -> None:
        self._source = source
        self._response: AgentResponse | None = None

    def __aiter__(self) -> AgentRunStream:
        return self

    async def __anext__(self) -> AgentResponseUpdate:
        item = await anext(self._source)
        if isinstance(item, AgentResponse):
            self._response = item
            await self._source.aclose()
            raise StopAsyncIteration
        return item

    async def aclose(self) -> None:
        """Stop the turn early (the model call in progress is abandoned)."""
        await self._source.aclose()

    @property
    def response(self) -> AgentResponse:
        """The turn's `AgentResponse`; available once iteration has finished."""
        if self._response is None:
            raise RuntimeError(
                "the agent's stream has not finished; iterate it to the end (`async for update in "
                "stream`) before reading `.response`."
            )
        return self._response


class _Turn:
    """The bookkeeping of one turn: the conversation so far, usage, rounds. Lives only in one call."""

    __slots__ = (
        "agent",
        "extra",
        "history",
        "is_done",
        "new",
        "replies",
        "rounds",
        "specs",
        "usage",
    )

    def __init__(self, agent: Agent, messages: AgentInput, extra: ExtraTools | None) -> None:
        self.agent = agent
        self.extra = extra
        system = [ChatMessage("system", agent.instructions)] if agent.instructions else []
        self.history = [*system, *_conversation(agent.name, messages)]
        self.new: list[ChatMessage] = []
        self.usage = UsageDetails()
        self.replies = 0
        self.rounds = 0
        self.is_done = False
        specs = [t.spec for t in agent.tools]
        if extra is not None:
            clashes = sorted(extra.names & {t.name for t in agent.tools})
            if clashes:
                raise ValueError(
                    f"extra tools {', '.join(f'`{n}`' for n in clashes)} have the same names as "
                    f"tools of agent `{agent.name}`; rename the extra tools."
                )
            specs.extend(extra.specs)
        self.specs: list[ToolSpec] | None = specs or None

    @property
    def request(self) -> list[ChatMessage]:
        """The messages of the next model call."""
        return [*self.history, *self.new]

    def response(self) -> AgentResponse:
        """What the turn added, once it is done."""
        return AgentResponse(messages=tuple(self.new), usage=self.usage)

    async def accept(self, reply: ChatResponse) -> tuple[FunctionResultContent, ...]:
        """Take one model reply: record it, run its calls, and say which results they gave."""
        self.replies += 1
        if reply.usage is not None:
            self.usage += reply.usage
        name = self.agent.name
        messages = [
            m.model_copy(update={"author_name": name}) if m.role == "assistant" else m
            for m in reply.messages
        ]
        self.new.extend(messages)
        calls = [call for message in messages for call in message.function_calls]
        if not calls:
            self.is_done = True
            return ()
        if self.rounds >= self.agent.max_tool_iterations:
            raise ToolLoopLimitError(
                f"agent `{name}` asked for tool calls in more than {self.rounds} rounds of one turn "
                f"(the last asked for {', '.join(f'`{c.name}`' for c in calls)}); the model may be "
                "looping. Raise `max_tool_iterations` if the task needs more rounds, or make the "
                "tools' results and the instructions tell the model when it is done."
            )
        self.rounds += 1
        results, ends_turn = await self._execute(calls)
        self.new.append(ChatMessage("tool", results))
        self.is_done = ends_turn
        logger.debug(
            "tool_round_completed",
            agent=name,
            round=self.rounds,
            calls=len(calls),
            errors=sum(r.is_error for r in results),
        )
        return results

    async def _execute(
        self, calls: list[FunctionCallContent]
    ) -> tuple[tuple[FunctionResultContent, ...], bool]:
        """Answer every call; results are in call order whatever order they finish in."""
        results: list[FunctionResultContent | None] = [None] * len(calls)
        extra = self.extra
        extra_names = extra.names if extra is not None else frozenset()
        tool_calls: list[tuple[int, FunctionTool, FunctionCallContent]] = []
        ends_turn = False
        for index, call in enumerate(calls):
            found = self.agent.find_tool(call.name)
            if found is not None:
                tool_calls.append((index, found, call))
            elif extra is not None and call.name in extra_names:
                result = await extra.handler(call)
                _check_handler_result(call, result)
                results[index] = result
                ends_turn = ends_turn or (extra.ends_turn and not result.is_error)
            else:
                available = [t.name for t in self.agent.tools] + sorted(extra_names)
                results[index] = unknown_tool_result(call, available)
        if len(tool_calls) == 1:
            index, found, call = tool_calls[0]
            results[index] = await found.invoke(call)
        elif tool_calls:
            async with asyncio.TaskGroup() as group:
                tasks = [(i, group.create_task(t.invoke(c))) for i, t, c in tool_calls]
            for index, task in tasks:
                results[index] = task.result()
        return tuple(r for r in results if r is not None), ends_turn


def _conversation(agent_name: str, messages: AgentInput) -> list[ChatMessage]:
    if isinstance(messages, str):
        return [ChatMessage("user", messages)]
    if isinstance(messages, ChatMessage):
        return [messages]
    items = list(messages)
    for position, item in enumerate(items):
        if not isinstance(item, ChatMessage):
            raise TypeError(
                f"agent `{agent_name}` takes a str, a ChatMessage or a sequence of ChatMessage; item "
                f"{position} of the sequence is a {type(item).__name__}."
            )
    return items


def _check_tools(agent_name: str, tools: Sequence[FunctionTool]) -> tuple[FunctionTool, ...]:
    if isinstance(tools, (str, bytes)):
        raise TypeError(f"Agent `{agent_name}`: tools must be a sequence of tools, not a string")
    checked = tuple(tools)
    for item in checked:
        if not isinstance(item, FunctionTool):
            label = getattr(item, "__name__", type(item).__name__)
            raise TypeError(
                f"Agent `{agent_name}`: `{label}` is not a tool; decorate the function with `@tool` "
                "so its arguments get a schema and validation."
            )
    _reject_duplicates([t.name for t in checked], f"the tools of agent `{agent_name}`")
    return checked


def _reject_duplicates(names: list[str], where: str) -> None:
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(
            f"{where} have duplicate names: {', '.join(f'`{n}`' for n in duplicates)}; a model "
            "calls tools by name, so each name must be unique (use `@tool(name=...)`)."
        )


def _check_handler_result(call: FunctionCallContent, result: object) -> None:
    if not isinstance(result, FunctionResultContent) or result.call_id != call.call_id:
        raise TypeError(
            f"the ExtraTools handler answered the call `{call.call_id}` to `{call.name}` with "
            f"{result!r}; return a FunctionResultContent with call_id={call.call_id!r}."
        )
