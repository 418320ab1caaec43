"""Helpers shared by the orchestration tests: scripted agents and what a run's events say."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from engine import RunResult
from executors import Agent, ChatMessage, ScriptedChatClient
from orchestrations import HandoffCompletedEvent, HandoffSentEvent


def make_agent(name: str, client: Any, **changes: Any) -> Agent:
    """An agent on `client` whose instructions name it."""
    return Agent(client, name=name, instructions=f"You are {name}.", **changes)


def client_of(agent: Agent) -> ScriptedChatClient:
    """The scripted client of `agent`, typed for inspection."""
    assert isinstance(agent.client, ScriptedChatClient)
    return agent.client


def seen(messages: Sequence[ChatMessage]) -> list[tuple[str, str | None, str]]:
    """Messages as (role, author, text)."""
    return [(m.role, m.author_name, m.text) for m in messages]


def handoffs(result: RunResult) -> list[tuple[str, str]]:
    """The handoffs that happened in a run segment, as (source, target)."""
    return [(e.source, e.target) for e in result.events if isinstance(e, HandoffSentEvent)]


def completions(result: RunResult) -> list[tuple[str, str]]:
    """The handoff conversations that ended in a run segment, as (agent, reason)."""
    return [(e.agent, e.reason) for e in result.events if isinstance(e, HandoffCompletedEvent)]
