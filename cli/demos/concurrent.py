"""The launch panel: engineering, legal and marketing answer one question at once; a summary joins them.

Wiring: input -> dispatcher -> fan-out(engineering, legal, marketing) -> fan-in -> aggregator -> output.
`ConcurrentBuilder` sends each agent its own copy of the question, and ``with_aggregator(summarize)``
makes the aggregator turn the three `ParticipantResult`s into one text, the run's output. By default
each agent runs on its own fresh `ScriptedChatClient`; given a `ChatClient`, all three share it.
"""

from __future__ import annotations

from cli.demos.base import Demo, Role, make_agents
from engine import Workflow
from executors import ChatClient
from orchestrations import ConcurrentBuilder, ParticipantResult

__all__ = ["CONCURRENT", "QUESTION", "build_panel", "summarize"]

QUESTION = "We want to launch in-app payments in three weeks. What should we watch out for?"
"""The one question the panel answers."""

_BRIEF = (
    "A product team asks you about a plan. Answer only from your own team's point of view, in one "
    "or two sentences: the biggest risk you see and what to do about it."
)


_ROLES: dict[str, Role] = {
    "engineering": Role(
        "Reliability and delivery.",
        f"You are the engineering lead, responsible for reliability and delivery. {_BRIEF}",
        [
            "Three weeks is tight for payments: freeze the API a week before launch and load-test "
            "checkout at twice the expected peak."
        ],
    ),
    "legal": Role(
        "Terms, compliance and legal risk.",
        f"You are the company's counsel, responsible for compliance and contracts. {_BRIEF}",
        [
            "Payments need updated terms of service and a PCI DSS review of the card flow; start "
            "both now, as each takes about two weeks."
        ],
    ),
    "marketing": Role(
        "Customers and messaging.",
        f"You are the marketing lead, responsible for the announcement and customers. {_BRIEF}",
        [
            "Tell existing customers a week ahead, and give support an FAQ on fees and refunds "
            "before the first payment goes through."
        ],
    ),
}


def summarize(results: list[ParticipantResult]) -> str:
    """The panel's answers as one text: a heading, then one line per panelist, in panel order."""
    lines = [f"- {r.participant}: {r.text or '(no answer)'}" for r in results]
    return "\n".join([f"The panel's {len(results)} views:", *lines])


def build_panel(client: ChatClient | None = None) -> Workflow:
    """The three-agent panel with the text summary as its output.

    Every agent gets a fresh scripted client when `client` is None, else all of them share `client`.
    """
    agents = make_agents(_ROLES, client)
    return ConcurrentBuilder(agents, name="launch_panel").with_aggregator(summarize).build()


CONCURRENT = Demo(
    name="concurrent",
    summary="Engineering, legal and marketing answer one question at once; one summary joins them.",
    build=build_panel,
    user="user",
    turns=(QUESTION,),
)
