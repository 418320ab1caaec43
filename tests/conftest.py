"""Shared test configuration: every async test runs on a fresh event loop (pytest-asyncio auto mode)."""
