"""Edge delivery: turn one superstep's sent messages into the next superstep's deliveries.

Input: each executor's outbox, in superstep order, and the committed run state (read only). Output: a
`RoutingPlan`: the next deliveries, ordered by edge group declaration, then source, then send order; the
new contents of every fan-in buffer it touched; and the drops. The runner commits the plan together with
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
from engine.events import MessageDroppedEvent
from engine.executor import Executor
from engine.log import get_logger
from engine.state import Delivery, RunState
from engine.typecheck import type_name

__all__ = ["Outbox", "Router", "RoutingPlan"]

logger = get_logger(__name__)

Outbox = tuple[str, list[tuple[Any, str | None]]]
"""An executor id and the ``(message, target_id)`` pairs it sent, in send order."""

# Outcome flags of routing one message through one group; a message is dropped when some group
# rejected it (no handler) and none delivered it. A false condition sets neither flag.
_ROUTED, _DELIVERED, _REJECTED = 0, 1, 2


@dataclass(slots=True)
class RoutingPlan:
    """What one superstep's messages become; applied by the runner at the barrier."""

    pending: list[Delivery] = field(default_factory=list)
    fan_in_buffers: dict[int, dict[str, list[Any]] | None] = field(default_factory=dict)
    """New contents of each touched fan-in buffer; `None` when the group released its list."""
    dropped: list[MessageDroppedEvent] = field(default_factory=list)

    def apply(self, state: RunState) -> None:
        """Commit the plan to `state`."""
        state.pending = self.pending
        for index, buffers in self.fan_in_buffers.items():
            if buffers is None:
                state.fan_in_buffers.pop(index, None)
            else:
                state.fan_in_buffers[index] = buffers


