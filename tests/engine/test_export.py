from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import networkx as nx

from engine import (
    Case,
    Default,
    Executor,
    Workflow,
    WorkflowBuilder,
    WorkflowContext,
    WorkflowExecutor,
    handler,
)
from engine.export import to_dot, to_mermaid


class IntRelay(Executor):
    @handler
    async def relay(self, message: int, ctx: WorkflowContext[int]) -> None:
        await ctx.send_message(message)


class IntSink(Executor):
    @handler
    async def collect(self, message: int, ctx: WorkflowContext[None, int]) -> None:
        await ctx.yield_output(message)


class IntListSink(Executor):
    @handler
    async def collect(self, message: list[int], ctx: WorkflowContext[None, int]) -> None:
        await ctx.yield_output(sum(message))


def is_big(number: int) -> bool:
    return number > 100


def is_even(number: int) -> bool:
    return number % 2 == 0


def pick_first(message: int, targets: list[str]) -> Sequence[str]:
    return targets[:1]


def conditional_workflow() -> Workflow:
    """``a -[is_big]-> b``, ``a -[lambda]-> c``, ``a -> d``."""
    a = IntRelay("a")
    return (
        WorkflowBuilder(a)
        .add_edge(a, IntSink("b"), is_big)
        .add_edge(a, IntSink("c"), lambda n: n < 0)
        .add_edge(a, IntSink("d"))
        .build()
    )


def switch_workflow() -> Workflow:
    """``a`` switches: ``is_big -> b``, ``lambda -> c``, ``is_even -> b``, else ``d``."""
    a, b = IntRelay("a"), IntSink("b")
    cases = [Case(is_big, b), Case(lambda n: n < 0, IntSink("c")), Case(is_even, b)]
    return WorkflowBuilder(a).add_switch_case_edge_group(a, [*cases, Default(IntSink("d"))]).build()


def fan_workflow() -> Workflow:
    """``a`` fans out (picking with `pick_first`) to ``b``, ``c``; both fan in to ``d``."""
    a, b, c = IntRelay("a"), IntRelay("b"), IntRelay("c")
    return (
        WorkflowBuilder(a)
        .add_fan_out_edges(a, [b, c], pick_first)
        .add_fan_in_edges([b, c], IntListSink("d"))
        .build()
    )


def inner_workflow() -> Workflow:
    x = IntRelay("x")
    return WorkflowBuilder(x, name="inner").add_edge(x, IntSink("y")).build()


def sub_workflow() -> Workflow:
    """``in -> sub -> out`` where ``sub`` runs ``x -> y``."""
    start = IntRelay("in")
    sub = WorkflowExecutor(inner_workflow(), id="sub")
    return WorkflowBuilder(start, name="outer").add_chain([start, sub, IntSink("out")]).build()


def nested_workflow() -> Workflow:
    """``sub`` (start) runs ``x -> deep -> z`` where ``deep`` runs ``x -> y``; ``sub`` fans out."""
    x = IntRelay("x")
    deep = WorkflowExecutor(inner_workflow(), id="deep")
    middle = WorkflowBuilder(x).add_chain([x, deep, IntSink("z")]).build()
    sub = WorkflowExecutor(middle, id="sub")
    return WorkflowBuilder(sub).add_fan_out_edges(sub, [IntSink("o1"), IntSink("o2")]).build()


# --- a tiny DOT reader: enough grammar to prove the output parses ---

_DOT_TOKEN = re.compile(r'\s*(?:("(?:[^"\\\n]|\\.)*")|([A-Za-z0-9_.]+)|(->|[{}\[\];=,]))')
_PUNCTUATION = {"->", "{", "}", "[", "]", ";", "=", ","}


def _dot_tokens(text: str) -> list[str]:
    tokens: list[str] = []
    pos, end = 0, len(text.rstrip())
    while pos < end:
        match = _DOT_TOKEN.match(text, pos)
        assert match is not None, f"not DOT at {text[pos : pos + 30]!r}"
        tokens.append(match.group(match.lastindex or 0))
        pos = match.end()
    return tokens


def _unquote(token: str) -> str:
    if token.startswith('"'):
        return re.sub(r'\\(["\\])', r"\1", token[1:-1])
    return token


