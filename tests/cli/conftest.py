from __future__ import annotations

import logging
import sys
from collections.abc import Iterator

import pytest
import structlog

from cli.logs import PACKAGES


@pytest.fixture(autouse=True)
def _isolated(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """Undo what a command changes in the process: logging, structlog, sys.path, file modules."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {name: logging.getLogger(name).level for name in PACKAGES}
    modules = set(sys.modules)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delenv("BATON_STORE", raising=False)  # a run without --store must not be durable
    yield
    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)
    root.setLevel(level)
    for name, saved in levels.items():
        logging.getLogger(name).setLevel(saved)
    structlog.reset_defaults()
    temp = str(tmp_path_factory.getbasetemp())
    for name in set(sys.modules) - modules:  # modules a file TARGET loaded from a temp dir
        if (getattr(sys.modules[name], "__file__", None) or "").startswith(temp):
            del sys.modules[name]
