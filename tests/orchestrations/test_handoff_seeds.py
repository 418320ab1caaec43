"""The scenarios of the handoff seed texts, end to end on scripted models, with the compiled graphs asserted."""

from __future__ import annotations

from typing import Any

import pytest

from engine import BatonWarning, RunResult, RunStatus, Workflow
from executors import Agent, ChatMessage, ScriptedChatClient, ToolCall
from orchestrations import (
    HandoffAgentUserRequest,
    HandoffBuilder,
    SequentialBuilder,
)
from tests.orchestrations.support import client_of, completions, handoffs


def agent(name: str, replies: list[Any], description: str | None = None) -> Agent:
    return Agent(
        ScriptedChatClient(replies),
        name=name,
        instructions=f"You are the {name} agent.",
        description=description,
    )


def edges(workflow: Workflow) -> set[tuple[str, str, str]]:
    graph = workflow.to_networkx()
    return {(u, v, data["label"]) for u, v, data in graph.edges(data=True)}


def only_request(result: RunResult) -> tuple[str, HandoffAgentUserRequest]:
    (event,) = result.requests
    assert isinstance(event.data, HandoffAgentUserRequest)
    return event.request_id, event.data


def texts(conversation: list[ChatMessage]) -> list[tuple[str | None, str]]:
    return [(m.author_name or m.role, m.text) for m in conversation if m.text]


# --- the smallest handoff: triage, billing, tech ---------------------------------------------------


def star(triage_replies: list[Any], billing_replies: list[Any]) -> tuple[Workflow, Agent, Agent]:
    triage = agent("triage", triage_replies, "Routes requests to the right specialist.")
    billing = agent("billing", billing_replies, "Handles billing questions.")
    tech = agent("tech", [], "Handles technical support questions.")
    with pytest.warns(BatonWarning, match="`billing`, `tech` have no outbound handoff"):
        workflow = (
            HandoffBuilder(participants=[triage, billing, tech])
            .with_start_agent(triage)
            .add_handoff(triage, [billing, tech])
            .build()
        )
    return workflow, triage, billing


def test_star_compiles_to_one_labelled_edge_per_handoff_and_an_output_node() -> None:
    workflow, _, _ = star([], [])
    assert workflow.start_executor_id == "triage"
    assert edges(workflow) == {
        ("triage", "billing", "handoff_to_billing: Handles billing questions."),
        ("triage", "tech", "handoff_to_tech: Handles technical support questions."),
        ("triage", "output", ""),
        ("billing", "output", ""),
        ("tech", "output", ""),
    }
    mermaid = workflow.to_mermaid()
    assert 'triage -->|"handoff_to_billing: Handles billing questions."| billing' in mermaid
    assert '"handoff_to_tech: Handles technical support questions."' in workflow.to_dot()


async def test_star_routes_to_the_specialist_who_sees_the_whole_transcript() -> None:
    workflow, triage, billing = star(
        [["Let me get billing.", ToolCall("handoff_to_billing")]],
        ["You were charged twice; a refund is on its way."],
    )
    result = await workflow.run("I was charged twice")

    offered = client_of(triage).requests[0].tools
    assert [(t.name, t.description) for t in offered] == [
        ("handoff_to_billing", "Handles billing questions."),
        ("handoff_to_tech", "Handles technical support questions."),
    ]
    seen = client_of(billing).requests[0].messages
    assert [m.text for m in seen if m.text][-2:] == ["I was charged twice", "Let me get billing."]
    assert client_of(billing).requests[0].tools == ()  # terminal: no handoff tools
    assert handoffs(result) == [("triage", "billing")]
    assert completions(result) == [("billing", "terminal_agent")]
    (conversation,) = result.outputs
    assert texts(conversation) == [
        ("user", "I was charged twice"),
        ("triage", "Let me get billing."),
        ("billing", "You were charged twice; a refund is on its way."),
    ]
    # a terminal agent's finished turn outputs the conversation, then waits for a follow-up
    assert result.status == RunStatus.IDLE_WITH_PENDING_REQUESTS
    _, request = only_request(result)
    assert (request.agent_name, request.reason) == ("billing", "conversation_ended")
    assert request.text == "You were charged twice; a refund is on its way."


