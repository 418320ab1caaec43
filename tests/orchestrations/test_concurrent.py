from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest

from engine import (
    Executor,
    InMemoryCheckpointStore,
    OutputEvent,
    RunStatus,
    Workflow,
    WorkflowBuilder,
    WorkflowContext,
    executor,
    handler,
)
from engine.edges import FanInEdgeGroup, FanOutEdgeGroup, SingleEdgeGroup
from executors.agents import (
    Agent,
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
    ConcurrentBuilder,
    ConversationAgent,
    ConversationInput,
    ParticipantResult,
)
from orchestrations.concurrent import ConcurrentAggregator
from tests.orchestrations.support import make_agent, seen


@tool
def exchange_rate(currency: str) -> float:
    """Look up how many euros one unit of a currency buys."""
    return {"usd": 0.9}.get(currency, 1.0)


class Echo(Executor):
    """A custom participant: answers with the prompt in capitals, without touching the prompt."""

    @handler
    async def on_conversation(
        self, conversation: list[ChatMessage], ctx: WorkflowContext[list[ChatMessage]]
    ) -> None:
        reply = ChatMessage("assistant", conversation[-1].text.upper(), author_name=self.id)
        await ctx.send_message([*conversation, reply])


class AppendInPlace(Executor):
    """A custom participant that appends its turn to the list it received and sends that list on."""

    @handler
    async def on_conversation(
        self, conversation: list[ChatMessage], ctx: WorkflowContext[list[ChatMessage]]
    ) -> None:
        conversation.append(ChatMessage("assistant", "in place", author_name=self.id))
        await ctx.send_message(conversation)


class Summary(Executor):
    """An aggregator executor: yields one line per participant."""

    @handler
    async def on_results(
        self, results: list[ParticipantResult], ctx: WorkflowContext[None, str]
    ) -> None:
        await ctx.yield_output("; ".join(f"{r.participant}={r.text}" for r in results))


class OrderedClient:
    """Delegates to `inner`; waits for `after` before answering, sets `finished` and logs when done."""

    def __init__(
        self,
        inner: ScriptedChatClient,
        name: str,
        log: list[str],
        *,
        after: asyncio.Event | None = None,
        finished: asyncio.Event | None = None,
    ) -> None:
        self.inner, self.name, self.log = inner, name, log
        self.after, self.finished = after, finished

    async def _wait(self) -> None:
        if self.after is not None:
            await self.after.wait()

    def _done(self) -> None:
        self.log.append(self.name)
        if self.finished is not None:
            self.finished.set()

    async def get_response(
        self, messages: Sequence[ChatMessage], *, tools: Sequence[ToolSpec] | None = None, **kw: Any
    ) -> ChatResponse:
        await self._wait()
        response = await self.inner.get_response(messages, tools=tools, **kw)
        self._done()
        return response

    async def get_streaming_response(
        self, messages: Sequence[ChatMessage], *, tools: Sequence[ToolSpec] | None = None, **kw: Any
    ) -> AsyncIterator[ChatResponseUpdate]:
        await self._wait()
        async for update in self.inner.get_streaming_response(messages, tools=tools, **kw):
            yield update
        self._done()


def reversed_finish(log: list[str]) -> tuple[Agent, Agent]:
    """Agents `first` and `second`, where `first` answers only after `second` has finished."""
    second_done = asyncio.Event()
    first = OrderedClient(ScriptedChatClient(["First."]), "first", log, after=second_done)
    second = OrderedClient(ScriptedChatClient(["Second."]), "second", log, finished=second_done)
    return make_agent("first", first), make_agent("second", second)


def two_agents() -> tuple[ConcurrentBuilder, ScriptedChatClient, ScriptedChatClient]:
    legal = ScriptedChatClient(["Legal says yes."])
    finance = ScriptedChatClient(["Finance says no."])
    builder = ConcurrentBuilder([make_agent("legal", legal), make_agent("finance", finance)])
    return builder, legal, finance


