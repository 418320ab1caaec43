"""The support desk: the seeds' e-commerce handoff graph, played offline on scripted models.

Wiring: triage -> {returns, orders}; returns <-> orders (side edges); returns, orders -> triage
(back-edges); returns -> fraud (one way, with its own reason); fraud is terminal.
Every agent runs on a `ScriptedChatClient`, and the customer's turns are scripted too, so the demo is
deterministic and needs no key or network. Each call builds fresh agents (scripts are consumed).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

from engine import BatonWarning, Workflow
from executors import Agent, ScriptedChatClient, ToolCall
from executors.agents import ScriptedReply
from orchestrations import HandoffBuilder

__all__ = ["CUSTOMER_TURNS", "build_support_desk"]

CUSTOMER_TURNS = (
    "I want to return the blender from order 1042; it arrived cracked.",
    "A replacement, please.",
    "Actually I got two replacements this month already. I want cash back for all three.",
)
"""What the scripted customer says: the opening message, then one answer per pause."""

_SCRIPTS: dict[str, tuple[str, Sequence[ScriptedReply]]] = {
    "triage": (
        "Routes each customer request to the right desk.",
        [["That sounds like a return; passing you to returns.", ToolCall("handoff_to_returns")]],
    ),
    "returns": (
        "Handles returns, refunds and replacements.",
        [
            "Sorry about the blender! Would you like a refund or a replacement?",
            ["Replacements are placed by the orders desk.", ToolCall("handoff_to_orders")],
            [
                "Three refunds in one month needs a closer look; escalating.",
                ToolCall("handoff_to_fraud"),
            ],
        ],
    ),
    "orders": (
        "Places, changes and tracks orders.",
        [
            "Replacement blender ordered for order 1042; it ships Monday. Anything else?",
            ["Refunds for several orders go through returns.", ToolCall("handoff_to_returns")],
        ],
    ),
    "fraud": (
        "Investigates suspicious activity.",
        ["Your account is under review; a specialist will email you within 24 hours."],
    ),
}


def build_support_desk() -> Workflow:
    """The support-desk handoff workflow on fresh scripted agents (interactive: it asks the customer)."""
    agents = {
        name: Agent(
            ScriptedChatClient(replies),
            name=name,
            instructions=f"You are the {name} desk of an online shop.",
            description=description,
        )
        for name, (description, replies) in _SCRIPTS.items()
    }
    triage, returns, orders, fraud = (agents[n] for n in ("triage", "returns", "orders", "fraud"))
    builder = (
        HandoffBuilder(participants=[triage, returns, orders, fraud], name="support_desk")
        .with_start_agent(triage)
        .add_handoff(triage, [returns, orders])
        .add_handoff(returns, [triage, orders])
        .add_handoff(orders, [triage, returns])
        .add_handoff(returns, [fraud], description="Suspected return fraud or abuse.")
    )
    with warnings.catch_warnings():  # fraud is terminal by design; the build says so
        warnings.simplefilter("ignore", BatonWarning)
        return builder.build()
