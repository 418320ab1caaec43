"""`@executor`: turn a plain function into an executor.

The function takes ``(message)`` or ``(message, ctx)``. A non-``None`` return value is sent downstream and
typed by the return annotation. Sync functions run in a worker thread so they never block the event loop;
they may use the context's state methods, but sending is done by returning.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Callable
from typing import Any, overload

from engine.context import WorkflowContext
from engine.errors import DefinitionError
from engine.executor import (
    Executor,
    HandlerSpec,
    HandlerTable,
    caller_scope,
    check_input_type,
    resolve_context_types,
    resolve_hints,
)
from engine.typecheck import flatten, is_nothing

__all__ = ["FunctionExecutor", "executor"]


class FunctionExecutor(Executor):
    """An executor whose single handler is a user function."""

    def __init__(self, func: Callable[..., Any], id: str | None = None) -> None:  # noqa: A002
        if not callable(func):
            raise TypeError(f"@executor needs a function, got {type(func).__name__}")
        super().__init__(id if id is not None else getattr(func, "__name__", "function"))
        self._func = func
        self._table = HandlerTable([_function_spec(func)], self.id)

    @property
    def func(self) -> Callable[..., Any]:
        """The wrapped function."""
        return self._func

    @property
    def handlers(self) -> HandlerTable:
        """The single handler built from the function's signature."""
        return self._table


def _function_spec(func: Callable[..., Any]) -> HandlerSpec:
    name = getattr(func, "__name__", repr(func))
    where = f"function executor `{name}`"
    params = list(inspect.signature(func).parameters.values())
    if len(params) not in (1, 2):
        raise DefinitionError(
            f"{where} takes {len(params)} parameter(s); use `(message: T)` or "
            "`(message: T, ctx: WorkflowContext[OutT, YieldT])`."
        )
    hints = resolve_hints(func, name, caller_scope())
    if params[0].name not in hints:
        raise DefinitionError(
            f"{where} has no type annotation on `{params[0].name}`; annotate the message type."
        )
    input_type = hints[params[0].name]
    check_input_type(input_type, where)
    takes_ctx = len(params) == 2
    out_types: tuple[object, ...] = ()
    yield_types: tuple[object, ...] = ()
    if takes_ctx:
        out_types, yield_types = resolve_context_types(
            hints.get(params[1].name, inspect.Parameter.empty), where
        )
    returns = hints.get("return", inspect.Parameter.empty)
    if returns is not inspect.Parameter.empty and not is_nothing(returns):
        out_types = tuple(dict.fromkeys((*out_types, *flatten(returns))))
    elif returns is inspect.Parameter.empty and not takes_ctx:
        out_types = (Any,)
    return HandlerSpec(name, _adapt(func, takes_ctx), input_type, out_types, yield_types)


def _adapt(func: Callable[..., Any], takes_ctx: bool) -> Any:
    """A ``(executor, message, ctx)`` coroutine function that calls `func` and sends what it returns."""
    is_async = inspect.iscoroutinefunction(func)

    async def call(_: Executor, message: Any, ctx: WorkflowContext[Any, Any]) -> None:
        args = (message, ctx) if takes_ctx else (message,)
        if is_async:
            result = await func(*args)
        else:
            result = await asyncio.to_thread(functools.partial(func, *args))
        if result is not None:
            await ctx.send_message(result)

    return call


@overload
def executor(func: Callable[..., Any], /) -> FunctionExecutor: ...
@overload
def executor(*, id: str | None = None) -> Callable[[Callable[..., Any]], FunctionExecutor]: ...  # noqa: A002


def executor(
    func: Callable[..., Any] | None = None,
    /,
    *,
    id: str | None = None,  # noqa: A002
) -> FunctionExecutor | Callable[[Callable[..., Any]], FunctionExecutor]:
    """Make an executor from a function: ``@executor`` or ``@executor(id="name")``."""
    if func is not None:
        return FunctionExecutor(func, id=id)
    return lambda f: FunctionExecutor(f, id=id)