class Router:
    """Routes messages over a fixed set of edge groups; holds configuration only."""

    __slots__ = ("_by_source", "_executors", "_strict", "_targets_of")

    def __init__(
        self, executors: Mapping[str, Executor], groups: Sequence[EdgeGroup], *, strict: bool
    ) -> None:
        self._executors = executors
        self._strict = strict
        self._by_source: dict[str, list[tuple[int, EdgeGroup]]] = {}
        targets: dict[str, set[str]] = {}
        for index, group in enumerate(groups):
            for source in group.sources:
                self._by_source.setdefault(source, []).append((index, group))
                targets.setdefault(source, set()).update(group.targets)
        self._targets_of = {source: frozenset(ids) for source, ids in targets.items()}

    def targets_of(self, source: str) -> frozenset[str]:
        """Every executor `source` has an edge to."""
        return self._targets_of.get(source, frozenset())

    async def route(self, outboxes: Sequence[Outbox], state: RunState) -> RoutingPlan:
        """Plan where every sent message goes; `state` is only read."""
        plan = RoutingPlan()
        keyed: list[tuple[int, Delivery]] = []
        touched_fan_ins: dict[int, FanInEdgeGroup] = {}
        for source, sends in outboxes:
            groups = self._by_source.get(source)
            for message, target_id in sends:
                if not groups:
                    self._drop(source, message, f"`{source}` has no outgoing edges", plan, state)
                    continue
                flags = _ROUTED
                for index, group in groups:
                    if target_id is None or target_id in group.targets:
                        flags |= await self._route_group(
                            index,
                            group,
                            source,
                            message,
                            target_id,
                            keyed,
                            state,
                            plan,
                            touched_fan_ins,
                        )
                if flags == _REJECTED:
                    self._drop_unaccepted(source, message, target_id, plan, state)
        for index in sorted(touched_fan_ins):
            self._release_fan_in(index, touched_fan_ins[index], plan, keyed, state)
        if len(keyed) > 1:
            keyed.sort(key=lambda item: item[0])
        plan.pending = [delivery for _, delivery in keyed]
        return plan

    async def _route_group(
        self,
        index: int,
        group: EdgeGroup,
        source: str,
        message: Any,
        target_id: str | None,
        keyed: list[tuple[int, Delivery]],
        state: RunState,
        plan: RoutingPlan,
        fan_ins: dict[int, FanInEdgeGroup],
    ) -> int:
        if isinstance(group, SingleEdgeGroup):
            if group.condition is not None and not await self._ask(
                group.condition, message, source, group.target, state
            ):
                return _ROUTED
            return self._deliver(index, group.target, message, source, keyed)
        if isinstance(group, FanInEdgeGroup):
            buffers = plan.fan_in_buffers.get(index)
            if buffers is None:  # copy on first touch: the committed buffer stays intact
                committed = state.fan_in_buffers.get(index, {})
                buffers = {s: list(messages) for s, messages in committed.items()}
                plan.fan_in_buffers[index] = buffers
            buffers.setdefault(source, []).append(message)
            fan_ins[index] = group
            return _DELIVERED
        if isinstance(group, FanOutEdgeGroup):
            chosen = await self._select(group, message, state)
            if target_id is not None:
                chosen = [t for t in chosen if t == target_id]
            flags = _ROUTED
            for target in chosen:
                flags |= self._deliver(index, target, message, source, keyed)
            return flags
        branch = await self._switch(group, message, state)
        if branch is None or (target_id is not None and branch != target_id):
            return _ROUTED
        return self._deliver(index, branch, message, source, keyed)

    def _deliver(
        self, index: int, target: str, message: Any, source: str, keyed: list[tuple[int, Delivery]]
    ) -> int:
        spec = self._executors[target].handlers.find(message)
        if spec is None:
            return _REJECTED
        keyed.append((index, Delivery(target, message, source, spec)))
        return _DELIVERED

    async def _ask(
        self, predicate: Any, message: Any, source: str, target: str, state: RunState
    ) -> bool:
        try:
            verdict = predicate(message)
            if inspect.isawaitable(verdict):
                verdict = await verdict
        except Exception as exc:
            raise RoutingError(
                f"the predicate `{callable_name(predicate)}` on the edge `{source}` -> `{target}` raised "
                f"{type(exc).__name__}: {exc}; make the predicate total over the messages it can see.",
                run_id=state.run_id,
                superstep=state.superstep,
            ) from exc
        return bool(verdict)

    async def _select(self, group: FanOutEdgeGroup, message: Any, state: RunState) -> list[str]:
        if group.selection is None:
            return list(group.target_ids)
        name = callable_name(group.selection)
        try:
            chosen = group.selection(message, list(group.target_ids))
            if inspect.isawaitable(chosen):
                chosen = await chosen
        except Exception as exc:
            raise RoutingError(
                f"the selection `{name}` of the fan-out from `{group.source}` raised "
                f"{type(exc).__name__}: {exc}.",
                run_id=state.run_id,
                superstep=state.superstep,
            ) from exc
        unknown = [t for t in chosen if t not in group.target_ids]
        if unknown:
            raise RoutingError(
                f"the selection `{name}` of the fan-out from `{group.source}` returned "
                f"{', '.join(f'`{t}`' for t in unknown)}, which is not one of its targets "
                f"({', '.join(f'`{t}`' for t in group.target_ids)}); return a subset of the target ids.",
                run_id=state.run_id,
                superstep=state.superstep,
            )
        return list(dict.fromkeys(chosen))

    async def _switch(
        self, group: SwitchCaseEdgeGroup, message: Any, state: RunState
    ) -> str | None:
        for predicate, target in group.cases:
            if await self._ask(predicate, message, group.source, target, state):
                return target
        return group.default

    def _release_fan_in(
        self,
        index: int,
        group: FanInEdgeGroup,
        plan: RoutingPlan,
        keyed: list[tuple[int, Delivery]],
        state: RunState,
    ) -> None:
        buffers = plan.fan_in_buffers[index]
        assert buffers is not None
        if not all(buffers.get(source) for source in group.source_ids):
            return
        plan.fan_in_buffers[index] = None
        joined = [message for source in group.source_ids for message in buffers[source]]
        if (
            self._deliver(index, group.target, joined, "+".join(group.source_ids), keyed)
            != _DELIVERED
        ):
            reason = (
                f"the fan-in into `{group.target}` collected a list, but `{group.target}` has no "
                "handler that accepts it; give it a handler for `list[T]`."
            )
            self._drop(group.source_ids[0], joined, reason, plan, state, group.target)

    def _drop_unaccepted(
        self,
        source: str,
        message: Any,
        target_id: str | None,
        plan: RoutingPlan,
        state: RunState,
    ) -> None:
        targets = sorted(self._targets_of.get(source, ())) if target_id is None else [target_id]
        names = ", ".join(f"`{t}`" for t in targets)
        reason = (
            f"no edge from `{source}` leads to an executor that accepts `{type(message).__name__}` "
            f"(tried {names}); add a handler for it or change what `{source}` sends."
        )
        self._drop(source, message, reason, plan, state, target_id)

    def _drop(
        self,
        source: str,
        message: Any,
        reason: str,
        plan: RoutingPlan,
        state: RunState,
        target_id: str | None = None,
    ) -> None:
        message_type = type_name(type(message))
        if self._strict:
            raise RoutingError(
                f"message dropped in strict mode: {reason}",
                run_id=state.run_id,
                superstep=state.superstep,
            )
        logger.warning("message_dropped", source=source, message_type=message_type, reason=reason)
        plan.dropped.append(MessageDroppedEvent(source, message_type, reason, target_id))
