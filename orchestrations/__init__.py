"""Orchestration builders (Sequential, Concurrent, Handoff, GroupChat) that compile to executor graphs.

Not built yet: they arrive with the orchestrations issue and will use only the engine's public API.
"""

from __future__ import annotations

__all__: list[str] = []
