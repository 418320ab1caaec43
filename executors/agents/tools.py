"""`@tool` and `FunctionTool`: typed Python functions a model can call, with arguments checked by pydantic.

The JSON schema a model sees is generated from the function's signature, so the schema and the
validation that runs before every call cannot disagree. A tool call is the model's output, not the
programmer's, so nothing a model can get wrong raises: bad JSON, unknown names, invalid arguments and
exceptions inside the tool all come back as an error `FunctionResultContent` whose text says what to fix.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
import re
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, get_args, get_origin, overload

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from pydantic.fields import FieldInfo
from pydantic_core import to_jsonable_python

from engine.log import get_logger
from executors.agents.client import ToolSpec
from executors.agents.messages import FunctionCallContent, FunctionResultContent

__all__ = ["FunctionTool", "parse_docstring", "tool", "unknown_tool_result"]

logger = get_logger(__name__)

_TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
"""What OpenAI-compatible servers accept as a function name."""

_SECTION = re.compile(
    r"^(Args|Arguments|Parameters|Params|Keyword Args|Keyword Arguments|Returns?|Raises|Yields?"
    r"|Examples?|Notes?|See Also|Warnings?)\s*:\s*$"
)
_ARG_LINE = re.compile(r"^(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_SPHINX_PARAM = re.compile(r"^:param\s+(?:[^:]*\s)?(\w+)\s*:\s*(.*)$")


@dataclass(frozen=True, slots=True)
class FunctionTool:
    """A function the model may call, with the pydantic model that validates its arguments.

    Build it with `@tool`. Instances are immutable and hold no per-call state, so one tool serves any
    number of agents and concurrent runs.
    """

    name: str
    """The name the model calls it by (letters, digits, `_` and `-`, at most 64 characters)."""
    description: str
    """What the tool does, as the model reads it when deciding whether to call it."""
    func: Callable[..., Any]
    """The wrapped function, sync or async; sync functions run in a worker thread."""
    arguments_model: type[BaseModel] = field(repr=False)
    """Validates the arguments; each field's alias (or name) is the keyword passed to `func`."""
    spec: ToolSpec = field(init=False, repr=False, compare=False)
    """The tool as sent to a model: name, description and the arguments' JSON schema."""

    def __post_init__(self) -> None:
        _check_name(self.name)
        if not callable(self.func):
            raise TypeError(f"tool `{self.name}` needs a callable, got {type(self.func).__name__}")
        schema = _strip_titles(self.arguments_model.model_json_schema())
        spec = ToolSpec(name=self.name, description=self.description, parameters=schema)
        object.__setattr__(self, "spec", spec)

    @classmethod
    def from_function(
        cls,
        func: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
    ) -> FunctionTool:
        """A tool for `func`: its parameters become the schema, its docstring the descriptions.

        The description is `description`, else the docstring without its sections. A parameter is
        described by ``Annotated[T, Field(description=...)]``, else by the docstring's ``Args:`` entry
        (or ``:param name:``). Every parameter needs a type annotation: the model can only fill in
        arguments whose shape it is told.
        """
        if not callable(func):
            raise TypeError(f"@tool needs a function, got {type(func).__name__}")
        tool_name = name if name is not None else getattr(func, "__name__", "")
        _check_name(tool_name)
        summary, arg_docs = parse_docstring(inspect.getdoc(func) or "")
        model = _arguments_model(func, tool_name, arg_docs)
        text = description if description is not None else summary
        return cls(name=tool_name, description=text, func=func, arguments_model=model)

    async def invoke(self, call: FunctionCallContent) -> FunctionResultContent:
        """Run `call` and return its result; the model's mistakes come back as error results.

        Arguments are parsed and validated before the function runs, so the function only ever sees
        values of its declared types. Only cancellation propagates.
        """
        if call.name != self.name:
            raise ValueError(
                f"call `{call.call_id}` is for `{call.name}`, not for the tool `{self.name}`; look the "
                "tool up by the call's name first."
            )
        try:
            kwargs = self.parse_arguments(call.arguments)
        except ValueError as error:
            return _error(call, str(error))
        try:
            if inspect.iscoroutinefunction(self.func):
                value = await self.func(**kwargs)
            else:
                value = await asyncio.to_thread(functools.partial(self.func, **kwargs))
                if inspect.isawaitable(value):  # an object whose __call__ is async
                    value = await value
            result = to_jsonable_python(value, fallback=str)  # e.g. a circular structure fails here
        except Exception as exc:
            logger.debug("tool_call_failed", tool=self.name, call_id=call.call_id, error=repr(exc))
            detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            return _error(
                call,
                f"the tool `{self.name}` failed: {detail}. Correct the arguments if they caused "
                "this, or continue without this tool's result.",
            )
        return FunctionResultContent(call_id=call.call_id, result=result)

    def parse_arguments(self, arguments: str) -> dict[str, Any]:
        """The keyword arguments for `func`, parsed from the model's JSON text and validated.

        Raises `ValueError` with a message meant for the model when the text is not a JSON object or
        does not fit the schema. An empty string counts as ``{}``, which some servers send for tools
        without parameters.
        """
        try:
            data = json.loads(arguments) if arguments.strip() else {}
        except json.JSONDecodeError as error:
            raise ValueError(
                f"the arguments for `{self.name}` are not valid JSON ({error.msg} at position "
                f"{error.pos}); call it again with a JSON object that matches its parameters."
            ) from None
        if not isinstance(data, dict):
            raise ValueError(
                f"the arguments for `{self.name}` must be a JSON object, got {_json_kind(data)}; "
                "call it again with an object of named parameters."
            )
        try:
            validated = self.arguments_model.model_validate(data)
        except ValidationError as error:
            problems = "; ".join(_describe(issue) for issue in error.errors())
            raise ValueError(
                f"invalid arguments for `{self.name}`: {problems}. Call it again with arguments that "
                "match its parameters."
            ) from None
        fields = type(validated).model_fields
        return {info.alias or key: getattr(validated, key) for key, info in fields.items()}


