from __future__ import annotations

import asyncio
from typing import Any

import pytest

from engine import (
    Executor,
    ExecutorFailedError,
    InMemoryCheckpointStore,
    OutputEvent,
    RunResult,
    Workflow,
    WorkflowContext,
    handler,
)
from executors import Agent, AgentRunUpdateEvent, ChatMessage, ScriptedChatClient
from orchestrations.group_chat import (
    MANAGER_ID,
    GroupChatBuilder,
    GroupChatCompletedEvent,
    GroupChatManager,
    GroupChatState,
    ManagerDecision,
)
from orchestrations.participants import Participant


class Counter(Executor):
    """A plain participant: appends how many messages it saw, as an assistant message."""

    @handler
    async def on_conversation(
        self, conversation: list[ChatMessage], ctx: WorkflowContext[list[ChatMessage]]
    ) -> None:
        reply = ChatMessage("assistant", f"saw {len(conversation)}", author_name=self.id)
        await ctx.send_message([*conversation, reply])


def agent(name: str, client: ScriptedChatClient, description: str | None = None) -> Agent:
    return Agent(client, name=name, instructions=f"You are {name}.", description=description)


def scripted(name: str, turns: int = 3) -> Agent:
    """An agent whose n-th reply is ``<name><n>``."""
    return agent(name, ScriptedChatClient([f"{name}{n}" for n in range(1, turns + 1)]))


def echoing(name: str) -> Agent:
    """An agent that answers by the topic in the user's message, however often and by whichever run."""
    rules = {"tea": f"{name} on tea", "coffee": f"{name} on coffee"}
    return agent(name, ScriptedChatClient.from_rules(rules, default=f"{name} on nothing"))


def speakers(conversation: list[ChatMessage]) -> list[str | None]:
    return [m.author_name for m in conversation if m.role == "assistant"]


def texts(conversation: list[ChatMessage]) -> list[str]:
    return [m.text for m in conversation]


def completed(result: RunResult) -> list[GroupChatCompletedEvent]:
    return [e for e in result.events if isinstance(e, GroupChatCompletedEvent)]


def only_output(result: RunResult) -> list[ChatMessage]:
    (output,) = result.outputs
    assert isinstance(output, list)
    return output


def cause_of(excinfo: pytest.ExceptionInfo[ExecutorFailedError]) -> str:
    assert excinfo.value.executor_id == MANAGER_ID
    cause = excinfo.value.__cause__
    assert cause is not None
    return str(cause)


async def test_round_robin_gives_turns_in_participant_order_until_max_rounds() -> None:
    workflow = (
        GroupChatBuilder([scripted("a"), scripted("b"), scripted("c")]).with_max_rounds(4).build()
    )

    result = await workflow.run("tea")

    conversation = only_output(result)
    assert texts(conversation) == ["tea", "a1", "b1", "c1", "a2"]
    assert speakers(conversation) == ["a", "b", "c", "a"]
    assert completed(result) == [GroupChatCompletedEvent(reason="max_rounds", rounds=4)]
    assert completed(result)[0].type == "group_chat_completed"


async def test_the_default_round_limit_is_ten() -> None:
    workflow = GroupChatBuilder([Counter("x")]).build()

    result = await workflow.run("tea")

    assert speakers(only_output(result)) == ["x"] * 10
    assert completed(result) == [GroupChatCompletedEvent(reason="max_rounds", rounds=10)]


async def test_each_agent_sees_the_conversation_so_far() -> None:
    a_client = ScriptedChatClient(["a1", "a2"])
    b_client = ScriptedChatClient(["b1"])
    workflow = (
        GroupChatBuilder([agent("a", a_client), agent("b", b_client)]).with_max_rounds(3).build()
    )

    await workflow.run("tea")

    assert [texts(list(r.messages)) for r in a_client.requests] == [
        ["You are a.", "tea"],
        ["You are a.", "tea", "a1", "b1"],
    ]
    assert [texts(list(r.messages)) for r in b_client.requests] == [["You are b.", "tea", "a1"]]


