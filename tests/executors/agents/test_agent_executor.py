from __future__ import annotations

import json

import pytest

from engine import (
    Executor,
    WorkflowBuilder,
    WorkflowContext,
    WorkflowValidationError,
    executor,
    handler,
)
from engine.events import event_to_dict
from engine.invoke import current_idempotency_key
from executors import (
    Agent,
    AgentExecutor,
    AgentExecutorRequest,
    AgentExecutorResponse,
    AgentResponse,
    AgentRunUpdateEvent,
    ChatMessage,
    ScriptedChatClient,
    ToolCall,
    tool,
)


@tool
def lookup(order_id: str) -> str:
    """Find an order."""
    return f"{order_id}: shipped"


def agent(name: str, client: ScriptedChatClient) -> Agent:
    return Agent(client, name=name, instructions=f"You are {name}.", tools=[lookup])


@executor(id="start")
async def start(text: str, ctx: WorkflowContext[str]) -> None:
    await ctx.send_message(text)


@executor(id="collect")
async def collect(responses: list[AgentExecutorResponse], ctx: WorkflowContext[None, str]) -> None:
    await ctx.yield_output(
        " | ".join(f"{r.executor_id}: {r.agent_response.text}" for r in responses)
    )


@executor(id="last_words")
async def last_words(response: AgentExecutorResponse, ctx: WorkflowContext[None, str]) -> None:
    await ctx.yield_output(response.full_conversation[-1].text)


class Twice(Executor):
    """Sends its text to the agent twice, as two separate messages of one run."""

    @handler
    async def on(self, text: str, ctx: WorkflowContext[str | AgentExecutorRequest]) -> None:
        await ctx.send_message(
            AgentExecutorRequest(
                messages=[ChatMessage("user", "context only")], should_respond=False
            )
        )
        await ctx.send_message(f"{text} (1)")
        await ctx.send_message(f"{text} (2)")


def fan_out_workflow(first: ScriptedChatClient, second: ScriptedChatClient) -> WorkflowBuilder:
    return (
        WorkflowBuilder(start_executor=start)
        .add_fan_out_edges(
            start,
            [
                AgentExecutor(agent("billing", first), output_response=True),
                AgentExecutor(agent("support", second), output_response=True),
            ],
        )
        .add_fan_in_edges(["billing", "support"], collect)
    )


async def test_two_agent_executors_run_in_one_superstep_with_deterministic_events() -> None:
    def clients() -> tuple[ScriptedChatClient, ScriptedChatClient]:
        return (
            ScriptedChatClient([ToolCall("lookup", {"order_id": "A7"}), "A7 shipped."]),
            ScriptedChatClient(["Happy to help."]),
        )

    result = await fan_out_workflow(*clients()).build().run("order A7?")
    responses = [o for o in result.outputs if isinstance(o, AgentResponse)]
    assert [r.text for r in responses] == ["A7 shipped.", "Happy to help."]
    assert result.outputs[-1] == "billing: A7 shipped. | support: Happy to help."
    started = next(e for e in result.events if e.type == "superstep_started" and e.superstep == 2)
    assert started.executor_ids == ("billing", "support")

    def trace(events: tuple[object, ...]) -> list[tuple[str, str | None]]:
        return [(e.type, getattr(e, "executor_id", None)) for e in events]  # type: ignore[attr-defined]

    again = await fan_out_workflow(*clients()).build().run("order A7?")
    assert trace(again.events) == trace(result.events)
    step_two = [(t, i) for t, i in trace(result.events) if i in ("billing", "support")]
    assert step_two == [
        ("executor_invoked", "billing"),
        ("output", "billing"),
        ("executor_completed", "billing"),
        ("executor_invoked", "support"),
        ("output", "support"),
        ("executor_completed", "support"),
    ]

    streamed = [e async for e in fan_out_workflow(*clients()).build().run("order A7?", stream=True)]
    speakers = [e.executor_id for e in streamed if isinstance(e, AgentRunUpdateEvent)]
    first_support = speakers.index("support")
    assert set(speakers[:first_support]) == {"billing"} and set(speakers[first_support:]) == {
        "support"
    }


