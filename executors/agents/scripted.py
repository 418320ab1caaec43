"""`ScriptedChatClient`: a deterministic `ChatClient` for tests and offline demos, no model involved.

It answers from a script (replies in order) or from keyword rules (reply chosen from the latest user
message), records every request, and streams its replies in small deltas (text per word, tool calls
name first and arguments in chunks) so code that reassembles streams is exercised for real.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from executors.agents.client import ToolChoice, ToolSpec
from executors.agents.errors import ScriptExhaustedError
from executors.agents.messages import (
    ChatMessage,
    ChatResponse,
    ChatResponseUpdate,
    Content,
    FunctionCallContent,
    FunctionResultContent,
    TextContent,
    ToolCallDelta,
    UsageDetails,
)

__all__ = ["RecordedRequest", "ScriptedChatClient", "ScriptedReply", "ToolCall"]

_MODEL = "scripted"
_ARGUMENT_CHUNK = 8
"""Characters of a tool call's arguments per streamed delta."""


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A function call for a scripted reply; ``handoff_to_<name>`` calls are ordinary `ToolCall`s."""

    name: str
    arguments: Mapping[str, Any] | str = field(default_factory=dict)
    """A mapping (sent as JSON) or the raw text, which may be deliberately invalid JSON."""
    call_id: str | None = None
    """Defaults to ``call_<reply>_<part>``: unique within one client, the same on every run."""


ScriptedReply = str | ChatMessage | ChatResponse | ToolCall | Sequence[str | ToolCall]
"""One reply: text, a message, a whole response, one call, or a list of parts (text and calls, in
order; several calls are parallel tool calls)."""


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One call a `ScriptedChatClient` received, as it received it."""

    messages: tuple[ChatMessage, ...]
    tools: tuple[ToolSpec, ...]
    tool_choice: ToolChoice | None
    options: Mapping[str, Any]
    stream: bool
    """Whether it came through `get_streaming_response`."""

    @property
    def tool_names(self) -> tuple[str, ...]:
        """The names of the offered tools, in order."""
        return tuple(spec.name for spec in self.tools)


class ScriptedChatClient:
    """A `ChatClient` that replies from a script: the n-th request gets the n-th reply.

    Replies may be text, a `ChatMessage`, a `ChatResponse`, a `ToolCall`, or a list of text and
    `ToolCall` parts (several calls in one reply are parallel tool calls). Running out of replies raises
    `ScriptExhaustedError`; `assert_complete()` checks that every reply was used. For offline demos,
    `from_rules` picks the reply by keyword instead of by position.
    """

    __slots__ = ("_default", "_position", "_replies", "_requests", "_rules")

    def __init__(self, replies: Iterable[ScriptedReply]) -> None:
        if isinstance(replies, (str, ChatMessage, ChatResponse, ToolCall)):
            raise TypeError(
                "ScriptedChatClient takes a list of replies; wrap a single reply in a list: "
                "ScriptedChatClient([reply])."
            )
        self._replies = tuple(_to_response(reply, f"{i}") for i, reply in enumerate(replies))
        self._position = 0
        self._requests: list[RecordedRequest] = []
        self._rules: tuple[tuple[str, ChatResponse], ...] | None = None
        self._default: ChatResponse | None = None

    @classmethod
    def from_rules(
        cls, rules: Mapping[str, ScriptedReply], *, default: ScriptedReply | None = None
    ) -> ScriptedChatClient:
        """A client that answers by keyword, for demos: the same conversation always gets the same reply.

        The reply is the first rule (in the mapping's order) whose keyword occurs in the latest user
        message, ignoring case; else `default` (by default a note listing the keywords). When the
        conversation ends with tool results, the reply is their text instead, so a rule whose reply
        calls a tool ends with that tool's answer. Rules never run out, and requests are recorded.
        """
        if not rules:
            raise ValueError("from_rules needs at least one keyword rule")
        client = cls(())
        client._rules = tuple(
            (keyword.casefold(), _to_response(reply, f"{i}"))
            for i, (keyword, reply) in enumerate(rules.items())
        )
        known = ", ".join(rules)
        fallback = default if default is not None else f"(no scripted reply; keywords: {known})"
        client._default = _to_response(fallback, "default")
        return client

    @property
    def requests(self) -> tuple[RecordedRequest, ...]:
        """Every request received so far, in order."""
        return tuple(self._requests)

    @property
    def remaining(self) -> int:
        """How many scripted replies are still unused (0 for a rule-based client)."""
        return len(self._replies) - self._position

    def assert_complete(self) -> None:
        """Raise `AssertionError` unless every scripted reply was used."""
        if self.remaining:
            raise AssertionError(
                f"ScriptedChatClient used {self._position} of {len(self._replies)} replies; "
                f"{self.remaining} left unused (next: {_preview(self._replies[self._position])}). "
                "The code under test made fewer model calls than the script expects."
            )

    async def get_response(
        self,
        messages: Sequence[ChatMessage],
        *,
        tools: Sequence[ToolSpec] | None = None,
        tool_choice: ToolChoice | None = None,
        **options: Any,
    ) -> ChatResponse:
        """Record the request and return the next reply."""
        return self._answer(messages, tools, tool_choice, options, stream=False)

    async def get_streaming_response(
        self,
        messages: Sequence[ChatMessage],
        *,
        tools: Sequence[ToolSpec] | None = None,
        tool_choice: ToolChoice | None = None,
        **options: Any,
    ) -> AsyncIterator[ChatResponseUpdate]:
        """Record the request and stream the next reply: text per word, calls in fragments, then usage."""
        response = self._answer(messages, tools, tool_choice, options, stream=True)
        for update in _to_updates(response):
            yield update

    def _answer(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[ToolSpec] | None,
        tool_choice: ToolChoice | None,
        options: dict[str, Any],
        *,
        stream: bool,
    ) -> ChatResponse:
        conversation = tuple(messages)
        request = RecordedRequest(conversation, tuple(tools or ()), tool_choice, options, stream)
        self._requests.append(request)
        response = self._next(conversation) if self._rules is None else self._by_rule(conversation)
        if response.usage is None:
            usage = UsageDetails(
                input_tokens=sum(_words(m) for m in conversation),
                output_tokens=sum(_words(m) for m in response.messages),
            )
            response = response.model_copy(update={"usage": usage})
        return response

    def _next(self, conversation: tuple[ChatMessage, ...]) -> ChatResponse:
        if self._position >= len(self._replies):
            last = _latest_user_text(conversation)
            said = (
                f"the last user message was {last[:80]!r}" if last else "there was no user message"
            )
            raise ScriptExhaustedError(
                f"ScriptedChatClient ran out of replies: its script had {len(self._replies)} and "
                f"request {len(self._requests)} asked for another ({said}). Add a reply to the "
                "script, or check why the code made more model calls than expected."
            )
        self._position += 1
        return self._replies[self._position - 1]

    def _by_rule(self, conversation: tuple[ChatMessage, ...]) -> ChatResponse:
        assert self._rules is not None and self._default is not None
        if conversation and conversation[-1].role == "tool":
            return _echo_results(conversation[-1])
        text = _latest_user_text(conversation).casefold()
        for keyword, response in self._rules:
            if keyword in text:
                return response
        return self._default


