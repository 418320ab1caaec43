"""OpenAIChatClient driven through the real `openai` SDK over HTTP against the scripted test server."""

from __future__ import annotations

import os
import socket
from typing import Any

import openai
import pytest

from executors.agents.client import ChatClient, ToolSpec
from executors.agents.errors import (
    ChatAuthenticationError,
    ChatClientError,
    ChatConnectionError,
    ChatServerError,
    ChatTimeoutError,
    ModelNotFoundError,
    RateLimitError,
)
from executors.agents.messages import (
    ChatMessage,
    ChatResponse,
    ChatResponseUpdate,
    FunctionCallContent,
    FunctionResultContent,
    TextContent,
    UsageDetails,
)
from executors.agents.openai_client import OpenAIChatClient
from tests.support.openai_server import (
    DEFAULT_API_KEY,
    DEFAULT_MODEL,
    BrokenStream,
    Drop,
    Fail,
    Hang,
    Malformed,
    OpenAIServer,
    Reply,
    ToolCall,
)

HELLO = [ChatMessage("user", "hello")]
ADD = ToolSpec(
    name="add",
    description="Add two integers.",
    parameters={
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
        "required": ["a", "b"],
    },
)
LOOKUP = ToolSpec(name="lookup", parameters={"type": "object", "properties": {}})


def client_for(server: OpenAIServer, **settings: Any) -> OpenAIChatClient:
    options: dict[str, Any] = {
        "api_key": DEFAULT_API_KEY,
        "base_url": server.base_url,
        "max_retries": 0,
        "timeout": 5.0,
        **settings,
    }
    return OpenAIChatClient(DEFAULT_MODEL, **options)


async def stream(client: OpenAIChatClient, **kwargs: Any) -> list[ChatResponseUpdate]:
    return [update async for update in client.get_streaming_response(HELLO, **kwargs)]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- responses -------------------------------------------------------------------------------


async def test_get_response_returns_text_usage_finish_reason_and_model(openai_server):
    openai_server.script(Reply(text="Hello there.", input_tokens=21, output_tokens=4))
    async with client_for(openai_server) as client:
        response = await client.get_response(HELLO)
    assert response.messages == (ChatMessage("assistant", "Hello there."),)
    assert response.text == "Hello there."
    assert response.usage == UsageDetails(input_tokens=21, output_tokens=4)
    assert response.finish_reason == "stop"
    assert response.model == DEFAULT_MODEL
    assert openai_server.requests[0]["stream"] is False


async def test_parallel_tool_calls_become_function_calls_with_raw_arguments(openai_server):
    calls = [ToolCall("add", {"a": 1, "b": 2}, id="c1"), ToolCall("lookup", "{}", id="c2")]
    openai_server.script(Reply(tool_calls=calls))
    async with client_for(openai_server) as client:
        response = await client.get_response(HELLO, tools=[ADD, LOOKUP])
    assert response.messages[0].contents == (
        FunctionCallContent(call_id="c1", name="add", arguments='{"a": 1, "b": 2}'),
        FunctionCallContent(call_id="c2", name="lookup", arguments="{}"),
    )
    assert response.text == ""
    assert response.finish_reason == "tool_calls"


async def test_client_satisfies_the_chat_client_protocol(openai_server):
    async with client_for(openai_server) as client:
        assert isinstance(client, ChatClient)
        assert repr(client) == (
            f"OpenAIChatClient(model='{DEFAULT_MODEL}', base_url='{openai_server.base_url}/')"
        )


# --- request conversion ----------------------------------------------------------------------


