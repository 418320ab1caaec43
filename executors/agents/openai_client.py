"""`OpenAIChatClient`: the `ChatClient` protocol on the official `openai` SDK's Chat Completions API.

It talks to api.openai.com or any OpenAI-compatible server (`base_url`). Retries and timeouts are the
SDK's own; the SDK's exceptions, and transport failures in the middle of a stream, are mapped onto the
`ChatClientError` tree with messages that name the server and the model.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Sequence
from types import TracebackType
from typing import Any, Self

import httpx
import openai
import structlog
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from executors.agents._openai_convert import (
    response_from_completion,
    to_openai_messages,
    to_openai_tool_choice,
    to_openai_tools,
    update_from_chunk,
)
from executors.agents.client import ToolChoice, ToolSpec
from executors.agents.errors import (
    ChatAuthenticationError,
    ChatClientError,
    ChatConnectionError,
    ChatServerError,
    ChatTimeoutError,
    ModelNotFoundError,
    RateLimitError,
)
from executors.agents.messages import ChatMessage, ChatResponse, ChatResponseUpdate

__all__ = ["OpenAIChatClient"]

logger = structlog.get_logger(__name__)

_RESERVED_OPTIONS = frozenset({"messages", "tools", "tool_choice", "stream", "stream_options"})
_TRANSPORT_ERRORS = (openai.OpenAIError, httpx.HTTPError, json.JSONDecodeError)
"""What the SDK call can raise: its own exceptions, httpx's mid-stream, and unparsable stream events."""
_SHAPE_ERRORS = (AttributeError, TypeError, ValueError)
"""What reading a reply of unexpected shape can raise (pydantic's `ValidationError` is a `ValueError`)."""


class OpenAIChatClient:
    """A `ChatClient` for OpenAI's Chat Completions API and the servers that speak it.

    ``OpenAIChatClient("gpt-4o-mini")`` reads `OPENAI_API_KEY` and `OPENAI_BASE_URL` like the SDK does.
    Extra keyword arguments (``temperature=0``, ``max_tokens=200``) are sent with every request; the same
    keywords passed to `get_response` override them for one call, and so may ``model=``.

    Pass `client` to reuse an `openai.AsyncOpenAI` you configured yourself; it stays yours to close.
    Otherwise this client creates one and closes it in `aclose` (or at the end of ``async with``).
    """

    def __init__(
        self,
        model: str,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        client: openai.AsyncOpenAI | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        **default_options: Any,
    ) -> None:
        if not model:
            raise ValueError("`model` must name a model, e.g. `gpt-4o-mini`.")
        _check_options(default_options)
        self.model = model
        """The model every request uses unless a call passes ``model=``."""
        self.default_options: dict[str, Any] = dict(default_options)
        """Options sent with every request (``temperature``, ``max_tokens``, ...)."""
        if client is not None:
            given = [
                name
                for name, value in [
                    ("api_key", api_key),
                    ("base_url", base_url),
                    ("timeout", timeout),
                    ("max_retries", max_retries),
                ]
                if value is not None
            ]
            if given:
                raise ValueError(
                    f"pass either `client` or {', '.join(f'`{n}`' for n in given)}, not both; "
                    "configure the `openai.AsyncOpenAI` you pass instead."
                )
            self._client, self._owns_client = client, False
            return
        key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        if not key:
            raise ChatAuthenticationError(
                f"no OpenAI API key for model `{model}`: set the OPENAI_API_KEY environment variable "
                "or pass `api_key=` (any non-empty string for a local server that ignores keys)."
            )
        settings: dict[str, Any] = {"api_key": key, "base_url": base_url}
        if timeout is not None:
            settings["timeout"] = timeout
        if max_retries is not None:
            settings["max_retries"] = max_retries
        self._client, self._owns_client = openai.AsyncOpenAI(**settings), True

    @property
    def base_url(self) -> str:
        """The server's base URL, e.g. ``https://api.openai.com/v1/``."""
        return str(self._client.base_url)

    async def get_response(
        self,
        messages: Sequence[ChatMessage],
        *,
        tools: Sequence[ToolSpec] | None = None,
        tool_choice: ToolChoice | None = None,
        **options: Any,
    ) -> ChatResponse:
        """Send the conversation and return the model's reply (the first choice)."""
        request = self._request(messages, tools, tool_choice, options)
        try:
            completion = await self._client.chat.completions.create(stream=False, **request)
        except _TRANSPORT_ERRORS as exc:
            raise self._map_error(exc, request["model"], mid_stream=False) from exc
        if not isinstance(completion, ChatCompletion) or not completion.choices:
            raise ChatClientError(
                f"`{self.base_url}` returned no choices for model `{request['model']}`; "
                "the server sent an empty or malformed completion."
            )
        try:
            response = response_from_completion(completion)
        except _SHAPE_ERRORS as exc:
            raise self._unreadable(request["model"], str(exc)) from exc
        logger.debug(
            "chat_response_received", model=request["model"], finish_reason=response.finish_reason
        )
        return response

    async def get_streaming_response(
        self,
        messages: Sequence[ChatMessage],
        *,
        tools: Sequence[ToolSpec] | None = None,
        tool_choice: ToolChoice | None = None,
        **options: Any,
    ) -> AsyncIterator[ChatResponseUpdate]:
        """Send the conversation and yield the first choice's text and tool-call deltas as they come.

        The last update carries the token usage (the request asks for it with ``stream_options``).
        """
        request = self._request(messages, tools, tool_choice, options)
        has_choices = started = False
        finish_reason: str | None = None
        try:
            stream = await self._client.chat.completions.create(
                stream=True, stream_options={"include_usage": True}, **request
            )
            started = True
            async with stream:
                async for chunk in stream:
                    if not isinstance(chunk, ChatCompletionChunk):
                        raise self._unreadable(request["model"], f"a chunk was {chunk!r:.80}")
                    has_choices = has_choices or bool(chunk.choices)
                    try:
                        update = update_from_chunk(chunk)
                    except _SHAPE_ERRORS as exc:
                        raise self._unreadable(request["model"], str(exc)) from exc
                    if update is not None:
                        finish_reason = update.finish_reason or finish_reason
                        yield update
        except _TRANSPORT_ERRORS as exc:
            raise self._map_error(exc, request["model"], mid_stream=started) from exc
        if not has_choices:
            raise ChatClientError(
                f"`{self.base_url}` streamed no choices for model `{request['model']}`; "
                "the server sent an empty or malformed stream."
            )
        logger.debug("chat_stream_completed", model=request["model"], finish_reason=finish_reason)

    async def aclose(self) -> None:
        """Close the underlying `openai.AsyncOpenAI`, if this client created it."""
        if self._owns_client:
            await self._client.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"OpenAIChatClient(model={self.model!r}, base_url={self.base_url!r})"

    def _request(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[ToolSpec] | None,
        tool_choice: ToolChoice | None,
        options: dict[str, Any],
    ) -> dict[str, Any]:
        """The keyword arguments of `chat.completions.create`, except `stream` and its options."""
        _check_options(options)
        request: dict[str, Any] = {"model": self.model, **self.default_options, **options}
        request["messages"] = to_openai_messages(messages)
        if tools:
            request["tools"] = to_openai_tools(tools)
        choice = to_openai_tool_choice(tool_choice, tools or ())
        if choice is not None:
            request["tool_choice"] = choice
        logger.debug(
            "chat_request_prepared",
            model=request["model"],
            messages=len(request["messages"]),
            tools=len(tools or ()),
        )
        return request

    def _map_error(self, exc: Exception, model: str, *, mid_stream: bool) -> ChatClientError:
        """Translate an SDK or transport exception into the matching `ChatClientError`.

        The SDK retries a request, never a stream that broke after it started.
        """
        where = f"`{self.base_url}`"
        retries = "" if mid_stream else _describe_retries(self._client.max_retries)
        if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException):
            return ChatTimeoutError(
                f"{where} did not answer model `{model}` within the timeout "
                f"({_describe_timeout(self._client.timeout)}){retries}; raise `timeout=` or check "
                "that the server is not overloaded."
            )
        if isinstance(exc, openai.APIConnectionError | httpx.TransportError):
            cause = exc.__cause__ or exc
            during = "lost the connection while streaming" if mid_stream else "could not connect"
            return ChatConnectionError(
                f"{during} to {where} for model `{model}` ({cause}){retries}; check that the "
                "server is running and that `base_url` (or OPENAI_BASE_URL) is right."
            )
        if isinstance(exc, openai.APIStatusError):
            return _map_status_error(exc, where, model, retries)
        if isinstance(exc, openai.APIError):
            return ChatClientError(
                f"{where} reported an error while streaming model `{model}`: "
                f"{_server_message(exc)}."
            )
        return self._unreadable(model, str(exc))

    def _unreadable(self, model: str, detail: str) -> ChatClientError:
        return ChatClientError(
            f"`{self.base_url}` sent model `{model}`'s reply in a form the client cannot read "
            f"({detail}); check that the server is OpenAI-compatible."
        )