def rule_builder() -> tuple[ConcurrentBuilder, ScriptedChatClient, ScriptedChatClient]:
    legal = ScriptedChatClient.from_rules({"merger": "Legal: file it.", "hire": "Legal: contract."})
    finance = ScriptedChatClient.from_rules({"merger": "Finance: pricey.", "hire": "Finance: ok."})
    builder = ConcurrentBuilder([make_agent("legal", legal), make_agent("finance", finance)])
    return builder, legal, finance


def rule_workflow() -> tuple[Workflow, ScriptedChatClient, ScriptedChatClient]:
    builder, legal, finance = rule_builder()
    return builder.build(), legal, finance


# --- what participants see and what comes out ------------------------------------------------------


async def test_every_participant_receives_the_same_prompt_and_not_each_others_replies() -> None:
    builder, legal, finance = two_agents()
    await builder.build().run("Should we merge?")
    for name, client in (("legal", legal), ("finance", finance)):
        (request,) = client.requests
        assert seen(request.messages) == [
            ("system", None, f"You are {name}."),
            ("user", None, "Should we merge?"),
        ]


async def test_the_default_output_is_each_participants_reply_in_participant_order() -> None:
    builder, _, _ = two_agents()
    result = await builder.build().run("Should we merge?")
    assert result.status is RunStatus.IDLE
    (output,) = result.outputs
    assert seen(output) == [
        ("assistant", "legal", "Legal says yes."),
        ("assistant", "finance", "Finance says no."),
    ]
    assert [e.executor_id for e in result.events if isinstance(e, OutputEvent)] == ["aggregator"]


async def test_the_output_keeps_participant_order_when_they_finish_in_reverse() -> None:
    log: list[str] = []
    workflow = ConcurrentBuilder(list(reversed_finish(log))).build()
    async with asyncio.timeout(5):  # `first` waits for `second`: they must run at the same time
        result = await workflow.run("go")
    assert log == ["second", "first"]
    assert [(m.author_name, m.text) for m in result.outputs[0]] == [
        ("first", "First."),
        ("second", "Second."),
    ]


async def test_an_input_conversation_is_the_prompt_of_every_participant() -> None:
    builder, legal, finance = two_agents()
    prompt = [ChatMessage("user", "Context."), ChatMessage("user", "Question?")]
    result = await builder.build().run(prompt)
    for client in (legal, finance):
        assert [m.text for m in client.requests[0].messages[1:]] == ["Context.", "Question?"]
    assert [m.text for m in result.outputs[0]] == ["Legal says yes.", "Finance says no."]


# --- aggregators -----------------------------------------------------------------------------------


async def test_a_function_aggregator_receives_results_in_participant_order() -> None:
    log: list[str] = []
    received: list[list[ParticipantResult]] = []

    def aggregate(results: list[ParticipantResult]) -> str:
        received.append(results)
        return " + ".join(f"{r.participant}: {r.text}" for r in results)

    workflow = ConcurrentBuilder(list(reversed_finish(log))).with_aggregator(aggregate).build()
    async with asyncio.timeout(5):
        result = await workflow.run("go")
    assert log == ["second", "first"]
    assert result.outputs == ("first: First. + second: Second.",)
    ((first, second),) = received
    assert isinstance(first, ParticipantResult)
    assert (first.participant, second.participant) == ("first", "second")
    assert seen(first.messages) == [("assistant", "first", "First.")]
    assert first.reply == first.messages[0] and second.text == "Second."


