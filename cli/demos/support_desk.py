"""The support desk: the seeds' e-commerce handoff graph, played offline on scripted models.

Wiring: triage -> {returns, orders}; returns <-> orders (side edges); returns, orders -> triage
(back-edges); returns -> fraud (one way, with its own reason); fraud is terminal.
By default every agent runs on its own `ScriptedChatClient` and the customer's turns are scripted too,
so the demo is deterministic and needs no key or network; each build makes fresh agents (scripts are
consumed). Given a `ChatClient`, the same four agents run on that one client instead.
"""

from __future__ import annotations

import warnings

from cli.demos.base import Demo, Role, make_agents
from engine import BatonWarning, Workflow
from executors import ChatClient, ToolCall
from orchestrations import HandoffBuilder

__all__ = ["CUSTOMER_TURNS", "HANDOFF", "build_support_desk"]

CUSTOMER_TURNS = (
    "I want to return the blender from order 1042; it arrived cracked.",
    "A replacement, please.",
    "Actually I got two replacements this month already. I want cash back for all three.",
)
"""What the scripted customer says: the opening message, then one answer per pause."""

_STYLE = "Answer the customer in one or two friendly sentences."


_DESKS: dict[str, Role] = {
    "triage": Role(
        "Routes each customer request to the right desk.",
        "You are the first contact of an online shop's support desk. Work out what the customer "
        "needs, but do not solve it yourself: hand off to returns for returns, refunds and "
        "damaged or faulty items, and to orders for placing, changing or tracking an order. "
        f"Say in one sentence where you are passing them. {_STYLE}",
        [["That sounds like a return; passing you to returns.", ToolCall("handoff_to_returns")]],
    ),
    "returns": Role(
        "Handles returns, refunds and replacements.",
        "You are the returns desk of an online shop. For a damaged or unwanted item, make sure you "
        "know the order number and what went wrong, then ask whether the customer wants a refund "
        "or a replacement. Replacements are placed by the orders desk: hand off to orders for one. "
        "If the customer asks for several refunds or replacements in a short time, or anything "
        "suggests return abuse, hand off to fraud instead of deciding yourself. Hand anything that "
        f"is not about a return back to triage. {_STYLE}",
        [
            "Sorry about the blender! Would you like a refund or a replacement?",
            ["Replacements are placed by the orders desk.", ToolCall("handoff_to_orders")],
            [
                "Three refunds in one month needs a closer look; escalating.",
                ToolCall("handoff_to_fraud"),
            ],
        ],
    ),
    "orders": Role(
        "Places, changes and tracks orders.",
        "You are the orders desk of an online shop. You place new and replacement orders, change "
        "orders that have not shipped yet, and tell customers where their parcel is; confirm what "
        "you did with the order number and a shipping day, then ask if there is anything else. "
        "Hand refunds and returns to returns, and anything else to triage. "
        f"{_STYLE}",
        [
            "Replacement blender ordered for order 1042; it ships Monday. Anything else?",
            ["Refunds for several orders go through returns.", ToolCall("handoff_to_returns")],
        ],
    ),
    "fraud": Role(
        "Investigates suspicious activity.",
        "You review customer accounts flagged for possible return fraud or abuse. You cannot approve "
        "or refuse anything yourself: tell the customer, without accusing them, that their account "
        f"is under review and a specialist will email them within 24 hours. {_STYLE}",
        ["Your account is under review; a specialist will email you within 24 hours."],
    ),
}


DESK_TURN_LIMIT = 4
"""Turns an agent of the desk takes per customer message before it asks the customer."""


def build_support_desk(client: ChatClient | None = None) -> Workflow:
    """The support-desk handoff workflow (interactive: it asks the customer).

    Every agent gets a fresh scripted client when `client` is None, else all of them share `client`.
    """
    agents = {a.name: a for a in make_agents(_DESKS, client)}
    triage, returns, orders, fraud = (agents[n] for n in ("triage", "returns", "orders", "fraud"))
    builder = (
        HandoffBuilder(participants=[triage, returns, orders, fraud], name="support_desk")
        .with_start_agent(triage)
        .add_handoff(triage, [returns, orders])
        .add_handoff(returns, [triage, orders])
        .add_handoff(orders, [triage, returns])
        .add_handoff(returns, [fraud], description="Suspected return fraud or abuse.")
        .with_turn_limits(default=DESK_TURN_LIMIT)  # bounded: `baton check` proves it
    )
    with warnings.catch_warnings():  # fraud is terminal by design; the build says so
        warnings.simplefilter("ignore", BatonWarning)
        return builder.build()


HANDOFF = Demo(
    name="handoff",
    summary="A support desk of four agents that hand the customer along declared edges.",
    build=build_support_desk,
    user="customer",
    turns=CUSTOMER_TURNS,
)