class DotReader:
    """Parses ``digraph ID { stmt* }`` with node, edge, attribute and ``subgraph`` statements."""

    def __init__(self, text: str) -> None:
        self.tokens = _dot_tokens(text)
        self.pos = 0
        self.nodes: dict[str, dict[str, str]] = {}
        self.edges: list[tuple[str, str, dict[str, str]]] = []
        self.clusters: list[str] = []
        self.expect("digraph")
        self.name = _unquote(self.ident())
        self.block()
        assert self.pos == len(self.tokens), f"text after the graph: {self.tokens[self.pos :]}"

    def peek(self) -> str:
        assert self.pos < len(self.tokens), "DOT text ends early"
        return self.tokens[self.pos]

    def expect(self, token: str) -> None:
        assert self.peek() == token, f"expected {token!r}, got {self.peek()!r}"
        self.pos += 1

    def ident(self) -> str:
        token = self.peek()
        assert token not in _PUNCTUATION, f"expected an ID, got {token!r}"
        self.pos += 1
        return token

    def block(self) -> None:
        self.expect("{")
        while self.peek() != "}":
            self.statement()
        self.expect("}")

    def statement(self) -> None:
        if self.peek() == "subgraph":
            self.pos += 1
            self.clusters.append(_unquote(self.ident()))
            self.block()
            return
        first = _unquote(self.ident())
        if self.peek() == "=":
            self.pos += 1
            self.ident()
        elif self.peek() == "->":
            self.pos += 1
            head = _unquote(self.ident())
            self.edges.append((first, head, self.attributes()))
        elif first not in ("node", "edge", "graph"):
            self.nodes[first] = self.attributes()
        else:
            self.attributes()
        self.expect(";")

    def attributes(self) -> dict[str, str]:
        found: dict[str, str] = {}
        if self.peek() != "[":
            return found
        self.pos += 1
        while self.peek() != "]":
            key = self.ident()
            self.expect("=")
            found[key] = _unquote(self.ident())
            if self.peek() == ",":
                self.pos += 1
        self.expect("]")
        return found


def test_dot_reader_rejects_unbalanced_text() -> None:
    for broken in [
        'digraph "w" {',
        'digraph "w" { "a" -> "b"; }}',
        'digraph "w" { "a" [label="x"y"]; }',
    ]:
        try:
            DotReader(broken)
        except AssertionError:
            continue
        raise AssertionError(f"accepted {broken!r}")


# --- Mermaid ---


def test_mermaid_is_a_top_down_flowchart_with_one_node_per_executor() -> None:
    lines = conditional_workflow().to_mermaid().splitlines()

    assert lines[0] == "flowchart TD"
    assert lines[1:5] == [
        '  a["a (start)<br/>IntRelay"]',
        '  b["b<br/>IntSink"]',
        '  c["c<br/>IntSink"]',
        '  d["d<br/>IntSink"]',
    ]


def test_mermaid_method_and_function_agree() -> None:
    workflow = fan_workflow()

    assert workflow.to_mermaid() == to_mermaid(workflow)
    assert workflow.to_mermaid().endswith("\n")


def test_mermaid_labels_a_conditional_edge_with_the_predicate_name() -> None:
    lines = conditional_workflow().to_mermaid().splitlines()

    assert '  a -->|"is_big"| b' in lines


def test_mermaid_labels_a_lambda_condition_as_condition() -> None:
    lines = conditional_workflow().to_mermaid().splitlines()

    assert '  a -->|"condition"| c' in lines


def test_mermaid_draws_a_direct_edge_without_a_label() -> None:
    lines = conditional_workflow().to_mermaid().splitlines()

    assert "  a --> d" in lines
    assert not any(line.startswith("  a -->|") and line.endswith(" d") for line in lines)


def test_mermaid_labels_switch_cases_by_number_and_predicate_and_the_default() -> None:
    text = switch_workflow().to_mermaid()

    edges = [line for line in text.splitlines() if "-->" in line]
    assert edges == [
        '  a -->|"case 1: is_big"| b',
        '  a -->|"case 2: condition"| c',
        '  a -->|"case 3: is_even"| b',
        '  a -->|"default"| d',
    ]


def test_mermaid_labels_fan_out_edges_with_the_selection_name() -> None:
    lines = fan_workflow().to_mermaid().splitlines()

    assert '  a -->|"fan-out: pick_first"| b' in lines
    assert '  a -->|"fan-out: pick_first"| c' in lines


def test_mermaid_labels_fan_out_edges_without_a_selection_as_fan_out() -> None:
    a = IntRelay("a")
    workflow = WorkflowBuilder(a).add_fan_out_edges(a, [IntSink("b"), IntSink("c")]).build()

    edges = [line for line in workflow.to_mermaid().splitlines() if "-->" in line]

    assert edges == ['  a -->|"fan-out"| b', '  a -->|"fan-out"| c']


