from __future__ import annotations

import logging
from typing import Any

import pytest
import structlog

from engine.log import get_logger, is_enabled


def test_a_call_below_the_level_never_reaches_the_processors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    processed: list[tuple[str, str | None]] = []

    def record(self: Any, method: str, event: str | None = None, *a: Any, **kw: Any) -> None:
        processed.append((method, event))

    monkeypatch.setattr(structlog.stdlib.BoundLogger, "_proxy_to_logger", record)
    stdlib = logging.getLogger("baton.test.gate")
    monkeypatch.setattr(stdlib, "level", logging.WARNING)
    logger = get_logger("baton.test.gate")

    logger.debug("dropped", n=1)
    logger.info("dropped too")
    logger.warning("kept", n=2)
    assert processed == [("warning", "kept")]
    assert not is_enabled("baton.test.gate", logging.DEBUG)

    stdlib.setLevel(logging.DEBUG)
    logger.debug("now kept")
    assert processed[-1] == ("debug", "now kept")
