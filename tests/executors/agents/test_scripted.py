from __future__ import annotations

import pytest

from executors.agents import (
    ChatClient,
    ChatMessage,
    ChatResponse,
    ChatResponseUpdate,
    FunctionCallContent,
    FunctionResultContent,
    ScriptedChatClient,
    ScriptExhaustedError,
    TextContent,
    ToolCall,
    ToolCallDelta,
    ToolSpec,
    UsageDetails,
)

USER = [ChatMessage("user", "where is my order?")]
SPEC = ToolSpec(name="lookup", parameters={"type": "object", "properties": {}})


async def collect(
    client: ScriptedChatClient, messages: list[ChatMessage]
) -> list[ChatResponseUpdate]:
    return [update async for update in client.get_streaming_response(messages)]


def test_it_is_a_chat_client() -> None:
    assert isinstance(ScriptedChatClient([]), ChatClient)


async def test_replies_come_in_script_order_in_every_form() -> None:
    given = ChatResponse(
        messages=(ChatMessage("assistant", "given"),), usage=UsageDetails(input_tokens=7)
    )
    client = ScriptedChatClient(
        [
            "plain text",
            ChatMessage("assistant", "a message"),
            given,
            ToolCall("lookup", {"order_id": "A7"}),
            ["Checking both.", ToolCall("a", call_id="mine"), ToolCall("b", '{"x": 1}')],
        ]
    )
    replies = [(await client.get_response(USER)).messages[0] for _ in range(5)]
    assert [r.text for r in replies[:3]] == ["plain text", "a message", "given"]
    assert replies[3].contents == (
        FunctionCallContent(call_id="call_3_0", name="lookup", arguments='{"order_id": "A7"}'),
    )
    assert replies[4].contents == (
        TextContent(text="Checking both."),
        FunctionCallContent(call_id="mine", name="a", arguments="{}"),
        FunctionCallContent(call_id="call_4_2", name="b", arguments='{"x": 1}'),
    )
    client.assert_complete()


async def test_replies_report_deterministic_usage_and_finish_reason() -> None:
    client = ScriptedChatClient(["two words", ToolCall("lookup", {"q": "x"})])
    first = await client.get_response([ChatMessage("user", "three words here")])
    second = await client.get_response(USER)
    assert first.usage == UsageDetails(input_tokens=3, output_tokens=2)
    assert (first.finish_reason, second.finish_reason) == ("stop", "tool_calls")
    assert first.model == "scripted"


async def test_every_request_is_recorded() -> None:
    client = ScriptedChatClient(["one", "two"])
    await client.get_response(USER, tools=[SPEC], tool_choice="required", temperature=0.0)
    await collect(client, [*USER, ChatMessage("assistant", "one")])
    first, second = client.requests
    assert first.messages == tuple(USER)
    assert first.tools == (SPEC,) and first.tool_names == ("lookup",)
    assert first.tool_choice == "required"
    assert first.options == {"temperature": 0.0}
    assert first.stream is False
    assert second.stream is True and second.tools == () and second.tool_choice is None
    assert second.messages[-1].text == "one"


async def test_running_out_of_replies_says_how_many_there_were_and_what_was_asked() -> None:
    client = ScriptedChatClient(["only"])
    await client.get_response(USER)
    with pytest.raises(ScriptExhaustedError) as caught:
        await client.get_response([ChatMessage("user", "and my refund?")])
    assert str(caught.value) == (
        "ScriptedChatClient ran out of replies: its script had 1 and request 2 asked for another "
        "(the last user message was 'and my refund?'). Add a reply to the script, or check why the "
        "code made more model calls than expected."
    )


async def test_streaming_also_runs_out() -> None:
    with pytest.raises(ScriptExhaustedError, match="there was no user message"):
        await collect(ScriptedChatClient([]), [])


async def test_assert_complete_names_the_unused_replies() -> None:
    client = ScriptedChatClient(["used", ToolCall("lookup"), "later"])
    await client.get_response(USER)
    assert client.remaining == 2
    with pytest.raises(AssertionError) as caught:
        client.assert_complete()
    assert str(caught.value) == (
        "ScriptedChatClient used 1 of 3 replies; 2 left unused (next: calls lookup). The code under "
        "test made fewer model calls than the script expects."
    )


