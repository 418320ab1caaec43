"""The refund desk: a typed switch, a fan-out to two checks and a fan-in, on the raw `WorkflowBuilder`.

Wiring: intake -> switch(amount > 500: review -> fan-out(fraud_check, policy_check) -> fan-in -> decide;
default: auto_approve). Every executor is a plain typed function; the run is deterministic.
The demo sends each of `TICKETS` through a fresh run; it has no agents, so a `ChatClient` changes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cli.demos.base import Demo
from engine import Case, Default, Workflow, WorkflowBuilder, WorkflowContext, executor
from executors import ChatClient

__all__ = ["Check", "Decision", "SWITCH", "TICKETS", "Ticket", "build_refund_desk"]

LARGE_REFUND = 500

TICKETS = (
    "order 1042: $180 damaged in transit",
    "order 2077: $1400 never arrived",
    "order 3310: $720 changed my mind",
    "order 4501: $950 arrived broken",
)
"""The demo's refund requests: one small, one suspicious, one not covered, one approved on review."""


@dataclass(frozen=True)
class Ticket:
    """A refund request parsed from the customer's text."""

    order_id: str
    amount: int
    reason: str


@dataclass(frozen=True)
class Check:
    """One reviewer's verdict on a large refund."""

    order_id: str
    name: str
    passed: bool
    note: str


@dataclass(frozen=True)
class Decision:
    """The desk's answer for one ticket."""

    order_id: str
    approved: bool
    why: str


@executor(id="intake")
async def intake(text: str) -> Ticket:
    """Parse ``"order 1042: $180 damaged in transit"`` into a `Ticket`."""
    match = re.match(r"order (\w+): \$(\d+) (.+)", text.strip())
    if match is None:
        raise ValueError(
            f"cannot read refund request {text!r}; expected 'order ID: $AMOUNT reason'"
        )
    return Ticket(match[1], int(match[2]), match[3])


def is_large(ticket: Ticket) -> bool:
    """Large refunds go to review."""
    return ticket.amount > LARGE_REFUND


@executor(id="auto_approve")
async def auto_approve(ticket: Ticket, ctx: WorkflowContext[None, Decision]) -> None:
    """Small refunds are approved on the spot."""
    await ctx.yield_output(
        Decision(ticket.order_id, True, f"${ticket.amount} is under the review limit")
    )


@executor(id="review")
async def review(ticket: Ticket, ctx: WorkflowContext[Ticket]) -> None:
    """Hand the ticket to both checks at once (the fan-out runs them in the same superstep)."""
    await ctx.send_message(ticket)


@executor(id="fraud_check")
async def fraud_check(ticket: Ticket) -> Check:
    """Flag refunds whose reason sounds like a non-delivery claim on an expensive order."""
    suspicious = "never arrived" in ticket.reason and ticket.amount > 1000
    return Check(
        ticket.order_id,
        "fraud",
        not suspicious,
        "non-delivery claim over $1000" if suspicious else "no signals",
    )


@executor(id="policy_check")
async def policy_check(ticket: Ticket) -> Check:
    """Refunds are covered for damage or non-delivery."""
    covered = any(word in ticket.reason for word in ("damaged", "never arrived", "broken"))
    return Check(
        ticket.order_id,
        "policy",
        covered,
        "covered reason" if covered else f"reason {ticket.reason!r} not covered",
    )


@executor(id="decide")
async def decide(checks: list[Check], ctx: WorkflowContext[None, Decision]) -> None:
    """Approve only when every check passed."""
    failed = [c for c in checks if not c.passed]
    why = "; ".join(f"{c.name}: {c.note}" for c in failed) or "all checks passed"
    await ctx.yield_output(Decision(checks[0].order_id, not failed, why))


def build_refund_desk() -> Workflow:
    """Build the refund desk workflow."""
    return (
        WorkflowBuilder(start_executor=intake, name="refund-desk")
        .add_switch_case_edge_group(intake, [Case(is_large, review), Default(auto_approve)])
        .add_fan_out_edges(review, [fraud_check, policy_check])
        .add_fan_in_edges([fraud_check, policy_check], decide)
        .build()
    )


def _build_demo(client: ChatClient | None) -> Workflow:
    """The refund desk for `baton demo switch`; `client` is ignored (no executor is an agent)."""
    return build_refund_desk()


SWITCH = Demo(
    name="switch",
    summary="A refund desk on the raw WorkflowBuilder: a typed switch, a fan-out and a fan-in.",
    build=_build_demo,
    user="customer",
    turns=TICKETS,
    uses_models=False,
    run_per_turn=True,
)
