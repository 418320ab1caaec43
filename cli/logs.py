"""Logging for the `baton` command, and the only place structlog is configured.

The library logs structlog events through stdlib `logging` and stays silent until an application
configures it (see `engine.log`). The command line is such an application: ``--log-level`` sets the
level of Baton's own loggers (other libraries stay at warning), and records go to stderr rendered by
structlog, as coloured key-value lines on a terminal or one JSON object per line otherwise (or always
with ``--log-json``).
"""

from __future__ import annotations

import logging
import sys
from typing import Literal

import structlog

__all__ = ["PACKAGES", "configure_logging"]

PACKAGES = ("engine", "executors", "orchestrations", "cli")
"""Baton's loggers, set to the chosen level."""

Level = Literal["debug", "info", "warning", "error"]


class _CliHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler `configure_logging` installs (a type of its own, so it can be found again)."""


def configure_logging(level: Level = "error", *, json_logs: bool | None = None) -> None:
    """Route Baton's logs to stderr at `level`; `json_logs` `None` means JSON unless on a terminal."""
    as_json = not sys.stderr.isatty() if json_logs is None else json_logs
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=False,
    )
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if as_json
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    handler = _CliHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
            foreign_pre_chain=shared,
        )
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _CliHandler)]:
        root.removeHandler(old)  # configuring twice replaces, never duplicates
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    for package in PACKAGES:
        logging.getLogger(package).setLevel(level.upper())
