"""Switch-case coverage: which cases can never be taken, and which sent types no case covers.

A case is unreachable when an earlier case is always true (a predicate whose code returns a constant
true value, or type cases that together cover every type the source sends), when its predicate's code
returns a constant false value, or when it names a type the source never sends or an earlier case
already takes. A type-based switch without a `Default` must cover every member of what its source
sends; the members it misses are reported.
"""

from __future__ import annotations

import dis
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args, get_origin

from engine.edges import SwitchCaseEdgeGroup, TypeCondition, callable_name
from engine.executor import Executor
from engine.typecheck import flatten, is_any, is_compatible, matches, type_name

__all__ = ["SwitchCoverage", "constant_verdict", "switch_coverage"]

_PROLOGUE = frozenset({"RESUME", "NOP", "CACHE", "RETURN_GENERATOR", "POP_TOP", "COPY_FREE_VARS"})


@dataclass(frozen=True, slots=True)
class SwitchCoverage:
    """What one switch-case group can and cannot do."""

    source: str
    group_index: int
    unreachable: tuple[tuple[str, str], ...]
    """``(branch, why)`` for each case (``case 2: name``) or default that can never be taken."""
    uncovered: tuple[str, ...]
    """Names of the sent types no type case covers (for a switch with type cases and no `Default`);
    a case with `max_traversals` does not cover, since once spent it takes nothing."""
    has_default: bool
    exhaustive: bool
    """Whether every message takes some case: unbounded type cases cover every type the source sends,
    or a case is always true (a `Default` is then optional, and unreachable)."""
    bounded_only: tuple[str, ...] = ()
    """The uncovered types that only a case with `max_traversals` takes."""


def constant_verdict(predicate: Callable[..., Any]) -> bool | None:
    """The truth of what `predicate` always returns, when its code is just ``return <constant>``."""
    code = getattr(predicate, "__code__", None)
    if code is None:
        return None
    body = [i for i in dis.get_instructions(code) if i.opname not in _PROLOGUE]
    if len(body) == 1 and body[0].opname == "RETURN_CONST":
        return bool(body[0].argval)
    if len(body) == 2 and body[0].opname == "LOAD_CONST" and body[1].opname == "RETURN_VALUE":
        return bool(body[0].argval)
    return None


def switch_coverage(
    index: int, group: SwitchCaseEdgeGroup, executors: Mapping[str, Executor]
) -> SwitchCoverage:
    """Walk the cases in order, tracking which sent types are already taken."""
    sent = [t for declared in executors[group.source].output_types for t in _members(declared)]
    known = bool(sent) and not any(is_any(t) for t in sent)
    remaining = list(sent) if known else []
    unreachable: list[tuple[str, str]] = []
    always: str | None = None
    typed_any = False
    bounded_types: list[object] = []
    """Types taken by bounded cases: once spent, such a case no longer takes them."""
    for number, (predicate, _) in enumerate(group.cases, 1):
        branch = f"case {number}: {callable_name(predicate)}"
        bounded = bool(group.bounds) and group.bounds[number - 1] is not None
        if always is not None:
            unreachable.append((branch, always))
            continue
        if not isinstance(predicate, TypeCondition):
            verdict = constant_verdict(predicate)
            if verdict is True and not bounded:
                always = f"case {number} before it is always true"
            elif verdict is False:
                unreachable.append((branch, "its predicate always returns a false value"))
            continue
        typed_any = True
        if is_any(predicate.message_type) and not bounded:
            remaining, always = [], f"case {number} (`Any`) before it takes every message"
            continue
        if not known:
            continue
        why = _type_case_gap(predicate.message_type, sent, remaining, group.source)
        if why is not None:
            unreachable.append((branch, why))
            continue
        if bounded:
            bounded_types.append(predicate.message_type)
            continue
        remaining = [t for t in remaining if not _covers(predicate.message_type, t)]
        if not remaining:
            taken = "case 1 already takes" if number == 1 else f"cases 1-{number} already take"
            always = f"{taken} every type `{group.source}` sends"
    if always is not None:
        unreachable.extend(("default", always) for _ in group.defaults)
    exhaustive = always is not None or (known and typed_any and not remaining)
    uncovered: tuple[str, ...] = ()
    spent: tuple[str, ...] = ()
    if known and typed_any and not group.defaults and always is None:
        uncovered = tuple(type_name(t) for t in remaining)
        spent = tuple(type_name(t) for t in remaining if any(_covers(b, t) for b in bounded_types))
    return SwitchCoverage(
        group.source, index, tuple(unreachable), uncovered, bool(group.defaults), exhaustive, spent
    )


def _type_case_gap(
    case_type: object, sent: list[object], remaining: list[object], source: str
) -> str | None:
    """Why a type case can never match, or `None` when some message could reach it."""
    if not any(_overlaps(case_type, t) for t in sent):
        sends = " | ".join(type_name(t) for t in sent)
        return f"`{source}` sends `{sends}`, never a `{type_name(case_type)}`"
    if not any(_overlaps(case_type, t) for t in remaining):
        return f"earlier cases take every `{type_name(case_type)}` that `{source}` sends"
    return None


def _covers(case_type: object, sent_type: object) -> bool:
    """Whether every message declared as `sent_type` matches the case (a proof, not a guess)."""
    if is_any(case_type):
        return True
    if any(_covers(member, sent_type) for member in flatten(case_type)[1:]):
        return True  # a union case covers what one of its members covers
    case_type = flatten(case_type)[0]
    if get_origin(sent_type) is Literal:
        return all(matches(value, case_type) for value in get_args(sent_type))
    if get_origin(case_type) is Literal or is_any(sent_type):
        return False
    sent_class, case_class = _class_of(sent_type), _class_of(case_type)
    if sent_class is None or case_class is None or not issubclass(sent_class, case_class):
        return False
    case_args, sent_args = get_args(case_type), get_args(sent_type)
    if not case_args:
        return True  # a bare class takes every parameterization
    if len(case_args) != len(sent_args):
        return False  # a bare `list` sent, or tuples of other shapes: some value may not match
    return all(_covers(c, s) for c, s in zip(case_args, sent_args, strict=True))


def _class_of(tp: object) -> type | None:
    origin = get_origin(tp)
    if isinstance(origin, type):
        return origin
    return tp if isinstance(tp, type) else None


def _members(declared: object) -> list[object]:
    """The members of a declared type, with a `Literal` of several values split into one each."""
    members: list[object] = []
    for member in flatten(declared):
        if get_origin(member) is Literal and len(get_args(member)) > 1:
            members.extend(Literal[value] for value in get_args(member))
        else:
            members.append(member)
    return members


def _overlaps(case_type: object, sent_type: object) -> bool:
    """Whether some message declared as `sent_type` could match the case (a subclass counts)."""
    return _covers(case_type, sent_type) or is_compatible(case_type, sent_type)
