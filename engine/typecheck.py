"""Runtime type reasoning: flattening annotations, matching payloads, and edge compatibility.

Two questions are answered here and nowhere else. *Can this value be handled by a handler declared for
type T?* (`matches`, used for dispatch and routing) and *can something declared as S ever be accepted by
something declared as T?* (`is_compatible`, used by build-time validation). Both are union-, subclass-
and generic-container aware; `Any` and `object` accept everything.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterable
from typing import Any, Never, NoReturn, Union, get_args, get_origin

__all__ = [
    "flatten",
    "is_any",
    "is_compatible",
    "is_nothing",
    "matches",
    "specificity",
    "type_name",
]

_NOTHING: tuple[object, ...] = (None, type(None), Never, NoReturn)


def is_any(tp: object) -> bool:
    """Whether `tp` accepts every value (`Any` or `object`)."""
    return tp is Any or tp is object


def is_nothing(tp: object) -> bool:
    """Whether `tp` declares that nothing is sent (`None` or `Never`)."""
    return tp in _NOTHING


def flatten(tp: object) -> tuple[object, ...]:
    """Split a union (``A | B`` or ``Union[A, B]``) into its members; other types stand alone."""
    origin = get_origin(tp)
    if origin is Union or origin is types.UnionType:
        out: list[object] = []
        for member in get_args(tp):
            out.extend(flatten(member))
        return tuple(out)
    if tp is None:
        return (type(None),)
    return (tp,)


def type_name(tp: object) -> str:
    """A readable name for an annotation, for error messages and exports: ``list[Order] | None``."""
    if tp is type(None):
        return "None"
    if isinstance(tp, type) and not get_args(tp):
        return tp.__name__
    if tp is Any:
        return "Any"
    members = flatten(tp)
    if len(members) > 1:
        return " | ".join("None" if m is type(None) else type_name(m) for m in members)
    origin, args = get_origin(tp), get_args(tp)
    if isinstance(origin, type) and args:
        inner = ", ".join("..." if a is Ellipsis else type_name(a) for a in args)
        return f"{origin.__name__}[{inner}]"
    return repr(tp).replace("typing.", "")


def _origin_class(tp: object) -> type | None:
    origin = get_origin(tp)
    if isinstance(origin, type):
        return origin
    return tp if isinstance(tp, type) else None


def matches(value: object, tp: object) -> bool:
    """Whether `value` may be handled by a handler declared for `tp`.

    Parameterized containers (``list[int]``, ``dict[str, X]``, ``tuple[A, B]``) check their elements, so two
    handlers for ``list[int]`` and ``list[str]`` dispatch correctly on a fan-in's list.
    """
    if is_any(tp):
        return True
    members = flatten(tp)
    if len(members) > 1:
        return any(matches(value, member) for member in members)
    origin = get_origin(tp)
    if origin is typing.Literal:
        return value in get_args(tp)
    if origin is None:
        return isinstance(tp, type) and isinstance(value, tp)
    if not isinstance(origin, type) or not isinstance(value, origin):
        return False
    return _elements_match(value, origin, get_args(tp))


def _elements_match(value: object, origin: type, args: tuple[Any, ...]) -> bool:
    if not args:
        return True
    if issubclass(origin, tuple):
        assert isinstance(value, tuple)
        if len(args) == 2 and args[1] is Ellipsis:
            return all(matches(v, args[0]) for v in value)
        return len(value) == len(args) and all(
            matches(v, a) for v, a in zip(value, args, strict=True)
        )
    if issubclass(origin, dict):
        assert isinstance(value, dict)
        key_t, val_t = args[0], args[-1]
        return all(matches(k, key_t) and matches(v, val_t) for k, v in value.items())
    if issubclass(origin, (list, set, frozenset)):
        assert isinstance(value, Iterable)
        return all(matches(v, args[0]) for v in value)
    return True


def specificity(value_type: type, tp: object) -> int:
    """How closely `tp` fits `value_type`: the position of its best member in the MRO (lower is closer).

    `Any`/`object` rank last. Used to pick the most specific handler instead of the first one declared.
    """
    mro = value_type.__mro__
    best = len(mro) + 1
    for member in flatten(tp):
        if is_any(member):
            rank = len(mro)
        else:
            cls = _origin_class(member)
            rank = mro.index(cls) if cls is not None and cls in mro else len(mro) + 1
        best = min(best, rank)
    return best


def is_compatible(source: object, target: object) -> bool:
    """Whether a value declared as `source` can ever be accepted by something declared as `target`.

    Unions are compatible when any pair of members is; classes when `source` is a subclass of `target`;
    generic containers when their origins are and their arguments are pairwise compatible (a bare ``list``
    is compatible with any ``list[T]``).
    """
    if is_any(source) or is_any(target):
        return True
    sources, targets = flatten(source), flatten(target)
    if len(sources) > 1 or len(targets) > 1:
        return any(is_compatible(s, t) for s in sources for t in targets)
    if get_origin(source) is typing.Literal:
        return any(matches(v, target) for v in get_args(source))
    source_cls, target_cls = _origin_class(source), _origin_class(target)
    if source_cls is None or target_cls is None:
        return True  # TypeVars, NewTypes and the like: nothing to check against
    if not issubclass(source_cls, target_cls):
        return False
    source_args, target_args = get_args(source), get_args(target)
    if not source_args or not target_args:
        return True  # a bare container stands for any element type
    if issubclass(target_cls, tuple):
        return _tuples_compatible(source_args, target_args)
    if len(source_args) != len(target_args):
        return True
    return all(is_compatible(s, t) for s, t in zip(source_args, target_args, strict=True))


def _tuples_compatible(source_args: tuple[Any, ...], target_args: tuple[Any, ...]) -> bool:
    """``tuple[X, ...]`` against ``tuple[A, B]`` and friends: every element position must overlap."""
    source_variadic = len(source_args) == 2 and source_args[1] is Ellipsis
    target_variadic = len(target_args) == 2 and target_args[1] is Ellipsis
    if source_variadic and target_variadic:
        return is_compatible(source_args[0], target_args[0])
    if source_variadic:
        return all(is_compatible(source_args[0], t) for t in target_args)
    if target_variadic:
        return all(is_compatible(s, target_args[0]) for s in source_args)
    if len(source_args) != len(target_args):
        return False
    return all(is_compatible(s, t) for s, t in zip(source_args, target_args, strict=True))