async def test_star_pauses_for_the_user_when_triage_answers_directly() -> None:
    workflow, triage, _ = star(
        ["Which product is this about?", ToolCall("handoff_to_billing")], ["Done."]
    )
    result = await workflow.run("help")
    assert result.outputs == ()
    request_id, request = only_request(result)
    assert (request.agent_name, request.reason, request.text) == (
        "triage",
        "turn_finished",
        "Which product is this about?",
    )
    final = await result.run.respond({request_id: "my invoice"})
    assert client_of(triage).requests[1].messages[-1] == ChatMessage("user", "my invoice")
    assert handoffs(final) == [("triage", "billing")]
    assert texts(final.outputs[0])[-1] == ("billing", "Done.")


# --- the e-commerce desk: side edges, back-edges, a one-way escalation -----------------------------


def desk(**replies: list[Any]) -> tuple[HandoffBuilder, dict[str, Agent]]:
    agents = {
        "triage": agent("triage", replies.get("triage", []), "Routes customer requests."),
        "orders": agent("orders", replies.get("orders", []), "Places and changes orders."),
        "returns": agent("returns", replies.get("returns", []), "Handles returns and refunds."),
        "fraud": agent("fraud", replies.get("fraud", []), "Investigates suspicious activity."),
    }
    t, o, r, f = agents["triage"], agents["orders"], agents["returns"], agents["fraud"]
    builder = (
        HandoffBuilder(participants=[t, r, o, f])
        .with_start_agent(t)
        .add_handoff(t, [r, o])
        .add_handoff(r, [t, o])
        .add_handoff(o, [t, r])
        .add_handoff(r, [f], description="Suspected return fraud or abuse.")
    )
    return builder, agents


def build_desk(builder: HandoffBuilder) -> Workflow:
    with pytest.warns(BatonWarning, match="`fraud` has no outbound handoff"):
        return builder.build()


def test_desk_graph_has_side_edges_back_edges_and_a_one_way_escalation() -> None:
    builder, _ = desk()
    workflow = build_desk(builder)
    handoff_edges = {(u, v) for u, v, label in edges(workflow) if label}
    assert handoff_edges == {
        ("triage", "returns"),
        ("triage", "orders"),
        ("returns", "triage"),
        ("returns", "orders"),
        ("orders", "triage"),
        ("orders", "returns"),
        ("returns", "fraud"),
    }
    assert ("returns", "fraud", "handoff_to_fraud: Suspected return fraud or abuse.") in edges(
        workflow
    )
    assert not any(u == "fraud" and v != "output" for u, v, _ in edges(workflow))  # terminal


async def test_desk_conversation_walks_side_edge_back_edge_and_escalates_to_fraud() -> None:
    builder, agents = desk(
        triage=[ToolCall("handoff_to_returns")],
        returns=[
            "What is the order number?",
            [ToolCall("handoff_to_orders")],
            [ToolCall("handoff_to_fraud")],
        ],
        orders=["Order 42 was a replacement already.", ToolCall("handoff_to_returns")],
        fraud=["This account is under review."],
    )
    workflow = build_desk(builder)
    first = await workflow.run("I want to return my blender")
    request_id, request = only_request(first)
    assert (request.agent_name, request.text) == ("returns", "What is the order number?")

    # return-to-previous: the follow-up lands on returns, not on triage
    second = await first.run.respond({request_id: "order 42, and send a replacement instead"})
    assert client_of(agents["returns"]).requests[1].messages[-1].text == (
        "order 42, and send a replacement instead"
    )
    assert len(client_of(agents["triage"]).requests) == 1
    request_id, request = only_request(second)
    assert (request.agent_name, request.text) == ("orders", "Order 42 was a replacement already.")

    third = await second.run.respond({request_id: "then refund it"})
    assert handoffs(first) + handoffs(second) + handoffs(third) == [
        ("triage", "returns"),
        ("returns", "orders"),
        ("orders", "returns"),
        ("returns", "fraud"),
    ]
    fraud_tools = [t.name for t in client_of(agents["returns"]).requests[2].tools]
    assert fraud_tools == ["handoff_to_triage", "handoff_to_orders", "handoff_to_fraud"]
    assert completions(third) == [("fraud", "terminal_agent")]
    (conversation,) = third.outputs
    assert conversation[0].text == "I want to return my blender"
    assert texts(conversation)[-1] == ("fraud", "This account is under review.")
    for name in ("triage", "orders", "returns", "fraud"):
        client_of(agents[name]).assert_complete()


