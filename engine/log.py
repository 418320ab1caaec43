"""Logger factory for the library: structlog events written through stdlib `logging`.

Why not plain ``structlog.get_logger()``: structlog's unconfigured default prints every level to stdout,
so a library using it would spam any script that never configured logging. Wrapping the stdlib logger of
the module keeps Baton silent until the application enables logging (``logging.basicConfig`` or the
``baton`` CLI's configuration), while structlog still supplies key-value events and the bound ``run_id``.
A call below the stdlib logger's level returns before any structlog processor runs (`_GatedLogger`), so
a `debug` call in a loop costs one level check when debugging is off; hot paths may still ask
`is_enabled` once per run to skip building the call's fields.
"""

from __future__ import annotations

import logging
from typing import Any

import structlog

__all__ = ["get_logger", "is_enabled"]


_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "warn": logging.WARNING,
    "error": logging.ERROR,
    "exception": logging.ERROR,
    "critical": logging.CRITICAL,
    "fatal": logging.CRITICAL,
}


class _GatedLogger(structlog.stdlib.BoundLogger):
    """A stdlib-backed structlog logger that drops filtered calls before running the processors."""

    def _proxy_to_logger(
        self, method_name: str, event: str | None = None, *event_args: str, **event_kw: Any
    ) -> Any:
        level = _LEVELS.get(method_name)
        if level is not None and not self._logger.isEnabledFor(level):
            return None
        return super()._proxy_to_logger(method_name, event, *event_args, **event_kw)


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    """A structlog logger for module `name`, emitting through ``logging.getLogger(name)``."""
    logger: structlog.stdlib.BoundLogger = structlog.wrap_logger(
        logging.getLogger(name), wrapper_class=_GatedLogger
    )
    return logger


def is_enabled(name: str, level: int) -> bool:
    """Whether the stdlib logger `name` would emit at `level` (cheap: no processors run)."""
    return logging.getLogger(name).isEnabledFor(level)
