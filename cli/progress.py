"""A live status line on stderr while a run works: the superstep counter and the executors running.

It polls the run's state ten times a second from its own task instead of listening to events, so it
costs the run nothing and works the same whether the run streams or not. It is only shown on a
terminal, and never with ``--json`` (the caller decides through `enabled`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from rich.console import Console

from engine import Run

__all__ = ["describe_progress", "progress"]

_SHOWN = 4
"""Executors named on the line; the rest are counted."""


def describe_progress(run: Run) -> str:
    """The status line for `run` as it stands: superstep and the executors with deliveries."""
    state = run.state
    active = list(dict.fromkeys(d.target_id for d in state.pending))
    if not active:
        return f"superstep {state.superstep}"
    names = ", ".join(active[:_SHOWN])
    more = f" and {len(active) - _SHOWN} more" if len(active) > _SHOWN else ""
    return f"superstep {state.superstep + 1}: {names}{more}"


@contextlib.asynccontextmanager
async def progress(
    run: Run, *, enabled: bool, console: Console | None = None, interval: float = 0.1
) -> AsyncIterator[None]:
    """Show the status line while the body runs (a transient line: it disappears afterwards)."""
    if not enabled:
        yield
        return
    with (console or Console(stderr=True)).status(describe_progress(run)) as status:

        async def poll() -> None:
            while True:
                await asyncio.sleep(interval)
                status.update(describe_progress(run))

        task = asyncio.create_task(poll())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
