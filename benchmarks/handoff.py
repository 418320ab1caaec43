"""The handoff workload's parts: a ring of agents on a deterministic client, its workflow, and its floor.

Wiring: input -> a -> b -> c -> a -> ... (each calls ``handoff_to_<next>``) until the conversation holds
`handoffs` handoff calls; then the agent holding it answers with text, the termination condition holds
and the conversation goes to the output.

The floor runs the same agents (same clients, same `Agent.run`, the same handoff `ToolSpec`s offered as
`ExtraTools`) in a plain loop: run the agent holding the conversation, append its messages, move to the
target its handoff call named, until an agent answers without handing off. What the engine run costs
beyond the floor is the engine and the handoff orchestration.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from engine import RunResult, RunStatus, Workflow
from executors.agents import (
    Agent,
    ChatMessage,
    ChatResponse,
    ExtraTools,
    FunctionCallContent,
    FunctionResultContent,
    ToolSpec,
)
from orchestrations import (
    HandoffBuilder,
    HandoffCompletedEvent,
    HandoffSentEvent,
    handoff_tool_name,
)

__all__ = [
    "AGENT_IDS",
    "FINAL_TEXT",
    "PROMPT",
    "HandoffOutcome",
    "RingClient",
    "Ring",
    "build_workflow",
    "engine_outcome",
    "expected_outcome",
    "run_floor",
]

AGENT_IDS = ("a", "b", "c")
PROMPT = "Pass the conversation around the ring."
FINAL_TEXT = "Done: the ring is complete."
_CALL_PREFIX = "handoff_"
_MODEL = "ring"
_NO_ARGUMENTS: dict[str, Any] = {"type": "object", "properties": {}}


class HandoffOutcome(NamedTuple):
    """What a handoff run computed: both variants must agree on it."""

    handoffs: int
    last_agent: str
    """The agent that answered with text and so ended the conversation."""
    messages: int
    """The length of the final conversation."""
    last_text: str


class RingClient:
    """A `ChatClient` that calls `tool_name` until the conversation holds `handoffs` calls, then answers.

    Unlike `ScriptedChatClient`, whose script is consumed, it reads its position from the request (the
    id of the latest call, ``handoff_<k>``), so one client serves any number of runs. Its replies are
    built once, here, so a model call costs a look at the last two messages and a tuple lookup.
    """

    __slots__ = ("_calls", "_final")

    def __init__(self, tool_name: str, handoffs: int) -> None:
        self._calls = tuple(_call_reply(tool_name, k) for k in range(1, handoffs + 1))
        answer = ChatMessage("assistant", FINAL_TEXT)
        self._final = ChatResponse(messages=(answer,), finish_reason="stop", model=_MODEL)

    async def get_response(self, messages: Sequence[ChatMessage], **options: Any) -> ChatResponse:
        """Call the tool with the next handoff number, or answer once the last number was used."""
        made = _handoffs_made(messages)
        return self._calls[made] if made < len(self._calls) else self._final

    def get_streaming_response(self, messages: Sequence[ChatMessage], **options: Any) -> Any:
        raise NotImplementedError("the handoff benchmark runs without streaming")


def _call_reply(tool_name: str, number: int) -> ChatResponse:
    call = FunctionCallContent(call_id=f"{_CALL_PREFIX}{number}", name=tool_name)
    message = ChatMessage("assistant", [call])
    return ChatResponse(messages=(message,), finish_reason="tool_calls", model=_MODEL)


def _handoffs_made(messages: Sequence[ChatMessage]) -> int:
    """The number of the latest handoff call in `messages` (0 if none): found two messages back."""
    for message in reversed(messages):
        if message.role == "assistant":
            for call in message.function_calls:
                return int(call.call_id.removeprefix(_CALL_PREFIX))
    return 0


@dataclass(frozen=True, slots=True)
class Ring:
    """The ring's agents (each with its own `RingClient`), who hands off to whom, and with what tool."""

    agents: Mapping[str, Agent]
    next_of: Mapping[str, str]
    tools: Mapping[str, ToolSpec]
    """Each agent's handoff tool, exactly as the handoff orchestration makes it for the model."""

    @classmethod
    def of(cls, handoffs: int) -> Ring:
        """``a -> b -> c -> a``; the conversation ends after `handoffs` handoffs."""
        next_of = dict(zip(AGENT_IDS, AGENT_IDS[1:] + AGENT_IDS[:1], strict=True))
        tools = {
            name: ToolSpec(
                name=handoff_tool_name(target), description=target, parameters=_NO_ARGUMENTS
            )
            for name, target in next_of.items()
        }
        agents = {
            name: Agent(
                RingClient(tools[name].name, handoffs),
                name=name,
                instructions=f"You are `{name}`. Hand the conversation on.",
            )
            for name in AGENT_IDS
        }
        return cls(agents, next_of, tools)


