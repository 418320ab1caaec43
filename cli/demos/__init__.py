"""Bundled demo workflows that run offline (no API key, no network)."""

from __future__ import annotations

from cli.demos.refunds import build_refund_desk

__all__ = ["build_refund_desk"]
