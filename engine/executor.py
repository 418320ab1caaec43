"""`Executor` and `@handler`: typed message handlers, resolved once when the class is created.

A handler is ``async def h(self, message: T, ctx: WorkflowContext[OutT, YieldT]) -> None``. Its input type
comes from the message annotation (unions allowed), its send and yield types from the context's type
arguments. Dispatch picks the most specific handler for the payload's class (its position in the MRO),
never the first or the alphabetically smallest one; two handlers for the same type are a definition error.
"""

from __future__ import annotations

import inspect
import os
import sys
import typing
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from types import FrameType
from typing import Any, TypeVar, get_args, get_origin

from engine.context import WorkflowContext
from engine.errors import DefinitionError
from engine.requests import (
    RESPONSE_MARK,
    RequestResponse,
    ResponseTable,
    resolve_response_handler,
)
from engine.typecheck import flatten, is_any, is_nothing, matches, specificity, type_name

__all__ = [
    "Executor",
    "HandlerSpec",
    "HandlerTable",
    "caller_scope",
    "check_input_type",
    "handler",
    "resolve_context_types",
    "resolve_handler",
    "resolve_hints",
]

HandlerFunc = Callable[[Any, Any, WorkflowContext[Any, Any]], Awaitable[Any]]
FuncT = TypeVar("FuncT", bound=Callable[..., Awaitable[Any]])

_HANDLER_MARK = "__baton_handler__"
_ENGINE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def handler(func: FuncT) -> FuncT:
    """Mark an ``async def (self, message: T, ctx: WorkflowContext[...])`` method as a message handler."""
    is_async: bool = inspect.iscoroutinefunction(func)
    if not is_async:
        raise DefinitionError(
            f"handler `{getattr(func, '__qualname__', func)}` must be declared with `async def`."
        )
    setattr(func, _HANDLER_MARK, True)
    return func


@dataclass(frozen=True, slots=True)
class HandlerSpec:
    """One resolved handler: what it accepts, sends and yields."""

    name: str
    func: HandlerFunc
    """Called as ``func(executor, message, ctx)``."""
    input_type: object
    output_types: tuple[object, ...]
    """Flattened send types; empty means it sends nothing, ``(Any,)`` means undeclared."""
    yield_types: tuple[object, ...]
    """Flattened output types; empty means it yields nothing."""


class HandlerTable:
    """The handlers of one executor, with a per-class dispatch cache.

    The cache maps a payload class to its candidate handlers, most specific first. It is derived from
    configuration only, so one table is safely shared by every run.
    """

    __slots__ = ("_cache", "specs")

    def __init__(self, specs: Iterable[HandlerSpec], owner: str) -> None:
        self.specs = tuple(specs)
        self._cache: dict[type, tuple[tuple[HandlerSpec, bool], ...]] = {}
        _check_overlaps(self.specs, owner)

    def find(self, message: object) -> HandlerSpec | None:
        """The most specific handler for `message`, or `None` when no handler accepts it."""
        cls = type(message)
        candidates = self._cache.get(cls)
        if candidates is None:
            candidates = self._candidates(cls)
            self._cache[cls] = candidates
        for spec, needs_check in candidates:
            if not needs_check or matches(message, spec.input_type):
                return spec
        return None

    def _candidates(self, cls: type) -> tuple[tuple[HandlerSpec, bool], ...]:
        ranked: list[tuple[int, int, HandlerSpec, bool]] = []
        for order, spec in enumerate(self.specs):
            rank = specificity(cls, spec.input_type)
            if rank > len(cls.__mro__):
                continue
            plain = all(
                is_any(m) or (isinstance(m, type) and not get_args(m))
                for m in flatten(spec.input_type)
            )
            ranked.append((rank, order, spec, not plain))
        ranked.sort(key=lambda item: (item[0], item[1]))
        return tuple((spec, needs_check) for _, _, spec, needs_check in ranked)

    @property
    def input_types(self) -> tuple[object, ...]:
        """Every type some handler accepts."""
        return tuple(t for spec in self.specs for t in flatten(spec.input_type))

    @property
    def output_types(self) -> tuple[object, ...]:
        """Every type some handler declares it sends."""
        return _unique(t for spec in self.specs for t in spec.output_types)

    @property
    def yield_types(self) -> tuple[object, ...]:
        """Every type some handler declares it yields."""
        return _unique(t for spec in self.specs for t in spec.yield_types)