@overload
def tool(
    func: Callable[..., Any], /, *, name: str | None = None, description: str | None = None
) -> FunctionTool: ...
@overload
def tool(
    *, name: str | None = None, description: str | None = None
) -> Callable[[Callable[..., Any]], FunctionTool]: ...


def tool(
    func: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
) -> FunctionTool | Callable[[Callable[..., Any]], FunctionTool]:
    """Turn a typed function into a `FunctionTool`: ``@tool`` or ``@tool(name=..., description=...)``."""
    if func is not None:
        return FunctionTool.from_function(func, name=name, description=description)
    return lambda f: FunctionTool.from_function(f, name=name, description=description)


def unknown_tool_result(
    call: FunctionCallContent, available: Sequence[str]
) -> FunctionResultContent:
    """The error result for a call to a tool that does not exist, listing the ones that do."""
    names = ", ".join(f"`{n}`" for n in available) or "none"
    return _error(
        call,
        f"there is no tool named `{call.name}`; the available tools are: {names}. Call one of "
        "those, or answer without a tool.",
    )


def _check_name(name: object) -> None:
    if not isinstance(name, str) or not _TOOL_NAME.match(name):
        raise ValueError(
            f"tool name {name!r} is not accepted by model APIs; use 1-64 letters, digits, `_` or "
            "`-` (pass `@tool(name=...)` to choose one)."
        )


def _error(call: FunctionCallContent, text: str) -> FunctionResultContent:
    return FunctionResultContent(call_id=call.call_id, result=f"Error: {text}", is_error=True)


def _json_kind(value: object) -> str:
    kinds = {
        list: "an array",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
    }
    return kinds.get(type(value), "null")


def _describe(issue: Mapping[str, Any]) -> str:
    where = ".".join(str(part) for part in issue["loc"]) or "arguments"
    return f"`{where}`: {issue['msg']}"


