from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from cli.demos import (
    CUSTOMER_TURNS,
    DEMOS,
    TICKETS,
    Demo,
    build_chat,
    build_panel,
    build_pipeline,
    build_refund_desk,
    build_support_desk,
)
from cli.demos.concurrent import CONCURRENT
from cli.demos.group_chat import GROUPCHAT, MAX_ROUNDS
from cli.demos.refunds import SWITCH, Decision
from cli.demos.sequential import SEQUENTIAL
from cli.demos.support_desk import HANDOFF
from engine import RequestInfoEvent, RunResult, RunStatus, Workflow
from executors import Agent, AgentResponse, ChatMessage, ScriptedChatClient, ToolCall
from executors.agents import ScriptedReply
from orchestrations import (
    AgentReviewRequest,
    ConversationAgent,
    GroupChatCompletedEvent,
    HandoffAgentExecutor,
    HandoffAgentUserRequest,
    HandoffCompletedEvent,
    HandoffSentEvent,
)

APPROVALS = {"approve", "ok", "yes", "y", "lgtm"}


def answer_for(request: RequestInfoEvent, text: str | None) -> Any:
    """The CLI's reading of a user turn (`None`: the turns ran out)."""
    data = request.data
    if isinstance(data, HandoffAgentUserRequest):
        if text is None or text == "/end":
            return HandoffAgentUserRequest.terminate()
        return HandoffAgentUserRequest.create_response(text)
    if isinstance(data, AgentReviewRequest):
        if text is None or text.strip().casefold() in APPROVALS:
            return data.approve()
        return data.revise(text)
    raise AssertionError(f"unexpected request {data!r}")


async def play(workflow: Workflow, turns: Sequence[str]) -> tuple[list[RunResult], list[str]]:
    """Run `workflow` on the opening turn, answer each pause with the next turn; unused turns back."""
    opening, *answers = turns
    run = workflow.start(opening)
    results = [await run.execute()]
    while run.pending_requests:
        (request,) = run.pending_requests
        answer = answer_for(request, answers.pop(0) if answers else None)
        results.append(await run.respond({request.request_id: answer}))
    assert run.status is RunStatus.IDLE
    return results, answers


def agents_of(workflow: Workflow) -> dict[str, Agent]:
    """Every agent hosted in `workflow`, by executor id."""
    return {
        executor_id: node.agent
        for executor_id, node in workflow.executors.items()
        if isinstance(node, ConversationAgent | HandoffAgentExecutor)
    }


def scripted_clients(workflow: Workflow) -> dict[str, ScriptedChatClient]:
    clients: dict[str, ScriptedChatClient] = {}
    for name, agent in agents_of(workflow).items():
        assert isinstance(agent.client, ScriptedChatClient)
        clients[name] = agent.client
    return clients


def outputs(results: Sequence[RunResult]) -> list[Any]:
    return [output for result in results for output in result.outputs]


def events_of(results: Sequence[RunResult], kind: type[Any]) -> list[Any]:
    return [event for result in results for event in result.events if isinstance(event, kind)]


def callers(workflow: Workflow, client: ScriptedChatClient) -> list[str]:
    """Which agent made each request to `client`, told apart by its system message."""
    by_instructions = {agent.instructions: name for name, agent in agents_of(workflow).items()}
    names: list[str] = []
    for request in client.requests:
        system = request.messages[0]
        assert system.role == "system"
        names.append(by_instructions[system.text])
    return names


def spoken(conversation: Sequence[ChatMessage]) -> list[tuple[str | None, str]]:
    return [(m.author_name, m.text) for m in conversation if m.text]


# --- the registry ---------------------------------------------------------------------------------


def test_demos_lists_the_five_demos_in_order() -> None:
    assert list(DEMOS) == ["handoff", "sequential", "concurrent", "switch", "groupchat"]
    assert list(DEMOS.values()) == [HANDOFF, SEQUENTIAL, CONCURRENT, SWITCH, GROUPCHAT]
    assert all(isinstance(demo, Demo) for demo in DEMOS.values())


@pytest.mark.parametrize("demo", DEMOS.values(), ids=list(DEMOS))
def test_every_demo_has_turns_a_summary_and_a_user(demo: Demo) -> None:
    assert demo.turns and all(turn.strip() for turn in demo.turns)
    assert demo.summary.strip() and demo.user.strip()


def test_only_the_switch_demo_runs_without_models_and_per_turn() -> None:
    assert [name for name, demo in DEMOS.items() if not demo.uses_models] == ["switch"]
    assert [name for name, demo in DEMOS.items() if demo.run_per_turn] == ["switch"]


