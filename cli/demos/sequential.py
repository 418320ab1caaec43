"""The writing pipeline: a researcher, a writer and an editor take turns, and a person reviews the editor.

Wiring: input -> researcher -> writer -> editor -> review(approve: output | revise: editor again).
`SequentialBuilder` passes the conversation along; ``with_request_info(agents=["editor"])`` pauses the
run on every editor reply with an `AgentReviewRequest`. The scripted reviewer asks for one revision and
then approves it, so the output is the editor's revised reply. By default each agent runs on its own
fresh `ScriptedChatClient`; given a `ChatClient`, all three share it.
"""

from __future__ import annotations

from cli.demos.base import Demo, Role, make_agents
from engine import Workflow
from executors import ChatClient
from orchestrations import SequentialBuilder

__all__ = ["REVIEWER_TURNS", "SEQUENTIAL", "build_pipeline"]

REVIEWER_TURNS = (
    "Write a short product note: our notes app now works offline.",
    "Make it warmer, and say that offline edits sync on their own once you are back online.",
    "approve",
)
"""The topic, then the reviewer's answers to the editor's two replies: one revision, one approval."""


_ROLES: dict[str, Role] = {
    "researcher": Role(
        "Gathers the facts.",
        "You are the researcher of a small writing team. For the topic the user gives, list the "
        "three or four facts a writer needs, one short line each. No introduction, no prose.",
        [
            "Facts: offline mode ships in version 4.2; the last 30 days of notes stay on the "
            "device; edits made offline sync when the connection returns."
        ],
    ),
    "writer": Role(
        "Drafts the text.",
        "You are the writer of a small writing team. Turn the researcher's facts into a draft of "
        "at most three sentences for the topic the user asked about. Reply with the draft only.",
        [
            "Version 4.2 adds offline mode. The last 30 days of notes stay on your device, and "
            "offline edits sync when the connection returns."
        ],
    ),
    "editor": Role(
        "Polishes the draft.",
        "You are the editor of a small writing team. Edit the writer's draft into the final text: "
        "fix mistakes, tighten the wording, keep every fact. A person reviews your text; when they "
        "send feedback, revise your latest version to follow it. Reply with the text only.",
        [
            "Notes 4.2 works offline: your last 30 days of notes stay on your device, and offline "
            "edits sync later.",
            "Good news: from version 4.2 your notes go wherever you do. The last 30 days stay on "
            "your device, and anything you change offline syncs on its own once you are back online.",
        ],
    ),
}


def build_pipeline(client: ChatClient | None = None) -> Workflow:
    """The researcher -> writer -> editor pipeline, pausing for a review of each editor reply.

    Every agent gets a fresh scripted client when `client` is None, else all of them share `client`.
    """
    agents = make_agents(_ROLES, client)
    return (
        SequentialBuilder(agents, name="writing_pipeline")
        .with_request_info(agents=["editor"])
        .build()
    )


SEQUENTIAL = Demo(
    name="sequential",
    summary="A researcher -> writer -> editor pipeline; you review the editor's text.",
    build=build_pipeline,
    user="reviewer",
    turns=REVIEWER_TURNS,
)
