"""Edge delivery: turn one superstep's sent messages into the next superstep's deliveries.

Input: each executor's outbox, in superstep order, and the committed run state (read only). Output: a
`RoutingPlan`: the next deliveries, ordered by edge group declaration, then source, then send order; the
new contents of every fan-in buffer it touched; the new counts of bounded edges; and the events (drops,
spent loop bounds). The runner commits the plan together with
the superstep's state writes, so a routing failure (a raising predicate, a bad selection, a drop in strict
mode) leaves the run exactly as it was. A false condition or an empty selection is routing, not a drop.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.edges import (
    EdgeGroup,
    FanInEdgeGroup,
    FanOutEdgeGroup,
    SingleEdgeGroup,
    SwitchCaseEdgeGroup,
    callable_name,
)
from engine.errors import RoutingError
from engine.events import LoopBoundReachedEvent, MessageDroppedEvent, WorkflowEvent
from engine.executor import Executor
from engine.log import get_logger
from engine.state import Delivery, RunState
from engine.typecheck import type_name

__all__ = ["Outbox", "Router", "RoutingPlan"]

logger = get_logger(__name__)

Outbox = tuple[str, Sequence[tuple[Any, str | None]]]
"""An executor id and the ``(message, target_id)`` pairs it sent, in send order."""

# Outcome flags of routing one message through one group; a message is dropped when some group
# rejected it (no handler) and none delivered it. A false condition sets neither flag.
_ROUTED, _DELIVERED, _REJECTED = 0, 1, 2
_NO_TARGETS: frozenset[str] = frozenset()


@dataclass(slots=True)
class RoutingPlan:
    """What one superstep's messages become; applied by the runner at the barrier."""

    pending: list[Delivery] = field(default_factory=list)
    fan_in_buffers: dict[int, dict[str, list[Any]] | None] = field(default_factory=dict)
    """New contents of each touched fan-in buffer; `None` when the group released its list."""
    traversals: dict[str, int] = field(default_factory=dict)
    """New counts of the bounded edges that carried a message (keys as in `RunState.traversals`)."""
    events: list[WorkflowEvent] = field(default_factory=list)
    """`message_dropped` and `loop_bound_reached` events, in routing order."""

    def apply(self, state: RunState) -> None:
        """Commit the plan to `state`."""
        state.pending = self.pending
        if self.traversals:
            state.traversals.update(self.traversals)
        for index, buffers in self.fan_in_buffers.items():
            if buffers is None:
                state.fan_in_buffers.pop(index, None)
            else:
                state.fan_in_buffers[index] = buffers


class Router:
    """Routes messages over a fixed set of edge groups; holds configuration only."""

    __slots__ = ("by_source", "executors", "strict", "_targets_of")

    def __init__(
        self, executors: Mapping[str, Executor], groups: Sequence[EdgeGroup], *, strict: bool
    ) -> None:
        self.executors = executors
        self.strict = strict
        self.by_source: dict[str, list[tuple[int, EdgeGroup]]] = {}
        targets: dict[str, set[str]] = {}
        for index, group in enumerate(groups):
            for source in group.sources:
                self.by_source.setdefault(source, []).append((index, group))
                targets.setdefault(source, set()).update(group.targets)
        self._targets_of = {source: frozenset(ids) for source, ids in targets.items()}

    def targets_of(self, source: str) -> frozenset[str]:
        """Every executor `source` has an edge to."""
        return self._targets_of.get(source, _NO_TARGETS)

    async def route(self, outboxes: Sequence[Outbox], state: RunState) -> RoutingPlan:
        """Plan where every sent message goes; `state` is only read."""
        return await _Planner(self, state).run(outboxes)