def test_the_demos_keep_their_builders_and_turns() -> None:
    assert HANDOFF.build is build_support_desk and HANDOFF.turns == CUSTOMER_TURNS
    assert (SEQUENTIAL.build, CONCURRENT.build, GROUPCHAT.build) == (
        build_pipeline,
        build_panel,
        build_chat,
    )
    assert SEQUENTIAL.turns[-1] == "approve" and len(SEQUENTIAL.turns) == 3
    assert (HANDOFF.user, SEQUENTIAL.user, SWITCH.user) == ("customer", "reviewer", "customer")


# --- handoff ------------------------------------------------------------------------------------


async def test_handoff_demo_walks_the_customer_to_fraud_and_uses_every_script() -> None:
    workflow = HANDOFF.build(None)
    clients = scripted_clients(workflow)
    assert sorted(clients) == ["fraud", "orders", "returns", "triage"]
    results, unused = await play(workflow, HANDOFF.turns)
    assert unused == []
    sent = [(e.source, e.target) for e in events_of(results, HandoffSentEvent)]
    assert sent == [
        ("triage", "returns"),
        ("returns", "orders"),
        ("orders", "returns"),
        ("returns", "fraud"),
    ]
    completed = [(e.agent, e.reason) for e in events_of(results, HandoffCompletedEvent)]
    assert completed == [("fraud", "terminal_agent")]
    (conversation,) = outputs(results)
    assert conversation[-1].author_name == "fraud"
    assert conversation[-1].text == (
        "Your account is under review; a specialist will email you within 24 hours."
    )
    for client in clients.values():
        client.assert_complete()


async def test_each_handoff_build_gets_fresh_scripts() -> None:
    first, second = build_support_desk(), build_support_desk()
    await play(first, CUSTOMER_TURNS)
    assert all(c.remaining == 0 for c in scripted_clients(first).values())
    assert [c.remaining for c in scripted_clients(second).values()] == [1, 3, 2, 1]


async def test_handoff_demo_puts_every_agent_on_the_given_client() -> None:
    replies: list[ScriptedReply] = [
        ["Passing you to returns.", ToolCall("handoff_to_returns")],
        "Refund or replacement?",
        ToolCall("handoff_to_orders"),
        "Replacement ordered. Anything else?",
        ToolCall("handoff_to_returns"),
        ToolCall("handoff_to_fraud"),
        "Your account is under review.",
    ]
    client = ScriptedChatClient(replies)
    workflow = build_support_desk(client)
    assert {name: agent.client for name, agent in agents_of(workflow).items()} == dict.fromkeys(
        ["triage", "returns", "orders", "fraud"], client
    )
    results, unused = await play(workflow, CUSTOMER_TURNS)
    assert unused == []
    assert callers(workflow, client) == [
        "triage",
        "returns",
        "returns",
        "orders",
        "orders",
        "returns",
        "fraud",
    ]
    assert outputs(results)[-1][-1].text == "Your account is under review."
    client.assert_complete()


# --- sequential ----------------------------------------------------------------------------------


async def test_sequential_demo_revises_once_then_outputs_the_approved_edit() -> None:
    workflow = SEQUENTIAL.build(None)
    clients = scripted_clients(workflow)
    assert list(clients) == ["researcher", "writer", "editor"]
    results, unused = await play(workflow, SEQUENTIAL.turns)
    assert unused == []
    reviews = [r.requests[0].data for r in results if r.requests]
    assert [(r.agent_name, r.revision) for r in reviews] == [("editor", 0), ("editor", 1)]
    (final,) = outputs(results)
    assert isinstance(final, AgentResponse)
    assert final.text == reviews[-1].text
    assert final.text.startswith("Good news: from version 4.2 your notes go wherever you do.")
    assert final.text != reviews[0].text
    feedback = clients["editor"].requests[1].messages[-1]
    assert (feedback.role, feedback.text) == ("user", SEQUENTIAL.turns[1])
    for client in clients.values():
        client.assert_complete()


async def test_sequential_demo_puts_every_agent_on_the_given_client() -> None:
    client = ScriptedChatClient(["Facts.", "Draft.", "Edit.", "Warmer edit."])
    workflow = build_pipeline(client)
    assert all(agent.client is client for agent in agents_of(workflow).values())
    results, _ = await play(workflow, SEQUENTIAL.turns)
    assert callers(workflow, client) == ["researcher", "writer", "editor", "editor"]
    assert [o.text for o in outputs(results)] == ["Warmer edit."]
    client.assert_complete()