async def test_request_converts_every_role_call_result_and_author_name(openai_server):
    conversation = [
        ChatMessage("system", "Be brief."),
        ChatMessage("user", "What is 1+2, and who am I?", author_name="Ada Lovelace <ada>"),
        ChatMessage(
            "assistant",
            [
                TextContent(text="Let me check."),
                FunctionCallContent(call_id="c1", name="add", arguments='{"a": 1, "b": 2}'),
                FunctionCallContent(call_id="c2", name="lookup", arguments="{}"),
            ],
            author_name="calculator",
        ),
        ChatMessage(
            "tool",
            [
                FunctionResultContent(call_id="c1", result={"sum": 3}),
                FunctionResultContent(call_id="c2", result="no such user", is_error=True),
            ],
        ),
        ChatMessage("assistant", [FunctionCallContent(call_id="c3", name="add")]),
        ChatMessage("tool", [FunctionResultContent(call_id="c3", result=None)]),
    ]
    openai_server.script(Reply(text="3"))
    async with client_for(openai_server) as client:
        await client.get_response(conversation)
    assert openai_server.requests[0]["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "What is 1+2, and who am I?", "name": "Ada_Lovelace_ada"},
        {
            "role": "assistant",
            "content": "Let me check.",
            "name": "calculator",
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "add", "arguments": '{"a": 1, "b": 2}'},
                },
                {"id": "c2", "type": "function", "function": {"name": "lookup", "arguments": "{}"}},
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": '{"sum":3}'},
        {"role": "tool", "tool_call_id": "c2", "content": "no such user"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c3", "type": "function", "function": {"name": "add", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "c3", "content": "null"},
    ]


async def test_author_name_is_cut_to_the_api_limit_and_dropped_when_nothing_is_left(
    openai_server,
):
    openai_server.script(Reply(text="ok"))
    conversation = [ChatMessage("user", "a", author_name="x" * 80), ChatMessage("user", "b", "??")]
    async with client_for(openai_server) as client:
        await client.get_response(conversation)
    first, second = openai_server.requests[0]["messages"]
    assert first["name"] == "x" * 64
    assert "name" not in second


async def test_request_sends_tools_as_function_schemas(openai_server):
    openai_server.script(Reply(text="ok"))
    async with client_for(openai_server) as client:
        await client.get_response(HELLO, tools=[ADD, LOOKUP])
    request = openai_server.requests[0]
    assert request["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "add",
                "description": "Add two integers.",
                "parameters": ADD.parameters,
            },
        },
        {"type": "function", "function": {"name": "lookup", "parameters": LOOKUP.parameters}},
    ]
    assert "tool_choice" not in request


@pytest.mark.parametrize(
    ("tool_choice", "sent"),
    [
        ("auto", "auto"),
        ("none", "none"),
        ("required", "required"),
        ("lookup", {"type": "function", "function": {"name": "lookup"}}),
    ],
)
async def test_request_maps_tool_choice(openai_server, tool_choice, sent):
    openai_server.script(Reply(text="ok"))
    async with client_for(openai_server) as client:
        await client.get_response(HELLO, tools=[ADD, LOOKUP], tool_choice=tool_choice)
    assert openai_server.requests[0]["tool_choice"] == sent


async def test_auto_or_none_tool_choice_without_tools_is_left_out(openai_server):
    openai_server.script(Reply(text="ok"), Reply(text="ok"))
    async with client_for(openai_server) as client:
        await client.get_response(HELLO, tool_choice="auto")
        await client.get_response(HELLO, tools=[], tool_choice="none")
    assert all("tool_choice" not in r and "tools" not in r for r in openai_server.requests)


async def test_tool_choice_naming_no_tool_is_rejected_before_sending(openai_server):
    async with client_for(openai_server) as client:
        with pytest.raises(ValueError, match=r"tool_choice `search` is not one of .*`add`"):
            await client.get_response(HELLO, tools=[ADD], tool_choice="search")
        with pytest.raises(ValueError, match="tool_choice `required` needs tools"):
            await client.get_response(HELLO, tool_choice="required")
    assert openai_server.requests == []


@pytest.mark.parametrize(
    ("message", "problem"),
    [
        (
            ChatMessage("user", [FunctionCallContent(call_id="c1", name="add")]),
            "message 0 has role `user` but holds `FunctionCallContent`",
        ),
        (
            ChatMessage("assistant", [FunctionResultContent(call_id="c1", result=1)]),
            "message 0 has role `assistant` but holds `FunctionResultContent`",
        ),
        (ChatMessage("tool", "42"), "message 0 has role `tool` but holds `TextContent`"),
    ],
)
async def test_misplaced_contents_are_rejected_before_sending(openai_server, message, problem):
    async with client_for(openai_server) as client:
        with pytest.raises(ValueError, match=problem):
            await client.get_response([message])
    assert openai_server.requests == []


