"""Shared fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.openai_server import OpenAIServer
from tests.support.postgres import postgres_dsn, postgres_server

__all__ = ["openai_server", "postgres_dsn", "postgres_server"]


@pytest.fixture
def openai_server() -> Iterator[OpenAIServer]:
    """A scripted OpenAI-compatible server on a free port of 127.0.0.1; fails the test on server problems."""
    with OpenAIServer() as server:
        yield server
    server.check()
