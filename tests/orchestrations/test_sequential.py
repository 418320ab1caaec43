from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from pydantic import ValidationError

from engine import (
    Executor,
    InMemoryCheckpointStore,
    OutputEvent,
    RequestInfoEvent,
    ResponseError,
    RunResult,
    RunStatus,
    Workflow,
    WorkflowBuilder,
    WorkflowContext,
    executor,
    handler,
)
from engine.edges import SingleEdgeGroup
from executors.agents import (
    Agent,
    AgentExecutor,
    AgentResponse,
    AgentRunUpdateEvent,
    ChatMessage,
    ChatResponse,
    ChatResponseUpdate,
    ScriptedChatClient,
    ToolCall,
    ToolSpec,
    tool,
)
from orchestrations import (
    AgentReviewRequest,
    AgentReviewResponse,
    ConversationAgent,
    ConversationInput,
    ConversationOutput,
    SequentialBuilder,
)
from orchestrations.review import ReviewedAgent
from tests.orchestrations.support import make_agent, seen


@tool
def word_count(text: str) -> int:
    """Count the words of a text."""
    return len(text.split())


class Stamp(Executor):
    """A custom participant: appends one assistant message saying how long the conversation was."""

    @handler
    async def on_conversation(
        self, conversation: list[ChatMessage], ctx: WorkflowContext[list[ChatMessage]]
    ) -> None:
        stamp = ChatMessage("assistant", f"stamped {len(conversation)}", author_name=self.id)
        await ctx.send_message([*conversation, stamp])


@executor(id="transcript")
async def transcript(conversation: list[ChatMessage], ctx: WorkflowContext[None, str]) -> None:
    await ctx.yield_output(" / ".join(m.text for m in conversation))


class GatedClient:
    """Delegates to `inner`, but every call first waits at `barrier` (so calls must overlap)."""

    def __init__(self, inner: ScriptedChatClient, barrier: asyncio.Barrier) -> None:
        self.inner = inner
        self.barrier = barrier

    async def get_response(
        self, messages: Sequence[ChatMessage], *, tools: Sequence[ToolSpec] | None = None, **kw: Any
    ) -> ChatResponse:
        await self.barrier.wait()
        return await self.inner.get_response(messages, tools=tools, **kw)

    async def get_streaming_response(
        self, messages: Sequence[ChatMessage], *, tools: Sequence[ToolSpec] | None = None, **kw: Any
    ) -> AsyncIterator[ChatResponseUpdate]:
        await self.barrier.wait()
        async for update in self.inner.get_streaming_response(messages, tools=tools, **kw):
            yield update


def pipeline(
    writer_replies: Sequence[str], editor_replies: Sequence[str], **options: Any
) -> tuple[SequentialBuilder, ScriptedChatClient, ScriptedChatClient]:
    writer_client = ScriptedChatClient(writer_replies)
    editor_client = ScriptedChatClient(editor_replies)
    builder = SequentialBuilder(
        [make_agent("writer", writer_client), make_agent("editor", editor_client)], **options
    )
    return builder, writer_client, editor_client


def reviewed_pipeline(
    writer_replies: Sequence[str], editor_replies: Sequence[str]
) -> tuple[Workflow, ScriptedChatClient, ScriptedChatClient]:
    builder, writer_client, editor_client = pipeline(writer_replies, editor_replies)
    return builder.with_request_info(agents=["writer"]).build(), writer_client, editor_client


def only_request(result: RunResult) -> tuple[RequestInfoEvent, AgentReviewRequest]:
    (request,) = result.requests
    assert isinstance(request.data, AgentReviewRequest)
    return request, request.data


# --- the conversation passed along ---------------------------------------------------------------


async def test_each_agent_sees_the_conversation_so_far() -> None:
    builder, writer_client, editor_client = pipeline(["Draft: it rains."], ["It rains."])
    result = await builder.build().run("Write about the weather.")
    assert seen(writer_client.requests[0].messages) == [
        ("system", None, "You are writer."),
        ("user", None, "Write about the weather."),
    ]
    assert seen(editor_client.requests[0].messages) == [
        ("system", None, "You are editor."),
        ("user", None, "Write about the weather."),
        ("assistant", "writer", "Draft: it rains."),
    ]
    assert len(editor_client.requests) == 1
    assert result.status is RunStatus.IDLE