async def test_the_start_accepts_a_message_or_a_conversation() -> None:
    workflow = GroupChatBuilder([Counter("x")]).with_max_rounds(1).build()
    history = [ChatMessage("user", "tea"), ChatMessage("assistant", "earlier", author_name="y")]

    from_message = await workflow.run(ChatMessage("user", "coffee"))
    from_history = await workflow.run(history)

    assert texts(only_output(from_message)) == ["coffee", "saw 1"]
    assert texts(only_output(from_history)) == ["tea", "earlier", "saw 2"]


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
async def test_a_selector_picks_the_speakers(is_async: bool) -> None:
    order = ["c", "a", "c"]

    def pick(state: GroupChatState) -> str | None:
        return order[state.round] if state.round < len(order) else None

    async def pick_async(state: GroupChatState) -> str | None:
        await asyncio.sleep(0)
        return pick(state)

    participants = [scripted("a"), scripted("b"), scripted("c")]
    workflow = GroupChatBuilder(participants).with_selector(pick_async if is_async else pick)

    result = await workflow.build().run("tea")

    assert texts(only_output(result)) == ["tea", "c1", "a1", "c2"]
    assert completed(result) == [GroupChatCompletedEvent(reason="selector", rounds=3)]


async def test_a_selector_returning_none_first_ends_the_chat_without_a_turn() -> None:
    workflow = GroupChatBuilder([scripted("a")]).with_selector(lambda state: None).build()

    result = await workflow.run("tea")

    assert texts(only_output(result)) == ["tea"]
    assert completed(result) == [GroupChatCompletedEvent(reason="selector", rounds=0)]


async def test_the_selector_receives_round_last_speaker_participants_and_conversation() -> None:
    seen: list[GroupChatState] = []

    def pick(state: GroupChatState) -> str:
        seen.append(state)
        return "b" if state.last_speaker == "a" else "a"

    participants = [scripted("a"), agent("b", ScriptedChatClient(["b1"]), "Checks facts")]
    workflow = GroupChatBuilder(participants).with_selector(pick).with_max_rounds(3).build()

    await workflow.run("tea")

    assert [(s.round, s.last_speaker) for s in seen] == [(0, None), (1, "a"), (2, "b")]
    assert [texts(list(s.conversation)) for s in seen] == [
        ["tea"],
        ["tea", "a1"],
        ["tea", "a1", "b1"],
    ]
    assert seen[0].participants == {"a": "a", "b": "Checks facts"}
    with pytest.raises(ValueError, match="frozen"):
        seen[0].round = 5  # type: ignore[misc]


async def test_a_manager_agent_picks_speakers_and_finishes_privately() -> None:
    boss_client = ScriptedChatClient(
        [
            '{"next_speaker": "b", "finish": false, "reason": "b knows tea"}',
            '```json\n{"next_speaker": "a", "finish": false}\n```',
            '{"next_speaker": null, "finish": true, "reason": "answered"}',
        ]
    )
    boss = Agent(boss_client, name="boss", instructions="You run the chat.")
    b_client = ScriptedChatClient(["b1"])
    participants = [
        agent("a", ScriptedChatClient(["a1"]), "Writes drafts"),
        agent("b", b_client),
    ]
    workflow = GroupChatBuilder(participants).with_manager(boss).build()

    result = await workflow.run("tea")

    conversation = only_output(result)
    assert texts(conversation) == ["tea", "b1", "a1"]
    assert not any("next_speaker" in text for text in texts(conversation))
    assert completed(result) == [GroupChatCompletedEvent(reason="manager", rounds=2)]
    assert len(boss_client.requests) == 3
    first = texts(list(boss_client.requests[0].messages))
    assert first[:2] == ["You run the chat.", "tea"]
    assert "- a: Writes drafts\n- b: b\n" in first[2]
    assert '"next_speaker"' in first[2] and '"finish"' in first[2]
    last = texts(list(boss_client.requests[2].messages))
    assert last[:4] == ["You run the chat.", "tea", "b1", "a1"]
    assert texts(list(b_client.requests[0].messages)) == ["You are b.", "tea"]


