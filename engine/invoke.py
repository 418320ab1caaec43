"""One executor's turn in a superstep: hand it each delivery in order, with its events and failure.

The runner calls `invoke_handlers` for an executor running in the event loop; a backend's worker calls
the same function on its own copy of the executor, so dispatch, events and error messages are the same
wherever an executor runs. The idempotency key of an invocation (``run_id:superstep:executor_id``) is
``ctx.idempotency_key`` in the handler; code the handler calls without passing it (an agent's tools)
reads it with `current_idempotency_key` inside an `idempotency_scope`, which every agent turn opens.
The scope is not opened for every invocation: setting a context variable costs about as much as the
rest of an invocation's bookkeeping, on the runner's hottest path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextvars import ContextVar, Token
from typing import Any

from engine.context import WorkflowContext
from engine.errors import ExecutorFailedError
from engine.events import (
    ExecutorCompletedEvent,
    ExecutorFailedEvent,
    ExecutorInvokedEvent,
    MessageDroppedEvent,
    WorkflowEvent,
)
from engine.executor import Executor
from engine.requests import RequestResponse
from engine.state import Delivery
from engine.typecheck import type_name

__all__ = ["current_idempotency_key", "idempotency_scope", "invoke_handlers"]

Emit = Callable[[WorkflowEvent], None]

_CURRENT: ContextVar[str | None] = ContextVar("baton_idempotency_key", default=None)


def current_idempotency_key() -> str | None:
    """The idempotency key of the invocation whose `idempotency_scope` is open (else `None`).

    A tool an agent calls uses it to deduplicate a side effect that a retried invocation (a lost
    worker, a resumed superstep) would otherwise repeat.
    """
    return _CURRENT.get()


class idempotency_scope:  # noqa: N801 - used like a function: `with idempotency_scope(ctx):`
    """Make `ctx`'s idempotency key what `current_idempotency_key()` returns within the block.

    A class, not a generator context manager: every agent turn opens one.
    """

    __slots__ = ("_key", "_token")

    def __init__(self, ctx: WorkflowContext[Any, Any]) -> None:
        self._key = ctx.idempotency_key
        self._token: Token[str | None] | None = None

    def __enter__(self) -> str:
        self._token = _CURRENT.set(self._key)
        return self._key

    def __exit__(self, *exc_info: object) -> None:
        if self._token is not None:
            _CURRENT.reset(self._token)


async def invoke_handlers(
    executor: Executor,
    deliveries: Iterable[Delivery],
    ctx: WorkflowContext[Any, Any],
    emit: Emit,
) -> None:
    """Run `executor`'s handler for each delivery in order; raise `ExecutorFailedError` if one raises.

    A message no handler accepts is dropped with a `message_dropped` event (routing checked types, so
    this happens only for a payload routing could not see, such as a response to a removed request).
    """
    executor_id, step = ctx.executor_id, ctx.superstep
    for delivery in deliveries:
        payload = delivery.payload
        spec = delivery.handler or executor.handlers.find(payload)
        if spec is None and type(payload) is not RequestResponse:
            reason = f"`{executor_id}` has no handler for `{type(payload).__name__}`"
            emit(
                MessageDroppedEvent(
                    delivery.source_id or "input", type_name(type(payload)), reason, executor_id
                )
            )
            continue
        emit(ExecutorInvokedEvent(executor_id, step))
        try:
            if spec is not None:
                await spec.func(executor, payload, ctx)
            else:
                await executor.handle_response(payload, ctx)
        except Exception as exc:
            emit(ExecutorFailedEvent(executor_id, step, type(exc).__name__, str(exc)))
            name = spec.name if spec is not None else "its response handler"
            raise ExecutorFailedError(
                f"executor `{executor_id}` failed in superstep {step} while handling "
                f"`{type(payload).__name__}` with `{name}`: {type(exc).__name__}: {exc}",
                executor_id=executor_id,
                run_id=ctx.run_id,
                superstep=step,
            ) from exc
        emit(ExecutorCompletedEvent(executor_id, step))