def _unique(items: Iterable[object]) -> tuple[object, ...]:
    out: list[object] = []
    for item in items:
        if item not in out:
            out.append(item)
    return tuple(out)


def _check_overlaps(specs: tuple[HandlerSpec, ...], owner: str) -> None:
    seen: dict[object, str] = {}
    for spec in specs:
        for member in flatten(spec.input_type):
            if member in seen:
                raise DefinitionError(
                    f"`{owner}` has two handlers for `{type_name(member)}`: `{seen[member]}` and "
                    f"`{spec.name}`; dispatch would be ambiguous. Merge them or narrow one's type."
                )
            seen[member] = spec.name


class Executor:
    """A node of a workflow graph: configuration plus typed handlers.

    Executors hold configuration only. Anything that changes during a run belongs in
    ``ctx.get_state()/ctx.set_state()`` (per executor, per run) or ``ctx.shared`` (per run), so one built
    workflow can serve many concurrent runs.
    """

    _class_handlers: HandlerTable = HandlerTable((), "Executor")
    _class_responses: ResponseTable = ResponseTable((), "Executor")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        localns = {**caller_scope(), cls.__name__: cls}
        specs: list[HandlerSpec] = []
        for name in _marked_names(cls, _HANDLER_MARK):
            func = getattr(cls, name)
            specs.append(resolve_handler(func, owner=cls.__name__, localns=localns))
        cls._class_handlers = HandlerTable(specs, cls.__name__)
        responses = []
        for name in _marked_names(cls, RESPONSE_MARK):
            func = getattr(cls, name)
            hints = resolve_hints(func, cls.__name__, localns)
            responses.append(
                resolve_response_handler(func, cls.__name__, hints, resolve_context_types)
            )
        cls._class_responses = ResponseTable(responses, cls.__name__)

    def __init__(self, id: str) -> None:  # noqa: A002 - `id` is the name every peer engine uses
        if not isinstance(id, str) or not id.strip():
            raise ValueError(f"an executor id must be a non-empty string, got {id!r}")
        self._id = id

    @property
    def id(self) -> str:
        """The executor's unique id within its workflow."""
        return self._id

    @property
    def handlers(self) -> HandlerTable:
        """This executor's handlers."""
        return self._class_handlers

    @property
    def response_handlers(self) -> ResponseTable:
        """This executor's `@response_handler` methods."""
        return self._class_responses

    def can_respond(self, request: object, response_type: object) -> bool:
        """Whether an answer of `response_type` to `request` has a response handler here."""
        return self.response_handlers.find(request, response_type) is not None

    async def handle_response(
        self, answer: RequestResponse, ctx: WorkflowContext[Any, Any]
    ) -> None:
        """Run the response handler for `answer` (the runner calls this; override to route answers)."""
        spec = self.response_handlers.find(answer.request, answer.response_type)
        if spec is None:  # request_info refuses such requests, so only a changed class gets here
            raise DefinitionError(
                f"`{self.id}` has no response handler for `{type_name(type(answer.request))}` "
                f"answered with `{type_name(answer.response_type)}`; it handles "
                f"{self.response_handlers.describe()}."
            )
        await spec.func(self, answer.request, answer.response, ctx)

    @property
    def input_types(self) -> tuple[object, ...]:
        """Every message type this executor accepts."""
        return self.handlers.input_types

    @property
    def output_types(self) -> tuple[object, ...]:
        """Every message type this executor declares it sends (from handlers and response handlers)."""
        return _unique([*self.handlers.output_types, *self.response_handlers.output_types])

    @property
    def yield_types(self) -> tuple[object, ...]:
        """Every output type this executor declares it yields (from handlers and response handlers)."""
        return _unique([*self.handlers.yield_types, *self.response_handlers.yield_types])

    @property
    def turn_limit(self) -> int | None:
        """The most times this executor sends messages on per input; `None` declares no limit.

        `engine.analysis` trusts it as a bound on every cycle through this executor, so override it
        only when the executor enforces the limit itself (a handoff agent's turn limit, a group chat
        manager's round limit). To bound a loop of plain executors, put `max_traversals` on an edge.
        """
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(id={self._id!r})"