def _arguments_model(
    func: Callable[..., Any], tool_name: str, arg_docs: Mapping[str, str]
) -> type[BaseModel]:
    """A pydantic model with one field per parameter of `func`.

    Fields get neutral names and the parameter's name as alias: a parameter called ``json`` or
    ``model_name`` would otherwise clash with `BaseModel` attributes or pydantic's namespace.
    """
    try:
        hints = typing.get_type_hints(func, include_extras=True)
    except NameError as error:
        raise TypeError(
            f"cannot resolve the annotations of tool `{tool_name}`: {error}. Define the types at "
            "module level (or import them) so the schema can be built."
        ) from error
    fields: dict[str, Any] = {}
    for position, param in enumerate(inspect.signature(func).parameters.values()):
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD, param.POSITIONAL_ONLY):
            raise TypeError(
                f"tool `{tool_name}` has the {param.kind.description} parameter `{param.name}`; "
                "tools take named parameters only, "
                "because the model passes a JSON object of them."
            )
        if param.name not in hints:
            raise TypeError(
                f"tool `{tool_name}` has no type annotation on `{param.name}`; annotate every "
                "parameter so the model is told what to pass."
            )
        annotation = hints[param.name]
        default = ... if param.default is param.empty else param.default
        extra: dict[str, Any] = {}
        if param.name in arg_docs and not _annotated_description(annotation):
            extra["description"] = arg_docs[param.name]  # set only when known: None would override
        fields[f"arg{position}"] = (annotation, Field(default, alias=param.name, **extra))
    config = ConfigDict(extra="forbid")
    model: type[BaseModel] = create_model(f"{tool_name}_arguments", __config__=config, **fields)
    return model


def _annotated_description(annotation: object) -> bool:
    """Whether ``Annotated[T, Field(description=...)]`` already describes the parameter."""
    if get_origin(annotation) is not Annotated:
        return False
    return any(isinstance(m, FieldInfo) and m.description for m in get_args(annotation)[1:])


def _strip_titles(schema: Any) -> Any:
    """`schema` without pydantic's generated ``title`` keys: noise to a model, and tokens it pays for.

    Property names live in ``properties`` and ``$defs`` maps, so a parameter named ``title`` survives.
    """
    if isinstance(schema, list):
        return [_strip_titles(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "title" and isinstance(value, str):
            continue
        if key in ("properties", "$defs", "patternProperties") and isinstance(value, dict):
            out[key] = {name: _strip_titles(sub) for name, sub in value.items()}
        else:
            out[key] = _strip_titles(value)
    return out


def parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """Split a cleaned docstring into its description and per-parameter descriptions.

    Understands Google style (an ``Args:`` section of ``name (type): text`` entries, continuation lines
    indented deeper) and Sphinx style (``:param name: text``). Everything before the first section is
    the description; single line breaks inside a paragraph become spaces.
    """
    summary: list[str] = []
    args: dict[str, str] = {}
    section: str | None = None
    current: str | None = None
    entry_indent = 0
    for line in doc.splitlines():
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        header = _SECTION.match(stripped) if indent == 0 else None
        sphinx = _SPHINX_PARAM.match(stripped)
        entry = _ARG_LINE.match(stripped)
        if header:
            section, current = header.group(1), None
        elif sphinx:
            section, current = "sphinx", sphinx.group(1)
            args[current] = sphinx.group(2).strip()
        elif stripped.startswith(":"):  # another Sphinx field (:returns:, :raises:) ends a :param:
            section, current = "sphinx", None
        elif section is None:
            summary.append(stripped)
        elif not stripped or section not in ("Args", "Arguments", "Parameters", "Params", "sphinx"):
            continue
        elif entry and section != "sphinx" and (current is None or indent <= entry_indent):
            current, entry_indent = entry.group(1), indent
            args[current] = entry.group(2).strip()
        elif current is not None:
            args[current] = f"{args[current]} {stripped}".strip()
    return _paragraphs(summary), args


def _paragraphs(lines: list[str]) -> str:
    paragraphs: list[list[str]] = [[]]
    for line in lines:
        if line:
            paragraphs[-1].append(line)
        elif paragraphs[-1]:
            paragraphs.append([])
    return "\n\n".join(" ".join(p) for p in paragraphs if p)