def _to_response(reply: ScriptedReply, label: str) -> ChatResponse:
    """A scripted reply as the `ChatResponse` it stands for; `label` numbers generated call ids."""
    if isinstance(reply, ChatResponse):
        return reply
    if isinstance(reply, ChatMessage):
        if reply.role != "assistant":
            raise ValueError(
                f"scripted reply {label} is a {reply.role!r} message; a model replies as 'assistant'."
            )
        return ChatResponse(messages=(reply,), finish_reason=_finish(reply), model=_MODEL)
    parts = [reply] if isinstance(reply, (str, ToolCall)) else list(reply)
    contents: list[Content] = []
    for position, part in enumerate(parts):
        if isinstance(part, str):
            contents.append(TextContent(text=part))
        elif isinstance(part, ToolCall):
            contents.append(_call_content(part, f"call_{label}_{position}"))
        else:
            raise TypeError(
                f"scripted reply {label} has a part of type {type(part).__name__}; parts are text "
                "(str) or ToolCall."
            )
    message = ChatMessage("assistant", contents)
    return ChatResponse(messages=(message,), finish_reason=_finish(message), model=_MODEL)


def _call_content(call: ToolCall, default_id: str) -> FunctionCallContent:
    arguments = call.arguments if isinstance(call.arguments, str) else json.dumps(call.arguments)
    return FunctionCallContent(
        call_id=call.call_id or default_id, name=call.name, arguments=arguments
    )


def _finish(message: ChatMessage) -> str:
    return "tool_calls" if message.function_calls else "stop"


def _to_updates(response: ChatResponse) -> list[ChatResponseUpdate]:
    """The response as a stream: words, then each call (id and name first, arguments in chunks)."""
    updates: list[ChatResponseUpdate] = []
    index = 0
    for message in response.messages:
        for part in message.contents:
            if isinstance(part, TextContent):
                words = re.split(r"(?<=\s)(?=\S)", part.text)
                updates.extend(ChatResponseUpdate(text=w, model=_MODEL) for w in words if w)
            elif isinstance(part, FunctionCallContent):
                head = ToolCallDelta(index=index, call_id=part.call_id, name=part.name)
                updates.append(ChatResponseUpdate(tool_call_deltas=(head,)))
                for start in range(0, len(part.arguments), _ARGUMENT_CHUNK):
                    chunk = part.arguments[start : start + _ARGUMENT_CHUNK]
                    delta = ToolCallDelta(index=index, arguments=chunk)
                    updates.append(ChatResponseUpdate(tool_call_deltas=(delta,)))
                index += 1
    updates.append(
        ChatResponseUpdate(
            usage=response.usage, finish_reason=response.finish_reason, model=response.model
        )
    )
    return updates


def _echo_results(message: ChatMessage) -> ChatResponse:
    """A rule client's reply after tool results: the results themselves, as text."""
    lines = [
        part.result if isinstance(part.result, str) else json.dumps(part.result)
        for part in message.contents
        if isinstance(part, FunctionResultContent)
    ]
    reply = ChatMessage("assistant", "\n".join(lines))
    return ChatResponse(messages=(reply,), finish_reason="stop", model=_MODEL)


def _latest_user_text(conversation: Sequence[ChatMessage]) -> str:
    for message in reversed(conversation):
        if message.role == "user":
            return message.text
    return ""


def _words(message: ChatMessage) -> int:
    """A deterministic stand-in for token counts: whitespace-separated words, call arguments included."""
    return sum(
        len(text.split()) for text in (message.text, *(c.arguments for c in message.function_calls))
    )


def _preview(response: ChatResponse) -> str:
    calls = [call.name for message in response.messages for call in message.function_calls]
    text = response.text
    return f"calls {', '.join(calls)}" if calls else repr(text[:60])