async def test_default_options_are_sent_and_call_options_override_them(openai_server):
    openai_server.script(Reply(text="ok"), Reply(text="ok"))
    async with client_for(openai_server, temperature=0.0, max_tokens=50) as client:
        await client.get_response(HELLO)
        await client.get_response(HELLO, temperature=0.5, model=DEFAULT_MODEL)
    first, second = openai_server.requests
    assert (first["temperature"], first["max_tokens"]) == (0.0, 50)
    assert (second["temperature"], second["max_tokens"]) == (0.5, 50)


async def test_options_the_client_sets_itself_are_rejected(openai_server):
    with pytest.raises(TypeError, match="`stream` cannot be passed as an option"):
        client_for(openai_server, stream=True)
    async with client_for(openai_server) as client:
        with pytest.raises(TypeError, match="`stream`, `stream_options` cannot be passed"):
            await client.get_response(HELLO, stream_options={}, stream=False)


# --- streaming -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        Reply(text="The quick brown fox jumps."),
        Reply(tool_calls=[ToolCall("add", {"a": 10, "b": 20}), ToolCall("lookup", "{}")]),
        Reply(text="Adding.", tool_calls=[ToolCall("add", '{"a": 1, "b": 2}')], fragment_size=1),
    ],
    ids=["text", "parallel-tool-calls", "text-and-tool-call"],
)
async def test_streamed_updates_reassemble_to_the_non_streamed_response(openai_server, reply):
    openai_server.script(reply, reply)
    async with client_for(openai_server) as client:
        whole = await client.get_response(HELLO, tools=[ADD, LOOKUP])
        updates = await stream(client, tools=[ADD, LOOKUP])
    assert ChatResponse.from_updates(updates) == whole
    assert len(updates) > 2  # really streamed in pieces
    request = openai_server.requests[1]
    assert request["stream"] is True
    assert request["stream_options"] == {"include_usage": True}


async def test_streamed_tool_call_arguments_arrive_in_fragments(openai_server):
    openai_server.script(Reply(tool_calls=[ToolCall("add", '{"a": 1, "b": 2}', id="c9")]))
    async with client_for(openai_server) as client:
        updates = await stream(client, tools=[ADD])
    deltas = [delta for update in updates for delta in update.tool_call_deltas]
    assert deltas[0].call_id == "c9"
    assert deltas[0].name == "add"
    assert all(d.index == 0 and d.call_id is None and d.name is None for d in deltas[1:])
    assert "".join(d.arguments for d in deltas) == '{"a": 1, "b": 2}'
    assert len(deltas) > 3


async def test_last_streamed_update_carries_usage(openai_server):
    openai_server.script(Reply(text="Counting tokens.", input_tokens=30, output_tokens=3))
    async with client_for(openai_server) as client:
        updates = await stream(client)
    assert updates[-1].usage == UsageDetails(input_tokens=30, output_tokens=3)
    assert all(update.usage is None for update in updates[:-1])
    assert ChatResponse.from_updates(updates).usage == UsageDetails(
        input_tokens=30, output_tokens=3
    )


# --- error mapping ---------------------------------------------------------------------------


async def test_wrong_api_key_raises_authentication_error(openai_server):
    async with client_for(openai_server, api_key="wrong-key") as client:
        with pytest.raises(ChatAuthenticationError) as caught:
            await client.get_response(HELLO)
    error = caught.value
    assert error.status_code == 401
    assert f"`{openai_server.base_url}/` rejected the API key" in str(error)
    assert "OPENAI_API_KEY" in str(error)
    assert isinstance(error.__cause__, openai.AuthenticationError)


