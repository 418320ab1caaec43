"""Bundled demo workflows that run offline (no API key, no network)."""

from __future__ import annotations

from cli.demos.refunds import build_refund_desk
from cli.demos.support_desk import CUSTOMER_TURNS, build_support_desk

__all__ = ["CUSTOMER_TURNS", "build_refund_desk", "build_support_desk"]
