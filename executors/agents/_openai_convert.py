"""Pure conversions between Baton's chat values and the OpenAI Chat Completions wire format.

Requests: `ChatMessage` -> message dicts, `ToolSpec` -> function tools, `ToolChoice` -> `tool_choice`.
Replies: `ChatCompletion` -> `ChatResponse`, `ChatCompletionChunk` -> `ChatResponseUpdate`. Replies are
read defensively: the SDK does not validate what a server sends, so any field may be missing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pydantic_core
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.completion_usage import CompletionUsage

from executors.agents.client import ToolChoice, ToolSpec
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

__all__ = [
    "response_from_completion",
    "to_openai_messages",
    "to_openai_tool_choice",
    "to_openai_tools",
    "update_from_chunk",
]

_NAME_DISALLOWED = re.compile(r"[^A-Za-z0-9_-]+")
_NAME_MAX_LENGTH = 64


def to_openai_messages(messages: Sequence[ChatMessage]) -> list[dict[str, Any]]:
    """The conversation as OpenAI message dicts; each function result becomes its own `tool` message."""
    converted: list[dict[str, Any]] = []
    for position, message in enumerate(messages):
        converted.extend(_convert_message(message, position))
    return converted


def _convert_message(message: ChatMessage, position: int) -> list[dict[str, Any]]:
    results = [part for part in message.contents if isinstance(part, FunctionResultContent)]
    calls = message.function_calls
    if message.role == "tool":
        if message.text or calls or not results:
            raise ValueError(
                f"message {position} has role `tool` but {_describe_parts(message)}; a `tool` "
                "message must hold only `FunctionResultContent` parts."
            )
        return [
            {"role": "tool", "tool_call_id": result.call_id, "content": _result_text(result.result)}
            for result in results
        ]
    if results or (calls and message.role != "assistant"):
        raise ValueError(
            f"message {position} has role `{message.role}` but {_describe_parts(message)}; "
            "function calls belong in `assistant` messages and function results in `tool` messages."
        )
    entry: dict[str, Any] = {"role": message.role, "content": message.text}
    if calls:
        entry["content"] = message.text or None
        entry["tool_calls"] = [
            {
                "id": call.call_id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }
            for call in calls
        ]
    name = sanitize_name(message.author_name)
    if name:
        entry["name"] = name
    return [entry]


def _describe_parts(message: ChatMessage) -> str:
    kinds = sorted({type(part).__name__ for part in message.contents})
    return f"holds {', '.join(f'`{kind}`' for kind in kinds)}" if kinds else "holds nothing"


def _result_text(result: Any) -> str:
    """A function result as the string the API wants: text as is, anything else as JSON."""
    if isinstance(result, str):
        return result
    return pydantic_core.to_json(result, fallback=str).decode()


def sanitize_name(name: str | None) -> str | None:
    """`name` fitted to the API's pattern (letters, digits, `_`, `-`; at most 64); None if nothing is left."""
    if name is None:
        return None
    cleaned = _NAME_DISALLOWED.sub("_", name.strip()).strip("_")[:_NAME_MAX_LENGTH]
    return cleaned or None


def to_openai_tools(tools: Sequence[ToolSpec]) -> list[dict[str, Any]]:
    """Tools as OpenAI function tools."""
    converted: list[dict[str, Any]] = []
    for tool in tools:
        function: dict[str, Any] = {"name": tool.name, "parameters": tool.parameters}
        if tool.description:
            function["description"] = tool.description
        converted.append({"type": "function", "function": function})
    return converted


def to_openai_tool_choice(choice: ToolChoice | None, tools: Sequence[ToolSpec]) -> Any:
    """The `tool_choice` value, or None to leave it out (no choice, or `auto`/`none` without tools)."""
    if choice is None:
        return None
    if not tools:
        if choice in ("auto", "none"):
            return None
        raise ValueError(
            f"tool_choice `{choice}` needs tools, but the request has none; pass `tools=` or "
            "drop `tool_choice`."
        )
    if choice in ("auto", "none", "required"):
        return choice
    names = [tool.name for tool in tools]
    if choice not in names:
        raise ValueError(
            f"tool_choice `{choice}` is not one of the request's tools "
            f"({', '.join(f'`{name}`' for name in names)}); pass `auto`, `none`, `required` "
            "or one of those names."
        )
    return {"type": "function", "function": {"name": choice}}


def response_from_completion(completion: ChatCompletion) -> ChatResponse:
    """The first choice of a completion as a `ChatResponse` (the caller checked `choices` is non-empty)."""
    choice = completion.choices[0]
    message = choice.message
    parts: list[Content] = []
    text = (message.content or message.refusal) if message is not None else None
    if text:
        parts.append(TextContent(text=text))
    for call in (message.tool_calls if message is not None else None) or ():
        # Function calls carry `function.arguments`, custom-tool calls `custom.input`.
        target = getattr(call, "function", None) or getattr(call, "custom", None)
        name = getattr(target, "name", None) or ""
        arguments = getattr(target, "arguments", None) or getattr(target, "input", None) or "{}"
        parts.append(FunctionCallContent(call_id=call.id or "", name=name, arguments=arguments))
    return ChatResponse(
        messages=(ChatMessage("assistant", parts),),
        usage=_usage(completion.usage),
        finish_reason=choice.finish_reason,
        model=completion.model or None,
    )


def update_from_chunk(chunk: ChatCompletionChunk) -> ChatResponseUpdate | None:
    """What one streamed chunk adds to the first choice, or None when it adds nothing."""
    text, finish_reason = "", None
    deltas: list[ToolCallDelta] = []
    for choice in chunk.choices or ():
        if choice.index not in (0, None):
            continue
        finish_reason = choice.finish_reason or finish_reason
        delta = choice.delta
        if delta is None:
            continue
        text += delta.content or delta.refusal or ""
        for position, call in enumerate(delta.tool_calls or ()):
            function = call.function
            deltas.append(
                ToolCallDelta(
                    index=call.index if call.index is not None else position,
                    call_id=call.id,
                    name=function.name if function is not None else None,
                    arguments=(function.arguments if function is not None else None) or "",
                )
            )
    usage = _usage(chunk.usage)
    if not (text or deltas or usage or finish_reason):
        return None
    return ChatResponseUpdate(
        text=text,
        tool_call_deltas=tuple(deltas),
        usage=usage,
        finish_reason=finish_reason,
        model=chunk.model or None,
    )


def _usage(usage: CompletionUsage | None) -> UsageDetails | None:
    if usage is None:
        return None
    return UsageDetails(
        input_tokens=usage.prompt_tokens or 0, output_tokens=usage.completion_tokens or 0
    )