def _map_status_error(
    exc: openai.APIStatusError, where: str, model: str, retries: str
) -> ChatClientError:
    status = exc.status_code
    detail = f"{status}: {_server_message(exc)}"
    if isinstance(exc, openai.AuthenticationError):
        return ChatAuthenticationError(
            f"{where} rejected the API key for model `{model}` ({detail}); set OPENAI_API_KEY or "
            "pass `api_key=` with a key this server accepts.",
            status_code=status,
        )
    if isinstance(exc, openai.PermissionDeniedError):
        return ChatAuthenticationError(
            f"{where} denied access to model `{model}` ({detail}); use an API key whose "
            "organization and project may use this model.",
            status_code=status,
        )
    if isinstance(exc, openai.NotFoundError):
        return ModelNotFoundError(
            f"{where} has no model `{model}` ({detail}); check the model name, and that "
            "`base_url` points at an OpenAI-compatible `/v1` endpoint.",
            status_code=status,
        )
    if isinstance(exc, openai.RateLimitError):
        return RateLimitError(
            f"{where} kept rate-limiting model `{model}`{retries} ({detail}); lower the request "
            "rate, check the account's quota, or raise `max_retries=`.",
            status_code=status,
        )
    if status >= 500:
        return ChatServerError(
            f"{where} failed to serve model `{model}`{retries} ({detail}); the server is in "
            "trouble, try again later.",
            status_code=status,
        )
    return ChatClientError(
        f"{where} rejected the request for model `{model}` ({detail}).", status_code=status
    )


def _server_message(exc: openai.APIError) -> str:
    """The `error.message` the server sent, else the SDK's own message."""
    body = exc.body
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])
    return exc.message


def _describe_retries(count: int) -> str:
    return "" if count == 0 else f" after {count} {'retry' if count == 1 else 'retries'}"


def _describe_timeout(timeout: float | httpx.Timeout | None) -> str:
    if isinstance(timeout, httpx.Timeout):
        return f"read {timeout.read} s, connect {timeout.connect} s"
    return "none" if timeout is None else f"{timeout:g} s"


def _check_options(options: dict[str, Any]) -> None:
    reserved = sorted(_RESERVED_OPTIONS & options.keys())
    if reserved:
        raise TypeError(
            f"{', '.join(f'`{name}`' for name in reserved)} cannot be passed as an option; the "
            "client sets it (pass messages, `tools=` and `tool_choice=` as arguments)."
        )