async def test_the_default_output_is_the_last_agents_response() -> None:
    builder, _, _ = pipeline(["Draft."], ["Final."])
    result = await builder.build().run("go")
    (output,) = result.outputs
    assert isinstance(output, AgentResponse)
    assert output.text == "Final."
    assert seen(output.messages) == [("assistant", "editor", "Final.")]


async def test_conversation_output_is_the_whole_conversation() -> None:
    builder, _, _ = pipeline(["Draft."], ["Final."], output="conversation")
    result = await builder.build().run("go")
    (output,) = result.outputs
    assert isinstance(output, list)
    assert seen(output) == [
        ("user", None, "go"),
        ("assistant", "writer", "Draft."),
        ("assistant", "editor", "Final."),
    ]


async def test_three_agents_each_add_one_turn() -> None:
    clients = [ScriptedChatClient([f"{name} says hi."]) for name in ("a", "b", "c")]
    agents = [make_agent(n, c) for n, c in zip(("a", "b", "c"), clients, strict=True)]
    result = await SequentialBuilder(agents, output="conversation").build().run("hello")
    assert [m.text for m in result.outputs[0]] == [
        "hello",
        "a says hi.",
        "b says hi.",
        "c says hi.",
    ]
    assert [len(c.requests[0].messages) for c in clients] == [2, 3, 4]  # system + conversation


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("plain text", [("user", None, "plain text")]),
        (ChatMessage("user", "one message", author_name="ann"), [("user", "ann", "one message")]),
        (
            [ChatMessage("user", "earlier"), ChatMessage("assistant", "noted", author_name="bot")],
            [("user", None, "earlier"), ("assistant", "bot", "noted")],
        ),
    ],
    ids=["str", "message", "conversation"],
)
async def test_input_may_be_text_a_message_or_a_conversation(
    message: object, expected: list[tuple[str, str | None, str]]
) -> None:
    builder, writer_client, _ = pipeline(["Draft."], ["Final."], output="conversation")
    result = await builder.build().run(message)
    assert seen(writer_client.requests[0].messages[1:]) == expected
    assert seen(result.outputs[0]) == [
        *expected,
        ("assistant", "writer", "Draft."),
        ("assistant", "editor", "Final."),
    ]


async def test_an_input_conversation_list_is_not_mutated() -> None:
    builder, _, _ = pipeline(["Draft."], ["Final."], output="conversation")
    conversation = [ChatMessage("user", "hello")]
    result = await builder.build().run(conversation)
    assert seen(conversation) == [("user", None, "hello")]
    assert result.outputs[0] is not conversation


async def test_an_agent_executor_participant_runs_its_agent_under_the_executors_id() -> None:
    writer_client = ScriptedChatClient(["Draft."])
    editor_client = ScriptedChatClient(["Final."])
    proofreader = AgentExecutor(make_agent("editor", editor_client), id="proofreader")
    workflow = SequentialBuilder([make_agent("writer", writer_client), proofreader]).build()
    assert list(workflow.executors) == ["input", "writer", "proofreader"]
    assert workflow.executors["proofreader"] is not proofreader
    result = await workflow.run("go")
    assert result.outputs[0].text == "Final."
    assert [e.executor_id for e in result.events if isinstance(e, OutputEvent)] == ["proofreader"]


# --- the compiled graph ----------------------------------------------------------------------------


async def test_compile_returns_an_unbuilt_builder_wiring_input_through_every_participant() -> None:
    clients = [ScriptedChatClient([f"{n}."]) for n in ("p1", "p2", "p3")]
    builder = SequentialBuilder(
        [make_agent(n, c) for n, c in zip(("p1", "p2", "p3"), clients, strict=True)]
    )
    compiled = builder.compile()
    assert isinstance(compiled, WorkflowBuilder)
    workflow = compiled.build()
    assert list(workflow.executors) == ["input", "p1", "p2", "p3"]
    assert workflow.start_executor_id == "input"
    assert workflow.edge_groups == (
        SingleEdgeGroup("input", "p1"),
        SingleEdgeGroup("p1", "p2"),
        SingleEdgeGroup("p2", "p3"),
    )
    assert list(workflow.to_networkx().edges()) == [("input", "p1"), ("p1", "p2"), ("p2", "p3")]
    assert isinstance(workflow.executors["input"], ConversationInput)
    assert all(type(workflow.executors[i]) is ConversationAgent for i in ("p1", "p2", "p3"))
    assert workflow.name == "sequential" and workflow.max_supersteps == 1000
    mermaid = workflow.to_mermaid()
    for line in ("input --> p1", "p1 --> p2", "p2 --> p3"):
        assert f"  {line}\n" in mermaid
    assert 'input["input (start)<br/>ConversationInput"]' in mermaid


