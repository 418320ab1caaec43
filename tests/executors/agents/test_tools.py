from __future__ import annotations

import asyncio
import dataclasses
import json
import threading
from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, Field

from executors.agents import FunctionCallContent, FunctionResultContent, FunctionTool, tool
from executors.agents.tools import parse_docstring, unknown_tool_result


class Address(BaseModel):
    city: str
    zip_code: str | None = None


calls: list[dict[str, Any]] = []


@tool
def lookup_order(
    order_id: str,
    include_items: bool = False,
    region: Literal["eu", "us"] | None = None,
    limit: Annotated[int, Field(ge=1, description="At most this many items.")] = 10,
    ship_to: Address | None = None,
) -> dict[str, Any]:
    """Look up an order by its id.

    Use it before answering questions
    about a specific order.

    Args:
        order_id: The order's id,
            as printed on the receipt.
        include_items (bool): Whether to list the items.
        limit: Overridden by the Field description.

    Returns:
        The order as a mapping.
    """
    calls.append({"order_id": order_id, "limit": limit, "ship_to": ship_to})
    return {"order_id": order_id, "items": limit, "ship_to": ship_to}


def call(name: str, arguments: str, call_id: str = "c1") -> FunctionCallContent:
    return FunctionCallContent(call_id=call_id, name=name, arguments=arguments)


def test_schema_comes_from_the_signature_and_docstring() -> None:
    spec = lookup_order.spec
    assert spec.name == "lookup_order"
    assert spec.description == (
        "Look up an order by its id.\n\nUse it before answering questions about a specific order."
    )
    params = spec.parameters
    assert params["type"] == "object"
    assert params["required"] == ["order_id"]
    assert params["additionalProperties"] is False
    props = params["properties"]
    assert list(props) == ["order_id", "include_items", "region", "limit", "ship_to"]
    assert props["order_id"] == {
        "type": "string",
        "description": "The order's id, as printed on the receipt.",
    }
    assert props["include_items"] == {
        "type": "boolean",
        "default": False,
        "description": "Whether to list the items.",
    }
    assert props["region"] == {
        "anyOf": [{"enum": ["eu", "us"], "type": "string"}, {"type": "null"}],
        "default": None,
    }
    assert props["limit"] == {
        "type": "integer",
        "minimum": 1,
        "default": 10,
        "description": "At most this many items.",
    }
    assert props["ship_to"]["anyOf"][0] == {"$ref": "#/$defs/Address"}
    assert params["$defs"]["Address"]["required"] == ["city"]
    assert "title" not in json.dumps(params), "pydantic's titles are stripped"


def test_a_parameter_called_title_survives_title_stripping() -> None:
    @tool
    def rename(title: str, json: bool = False) -> str:
        """Rename the document."""
        return title

    assert list(rename.spec.parameters["properties"]) == ["title", "json"]
    assert rename.spec.parameters["properties"]["title"] == {"type": "string"}


def test_decorator_arguments_override_name_and_description() -> None:
    @tool(name="get-time", description="The current time.")
    async def now() -> str:
        """Ignored docstring."""
        return "noon"

    assert (now.name, now.description) == ("get-time", "The current time.")
    assert now.spec.parameters == {
        "type": "object",
        "properties": {},
        "additionalProperties": False,
    }


def test_sphinx_style_parameter_descriptions() -> None:
    summary, args = parse_docstring(
        "Add two numbers.\n\n:param a: The first\n    number.\n:param int b: The second.\n:returns: x"
    )
    assert summary == "Add two numbers."
    assert args == {"a": "The first number.", "b": "The second."}


def test_tool_instances_are_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        lookup_order.name = "other"  # type: ignore[misc]


def test_definition_mistakes_raise_with_the_fix() -> None:
    with pytest.raises(
        ValueError, match=r"tool name '<lambda>' is not accepted.*@tool\(name=...\)"
    ):
        tool(lambda x: x)

    def untyped(city) -> str:  # type: ignore[no-untyped-def]
        return str(city)

    with pytest.raises(TypeError, match="no type annotation on `city`; annotate every parameter"):
        tool(untyped)

    def variadic(*cities: str) -> str:
        return ""

    with pytest.raises(
        TypeError, match="variadic positional parameter `cities`; tools take named parameters only"
    ):
        tool(variadic)

    with pytest.raises(TypeError, match="@tool needs a function, got int"):
        tool(3)  # type: ignore[call-overload]