async def test_an_invalid_manager_reply_fails_with_the_expected_format() -> None:
    boss = Agent(ScriptedChatClient(["I pick b"]), name="boss", instructions="")
    workflow = GroupChatBuilder([scripted("a"), scripted("b")]).with_manager(boss).build()

    with pytest.raises(ExecutorFailedError) as excinfo:
        await workflow.run("tea")

    message = cause_of(excinfo)
    assert message.startswith("the group chat manager's reply is not a valid decision (")
    assert "'I pick b'" in message
    assert (
        'It must be only a JSON object: {"next_speaker": "<participant name>" or null, '
        '"finish": true or false, "reason": "<why>"}.'
    ) in message


async def test_a_manager_reply_is_quoted_up_to_200_characters() -> None:
    with pytest.raises(ValueError) as excinfo:
        ManagerDecision.from_text("x" * 300)

    assert f"'{'x' * 200}'" in str(excinfo.value)
    assert "x" * 201 not in str(excinfo.value)


def test_a_manager_reply_of_the_wrong_shape_is_refused() -> None:
    with pytest.raises(ValueError, match=r"not a valid decision .*'\[\"a\"\]'"):
        ManagerDecision.from_text('["a"]')
    with pytest.raises(ValueError, match="not a valid decision"):
        ManagerDecision.from_text('{"next_speaker": "a", "finish": "maybe"}')
    with pytest.raises(ValueError) as excinfo:
        ManagerDecision.from_text('{"finish": false}')
    assert str(excinfo.value) == (
        "the group chat manager's reply neither names a next speaker nor finishes the chat: "
        "'{\"finish\": false}'. Set `next_speaker` to a participant name, or `finish` to true."
    )


def test_a_fenced_manager_reply_is_parsed() -> None:
    decision = ManagerDecision.from_text('```json\n{"next_speaker": "a", "reason": "r"}\n```')

    assert decision == ManagerDecision(next_speaker="a", finish=False, reason="r")


async def test_an_unknown_speaker_from_the_selector_names_it_and_the_participants() -> None:
    workflow = GroupChatBuilder([scripted("a"), scripted("b")]).with_selector(lambda s: "zed")

    with pytest.raises(ExecutorFailedError) as excinfo:
        await workflow.build().run("tea")

    assert cause_of(excinfo) == (
        "the group chat selector chose `zed`, which is not a participant (participants: `a`, `b`); "
        "return one of those names."
    )
    assert isinstance(excinfo.value.__cause__, ValueError)


async def test_an_unknown_speaker_from_the_manager_agent_names_it_and_the_participants() -> None:
    boss = Agent(ScriptedChatClient(['{"next_speaker": "zed"}']), name="boss", instructions="")
    workflow = GroupChatBuilder([scripted("a"), scripted("b")]).with_manager(boss).build()

    with pytest.raises(ExecutorFailedError) as excinfo:
        await workflow.run("tea")

    assert cause_of(excinfo) == (
        "the group chat manager `boss` chose `zed`, which is not a participant (participants: "
        "`a`, `b`); return one of those names."
    )


async def test_a_selector_returning_a_non_string_fails_clearly() -> None:
    workflow = GroupChatBuilder([scripted("a")]).with_selector(lambda s: 0)  # type: ignore[arg-type, return-value]

    with pytest.raises(ExecutorFailedError) as excinfo:
        await workflow.build().run("tea")

    assert cause_of(excinfo) == (
        "the group chat selector returned int; return a participant name (str), or None to finish "
        "the chat."
    )


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
async def test_the_termination_condition_stops_the_chat_early(is_async: bool) -> None:
    checked: list[int] = []

    def done(conversation: list[ChatMessage]) -> bool:
        checked.append(len(conversation))
        return any(m.text == "b1" for m in conversation)

    async def done_async(conversation: list[ChatMessage]) -> bool:
        return done(conversation)

    workflow = (
        GroupChatBuilder([scripted("a"), scripted("b")])
        .with_termination_condition(done_async if is_async else done)
        .build()
    )

    result = await workflow.run("tea")

    assert texts(only_output(result)) == ["tea", "a1", "b1"]
    assert checked == [1, 2, 3]
    assert completed(result) == [GroupChatCompletedEvent(reason="termination_condition", rounds=2)]