def test_name_and_superstep_budget_reach_the_workflow() -> None:
    builder, _, _ = pipeline([], [], name="drafting", max_supersteps=7)
    workflow = builder.build()
    assert (workflow.name, workflow.max_supersteps) == ("drafting", 7)


async def test_a_custom_executor_in_the_middle_joins_the_conversation() -> None:
    writer_client = ScriptedChatClient(["Draft."])
    editor_client = ScriptedChatClient(["Final."])
    stamp = Stamp("stamp")
    workflow = SequentialBuilder(
        [make_agent("writer", writer_client), stamp, make_agent("editor", editor_client)],
        output="conversation",
    ).build()
    assert list(workflow.executors) == ["input", "writer", "stamp", "editor"]
    assert workflow.executors["stamp"] is stamp
    result = await workflow.run("go")
    assert seen(editor_client.requests[0].messages[1:]) == [
        ("user", None, "go"),
        ("assistant", "writer", "Draft."),
        ("assistant", "stamp", "stamped 2"),
    ]
    assert [m.text for m in result.outputs[0]] == ["go", "Draft.", "stamped 2", "Final."]


async def test_a_custom_executor_at_the_end_hands_the_conversation_to_an_output_node() -> None:
    writer_client = ScriptedChatClient(["Draft."])
    workflow = SequentialBuilder([make_agent("writer", writer_client), Stamp("stamp")]).build()
    assert list(workflow.executors) == ["input", "writer", "stamp", "output"]
    assert isinstance(workflow.executors["output"], ConversationOutput)
    assert workflow.edge_groups[-1] == SingleEdgeGroup("stamp", "output")
    result = await workflow.run("go")
    (output,) = result.outputs
    assert seen(output) == [
        ("user", None, "go"),
        ("assistant", "writer", "Draft."),
        ("assistant", "stamp", "stamped 2"),
    ]
    assert [e.executor_id for e in result.events if isinstance(e, OutputEvent)] == ["output"]
    assert not [e for e in result.events if e.type == "message_dropped"]


async def test_executors_wired_on_after_compile_receive_the_conversation() -> None:
    builder, _, _ = pipeline(["Draft."], ["Final."])
    workflow = builder.compile().add_edge("editor", transcript).build()
    assert list(workflow.executors) == ["input", "writer", "editor", "transcript"]
    result = await workflow.run("go")
    response, text = result.outputs
    assert isinstance(response, AgentResponse) and response.text == "Final."
    assert text == "go / Draft. / Final."


async def test_the_output_node_passes_the_conversation_on_when_something_is_wired_after_it() -> (
    None
):
    workflow = (
        SequentialBuilder([make_agent("writer", ScriptedChatClient(["Draft."])), Stamp("stamp")])
        .compile()
        .add_edge("output", transcript)
        .build()
    )
    result = await workflow.run("go")
    assert result.outputs == ("go / Draft. / stamped 2",)


# --- review pauses ---------------------------------------------------------------------------------


