"""Human input: `@response_handler`, the table that picks one for an answer, and the answer's message type.

An executor asks with ``await ctx.request_info(request, response_type=T)``; the run pauses once it is
idle; ``run.respond({request_id: answer})`` delivers a `RequestResponse` to the executor that asked, and
its response handler for ``(type(request), T)`` runs in the next superstep like any other handler.
"""

from __future__ import annotations

import ast
import builtins
import inspect
import textwrap
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from engine.context import WorkflowContext
from engine.errors import DefinitionError
from engine.typecheck import flatten, is_compatible, type_name

__all__ = [
    "RESPONSE_MARK",
    "RequestResponse",
    "ResponseHandlerSpec",
    "ResponseTable",
    "requested_pairs",
    "resolve_response_handler",
    "response_handler",
]

FuncT = TypeVar("FuncT", bound=Callable[..., Awaitable[Any]])
ResponseFunc = Callable[[Any, Any, Any, WorkflowContext[Any, Any]], Awaitable[Any]]

RESPONSE_MARK = "__baton_response_handler__"
"""The attribute `@response_handler` sets on the functions it marks."""


@dataclass(frozen=True, slots=True)
class RequestResponse:
    """The answer to one request, delivered to the executor that made it."""

    request_id: str
    request: Any
    """The request payload, as the executor passed it to ``ctx.request_info``."""
    response: Any
    """The answer, already validated against the request's response type."""
    response_type: Any
    """The response type the request declared (picks the response handler)."""


def response_handler(func: FuncT) -> FuncT:
    """Mark a method as the handler for answers of type `Resp` to requests of type `Req`.

    Its shape is ``async def (self, request: Req, response: Resp, ctx: WorkflowContext[...])``.
    """
    is_async: bool = inspect.iscoroutinefunction(func)
    if not is_async:
        raise DefinitionError(
            f"response handler `{getattr(func, '__qualname__', func)}` must be declared with "
            "`async def`."
        )
    setattr(func, RESPONSE_MARK, True)
    return func


@dataclass(frozen=True, slots=True)
class ResponseHandlerSpec:
    """One resolved response handler."""

    name: str
    func: ResponseFunc
    """Called as ``func(executor, request, response, ctx)``."""
    request_type: object
    response_type: object
    output_types: tuple[object, ...]
    yield_types: tuple[object, ...]


class ResponseTable:
    """The response handlers of one executor, keyed by (request type, response type)."""

    __slots__ = ("specs",)

    def __init__(self, specs: Iterable[ResponseHandlerSpec], owner: str) -> None:
        self.specs = tuple(specs)
        seen: dict[tuple[object, object], str] = {}
        for spec in self.specs:
            for request_type in flatten(spec.request_type):
                key = (request_type, spec.response_type)
                if key in seen:
                    raise DefinitionError(
                        f"`{owner}` has two response handlers for `{type_name(request_type)}` "
                        f"answered with `{type_name(spec.response_type)}`: `{seen[key]}` and "
                        f"`{spec.name}`; merge them."
                    )
                seen[key] = spec.name

    def find(self, request: object, response_type: object) -> ResponseHandlerSpec | None:
        """The handler for `request` answered with `response_type`, most specific request type first."""
        return self.find_for_type(type(request), response_type)

    def find_for_type(
        self, request_type: type, response_type: object
    ) -> ResponseHandlerSpec | None:
        """Like `find`, for a request class rather than a request."""
        best: tuple[int, ResponseHandlerSpec] | None = None
        mro = request_type.__mro__
        for spec in self.specs:
            if not is_compatible(response_type, spec.response_type):
                continue
            for member in flatten(spec.request_type):
                if isinstance(member, type) and member in mro:
                    rank = mro.index(member)
                    if best is None or rank < best[0]:
                        best = (rank, spec)
        return None if best is None else best[1]

    @property
    def output_types(self) -> tuple[object, ...]:
        """Every type some response handler declares it sends."""
        return tuple(dict.fromkeys(t for spec in self.specs for t in spec.output_types))

    @property
    def yield_types(self) -> tuple[object, ...]:
        """Every type some response handler declares it yields."""
        return tuple(dict.fromkeys(t for spec in self.specs for t in spec.yield_types))

    def describe(self) -> str:
        """The accepted (request, response) pairs, for error messages."""
        pairs = [
            f"`{type_name(spec.request_type)}` -> `{type_name(spec.response_type)}`"
            for spec in self.specs
        ]
        return ", ".join(pairs) or "none"


def resolve_response_handler(
    func: Callable[..., Any],
    owner: str,
    hints: Mapping[str, Any],
    resolve_context: Callable[[object, str], tuple[tuple[object, ...], tuple[object, ...]]],
) -> ResponseHandlerSpec:
    """Turn a marked method into a `ResponseHandlerSpec`, or raise a definition error saying why not."""
    where = f"response handler `{owner}.{func.__name__}`"
    params = list(inspect.signature(func).parameters.values())
    if len(params) != 4:
        raise DefinitionError(
            f"{where} takes {len(params)} parameter(s); a response handler takes exactly "
            "`(self, request: Req, response: Resp, ctx: WorkflowContext[OutT, YieldT])`."
        )
    request_param, response_param, ctx_param = params[1], params[2], params[3]
    for param in (request_param, response_param):
        if param.name not in hints:
            raise DefinitionError(
                f"{where} has no type annotation on `{param.name}`; annotate the request and the "
                "response types so answers can be matched to it."
            )
    out_types, yield_types = resolve_context(
        hints.get(ctx_param.name, inspect.Parameter.empty), where
    )
    return ResponseHandlerSpec(
        func.__name__,
        func,
        hints[request_param.name],
        hints[response_param.name],
        out_types,
        yield_types,
    )


def requested_pairs(func: Callable[..., Any]) -> list[tuple[object | None, object | None]]:
    """The (request type, response type) of each ``request_info`` call in `func`'s source.

    Types are read statically as far as possible (`None` where they cannot be); the result is empty
    when the source is unavailable. Functions that never mention ``request_info`` are not parsed.
    """
    code = getattr(func, "__code__", None)
    if code is None or "request_info" not in code.co_names:
        return []
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    except (OSError, TypeError, SyntaxError):
        return []
    scope = getattr(func, "__globals__", {})
    pairs: list[tuple[object | None, object | None]] = []
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "request_info"
        ):
            continue
        request = node.args[0] if node.args else None
        response = node.args[1] if len(node.args) > 1 else None
        for keyword in node.keywords:
            if keyword.arg == "response_type":
                response = keyword.value
            elif keyword.arg == "request":
                request = keyword.value
        if isinstance(request, ast.Call):
            request = request.func
        pairs.append((_named(request, scope), _named(response, scope)))
    return pairs


def _named(node: ast.expr | None, scope: Mapping[str, Any]) -> object | None:
    if isinstance(node, ast.Name):
        value = scope.get(node.id, getattr(builtins, node.id, None))
        return value if isinstance(value, type) else None
    return None
