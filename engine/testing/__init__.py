"""Property-testing toolkit for termination: strategies, `assert_terminates`, the route explorer.

```python
@given(graph=workflow_graphs(), decisions=choices())
def test_every_graph_terminates(graph, decisions):
    assert_terminates(graph, Token(), choices=decisions)
```

It needs hypothesis (``pip install 'baton[testing]'``, included in the dev extra).
"""

from __future__ import annotations

try:
    import hypothesis  # noqa: F401
except ImportError as missing:  # pragma: no cover - the dev and testing extras install it
    raise ImportError(
        "engine.testing needs hypothesis; install it with `pip install 'baton[testing]'`."
    ) from missing

from engine.testing.choices import Choice, Choices, with_choices
from engine.testing.explore import RouteExploration, RouteOutcome, explore_routes
from engine.testing.graphs import Token
from engine.testing.strategies import choices, workflow_graphs
from engine.testing.termination import Responder, Trace, assert_terminates, trace

__all__ = [
    "Choice",
    "Choices",
    "Responder",
    "RouteExploration",
    "RouteOutcome",
    "Token",
    "Trace",
    "assert_terminates",
    "choices",
    "explore_routes",
    "trace",
    "with_choices",
    "workflow_graphs",
]