async def test_streaming_splits_text_per_word_and_calls_into_fragments() -> None:
    client = ScriptedChatClient(
        [["Let me check that.", ToolCall("lookup", {"order_id": "A7-2077"}, call_id="c1")]]
    )
    updates = await collect(client, USER)
    assert [u.text for u in updates[:4]] == ["Let ", "me ", "check ", "that."]
    deltas = [d for u in updates for d in u.tool_call_deltas]
    assert deltas[0] == ToolCallDelta(index=0, call_id="c1", name="lookup")
    assert all(d.name is None and d.call_id is None for d in deltas[1:])
    assert len(deltas) == 4  # '{"order_id": "A7-2077"}' arrives in three chunks
    assert "".join(d.arguments for d in deltas) == '{"order_id": "A7-2077"}'
    assert updates[-1].usage == UsageDetails(input_tokens=4, output_tokens=6)
    assert updates[-1].finish_reason == "tool_calls"
    whole = ChatResponse.from_updates(updates)
    assert whole.messages[0].contents == (
        TextContent(text="Let me check that."),
        FunctionCallContent(call_id="c1", name="lookup", arguments='{"order_id": "A7-2077"}'),
    )


async def test_parallel_calls_stream_with_their_own_indexes() -> None:
    client = ScriptedChatClient([[ToolCall("a", {"n": 1}), ToolCall("b", {"n": 2})]])
    whole = ChatResponse.from_updates(await collect(client, USER))
    assert [(c.call_id, c.name, c.arguments) for c in whole.messages[0].function_calls] == [
        ("call_0_0", "a", '{"n": 1}'),
        ("call_0_1", "b", '{"n": 2}'),
    ]


def test_script_mistakes_are_caught_when_the_client_is_made() -> None:
    with pytest.raises(
        TypeError, match=r"wrap a single reply in a list: ScriptedChatClient\(\[reply\]\)"
    ):
        ScriptedChatClient("hello")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="scripted reply 0 is a 'user' message"):
        ScriptedChatClient([ChatMessage("user", "hi")])
    with pytest.raises(TypeError, match="scripted reply 1 has a part of type int"):
        ScriptedChatClient(["fine", ["text", 3]])  # type: ignore[list-item]


async def test_rules_match_the_latest_user_message_by_keyword_in_rule_order() -> None:
    client = ScriptedChatClient.from_rules(
        {"refund": "Refunds take 5 days.", "order": "Orders ship in 2 days."},
        default="Ask me about orders or refunds.",
    )

    async def reply(*texts: str) -> str:
        messages = [ChatMessage("user", t) for t in texts]
        return (await client.get_response(messages)).text

    assert await reply("Where is my ORDER?") == "Orders ship in 2 days."
    assert await reply("a refund for my order") == "Refunds take 5 days."  # first rule wins
    assert await reply("refund please", "hello") == "Ask me about orders or refunds."
    assert await reply("hello", "my order") == "Orders ship in 2 days."
    assert len(client.requests) == 4
    assert client.remaining == 0
    client.assert_complete()  # rules never run out


async def test_rules_without_a_default_list_their_keywords() -> None:
    client = ScriptedChatClient.from_rules({"refund": "ok", "order": "ok"})
    assert (
        await client.get_response(USER[:0])
    ).text == "(no scripted reply; keywords: refund, order)"


async def test_a_rule_that_calls_a_tool_answers_with_the_tool_result_afterwards() -> None:
    client = ScriptedChatClient.from_rules({"order": ToolCall("lookup", {"order_id": "A7"})})
    first = await client.get_response(USER)
    (call,) = first.messages[0].function_calls
    results = ChatMessage(
        "tool",
        [
            FunctionResultContent(call_id=call.call_id, result="Order A7 ships Friday."),
            FunctionResultContent(call_id="other", result={"eta": 3}),
        ],
    )
    second = await client.get_response([*USER, first.messages[0], results])
    assert second.text == 'Order A7 ships Friday.\n{"eta": 3}'


def test_from_rules_needs_a_rule() -> None:
    with pytest.raises(ValueError, match="from_rules needs at least one keyword rule"):
        ScriptedChatClient.from_rules({})