async def test_arguments_are_validated_and_converted_before_the_call() -> None:
    calls.clear()
    arguments = json.dumps({"order_id": "A7", "limit": "3", "ship_to": {"city": "Oslo"}})
    result = await lookup_order.invoke(call("lookup_order", arguments))
    assert result == FunctionResultContent(
        call_id="c1",
        result={"order_id": "A7", "items": 3, "ship_to": {"city": "Oslo", "zip_code": None}},
    )
    assert calls == [{"order_id": "A7", "limit": 3, "ship_to": Address(city="Oslo")}]


async def test_invalid_arguments_never_reach_the_function() -> None:
    calls.clear()
    result = await lookup_order.invoke(call("lookup_order", '{"limit": 0, "colour": "red"}'))
    assert result.is_error
    assert result.result == (
        "Error: invalid arguments for `lookup_order`: `order_id`: Field required; `limit`: Input "
        "should be greater than or equal to 1; `colour`: Extra inputs are not permitted. Call it "
        "again with arguments that match its parameters."
    )
    assert calls == []


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            '{"order_id": "A7"',
            "Error: the arguments for `lookup_order` are not valid JSON (Expecting ',' delimiter at "
            "position 17); call it again with a JSON object that matches its parameters.",
        ),
        (
            '["A7"]',
            "Error: the arguments for `lookup_order` must be a JSON object, got an array; call it "
            "again with an object of named parameters.",
        ),
    ],
)
async def test_malformed_json_becomes_an_error_result(arguments: str, message: str) -> None:
    result = await lookup_order.invoke(call("lookup_order", arguments, call_id="c9"))
    assert result == FunctionResultContent(call_id="c9", result=message, is_error=True)


async def test_an_exception_inside_the_tool_becomes_an_error_result() -> None:
    @tool
    async def explode(reason: str) -> str:
        """Fail on purpose."""
        raise RuntimeError(f"boom: {reason}")

    result = await explode.invoke(call("explode", '{"reason": "test"}'))
    assert result.is_error
    assert result.result == (
        "Error: the tool `explode` failed: RuntimeError: boom: test. Correct the arguments if they "
        "caused this, or continue without this tool's result."
    )


async def test_an_exception_without_a_message_is_named_by_its_type() -> None:
    @tool
    async def hang() -> str:
        """Time out."""
        raise TimeoutError

    result = await hang.invoke(call("hang", "{}"))
    assert result.result.startswith("Error: the tool `hang` failed: TimeoutError. Correct")


async def test_sync_tools_run_in_a_worker_thread_async_tools_on_the_loop() -> None:
    loop_thread = threading.get_ident()

    @tool
    def sync_thread() -> int:
        """Report the thread."""
        return threading.get_ident()

    @tool
    async def async_thread() -> int:
        """Report the thread."""
        await asyncio.sleep(0)
        return threading.get_ident()

    sync_result = await sync_thread.invoke(call("sync_thread", ""))
    async_result = await async_thread.invoke(call("async_thread", "{}"))
    assert sync_result.result != loop_thread
    assert async_result.result == loop_thread


async def test_results_are_made_json_ready() -> None:
    class Opaque:
        def __str__(self) -> str:
            return "opaque!"

    @tool
    def odd() -> Any:
        """Return something JSON cannot hold."""
        return {"address": Address(city="Rome"), "thing": Opaque(), "tags": {"a"}}

    result = await odd.invoke(call("odd", "{}"))
    assert result.result == {
        "address": {"city": "Rome", "zip_code": None},
        "thing": "opaque!",
        "tags": ["a"],
    }
    json.dumps(result.result)


async def test_invoke_refuses_a_call_for_another_tool() -> None:
    with pytest.raises(
        ValueError, match="call `c1` is for `refund`, not for the tool `lookup_order`"
    ):
        await lookup_order.invoke(call("refund", "{}"))


def test_unknown_tool_result_names_the_available_tools() -> None:
    result = unknown_tool_result(call("refund", "{}"), ["lookup_order", "cancel"])
    assert result == FunctionResultContent(
        call_id="c1",
        result="Error: there is no tool named `refund`; the available tools are: `lookup_order`, "
        "`cancel`. Call one of those, or answer without a tool.",
        is_error=True,
    )


def test_function_tool_can_be_built_from_an_explicit_arguments_model() -> None:
    class Args(BaseModel):
        city: str

    def weather(city: str) -> str:
        return f"sunny in {city}"

    made = FunctionTool(name="weather", description="Weather.", func=weather, arguments_model=Args)
    assert made.spec.parameters["required"] == ["city"]
    assert made.parse_arguments('{"city": "Rome"}') == {"city": "Rome"}
