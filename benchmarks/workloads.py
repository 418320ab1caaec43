"""The benchmark workloads, each as an engine version and a floor version, and their registry.

Every workload is set up once (workflows and floor graphs built outside the timed region, except for the
build workload, whose whole point is the build) and yields one awaitable per variant. Each variant
returns a value the harness compares with the workload's `expected` value after timing, so a variant
that computes the wrong thing fails loudly instead of looking fast.

The handoff workload runs a ring of agents on a deterministic model client (see `benchmarks.handoff`);
its floor runs the same agents in a plain loop, and its cost is reported per agent turn.

The durable workloads run the chain with a checkpoint store (a fresh one per run) and add a
`PLAIN_ENGINE` variant, the same workflow without a store, so their checkpoint cost is measured
against the engine itself in the same interleaved rounds.
"""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import tempfile
import weakref
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager, closing, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import floor, handoff
from engine import (
    Case,
    CheckpointStore,
    Default,
    Executor,
    InMemoryCheckpointStore,
    SqliteCheckpointStore,
    Workflow,
    WorkflowBuilder,
    WorkflowContext,
    handler,
)
from engine.backends import Backend, LocalBackend

__all__ = [
    "ENGINE",
    "FLOOR",
    "LEAN_FLOOR",
    "PLAIN_ENGINE",
    "WORKLOADS",
    "SqliteFiles",
    "StoreFactory",
    "Thunk",
    "Workload",
    "memory_store",
]

ENGINE, FLOOR, LEAN_FLOOR = "engine", "floor", "lean floor"
PLAIN_ENGINE = "plain engine"
"""The engine without a checkpoint store, measured beside the durable workloads' engine variant."""

Thunk = Callable[[], Awaitable[Any]]
"""One timed call: runs the workload once on one variant and returns its checkable result."""


@dataclass(frozen=True, slots=True)
class Workload:
    """A named workload: how to set it up and what every variant must compute."""

    name: str
    description: str
    setup: Callable[[], dict[str, Thunk]]
    """Builds everything untimed; returns the timed call of each variant (`ENGINE`, `FLOOR`, ...)."""
    expected: Any
    budget_ratio: float | None = None
    """The DESIGN.md budget as engine median / floor median, when this workload has one."""
    budget_ms: float | None = None
    """An absolute budget for the engine median, for workloads without a floor."""
    supersteps: int | None = None
    """Supersteps per engine run, given for durable workloads (their cost is reported per superstep)."""
    budget_vs_plain: float | None = None
    """A durable workload's budget as engine median / `PLAIN_ENGINE` median."""
    budget_added_ms: float | None = None
    """A durable workload's budget for (engine median - `PLAIN_ENGINE` median) / `supersteps`, in ms."""
    turns: int | None = None
    """Agent turns (model calls) per run, given for agent workloads (their cost is reported per turn)."""
    backend: str | None = None
    """For a backend workload: the backend its engine variant runs on (`PLAIN_ENGINE`: the default)."""


# --- engine executors ------------------------------------------------------------------------------


class Step(Executor):
    """Adds one to the counter and passes it on."""

    @handler
    async def on_int(self, n: int, ctx: WorkflowContext[int]) -> None:
        await ctx.send_message(n + 1)


class Finish(Executor):
    """Adds one to the counter and yields it as the workflow output."""

    @handler
    async def on_int(self, n: int, ctx: WorkflowContext[None, int]) -> None:
        await ctx.yield_output(n + 1)


class Forward(Executor):
    """Passes the counter on unchanged."""

    @handler
    async def on_int(self, n: int, ctx: WorkflowContext[int]) -> None:
        await ctx.send_message(n)


class Report(Executor):
    """Yields the counter it receives as the workflow output."""

    @handler
    async def on_int(self, n: int, ctx: WorkflowContext[None, int]) -> None:
        await ctx.yield_output(n)


class Worker(Executor):
    """Adds its own index to the message (one of the fan-out's workers)."""

    def __init__(self, id: str, index: int) -> None:  # noqa: A002 - the engine's parameter name
        super().__init__(id)
        self.index = index

    @handler
    async def on_int(self, n: int, ctx: WorkflowContext[int]) -> None:
        await ctx.send_message(n + self.index)


