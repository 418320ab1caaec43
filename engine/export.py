"""Diagrams of a workflow: Mermaid flowcharts and Graphviz DOT, drawn from the same connections.

Conditional edges and switch cases carry their predicate names, fan-out selections their function name,
fan-ins are drawn through a join node, and sub-workflows as clusters holding their own graph.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from engine.edges import FanInEdgeGroup
from engine.graph import connections
from engine.subworkflow import WorkflowExecutor

if TYPE_CHECKING:
    from engine.workflow import Workflow

__all__ = ["to_dot", "to_mermaid"]


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", text)


_MERMAID_RESERVED = frozenset({"end", "graph", "subgraph", "flowchart", "style", "class", "click"})


class _NodeIds:
    """Distinct node ids for executor paths and join nodes, so no two things merge in a diagram.

    Mermaid ids are sanitized (``a-b`` and ``a_b`` would collide) and avoid reserved words; DOT ids are
    the paths themselves, but a join node must not merge with an executor that happens to be named
    like it.
    """

    def __init__(self, *, sanitize: bool) -> None:
        self._sanitize = sanitize
        self._ids: dict[tuple[str, bool], str] = {}
        self._used: set[str] = set()

    def __call__(self, path: str, *, join: bool = False) -> str:
        """The id for an executor path, or for a join node when `join` (its own namespace)."""
        key = (path, join)
        known = self._ids.get(key)
        if known is not None:
            return known
        base = _safe(path) if self._sanitize else path
        if self._sanitize and base.lower() in _MERMAID_RESERVED:
            base += "_"
        candidate, suffix = base, 2
        while candidate in self._used:
            candidate, suffix = f"{base}_{suffix}", suffix + 1
        self._ids[key] = candidate
        self._used.add(candidate)
        return candidate


def _mermaid_label(text: str) -> str:
    return text.replace('"', "#quot;")


def to_mermaid(workflow: Workflow) -> str:
    """A Mermaid ``flowchart TD`` of `workflow`, nested workflows included."""
    lines = ["flowchart TD"]
    _mermaid_body(workflow, "", lines, "  ", _NodeIds(sanitize=True))
    return "\n".join(lines) + "\n"


def _mermaid_body(
    workflow: Workflow, prefix: str, lines: list[str], indent: str, ids: _NodeIds
) -> None:
    def node(executor_id: str) -> str:
        return ids(prefix + executor_id)

    for executor_id, executor in workflow.executors.items():
        kind = type(executor).__name__
        start = " (start)" if executor_id == workflow.start_executor_id else ""
        if isinstance(executor, WorkflowExecutor):
            lines.append(
                f'{indent}subgraph {node(executor_id)} ["{executor_id}: sub-workflow{start}"]'
            )
            _mermaid_body(executor.workflow, f"{prefix}{executor_id}/", lines, indent + "  ", ids)
            lines.append(f"{indent}end")
        else:
            label = _mermaid_label(f"{executor_id}{start}<br/>{kind}")
            lines.append(f'{indent}{node(executor_id)}["{label}"]')
    for index, group in enumerate(workflow.edge_groups):
        if isinstance(group, FanInEdgeGroup):
            join = ids(f"{prefix}join_{index}", join=True)
            lines.append(f"{indent}{join}((join))")
            for source in group.source_ids:
                lines.append(f"{indent}{node(source)} -->|fan-in| {join}")
            lines.append(f"{indent}{join} --> {node(group.target)}")
            continue
        for source, target, kind, label in connections(group):
            text = _edge_text(kind, label)
            arrow = f' -->|"{_mermaid_label(text)}"| ' if text else " --> "
            lines.append(f"{indent}{node(source)}{arrow}{node(target)}")


def _edge_text(kind: str, label: str) -> str:
    if kind == "fan_out":
        return f"fan-out: {label}" if label else "fan-out"
    return label


def _dot_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _dot_quote(text: str) -> str:
    return f'"{_dot_escape(text)}"'


def to_dot(workflow: Workflow) -> str:
    """A Graphviz ``digraph`` of `workflow`; sub-workflows are ``cluster_`` subgraphs."""
    lines = [f"digraph {_dot_quote(workflow.name)} {{", "  compound=true;", "  node [shape=box];"]
    _dot_body(workflow, "", lines, "  ", _NodeIds(sanitize=False))
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot_cluster(path: str) -> str:
    return _dot_quote(f"cluster_{path}")


def _dot_anchor(
    workflow: Workflow, executor_id: str, prefix: str, ids: _NodeIds
) -> tuple[str, str]:
    """The node an edge to or from `executor_id` attaches to, and the cluster it clips to."""
    executor = workflow.executors[executor_id]
    if isinstance(executor, WorkflowExecutor):
        inner_prefix = f"{prefix}{executor_id}/"
        inner_start = executor.workflow.start_executor_id
        inner, _ = _dot_anchor(executor.workflow, inner_start, inner_prefix, ids)
        return inner, _dot_cluster(prefix + executor_id)
    return _dot_quote(ids(prefix + executor_id)), ""


def _dot_body(
    workflow: Workflow, prefix: str, lines: list[str], indent: str, ids: _NodeIds
) -> None:
    for executor_id, executor in workflow.executors.items():
        if isinstance(executor, WorkflowExecutor):
            lines.append(f"{indent}subgraph {_dot_cluster(prefix + executor_id)} {{")
            lines.append(f"{indent}  label={_dot_quote(executor_id + ': sub-workflow')};")
            _dot_body(executor.workflow, f"{prefix}{executor_id}/", lines, indent + "  ", ids)
            lines.append(f"{indent}}}")
            continue
        style = ", peripheries=2" if executor_id == workflow.start_executor_id else ""
        label = f"{_dot_escape(executor_id)}\\n{type(executor).__name__}"
        node = _dot_quote(ids(prefix + executor_id))
        lines.append(f'{indent}{node} [label="{label}"{style}];')
    for index, group in enumerate(workflow.edge_groups):
        if isinstance(group, FanInEdgeGroup):
            join = _dot_quote(ids(f"{prefix}join_{index}", join=True))
            lines.append(f"{indent}{join} [shape=circle, label=join];")
            for source in group.source_ids:
                lines.append(_dot_edge(workflow, prefix, ids, source, None, "fan-in", indent, join))
            lines.append(_dot_edge(workflow, prefix, ids, None, group.target, "", indent, join))
            continue
        for source, target, kind, label in connections(group):
            text = _edge_text(kind, label)
            lines.append(_dot_edge(workflow, prefix, ids, source, target, text, indent))


def _dot_edge(
    workflow: Workflow,
    prefix: str,
    ids: _NodeIds,
    source: str | None,
    target: str | None,
    label: str,
    indent: str,
    join: str = "",
) -> str:
    attributes: list[str] = []
    tail = head = join
    if source is not None:
        tail, cluster = _dot_anchor(workflow, source, prefix, ids)
        if cluster:
            attributes.append(f"ltail={cluster}")
    if target is not None:
        head, cluster = _dot_anchor(workflow, target, prefix, ids)
        if cluster:
            attributes.append(f"lhead={cluster}")
    if label:
        attributes.append(f"label={_dot_quote(label)}")
    suffix = f" [{', '.join(attributes)}]" if attributes else ""
    return f"{indent}{tail} -> {head}{suffix};"
