from __future__ import annotations

import asyncio
import dataclasses
import json

import pytest

from executors.agents import (
    Agent,
    AgentResponse,
    AgentResponseUpdate,
    ChatMessage,
    ExtraTools,
    FunctionCallContent,
    FunctionResultContent,
    ScriptedChatClient,
    TextContent,
    ToolCall,
    ToolLoopLimitError,
    ToolSpec,
    UsageDetails,
    tool,
)

started: list[str] = []


@tool
async def get_weather(city: str) -> str:
    """The weather in a city.

    Args:
        city: The city's name.
    """
    started.append(city)
    await asyncio.sleep(0.01 if city == "Oslo" else 0)  # the first call finishes last
    return f"sunny in {city}"


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def make_agent(client: ScriptedChatClient, /, **changes: object) -> Agent:
    agent = Agent(client, name="helper", instructions="Be brief.", tools=[get_weather, add])
    return agent.replace(**changes) if changes else agent


def results_of(message: ChatMessage) -> list[FunctionResultContent]:
    assert message.role == "tool"
    return [c for c in message.contents if isinstance(c, FunctionResultContent)]


async def test_a_plain_reply_ends_the_turn() -> None:
    client = ScriptedChatClient(["Hello!"])
    response = await make_agent(client).run("hi")
    assert response.text == "Hello!"
    assert response.messages == (ChatMessage("assistant", "Hello!", author_name="helper"),)
    assert response.usage == UsageDetails(input_tokens=3, output_tokens=1)
    (request,) = client.requests
    assert request.messages == (ChatMessage("system", "Be brief."), ChatMessage("user", "hi"))
    assert request.tool_names == ("get_weather", "add")
    client.assert_complete()


async def test_empty_instructions_send_no_system_message() -> None:
    client = ScriptedChatClient(["ok"])
    await make_agent(client, instructions="").run(ChatMessage("user", "hi"))
    assert [m.role for m in client.requests[0].messages] == ["user"]


async def test_tool_loop_runs_several_tools_and_feeds_results_back() -> None:
    client = ScriptedChatClient(
        [
            ToolCall("add", {"a": 2, "b": 3}, call_id="c1"),
            ToolCall("get_weather", {"city": "Rome"}, call_id="c2"),
            "5, and sunny in Rome.",
        ]
    )
    response = await make_agent(client).run([ChatMessage("user", "2+3, and Rome?")])
    assert [m.role for m in response.messages] == [
        "assistant",
        "tool",
        "assistant",
        "tool",
        "assistant",
    ]
    assert all(m.author_name == "helper" for m in response.messages if m.role == "assistant")
    assert results_of(response.messages[1]) == [FunctionResultContent(call_id="c1", result=5)]
    assert results_of(response.messages[3]) == [
        FunctionResultContent(call_id="c2", result="sunny in Rome")
    ]
    assert response.text == "5, and sunny in Rome."
    assert response.usage.input_tokens == sum(
        len(" ".join([m.text, *(c.arguments for c in m.function_calls)]).split())
        for r in client.requests
        for m in r.messages
    )
    third = client.requests[2].messages
    assert third[2:] == response.messages[:4]  # the model saw every call and result
    client.assert_complete()


async def test_parallel_calls_run_concurrently_and_results_keep_call_order() -> None:
    started.clear()
    client = ScriptedChatClient(
        [
            [
                ToolCall("get_weather", {"city": "Oslo"}, call_id="slow"),
                ToolCall("get_weather", {"city": "Rome"}, call_id="fast"),
                ToolCall("add", {"a": 1, "b": 1}, call_id="sync"),
            ],
            "done",
        ]
    )
    response = await make_agent(client).run("weather?")
    assert started == ["Oslo", "Rome"]
    assert [(r.call_id, r.result) for r in results_of(response.messages[1])] == [
        ("slow", "sunny in Oslo"),
        ("fast", "sunny in Rome"),
        ("sync", 2),
    ]