async def test_permission_denied_raises_authentication_error(openai_server):
    openai_server.script(Fail(403, "Project does not have access to this model"))
    async with client_for(openai_server) as client:
        with pytest.raises(ChatAuthenticationError, match=r"denied access to model `test-model`"):
            await client.get_response(HELLO)


async def test_unknown_model_raises_model_not_found(openai_server):
    async with client_for(openai_server) as client:
        with pytest.raises(ModelNotFoundError) as caught:
            await client.get_response(HELLO, model="gpt-nonexistent")
    assert caught.value.status_code == 404
    assert "has no model `gpt-nonexistent`" in str(caught.value)
    assert "The model `gpt-nonexistent` does not exist" in str(caught.value)
    assert isinstance(caught.value.__cause__, openai.NotFoundError)


async def test_rate_limit_raises_after_the_sdk_retries(openai_server):
    openai_server.script(*[Fail(429, "Rate limit reached", "requests", "rate_limit_exceeded")] * 3)
    async with client_for(openai_server, max_retries=2) as client:
        with pytest.raises(RateLimitError) as caught:
            await client.get_response(HELLO)
    assert len(openai_server.requests) == 3  # max_retries + 1 attempts
    assert caught.value.status_code == 429
    assert "kept rate-limiting model `test-model` after 2 retries" in str(caught.value)
    assert "Rate limit reached" in str(caught.value)
    assert isinstance(caught.value.__cause__, openai.RateLimitError)


async def test_a_retry_that_succeeds_hides_the_rate_limit(openai_server):
    openai_server.script(Fail(429), Reply(text="finally"))
    async with client_for(openai_server, max_retries=1) as client:
        response = await client.get_response(HELLO)
    assert response.text == "finally"
    assert len(openai_server.requests) == 2


@pytest.mark.parametrize("status", [500, 503])
async def test_server_errors_raise_chat_server_error_after_retries(openai_server, status):
    openai_server.script(*[Fail(status, "The server had an error")] * 2)
    async with client_for(openai_server, max_retries=1) as client:
        with pytest.raises(ChatServerError) as caught:
            await client.get_response(HELLO)
    assert caught.value.status_code == status
    assert f"failed to serve model `test-model` after 1 retry ({status}: The server" in str(
        caught.value
    )
    assert len(openai_server.requests) == 2


async def test_other_client_errors_carry_the_server_message(openai_server):
    openai_server.script(Fail(400, "'messages' must not be empty", "invalid_request_error"))
    async with client_for(openai_server) as client:
        with pytest.raises(ChatClientError) as caught:
            await client.get_response(HELLO)
    assert type(caught.value) is ChatClientError
    assert caught.value.status_code == 400
    assert str(caught.value) == (
        f"`{openai_server.base_url}/` rejected the request for model `test-model` "
        "(400: 'messages' must not be empty)."
    )


async def test_a_server_that_does_not_answer_in_time_raises_chat_timeout_error(openai_server):
    openai_server.script(Hang(seconds=10))
    async with client_for(openai_server, timeout=0.2) as client:
        with pytest.raises(ChatTimeoutError) as caught:
            await client.get_response(HELLO)
    assert "did not answer model `test-model` within the timeout (0.2 s)" in str(caught.value)
    assert openai_server.base_url in str(caught.value)
    assert caught.value.status_code is None
    assert isinstance(caught.value.__cause__, openai.APITimeoutError)


@pytest.mark.parametrize("streaming", [False, True], ids=["whole", "streamed"])
async def test_nothing_listening_raises_chat_connection_error(streaming):
    base_url = f"http://127.0.0.1:{closed_port()}/v1"
    async with OpenAIChatClient(
        DEFAULT_MODEL, api_key=DEFAULT_API_KEY, base_url=base_url, max_retries=0
    ) as client:
        with pytest.raises(ChatConnectionError) as caught:
            if streaming:
                await stream(client)
            else:
                await client.get_response(HELLO)
    message = str(caught.value)
    assert f"could not connect to `{base_url}/` for model `test-model`" in message
    assert "check that the server is running" in message
    assert isinstance(caught.value.__cause__, openai.APIConnectionError)


