"""`LocalBackend`: executors run in the coordinator's event loop, the default.

Without validation the runner uses its own path (a lone executor awaited directly, events live as they
happen) and no invocation values exist, so the default costs nothing. With ``validate=True`` every
invocation and result round-trips through the wire codec a cluster backend uses: an executor whose
state, messages or events cannot travel fails in a unit test, with the serializer's message, instead
of on a cluster.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

from engine.backends.base import Dispatcher, Invocation, InvocationResult
from engine.backends.execute import execute_invocation, from_wire, to_wire
from engine.executor import Executor
from engine.serialization import TypeRegistry

__all__ = ["LocalBackend"]


class LocalBackend:
    """Run executors in the event loop; ``validate=True`` checks that every invocation could travel."""

    __slots__ = ("validate",)

    def __init__(self, *, validate: bool = False) -> None:
        self.validate = validate
        """Round-trip every invocation and result through the wire codec."""

    def bind(self, executors: Mapping[str, Executor], registry: TypeRegistry) -> Dispatcher | None:
        """`None` (the runner's in-loop path) unless validating."""
        return _ValidatingDispatcher(executors, registry) if self.validate else None

    def __repr__(self) -> str:
        return f"LocalBackend(validate={self.validate})"


class _ValidatingDispatcher:
    """Runs invocations in the event loop, each one encoded, decoded, run, and its result likewise."""

    __slots__ = ("_executors", "_registry")

    def __init__(self, executors: Mapping[str, Executor], registry: TypeRegistry) -> None:
        self._executors = executors
        self._registry = registry

    async def run_batch(self, invocations: Sequence[Invocation]) -> list[InvocationResult]:
        return list(await asyncio.gather(*(self._run_one(i) for i in invocations)))

    async def _run_one(self, invocation: Invocation) -> InvocationResult:
        registry = self._registry
        what = f"the invocation of `{invocation.executor_id}`"
        travelled: Invocation = from_wire(registry, to_wire(registry, invocation), what)
        result = await execute_invocation(self._executors[invocation.executor_id], travelled)
        back: InvocationResult = from_wire(
            registry, to_wire(registry, result), f"the result of `{invocation.executor_id}`"
        )
        return back