async def test_a_reviewed_agent_pauses_with_its_reply_for_review() -> None:
    workflow, writer_client, editor_client = reviewed_pipeline(["Draft."], ["Final."])
    assert type(workflow.executors["writer"]) is ReviewedAgent
    assert type(workflow.executors["editor"]) is ConversationAgent
    paused = await workflow.run("go")
    assert paused.status is RunStatus.IDLE_WITH_PENDING_REQUESTS
    assert paused.outputs == ()
    request, review = only_request(paused)
    assert request.source_executor_id == "writer"
    assert request.response_type is AgentReviewResponse
    assert (review.agent_name, review.text, review.revision) == ("writer", "Draft.", 0)
    assert seen(review.response.messages) == [("assistant", "writer", "Draft.")]
    assert not editor_client.requests  # the editor waits for the review

    assert paused.run is not None
    done = await paused.run.respond({request.request_id: review.approve()})
    assert done.status is RunStatus.IDLE
    assert [o.text for o in done.outputs] == ["Final."]
    assert seen(editor_client.requests[0].messages[1:]) == [
        ("user", None, "go"),
        ("assistant", "writer", "Draft."),
    ]
    assert len(writer_client.requests) == 1


@pytest.mark.parametrize(
    "feedback",
    [AgentReviewRequest.revise("more formal"), "more formal"],
    ids=["revise", "plain-text"],
)
async def test_a_revision_makes_the_agent_answer_the_feedback_and_asks_again(
    feedback: AgentReviewResponse | str,
) -> None:
    workflow, writer_client, editor_client = reviewed_pipeline(
        ["Draft.", "Dear reader: draft."], ["Final."]
    )
    paused = await workflow.run("go")
    request, _ = only_request(paused)
    assert paused.run is not None
    again = await paused.run.respond({request.request_id: feedback})
    assert again.status is RunStatus.IDLE_WITH_PENDING_REQUESTS
    assert again.outputs == () and not editor_client.requests
    assert seen(writer_client.requests[1].messages) == [
        ("system", None, "You are writer."),
        ("user", None, "go"),
        ("assistant", "writer", "Draft."),
        ("user", None, "more formal"),
    ]
    second, review = only_request(again)
    assert second.request_id != request.request_id
    assert (review.agent_name, review.text, review.revision) == ("writer", "Dear reader: draft.", 1)

    done = await paused.run.respond({second.request_id: review.approve()})
    assert [o.text for o in done.outputs] == ["Final."]
    assert seen(editor_client.requests[0].messages)[-1] == (
        "assistant",
        "writer",
        "Dear reader: draft.",
    )
    assert done.requests == ()


async def test_a_reviewed_last_agent_outputs_its_approved_revision() -> None:
    writer_client = ScriptedChatClient(["Draft.", "Better draft."])
    workflow = SequentialBuilder([make_agent("writer", writer_client)]).with_request_info().build()
    paused = await workflow.run("go")
    assert paused.run is not None
    request, _ = only_request(paused)
    again = await paused.run.respond({request.request_id: "improve it"})
    assert again.outputs == ()
    second, review = only_request(again)
    done = await paused.run.respond({second.request_id: review.approve()})
    (output,) = done.outputs
    assert isinstance(output, AgentResponse) and output.text == "Better draft."


async def test_with_request_info_without_agents_reviews_every_agent_but_not_executors() -> None:
    builder = SequentialBuilder(
        [
            make_agent("writer", ScriptedChatClient(["Draft."])),
            Stamp("stamp"),
            make_agent("editor", ScriptedChatClient(["Final."])),
        ]
    )
    assert builder.with_request_info() is builder
    assert builder.reviewed_agents == frozenset({"writer", "editor"})
    workflow = builder.build()
    assert [type(workflow.executors[i]) for i in ("writer", "stamp", "editor")] == [
        ReviewedAgent,
        Stamp,
        ReviewedAgent,
    ]
    first = await workflow.run("go")
    request, review = only_request(first)
    assert review.agent_name == "writer"
    assert first.run is not None
    second = await first.run.respond({request.request_id: review.approve()})
    request, review = only_request(second)
    assert (review.agent_name, review.text) == ("editor", "Final.")
    done = await first.run.respond({request.request_id: review.approve()})
    assert [o.text for o in done.outputs] == ["Final."]