async def test_a_dropped_connection_raises_chat_connection_error(openai_server):
    openai_server.script(Drop())
    async with client_for(openai_server) as client:
        with pytest.raises(ChatConnectionError, match="Server disconnected without sending"):
            await client.get_response(HELLO)


async def test_an_error_status_on_a_streaming_request_is_mapped(openai_server):
    async with client_for(openai_server) as client:
        with pytest.raises(ModelNotFoundError, match="has no model `gpt-missing`"):
            await stream(client, model="gpt-missing")


async def test_an_error_event_mid_stream_raises_chat_client_error(openai_server):
    openai_server.script(BrokenStream(text="partial answer", message="The model overloaded"))
    received: list[ChatResponseUpdate] = []
    async with client_for(openai_server) as client:
        with pytest.raises(ChatClientError) as caught:
            async for update in client.get_streaming_response(HELLO):
                received.append(update)
    assert "".join(update.text for update in received) == "partial answer"
    assert str(caught.value) == (
        f"`{openai_server.base_url}/` reported an error while streaming model `test-model`: "
        "The model overloaded."
    )
    assert isinstance(caught.value.__cause__, openai.APIError)


async def test_a_connection_cut_mid_stream_raises_chat_connection_error(openai_server):
    openai_server.script(BrokenStream(text="partial answer", message=None))
    async with client_for(openai_server) as client:
        with pytest.raises(ChatConnectionError) as caught:
            await stream(client)
    assert "lost the connection while streaming to" in str(caught.value)
    assert "model `test-model`" in str(caught.value)


# --- malformed output ------------------------------------------------------------------------


@pytest.mark.parametrize("streaming", [False, True], ids=["whole", "streamed"])
async def test_invalid_json_arguments_are_passed_through_raw(openai_server, streaming):
    openai_server.script(Reply(tool_calls=[ToolCall("add", '{"a": 1, "b": ', id="c1")]))
    async with client_for(openai_server) as client:
        if streaming:
            response = ChatResponse.from_updates(await stream(client, tools=[ADD]))
        else:
            response = await client.get_response(HELLO, tools=[ADD])
    assert response.messages[0].function_calls == (
        FunctionCallContent(call_id="c1", name="add", arguments='{"a": 1, "b": '),
    )


@pytest.mark.parametrize("streaming", [False, True], ids=["whole", "streamed"])
async def test_empty_choices_raise_chat_client_error(openai_server, streaming):
    openai_server.script(Malformed({"id": "x", "object": "chat.completion", "choices": []}))
    async with client_for(openai_server) as client:
        with pytest.raises(
            ChatClientError, match="(returned|streamed) no choices for model `test-model`"
        ) as caught:
            if streaming:
                await stream(client)
            else:
                await client.get_response(HELLO)
    assert openai_server.base_url in str(caught.value)


async def test_a_choice_without_content_gives_an_empty_assistant_message(openai_server):
    openai_server.script(Malformed({"choices": [{"index": 0, "message": {"role": "assistant"}}]}))
    async with client_for(openai_server) as client:
        response = await client.get_response(HELLO)
    assert response.messages == (ChatMessage("assistant"),)
    assert response.usage is None


@pytest.mark.parametrize("streaming", [False, True], ids=["whole", "streamed"])
async def test_a_body_that_is_not_json_raises_chat_client_error(openai_server, streaming):
    openai_server.script(Malformed("<html>gateway</html>"))
    async with client_for(openai_server) as client:
        with pytest.raises(ChatClientError, match="in a form the client cannot read") as caught:
            if streaming:
                await stream(client)
            else:
                await client.get_response(HELLO)
    assert "model `test-model`" in str(caught.value)


