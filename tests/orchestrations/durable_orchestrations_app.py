"""Orchestrations on scripted models that the durability tests start in one process and finish in another.

Every process builds the same three workflows from the same scripts (`build`):
  sequential: input -> researcher -> writer (reviewed by a person) -> editor
  handoff:    input -> triage --handoff_to_billing--> billing -> (user replies) -> output
  concurrent: input -> dispatcher -> fan-out(optimist, pessimist) -> fan-in -> aggregator
  group_chat: manager -> writer -> manager -> critic -> manager -> writer -> manager (3 rounds)

Usage (``python -m tests.orchestrations.durable_orchestrations_app ...``)::

    start KIND DB RUN_ID
    resume KIND DB RUN_ID --request-id ID --answer TEXT [--answer TEXT ...]
    fork KIND DB CHECKPOINT_ID [CHECKPOINT_ID ...]

`resume` answers request ID with the first answer (through ``resume(responses=...)``) and each later
answer to the one request then pending. ``approve`` and ``terminate`` are answers; any other text is a
revision (sequential) or the user's reply (handoff). Each prints one JSON line, a `report` (``fork``: a
list of them, one per checkpoint).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import AsyncIterator, Sequence
from typing import Any

from pydantic import BaseModel

from engine import RunResult, SqliteCheckpointStore, Workflow
from executors import Agent, ChatMessage, ScriptedChatClient, ToolCall
from executors.agents import (
    ChatResponse,
    ChatResponseUpdate,
    RecordedRequest,
    ScriptedReply,
    ToolChoice,
    ToolSpec,
)
from orchestrations import (
    AgentReviewRequest,
    ConcurrentBuilder,
    GroupChatBuilder,
    HandoffAgentUserRequest,
    HandoffBuilder,
    SequentialBuilder,
)

KINDS = ("sequential", "handoff", "concurrent", "group_chat")
PROMPTS = {
    "sequential": "Write a note about tea.",
    "handoff": "My invoice charged me twice.",
    "concurrent": "Will the tea still be hot at noon?",
    "group_chat": "A slogan for a tea shop, please.",
}
SCRIPTS: dict[str, dict[str, list[ScriptedReply]]] = {
    "sequential": {
        "researcher": ["Facts: tea was first drunk in China."],
        "writer": ["tea is great lol", "Tea is a beverage of considerable distinction."],
        "editor": ["Edited: Tea, a beverage of considerable distinction."],
    },
    "handoff": {
        "triage": [ToolCall("handoff_to_billing")],
        "billing": [
            "Fixed it, the 2nd charge is refunded.",
            "Dear customer, the duplicate charge has been refunded.",
        ],
    },
    "concurrent": {
        "optimist": ["Yes, in a good flask."],
        "pessimist": ["No, it will be cold by eleven."],
    },
    "group_chat": {
        "writer": ["Tea time, any time.", "Steeped in time."],
        "critic": ["Too plain; try a pun."],
    },
}


class ReplayClient:
    """A stateless scripted model: the agent's n-th reply in the conversation is reply n of its script.

    A plain `ScriptedChatClient` counts its replies in memory, so a fresh process would start its
    script over; a real model has no such memory and answers from the conversation alone. This client
    answers each request with a one-reply `ScriptedChatClient` (so replies stream and record exactly as
    a scripted client's do), choosing the reply by how many replies of this agent the request holds.
    """

    def __init__(self, name: str, replies: Sequence[ScriptedReply]) -> None:
        self.name = name
        self._replies = tuple(replies)
        self._used: list[ScriptedChatClient] = []

    @property
    def requests(self) -> tuple[RecordedRequest, ...]:
        """Every request this process sent to the agent's model, in order."""
        return tuple(request for client in self._used for request in client.requests)

    def _client(self, messages: Sequence[ChatMessage]) -> ScriptedChatClient:
        done = sum(m.role == "assistant" and m.author_name == self.name for m in messages)
        client = ScriptedChatClient(self._replies[done : done + 1])
        self._used.append(client)
        return client

    async def get_response(
        self,
        messages: Sequence[ChatMessage],
        *,
        tools: Sequence[ToolSpec] | None = None,
        tool_choice: ToolChoice | None = None,
        **options: Any,
    ) -> ChatResponse:
        client = self._client(messages)
        return await client.get_response(messages, tools=tools, tool_choice=tool_choice, **options)

    def get_streaming_response(
        self,
        messages: Sequence[ChatMessage],
        *,
        tools: Sequence[ToolSpec] | None = None,
        tool_choice: ToolChoice | None = None,
        **options: Any,
    ) -> AsyncIterator[ChatResponseUpdate]:
        client = self._client(messages)
        return client.get_streaming_response(
            messages, tools=tools, tool_choice=tool_choice, **options
        )


def build(kind: str) -> tuple[Workflow, dict[str, ReplayClient]]:
    """The workflow of `kind` (every process builds the same) and its agents' clients by name."""
    clients = {name: ReplayClient(name, replies) for name, replies in SCRIPTS[kind].items()}
    agents = [
        Agent(client, name=name, instructions=f"You are the {name}.", description=f"The {name}.")
        for name, client in clients.items()
    ]
    if kind == "sequential":
        workflow = SequentialBuilder(agents).with_request_info(agents=["writer"]).build()
    elif kind == "handoff":
        workflow = HandoffBuilder(agents).build()  # no add_handoff: each may hand off to the other
    elif kind == "group_chat":
        workflow = GroupChatBuilder(agents).with_max_rounds(3).build()
    else:
        workflow = ConcurrentBuilder(agents).build()
    return workflow, clients


def answer(text: str) -> Any:
    """The answer a person gives: ``approve``, ``terminate``, or text."""
    if text == "approve":
        return AgentReviewRequest.approve()
    if text == "terminate":
        return HandoffAgentUserRequest.terminate()
    return text


def plain(value: Any) -> Any:
    """`value` as JSON-ready data (models dumped, sequences as lists)."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


def calls(clients: dict[str, ReplayClient]) -> dict[str, list[dict[str, Any]]]:
    """Per agent, each model request of this process: its last message and last user message."""
    found: dict[str, list[dict[str, Any]]] = {}
    for name, client in clients.items():
        for request in client.requests:
            last = request.messages[-1]
            users = [m.text for m in request.messages if m.role == "user"]
            found.setdefault(name, []).append(
                {"last": [last.author_name or last.role, last.text], "last_user": users[-1]}
            )
    return found


def report(
    result: RunResult, outputs: Sequence[Any], clients: dict[str, ReplayClient]
) -> dict[str, Any]:
    """What a process prints: the run's state, the outputs of its segments, requests and model calls."""
    return {
        "run_id": result.run_id,
        "status": str(result.status),
        "outputs": plain(list(outputs)),
        "requests": [{"request_id": r.request_id, "data": plain(r.data)} for r in result.requests],
        "calls": calls(clients),
    }


async def answer_all(result: RunResult, answers: Sequence[str]) -> tuple[RunResult, list[Any]]:
    """Answer the one pending request with each of `answers` in turn; the outputs of every segment."""
    outputs = list(result.outputs)
    for text in answers:
        (pending,) = result.requests
        assert result.run is not None
        result = await result.run.respond({pending.request_id: answer(text)})
        outputs.extend(result.outputs)
    return result, outputs


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["start", "resume", "fork"])
    parser.add_argument("kind", choices=KINDS)
    parser.add_argument("db")
    parser.add_argument("ids", nargs="+", help="the run id, or (fork) checkpoint ids")
    parser.add_argument("--request-id")
    parser.add_argument("--answer", action="append", default=[])
    args = parser.parse_args(argv)
    store = SqliteCheckpointStore(args.db)
    try:
        if args.command == "fork":
            reports = []
            for checkpoint_id in args.ids:
                workflow, clients = build(args.kind)
                result = await workflow.resume(checkpoint_id=checkpoint_id, store=store)
                reports.append(report(result, result.outputs, clients))
            print(json.dumps(reports), flush=True)
            return
        workflow, clients = build(args.kind)
        (run_id,) = args.ids
        if args.command == "start":
            result = await workflow.run(PROMPTS[args.kind], checkpoint_store=store, run_id=run_id)
            outputs = list(result.outputs)
        else:
            first, *rest = args.answer
            responses = {args.request_id: answer(first)}
            result = await workflow.resume(run_id, store=store, responses=responses)
            result, outputs = await answer_all(result, rest)
        print(json.dumps(report(result, outputs, clients)), flush=True)
    finally:
        store.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