async def test_desk_descriptions_are_per_edge_so_two_sources_describe_one_target_differently() -> (
    None
):
    builder, agents = desk(triage=["hi"], orders=[])
    builder.add_handoff("returns", ["orders"], description="The customer wants a replacement.")
    workflow = build_desk(builder)
    descriptions = {(u, v): label.split(": ", 1)[1] for u, v, label in edges(workflow) if label}
    assert descriptions[("triage", "orders")] == "Places and changes orders."
    assert descriptions[("returns", "orders")] == "The customer wants a replacement."
    await workflow.run("hello")
    tools = {t.name: t.description for t in client_of(agents["triage"]).requests[0].tools}
    assert tools["handoff_to_orders"] == "Places and changes orders."


async def test_desk_without_return_to_previous_sends_the_reply_to_the_start_agent() -> None:
    builder, agents = desk(
        triage=[ToolCall("handoff_to_returns"), "Back at triage: how else can I help?"],
        returns=["What is the order number?"],
    )
    builder.enable_return_to_previous(False)
    workflow = build_desk(builder)
    assert ("returns", "triage", "user reply") in edges(workflow)
    first = await workflow.run("return please")
    request_id, _ = only_request(first)
    second = await first.run.respond({request_id: "order 42"})
    assert client_of(agents["triage"]).requests[1].messages[-1].text == "order 42"
    assert len(client_of(agents["returns"]).requests) == 1
    assert handoffs(second) == []  # a forwarded reply is not a handoff
    _, request = only_request(second)
    assert request.agent_name == "triage"


# --- the content pipeline upgraded to handoff -------------------------------------------------------


def pipeline_agents(**replies: list[Any]) -> list[Agent]:
    return [
        agent("researcher", replies.get("researcher", []), "Finds sources and facts."),
        agent("writer", replies.get("writer", []), "Writes the draft."),
        agent("editor", replies.get("editor", []), "Edits and publishes."),
    ]


def test_from_sequential_keeps_the_forward_edges_and_takes_a_back_edge() -> None:
    researcher, writer, editor = pipeline_agents()
    pipeline = SequentialBuilder(participants=[researcher, writer, editor])
    with pytest.warns(BatonWarning, match="`editor` has no outbound handoff"):
        plain = HandoffBuilder.from_sequential(pipeline).build()
    assert {(u, v) for u, v, label in edges(plain) if label} == {
        ("researcher", "writer"),
        ("writer", "editor"),
    }
    upgraded = HandoffBuilder.from_sequential(pipeline).add_handoff(
        writer, [researcher], description="Need additional research, sources, or fact-checking."
    )
    with pytest.warns(BatonWarning, match="`editor`"):
        workflow = upgraded.build()
    assert workflow.start_executor_id == "researcher"
    assert (
        "writer",
        "researcher",
        "handoff_to_researcher: Need additional research, sources, or fact-checking.",
    ) in edges(workflow)