@pytest.mark.parametrize(
    ("body", "streaming"),
    [
        ({"choices": [{"index": 0, "message": {"content": ["not", "text"]}}]}, False),
        ({"choices": [{"index": 0, "delta": {"content": ["not", "text"]}}]}, True),
        ({"choices": [None]}, False),
        ({"choices": [None]}, True),
        ([1, 2], True),
    ],
    ids=["list-content", "list-delta", "null-choice", "null-streamed-choice", "list-chunk"],
)
async def test_fields_of_the_wrong_shape_raise_chat_client_error(openai_server, body, streaming):
    openai_server.script(Malformed(body))
    async with client_for(openai_server) as client:
        with pytest.raises(ChatClientError, match="in a form the client cannot read") as caught:
            if streaming:
                await stream(client)
            else:
                await client.get_response(HELLO)
    assert type(caught.value) is ChatClientError
    assert "model `test-model`" in str(caught.value)


# --- configuration ---------------------------------------------------------------------------


async def test_key_and_base_url_come_from_the_environment(openai_server, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", DEFAULT_API_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", openai_server.base_url)
    openai_server.script(Reply(text="from env"))
    async with OpenAIChatClient(DEFAULT_MODEL, max_retries=0) as client:
        assert client.base_url == openai_server.base_url + "/"
        response = await client.get_response(HELLO)
    assert response.text == "from env"


@pytest.mark.parametrize("api_key", [None, ""])
def test_a_missing_api_key_raises_authentication_error(monkeypatch, api_key):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ChatAuthenticationError) as caught:
        OpenAIChatClient("gpt-4o-mini", api_key=api_key)
    message = str(caught.value)
    assert "no OpenAI API key for model `gpt-4o-mini`" in message
    assert "set the OPENAI_API_KEY environment variable or pass `api_key=`" in message


def test_a_model_is_required():
    with pytest.raises(ValueError, match="`model` must name a model"):
        OpenAIChatClient("", api_key="k")


async def test_a_given_sdk_client_is_used_and_left_open(openai_server):
    sdk = openai.AsyncOpenAI(api_key=DEFAULT_API_KEY, base_url=openai_server.base_url)
    openai_server.script(Reply(text="shared"))
    async with OpenAIChatClient(DEFAULT_MODEL, client=sdk) as client:
        assert (await client.get_response(HELLO)).text == "shared"
    assert not sdk.is_closed()
    await sdk.close()


async def test_aclose_closes_the_sdk_client_it_created(openai_server):
    client = client_for(openai_server)
    sdk = client._client
    await client.aclose()
    assert sdk.is_closed()


async def test_a_given_sdk_client_excludes_connection_settings():
    sdk = openai.AsyncOpenAI(api_key="k", base_url="http://127.0.0.1:9/v1")
    try:
        with pytest.raises(ValueError, match="pass either `client` or `api_key`, `timeout`"):
            OpenAIChatClient(DEFAULT_MODEL, client=sdk, api_key="k", timeout=1.0)
    finally:
        await sdk.close()


# --- the real thing --------------------------------------------------------------------------


@pytest.mark.skipif(
    not os.environ.get("OPENAI_API_KEY"),
    reason="OPENAI_API_KEY is not set; this test talks to a real OpenAI account",
)
async def test_real_openai_api_answers_and_streams():
    model = os.environ.get("BATON_OPENAI_TEST_MODEL", "gpt-4o-mini")
    prompt = [ChatMessage("user", "Reply with the single word: pong")]
    async with OpenAIChatClient(model, timeout=30.0, max_tokens=5) as client:
        response = await client.get_response(prompt)
        updates = [u async for u in client.get_streaming_response(prompt)]
    assert "pong" in response.text.lower()
    assert response.usage is not None and response.usage.input_tokens > 0
    streamed = ChatResponse.from_updates(updates)
    assert "pong" in streamed.text.lower()
    assert streamed.usage is not None and streamed.usage.output_tokens > 0


# --- the test server itself ------------------------------------------------------------------


async def test_the_test_server_reports_a_script_that_ran_out():
    with OpenAIServer() as server:
        async with client_for(server, max_retries=2) as client:
            with pytest.raises(
                ChatServerError, match="request #1 arrived after the script ran out"
            ):
                await client.get_response(HELLO)
    assert len(server.requests) == 1  # `x-should-retry: false` stops the SDK's retries
    with pytest.raises(AssertionError, match="the OpenAI test server saw problems"):
        server.check()