async def test_an_empty_revision_is_refused_and_the_review_stays_pending() -> None:
    with pytest.raises(ValidationError, match="a revision needs feedback text"):
        AgentReviewResponse(approved=False)
    with pytest.raises(ValidationError, match="a revision needs feedback text"):
        AgentReviewRequest.revise("   ")
    workflow, _, editor_client = reviewed_pipeline(["Draft."], ["Final."])
    paused = await workflow.run("go")
    request, review = only_request(paused)
    assert paused.run is not None
    with pytest.raises(ResponseError, match="a revision needs feedback text"):
        await paused.run.respond({request.request_id: ""})
    assert paused.run.pending_requests == (request,)
    done = await paused.run.respond({request.request_id: review.approve()})
    assert [o.text for o in done.outputs] == ["Final."]
    assert len(editor_client.requests) == 1


# --- errors ----------------------------------------------------------------------------------------


def test_with_request_info_rejects_an_empty_list() -> None:
    builder, _, _ = pipeline([], [])
    with pytest.raises(ValueError, match=r"the list is empty; name the agents to review"):
        builder.with_request_info(agents=[])


def test_with_request_info_rejects_an_unknown_name_listing_the_participants() -> None:
    builder, _, _ = pipeline([], [])
    with pytest.raises(
        ValueError,
        match=r"`ghost` is not a participant \(participants: `writer`, `editor`\)",
    ):
        builder.with_request_info(agents=["writer", "ghost"])


def test_with_request_info_rejects_a_name_given_twice() -> None:
    builder, _, _ = pipeline([], [])
    writer = builder.members[0].agent
    with pytest.raises(ValueError, match="`writer` is named twice"):
        builder.with_request_info(agents=[writer, "writer"])  # type: ignore[list-item]


def test_with_request_info_rejects_a_custom_executor() -> None:
    builder = SequentialBuilder([make_agent("writer", ScriptedChatClient([])), Stamp("stamp")])
    with pytest.raises(ValueError, match="`stamp` is an executor, not an agent"):
        builder.with_request_info(agents=[Stamp("stamp")])
    assert builder.reviewed_agents == frozenset()


def test_with_request_info_needs_an_agent_to_review() -> None:
    builder = SequentialBuilder([Stamp("stamp")])
    with pytest.raises(ValueError, match="no participant is an agent, so nothing can be reviewed"):
        builder.with_request_info()


def test_with_request_info_rejects_a_single_name_instead_of_a_list() -> None:
    builder, _, _ = pipeline([], [])
    with pytest.raises(TypeError, match="takes a list of participants or names, got str"):
        builder.with_request_info(agents="writer")


def test_a_pipeline_needs_participants() -> None:
    with pytest.raises(ValueError, match="SequentialBuilder needs at least one participant"):
        SequentialBuilder([])


def test_participants_must_be_a_list() -> None:
    with pytest.raises(TypeError, match=r"SequentialBuilder takes participants=\[...\].*got str"):
        SequentialBuilder("x")  # type: ignore[arg-type]
    agent = make_agent("writer", ScriptedChatClient([]))
    with pytest.raises(TypeError, match=r"takes participants=\[...\].*got Agent"):
        SequentialBuilder(agent)  # type: ignore[arg-type]


def test_a_participant_must_be_an_agent_or_an_executor() -> None:
    agent = make_agent("writer", ScriptedChatClient([]))
    with pytest.raises(TypeError, match="participant 1 is a int; participants are `Agent`s"):
        SequentialBuilder([agent, 42])  # type: ignore[list-item]


def test_two_participants_may_not_share_a_name() -> None:
    first = make_agent("writer", ScriptedChatClient([]))
    second = make_agent("writer", ScriptedChatClient([]))
    with pytest.raises(ValueError, match="several participants are named `writer`"):
        SequentialBuilder([first, Stamp("stamp"), second])
    with pytest.raises(ValueError, match="several participants are named `stamp`"):
        SequentialBuilder([Stamp("stamp"), first, Stamp("stamp")])


@pytest.mark.parametrize("name", ["input", "output"])
def test_a_participant_may_not_take_the_name_of_a_builder_node(name: str) -> None:
    with pytest.raises(
        ValueError,
        match=f"the participant name `{name}` is used by the builder's own executor",
    ):
        SequentialBuilder([make_agent(name, ScriptedChatClient([]))])


def test_output_must_be_response_or_conversation() -> None:
    with pytest.raises(
        ValueError, match="output must be 'response' or 'conversation', got 'bogus'"
    ):
        SequentialBuilder([make_agent("writer", ScriptedChatClient([]))], output="bogus")  # type: ignore[arg-type]


