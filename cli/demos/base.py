"""What a bundled demo is: a workflow, the person the user plays in it, and that person's scripted turns.

Every agent demo runs offline on `ScriptedChatClient`s whose scripts fit the scripted user turns, so
`baton demo NAME --yes` is deterministic. Given a real `ChatClient` instead (``baton demo --model``),
the same graph is built with every agent on that client, and the turns become suggestions the user
can accept or replace.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from engine import Workflow
from executors import Agent, ChatClient, ScriptedChatClient
from executors.agents import ScriptedReply

__all__ = ["Demo", "DemoBuild", "Role", "make_agents"]

DemoBuild = Callable[[ChatClient | None], Workflow]
"""Builds a demo's workflow: on fresh scripted agents for `None`, else every agent on that client."""


@dataclass(frozen=True, slots=True)
class Demo:
    """One bundled demo, as `baton demo` runs it."""

    name: str
    """The name `baton demo NAME` takes."""
    summary: str
    """One line for `baton demo --help`."""
    build: DemoBuild
    user: str
    """Who the user plays, shown before each of their turns (``customer``, ``reviewer``, ...)."""
    turns: tuple[str, ...]
    """The user's scripted turns: the opening message, then one answer per pause, in order."""
    uses_models: bool = True
    """Whether the workflow has agents (so `--model` applies)."""
    run_per_turn: bool = False
    """Start a fresh run for every turn (a batch of inputs) instead of one conversation."""


@dataclass(frozen=True, slots=True)
class Role:
    """One agent of a demo: what others read about it, what it is told, and its offline script."""

    description: str
    instructions: str
    script: Sequence[ScriptedReply]


def make_agents(roles: Mapping[str, Role], client: ChatClient | None) -> list[Agent]:
    """One agent per role, in order: each on a fresh scripted client, or all on `client`."""
    return [
        Agent(
            client if client is not None else ScriptedChatClient(role.script),
            name=name,
            instructions=role.instructions,
            description=role.description,
        )
        for name, role in roles.items()
    ]
