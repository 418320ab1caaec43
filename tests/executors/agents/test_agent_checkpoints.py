"""Agents in durable runs: conversations round-trip through the checkpoint serializer and survive resume."""

from __future__ import annotations

import json
from pathlib import Path

from engine import (
    SqliteCheckpointStore,
    Workflow,
    WorkflowBuilder,
    WorkflowContext,
    executor,
)
from engine.serialization import default_registry
from executors import (
    Agent,
    AgentExecutor,
    AgentExecutorResponse,
    ChatMessage,
    ScriptedChatClient,
)
from executors.agents import FunctionCallContent, FunctionResultContent, TextContent


def test_chat_messages_round_trip_through_the_checkpoint_serializer() -> None:
    conversation = (
        ChatMessage("system", "Be brief."),
        ChatMessage("user", "Where is 2077?"),
        ChatMessage(
            "assistant",
            [
                TextContent(text="Checking."),
                FunctionCallContent(call_id="c1", name="status", arguments='{"id": "2077"}'),
            ],
            author_name="desk",
        ),
        ChatMessage(
            "tool",
            [FunctionResultContent(call_id="c1", result={"eta": "Friday"}, is_error=False)],
        ),
    )
    data = default_registry.encode(conversation, "a conversation")
    back = default_registry.decode(json.loads(json.dumps(data)), "a conversation")
    assert back == conversation
    assert type(back[2].contents[1]) is FunctionCallContent


@executor(id="publish")
async def publish(response: AgentExecutorResponse, ctx: WorkflowContext[None, str]) -> None:
    await ctx.yield_output(f"{response.executor_id}: {response.agent_response.text}")


def pipeline(
    writer_replies: list[str], editor_replies: list[str]
) -> tuple[Workflow, ScriptedChatClient, ScriptedChatClient]:
    writer_client = ScriptedChatClient(writer_replies)
    editor_client = ScriptedChatClient(editor_replies)
    writer = AgentExecutor(Agent(writer_client, name="writer", instructions="Write."))
    editor = AgentExecutor(Agent(editor_client, name="editor", instructions="Edit."))
    workflow = WorkflowBuilder(start_executor=writer).add_chain([writer, editor, publish]).build()
    return workflow, writer_client, editor_client


async def test_an_agent_pipeline_resumes_from_the_checkpoint_between_its_agents(
    tmp_path: Path,
) -> None:
    store = SqliteCheckpointStore(tmp_path / "agents.sqlite3")
    workflow, writer_client, _ = pipeline(["A draft about tea."], ["Tea, edited."])
    first = await workflow.run("Write about tea", checkpoint_store=store, run_id="agents")
    assert first.outputs == ("editor: Tea, edited.",)
    between = [c for c in await store.list_checkpoints("agents") if c.superstep == 1]
    assert len(between) == 1  # after the writer, before the editor

    # A fresh workflow (a new process would build the same) resumes there: only the editor runs,
    # and it sees the writer's text in the conversation restored from the checkpoint.
    again, writer_again, editor_again = pipeline([], ["Tea, edited again."])
    resumed = await again.resume(checkpoint_id=between[0].checkpoint_id, store=store)
    assert resumed.outputs == ("editor: Tea, edited again.",)
    assert writer_again.requests == ()
    (request,) = editor_again.requests
    texts = [m.text for m in request.messages]
    assert "A draft about tea." in texts and "Write about tea" in texts
    assert len(writer_client.requests) == 1
    store.close()


async def test_a_terminal_agent_executor_does_not_drop_its_response() -> None:
    client = ScriptedChatClient(["Done."])
    solo = AgentExecutor(Agent(client, name="solo", instructions="Answer."), output_response=True)
    result = await WorkflowBuilder(start_executor=solo).build().run("hi")
    assert [e.type for e in result.events if e.type == "message_dropped"] == []
    assert [o.text for o in result.outputs] == ["Done."]
