"""Logger factory for the library: structlog events written through stdlib `logging`.

Why not plain ``structlog.get_logger()``: structlog's unconfigured default prints every level to stdout,
so a library using it would spam any script that never configured logging. Wrapping the stdlib logger of
the module keeps Baton silent until the application enables logging (``logging.basicConfig`` or the
``baton`` CLI's configuration), while structlog still supplies key-value events and the bound ``run_id``.
Hot paths ask `is_enabled` once per run instead of paying for processors on filtered calls.
"""

from __future__ import annotations

import logging

import structlog

__all__ = ["get_logger", "is_enabled"]


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    """A structlog logger for module `name`, emitting through ``logging.getLogger(name)``."""
    logger: structlog.stdlib.BoundLogger = structlog.wrap_logger(
        logging.getLogger(name), wrapper_class=structlog.stdlib.BoundLogger
    )
    return logger


def is_enabled(name: str, level: int) -> bool:
    """Whether the stdlib logger `name` would emit at `level` (cheap: no processors run)."""
    return logging.getLogger(name).isEnabledFor(level)