async def test_an_async_function_aggregator_is_awaited() -> None:
    async def aggregate(results: list[ParticipantResult]) -> dict[str, str]:
        await asyncio.sleep(0)
        return {r.participant: r.text for r in results}

    builder, _, _ = two_agents()
    result = await builder.with_aggregator(aggregate).build().run("go")
    assert result.outputs == ({"legal": "Legal says yes.", "finance": "Finance says no."},)


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
async def test_an_aggregator_returning_none_gives_no_output(is_async: bool) -> None:
    calls: list[int] = []

    def sync_aggregate(results: list[ParticipantResult]) -> None:
        calls.append(len(results))

    async def async_aggregate(results: list[ParticipantResult]) -> None:
        calls.append(len(results))

    builder, _, _ = two_agents()
    builder.with_aggregator(async_aggregate if is_async else sync_aggregate)
    result = await builder.build().run("go")
    assert calls == [2]
    assert result.outputs == ()
    assert result.status is RunStatus.IDLE
    assert not [e for e in result.events if e.type == "message_dropped"]


async def test_a_result_holds_the_participants_tool_messages_and_its_final_reply() -> None:
    client = ScriptedChatClient([ToolCall("exchange_rate", {"currency": "usd"}), "0.9 EUR."])
    results: list[ParticipantResult] = []
    workflow = (
        ConcurrentBuilder([make_agent("fx", client, tools=[exchange_rate]), Echo("echo")])
        .with_aggregator(lambda found: results.extend(found))
        .build()
    )
    await workflow.run("usd?")
    fx, echo = results
    assert [m.role for m in fx.messages] == ["assistant", "tool", "assistant"]
    assert fx.messages[1].contents[0].result == 0.9  # type: ignore[union-attr]
    assert fx.reply == fx.messages[-1] and fx.text == "0.9 EUR."
    assert seen(echo.messages) == [("assistant", "echo", "USD?")]


def test_a_result_without_an_assistant_message_has_no_reply() -> None:
    result = ParticipantResult(participant="quiet", messages=(ChatMessage("tool", ()),))
    assert result.reply is None and result.text == ""


async def test_an_executor_aggregator_receives_the_results_and_yields() -> None:
    builder, _, _ = two_agents()
    summary = Summary("summary")
    assert builder.with_aggregator(summary) is builder
    workflow = builder.build()
    assert list(workflow.executors) == ["dispatcher", "legal", "finance", "aggregator", "summary"]
    assert workflow.executors["summary"] is summary
    assert workflow.edge_groups[-1] == SingleEdgeGroup("aggregator", "summary")
    result = await workflow.run("go")
    assert result.outputs == ("legal=Legal says yes.; finance=Finance says no.",)
    assert [e.executor_id for e in result.events if isinstance(e, OutputEvent)] == ["summary"]


async def test_the_last_with_aggregator_call_wins() -> None:
    builder, _, _ = two_agents()
    builder.with_aggregator(Summary("summary")).with_aggregator(lambda rs: len(rs))
    workflow = builder.build()
    assert "summary" not in workflow.executors
    assert (await workflow.run("go")).outputs == (2,)


# --- participants of other kinds -------------------------------------------------------------------


async def test_a_single_participant_works() -> None:
    client = ScriptedChatClient(["Alone."])
    workflow = ConcurrentBuilder([make_agent("solo", client)]).build()
    assert workflow.edge_groups == (
        SingleEdgeGroup("dispatcher", "solo"),
        FanInEdgeGroup(("dispatcher", "solo"), "aggregator"),
    )
    result = await workflow.run("hi")
    assert seen(result.outputs[0]) == [("assistant", "solo", "Alone.")]
    assert seen(client.requests[0].messages[1:]) == [("user", None, "hi")]


async def test_a_custom_executor_participant_works_next_to_an_agent() -> None:
    client = ScriptedChatClient(["An agent reply."])
    echo = Echo("echo")
    workflow = ConcurrentBuilder([echo, make_agent("agent", client)]).build()
    assert workflow.executors["echo"] is echo
    result = await workflow.run("shout this")
    assert seen(result.outputs[0]) == [
        ("assistant", "echo", "SHOUT THIS"),
        ("assistant", "agent", "An agent reply."),
    ]
    assert seen(client.requests[0].messages[1:]) == [("user", None, "shout this")]


