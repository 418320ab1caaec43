"""Chat messages and model responses: the values agents, clients and orchestrations exchange.

Everything here is a frozen pydantic model, so a conversation round-trips through JSON (and the checkpoint
serializer) unchanged. A message's `contents` is a tuple of typed parts: text, a function call the model
made, or the result of running that call.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ChatMessage",
    "ChatResponse",
    "ChatResponseUpdate",
    "Content",
    "FunctionCallContent",
    "FunctionResultContent",
    "Role",
    "TextContent",
    "ToolCallDelta",
    "UsageDetails",
]

Role = Literal["system", "user", "assistant", "tool"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TextContent(_Frozen):
    """Plain text."""

    type: Literal["text"] = "text"
    text: str


class FunctionCallContent(_Frozen):
    """A call the model asked for. `arguments` is the raw JSON text the model produced (it may be invalid)."""

    type: Literal["function_call"] = "function_call"
    call_id: str
    name: str
    arguments: str = "{}"


class FunctionResultContent(_Frozen):
    """The result of a function call, sent back to the model under the call's `call_id`."""

    type: Literal["function_result"] = "function_result"
    call_id: str
    result: Any = None
    """JSON-ready data; for a failed call, the error text the model should read."""
    is_error: bool = False


Content = Annotated[
    TextContent | FunctionCallContent | FunctionResultContent, Field(discriminator="type")
]


class ChatMessage(_Frozen):
    """One message of a conversation.

    ``ChatMessage("user", "hello")`` is shorthand for a message with one `TextContent`.
    """

    role: Role
    contents: tuple[Content, ...] = ()
    author_name: str | None = None
    """Which agent (or person) wrote it; orchestrations use it to tell speakers apart."""

    def __init__(
        self,
        role: Role,
        contents: str | Iterable[Content] = (),
        author_name: str | None = None,
        **data: Any,
    ) -> None:
        parts = (TextContent(text=contents),) if isinstance(contents, str) else tuple(contents)
        fields: dict[str, Any] = {"role": role, "contents": parts, "author_name": author_name}
        super().__init__(**fields, **data)

    @property
    def text(self) -> str:
        """The concatenated text parts (empty when there are none)."""
        return "".join(part.text for part in self.contents if isinstance(part, TextContent))

    @property
    def function_calls(self) -> tuple[FunctionCallContent, ...]:
        """The function calls in this message, in order."""
        return tuple(part for part in self.contents if isinstance(part, FunctionCallContent))


class UsageDetails(_Frozen):
    """Token counts, as far as the server reports them."""

    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens

    def __add__(self, other: UsageDetails) -> UsageDetails:
        return UsageDetails(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
        )


class ChatResponse(_Frozen):
    """What one model call produced: usually one assistant message."""

    messages: tuple[ChatMessage, ...]
    usage: UsageDetails | None = None
    finish_reason: str | None = None
    model: str | None = None

    @property
    def text(self) -> str:
        """The text of every message, joined."""
        return "".join(message.text for message in self.messages)

    @classmethod
    def from_updates(cls, updates: Sequence[ChatResponseUpdate]) -> ChatResponse:
        """Reassemble a streamed response: text deltas are joined, tool-call deltas merged by index."""
        text: list[str] = []
        calls: dict[int, dict[str, str]] = {}
        usage: UsageDetails | None = None
        finish_reason = model = None
        for update in updates:
            text.append(update.text)
            for delta in update.tool_call_deltas:
                call = calls.setdefault(delta.index, {"call_id": "", "name": "", "arguments": ""})
                call["call_id"] = delta.call_id or call["call_id"]
                call["name"] = delta.name or call["name"]  # sent once; a repeat must not double it
                call["arguments"] += delta.arguments
            if update.usage is not None:
                usage = update.usage if usage is None else usage + update.usage
            finish_reason = update.finish_reason or finish_reason
            model = update.model or model
        parts: list[Content] = [TextContent(text="".join(text))] if any(text) else []
        parts.extend(
            FunctionCallContent(
                call_id=c["call_id"], name=c["name"], arguments=c["arguments"] or "{}"
            )
            for _, c in sorted(calls.items())
        )
        message = ChatMessage("assistant", parts)
        return cls(messages=(message,), usage=usage, finish_reason=finish_reason, model=model)


class ToolCallDelta(_Frozen):
    """A fragment of a streamed tool call; fragments with the same `index` form one call."""

    index: int
    call_id: str | None = None
    name: str | None = None
    arguments: str = ""


class ChatResponseUpdate(_Frozen):
    """One streamed chunk: a text delta and/or tool-call deltas; the last chunks carry usage."""

    text: str = ""
    tool_call_deltas: tuple[ToolCallDelta, ...] = ()
    usage: UsageDetails | None = None
    finish_reason: str | None = None
    model: str | None = None