async def test_the_termination_condition_is_checked_before_the_round_limit() -> None:
    workflow = (
        GroupChatBuilder([scripted("a")])
        .with_max_rounds(1)
        .with_termination_condition(lambda conversation: len(conversation) > 1)
        .build()
    )

    result = await workflow.run("tea")

    assert completed(result) == [GroupChatCompletedEvent(reason="termination_condition", rounds=1)]


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        (0, ValueError, "with_max_rounds() takes a positive int, got 0; a chat needs at least one"),
        (-1, ValueError, "with_max_rounds() takes a positive int, got -1; a chat needs at least"),
        (True, TypeError, "with_max_rounds() takes a positive int, got bool True"),
        ("3", TypeError, "with_max_rounds() takes a positive int, got str '3'"),
    ],
)
def test_with_max_rounds_refuses_anything_but_a_positive_int(
    value: Any, error: type[Exception], message: str
) -> None:
    builder = GroupChatBuilder([scripted("a")])

    with pytest.raises(error) as excinfo:
        builder.with_max_rounds(value)

    assert str(excinfo.value).startswith(message)


def test_builder_options_refuse_wrong_kinds_of_values() -> None:
    builder = GroupChatBuilder([scripted("a")])

    with pytest.raises(TypeError) as selector:
        builder.with_selector("a")  # type: ignore[arg-type]
    with pytest.raises(TypeError) as manager:
        builder.with_manager(lambda state: "a")  # type: ignore[arg-type]
    with pytest.raises(TypeError) as termination:
        builder.with_termination_condition(True)  # type: ignore[arg-type]

    assert str(selector.value) == (
        "with_selector() takes a function of the GroupChatState that returns a participant name "
        "(or None), got str"
    )
    assert str(manager.value) == (
        "with_manager() takes an Agent, got function; use with_selector() for a function."
    )
    assert str(termination.value) == "with_termination_condition() takes a function, got bool"


def test_a_participant_may_not_take_the_managers_id() -> None:
    with pytest.raises(ValueError) as excinfo:
        GroupChatBuilder([scripted("a"), Counter("manager")])

    assert str(excinfo.value) == (
        "GroupChatBuilder: the participant name `manager` is used by the builder's own executor of "
        "that id; rename the participant."
    )


async def test_the_last_of_with_selector_and_with_manager_wins() -> None:
    boss_client = ScriptedChatClient(['{"finish": true}'])
    boss = Agent(boss_client, name="boss", instructions="")

    by_selector = GroupChatBuilder([scripted("a"), scripted("b")]).with_manager(boss)
    by_selector.with_selector(lambda state: "b" if state.round == 0 else None)
    by_manager = GroupChatBuilder([scripted("a")]).with_selector(lambda state: "a")
    by_manager.with_manager(boss)

    selected = await by_selector.build().run("tea")
    managed = await by_manager.build().run("tea")

    assert texts(only_output(selected)) == ["tea", "b1"]
    assert completed(selected) == [GroupChatCompletedEvent(reason="selector", rounds=1)]
    assert texts(only_output(managed)) == ["tea"]
    assert completed(managed) == [GroupChatCompletedEvent(reason="manager", rounds=0)]
    assert len(boss_client.requests) == 1