async def test_an_agent_pipeline_passes_the_transcript_along() -> None:
    writer_client = ScriptedChatClient(["Draft: refunds take 5 days."])
    editor_client = ScriptedChatClient(["Refunds take five business days."])
    writer = AgentExecutor(agent("writer", writer_client))
    editor = AgentExecutor(agent("editor", editor_client))
    workflow = (
        WorkflowBuilder(start_executor=writer).add_chain([writer, editor, last_words]).build()
    )
    result = await workflow.run("How long do refunds take?")
    assert result.outputs == ("Refunds take five business days.",)
    seen_by_editor = editor_client.requests[0].messages
    assert [(m.role, m.author_name, m.text) for m in seen_by_editor] == [
        ("system", None, "You are editor."),
        ("user", None, "How long do refunds take?"),
        ("assistant", "writer", "Draft: refunds take 5 days."),
    ]


async def test_streaming_runs_emit_agent_updates_tagged_with_the_executor() -> None:
    client = ScriptedChatClient(
        [ToolCall("lookup", {"order_id": "A7"}, call_id="c1"), "A7 has shipped today."]
    )
    workflow = (
        WorkflowBuilder(start_executor=AgentExecutor(agent("desk", client), id="front_desk"))
        .add_edge("front_desk", last_words)
        .build()
    )
    events = [event async for event in workflow.run("where is A7?", stream=True)]
    updates = [e for e in events if isinstance(e, AgentRunUpdateEvent)]
    assert updates and {(e.type, e.executor_id) for e in updates} == {
        ("agent_run_update", "front_desk")
    }
    assert "".join(e.update.text for e in updates) == "A7 has shipped today."
    assert [r.result for e in updates for r in e.update.tool_results] == ["A7: shipped"]
    assert any(e.update.tool_call_deltas for e in updates)
    assert all(r.stream for r in client.requests)
    outputs = [e for e in events if e.type == "output"]
    assert [e.data for e in outputs] == ["A7 has shipped today."]  # type: ignore[attr-defined]
    assert event_to_dict(updates[0])["update"]["agent_name"] == "desk"


async def test_non_streaming_runs_emit_no_agent_updates() -> None:
    client = ScriptedChatClient(["Hi."])
    workflow = (
        WorkflowBuilder(start_executor=AgentExecutor(agent("desk", client)))
        .add_edge("desk", last_words)
        .build()
    )
    result = await workflow.run("hello")
    assert result.outputs == ("Hi.",)
    assert not [e for e in result.events if e.type == "agent_run_update"]
    assert client.requests[0].stream is False


async def test_the_conversation_is_kept_in_run_state_across_messages() -> None:
    client = ScriptedChatClient(["First answer.", "Second answer."])
    desk = AgentExecutor(agent("desk", client))
    workflow = (
        WorkflowBuilder(start_executor=Twice("twice"))
        .add_edge("twice", desk)
        .add_edge(desk, last_words)
        .build()
    )
    run = workflow.start("question")
    result = await run.execute()
    assert result.outputs == ("First answer.", "Second answer.")
    first, second = client.requests
    assert [m.text for m in first.messages] == ["You are desk.", "context only", "question (1)"]
    assert [m.text for m in second.messages] == [
        "You are desk.",
        "context only",
        "question (1)",
        "First answer.",
        "question (2)",
    ]
    stored = run.state.executor_states["desk"]
    assert [m.text for m in stored] == [m.text for m in second.messages[1:]] + ["Second answer."]
    assert all(isinstance(m, ChatMessage) for m in stored)
    assert json.loads(json.dumps([m.model_dump(mode="json") for m in stored]))[0]["role"] == "user"


async def test_each_run_starts_with_an_empty_conversation() -> None:
    client = ScriptedChatClient(["one", "two"])
    workflow = (
        WorkflowBuilder(start_executor=AgentExecutor(agent("desk", client)))
        .add_edge("desk", last_words)
        .build()
    )
    await workflow.run("first run")
    await workflow.run("second run")
    assert [m.text for m in client.requests[1].messages] == ["You are desk.", "second run"]


