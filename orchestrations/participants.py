"""Participants of an orchestration: agents or executors, checked once and named by a stable id.

Every builder takes ``participants=[...]`` holding `Agent`s, `AgentExecutor`s (whose agent is used, under
the executor's id) or any other `Executor`. This module turns that list into `Member`s, rejects what no
builder can use, and resolves the references users pass to builder options (an agent, an executor or a
name) to member ids, with errors that list what would have been valid.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from engine import Executor
from executors.agents import Agent, AgentExecutor

__all__ = ["Member", "Participant", "members_of", "resolve_ids"]

Participant = Agent | Executor
"""What a builder accepts as a participant."""


@dataclass(frozen=True, slots=True)
class Member:
    """One participant, normalized: its id, and either the agent to host or the executor to use as is."""

    id: str
    agent: Agent | None = None
    executor: Executor | None = None

    @property
    def description(self) -> str:
        """What the participant is for: the agent's description, else its id."""
        if self.agent is not None and self.agent.description:
            return self.agent.description
        return self.id


def members_of(
    participants: Sequence[Participant], builder: str, *, reserved: Iterable[str] = ()
) -> tuple[Member, ...]:
    """Check `participants` and return them as members, in order.

    `reserved` lists the ids of the builder's own executors, which a participant may not take.
    """
    if isinstance(participants, (str, bytes, Agent, Executor)) or not isinstance(
        participants, Iterable
    ):
        raise TypeError(
            f"{builder} takes participants=[...], a list of agents or executors; got "
            f"{type(participants).__name__}."
        )
    items = list(participants)
    if not items:
        raise ValueError(f"{builder} needs at least one participant; pass participants=[...].")
    members = [_member(item, position, builder) for position, item in enumerate(items)]
    ids = [m.id for m in members]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(
            f"{builder}: several participants are named {', '.join(f'`{d}`' for d in duplicates)}; "
            "each participant needs its own name (an agent's `name`, an executor's `id`)."
        )
    clashes = [i for i in ids if i in set(reserved)]
    if clashes:
        raise ValueError(
            f"{builder}: the participant name {', '.join(f'`{c}`' for c in clashes)} is used by the "
            f"builder's own executor of that id; rename the participant."
        )
    return tuple(members)


def _member(item: object, position: int, builder: str) -> Member:
    if isinstance(item, Agent):
        return Member(item.name, agent=item)
    if isinstance(item, AgentExecutor):
        return Member(item.id, agent=item.agent)
    if isinstance(item, Executor):
        return Member(item.id, executor=item)
    raise TypeError(
        f"{builder}: participant {position} is a {type(item).__name__}; participants are `Agent`s "
        "or `Executor`s (wrap a function with `@executor`)."
    )


def resolve_ids(
    refs: Iterable[object], members: Sequence[Member], where: str, *, agents_only: bool = False
) -> list[str]:
    """The member ids that `refs` (agents, executors or names) stand for, in order.

    Unknown references, duplicates and (with `agents_only`) non-agent members raise `ValueError`.
    """
    if isinstance(refs, (str, bytes, Agent, Executor)) or not isinstance(refs, Iterable):
        raise TypeError(f"{where} takes a list of participants or names, got {type(refs).__name__}")
    by_id = {m.id: m for m in members}
    ids = [_ref_id(ref, where) for ref in refs]
    unknown = [i for i in ids if i not in by_id]
    if unknown:
        raise ValueError(
            f"{where}: {', '.join(f'`{u}`' for u in unknown)} is not a participant (participants: "
            f"{', '.join(f'`{m.id}`' for m in members)})."
        )
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"{where}: {', '.join(f'`{d}`' for d in duplicates)} is named twice.")
    if agents_only:
        executors = [i for i in ids if by_id[i].agent is None]
        if executors:
            raise ValueError(
                f"{where}: {', '.join(f'`{e}`' for e in executors)} is an executor, not an agent; "
                "only agent participants can be named here."
            )
    return ids


def _ref_id(ref: object, where: str) -> str:
    if isinstance(ref, str):
        return ref
    if isinstance(ref, Agent):
        return ref.name
    if isinstance(ref, Executor):
        return ref.id
    raise TypeError(f"{where}: expected an agent, an executor or a name, got {type(ref).__name__}")