@pytest.mark.parametrize("appender_first", [True, False], ids=["appender-first", "agent-first"])
async def test_a_participant_appending_in_place_changes_no_other_prompt(
    appender_first: bool,
) -> None:
    client = ScriptedChatClient(["An agent reply."])
    participants: list[Agent | Executor] = [AppendInPlace("appender"), make_agent("agent", client)]
    if not appender_first:
        participants.reverse()
    result = await ConcurrentBuilder(participants).build().run("question")
    assert seen(client.requests[0].messages[1:]) == [("user", None, "question")]
    replies = {m.author_name: m.text for m in result.outputs[0]}
    assert replies == {"appender": "in place", "agent": "An agent reply."}


async def test_a_custom_participant_without_a_reply_is_left_out_of_the_default_output() -> None:
    @executor(id="silent")
    async def silent(
        conversation: list[ChatMessage], ctx: WorkflowContext[list[ChatMessage]]
    ) -> None:
        await ctx.send_message(list(conversation))

    builder, _, _ = two_agents()
    members = [m.agent for m in builder.members]
    workflow = ConcurrentBuilder([members[0], silent, members[1]]).build()  # type: ignore[list-item]
    result = await workflow.run("go")
    assert [m.author_name for m in result.outputs[0]] == ["legal", "finance"]


# --- the compiled graph ----------------------------------------------------------------------------


def test_compile_wires_dispatcher_fan_out_and_fan_in_into_the_aggregator() -> None:
    builder, _, _ = two_agents()
    compiled = builder.compile()
    assert isinstance(compiled, WorkflowBuilder)
    workflow = compiled.build()
    assert list(workflow.executors) == ["dispatcher", "legal", "finance", "aggregator"]
    assert workflow.start_executor_id == "dispatcher"
    assert isinstance(workflow.executors["dispatcher"], ConversationInput)
    assert type(workflow.executors["legal"]) is ConversationAgent
    assert isinstance(workflow.executors["aggregator"], ConcurrentAggregator)
    fan_out, fan_in = workflow.edge_groups
    assert isinstance(fan_out, FanOutEdgeGroup) and isinstance(fan_in, FanInEdgeGroup)
    assert (fan_out.source, fan_out.target_ids, fan_out.selection) == (
        "dispatcher",
        ("legal", "finance"),
        None,
    )
    assert (fan_in.source_ids, fan_in.target) == (("dispatcher", "legal", "finance"), "aggregator")
    assert sorted(workflow.to_networkx().edges()) == [
        ("dispatcher", "aggregator"),
        ("dispatcher", "finance"),
        ("dispatcher", "legal"),
        ("finance", "aggregator"),
        ("legal", "aggregator"),
    ]
    mermaid = workflow.to_mermaid()
    for line in (
        'dispatcher -->|"fan-out"| legal',
        'dispatcher -->|"fan-out"| finance',
        "dispatcher -->|fan-in| join_1",
        "legal -->|fan-in| join_1",
        "finance -->|fan-in| join_1",
        "join_1 --> aggregator",
    ):
        assert f"  {line}\n" in mermaid
    assert (workflow.name, workflow.max_supersteps) == ("concurrent", 1000)


async def test_executors_wired_on_after_compile_receive_the_results() -> None:
    builder, _, _ = two_agents()
    workflow = builder.compile().add_edge("aggregator", Summary("summary")).build()
    result = await workflow.run("go")
    assert result.outputs == ("legal=Legal says yes.; finance=Finance says no.",)


# --- errors ----------------------------------------------------------------------------------------


def test_with_aggregator_rejects_what_is_neither_a_function_nor_an_executor() -> None:
    builder, _, _ = two_agents()
    with pytest.raises(
        TypeError,
        match="with_aggregator\\(\\) takes a function of the results or an Executor, got int",
    ):
        builder.with_aggregator(42)  # type: ignore[arg-type]