async def test_a_restored_conversation_of_plain_dicts_is_accepted() -> None:
    client = ScriptedChatClient(["Welcome back."])
    desk = AgentExecutor(agent("desk", client))

    @executor(id="restore")
    async def restore(text: str, ctx: WorkflowContext[ChatMessage]) -> None:
        await ctx.send_message(ChatMessage("user", text))

    workflow = (
        WorkflowBuilder(start_executor=restore)
        .add_edge(restore, desk)
        .add_edge(desk, last_words)
        .build()
    )
    run = workflow.start("hello again")
    run.state.executor_states["desk"] = [ChatMessage("user", "earlier").model_dump(mode="json")]
    assert (await run.execute()).outputs == ("Welcome back.",)
    assert [m.text for m in client.requests[0].messages] == [
        "You are desk.",
        "earlier",
        "hello again",
    ]


async def test_executor_sends_one_response_with_the_full_conversation() -> None:
    captured: list[AgentExecutorResponse] = []

    @executor(id="keep")
    async def keep(response: AgentExecutorResponse, ctx: WorkflowContext[None, str]) -> None:
        captured.append(response)
        await ctx.yield_output(response.executor_id)

    client = ScriptedChatClient(["Sure."])
    workflow = (
        WorkflowBuilder(start_executor=AgentExecutor(agent("desk", client), id="d1"))
        .add_edge("d1", keep)
        .build()
    )
    result = await workflow.run([ChatMessage("user", "a"), ChatMessage("user", "b")])
    assert result.outputs == ("d1",)  # output_response defaults to False
    (response,) = captured
    assert response.agent_response.text == "Sure."
    assert [m.text for m in response.full_conversation] == ["a", "b", "Sure."]


def test_wiring_an_agent_to_an_executor_that_cannot_accept_its_response_fails_at_build() -> None:
    @executor(id="numbers")
    async def numbers(n: int, ctx: WorkflowContext[None, int]) -> None:
        await ctx.yield_output(n)

    desk = AgentExecutor(agent("desk", ScriptedChatClient([])))
    with pytest.raises(WorkflowValidationError) as caught:
        WorkflowBuilder(start_executor=desk).add_edge(desk, numbers).build()
    assert "`desk` sends `AgentExecutorResponse`, but `numbers` accepts `int`" in str(caught.value)


def test_agent_executor_declares_its_types_and_defaults_its_id() -> None:
    desk = AgentExecutor(agent("desk", ScriptedChatClient([])))
    assert desk.id == "desk" and desk.agent.name == "desk" and desk.output_response is False
    assert set(desk.output_types) == {AgentExecutorResponse}
    assert set(desk.yield_types) == {AgentResponse}
    assert {str, ChatMessage, AgentExecutorRequest, AgentExecutorResponse} <= set(desk.input_types)
    with pytest.raises(TypeError, match="AgentExecutor needs an Agent, got str"):
        AgentExecutor("desk")  # type: ignore[arg-type]


@tool
def charge(amount: int) -> str:
    """Charge the customer, once per invocation however often it is retried."""
    return f"charged {amount} under {current_idempotency_key()}"


@pytest.mark.parametrize("stream", [False, True])
async def test_an_agents_tools_see_the_invocations_idempotency_key(stream: bool) -> None:
    client = ScriptedChatClient([ToolCall("charge", {"amount": 5}), "Done."])
    desk = AgentExecutor(Agent(client, name="desk", instructions="Charge.", tools=[charge]))
    workflow = WorkflowBuilder(start_executor=desk).add_edge(desk, last_words).build()
    run = workflow.start("charge me", run_id="pay-1")
    if stream:
        [event async for event in run.stream()]
    else:
        await run.execute()
    (request,) = client.requests[1:]  # the model's second call sees the tool's result
    results = [c for m in request.messages for c in m.contents if c.type == "function_result"]
    assert [r.result for r in results] == ["charged 5 under pay-1:1:desk"]
    assert current_idempotency_key() is None  # the scope closed with the turn