async def test_a_custom_executor_takes_turns_alongside_an_agent() -> None:
    a_client = ScriptedChatClient(["a1", "a2"])
    workflow = GroupChatBuilder([agent("a", a_client), Counter("x")]).with_max_rounds(4).build()

    result = await workflow.run("tea")

    conversation = only_output(result)
    assert texts(conversation) == ["tea", "a1", "saw 2", "a2", "saw 4"]
    assert speakers(conversation) == ["a", "x", "a", "x"]
    assert texts(list(a_client.requests[1].messages)) == ["You are a.", "tea", "a1", "saw 2"]


async def test_streaming_and_awaited_runs_give_the_same_output() -> None:
    def build() -> Workflow:
        boss = Agent(
            ScriptedChatClient(
                ['{"next_speaker": "b"}', '{"next_speaker": "a"}', '{"finish": true}']
            ),
            name="boss",
            instructions="",
        )
        return GroupChatBuilder([scripted("a"), scripted("b")]).with_manager(boss).build()

    awaited = await build().run("tea")
    events = [event async for event in build().run("tea", stream=True)]

    streamed = [e.data for e in events if isinstance(e, OutputEvent)]
    assert streamed == list(awaited.outputs)
    assert texts(streamed[0]) == ["tea", "b1", "a1"]
    updaters = {e.executor_id for e in events if isinstance(e, AgentRunUpdateEvent)}
    assert updaters == {"manager", "a", "b"}
    assert [e for e in events if isinstance(e, GroupChatCompletedEvent)] == completed(awaited)


async def test_each_build_has_its_own_executors() -> None:
    builder = GroupChatBuilder([echoing("a"), Counter("x")]).with_max_rounds(2)

    first, second = builder.build(), builder.build()

    assert first.executors["manager"] is not second.executors["manager"]
    assert first.executors["a"] is not second.executors["a"]
    assert isinstance(first.executors["manager"], GroupChatManager)
    assert texts(only_output(await first.run("tea"))) == ["tea", "a on tea", "saw 2"]
    assert texts(only_output(await second.run("tea"))) == ["tea", "a on tea", "saw 2"]


async def test_one_workflow_serves_concurrent_runs_separately() -> None:
    workflow = GroupChatBuilder([echoing("a"), echoing("b")]).with_max_rounds(3).build()

    tea, coffee = await asyncio.gather(workflow.run("tea"), workflow.run("coffee"))

    assert texts(only_output(tea)) == ["tea", "a on tea", "b on tea", "a on tea"]
    assert texts(only_output(coffee)) == ["coffee", "a on coffee", "b on coffee", "a on coffee"]
    assert completed(tea) == completed(coffee) == [GroupChatCompletedEvent("max_rounds", 3)]


def test_the_diagram_shows_the_manager_wired_both_ways_to_each_participant() -> None:
    workflow = GroupChatBuilder([scripted("a"), Counter("x")]).build()

    diagram = workflow.to_mermaid()

    assert 'manager["manager (start)<br/>GroupChatManager"]' in diagram
    for edge in ("manager --> a", "a --> manager", "manager --> x", "x --> manager"):
        assert f"  {edge}\n" in diagram
    assert workflow.start_executor_id == MANAGER_ID


async def test_a_run_resumed_from_a_mid_run_checkpoint_finishes_like_an_uninterrupted_one() -> None:
    def build() -> Workflow:
        participants: list[Participant] = [echoing("a"), echoing("b"), Counter("x")]
        return GroupChatBuilder(participants).with_max_rounds(5).build()

    store = InMemoryCheckpointStore()
    uninterrupted = await build().run("tea", checkpoint_store=store, run_id="chat")
    infos = await store.list_checkpoints("chat")
    mid = next(info for info in infos if info.superstep == 3)  # b has the conversation

    resumed = await build().resume(checkpoint_id=mid.checkpoint_id, store=store)

    expected = ["tea", "a on tea", "b on tea", "saw 3", "a on tea", "b on tea"]
    assert texts(only_output(uninterrupted)) == expected
    assert only_output(resumed) == only_output(uninterrupted)
    assert completed(resumed) == [GroupChatCompletedEvent(reason="max_rounds", rounds=5)]
