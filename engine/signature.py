"""Graph signatures: a stable description of a workflow's shape, its hash, and what differs between two.

A checkpoint records the signature of the graph it was taken on; resuming on a workflow whose signature
differs is refused, naming the executors and edge groups that changed. The description covers executor
ids and types (a function executor by its function, a sub-workflow by its inner description) and every
edge group with its kind, sources, targets and the names of its conditions.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from engine.edges import (
    EdgeGroup,
    FanInEdgeGroup,
    FanOutEdgeGroup,
    SingleEdgeGroup,
    SwitchCaseEdgeGroup,
    callable_name,
)
from engine.executor import Executor

if TYPE_CHECKING:
    from engine.workflow import Workflow

__all__ = ["describe", "diff", "signature_of"]


def describe(workflow: Workflow) -> dict[str, Any]:
    """The JSON-ready shape of `workflow` that its signature hashes."""
    return {
        "start": workflow.start_executor_id,
        "executors": {eid: _executor_kind(ex) for eid, ex in workflow.executors.items()},
        "edge_groups": [_edge_group(group) for group in workflow.edge_groups],
    }


def signature_of(description: dict[str, Any]) -> str:
    """A SHA-256 over the canonical JSON of a description."""
    text = json.dumps(description, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _executor_kind(executor: Executor) -> Any:
    from engine.function_executor import FunctionExecutor
    from engine.subworkflow import WorkflowExecutor

    cls = type(executor)
    kind = f"{cls.__module__}.{cls.__qualname__}"
    if isinstance(executor, WorkflowExecutor):
        return {"type": kind, "workflow": describe(executor.workflow)}
    if isinstance(executor, FunctionExecutor):
        func = executor.func
        return {"type": kind, "function": f"{func.__module__}.{func.__qualname__}"}
    return {"type": kind}


def _edge_group(group: EdgeGroup) -> dict[str, Any]:
    if isinstance(group, SingleEdgeGroup):
        return {
            "kind": "edge",
            "sources": [group.source],
            "targets": [group.target],
            "condition": callable_name(group.condition),
        }
    if isinstance(group, FanOutEdgeGroup):
        return {
            "kind": "fan_out",
            "sources": [group.source],
            "targets": list(group.target_ids),
            "selection": callable_name(group.selection),
        }
    if isinstance(group, FanInEdgeGroup):
        return {"kind": "fan_in", "sources": list(group.source_ids), "targets": [group.target]}
    assert isinstance(group, SwitchCaseEdgeGroup)
    return {
        "kind": "switch_case",
        "sources": [group.source],
        "targets": list(group.targets),
        "cases": [callable_name(predicate) for predicate, _ in group.cases],
    }


def diff(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[str]:
    """Human-readable differences between two descriptions (empty when they are equal)."""
    changes: list[str] = []
    if old.get("start") != new.get("start"):
        changes.append(f"{prefix}start executor `{old.get('start')}` became `{new.get('start')}`")
    old_ex, new_ex = old.get("executors", {}), new.get("executors", {})
    for eid in old_ex.keys() - new_ex.keys():
        changes.append(f"{prefix}executor `{eid}` was removed")
    for eid in new_ex.keys() - old_ex.keys():
        changes.append(f"{prefix}executor `{eid}` was added")
    for eid in sorted(old_ex.keys() & new_ex.keys()):
        before, after = old_ex[eid], new_ex[eid]
        if "workflow" in before and "workflow" in after:
            changes.extend(diff(before["workflow"], after["workflow"], f"{prefix}inside `{eid}`: "))
        elif before != after:
            changes.append(
                f"{prefix}executor `{eid}` changed from {_label(before)} to {_label(after)}"
            )
    old_groups, new_groups = old.get("edge_groups", []), new.get("edge_groups", [])
    for index in range(max(len(old_groups), len(new_groups))):
        before = old_groups[index] if index < len(old_groups) else None
        after = new_groups[index] if index < len(new_groups) else None
        if before != after:
            changes.append(
                f"{prefix}edge group {index + 1} changed from {_edges(before)} to {_edges(after)}"
            )
    return sorted(changes) if not prefix else changes


def _label(kind: dict[str, Any]) -> str:
    return f"`{kind.get('function') or kind.get('type')}`"


def _edges(group: dict[str, Any] | None) -> str:
    if group is None:
        return "nothing"
    sources, targets = ", ".join(group["sources"]), ", ".join(group["targets"])
    return f"{group['kind']} [{sources}] -> [{targets}]"
