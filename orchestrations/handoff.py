"""`HandoffBuilder`: agents pass one shared conversation along declared edges by calling handoff tools.

Wiring: input -> start agent; agent --handoff_to_<target> (description)--> target; every agent ->
output; user replies return to the asking agent (or, with return-to-previous off, along a ``user reply``
edge to the start agent); for an executor participant, agent --handoff_to_<step>--> <step>_call ->
step executor -> <step>_return -> back to that agent (and <step>_call -> <step>_return says who called).
The topology is the developer's, the routing the agents': each agent sees one ``handoff_to_<name>`` tool
per declared outbound edge and nothing else, so only declared targets can be reached. No `add_handoff`
at all means every agent may hand off to every other. An agent without outbound edges is terminal.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence
from typing import Self

from engine import BatonWarning, Executor, WorkflowBuilder
from executors.agents import Agent
from orchestrations.base import OrchestrationBuilder
from orchestrations.conversation import TerminationCondition
from orchestrations.handoff_agent import (
    HandoffAgentExecutor,
    HandoffOutput,
    HandoffSettings,
    HandoffStepCall,
    HandoffStepReturn,
)
from orchestrations.handoff_types import HandoffRoute
from orchestrations.participants import Member, Participant, members_of, resolve_ids
from orchestrations.sequential import SequentialBuilder

__all__ = [
    "DEFAULT_AUTONOMOUS_TURN_LIMIT",
    "HANDOFF_OUTPUT_ID",
    "HandoffBuilder",
    "handoff_tool_name",
]

HANDOFF_OUTPUT_ID = "output"
"""The id of the node every conversation ends at; wire downstream executors on after it."""
DEFAULT_AUTONOMOUS_TURN_LIMIT = 50
"""The turn limit of an autonomous agent that `turn_limits` does not name."""
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
_MAX_TOOL_NAME = 64


def handoff_tool_name(target: str) -> str:
    """``handoff_to_<target>``, made safe for any model API: letters, digits, `_`, `-`; at most 64."""
    return f"handoff_to_{_UNSAFE.sub('_', target)}"[:_MAX_TOOL_NAME]


class HandoffBuilder(OrchestrationBuilder):
    """Decentralized routing among agents along declared handoff edges, over one shared transcript."""

    def __init__(
        self,
        participants: Sequence[Participant],
        *,
        name: str = "handoff",
        max_supersteps: int = 1000,
    ) -> None:
        super().__init__(name=name, max_supersteps=max_supersteps)
        members = members_of(participants, "HandoffBuilder", reserved=(HANDOFF_OUTPUT_ID,))
        self._members = members
        self._agents: dict[str, Agent] = {m.id: m.agent for m in members if m.agent is not None}
        self._steps: dict[str, Executor] = {
            m.id: m.executor for m in members if m.executor is not None
        }
        if not self._agents:
            raise ValueError(
                "HandoffBuilder needs at least one agent: agents route the conversation by calling "
                "handoff tools, and executor participants only do a step for the agent that called."
            )
        reserved = [
            f"`{bridge}`"
            for i in self._steps
            for bridge in (call_id(i), return_id(i))
            if bridge in self._members_by_id()
        ]
        if reserved:
            raise ValueError(
                f"HandoffBuilder: {', '.join(reserved)} is the id of an executor participant's "
                "bridge node; rename the participant."
            )
        self._start: str = next(iter(self._agents))
        self._edges: dict[tuple[str, str], str | None] = {}
        self._return_to_previous = True
        self._autonomous: frozenset[str] = frozenset()
        self._turn_limits: dict[str, int] = {}
        self._default_turn_limit: int | None = None
        self._prompts: dict[str, str] = {}
        self._termination: TerminationCondition | None = None

    @classmethod
    def from_sequential(cls, pipeline: SequentialBuilder) -> HandoffBuilder:
        """A handoff graph with the pipeline's forward edges, ready for back-edges.

        The first participant starts; each hands off to the next; the last is terminal. Name, superstep
        budget and agents carry over.
        """
        if not isinstance(pipeline, SequentialBuilder):
            raise TypeError(
                f"from_sequential() takes a SequentialBuilder, got {type(pipeline).__name__}"
            )
        if pipeline.reviewed_agents:
            raise ValueError(
                "from_sequential(): the pipeline reviews "
                f"{', '.join(f'`{a}`' for a in sorted(pipeline.reviewed_agents))} with "
                "`with_request_info`; a handoff graph asks the user whenever an agent finishes its "
                "turn without handing off, so build the pipeline without review pauses."
            )
        builder = cls(
            [_agent_of(m) for m in pipeline.members],
            name=pipeline.name,
            max_supersteps=pipeline.max_supersteps,
        )
        for source, target in zip(pipeline.members, pipeline.members[1:], strict=False):
            builder.add_handoff(source.id, [target.id])
        return builder

    @property
    def members(self) -> tuple[Member, ...]:
        """The participants, in the order given."""
        return self._members

    def with_start_agent(self, agent: Participant | str) -> Self:
        """The agent that receives the run's input (by default the first agent participant)."""
        where = "with_start_agent()"
        (self._start,) = resolve_ids([agent], self._members, where, agents_only=True)
        return self

    def add_handoff(
        self,
        source: Participant | str,
        targets: Sequence[Participant | str] | Participant | str,
        *,
        description: str | None = None,
    ) -> Self:
        """Let `source` hand off to each of `targets`; repeated calls add edges.

        `description` is what the source's model reads on the handoff tool of these edges; by default
        the target's description, else its name. Declaring an edge again with a description replaces it.
        """
        (source_id,) = resolve_ids([source], self._members, "add_handoff() source")
        if source_id in self._steps:
            raise ValueError(
                f"add_handoff(): `{source_id}` is an executor; it cannot hand off. The conversation "
                "returns from an executor participant to the agent that handed off to it."
            )
        if isinstance(targets, (str, Agent)) or not isinstance(targets, Sequence):
            targets = [targets]
        target_ids = resolve_ids(targets, self._members, "add_handoff() targets")
        if not target_ids:
            raise ValueError(f"add_handoff(`{source_id}`, ...) needs at least one target.")
        if source_id in target_ids:
            raise ValueError(
                f"add_handoff(): `{source_id}` cannot hand off to itself; an agent keeps the turn "
                "by answering."
            )
        if description is not None and (not isinstance(description, str) or not description):
            raise ValueError("add_handoff(description=...) must be a non-empty string")
        for target_id in target_ids:
            key = (source_id, target_id)
            if description is not None or key not in self._edges:
                self._edges[key] = description
        return self

    def enable_return_to_previous(self, enabled: bool = True) -> Self:
        """Send the user's reply to the agent that asked (the default), or, if off, to the start agent."""
        self._return_to_previous = bool(enabled)
        return self

    def with_autonomous_mode(
        self,
        *,
        agents: Sequence[Participant | str] | None = None,
        turn_limits: Mapping[str, int] | None = None,
        prompts: Mapping[str, str] | None = None,
    ) -> Self:
        """Let agents (all when `agents` is None) continue without a user turn, up to their limits.

        `turn_limits` bounds how many turns an agent takes, however it is entered, until the user next
        speaks (in a fully autonomous run: in the whole run); an autonomous agent it does not name gets
        `DEFAULT_AUTONOMOUS_TURN_LIMIT`. When a limit is reached the conversation ends (autonomous) or
        the user is asked (interactive). `prompts` replaces the message that tells an agent to go on.
        """
        where = "with_autonomous_mode()"
        if agents is None:
            chosen = list(self._agents)
        else:
            chosen = resolve_ids(agents, self._members, f"{where} agents", agents_only=True)
            if not chosen:
                raise ValueError(f"{where}: agents=[] names no agent; pass None for all agents.")
        limits = self._checked_limits(turn_limits or {}, where)
        texts = dict(prompts or {})
        resolve_ids(list(texts), self._members, f"{where} prompts", agents_only=True)
        for agent_id, text in texts.items():
            if not isinstance(text, str) or not text.strip():
                raise ValueError(f"{where}: the prompt of `{agent_id}` must be non-empty text.")
        self._autonomous = frozenset(chosen)
        self._turn_limits.update(limits)
        self._prompts = texts
        return self

    def with_turn_limits(
        self, turn_limits: Mapping[str, int] | None = None, *, default: int | None = None
    ) -> Self:
        """Bound how many turns each agent takes per user input, in interactive mode too.

        `turn_limits` names agents; `default` applies to every agent it does not name. An agent that
        reaches its limit asks the user (interactive) or ends the conversation (autonomous). With a
        limit on every agent the mesh is bounded: `engine.analysis.analyze` proves it, and one user
        input takes at most the reported number of supersteps. Calls add to the limits set so far
        (here and in `with_autonomous_mode`).
        """
        where = "with_turn_limits()"
        limits = self._checked_limits(turn_limits or {}, where)
        if default is not None:
            self._default_turn_limit = self._checked_limits({"": default}, where, named=False)[""]
        self._turn_limits.update(limits)
        return self

    def _checked_limits(
        self, limits: Mapping[str, int], where: str, *, named: bool = True
    ) -> dict[str, int]:
        """`limits` as a dict, once every agent id and every limit is known to be valid."""
        checked = dict(limits)
        if named:
            resolve_ids(list(checked), self._members, f"{where} turn_limits", agents_only=True)
        for agent_id, limit in checked.items():
            if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
                whose = f"turn limit of `{agent_id}`" if named else "default turn limit"
                raise ValueError(f"{where}: the {whose} must be a positive integer, got {limit!r}.")
        return checked

    def with_termination_condition(self, condition: TerminationCondition) -> Self:
        """End the conversation as soon as `condition(conversation)` is true (sync or async).

        It is checked after every agent turn and every user reply.
        """
        if not callable(condition):
            raise TypeError(
                f"with_termination_condition() takes a function, got {type(condition).__name__}"
            )
        self._termination = condition
        return self

    def routes_of(self, agent_id: str) -> dict[str, tuple[str, str]]:
        """The handoff tools `agent_id` gets: tool name -> (target, description)."""
        edges = self._declared_edges()
        routes: dict[str, tuple[str, str]] = {}
        for (source, target), description in edges.items():
            if source != agent_id:
                continue
            name = handoff_tool_name(target)
            if name in routes:
                raise ValueError(
                    f"`{agent_id}` hands off to `{routes[name][0]}` and `{target}`, whose handoff "
                    f"tools would both be named `{name}`; rename one of the agents."
                )
            if self._agents[agent_id].find_tool(name) is not None:
                raise ValueError(
                    f"agent `{agent_id}` has its own tool `{name}`, which clashes with the handoff "
                    f"tool to `{target}`; rename the agent's tool."
                )
            routes[name] = (target, description or self._members_by_id()[target].description)
        return routes

    def compile(self) -> WorkflowBuilder:
        """The handoff graph as an unbuilt `WorkflowBuilder` of fresh executors."""
        nodes = {agent_id: self._node(agent_id) for agent_id in self._agents}
        terminal = [n.id for n in nodes.values() if n.is_terminal]
        if terminal and len(nodes) > 1:
            names = ", ".join(f"`{t}`" for t in terminal)
            has, its = ("has", "its") if len(terminal) == 1 else ("have", "their")
            warnings.warn(
                f"handoff workflow `{self.name}`: {names} {has} no outbound handoff, so "
                f"{'it is' if len(terminal) == 1 else 'they are'} terminal: {its} finished turn "
                "ends the conversation. Add a handoff if the conversation should go on from there.",
                BatonWarning,
                stacklevel=2,
            )
        builder = self.new_builder(nodes[self._start])
        self._wire_handoffs(builder, nodes)
        if not self._return_to_previous:
            reply = HandoffRoute(self._start, "user reply", kind="user_reply")
            for node in nodes.values():
                if node.id != self._start:
                    builder.add_edge(node, nodes[self._start], condition=reply)
        output = HandoffOutput(HANDOFF_OUTPUT_ID)
        for node in nodes.values():
            builder.add_edge(node, output)
        return builder

    def _wire_handoffs(
        self, builder: WorkflowBuilder, nodes: Mapping[str, HandoffAgentExecutor]
    ) -> None:
        """One labelled edge per handoff; an executor participant sits between a call and a return."""
        calls = {i: HandoffStepCall(call_id(i), i, return_id(i)) for i in self._steps}
        targets: dict[str, Executor] = {**nodes, **{c.id: c for c in calls.values()}}
        for node in nodes.values():
            for tool_name, (target, description) in node.settings.routes.items():
                delivered_to = node_id(target, self._steps)
                route = HandoffRoute(delivered_to, f"{tool_name}: {description}")
                builder.add_edge(node, targets[delivered_to], condition=route)
        for step_id, call in calls.items():
            back = HandoffStepReturn(return_id(step_id), step_id)
            builder.add_edge(call, self._steps[step_id]).add_edge(self._steps[step_id], back)
            builder.add_edge(call, back)
            for caller in [s for s, t in self._declared_edges() if t == step_id]:
                builder.add_edge(
                    back, nodes[caller], condition=HandoffRoute(caller, f"back to {caller}")
                )

    def _node(self, agent_id: str) -> HandoffAgentExecutor:
        autonomous = agent_id in self._autonomous
        limit = self._turn_limits.get(agent_id, self._default_turn_limit)
        if limit is None and autonomous:
            limit = DEFAULT_AUTONOMOUS_TURN_LIMIT
        routes = self.routes_of(agent_id)
        settings = HandoffSettings(
            routes=routes,
            nodes={target: node_id(target, self._steps) for target, _ in routes.values()},
            start_id=self._start,
            output_id=HANDOFF_OUTPUT_ID,
            return_to_previous=self._return_to_previous,
            autonomous=autonomous,
            turn_limit=limit,
            termination_condition=self._termination,
            **({"prompt": self._prompts[agent_id]} if agent_id in self._prompts else {}),
        )
        return HandoffAgentExecutor(self._agents[agent_id], settings)

    def _declared_edges(self) -> dict[tuple[str, str], str | None]:
        if self._edges:
            return self._edges
        ids = [m.id for m in self._members]
        return {(s, t): None for s in self._agents for t in ids if s != t}

    def _members_by_id(self) -> dict[str, Member]:
        return {m.id: m for m in self._members}


def call_id(step_id: str) -> str:
    """The id of the node a handoff to an executor participant is delivered to."""
    return f"{step_id}_call"


def return_id(step_id: str) -> str:
    """The id of the node that takes an executor participant's conversation back to its caller."""
    return f"{step_id}_return"


def node_id(participant_id: str, steps: Mapping[str, Executor]) -> str:
    """Where a handoff to `participant_id` is delivered: the agent, or an executor's call node."""
    return call_id(participant_id) if participant_id in steps else participant_id


def _agent_of(member: Member) -> Agent:
    if member.agent is None:
        raise TypeError(
            f"from_sequential(): `{member.id}` is an executor; a handoff graph is made of agents."
        )
    return member.agent