async def test_parallel_tools_overlap_in_time() -> None:
    both_running = asyncio.Barrier(2)

    @tool
    async def meet(who: str) -> str:
        """Wait for the other call."""
        await asyncio.wait_for(both_running.wait(), timeout=5)  # sequential calls would time out
        return who

    client = ScriptedChatClient(
        [[ToolCall("meet", {"who": "a"}), ToolCall("meet", {"who": "b"})], "ok"]
    )
    response = await Agent(client, name="m", instructions="", tools=[meet]).run("go")
    assert [r.result for r in results_of(response.messages[1])] == ["a", "b"]


async def test_model_mistakes_become_error_results_and_the_loop_goes_on() -> None:
    @tool
    def fragile(n: int) -> int:
        """Divide 10 by n."""
        return 10 // n

    client = ScriptedChatClient(
        [
            [
                ToolCall("transfer_money", {"to": "me"}, call_id="unknown"),
                ToolCall("fragile", '{"n": ', call_id="bad_json"),
                ToolCall("fragile", {"n": "zero"}, call_id="invalid"),
                ToolCall("fragile", {"n": 0}, call_id="raises"),
            ],
            ToolCall("fragile", {"n": 5}, call_id="fixed"),
            "10 // 5 is 2.",
        ]
    )
    agent = Agent(client, name="calc", instructions="", tools=[fragile])
    response = await agent.run("divide")
    errors = results_of(response.messages[1])
    assert [(e.call_id, e.is_error) for e in errors] == [
        ("unknown", True),
        ("bad_json", True),
        ("invalid", True),
        ("raises", True),
    ]
    assert errors[0].result.startswith(
        "Error: there is no tool named `transfer_money`; the available tools are: `fragile`."
    )
    assert "are not valid JSON" in errors[1].result
    assert (
        "invalid arguments for `fragile`: `n`: Input should be a valid integer" in errors[2].result
    )
    assert "the tool `fragile` failed: ZeroDivisionError" in errors[3].result
    assert results_of(response.messages[3]) == [FunctionResultContent(call_id="fixed", result=2)]
    assert response.text == "10 // 5 is 2."


async def test_too_many_tool_rounds_raise_with_what_to_do() -> None:
    client = ScriptedChatClient([ToolCall("add", {"a": 1, "b": i}) for i in range(3)])
    agent = make_agent(client, max_tool_iterations=2)
    with pytest.raises(ToolLoopLimitError) as caught:
        await agent.run("loop")
    assert str(caught.value) == (
        "agent `helper` asked for tool calls in more than 2 rounds of one turn (the last asked for "
        "`add`); the model may be looping. Raise `max_tool_iterations` if the task needs more "
        "rounds, or make the tools' results and the instructions tell the model when it is done."
    )
    client.assert_complete()  # the third reply was received but its calls never ran


async def test_run_stream_reassembles_text_and_tool_call_deltas() -> None:
    script = [
        ["Let me add.", ToolCall("add", {"a": 20, "b": 22}, call_id="c1")],
        "The answer is 42.",
    ]
    streamed_client = ScriptedChatClient(script)
    stream = make_agent(streamed_client).run_stream("20+22?")
    updates = [update async for update in stream]
    assert {u.agent_name for u in updates} == {"helper"}
    first_text = "".join(u.text for u in updates if u.reply_index == 0)
    second_text = "".join(u.text for u in updates if u.reply_index == 1)
    assert (first_text, second_text) == ("Let me add.", "The answer is 42.")
    assert len([u for u in updates if u.text]) == 7  # one update per word
    deltas = [d for u in updates for d in u.tool_call_deltas]
    assert len(deltas) > 2 and deltas[0].name == "add"
    tool_updates = [u for u in updates if u.tool_results]
    assert tool_updates == [
        AgentResponseUpdate(
            agent_name="helper",
            reply_index=0,
            tool_results=(FunctionResultContent(call_id="c1", result=42),),
        )
    ]
    assert updates.index(tool_updates[0]) < next(
        i for i, u in enumerate(updates) if u.reply_index == 1
    )
    assert all(r.stream for r in streamed_client.requests)

    plain = await make_agent(ScriptedChatClient(script)).run("20+22?")
    assert stream.response == plain
    assert stream.response.messages[0].contents == (
        TextContent(text="Let me add."),
        FunctionCallContent(call_id="c1", name="add", arguments='{"a": 20, "b": 22}'),
    )