# --- builders, workflows and runs stay apart -------------------------------------------------------


async def test_building_never_changes_the_agents() -> None:
    writer = make_agent("writer", ScriptedChatClient(["Draft."]), tools=[word_count])
    editor = make_agent("editor", ScriptedChatClient(["Final."]), description="Edits drafts.")
    before = (writer.replace(), editor.replace())
    tools = writer.tools
    builder = SequentialBuilder([writer, editor]).with_request_info(agents=[writer])
    workflow = builder.build()
    paused = await workflow.run("go")
    request, review = only_request(paused)
    assert paused.run is not None
    await paused.run.respond({request.request_id: review.approve()})
    assert (writer, editor) == before
    assert writer.tools is tools and [t.name for t in writer.tools] == ["word_count"]
    assert workflow.executors["writer"].agent is writer  # type: ignore[attr-defined]


async def test_building_twice_gives_independent_workflows() -> None:
    stamp = Stamp("stamp")
    builder = SequentialBuilder(
        [make_agent("writer", ScriptedChatClient(["Draft.", "Draft 2."])), stamp]
    )
    first = builder.build()
    second = builder.with_request_info().build()
    assert first is not second
    for executor_id in ("input", "writer", "output"):
        assert first.executors[executor_id] is not second.executors[executor_id]
    assert first.executors["stamp"] is second.executors["stamp"] is stamp  # the user's own
    assert type(first.executors["writer"]) is ConversationAgent  # configured later, not changed
    assert type(second.executors["writer"]) is ReviewedAgent
    assert (await first.run("go")).status is RunStatus.IDLE
    assert (await second.run("go")).status is RunStatus.IDLE_WITH_PENDING_REQUESTS


async def test_one_workflow_serves_concurrent_runs_with_separate_conversations() -> None:
    barrier = asyncio.Barrier(2)
    writer_client = ScriptedChatClient.from_rules(
        {"tea": "Tea is brewed.", "coffee": "Coffee is ground."}
    )
    editor_client = ScriptedChatClient.from_rules(
        {"tea": "Tea, edited.", "coffee": "Coffee, edited."}
    )
    writer = Agent(GatedClient(writer_client, barrier), name="writer", instructions="Write.")
    workflow = SequentialBuilder(
        [writer, make_agent("editor", editor_client)], output="conversation"
    ).build()
    async with asyncio.timeout(5):  # both writers must be in flight at once to pass the barrier
        tea, coffee = await asyncio.gather(
            workflow.run("tea please"), workflow.run("coffee please")
        )
    assert [m.text for m in tea.outputs[0]] == ["tea please", "Tea is brewed.", "Tea, edited."]
    assert [m.text for m in coffee.outputs[0]] == [
        "coffee please",
        "Coffee is ground.",
        "Coffee, edited.",
    ]
    assert sorted(len(r.messages) for r in editor_client.requests) == [3, 3]


# --- streaming -------------------------------------------------------------------------------------


def rule_pipeline() -> tuple[Workflow, ScriptedChatClient, ScriptedChatClient]:
    writer_client = ScriptedChatClient.from_rules({"rain": "Rain is wet today."})
    editor_client = ScriptedChatClient.from_rules({"rain": "Today the rain is wet."})
    proofreader = AgentExecutor(make_agent("editor", editor_client), id="proofreader")
    workflow = SequentialBuilder(
        [make_agent("writer", writer_client), proofreader], output="conversation"
    ).build()
    return workflow, writer_client, editor_client


async def test_streaming_and_awaiting_give_the_same_outputs() -> None:
    workflow, writer_client, _ = rule_pipeline()
    awaited = await workflow.run("about rain")
    events = [event async for event in workflow.run("about rain", stream=True)]
    streamed = [e.data for e in events if isinstance(e, OutputEvent)]
    assert streamed == list(awaited.outputs)
    assert [m.text for m in streamed[0]] == [
        "about rain",
        "Rain is wet today.",
        "Today the rain is wet.",
    ]
    assert [r.stream for r in writer_client.requests] == [False, True]


