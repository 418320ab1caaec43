"""HandoffBuilder: options, build errors, badly behaved models, termination, streaming, compile()."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from engine import (
    BatonWarning,
    Case,
    Default,
    Executor,
    ExecutorFailedError,
    OutputEvent,
    RunStatus,
    WorkflowContext,
    WorkflowValidationError,
    executor,
    handler,
)
from executors import Agent, AgentRunUpdateEvent, ChatMessage, ScriptedChatClient, ToolCall, tool
from executors.agents import (
    ChatResponse,
    ChatResponseUpdate,
    FunctionCallContent,
    FunctionResultContent,
    ToolSpec,
)
from orchestrations import (
    HANDOFF_OUTPUT_ID,
    HandoffAgentUserRequest,
    HandoffBuilder,
    HandoffUserResponse,
    handoff_tool_name,
)
from tests.orchestrations.support import client_of, completions, handoffs


def agent(name: str, replies: list[Any], description: str | None = None, **kw: Any) -> Agent:
    return Agent(
        ScriptedChatClient(replies), name=name, instructions=name, description=description, **kw
    )


def errors_in(a: Agent, request: int) -> list[FunctionResultContent]:
    return [
        part
        for m in client_of(a).requests[request].messages
        for part in m.contents
        if isinstance(part, FunctionResultContent) and part.is_error
    ]


def pair(
    a_replies: list[Any], b_replies: list[Any], **kw: Any
) -> tuple[HandoffBuilder, Agent, Agent]:
    a = agent("a", a_replies, "Agent A.")
    b = agent("b", b_replies, "Agent B.")
    return HandoffBuilder([a, b], **kw).add_handoff(a, [b]), a, b


def build(builder: HandoffBuilder) -> Any:
    with pytest.warns(BatonWarning, match="no outbound handoff"):
        return builder.build()


# --- building ---------------------------------------------------------------------------------------


def test_without_add_handoff_every_agent_may_hand_off_to_every_other() -> None:
    agents = [agent(n, [], f"{n} desc") for n in ("x", "y", "z")]
    workflow = HandoffBuilder(agents).build()  # a full mesh has no terminal agent: no warning
    tools = {
        node_id: [t.name for t in node.handoff_tools]
        for node_id, node in workflow.executors.items()
        if node_id != HANDOFF_OUTPUT_ID
    }
    assert tools == {
        "x": ["handoff_to_y", "handoff_to_z"],
        "y": ["handoff_to_x", "handoff_to_z"],
        "z": ["handoff_to_x", "handoff_to_y"],
    }
    assert workflow.start_executor_id == "x"


def test_repeated_add_handoff_merges_and_a_later_description_replaces_the_default() -> None:
    builder, _, _ = pair([], [])
    c = agent("c", [])
    builder = HandoffBuilder([*(m.agent for m in builder.members if m.agent), c])
    builder.add_handoff("a", ["b"]).add_handoff("a", ["c"]).add_handoff(
        "a", ["b"], description="B!"
    )
    builder.add_handoff("a", ["b"])  # re-declaring without a description keeps "B!"
    assert builder.routes_of("a") == {"handoff_to_b": ("b", "B!"), "handoff_to_c": ("c", "c")}


def test_edge_description_defaults_to_target_description_then_name() -> None:
    a, b, c = agent("a", []), agent("b", [], "Bee."), agent("c", [])
    builder = HandoffBuilder([a, b, c]).add_handoff(a, [b, c])
    assert builder.routes_of("a") == {"handoff_to_b": ("b", "Bee."), "handoff_to_c": ("c", "c")}


def test_tool_names_are_sanitized_and_at_most_64_characters() -> None:
    assert handoff_tool_name("Billing Team!") == "handoff_to_Billing_Team_"
    assert handoff_tool_name("ok-name_1") == "handoff_to_ok-name_1"
    long = handoff_tool_name("x" * 100)
    assert len(long) == 64 and long.startswith("handoff_to_xxx")


def test_sanitized_names_that_collide_are_a_build_error() -> None:
    a, b, c = agent("a", []), agent("b c", []), agent("b_c", [])
    builder = HandoffBuilder([a, b, c]).add_handoff(a, [b, c])
    with pytest.raises(ValueError, match="would both be named `handoff_to_b_c`; rename one"):
        builder.build()


def test_a_clash_with_an_agents_own_tool_is_a_build_error() -> None:
    @tool(name="handoff_to_b")
    def sneaky() -> str:
        """Pretends to hand off."""
        return "no"

    a = agent("a", [], tools=[sneaky])
    builder = HandoffBuilder([a, agent("b", [])]).add_handoff(a, ["b"])
    with pytest.raises(ValueError, match="agent `a` has its own tool `handoff_to_b`"):
        builder.build()


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda b: b.add_handoff("a", ["nobody"]), r"`nobody` is not a participant"),
        (lambda b: b.add_handoff("ghost", ["b"]), r"`ghost` is not a participant"),
        (lambda b: b.add_handoff("a", ["a"]), r"`a` cannot hand off to itself"),
        (lambda b: b.add_handoff("a", []), r"needs at least one target"),
        (lambda b: b.add_handoff("a", ["b", "b"]), r"`b` is named twice"),
        (lambda b: b.add_handoff("a", ["b"], description=""), r"non-empty string"),
        (lambda b: b.with_start_agent("ghost"), r"`ghost` is not a participant"),
        (lambda b: b.with_autonomous_mode(agents=[]), r"agents=\[\] names no agent"),
        (
            lambda b: b.with_autonomous_mode(turn_limits={"ghost": 2}),
            r"`ghost` is not a participant",
        ),
        (lambda b: b.with_autonomous_mode(turn_limits={"a": 0}), r"positive integer, got 0"),
        (lambda b: b.with_autonomous_mode(turn_limits={"a": True}), r"positive integer, got True"),
        (lambda b: b.with_autonomous_mode(prompts={"a": " "}), r"must be non-empty text"),
    ],
)
def test_bad_builder_calls_raise_clear_errors(call: Any, message: str) -> None:
    builder, _, _ = pair([], [])
    with pytest.raises(ValueError, match=message):
        call(builder)


def test_bad_participants_are_clear_errors() -> None:
    @executor(id="step")
    async def step(text: str, ctx: WorkflowContext[str]) -> None:
        await ctx.send_message(text)

    with pytest.raises(ValueError, match="needs at least one agent"):
        HandoffBuilder([step])
    with pytest.raises(ValueError, match="`step` is an executor; it cannot hand off"):
        HandoffBuilder([agent("a", []), step]).add_handoff(step, ["a"])
    with pytest.raises(ValueError, match="`step` is an executor, not an agent"):
        HandoffBuilder([agent("a", []), step]).with_start_agent(step)
    with pytest.raises(ValueError, match="`step` is an executor, not an agent"):
        HandoffBuilder([agent("a", []), step]).with_autonomous_mode(turn_limits={"step": 2})
    with pytest.raises(ValueError, match="needs at least one participant"):
        HandoffBuilder([])
    with pytest.raises(ValueError, match="several participants are named `a`"):
        HandoffBuilder([agent("a", []), agent("a", [])])
    with pytest.raises(ValueError, match="`output` is used by the builder's own executor"):
        HandoffBuilder([agent("output", [])])
    with pytest.raises(TypeError, match="takes a function"):
        HandoffBuilder([agent("a", [])]).with_termination_condition("done")  # type: ignore[arg-type]


def test_building_never_mutates_agents_and_twice_gives_independent_workflows() -> None:
    builder, a, b = pair([], [])
    before = (a.replace(), b.replace())
    first, second = build(builder), build(builder)
    assert (a, b) == before and a.tools == () and b.tools == ()
    assert first is not second
    assert all(first.executors[i] is not second.executors[i] for i in first.executors)


def test_an_unreachable_agent_fails_validation_with_the_engines_message() -> None:
    a, b, c = agent("a", []), agent("b", []), agent("c", [])
    builder = HandoffBuilder([a, b, c]).add_handoff(a, [b]).add_handoff(c, [a])
    with (
        pytest.warns(BatonWarning),
        pytest.raises(WorkflowValidationError, match="`c` cannot be reached"),
    ):
        builder.build()


# --- badly behaved models ---------------------------------------------------------------------------


async def test_a_call_to_an_undeclared_target_gets_an_error_result_and_the_turn_goes_on() -> None:
    builder, a, b = pair(
        [ToolCall("handoff_to_b")],
        [ToolCall("handoff_to_a"), "Sorry, I will answer myself."],
    )
    result = await build(builder).run("hi")
    assert handoffs(result) == [("a", "b")]  # b has no edge back to a
    (error,) = errors_in(b, 1)
    assert "handoff_to_a" in str(error.result)
    assert completions(result) == [("b", "terminal_agent")]


async def test_a_call_to_a_tool_that_does_not_exist_gets_an_error_result() -> None:
    builder, a, _ = pair([ToolCall("lookup_weather", {"city": "Oslo"}), "I cannot do that."], [])
    result = await build(builder).run("weather?")
    (error,) = errors_in(a, 1)
    assert "lookup_weather" in str(error.result)
    assert handoffs(result) == []
    (request,) = result.requests
    assert request.data.text == "I cannot do that."


async def test_several_handoff_calls_in_one_turn_the_first_wins_and_the_rest_get_errors() -> None:
    a, b, c = (
        agent("a", [[ToolCall("handoff_to_c"), ToolCall("handoff_to_b")]]),
        agent("b", []),
        agent("c", ["C here."]),
    )
    builder = HandoffBuilder([a, b, c]).add_handoff(a, [b, c])
    result = await build(builder).run("hi")
    assert handoffs(result) == [("a", "c")]
    assert client_of(b).requests == ()
    (conversation,) = result.outputs
    results = [p for m in conversation for p in m.contents if isinstance(p, FunctionResultContent)]
    assert [(r.is_error, "`c`" in str(r.result)) for r in results] == [(False, True), (True, True)]


@pytest.mark.parametrize("arguments", [{"reason": "billing", "urgent": True}, "not json {"])
async def test_stray_or_broken_arguments_on_a_handoff_call_are_ignored(arguments: Any) -> None:
    builder, _, _ = pair([ToolCall("handoff_to_b", arguments)], ["B answers."])
    result = await build(builder).run("hi")
    assert handoffs(result) == [("a", "b")]


# --- the user's turn --------------------------------------------------------------------------------


async def test_reply_accepts_text_messages_or_a_response_and_terminate_outputs_once() -> None:
    builder, a, _ = pair(["Question 1?", "Question 2?", "Question 3?"], [])
    run = await build(builder).run("start")
    (request,) = run.requests
    run = await run.run.respond(
        {request.request_id: [ChatMessage("user", "one"), ChatMessage("user", "two")]}
    )
    assert [m.text for m in client_of(a).requests[1].messages[-2:]] == ["one", "two"]
    (request,) = run.requests
    reply = HandoffAgentUserRequest.create_response("three")
    run = await run.run.respond({request.request_id: reply})
    assert client_of(a).requests[2].messages[-1].text == "three"
    (request,) = run.requests
    done = await run.run.respond({request.request_id: HandoffAgentUserRequest.terminate()})
    assert done.status == RunStatus.IDLE
    assert completions(done) == [("a", "user_terminated")]
    (conversation,) = done.outputs
    assert conversation[-1].text == "Question 3?"


def test_an_empty_reply_is_refused_with_a_hint() -> None:
    with pytest.raises(ValueError, match="needs at least one message"):
        HandoffUserResponse.model_validate([])
    assert HandoffUserResponse.model_validate("hi").messages == (ChatMessage("user", "hi"),)


@pytest.mark.parametrize("is_async", [False, True])
async def test_termination_condition_ends_the_run_after_an_agent_turn(is_async: bool) -> None:
    def said_goodbye(conversation: list[ChatMessage]) -> bool:
        return any("goodbye" in m.text.lower() for m in conversation)

    async def said_goodbye_async(conversation: list[ChatMessage]) -> bool:
        await asyncio.sleep(0)
        return said_goodbye(conversation)

    builder, _, _ = pair([ToolCall("handoff_to_b")], ["Goodbye!"])
    builder.with_termination_condition(said_goodbye_async if is_async else said_goodbye)
    result = await build(builder).run("hi")
    assert result.status == RunStatus.IDLE and result.requests == ()
    assert completions(result) == [("b", "termination_condition")]
    assert result.outputs[0][-1].text == "Goodbye!"


async def test_termination_condition_is_checked_after_a_user_reply() -> None:
    builder, a, _ = pair(["How can I help?"], [])
    builder.with_termination_condition(lambda conv: conv[-1].text == "bye")
    first = await build(builder).run("hi")
    (request,) = first.requests
    done = await first.run.respond({request.request_id: "bye"})
    assert completions(done) == [("a", "termination_condition")]
    assert len(client_of(a).requests) == 1


async def test_a_failing_termination_condition_fails_the_run_with_its_error() -> None:
    builder, _, _ = pair(["hello"], [])
    builder.with_termination_condition(lambda conv: 1 / 0)
    with pytest.raises(ExecutorFailedError) as caught:
        await build(builder).run("hi")
    assert isinstance(caught.value.__cause__, ZeroDivisionError)


async def test_autonomous_agents_continue_with_their_prompt_until_the_limit() -> None:
    builder, a, _ = pair(["one", "two", "three"], [])
    builder.with_autonomous_mode(agents=["a"], turn_limits={"a": 3}, prompts={"a": "Keep going."})
    result = await build(builder).run("go")
    last = client_of(a).requests[2].messages
    assert [m.text for m in last[-4:]] == ["one", "Keep going.", "two", "Keep going."]
    assert completions(result) == [("a", "turn_limit")]
    assert result.outputs[0][-1].text == "three"


async def test_an_autonomous_agent_without_a_limit_gets_the_default_limit() -> None:
    builder, a, _ = pair(["again"] * 50, [])
    builder.with_autonomous_mode(agents=["a"])
    workflow = build(builder)
    assert workflow.executors["a"].turn_limit == 50
    assert workflow.executors["b"].turn_limit is None
    result = await workflow.run("go")
    client_of(a).assert_complete()
    assert completions(result) == [("a", "turn_limit")]


# --- streaming, concurrency, compile() --------------------------------------------------------------


async def test_streaming_emits_token_deltas_per_agent_and_the_same_outputs() -> None:
    def workflow() -> Any:
        builder, _, _ = pair([["Passing on.", ToolCall("handoff_to_b")]], ["B says hello there."])
        return build(builder)

    plain = await workflow().run("hi")
    events = [e async for e in workflow().run("hi", stream=True)]
    streamed = [e.data for e in events if isinstance(e, OutputEvent)]
    assert streamed == list(plain.outputs)
    updates = [e for e in events if isinstance(e, AgentRunUpdateEvent)]
    assert {e.executor_id for e in updates} == {"a", "b"}
    b_text = "".join(e.update.text for e in updates if e.executor_id == "b")
    assert b_text == "B says hello there."
    assert len([e for e in updates if e.executor_id == "b" and e.update.text]) > 1
    kinds = [e.type for e in events]
    assert kinds.index("handoff_sent") < kinds.index("output")


@dataclass
class EchoClient:
    """Answers with the first user message, so concurrent runs can be told apart."""

    async def get_response(
        self, messages: Sequence[ChatMessage], *, tools: Sequence[ToolSpec] | None = None, **_: Any
    ) -> ChatResponse:
        await asyncio.sleep(0.01)
        first = next(m.text for m in messages if m.role == "user")
        if tools and not any(m.role == "tool" for m in messages):
            call = FunctionCallContent(call_id=f"c-{first}", name="handoff_to_b")
            return ChatResponse(messages=(ChatMessage("assistant", [call]),))
        return ChatResponse(messages=(ChatMessage("assistant", f"echo {first}"),))

    async def get_streaming_response(
        self, *args: Any, **kw: Any
    ) -> AsyncIterator[ChatResponseUpdate]:
        response = await self.get_response(*args, **kw)
        yield ChatResponseUpdate(text=response.text)


async def test_one_workflow_serves_concurrent_runs() -> None:
    a = Agent(EchoClient(), name="a", instructions="")
    b = Agent(EchoClient(), name="b", instructions="")
    workflow = build(HandoffBuilder([a, b]).add_handoff(a, [b]))
    results = await asyncio.gather(*(workflow.run(f"run{i}") for i in range(5)))
    assert [r.outputs[0][-1].text for r in results] == [f"echo run{i}" for i in range(5)]
    assert all(handoffs(r) == [("a", "b")] for r in results)


async def test_compile_lets_a_typed_switch_follow_the_handoff() -> None:
    @dataclass(frozen=True)
    class Ticket:
        refund: bool
        summary: str

    @executor(id="classify")
    async def classify(conversation: list[ChatMessage], ctx: WorkflowContext[Ticket]) -> None:
        text = conversation[-1].text
        await ctx.send_message(Ticket(refund="refund" in text, summary=text))

    @executor(id="refunds")
    async def refunds(ticket: Ticket, ctx: WorkflowContext[None, str]) -> None:
        await ctx.yield_output(f"refund queue: {ticket.summary}")

    @executor(id="archive")
    async def archive(ticket: Ticket, ctx: WorkflowContext[None, str]) -> None:
        await ctx.yield_output(f"archived: {ticket.summary}")

    builder, _, _ = pair([ToolCall("handoff_to_b")], ["Approved a refund of $20."])
    builder.with_autonomous_mode()
    with pytest.warns(BatonWarning):
        compiled = builder.compile()
    workflow = (
        compiled.add_edge(HANDOFF_OUTPUT_ID, classify)
        .add_switch_case_edge_group(classify, [Case(lambda t: t.refund, refunds), Default(archive)])
        .build()
    )
    result = await workflow.run("my order")
    assert result.outputs == ("refund queue: Approved a refund of $20.",)
    assert completions(result) == [("b", "terminal_agent")]


async def test_request_payloads_round_trip_through_json() -> None:
    builder, _, _ = pair(["Need more detail."], [])
    result = await build(builder).run("hi")
    (request,) = result.requests
    dumped = json.loads(request.data.model_dump_json())
    assert dumped["agent_name"] == "a" and dumped["reason"] == "turn_finished"
    assert HandoffAgentUserRequest.model_validate(dumped) == request.data


class OrderLookup(Executor):
    """A deterministic step an agent can hand off to: it appends the order's status."""

    @handler
    async def on_conversation(
        self, conversation: list[ChatMessage], ctx: WorkflowContext[list[ChatMessage]]
    ) -> None:
        status = ChatMessage("assistant", "Order 42: shipped Monday.", author_name=self.id)
        await ctx.send_message([*conversation, status])


