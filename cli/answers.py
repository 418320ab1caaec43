"""Answers typed on the command line: turning text into the value a request (or a start executor) takes.

A request says which type its answer must have. Typed text is tried as JSON first (so models, numbers
and lists can be written as JSON), then as the plain string, both through the engine's lossless
coercion; the first that validates is the answer. The orchestrations' own requests get words as well:
``/end`` ends a handoff conversation, and approve/ok/yes/y/lgtm approve a reviewed reply.

Reading is line by line from stdin, whether or not it is a terminal, so answers can be piped in. At the
end of input `read_line` returns `None` and the caller decides: a demo falls back to its script, a run
stops and says how to resume it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any, cast

import typer
from pydantic import BaseModel, TypeAdapter, ValidationError

from cli.errors import CliError
from engine import RequestInfoEvent, ResponseError
from engine.run import coerce_answer
from engine.typecheck import type_name
from orchestrations import AgentReviewRequest, HandoffAgentUserRequest

__all__ = [
    "END",
    "Turns",
    "default_answer",
    "describe_request",
    "parse_answer",
    "parse_input",
    "read_line",
]

END = "/end"
"""What the user types to end a handoff conversation."""

_APPROVALS = frozenset({"approve", "approved", "ok", "yes", "y", "lgtm"})


def parse_answer(request: RequestInfoEvent, text: str) -> Any:
    """The answer `text` stands for, valid for `request`; raise `ResponseError` saying what is expected."""
    data, word = request.data, text.strip()
    if isinstance(data, HandoffAgentUserRequest) and word == END:
        return HandoffAgentUserRequest.terminate()
    if isinstance(data, AgentReviewRequest) and word.lower() in _APPROVALS:
        return AgentReviewRequest.approve()
    try:
        decoded = json.loads(text)
    except ValueError:
        pass
    else:
        try:
            return coerce_answer(request, decoded)
        except ResponseError:
            pass  # fall back to the text itself (a `str` answer that happens to look like JSON)
    try:
        return coerce_answer(request, text)
    except ResponseError:
        raise ResponseError(
            f"that is not a valid answer: expected {_expected(request.response_type)}."
        ) from None


def parse_input(accepted: Sequence[object], text: str) -> Any:
    """The start message `text` stands for: itself when the start executor takes `str`, else JSON."""
    if any(t is str or t is object or t is Any for t in accepted):
        return text
    try:
        decoded: Any = json.loads(text)
    except ValueError:
        decoded = text
    for candidate in accepted:
        adapter: TypeAdapter[Any] = TypeAdapter(cast(Any, candidate))
        try:
            return adapter.validate_python(decoded)
        except (ValidationError, TypeError):
            continue
    names = " or ".join(_expected(t) for t in accepted)
    raise CliError(f"the start executor cannot take `{text}`: it expects {names}.")


def default_answer(request: RequestInfoEvent) -> str | None:
    """What a demo answers once its script has run out: end the conversation, approve the reply."""
    if isinstance(request.data, HandoffAgentUserRequest):
        return END
    if isinstance(request.data, AgentReviewRequest):
        return "approve"
    return None


def describe_request(request: RequestInfoEvent) -> list[str]:
    """Lines showing a request: who asks, its payload, and how to answer it."""
    data = request.data
    head = f"request {request.request_id} from {request.source_executor_id}"
    if isinstance(data, HandoffAgentUserRequest):
        said = f": {data.text}" if data.text else ""
        return [f"{head}: {data.agent_name} waits for the user{said}", f"  reply, or {END} to end"]
    if isinstance(data, AgentReviewRequest):
        return [
            f"{head}: review {data.agent_name}'s reply (revision {data.revision}): {data.text}",
            "  approve, or type feedback for a revision",
        ]
    payload = _ADAPTER.dump_json(data).decode() if not isinstance(data, str) else data
    return [f"{head}: {payload}", f"  answer as {_expected(request.response_type)}"]


_ADAPTER: TypeAdapter[Any] = TypeAdapter(Any)


def _expected(tp: Any) -> str:
    name = f"`{type_name(tp)}`"
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        fields = ", ".join(f'"{n}": {type_name(f.annotation)}' for n, f in tp.model_fields.items())
        return f"{name}, JSON like {{{fields}}}"
    return name


def read_line(prompt: str, *, err: bool = False) -> str | None:
    """Show `prompt` and read one line from stdin; `None` at the end of input.

    When stdin is not a terminal the line is echoed, so a transcript shows what was answered.
    """
    typer.echo(prompt, nl=False, err=err)
    line = sys.stdin.readline()
    if not line:
        typer.echo("", err=err)
        return None
    text = line.rstrip("\r\n")
    if not sys.stdin.isatty():
        typer.echo(text, err=err)
    return text


class Turns:
    """The user's turns in a demo: given ``--input`` texts first, then the script or the terminal.

    With ``yes`` the script's turn (or the request's default) is taken without asking; otherwise the
    user is asked, and an empty line takes the suggestion. At the end of input the rest is scripted.
    """

    __slots__ = ("_given", "_script", "_taken", "_yes", "who")

    def __init__(self, who: str, script: Sequence[str], given: Sequence[str], *, yes: bool) -> None:
        self.who = who
        self._script = tuple(script)
        self._given = list(given)
        self._yes = yes
        self._taken = 0

    def next(self, fallback: str | None = None) -> str | None:
        """The next turn; `fallback` suggests one once the script is used up (`None`: nothing left)."""
        position = self._taken
        self._taken += 1
        suggestion = self._script[position] if position < len(self._script) else fallback
        if self._given:
            return self._say(self._given.pop(0))
        if self._yes or suggestion is None:
            return None if suggestion is None else self._say(suggestion)
        hint = f" [{suggestion}]" if suggestion else ""
        typed = read_line(typer.style(f"> {self.who}{hint}: ", bold=True))
        if typed is None:  # end of input: the script plays on
            self._yes = True
            return self._say(suggestion)
        if not typed and suggestion is not None:
            return self._say(suggestion)  # Enter took the suggestion: show what was said
        return typed

    def _say(self, text: str) -> str:
        typer.secho(f"> {self.who}: {text}", bold=True)
        return text