async def test_streaming_emits_agent_updates_tagged_with_each_executor_id() -> None:
    workflow, _, _ = rule_pipeline()
    events = [event async for event in workflow.run("about rain", stream=True)]
    updates = [e for e in events if isinstance(e, AgentRunUpdateEvent)]
    assert {e.type for e in updates} == {"agent_run_update"}
    assert list(dict.fromkeys(e.executor_id for e in updates)) == ["writer", "proofreader"]
    texts = {
        speaker: "".join(e.update.text for e in updates if e.executor_id == speaker)
        for speaker in ("writer", "proofreader")
    }
    assert texts == {"writer": "Rain is wet today.", "proofreader": "Today the rain is wet."}
    assert {e.update.agent_name for e in updates if e.executor_id == "proofreader"} == {"editor"}
    last_update = max(i for i, e in enumerate(events) if isinstance(e, AgentRunUpdateEvent))
    first_output = min(i for i, e in enumerate(events) if isinstance(e, OutputEvent))
    assert last_update < first_output


async def test_awaited_runs_emit_no_agent_updates() -> None:
    workflow, _, _ = rule_pipeline()
    result = await workflow.run("about rain")
    assert not [e for e in result.events if e.type == "agent_run_update"]


async def test_streaming_a_tool_calling_agent_streams_its_tool_results() -> None:
    client = ScriptedChatClient([ToolCall("word_count", {"text": "a b c"}), "Three words."])
    workflow = SequentialBuilder([make_agent("counter", client, tools=[word_count])]).build()
    events = [event async for event in workflow.run("count a b c", stream=True)]
    updates = [e.update for e in events if isinstance(e, AgentRunUpdateEvent)]
    assert [r.result for u in updates for r in u.tool_results] == [3]
    (output,) = [e.data for e in events if isinstance(e, OutputEvent)]
    assert output.text == "Three words."
    assert [m.role for m in output.messages] == ["assistant", "tool", "assistant"]


# --- checkpoints -----------------------------------------------------------------------------------


async def test_a_paused_review_resumes_from_a_checkpoint_on_a_fresh_workflow() -> None:
    workflow, _, _ = reviewed_pipeline(["Draft."], ["Final."])
    uninterrupted = await workflow.run("go")
    request, review = only_request(uninterrupted)
    assert uninterrupted.run is not None
    expected = await uninterrupted.run.respond({request.request_id: review.approve()})

    store = InMemoryCheckpointStore()
    workflow, _, _ = reviewed_pipeline(["Draft."], [])
    paused = await workflow.run("go", checkpoint_store=store, run_id="review")
    request, review = only_request(paused)
    fresh, writer_client, editor_client = reviewed_pipeline([], ["Final."])
    done = await fresh.resume(
        "review", store=store, responses={request.request_id: review.approve()}
    )
    assert done.status is RunStatus.IDLE
    assert done.outputs == expected.outputs
    assert writer_client.requests == ()  # the draft came from the checkpoint
    assert seen(editor_client.requests[0].messages[1:]) == [
        ("user", None, "go"),
        ("assistant", "writer", "Draft."),
    ]


async def test_a_revision_after_resuming_keeps_the_reviewed_conversation_and_revision_count() -> (
    None
):
    store = InMemoryCheckpointStore()
    workflow, _, _ = reviewed_pipeline(["Draft."], [])
    paused = await workflow.run("go", checkpoint_store=store, run_id="revise")
    request, _ = only_request(paused)

    fresh, writer_client, _ = reviewed_pipeline(["Formal draft."], [])
    again = await fresh.resume("revise", store=store, responses={request.request_id: "formal"})
    assert seen(writer_client.requests[0].messages[1:]) == [
        ("user", None, "go"),
        ("assistant", "writer", "Draft."),
        ("user", None, "formal"),
    ]
    second, review = only_request(again)
    assert (review.text, review.revision) == ("Formal draft.", 1)

    last, _, editor_client = reviewed_pipeline([], ["Final."])
    done = await last.resume("revise", store=store, responses={second.request_id: review.approve()})
    assert [o.text for o in done.outputs] == ["Final."]
    assert [m.text for m in editor_client.requests[0].messages[1:]] == [
        "go",
        "Draft.",
        "formal",
        "Formal draft.",
    ]