class Burn(Executor):
    """Does `rounds` SHA-256 rounds of CPU work (holding the event loop), then sends its index."""

    def __init__(self, id: str, index: int, rounds: int) -> None:  # noqa: A002 - the engine's name
        super().__init__(id)
        self.index, self.rounds = index, rounds

    @handler
    async def on_int(self, n: int, ctx: WorkflowContext[int]) -> None:
        digest = str(n).encode()
        for _ in range(self.rounds):
            digest = hashlib.sha256(digest).digest()
        await ctx.send_message(n + self.index)


class Sum(Executor):
    """Yields the sum of the fan-in's list."""

    @handler
    async def on_list(self, values: list[int], ctx: WorkflowContext[None, int]) -> None:
        await ctx.yield_output(sum(values))


def _engine_thunk(workflow: Workflow, message: int, backend: Backend | None = None) -> Thunk:
    async def call() -> list[Any]:
        result = await workflow.run(message, backend=backend)
        return list(result.outputs)

    return call


StoreFactory = Callable[[], AbstractContextManager[CheckpointStore]]
"""Opens a fresh checkpoint store for one run; leaving the context closes it."""


def memory_store() -> AbstractContextManager[CheckpointStore]:
    """A fresh `InMemoryCheckpointStore` (nothing to close)."""
    return nullcontext(InMemoryCheckpointStore())


class SqliteFiles:
    """Fresh `SqliteCheckpointStore`s, one new file per call, in a temporary directory.

    The directory and its files are removed when this object is collected (at the latest at exit),
    so no timed run pays for deleting a file.
    """

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="baton-bench-"))
        self._count = 0
        weakref.finalize(self, shutil.rmtree, self.directory, ignore_errors=True)

    def __call__(self) -> AbstractContextManager[CheckpointStore]:
        self._count += 1
        return closing(SqliteCheckpointStore(self.directory / f"run{self._count}.sqlite3"))


def _checkpointed_thunk(workflow: Workflow, message: int, open_store: StoreFactory) -> Thunk:
    async def call() -> list[Any]:
        with open_store() as store:
            result = await workflow.run(message, checkpoint_store=store)
        return list(result.outputs)

    return call


def _chain_executors(length: int) -> list[Executor]:
    return [*(Step(f"n{i}") for i in range(length - 1)), Finish(f"n{length - 1}")]


def build_chain(length: int, *, max_supersteps: int = 1000) -> Workflow:
    """``n0 -> n1 -> ... -> n{length-1}``; each adds one, the last yields the count."""
    nodes = _chain_executors(length)
    return WorkflowBuilder(nodes[0], max_supersteps=max_supersteps).add_chain(nodes).build()


def build_fan(width: int, burn_rounds: int = 0) -> Workflow:
    """``start -> fan-out(w0..w{width-1}) -> fan-in -> sum``; worker i adds i.

    With `burn_rounds`, each worker first does that many SHA-256 rounds of CPU work.
    """
    start, sink = Forward("start"), Sum("sum")
    workers: list[Executor] = [
        Burn(f"w{i}", i, burn_rounds) if burn_rounds else Worker(f"w{i}", i) for i in range(width)
    ]
    return (
        WorkflowBuilder(start)
        .add_fan_out_edges(start, workers)
        .add_fan_in_edges(workers, sink)
        .build()
    )


def build_loop(round_trips: int) -> Workflow:
    """``ping -> pong``, and a switch from `pong`: back to `ping` until `round_trips`, else `done`."""
    ping, pong, done = Step("ping"), Forward("pong"), Report("done")

    def more(n: int) -> bool:
        return n < round_trips

    return (
        WorkflowBuilder(ping, max_supersteps=4 * round_trips)
        .add_edge(ping, pong)
        .add_switch_case_edge_group(pong, [Case(more, ping), Default(done)])
        .build()
    )


# --- floor nodes -----------------------------------------------------------------------------------


def _floor_step(target: str, add: int) -> floor.Node:
    async def node(n: int, outbox: floor.Outbox, outputs: list[Any]) -> None:
        outbox.append((target, n + add))

    return node


async def _floor_finish(n: int, outbox: floor.Outbox, outputs: list[Any]) -> None:
    outputs.append(n + 1)


async def _floor_report(n: int, outbox: floor.Outbox, outputs: list[Any]) -> None:
    outputs.append(n)


async def _floor_sum(values: list[int], outbox: floor.Outbox, outputs: list[Any]) -> None:
    outputs.append(sum(values))


