"""Checkpoint serialization: run values to JSON-ready data and back, through an explicit type registry.

Never pickle. JSON scalars, lists and string-keyed dicts are written as themselves; everything else is a
tagged object ``{"$type": name, ...}``:

- builtin containers and values: tuple, set, frozenset, non-string-keyed dict, bytes, datetime, date,
  time, timedelta, Decimal, UUID, and type references (a request's response type);
- pydantic models (through ``model_dump(mode="json")`` / ``model_validate``), dataclasses (field by field,
  so `Any` fields keep their types) and enums: out of the box;
- any other type registered by name with `TypeRegistry.register` (its own encode/decode, or pydantic's).

Loading never imports anything. A tag names either a registered type or a ``module:qualname`` whose
module is already imported and whose object is a pydantic model, dataclass or enum; anything else is
refused with an error that says how to register it.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import enum
import sys
import uuid
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any, get_args, get_origin

from pydantic import BaseModel, TypeAdapter

from engine.errors import SerializationError

__all__ = ["TypeRegistry", "default_registry", "qualified_name", "register_type"]

TAG = "$type"
_SCALARS = (str, int, float, bool, type(None))
_GENERIC_ORIGINS: dict[str, object] = {
    "list": list,
    "dict": dict,
    "tuple": tuple,
    "set": set,
    "frozenset": frozenset,
}


def qualified_name(cls: type) -> str:
    """``module:qualname``, the default name a class is written under."""
    return f"{cls.__module__}:{cls.__qualname__}"


@dataclasses.dataclass(frozen=True, slots=True)
class _Codec:
    cls: type
    name: str
    encode: Callable[[Any], Any]
    decode: Callable[[Any], Any]


class TypeRegistry:
    """Which types a checkpoint may contain, and how to write and read the ones JSON cannot hold.

    Registries are cheap to extend: `extended` returns a copy that also knows some types (a workflow's
    message types, for classes defined inside functions) without changing the original.
    """

    __slots__ = ("_by_class", "_by_name", "_known")

    def __init__(self) -> None:
        self._by_class: dict[type, _Codec] = {}
        self._by_name: dict[str, _Codec] = {}
        self._known: dict[str, type] = {}

    def register(
        self,
        cls: type,
        *,
        name: str | None = None,
        encode: Callable[[Any], Any] | None = None,
        decode: Callable[[Any], Any] | None = None,
    ) -> None:
        """Allow `cls` in checkpoints under `name` (default ``module:qualname``).

        Without `encode`/`decode`, pydantic's type adapter for `cls` does both (works for TypedDicts,
        NamedTuples, attrs-free plain classes pydantic understands...). With them, `encode` must return
        JSON-ready data and `decode` must rebuild the value from it.
        """
        if not isinstance(cls, type):
            raise TypeError(f"register() takes a class, got {cls!r}")
        if (encode is None) != (decode is None):
            raise TypeError("register() needs both `encode` and `decode`, or neither")
        label = name or qualified_name(cls)
        if encode is None or decode is None:
            adapter: TypeAdapter[Any] = TypeAdapter(cls)
            encode = lambda value: adapter.dump_python(value, mode="json")  # noqa: E731
            decode = adapter.validate_python
        codec = _Codec(cls, label, encode, decode)
        self._by_class[cls] = codec
        self._by_name[label] = codec

    def extended(self, types: Iterable[object]) -> TypeRegistry:
        """A copy that also resolves `types` (and the classes nested in generic aliases) by name."""
        copy = TypeRegistry()
        copy._by_class, copy._by_name = dict(self._by_class), dict(self._by_name)
        copy._known = dict(self._known)
        stack = list(types)
        while stack:
            item = stack.pop()
            if isinstance(item, type):
                copy._known.setdefault(qualified_name(item), item)
            stack.extend(get_args(item))
        return copy

    # -- writing -----------------------------------------------------------------------------------

    def encode(self, value: Any, where: str) -> Any:
        """JSON-ready data for `value`; `where` names its place in the run for error messages."""
        cls = type(value)
        if cls in _SCALARS:
            return value
        if cls is list:
            return [self.encode(item, where) for item in value]
        if cls is dict:
            if all(type(k) is str for k in value) and TAG not in value:
                return {k: self.encode(v, where) for k, v in value.items()}
            pairs = [[self.encode(k, where), self.encode(v, where)] for k, v in value.items()]
            return {TAG: "dict", "items": pairs}
        if cls is tuple:
            return {TAG: "tuple", "items": [self.encode(item, where) for item in value]}
        return self._encode_object(value, cls, where)

    def _encode_object(self, value: Any, cls: type, where: str) -> Any:
        codec = self._by_class.get(cls)
        if codec is not None:
            return {TAG: codec.name, "data": codec.encode(value)}
        if isinstance(value, BaseModel):
            return {TAG: qualified_name(cls), "data": value.model_dump(mode="json")}
        if isinstance(value, enum.Enum):
            return {TAG: qualified_name(cls), "value": self.encode(value.value, where)}
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            fields = {
                f.name: self.encode(getattr(value, f.name), where)
                for f in dataclasses.fields(value)
            }
            return {TAG: qualified_name(cls), "fields": fields}
        if isinstance(value, type) or get_origin(value) is not None:
            return self._encode_type(value, where)
        builtin = _BUILTIN_ENCODERS.get(cls)
        if builtin is not None:
            return {TAG: builtin[0], "value": builtin[1](self, value, where)}
        raise SerializationError(
            f"cannot write a `{qualified_name(cls)}` ({where}) to a checkpoint: it is not a JSON "
            "value, pydantic model, dataclass or enum, and it is not registered. Register it with "
            f"`engine.register_type({cls.__name__}, encode=..., decode=...)` (or make it a pydantic "
            "model or dataclass)."
        )

    def _encode_type(self, tp: Any, where: str) -> Any:
        origin = get_origin(tp)
        if origin is None:
            codec = self._by_class.get(tp)
            return {TAG: "type", "name": codec.name if codec else qualified_name(tp)}
        if origin in _GENERIC_ORIGINS.values():
            args = [self._encode_type(arg, where) for arg in get_args(tp)]
            return {TAG: "generic", "origin": origin.__name__, "args": args}
        raise SerializationError(
            f"cannot write the type `{tp}` ({where}) to a checkpoint; use a class or a builtin "
            "generic (list[...], dict[...], tuple[...]) as the response type."
        )

    # -- reading -----------------------------------------------------------------------------------

    def decode(self, data: Any, where: str) -> Any:
        """Rebuild a value written by `encode`."""
        cls = type(data)
        if cls in _SCALARS:
            return data
        if cls is list:
            return [self.decode(item, where) for item in data]
        if cls is not dict:
            raise SerializationError(f"unexpected `{cls.__name__}` in checkpoint data ({where})")
        tag = data.get(TAG)
        if tag is None:
            return {k: self.decode(v, where) for k, v in data.items()}
        return self._decode_tagged(tag, data, where)

    def _decode_tagged(self, tag: str, data: dict[str, Any], where: str) -> Any:
        if tag == "tuple":
            return tuple(self.decode(item, where) for item in data["items"])
        if tag == "dict":
            return {self.decode(k, where): self.decode(v, where) for k, v in data["items"]}
        if tag == "type":
            return self.resolve(data["name"], where, any_class=True)
        if tag == "generic":
            args = tuple(self.decode(arg, where) for arg in data["args"])
            return _GENERIC_ORIGINS[data["origin"]][args]  # type: ignore[index]
        builtin = _BUILTIN_DECODERS.get(tag)
        if builtin is not None:
            return builtin(self, data["value"], where)
        codec = self._by_name.get(tag)
        if codec is not None:
            return codec.decode(data["data"])
        cls = self.resolve(tag, where)
        if issubclass(cls, BaseModel):
            return cls.model_validate(data["data"])
        if issubclass(cls, enum.Enum):
            return cls(self.decode(data["value"], where))
        return _build_dataclass(cls, {k: self.decode(v, where) for k, v in data["fields"].items()})

    def resolve(self, name: str, where: str, *, any_class: bool = False) -> type:
        """The class written as `name`, without importing anything."""
        codec = self._by_name.get(name)
        if codec is not None:
            return codec.cls
        known = self._known.get(name)
        if known is not None:
            return known
        module_name, _, qualname = name.partition(":")
        module = sys.modules.get(module_name)
        if module is None:
            raise SerializationError(
                f"checkpoint data ({where}) names `{name}`, which is not registered, and module "
                f"`{module_name}` is not imported; import the module that defines it before "
                "resuming, or register the type with `engine.register_type`."
            )
        obj: Any = module
        for part in qualname.split("."):
            obj = getattr(obj, part, None)
        allowed = isinstance(obj, type) and (
            any_class or issubclass(obj, BaseModel | enum.Enum) or dataclasses.is_dataclass(obj)
        )
        if not allowed:
            raise SerializationError(
                f"checkpoint data ({where}) names `{name}`, which is not a registered type nor an "
                "imported pydantic model, dataclass or enum; register it with "
                "`engine.register_type`."
            )
        return obj  # type: ignore[no-any-return]


def _build_dataclass(cls: type, fields: dict[str, Any]) -> Any:
    init = {f.name: fields[f.name] for f in dataclasses.fields(cls) if f.init and f.name in fields}
    value = cls(**init)
    for name, item in fields.items():
        if name not in init:
            object.__setattr__(value, name, item)
    return value


_Enc = Callable[[TypeRegistry, Any, str], Any]
_Dec = Callable[[TypeRegistry, Any, str], Any]

_BUILTIN_ENCODERS: dict[type, tuple[str, _Enc]] = {
    set: ("set", lambda r, v, w: [r.encode(i, w) for i in v]),
    frozenset: ("frozenset", lambda r, v, w: [r.encode(i, w) for i in v]),
    bytes: ("bytes", lambda r, v, w: base64.b64encode(v).decode("ascii")),
    dt.datetime: ("datetime", lambda r, v, w: v.isoformat()),
    dt.date: ("date", lambda r, v, w: v.isoformat()),
    dt.time: ("time", lambda r, v, w: v.isoformat()),
    dt.timedelta: ("timedelta", lambda r, v, w: v.total_seconds()),
    Decimal: ("decimal", lambda r, v, w: str(v)),
    uuid.UUID: ("uuid", lambda r, v, w: str(v)),
}
_BUILTIN_DECODERS: dict[str, _Dec] = {
    "set": lambda r, v, w: {r.decode(i, w) for i in v},
    "frozenset": lambda r, v, w: frozenset(r.decode(i, w) for i in v),
    "bytes": lambda r, v, w: base64.b64decode(v),
    "datetime": lambda r, v, w: dt.datetime.fromisoformat(v),
    "date": lambda r, v, w: dt.date.fromisoformat(v),
    "time": lambda r, v, w: dt.time.fromisoformat(v),
    "timedelta": lambda r, v, w: dt.timedelta(seconds=v),
    "decimal": lambda r, v, w: Decimal(v),
    "uuid": lambda r, v, w: uuid.UUID(v),
}

default_registry = TypeRegistry()
"""The registry durable runs use unless given another."""


def register_type(
    cls: type,
    *,
    name: str | None = None,
    encode: Callable[[Any], Any] | None = None,
    decode: Callable[[Any], Any] | None = None,
) -> None:
    """Allow `cls` in checkpoints of every run that uses the default registry (see `TypeRegistry`)."""
    default_registry.register(cls, name=name, encode=encode, decode=decode)