def test_mermaid_draws_a_fan_in_through_a_join_node() -> None:
    lines = fan_workflow().to_mermaid().splitlines()

    join_at = lines.index("  join_1((join))")
    assert lines[join_at:] == [
        "  join_1((join))",
        "  b -->|fan-in| join_1",
        "  c -->|fan-in| join_1",
        "  join_1 --> d",
    ]
    assert "  b --> d" not in lines
    assert not any(line.endswith("| d") for line in lines)


def test_mermaid_draws_a_sub_workflow_as_a_subgraph_holding_its_executors() -> None:
    assert sub_workflow().to_mermaid() == (
        "flowchart TD\n"
        '  in["in (start)<br/>IntRelay"]\n'
        '  subgraph sub ["sub: sub-workflow"]\n'
        '    sub_x["x (start)<br/>IntRelay"]\n'
        '    sub_y["y<br/>IntSink"]\n'
        "    sub_x --> sub_y\n"
        "  end\n"
        '  out["out<br/>IntSink"]\n'
        "  in --> sub\n"
        "  sub --> out\n"
    )


def test_mermaid_nests_a_sub_workflow_inside_a_sub_workflow() -> None:
    lines = nested_workflow().to_mermaid().splitlines()

    assert lines[:12] == [
        "flowchart TD",
        '  subgraph sub ["sub: sub-workflow (start)"]',
        '    sub_x["x (start)<br/>IntRelay"]',
        '    subgraph sub_deep ["deep: sub-workflow"]',
        '      sub_deep_x["x (start)<br/>IntRelay"]',
        '      sub_deep_y["y<br/>IntSink"]',
        "      sub_deep_x --> sub_deep_y",
        "    end",
        '    sub_z["z<br/>IntSink"]',
        "    sub_x --> sub_deep",
        "    sub_deep --> sub_z",
        "  end",
    ]
    assert '  sub -->|"fan-out"| o1' in lines
    assert sum(line.strip().startswith("subgraph ") for line in lines) == sum(
        line.strip() == "end" for line in lines
    )


def test_mermaid_makes_node_ids_safe_and_escapes_quotes_in_labels() -> None:
    start = IntRelay('say "hi"')
    workflow = WorkflowBuilder(start).add_edge(start, IntSink("load-data")).build()

    lines = workflow.to_mermaid().splitlines()

    assert lines[1:] == [
        '  say__hi_["say #quot;hi#quot; (start)<br/>IntRelay"]',
        '  load_data["load-data<br/>IntSink"]',
        "  say__hi_ --> load_data",
    ]


def test_mermaid_gives_distinct_executors_distinct_node_ids() -> None:
    start = IntRelay("a")
    workflow = (
        WorkflowBuilder(start)
        .add_fan_out_edges(start, [IntSink("step-1"), IntSink("step_1")])
        .build()
    )

    lines = workflow.to_mermaid().splitlines()

    node_ids = [line.split("[", 1)[0].strip() for line in lines[1:] if '["' in line]
    assert len(node_ids) == 3
    assert len(set(node_ids)) == 3, f"two executors share a Mermaid node: {node_ids}"


# --- DOT ---


def test_dot_is_a_digraph_named_after_the_workflow() -> None:
    lines = sub_workflow().to_dot().splitlines()

    assert lines[:3] == ['digraph "outer" {', "  compound=true;", "  node [shape=box];"]
    assert lines[-1] == "}"


def test_dot_method_and_function_agree() -> None:
    workflow = switch_workflow()

    assert workflow.to_dot() == to_dot(workflow)
    assert workflow.to_dot().endswith("}\n")


def test_dot_draws_one_node_per_executor_marking_the_start() -> None:
    lines = conditional_workflow().to_dot().splitlines()

    assert lines[3:7] == [
        '  "a" [label="a\\nIntRelay", peripheries=2];',
        '  "b" [label="b\\nIntSink"];',
        '  "c" [label="c\\nIntSink"];',
        '  "d" [label="d\\nIntSink"];',
    ]


def test_dot_labels_conditional_and_direct_edges() -> None:
    lines = conditional_workflow().to_dot().splitlines()

    assert [line for line in lines if "->" in line] == [
        '  "a" -> "b" [label="is_big"];',
        '  "a" -> "c" [label="condition"];',
        '  "a" -> "d";',
    ]