@pytest.mark.parametrize("taken", ["aggregator", "dispatcher", "legal"])
def test_an_aggregator_executor_may_not_reuse_an_id_of_the_orchestration(taken: str) -> None:
    builder, _, _ = two_agents()
    with pytest.raises(
        ValueError,
        match=f"the aggregator executor's id `{taken}` is already used in this orchestration",
    ):
        builder.with_aggregator(Summary(taken))
    assert [type(e).__name__ for e in builder.build().executors.values()][-1] == (
        "ConcurrentAggregator"
    )


@pytest.mark.parametrize("name", ["dispatcher", "aggregator"])
def test_a_participant_may_not_take_the_name_of_a_builder_node(name: str) -> None:
    with pytest.raises(
        ValueError,
        match=f"ConcurrentBuilder: the participant name `{name}` is used by the builder's own",
    ):
        ConcurrentBuilder([make_agent(name, ScriptedChatClient([]))])


def test_participants_are_checked() -> None:
    with pytest.raises(ValueError, match="ConcurrentBuilder needs at least one participant"):
        ConcurrentBuilder([])
    with pytest.raises(TypeError, match=r"ConcurrentBuilder takes participants=\[...\].*got str"):
        ConcurrentBuilder("legal")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="ConcurrentBuilder: participant 0 is a int"):
        ConcurrentBuilder([42])  # type: ignore[list-item]
    echo = Echo("echo")
    with pytest.raises(ValueError, match="several participants are named `echo`"):
        ConcurrentBuilder([echo, echo])


# --- streaming, concurrent runs, independent builds ------------------------------------------------


async def test_streaming_and_awaiting_give_the_same_outputs() -> None:
    workflow, legal, _ = rule_workflow()
    awaited = await workflow.run("a merger")
    events = [event async for event in workflow.run("a merger", stream=True)]
    streamed = [e.data for e in events if isinstance(e, OutputEvent)]
    assert streamed == list(awaited.outputs)
    assert [m.text for m in streamed[0]] == ["Legal: file it.", "Finance: pricey."]
    assert [r.stream for r in legal.requests] == [False, True]


async def test_streaming_emits_agent_updates_tagged_with_each_participant() -> None:
    workflow, _, _ = rule_workflow()
    events = [event async for event in workflow.run("a merger", stream=True)]
    updates = [e for e in events if isinstance(e, AgentRunUpdateEvent)]
    texts = {
        speaker: "".join(e.update.text for e in updates if e.executor_id == speaker)
        for speaker in {e.executor_id for e in updates}
    }
    assert texts == {"legal": "Legal: file it.", "finance": "Finance: pricey."}


async def test_one_workflow_serves_concurrent_runs_with_separate_results() -> None:
    workflow, legal, _ = rule_workflow()
    merger, hire = await asyncio.gather(workflow.run("a merger"), workflow.run("a hire"))
    assert [m.text for m in merger.outputs[0]] == ["Legal: file it.", "Finance: pricey."]
    assert [m.text for m in hire.outputs[0]] == ["Legal: contract.", "Finance: ok."]
    assert sorted(r.messages[-1].text for r in legal.requests) == ["a hire", "a merger"]


async def test_concurrent_runs_keep_their_fan_in_sets_apart() -> None:
    log: list[str] = []
    second_done = asyncio.Event()
    slow = OrderedClient(
        ScriptedChatClient.from_rules({"one": "slow one", "two": "slow two"}),
        "slow",
        log,
        after=second_done,
    )
    fast = OrderedClient(
        ScriptedChatClient.from_rules({"one": "fast one", "two": "fast two"}),
        "fast",
        log,
        finished=second_done,
    )
    workflow = ConcurrentBuilder([make_agent("slow", slow), make_agent("fast", fast)]).build()
    async with asyncio.timeout(5):
        one, two = await asyncio.gather(workflow.run("run one"), workflow.run("run two"))
    assert [m.text for m in one.outputs[0]] == ["slow one", "fast one"]
    assert [m.text for m in two.outputs[0]] == ["slow two", "fast two"]