# --- concurrent ----------------------------------------------------------------------------------


async def test_concurrent_demo_outputs_one_summary_naming_every_panelist() -> None:
    workflow = CONCURRENT.build(None)
    clients = scripted_clients(workflow)
    assert list(clients) == ["engineering", "legal", "marketing"]
    results, unused = await play(workflow, CONCURRENT.turns)
    assert unused == []
    (summary,) = outputs(results)
    assert isinstance(summary, str)
    lines = summary.splitlines()
    assert lines[0] == "The panel's 3 views:"
    assert [line.split(":")[0] for line in lines[1:]] == [
        "- engineering",
        "- legal",
        "- marketing",
    ]
    assert lines[2] == (
        "- legal: Payments need updated terms of service and a PCI DSS review of the card flow; "
        "start both now, as each takes about two weeks."
    )
    for client in clients.values():
        client.assert_complete()
        assert client.requests[0].messages[-1].text == CONCURRENT.turns[0]


async def test_concurrent_demo_puts_every_agent_on_the_given_client() -> None:
    client = ScriptedChatClient(["One.", "Two.", "Three."])
    workflow = build_panel(client)
    assert all(agent.client is client for agent in agents_of(workflow).values())
    results, _ = await play(workflow, CONCURRENT.turns)
    assert sorted(callers(workflow, client)) == ["engineering", "legal", "marketing"]
    (summary,) = outputs(results)
    assert sorted(line.split(": ")[1] for line in summary.splitlines()[1:]) == [
        "One.",
        "Three.",
        "Two.",
    ]
    client.assert_complete()


# --- switch --------------------------------------------------------------------------------------


async def test_switch_demo_decides_every_ticket_in_its_own_run() -> None:
    decisions: list[Decision] = []
    for ticket in SWITCH.turns:
        result = await SWITCH.build(None).run(ticket)
        assert result.status is RunStatus.IDLE
        decisions.extend(result.outputs)
    assert SWITCH.turns == TICKETS
    assert decisions == [
        Decision("1042", True, "$180 is under the review limit"),
        Decision("2077", False, "fraud: non-delivery claim over $1000"),
        Decision("3310", False, "policy: reason 'changed my mind' not covered"),
        Decision("4501", True, "all checks passed"),
    ]


def test_switch_demo_ignores_a_client() -> None:
    workflow = SWITCH.build(ScriptedChatClient([]))
    assert agents_of(workflow) == {}
    assert list(workflow.executors) == list(build_refund_desk().executors)


# --- group chat ----------------------------------------------------------------------------------


async def test_groupchat_demo_ends_on_the_critics_approval() -> None:
    workflow = GROUPCHAT.build(None)
    clients = scripted_clients(workflow)
    assert list(clients) == ["writer", "critic"]
    results, unused = await play(workflow, GROUPCHAT.turns)
    assert unused == []
    (conversation,) = outputs(results)
    assert [author for author, _ in spoken(conversation)] == [
        None,
        "writer",
        "critic",
        "writer",
        "critic",
    ]
    assert spoken(conversation)[-1] == (
        "critic",
        "APPROVED: short, clear, and it says when we open.",
    )
    completed = [(e.reason, e.rounds) for e in events_of(results, GroupChatCompletedEvent)]
    assert completed == [("selector", 4)]
    assert [e.type for e in events_of(results, GroupChatCompletedEvent)] == ["group_chat_completed"]
    for client in clients.values():
        client.assert_complete()


async def test_groupchat_demo_puts_every_agent_on_the_given_client() -> None:
    client = ScriptedChatClient(["Draft.", "Shorter.", "Short.", "APPROVED."])
    workflow = build_chat(client)
    assert all(agent.client is client for agent in agents_of(workflow).values())
    results, _ = await play(workflow, GROUPCHAT.turns)
    assert callers(workflow, client) == ["writer", "critic", "writer", "critic"]
    (conversation,) = outputs(results)
    assert spoken(conversation)[-1] == ("critic", "APPROVED.")
    client.assert_complete()


async def test_groupchat_demo_stops_at_the_round_limit_without_approval() -> None:
    client = ScriptedChatClient([f"turn {n}" for n in range(MAX_ROUNDS)])
    results, _ = await play(build_chat(client), GROUPCHAT.turns)
    completed = [(e.reason, e.rounds) for e in events_of(results, GroupChatCompletedEvent)]
    assert completed == [("max_rounds", MAX_ROUNDS)]
    client.assert_complete()
