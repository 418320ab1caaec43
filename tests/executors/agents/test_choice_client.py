"""ChoiceChatClient: a model whose every reply (answer, or which handoff tool to call) is a decision."""

from __future__ import annotations

from typing import Any

import pytest

from engine import RunResult, Workflow
from engine.testing import Choices, explore_routes
from executors import Agent
from executors.agents import ChatClient, ChatMessage, ChatResponse, ToolSpec
from executors.agents.testing import ChoiceChatClient
from orchestrations import HandoffBuilder, HandoffSentEvent

USER = [ChatMessage("user", "where is my order?")]


def spec(name: str) -> ToolSpec:
    return ToolSpec(name=name, parameters={"type": "object", "properties": {}})


TOOLS = [spec("lookup"), spec("handoff_to_billing"), spec("handoff_to_tech")]


def calls(response: ChatResponse) -> list[tuple[str, str, str]]:
    """The function calls of a response, as (name, call id, arguments)."""
    return [
        (call.name, call.call_id, call.arguments)
        for message in response.messages
        for call in message.function_calls
    ]


def desk(model: Choices, *, turn_limit: int = 3) -> Workflow:
    """A full mesh of triage, billing and tech, each answering or handing off as `model` says."""
    names = ("triage", "billing", "tech")
    agents = [Agent(ChoiceChatClient(model, name=n), name=n, instructions=n) for n in names]
    return HandoffBuilder(agents).with_turn_limits(default=turn_limit).build()


def handoffs(result: RunResult) -> list[tuple[str, str]]:
    return [(e.source, e.target) for e in result.events if isinstance(e, HandoffSentEvent)]


def test_it_is_a_chat_client() -> None:
    assert isinstance(ChoiceChatClient(Choices()), ChatClient)


async def test_it_answers_when_the_script_says_zero_and_once_it_is_used_up() -> None:
    model = Choices([0])
    client = ChoiceChatClient(model, name="triage")

    first = await client.get_response(USER, tools=TOOLS)
    second = await client.get_response(USER, tools=TOOLS)

    assert (first.text, calls(first)) == ("triage answers (reply 1).", [])
    assert (second.text, calls(second)) == ("triage answers (reply 2).", [])
    assert model.describe() == "agent `triage` -> answer"  # the second reply drew nothing


async def test_it_calls_the_handoff_tool_the_script_picks_and_never_another_tool() -> None:
    model = Choices([2, 1, 5])
    client = ChoiceChatClient(model, name="triage")

    replies = [await client.get_response(USER, tools=TOOLS) for _ in range(3)]

    assert [calls(r) for r in replies] == [
        [("handoff_to_tech", "call_triage_1", "{}")],
        [("handoff_to_billing", "call_triage_2", "{}")],
        [("handoff_to_tech", "call_triage_3", "{}")],  # 5 modulo three options
    ]
    assert {choice.options for choice in model.route} == {
        ("answer", "handoff_to_billing", "handoff_to_tech")
    }


async def test_without_handoff_tools_it_answers_and_uses_no_decision() -> None:
    model = Choices([1])
    client = ChoiceChatClient(model)

    reply = await client.get_response(USER, tools=[spec("lookup")])

    assert (reply.text, calls(reply)) == ("model answers (reply 1).", [])
    assert model.route == ()
    assert model.choose("next", ["a", "b"]) == 1  # the decision is still there for the next point


async def test_it_records_every_request() -> None:
    client = ChoiceChatClient(Choices([1]))

    await client.get_response(USER, tools=TOOLS, tool_choice="auto", temperature=0.2)
    _ = [update async for update in client.get_streaming_response(USER)]

    first, second = client.requests
    assert first.messages == tuple(USER)
    assert first.tool_names == ("lookup", "handoff_to_billing", "handoff_to_tech")
    assert (first.tool_choice, dict(first.options), first.stream) == (
        "auto",
        {"temperature": 0.2},
        False,
    )
    assert (second.tool_names, second.stream) == ((), True)


@pytest.mark.parametrize("script", [[0], [1], [2]])
async def test_it_streams_the_reply_it_would_have_given(script: list[int]) -> None:
    whole = await ChoiceChatClient(Choices(script)).get_response(USER, tools=TOOLS)
    streamed_client = ChoiceChatClient(Choices(script))
    updates = [update async for update in streamed_client.get_streaming_response(USER, tools=TOOLS)]

    streamed = ChatResponse.from_updates(updates)

    assert len(updates) > 1
    assert (streamed.text, calls(streamed)) == (whole.text, calls(whole))


async def test_call_ids_are_unique_across_requests() -> None:
    client = ChoiceChatClient(Choices([1, 0, 2, 1]), name="billing")

    replies = [await client.get_response(USER, tools=TOOLS) for _ in range(4)]

    ids = [call_id for reply in replies for _, call_id, _ in calls(reply)]
    assert ids == ["call_billing_1", "call_billing_3", "call_billing_4"]


@pytest.mark.parametrize(("given", "kind"), [([0, 1], "list"), (None, "NoneType")])
def test_it_takes_only_a_choices(given: Any, kind: str) -> None:
    with pytest.raises(
        TypeError, match=f"ChoiceChatClient takes an engine.testing.Choices, got {kind}"
    ):
        ChoiceChatClient(given)


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ([0], []),
        ([1, 2, 0], [("triage", "billing"), ("billing", "tech")]),
        ([2, 1], [("triage", "tech"), ("tech", "triage")]),
        (
            [1, 1, 2, 2],
            [("triage", "billing"), ("billing", "triage"), ("triage", "tech"), ("tech", "billing")],
        ),
    ],
)
async def test_in_a_handoff_graph_the_script_decides_every_handoff(
    script: list[int], expected: list[tuple[str, str]]
) -> None:
    model = Choices(script)

    result = await desk(model).run("Where is my order?")

    assert handoffs(result) == expected
    (request,) = result.requests
    assert request.data.reason == "turn_finished"
    assert request.data.agent_name == (expected[-1][1] if expected else "triage")
    assert [choice.point for choice in model.route] == [
        f"agent `{agent}`" for agent in ["triage", *(target for _, target in expected)]
    ][: len(script)]


def test_explore_routes_walks_every_handoff_an_agent_may_make() -> None:
    model = Choices()
    a, b = (Agent(ChoiceChatClient(model, name=n), name=n, instructions=n) for n in "ab")
    workflow = HandoffBuilder([a, b]).with_turn_limits(default=2).build()

    found = explore_routes(workflow, "hi", depth=3, choices=model)

    # a answers | a -> b, b answers | a -> b -> a, a answers | a -> b -> a -> b, b answers
    assert found.routes == 4 and found.complete
    assert found.failures == ()
