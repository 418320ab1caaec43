"""`ChoiceChatClient`: a model whose every reply is a decision drawn from an `engine.testing.Choices`.

At each request it either answers with text or calls one of the handoff tools it was offered
(``handoff_to_<name>``: the declared edges, nothing else), as the script says. Past the end of the
script it answers without handing off, so hypothesis shrinks a failing behaviour toward agents that
simply answer. One `Choices` can drive every agent and every switch of a workflow at once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from engine.testing import Choices
from executors.agents.client import ToolChoice, ToolSpec
from executors.agents.messages import ChatMessage, ChatResponse, ChatResponseUpdate
from executors.agents.scripted import RecordedRequest, ScriptedChatClient, ToolCall

__all__ = ["ChoiceChatClient"]

_HANDOFF_PREFIX = "handoff_to_"


class ChoiceChatClient:
    """A `ChatClient` for property tests: it answers, or hands off along a declared edge, by choice.

    `name` labels its decisions in a failing route (``agent `billing` -> handoff_to_fraud``); give
    each agent its own client with its name, or share one client under a common label.
    """

    __slots__ = ("_calls", "_choices", "_name", "_requests")

    def __init__(self, choices: Choices, *, name: str = "model") -> None:
        if not isinstance(choices, Choices):
            raise TypeError(
                f"ChoiceChatClient takes an engine.testing.Choices, got {type(choices).__name__}"
            )
        self._choices = choices
        self._name = name
        self._calls = 0
        self._requests: list[RecordedRequest] = []

    @property
    def requests(self) -> tuple[RecordedRequest, ...]:
        """Every request received so far, in order."""
        return tuple(self._requests)

    async def get_response(
        self,
        messages: Sequence[ChatMessage],
        *,
        tools: Sequence[ToolSpec] | None = None,
        tool_choice: ToolChoice | None = None,
        **options: Any,
    ) -> ChatResponse:
        """Decide, then reply."""
        client = self._decide(messages, tools, tool_choice, options, stream=False)
        return await client.get_response(messages, tools=tools, tool_choice=tool_choice, **options)

    async def get_streaming_response(
        self,
        messages: Sequence[ChatMessage],
        *,
        tools: Sequence[ToolSpec] | None = None,
        tool_choice: ToolChoice | None = None,
        **options: Any,
    ) -> AsyncIterator[ChatResponseUpdate]:
        """Decide, then stream the reply."""
        client = self._decide(messages, tools, tool_choice, options, stream=True)
        stream = client.get_streaming_response(
            messages, tools=tools, tool_choice=tool_choice, **options
        )
        async for update in stream:
            yield update

    def _decide(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[ToolSpec] | None,
        tool_choice: ToolChoice | None,
        options: dict[str, Any],
        *,
        stream: bool,
    ) -> ScriptedChatClient:
        """A one-reply scripted client holding this request's decision."""
        self._calls += 1
        offered = tuple(tools or ())
        request = RecordedRequest(tuple(messages), offered, tool_choice, options, stream)
        self._requests.append(request)
        handoffs = [spec.name for spec in offered if spec.name.startswith(_HANDOFF_PREFIX)]
        chosen = self._choices.choose(f"agent `{self._name}`", ["answer", *handoffs])
        if not chosen:
            return ScriptedChatClient([f"{self._name} answers (reply {self._calls})."])
        call = ToolCall(handoffs[chosen - 1], call_id=f"call_{self._name}_{self._calls}")
        return ScriptedChatClient([call])