def _marked_names(cls: type, mark: str) -> list[str]:
    names: list[str] = []
    for klass in reversed(cls.__mro__):
        for name, member in vars(klass).items():
            if getattr(member, mark, False) and name not in names:
                names.append(name)
    return [n for n in names if getattr(getattr(cls, n), mark, False)]


def caller_scope() -> dict[str, Any]:
    """Locals of the nearest frames outside the engine, so annotations naming local types resolve.

    Handlers are resolved when a class (or function executor) is created; a class defined inside a
    function may annotate with types that exist only in that function's locals.
    """
    scope: dict[str, Any] = {}
    frame: FrameType | None = sys._getframe(1)
    seen = 0
    while frame is not None and seen < 3:
        if not frame.f_code.co_filename.startswith(_ENGINE_DIR):
            for key, value in frame.f_locals.items():
                scope.setdefault(key, value)
            seen += 1
        frame = frame.f_back
    return scope


def resolve_hints(
    func: Callable[..., Any], owner: str, localns: Mapping[str, Any]
) -> dict[str, Any]:
    """`typing.get_type_hints` with a definition error that says how to fix an unresolvable name."""
    try:
        return typing.get_type_hints(func, localns=dict(localns))
    except NameError as exc:
        raise DefinitionError(
            f"cannot resolve the annotations of `{owner}.{func.__name__}`: {exc}. Define the type at "
            "module level (or import it) so it can be resolved when the class is created."
        ) from exc


def resolve_context_types(
    annotation: object, where: str
) -> tuple[tuple[object, ...], tuple[object, ...]]:
    """Send and yield types declared by a ``WorkflowContext[OutT, YieldT]`` annotation.

    A missing or bare annotation means "undeclared": ``(Any,)`` for both, which validation cannot check.
    """
    if annotation is inspect.Parameter.empty or annotation is WorkflowContext:
        return (Any,), (Any,)
    if get_origin(annotation) is not WorkflowContext:
        raise DefinitionError(
            f"the context parameter of {where} is annotated `{type_name(annotation)}`; annotate it as "
            "`WorkflowContext[OutT, YieldT]` (or leave it bare)."
        )
    args = get_args(annotation)
    out_t = args[0]
    yield_t = args[1] if len(args) > 1 else typing.Never
    for arg in (out_t, yield_t):
        if isinstance(arg, TypeVar):
            raise DefinitionError(
                f"the context of {where} uses the unresolved type variable `{arg}`; use concrete types."
            )
    return _declared(out_t), _declared(yield_t)


def _declared(tp: object) -> tuple[object, ...]:
    return () if is_nothing(tp) else flatten(tp)


def resolve_handler(
    func: Callable[..., Any], owner: str, localns: Mapping[str, Any]
) -> HandlerSpec:
    """Turn a marked handler method into a `HandlerSpec`, or raise a definition error saying why not."""
    where = f"handler `{owner}.{func.__name__}`"
    params = list(inspect.signature(func).parameters.values())
    if len(params) != 3:
        raise DefinitionError(
            f"{where} takes {len(params)} parameter(s); a handler takes exactly "
            "`(self, message: T, ctx: WorkflowContext[OutT, YieldT])`."
        )
    hints = resolve_hints(func, owner, localns)
    message_param, ctx_param = params[1], params[2]
    if message_param.name not in hints:
        raise DefinitionError(
            f"{where} has no type annotation on `{message_param.name}`; annotate the message type so "
            "the engine can dispatch and validate edges."
        )
    input_type = hints[message_param.name]
    check_input_type(input_type, where)
    out_types, yield_types = resolve_context_types(
        hints.get(ctx_param.name, inspect.Parameter.empty), where
    )
    return HandlerSpec(func.__name__, func, input_type, out_types, yield_types)


def check_input_type(input_type: object, where: str) -> None:
    """Refuse message annotations that cannot be dispatched on."""
    for member in flatten(input_type):
        if isinstance(member, TypeVar):
            raise DefinitionError(
                f"{where} accepts the unresolved type variable `{member}`; use a concrete type "
                "(or a subclass that fixes the type parameter)."
            )
        if is_nothing(member):
            raise DefinitionError(f"{where} accepts `None`; handlers receive real messages.")
