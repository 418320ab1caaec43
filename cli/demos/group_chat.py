"""The tagline chat: a writer drafts, a critic reviews, and they alternate until the critic approves.

Wiring: input -> manager -> writer -> manager -> critic -> manager -> writer -> ... -> manager -> output.
`GroupChatBuilder` with ``with_selector(next_speaker)``: the writer speaks first, then the two
alternate; the chat ends when the critic's latest message contains ``APPROVED``, or after
`MAX_ROUNDS` turns as a backstop. The output is the whole conversation. By default each agent runs on
its own fresh `ScriptedChatClient`; given a `ChatClient`, both share it.
"""

from __future__ import annotations

from cli.demos.base import Demo, Role, make_agents
from engine import Workflow
from executors import ChatClient
from orchestrations import GroupChatBuilder, GroupChatState

__all__ = ["APPROVAL", "GROUPCHAT", "MAX_ROUNDS", "TOPIC", "build_chat", "next_speaker"]

TOPIC = "Write a one-line tagline for a bike repair shop that opens at 7am."
"""What the user asks the chat for."""
APPROVAL = "APPROVED"
"""The word with which the critic ends the chat."""
MAX_ROUNDS = 6
"""At most this many turns (three drafts, three critiques) when the critic never approves."""

WRITER = "writer"
CRITIC = "critic"


_ROLES: dict[str, Role] = {
    WRITER: Role(
        "Drafts and revises the text.",
        "You are a copywriter in a chat with a critic. Write what the user asks for; when the "
        "critic answers, revise your latest draft to address the critique. Reply with the draft "
        "only, no commentary.",
        [
            "Fix your bike before your coffee.",
            "Fixed by 7, riding by 8: bike repairs before your workday starts.",
        ],
    ),
    CRITIC: Role(
        "Reviews each draft and approves the final one.",
        "You are a demanding critic in a chat with a copywriter. Check the latest draft against the "
        "user's request. If it fully meets it, reply with the word APPROVED and one sentence on "
        "why. Otherwise give one concrete improvement in one sentence, and do not use that word.",
        [
            "Catchy, but it does not say that we open early; mention the 7am opening.",
            f"{APPROVAL}: short, clear, and it says when we open.",
        ],
    ),
}


def next_speaker(state: GroupChatState) -> str | None:
    """The writer first, then the critic and the writer in turn; `None` once the critic approves."""
    if state.last_speaker == WRITER:
        return CRITIC
    critique = next((m for m in reversed(state.conversation) if m.author_name == CRITIC), None)
    if critique is not None and APPROVAL in critique.text:
        return None
    return WRITER


def build_chat(client: ChatClient | None = None) -> Workflow:
    """The writer-critic group chat, ending on the critic's approval or after `MAX_ROUNDS` turns.

    Every agent gets a fresh scripted client when `client` is None, else both share `client`.
    """
    agents = make_agents(_ROLES, client)
    return (
        GroupChatBuilder(agents, name="tagline_chat")
        .with_selector(next_speaker)
        .with_max_rounds(MAX_ROUNDS)
        .build()
    )


GROUPCHAT = Demo(
    name="groupchat",
    summary="A writer and a critic take turns until the critic approves the tagline.",
    build=build_chat,
    user="user",
    turns=(TOPIC,),
)