async def test_stream_response_is_unavailable_until_the_stream_ends() -> None:
    stream = make_agent(ScriptedChatClient(["one two"])).run_stream("hi")
    with pytest.raises(RuntimeError, match="iterate it to the end"):
        _ = stream.response
    first = await anext(stream)
    assert first.text == "one "
    with pytest.raises(RuntimeError, match="has not finished"):
        _ = stream.response
    await stream.aclose()


async def test_one_agent_serves_concurrent_runs_without_mixing_conversations() -> None:
    both_in_tools = asyncio.Barrier(2)

    @tool
    async def lookup(order_id: str) -> str:
        """Find an order."""
        await asyncio.wait_for(both_in_tools.wait(), timeout=5)  # both runs are mid-turn here
        return f"order {order_id} ships Friday"

    client = ScriptedChatClient.from_rules(
        {"a7": ToolCall("lookup", {"order_id": "A7"}), "b9": ToolCall("lookup", {"order_id": "B9"})}
    )
    agent = Agent(client, name="desk", instructions="Help.", tools=[lookup])
    first, second = await asyncio.gather(agent.run("where is A7?"), agent.run("and B9?"))
    assert first.text == "order A7 ships Friday"
    assert second.text == "order B9 ships Friday"
    for request in client.requests:
        users = [m.text for m in request.messages if m.role == "user"]
        assert users in (["where is A7?"], ["and B9?"])
    assert len(client.requests) == 4