def floor_chain(length: int) -> floor.FloorGraph:
    """The floor version of `build_chain`."""
    nodes = {f"n{i}": _floor_step(f"n{i + 1}", 1) for i in range(length - 1)}
    nodes[f"n{length - 1}"] = _floor_finish
    return floor.FloorGraph(nodes)


def floor_fan(width: int) -> floor.FloorGraph:
    """The floor version of `build_fan`: the fan-in is a join node collecting `width` messages."""
    worker_ids = [f"w{i}" for i in range(width)]

    async def start(n: int, outbox: floor.Outbox, outputs: list[Any]) -> None:
        outbox.extend((worker, n) for worker in worker_ids)

    nodes: dict[str, floor.Node] = {"start": start, "sum": _floor_sum}
    nodes.update({worker: _floor_step("sum", i) for i, worker in enumerate(worker_ids)})
    return floor.FloorGraph(nodes, joins={"sum": width})


def floor_loop(round_trips: int) -> floor.FloorGraph:
    """The floor version of `build_loop`."""

    async def pong(n: int, outbox: floor.Outbox, outputs: list[Any]) -> None:
        outbox.append(("ping" if n < round_trips else "done", n))

    return floor.FloorGraph({"ping": _floor_step("pong", 1), "pong": pong, "done": _floor_report})


def _floor_thunks(graph: floor.FloorGraph, start: str, message: int) -> dict[str, Thunk]:
    return {
        FLOOR: lambda: floor.run(graph, start, message),
        LEAN_FLOOR: lambda: floor.run_lean(graph, start, message),
    }


# --- workloads -------------------------------------------------------------------------------------


def _chain(length: int) -> Workload:
    def setup() -> dict[str, Thunk]:
        thunks = _floor_thunks(floor_chain(length), "n0", 0)
        thunks[ENGINE] = _engine_thunk(build_chain(length), 0)
        return thunks

    return Workload(
        f"chain_{length}",
        f"a chain of {length} nodes, each adding one",
        setup,
        expected=[length],
        budget_ratio=3.0 if length == 1000 else None,
    )


def _checkpointed_chain(length: int, store: str) -> Workload:
    def setup() -> dict[str, Thunk]:
        open_store: StoreFactory = memory_store if store == "memory" else SqliteFiles()
        workflow = build_chain(length)
        thunks = _floor_thunks(floor_chain(length), "n0", 0)
        thunks[PLAIN_ENGINE] = _engine_thunk(workflow, 0)
        thunks[ENGINE] = _checkpointed_thunk(workflow, 0, open_store)
        return thunks

    kind = (
        "InMemoryCheckpointStore()" if store == "memory" else "SqliteCheckpointStore(<temp file>)"
    )
    return Workload(
        f"chain_{length}_ckpt_{store}",
        f"chain_{length} with checkpoint_store={kind}, a fresh store per run, opened and "
        "closed inside the timed region; plain engine: the same workflow without a store",
        setup,
        expected=[length],
        supersteps=length,
        budget_vs_plain=2.0 if store == "memory" else None,
        budget_added_ms=1.0 if store == "sqlite" else None,
    )