def _answered(conversation: list[ChatMessage]) -> bool:
    """The termination condition: the last turn ended in an answer, not a handoff."""
    last = conversation[-1]
    return last.role == "assistant" and not last.function_calls


def build_workflow(ring: Ring) -> Workflow:
    """The ring as a handoff workflow: autonomous, limits out of reach, ended by `_answered`."""
    builder = HandoffBuilder(list(ring.agents.values()), name="handoff_ring")
    for source, target in ring.next_of.items():
        builder.add_handoff(source, target)
    limits = dict.fromkeys(ring.agents, 1_000_000)
    builder.with_autonomous_mode(turn_limits=limits).with_termination_condition(_answered)
    return builder.build()


def engine_outcome(result: RunResult) -> HandoffOutcome:
    """The outcome of an engine run; raises unless it ended idle with one conversation and one end.

    It is computed inside the timed region, so it reads the events in one pass (some 40 us).
    """
    handoffs, ends = 0, list[HandoffCompletedEvent]()
    for event in result.events:
        if type(event) is HandoffSentEvent:
            handoffs += 1
        elif type(event) is HandoffCompletedEvent:
            ends.append(event)
    if result.status is not RunStatus.IDLE or len(result.outputs) != 1 or len(ends) != 1:
        raise AssertionError(
            f"the handoff run ended {result.status} with {len(result.outputs)} output(s) and "
            f"{len(ends)} handoff_completed event(s); expected idle, 1 and 1"
        )
    if ends[0].reason != "termination_condition":
        raise AssertionError(f"the handoff conversation ended by {ends[0].reason}")
    (conversation,) = result.outputs
    return HandoffOutcome(handoffs, ends[0].agent, len(conversation), conversation[-1].text)


async def run_floor(ring: Ring, text: str) -> HandoffOutcome:
    """The floor: the same agents and handoff tools in a plain loop, no engine."""
    chosen: list[str] = []

    async def answer(call: FunctionCallContent) -> FunctionResultContent:
        target = targets[call.name]
        chosen.append(target)
        return FunctionResultContent(call_id=call.call_id, result=f"Handed off to `{target}`.")

    targets = {spec.name: ring.next_of[name] for name, spec in ring.tools.items()}
    tools = {name: ExtraTools((spec,), answer, ends_turn=True) for name, spec in ring.tools.items()}
    conversation = [ChatMessage("user", text)]
    speaker, handoffs = AGENT_IDS[0], 0
    while True:
        response = await ring.agents[speaker].run(conversation, extra_tools=tools[speaker])
        conversation.extend(response.messages)
        if not chosen:
            return HandoffOutcome(handoffs, speaker, len(conversation), conversation[-1].text)
        speaker = chosen.pop()
        handoffs += 1


def expected_outcome(handoffs: int) -> HandoffOutcome:
    """The prompt, a call and its result per handoff, and the last agent's answer."""
    last = AGENT_IDS[handoffs % len(AGENT_IDS)]
    return HandoffOutcome(handoffs, last, 1 + 2 * handoffs + 1, FINAL_TEXT)