async def test_an_executor_participant_does_a_step_and_returns_the_conversation_to_its_caller() -> (
    None
):
    lookup = OrderLookup("lookup")
    triage = agent(
        "triage",
        [ToolCall("handoff_to_lookup"), "Your order shipped Monday."],
        "Routes requests.",
    )
    billing = agent("billing", [], "Billing.")
    builder = (
        HandoffBuilder([triage, billing, lookup])
        .add_handoff(triage, [billing])
        .add_handoff(triage, [lookup], description="Look up an order's status.")
        .add_handoff(billing, [triage])
    )
    workflow = builder.build()
    assert workflow.start_executor_id == "triage"
    graph_edges = {(u, v, d["label"]) for u, v, d in workflow.to_networkx().edges(data=True)}
    assert {
        ("triage", "lookup_call", "handoff_to_lookup: Look up an order's status."),
        ("lookup_call", "lookup", ""),
        ("lookup_call", "lookup_return", ""),
        ("lookup", "lookup_return", ""),
        ("lookup_return", "triage", "back to triage"),
    } <= graph_edges
    result = await workflow.run("Where is order 42?")
    assert handoffs(result) == [("triage", "lookup"), ("lookup", "triage")]
    # triage's second turn saw the step's message, then answered the user
    assert client_of(triage).requests[1].messages[-1].text == "Order 42: shipped Monday."
    (request,) = result.requests
    assert (request.data.agent_name, request.data.text) == ("triage", "Your order shipped Monday.")
