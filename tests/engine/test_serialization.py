from __future__ import annotations

import datetime as dt
import enum
import json
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel

from engine import SerializationError, TypeRegistry
from engine.context import DELETED
from engine.events import RequestInfoEvent, RunStatus
from engine.serialization import default_registry
from engine.state import Delivery, RecordedWrites, RunState


class Point(BaseModel):
    x: int
    y: int


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


@dataclass
class Bag:
    items: list[Any]
    label: str = "bag"
    computed: int = field(init=False, default=0)


class Opaque:
    """Neither a model nor a dataclass: must be registered."""

    def __init__(self, value: str) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Opaque) and other.value == self.value


def roundtrip(value: Any, registry: TypeRegistry = default_registry) -> Any:
    data = registry.encode(value, "a test value")
    text = json.dumps(data)  # must be plain JSON
    return registry.decode(json.loads(text), "a test value")


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        3,
        2.5,
        "text",
        [1, "a", None],
        {"a": 1, "b": [2, 3]},
        (1, (2, 3)),
        {1: "one", (2, 3): "pair"},
        {"$type": "not a tag"},
        {1, 2, 3},
        frozenset({"a"}),
        b"\x00\xff",
        dt.datetime(2026, 11, 21, 12, 30, tzinfo=dt.UTC),
        dt.date(2026, 1, 2),
        dt.timedelta(seconds=90),
        Decimal("1.10"),
        uuid.UUID(int=7),
        Point(x=1, y=2),
        Color.BLUE,
        [Point(x=0, y=0), {"p": Point(x=3, y=4)}],
    ],
)
def test_builtins_models_and_enums_round_trip(value: Any) -> None:
    back = roundtrip(value)
    assert back == value and type(back) is type(value)


def test_dataclasses_round_trip_field_by_field_keeping_any_typed_values() -> None:
    bag = Bag(items=[Point(x=1, y=1), (1, 2), Color.RED])
    bag.computed = 5
    back = roundtrip(bag)
    assert back == bag
    assert type(back.items[0]) is Point and type(back.items[1]) is tuple
    assert back.computed == 5


def test_run_state_with_deliveries_requests_and_recorded_writes_round_trips() -> None:
    state = RunState(run_id="r", superstep=3, status=RunStatus.IDLE_WITH_PENDING_REQUESTS)
    state.pending.append(Delivery("b", Point(x=1, y=2), "a"))
    state.fan_in_buffers[2] = {"a": [1, 2]}
    state.executor_states["a"] = {"count": 2}
    state.pending_requests["q"] = RequestInfoEvent("q", "a", Point(x=0, y=0), list[int])
    state.answered_request_ids.add("old")
    state.replay["c"] = RecordedWrites((("m", None),), True, 1, {"k": DELETED}, (), ("out",))
    back = roundtrip(state)
    assert back == state
    assert back.replay["c"].shared["k"] is DELETED
    assert back.pending_requests["q"].response_type == list[int]


def test_an_unregistered_type_fails_the_save_naming_the_type_the_place_and_the_fix() -> None:
    with pytest.raises(SerializationError) as caught:
        default_registry.encode({"x": Opaque("v")}, "the state of executor `counter`")
    message = str(caught.value)
    assert "`tests.engine.test_serialization:Opaque`" in message
    assert "(the state of executor `counter`)" in message
    assert "engine.register_type(Opaque, encode=..., decode=...)" in message


def test_registered_types_round_trip_with_their_own_codec_under_their_name() -> None:
    registry = TypeRegistry()
    registry.register(Opaque, name="opaque", encode=lambda o: o.value, decode=Opaque)
    data = registry.encode(Opaque("v"), "x")
    assert data == {"$type": "opaque", "data": "v"}
    assert registry.decode(data, "x") == Opaque("v")


def test_register_needs_both_codec_functions_or_neither() -> None:
    with pytest.raises(TypeError, match="needs both `encode` and `decode`"):
        TypeRegistry().register(Opaque, encode=lambda o: o.value)
    with pytest.raises(TypeError, match="takes a class"):
        TypeRegistry().register("Opaque")  # type: ignore[arg-type]


def test_loading_never_imports_a_module() -> None:
    data = {"$type": "some_module_that_is_not_imported:Thing", "data": {}}
    with pytest.raises(
        SerializationError, match="module `some_module_that_is_not_imported` is not"
    ):
        default_registry.decode(data, "a message")


def test_loading_refuses_names_that_are_not_models_dataclasses_or_registered() -> None:
    for name in ("os:system", "builtins:eval", "tests.engine.test_serialization:Opaque"):
        with pytest.raises(SerializationError, match="not a registered type"):
            default_registry.decode({"$type": name, "fields": {}}, "a message")


def test_classes_defined_in_functions_resolve_through_an_extended_registry() -> None:
    class Local(BaseModel):
        n: int

    data = default_registry.encode(Local(n=1), "x")
    with pytest.raises(SerializationError):
        default_registry.decode(data, "x")
    extended = default_registry.extended([list[Local]])
    assert extended.decode(data, "x") == Local(n=1)