class _Planner:
    """The working memory of one `Router.route` call: the plan being built and where it stands."""

    __slots__ = ("fan_ins", "keyed", "plan", "router", "state")

    def __init__(self, router: Router, state: RunState) -> None:
        self.router = router
        self.state = state
        self.plan = RoutingPlan()
        self.keyed: list[tuple[int, Delivery]] = []
        """Deliveries with their edge group index, sorted by it at the end."""
        self.fan_ins: dict[int, FanInEdgeGroup] = {}
        """Fan-in groups that received a message in this superstep."""

    async def run(self, outboxes: Sequence[Outbox]) -> RoutingPlan:
        for source, sends in outboxes:
            groups = self.router.by_source.get(source)
            for message, target_id in sends:
                if not groups:
                    self.drop(source, message, f"`{source}` has no outgoing edges")
                    continue
                flags = _ROUTED
                for index, group in groups:
                    if target_id is None or target_id in group.targets:
                        flags |= await self.route_group(index, group, source, message, target_id)
                if flags == _REJECTED:
                    self.drop_unaccepted(source, message, target_id)
        for index in sorted(self.fan_ins):
            self.release_fan_in(index, self.fan_ins[index])
        if len(self.keyed) > 1:
            self.keyed.sort(key=lambda item: item[0])
        self.plan.pending = [delivery for _, delivery in self.keyed]
        return self.plan

    async def route_group(
        self, index: int, group: EdgeGroup, source: str, message: Any, target_id: str | None
    ) -> int:
        if isinstance(group, SingleEdgeGroup):
            if group.condition is not None and not await self.ask(
                group.condition, message, source, group.target
            ):
                return _ROUTED
            if group.max_traversals is None:
                return self.deliver(index, group.target, message, source)
            key = str(index)
            if self.is_spent(key, group.max_traversals, source, group.target, message):
                return _ROUTED
            return self.count(key, self.deliver(index, group.target, message, source))
        if isinstance(group, FanInEdgeGroup):
            self.buffer(index, group, source, message)
            return _DELIVERED
        if isinstance(group, FanOutEdgeGroup):
            flags = _ROUTED
            for target in await self.select(group, message):
                if target_id is None or target == target_id:
                    flags |= self.deliver(index, target, message, source)
            return flags
        branch, case_key = await self.switch(index, group, message)
        if branch is None or (target_id is not None and branch != target_id):
            return _ROUTED
        delivered = self.deliver(index, branch, message, source)
        return delivered if case_key is None else self.count(case_key, delivered)

    def deliver(self, index: int, target: str, message: Any, source: str) -> int:
        spec = self.router.executors[target].handlers.find(message)
        if spec is None:
            return _REJECTED
        self.keyed.append((index, Delivery(target, message, source, spec)))
        return _DELIVERED

    def buffer(self, index: int, group: FanInEdgeGroup, source: str, message: Any) -> None:
        buffers = self.plan.fan_in_buffers.get(index)
        if buffers is None:  # copy on first touch: the committed buffer stays intact
            committed = self.state.fan_in_buffers.get(index, {})
            buffers = {s: list(messages) for s, messages in committed.items()}
            self.plan.fan_in_buffers[index] = buffers
        buffers.setdefault(source, []).append(message)
        self.fan_ins[index] = group

    def fail(self, message: str) -> RoutingError:
        return RoutingError(message, run_id=self.state.run_id, superstep=self.state.superstep)

    async def ask(self, predicate: Any, message: Any, source: str, target: str) -> bool:
        try:
            verdict = predicate(message)
            if inspect.isawaitable(verdict):
                verdict = await verdict
        except Exception as exc:
            raise self.fail(
                f"the predicate `{callable_name(predicate)}` on the edge `{source}` -> `{target}` raised "
                f"{type(exc).__name__}: {exc}; make the predicate total over the messages it can see."
            ) from exc
        return bool(verdict)

    async def select(self, group: FanOutEdgeGroup, message: Any) -> list[str]:
        if group.selection is None:
            return list(group.target_ids)
        name = callable_name(group.selection)
        try:
            chosen = group.selection(message, list(group.target_ids))
            if inspect.isawaitable(chosen):
                chosen = await chosen
        except Exception as exc:
            raise self.fail(
                f"the selection `{name}` of the fan-out from `{group.source}` raised "
                f"{type(exc).__name__}: {exc}."
            ) from exc
        unknown = [t for t in chosen if t not in group.target_ids]
        if unknown:
            raise self.fail(
                f"the selection `{name}` of the fan-out from `{group.source}` returned "
                f"{', '.join(f'`{t}`' for t in unknown)}, which is not one of its targets "
                f"({', '.join(f'`{t}`' for t in group.target_ids)}); return a subset of the target ids."
            )
        return list(dict.fromkeys(chosen))

    async def switch(
        self, index: int, group: SwitchCaseEdgeGroup, message: Any
    ) -> tuple[str | None, str | None]:
        """The branch a message takes, and the traversal key when that branch is a bounded case."""
        bounds = group.bounds
        spent = False
        for number, (predicate, target) in enumerate(group.cases):
            if await self.ask(predicate, message, group.source, target):
                bound = bounds[number] if bounds else None
                if bound is None:
                    return target, None
                key = f"{index}:{number}"
                if not self.is_spent(key, bound, group.source, target, message):
                    return target, key
                spent = True
        if group.default is None and not spent:  # a type switch without a Default, out of its types
            reason = (
                f"no case of the switch-case group from `{group.source}` matches "
                f"`{type_name(type(message))}`, and it has no `Default`; add a case for it or a "
                "`Default`."
            )
            self.drop(group.source, message, reason)
        return group.default, None

    def is_spent(self, key: str, bound: int, source: str, target: str, message: Any) -> bool:
        """Whether a bounded edge has carried `bound` messages (then it reports holding this one)."""
        carried = self.plan.traversals.get(key)
        if carried is None:
            carried = self.state.traversals.get(key, 0)
        if carried < bound:
            return False
        logger.debug("loop_bound_reached", source=source, target=target, max_traversals=bound)
        event = LoopBoundReachedEvent(source, target, bound, type_name(type(message)))
        self.plan.events.append(event)
        return True

    def count(self, key: str, flags: int) -> int:
        """Count one traversal of a bounded edge when the message was delivered over it."""
        if flags == _DELIVERED:
            self.plan.traversals[key] = (
                self.plan.traversals.get(key, self.state.traversals.get(key, 0)) + 1
            )
        return flags

    def release_fan_in(self, index: int, group: FanInEdgeGroup) -> None:
        buffers = self.plan.fan_in_buffers[index]
        assert buffers is not None
        if not all(buffers.get(source) for source in group.source_ids):
            return
        self.plan.fan_in_buffers[index] = None
        joined = [message for source in group.source_ids for message in buffers[source]]
        source_label = "+".join(group.source_ids)
        if self.deliver(index, group.target, joined, source_label) != _DELIVERED:
            reason = (
                f"the fan-in into `{group.target}` collected a list, but `{group.target}` has no "
                "handler that accepts it; give it a handler for `list[T]`."
            )
            self.drop(group.source_ids[0], joined, reason, group.target)

    def drop_unaccepted(self, source: str, message: Any, target_id: str | None) -> None:
        targets = sorted(self.router.targets_of(source)) if target_id is None else [target_id]
        names = ", ".join(f"`{t}`" for t in targets)
        reason = (
            f"no edge from `{source}` leads to an executor that accepts `{type(message).__name__}` "
            f"(tried {names}); add a handler for it or change what `{source}` sends."
        )
        self.drop(source, message, reason, target_id)

    def drop(self, source: str, message: Any, reason: str, target_id: str | None = None) -> None:
        message_type = type_name(type(message))
        if self.router.strict:
            raise self.fail(f"message dropped in strict mode: {reason}")
        logger.warning("message_dropped", source=source, message_type=message_type, reason=reason)
        self.plan.events.append(MessageDroppedEvent(source, message_type, reason, target_id))