def test_dot_labels_switch_cases_and_the_default() -> None:
    lines = switch_workflow().to_dot().splitlines()

    assert [line for line in lines if "->" in line] == [
        '  "a" -> "b" [label="case 1: is_big"];',
        '  "a" -> "c" [label="case 2: condition"];',
        '  "a" -> "b" [label="case 3: is_even"];',
        '  "a" -> "d" [label="default"];',
    ]


def test_dot_draws_fan_out_with_its_selection_and_fan_in_through_a_join_node() -> None:
    lines = fan_workflow().to_dot().splitlines()

    assert lines[7:-1] == [
        '  "a" -> "b" [label="fan-out: pick_first"];',
        '  "a" -> "c" [label="fan-out: pick_first"];',
        '  "join_1" [shape=circle, label=join];',
        '  "b" -> "join_1" [label="fan-in"];',
        '  "c" -> "join_1" [label="fan-in"];',
        '  "join_1" -> "d";',
    ]


def test_dot_draws_a_sub_workflow_as_a_cluster_holding_its_executors() -> None:
    assert sub_workflow().to_dot() == (
        'digraph "outer" {\n'
        "  compound=true;\n"
        "  node [shape=box];\n"
        '  "in" [label="in\\nIntRelay", peripheries=2];\n'
        '  subgraph "cluster_sub" {\n'
        '    label="sub: sub-workflow";\n'
        '    "sub/x" [label="x\\nIntRelay", peripheries=2];\n'
        '    "sub/y" [label="y\\nIntSink"];\n'
        '    "sub/x" -> "sub/y";\n'
        "  }\n"
        '  "out" [label="out\\nIntSink"];\n'
        '  "in" -> "sub/x" [lhead="cluster_sub"];\n'
        '  "sub/x" -> "out" [ltail="cluster_sub"];\n'
        "}\n"
    )


def test_dot_clips_edges_into_and_out_of_nested_clusters() -> None:
    lines = nested_workflow().to_dot().splitlines()

    assert '    subgraph "cluster_sub/deep" {' in lines
    assert '    "sub/x" -> "sub/deep/x" [lhead="cluster_sub/deep"];' in lines
    assert '    "sub/deep/x" -> "sub/z" [ltail="cluster_sub/deep"];' in lines
    assert '  "sub/x" -> "o1" [ltail="cluster_sub", label="fan-out"];' in lines


def test_dot_output_parses_for_every_edge_kind() -> None:
    for workflow in (
        conditional_workflow(),
        switch_workflow(),
        fan_workflow(),
        sub_workflow(),
        nested_workflow(),
    ):
        dot = DotReader(workflow.to_dot())

        assert dot.name == workflow.name
        leaf_ids = {i for i, e in workflow.executors.items() if not isinstance(e, WorkflowExecutor)}
        assert leaf_ids <= set(dot.nodes)
        for tail, head, _ in dot.edges:
            assert tail in dot.nodes, tail
            assert head in dot.nodes, head


def test_dot_parsed_edges_carry_the_labels() -> None:
    dot = DotReader(fan_workflow().to_dot())

    assert [(tail, head, attrs.get("label", "")) for tail, head, attrs in dot.edges] == [
        ("a", "b", "fan-out: pick_first"),
        ("a", "c", "fan-out: pick_first"),
        ("b", "join_1", "fan-in"),
        ("c", "join_1", "fan-in"),
        ("join_1", "d", ""),
    ]
    assert dot.nodes["join_1"] == {"shape": "circle", "label": "join"}


def test_dot_parsed_sub_workflow_lives_in_a_cluster() -> None:
    dot = DotReader(nested_workflow().to_dot())

    assert dot.clusters == ["cluster_sub", "cluster_sub/deep"]
    assert {"sub/x", "sub/deep/x", "sub/deep/y", "sub/z", "o1", "o2"} == set(dot.nodes)


def test_dot_escapes_quotes_in_the_workflow_name_and_executor_ids() -> None:
    start = IntRelay('say "hi"')
    workflow = WorkflowBuilder(start, name='my "flow"').add_edge(start, IntSink("b")).build()

    text = workflow.to_dot()

    assert text.splitlines()[0] == 'digraph "my \\"flow\\"" {'
    assert '  "say \\"hi\\"" [label="say \\"hi\\"\\nIntRelay", peripheries=2];' in text.splitlines()
    dot = DotReader(text)
    assert dot.name == 'my "flow"'
    assert dot.nodes['say "hi"']["label"] == 'say "hi"\\nIntRelay'