def _fan(width: int) -> Workload:
    def setup() -> dict[str, Thunk]:
        thunks = _floor_thunks(floor_fan(width), "start", 1)
        thunks[ENGINE] = _engine_thunk(build_fan(width), 1)
        return thunks

    return Workload(
        f"fan_{width}",
        f"start -> fan-out to {width} workers -> fan-in -> sum",
        setup,
        expected=[width + width * (width - 1) // 2],
        budget_ratio=3.0 if width == 1000 else None,
    )


def _loop(round_trips: int) -> Workload:
    def setup() -> dict[str, Thunk]:
        thunks = _floor_thunks(floor_loop(round_trips), "ping", 0)
        thunks[ENGINE] = _engine_thunk(build_loop(round_trips), 0)
        return thunks

    return Workload(
        f"loop_{round_trips}",
        f"ping <-> pong for {round_trips} round trips, ended by a switch "
        f"(engine max_supersteps={4 * round_trips})",
        setup,
        expected=[round_trips],
        budget_ratio=3.0,
    )


def _concurrent(runs: int, length: int) -> Workload:
    def setup() -> dict[str, Thunk]:
        graph, workflow = floor_chain(length), build_chain(length)

        async def on_engine() -> list[Any]:
            results = await asyncio.gather(*(workflow.run(i) for i in range(runs)))
            return [list(result.outputs) for result in results]

        async def on_floor() -> list[Any]:
            return list(await asyncio.gather(*(floor.run(graph, "n0", i) for i in range(runs))))

        async def on_lean_floor() -> list[Any]:
            return list(
                await asyncio.gather(*(floor.run_lean(graph, "n0", i) for i in range(runs)))
            )

        return {ENGINE: on_engine, FLOOR: on_floor, LEAN_FLOOR: on_lean_floor}

    return Workload(
        f"concurrent_{runs}x{length}",
        f"{runs} concurrent runs of a {length}-node chain on one built workflow",
        setup,
        expected=[[i + length] for i in range(runs)],
        budget_ratio=3.0,
    )


def _build(length: int) -> Workload:
    def setup() -> dict[str, Thunk]:
        async def build() -> int:
            return len(build_chain(length).executors)

        return {ENGINE: build}

    return Workload(
        f"build_chain_{length}",
        f"create {length} executors and build them as a chain (both timed; no floor)",
        setup,
        expected=length,
        budget_ms=50.0,
    )


def _handoff(handoffs: int) -> Workload:
    def setup() -> dict[str, Thunk]:
        ring = handoff.Ring.of(handoffs)
        workflow = handoff.build_workflow(ring)

        async def on_engine() -> handoff.HandoffOutcome:
            return handoff.engine_outcome(await workflow.run(handoff.PROMPT))

        return {ENGINE: on_engine, FLOOR: lambda: handoff.run_floor(ring, handoff.PROMPT)}

    return Workload(
        f"handoff_{handoffs}",
        f"{handoffs} handoffs around a ring of three autonomous agents (a -> b -> c -> a) on a "
        "deterministic client, then an answer ends it by termination condition; floor: the same "
        "agents' `Agent.run` with the same handoff tools in a plain loop",
        setup,
        expected=handoff.expected_outcome(handoffs),
        turns=handoffs + 1,
    )


def _ray_backend() -> Backend:
    """A Ray started in this process on first use (a local cluster of this machine's cores)."""
    from engine.backends import RayBackend

    return RayBackend()


def _on_backend(
    name: str,
    backend: str,
    description: str,
    build: Callable[[], Workflow],
    make_backend: Callable[[], Backend],
    *,
    supersteps: int,
    expected: Any,
) -> Workload:
    def setup() -> dict[str, Thunk]:
        workflow = build()
        return {
            PLAIN_ENGINE: _engine_thunk(workflow, 0 if "chain" in name else 1),
            ENGINE: _engine_thunk(workflow, 0 if "chain" in name else 1, make_backend()),
        }

    return Workload(
        name, description, setup, expected=expected, supersteps=supersteps, backend=backend
    )


BURN_ROUNDS = 30_000
"""SHA-256 rounds per worker of `fan_8_cpu`: about 20 ms of CPU on this project's machine."""

WORKLOADS: tuple[Workload, ...] = (
    _chain(1000),
    _chain(100),
    _fan(1000),
    _fan(100),
    _loop(5000),
    _concurrent(500, 5),
    _build(1000),
    _checkpointed_chain(1000, "memory"),
    _checkpointed_chain(1000, "sqlite"),
    _handoff(200),
    _on_backend(
        "chain_100_validating",
        "LocalBackend(validate=True)",
        "chain_100 with every invocation and result round-tripped through the wire codec",
        lambda: build_chain(100),
        lambda: LocalBackend(validate=True),
        supersteps=100,
        expected=[100],
    ),
    _on_backend(
        "chain_100_ray",
        "RayBackend()",
        "chain_100 with each superstep's one invocation a Ray task on a local Ray",
        lambda: build_chain(100),
        _ray_backend,
        supersteps=100,
        expected=[100],
    ),
    _on_backend(
        "fan_8_cpu_ray",
        "RayBackend()",
        "start -> fan-out to 8 workers each doing ~20 ms of CPU work -> fan-in -> sum, on a "
        "local Ray (in the event loop the workers run one after another)",
        lambda: build_fan(8, BURN_ROUNDS),
        _ray_backend,
        supersteps=3,
        expected=[8 + 28],
    ),
)
"""Every workload, in table order."""
