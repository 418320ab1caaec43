"""Shared fixtures."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support.ray_cluster import RAY_ENV

os.environ.update(RAY_ENV)  # before anything imports ray: every Ray process must agree on these

from tests.support.openai_server import OpenAIServer
from tests.support.postgres import postgres_dsn, postgres_server

__all__ = ["openai_server", "postgres_dsn", "postgres_server"]


@pytest.fixture
def openai_server() -> Iterator[OpenAIServer]:
    """A scripted OpenAI-compatible server on a free port of 127.0.0.1; fails the test on server problems."""
    with OpenAIServer() as server:
        yield server
    server.check()