async def test_building_twice_gives_independent_workflows() -> None:
    builder, _, _ = rule_builder()
    first = builder.build()
    second = builder.with_aggregator(lambda results: len(results)).build()
    for executor_id in ("dispatcher", "legal", "finance", "aggregator"):
        assert first.executors[executor_id] is not second.executors[executor_id]
    legal_agent = builder.members[0].agent
    assert first.executors["legal"].agent is legal_agent  # type: ignore[attr-defined]
    assert second.executors["legal"].agent is legal_agent  # type: ignore[attr-defined]
    first_result = await first.run("a merger")  # configured later, not changed
    assert [m.text for m in first_result.outputs[0]] == ["Legal: file it.", "Finance: pricey."]
    assert (await second.run("a merger")).outputs == (2,)


async def test_building_never_changes_the_agents() -> None:
    agent = make_agent("fx", ScriptedChatClient(["0.9 EUR."]), tools=[exchange_rate])
    before = agent.replace()
    tools = agent.tools
    workflow = ConcurrentBuilder([agent, Echo("echo")]).build()
    await workflow.run("usd?")
    assert agent == before
    assert agent.tools is tools and [t.name for t in agent.tools] == ["exchange_rate"]


# --- checkpoints -----------------------------------------------------------------------------------


def checkpointed_workflow() -> tuple[Workflow, ScriptedChatClient, ScriptedChatClient]:
    builder, legal, finance = two_agents()
    return (
        builder.with_aggregator(lambda rs: [(r.participant, r.text) for r in rs]).build(),
        legal,
        finance,
    )


async def test_resuming_from_a_mid_run_checkpoint_gives_the_same_output() -> None:
    store = InMemoryCheckpointStore()
    workflow, _, _ = checkpointed_workflow()
    expected = await workflow.run("merge?", checkpoint_store=store, run_id="c")
    assert expected.outputs == ([("legal", "Legal says yes."), ("finance", "Finance says no.")],)
    checkpoints = await store.list_checkpoints("c")
    after_dispatch = next(c for c in checkpoints if c.reason == "superstep" and c.superstep == 1)
    saved = await store.load(after_dispatch.checkpoint_id)
    assert [p["target"] for p in saved.pending] == ["legal", "finance"]
    assert list(next(iter(saved.fan_in_buffers.values()))) == ["dispatcher"]

    fresh, legal, finance = checkpointed_workflow()
    resumed = await fresh.resume(checkpoint_id=after_dispatch.checkpoint_id, store=store)
    assert resumed.outputs == expected.outputs
    assert resumed.status is RunStatus.IDLE
    assert seen(legal.requests[0].messages[1:]) == [("user", None, "merge?")]
    assert len(finance.requests) == 1


async def test_resuming_after_the_participants_answered_calls_no_model() -> None:
    store = InMemoryCheckpointStore()
    workflow, _, _ = checkpointed_workflow()
    expected = await workflow.run("merge?", checkpoint_store=store, run_id="late")
    checkpoints = await store.list_checkpoints("late")
    after_answers = next(c for c in checkpoints if c.reason == "superstep" and c.superstep == 2)
    fresh, legal, finance = checkpointed_workflow()
    resumed = await fresh.resume(checkpoint_id=after_answers.checkpoint_id, store=store)
    assert resumed.outputs == expected.outputs
    assert legal.requests == () and finance.requests == ()


async def test_a_function_aggregate_is_sent_to_executors_wired_on_after_the_aggregator() -> None:
    @executor(id="publish")
    async def publish(summary: str, ctx: WorkflowContext[None, str]) -> None:
        await ctx.yield_output(f"published: {summary}")

    a = Agent(ScriptedChatClient(["A."]), name="a", instructions="")
    b = Agent(ScriptedChatClient(["B."]), name="b", instructions="")
    builder = ConcurrentBuilder([a, b]).with_aggregator(lambda rs: "+".join(r.text for r in rs))
    workflow = builder.compile().add_edge("aggregator", publish).build()
    result = await workflow.run("q")
    assert result.outputs == ("published: A.+B.",)