async def test_upgraded_pipeline_revisits_research_and_the_follow_up_reaches_the_editor() -> None:
    researcher, writer, editor = pipeline_agents(
        researcher=[
            ["Three facts.", ToolCall("handoff_to_writer")],
            ["A fourth source.", ToolCall("handoff_to_writer")],
        ],
        writer=[
            ["I need a source for claim two.", ToolCall("handoff_to_researcher")],
            ["Draft: four facts.", ToolCall("handoff_to_editor")],
        ],
        editor=["Published: four facts.", "Published, formally: four facts."],
    )
    pipeline = SequentialBuilder(participants=[researcher, writer, editor])
    with pytest.warns(BatonWarning):
        workflow = (
            HandoffBuilder.from_sequential(pipeline)
            .add_handoff(writer, [researcher], description="Need additional research.")
            .build()
        )
    first = await workflow.run("Write about superstep runtimes")
    assert handoffs(first) == [
        ("researcher", "writer"),
        ("writer", "researcher"),
        ("researcher", "writer"),
        ("writer", "editor"),
    ]
    assert texts(first.outputs[0])[-1] == ("editor", "Published: four facts.")
    request_id, request = only_request(first)
    assert request.agent_name == "editor"

    second = await first.run.respond({request_id: "Make it more formal"})
    editor_request = client_of(editor).requests[1]
    assert editor_request.messages[-1] == ChatMessage("user", "Make it more formal")
    assert texts(second.outputs[0])[-1] == ("editor", "Published, formally: four facts.")
    request_id, _ = only_request(second)
    done = await second.run.respond({request_id: HandoffAgentUserRequest.terminate()})
    assert done.status == RunStatus.IDLE
    assert done.outputs == ()  # the conversation was already output as it stands
    for a in (researcher, writer, editor):
        client_of(a).assert_complete()


# --- the math and history tutors: turn limits stop the ping-pong ------------------------------------


def tutors(triage: list[Any], math: list[Any], history: list[Any]) -> HandoffBuilder:
    t = agent("triage", triage, "Routes questions.")
    m = agent("math", math, "Answers math questions.")
    h = agent("history", history, "Answers history questions.")
    return (
        HandoffBuilder(participants=[t, m, h])
        .with_start_agent(t)
        .add_handoff(t, [m, h])
        .add_handoff(m, [t])
        .add_handoff(h, [t])
    )


async def test_turn_limits_stop_the_triage_math_ping_pong_in_autonomous_mode() -> None:
    builder = tutors(
        triage=[ToolCall("handoff_to_math")] * 3,
        math=[ToolCall("handoff_to_triage")] * 2,
        history=[],
    ).with_autonomous_mode(turn_limits={"triage": 3, "math": 2, "history": 2})
    workflow = builder.build()
    result = await workflow.run("Is 1066 a prime number or a date?")
    assert handoffs(result) == [
        ("triage", "math"),
        ("math", "triage"),
        ("triage", "math"),
        ("math", "triage"),
        ("triage", "math"),
    ]
    assert result.status == RunStatus.IDLE
    assert completions(result) == [("math", "turn_limit")]
    assert len(result.outputs) == 1
    for a in builder.members:
        assert a.agent is not None
        client_of(a.agent).assert_complete()  # exactly the budgeted turns, no more


async def test_turn_limit_asks_the_user_in_interactive_mode_and_a_reply_restores_the_budget() -> (
    None
):
    builder = tutors(
        triage=[ToolCall("handoff_to_math")] * 2,
        math=[ToolCall("handoff_to_triage"), "Triage keeps sending me back: 1066 is a date."],
        history=[],
    ).with_autonomous_mode(agents=["triage"], turn_limits={"triage": 5, "math": 1})
    workflow = builder.build()
    first = await workflow.run("1066?")
    request_id, request = only_request(first)
    assert (request.agent_name, request.reason, request.agent_response) == (
        "math",
        "turn_limit",
        None,
    )
    assert first.outputs == ()
    second = await first.run.respond({request_id: "Just answer, please"})
    _, request = only_request(second)
    assert (request.agent_name, request.reason) == ("math", "turn_finished")
    assert request.text == "Triage keeps sending me back: 1066 is a date."


async def test_tutors_route_a_math_question_to_math_and_answer_it() -> None:
    builder = tutors(
        triage=[ToolCall("handoff_to_math")],
        math=["37 * 42 = 1554.", "Nothing to add."],
        history=[],
    ).with_autonomous_mode(
        turn_limits={"triage": 3, "math": 2, "history": 2}, prompts={"math": "Go on."}
    )
    result = await builder.build().run("What is 37 * 42?")
    assert handoffs(result) == [("triage", "math")]
    # math may hand back, so it is not terminal: autonomous mode prompts it on until its limit
    assert completions(result) == [("math", "turn_limit")]
    assert texts(result.outputs[0])[-3:] == [
        ("math", "37 * 42 = 1554."),
        ("user", "Go on."),
        ("math", "Nothing to add."),
    ]
