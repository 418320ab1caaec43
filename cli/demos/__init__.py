"""Bundled demo workflows that run offline (no API key, no network), each described by a `Demo`.

`DEMOS` maps each name `baton demo NAME` takes to its demo, in the order the help lists them.
"""

from __future__ import annotations

from cli.demos.base import Demo
from cli.demos.concurrent import CONCURRENT, build_panel
from cli.demos.group_chat import GROUPCHAT, build_chat
from cli.demos.refunds import SWITCH, TICKETS, build_refund_desk
from cli.demos.sequential import SEQUENTIAL, build_pipeline
from cli.demos.support_desk import CUSTOMER_TURNS, HANDOFF, build_support_desk

__all__ = [
    "CUSTOMER_TURNS",
    "DEMOS",
    "Demo",
    "TICKETS",
    "build_chat",
    "build_panel",
    "build_pipeline",
    "build_refund_desk",
    "build_support_desk",
]

DEMOS: dict[str, Demo] = {
    demo.name: demo for demo in (HANDOFF, SEQUENTIAL, CONCURRENT, SWITCH, GROUPCHAT)
}
"""Every bundled demo by name: handoff, sequential, concurrent, switch, groupchat."""