# --- networkx ---


def test_networkx_is_a_multidigraph_with_one_node_per_executor() -> None:
    graph = fan_workflow().to_networkx()

    assert isinstance(graph, nx.MultiDiGraph)
    assert dict(graph.nodes.items()) == {
        "a": {"executor_type": "IntRelay"},
        "b": {"executor_type": "IntRelay"},
        "c": {"executor_type": "IntRelay"},
        "d": {"executor_type": "IntListSink"},
    }


def _edges(graph: nx.MultiDiGraph[str]) -> list[tuple[str, str, dict[str, Any]]]:
    return sorted(
        ((u, v, data) for u, v, data in graph.edges(data=True)),
        key=lambda edge: (edge[2]["group"], edge[0], edge[1], edge[2]["label"]),
    )


def test_networkx_edges_carry_kind_label_and_group() -> None:
    assert _edges(conditional_workflow().to_networkx()) == [
        ("a", "b", {"group": 0, "kind": "conditional", "label": "is_big"}),
        ("a", "c", {"group": 1, "kind": "conditional", "label": "condition"}),
        ("a", "d", {"group": 2, "kind": "direct", "label": ""}),
    ]


def test_networkx_marks_fan_out_and_fan_in_edges() -> None:
    assert _edges(fan_workflow().to_networkx()) == [
        ("a", "b", {"group": 0, "kind": "fan_out", "label": "pick_first"}),
        ("a", "c", {"group": 0, "kind": "fan_out", "label": "pick_first"}),
        ("b", "d", {"group": 1, "kind": "fan_in", "label": ""}),
        ("c", "d", {"group": 1, "kind": "fan_in", "label": ""}),
    ]


def test_networkx_keeps_every_switch_case_even_when_targets_repeat() -> None:
    assert _edges(switch_workflow().to_networkx()) == [
        ("a", "b", {"group": 0, "kind": "switch_case", "label": "case 1: is_big"}),
        ("a", "b", {"group": 0, "kind": "switch_case", "label": "case 3: is_even"}),
        ("a", "c", {"group": 0, "kind": "switch_case", "label": "case 2: condition"}),
        ("a", "d", {"group": 0, "kind": "switch_default", "label": "default"}),
    ]


def test_networkx_keeps_a_switch_case_and_a_default_to_the_same_target() -> None:
    a, b = IntRelay("a"), IntSink("b")
    workflow = (
        WorkflowBuilder(a)
        .add_switch_case_edge_group(a, [Case(is_big, b), Case(is_even, IntSink("c")), Default(b)])
        .build()
    )

    edges = [(u, v, data["label"]) for u, v, data in workflow.to_networkx().edges(data=True)]

    assert sorted(edges) == [
        ("a", "b", "case 1: is_big"),
        ("a", "b", "default"),
        ("a", "c", "case 2: is_even"),
    ]


def test_networkx_shows_a_sub_workflow_as_one_node() -> None:
    graph = sub_workflow().to_networkx()

    assert dict(graph.nodes.items()) == {
        "in": {"executor_type": "IntRelay"},
        "sub": {"executor_type": "WorkflowExecutor"},
        "out": {"executor_type": "IntSink"},
    }
    assert [(u, v) for u, v in graph.edges()] == [("in", "sub"), ("sub", "out")]


def test_networkx_returns_a_fresh_graph_each_call() -> None:
    workflow = conditional_workflow()
    graph = workflow.to_networkx()

    graph.remove_node("a")

    assert set(workflow.to_networkx().nodes) == {"a", "b", "c", "d"}


def test_dot_join_node_never_merges_with_an_executor_named_like_it() -> None:
    a, b, c = IntRelay("a"), IntRelay("b"), IntRelay("join_1")  # the fan-in is edge group 1
    sink = IntListSink("sink")
    workflow = (
        WorkflowBuilder(a).add_fan_out_edges(a, [b, c]).add_fan_in_edges([b, c], sink).build()
    )
    dot = DotReader(workflow.to_dot())
    assert {"a", "b", "join_1", "sink", "join_1_2"} == set(dot.nodes)


def test_mermaid_node_ids_avoid_reserved_words() -> None:
    start = IntRelay("end")
    workflow = WorkflowBuilder(start).add_edge(start, IntSink("b")).build()
    lines = workflow.to_mermaid().splitlines()
    assert '  end_["end (start)<br/>IntRelay"]' in lines
    assert "  end_ --> b" in lines