def test_agents_are_immutable_and_copied_with_replace() -> None:
    agent = make_agent(ScriptedChatClient([]))
    with pytest.raises(dataclasses.FrozenInstanceError):
        agent.name = "other"  # type: ignore[misc]
    copy = agent.replace(name="other", tools=[add])
    assert (copy.name, copy.tools, copy.instructions) == ("other", (add,), "Be brief.")
    assert (agent.name, agent.tools) == ("helper", (get_weather, add))
    assert copy.find_tool("add") is add and copy.find_tool("get_weather") is None


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"name": " "}, ValueError, "an agent's name must be a non-empty string, got ' '"),
        ({"client": "gpt"}, TypeError, "Agent `helper` needs a ChatClient .* got str"),
        ({"instructions": None}, TypeError, "instructions must be a string, got NoneType"),
        ({"max_tool_iterations": 2.5}, TypeError, "max_tool_iterations must be an int, got float"),
        (
            {"max_tool_iterations": 0},
            ValueError,
            "max_tool_iterations must be a positive integer, got 0",
        ),
        (
            {"tools": [add, add]},
            ValueError,
            r"the tools of agent `helper` have duplicate names: `add`",
        ),
        ({"tools": [len]}, TypeError, "`len` is not a tool; decorate the function with `@tool`"),
        ({"tools": "add"}, TypeError, "tools must be a sequence of tools, not a string"),
    ],
)
def test_invalid_configuration_is_refused(
    changes: dict[str, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        make_agent(ScriptedChatClient([]), **changes)


async def test_run_rejects_what_is_not_a_conversation() -> None:
    agent = make_agent(ScriptedChatClient([]))
    with pytest.raises(TypeError, match="item 1 of the sequence is a dict"):
        await agent.run([ChatMessage("user", "hi"), {"role": "user"}])  # type: ignore[list-item]


async def test_options_go_to_the_chat_client() -> None:
    client = ScriptedChatClient(["ok"])
    await make_agent(client).run("hi", tool_choice="none", temperature=0.2)
    assert client.requests[0].tool_choice == "none"
    assert client.requests[0].options == {"temperature": 0.2}


HANDOFF = ToolSpec(name="handoff_to_orders", description="Orders.", parameters={"type": "object"})
HANDOFF_FRAUD = ToolSpec(name="handoff_to_fraud", parameters={"type": "object"})


async def test_extra_tools_are_offered_for_one_run_and_answered_by_the_handler() -> None:
    seen: list[str] = []

    async def handoff(call: FunctionCallContent) -> FunctionResultContent:
        first = not seen
        seen.append(call.call_id)
        if first:
            return FunctionResultContent(call_id=call.call_id, result="Handed off.")
        return FunctionResultContent(
            call_id=call.call_id, result="Error: already handed off.", is_error=True
        )

    client = ScriptedChatClient(
        [
            [
                "Passing you on.",
                ToolCall("handoff_to_orders", call_id="h1"),
                ToolCall("add", {"a": 1, "b": 2}, call_id="t1"),
                ToolCall("handoff_to_fraud", call_id="h2"),
            ]
        ]
    )
    agent = make_agent(client)
    extra = ExtraTools((HANDOFF, HANDOFF_FRAUD), handoff, ends_turn=True)
    response = await agent.run("my order", extra_tools=extra)
    client.assert_complete()  # the successful handoff ended the turn: no second model call
    assert client.requests[0].tool_names == (
        "get_weather",
        "add",
        "handoff_to_orders",
        "handoff_to_fraud",
    )
    assert seen == ["h1", "h2"]
    assert [(r.call_id, r.is_error) for r in results_of(response.messages[1])] == [
        ("h1", False),
        ("t1", False),
        ("h2", True),
    ]
    assert response.text == "Passing you on."
    assert agent.tools == (get_weather, add)  # the agent itself is unchanged

    later = ScriptedChatClient(["plain"])
    await make_agent(later).run("again")
    assert "handoff_to_orders" not in later.requests[0].tool_names


async def test_a_refused_extra_call_keeps_the_loop_going() -> None:
    async def refuse(call: FunctionCallContent) -> FunctionResultContent:
        return FunctionResultContent(
            call_id=call.call_id, result="Error: not allowed.", is_error=True
        )

    client = ScriptedChatClient([ToolCall("handoff_to_orders"), "I'll handle it myself."])
    response = await make_agent(client).run(
        "hi", extra_tools=ExtraTools((HANDOFF,), refuse, ends_turn=True)
    )
    assert response.text == "I'll handle it myself."
    client.assert_complete()


async def test_extra_tool_misuse_is_reported() -> None:
    async def echo(call: FunctionCallContent) -> FunctionResultContent:
        return FunctionResultContent(call_id="wrong", result="x")

    agent = make_agent(ScriptedChatClient([ToolCall("handoff_to_orders")]))
    add_spec = ToolSpec(name="add", parameters={"type": "object"})
    with pytest.raises(
        ValueError, match="extra tools `add` have the same names as tools of agent `helper`"
    ):
        await agent.run("x", extra_tools=ExtraTools((add_spec,), echo))
    with pytest.raises(
        ValueError, match="ExtraTools.specs have duplicate names: `handoff_to_orders`"
    ):
        ExtraTools((HANDOFF, HANDOFF), echo)
    with pytest.raises(TypeError, match="return a FunctionResultContent with call_id='call_0_0'"):
        await agent.run("x", extra_tools=ExtraTools((HANDOFF,), echo))


def test_agent_response_text_is_the_final_reply() -> None:
    response = AgentResponse(
        messages=(
            ChatMessage("assistant", "thinking", author_name="a"),
            ChatMessage("tool", [FunctionResultContent(call_id="c", result=1)]),
            ChatMessage("assistant", "final ", author_name="a"),
            ChatMessage("assistant", "answer", author_name="a"),
        )
    )
    assert response.text == "final answer"
    assert AgentResponse.model_validate_json(response.model_dump_json()) == response
    assert json.loads(response.model_dump_json())["usage"] == {
        "input_tokens": 0,
        "output_tokens": 0,
    }
