"""`RayBackend`: each superstep's executor invocations run as Ray tasks, awaited from the event loop.

The coordinator keeps the superstep loop, routing, commits and checkpoints; only handler work moves.
Each executor (configuration) and the run's type registry go to the object store once; an invocation
and its result travel as JSON text through the checkpoint serializer (`engine.backends.execute`), so
state always travels with the invocation and never lives in an actor, and nothing is unpickled from a
result. A task lost with its worker or node is retried by Ray (`max_retries`); a handler that raises is
not retried, it fails the superstep as it would in the event loop. Executors must be importable on the
workers: an installed package, or a ``runtime_env`` (``working_dir``, ``py_modules`` or a
``PYTHONPATH`` in ``env_vars``) that puts their module there.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import ray
import ray.exceptions

from engine.backends.base import Invocation, InvocationResult, RemoteFailure
from engine.backends.execute import execute_invocation, from_wire, to_wire
from engine.events import ExecutorFailedEvent
from engine.executor import Executor
from engine.serialization import TypeRegistry

__all__ = ["RayBackend"]

_LOOP: asyncio.AbstractEventLoop | None = None
"""The worker process's event loop, kept across tasks so clients bound to a loop stay usable."""


def _run_on_worker(executor: Executor, registry: TypeRegistry, wire: str) -> str:
    """The Ray task: decode the invocation, run it on this worker's copy of the executor, encode."""
    global _LOOP
    if _LOOP is None or _LOOP.is_closed():
        _LOOP = asyncio.new_event_loop()
    invocation: Invocation = from_wire(registry, wire, "an invocation sent to a Ray worker")
    result = _LOOP.run_until_complete(execute_invocation(executor, invocation))
    return to_wire(registry, result)


_remote_task: Any = None


def _task() -> Any:
    global _remote_task
    if _remote_task is None:
        _remote_task = ray.remote(_run_on_worker)
    return _remote_task


class RayBackend:
    """Run executors as Ray tasks on a Ray cluster.

    `address` is a cluster to join (``"127.0.0.1:6379"``, ``"auto"``); `None` joins the cluster this
    process is already connected to, or starts a local one with ``ray.init()``. `max_retries` is how
    often Ray re-runs a task whose worker or node died; `scheduling_strategy` (e.g. ``"SPREAD"``),
    `num_cpus` and `runtime_env` are Ray's task options; `init_options` go to ``ray.init``.
    """

    __slots__ = (
        "_refs",
        "address",
        "init_options",
        "max_retries",
        "num_cpus",
        "runtime_env",
        "scheduling_strategy",
    )

    def __init__(
        self,
        address: str | None = None,
        *,
        max_retries: int = 3,
        scheduling_strategy: str | None = None,
        num_cpus: float = 1,
        runtime_env: Mapping[str, Any] | None = None,
        init_options: Mapping[str, Any] | None = None,
    ) -> None:
        if not isinstance(max_retries, int) or isinstance(max_retries, bool) or max_retries < 0:
            raise ValueError(f"max_retries must be a whole number >= 0, got {max_retries!r}")
        if num_cpus < 0:
            raise ValueError(f"num_cpus must be >= 0, got {num_cpus!r}")
        self.address = address
        self.max_retries = max_retries
        self.scheduling_strategy = scheduling_strategy
        self.num_cpus = num_cpus
        self.runtime_env = dict(runtime_env) if runtime_env else None
        self.init_options = dict(init_options) if init_options else {}
        self._refs: dict[int, tuple[object, Any]] = {}

    def connect(self) -> None:
        """Join (or start) the Ray cluster unless this process is connected already.

        A Ray this backend starts itself (no `address`) serves this machine only, so it listens on
        a loopback address and starts no dashboard; `init_options` override both.
        """
        if ray.is_initialized():
            return
        options: dict[str, Any] = {"log_to_driver": False}
        if self.address is None:
            options["include_dashboard"] = False
            if sys.platform == "linux":  # Ray turns 127.0.0.1 into the outward address; .2 it keeps
                options["_node_ip_address"] = "127.0.0.2"
        options.update(self.init_options)
        if self.runtime_env is not None:
            options.setdefault("runtime_env", self.runtime_env)
        ray.init(address=self.address, **options)

    def bind(self, executors: Mapping[str, Executor], registry: TypeRegistry) -> _RayDispatcher:
        """Connect, then return a dispatcher for one run over `executors`."""
        self.connect()
        return _RayDispatcher(self, executors, registry)

    def _put(self, value: object) -> Any:
        """`value` in the object store, put once for as long as this backend lives."""
        found = self._refs.get(id(value))
        if found is None or found[0] is not value:
            found = self._refs[id(value)] = (value, ray.put(value))
        return found[1]

    def _options(self) -> dict[str, Any]:
        options: dict[str, Any] = {
            "max_retries": self.max_retries,
            "retry_exceptions": False,
            "num_cpus": self.num_cpus,
        }
        if self.scheduling_strategy is not None:
            options["scheduling_strategy"] = self.scheduling_strategy
        if self.runtime_env is not None:
            options["runtime_env"] = self.runtime_env
        return options

    def __repr__(self) -> str:
        return f"RayBackend(address={self.address!r}, max_retries={self.max_retries})"


class _RayDispatcher:
    """One run's dispatcher: submits a superstep's invocations as tasks and awaits them all."""

    __slots__ = ("_backend", "_executors", "_registry")

    def __init__(
        self, backend: RayBackend, executors: Mapping[str, Executor], registry: TypeRegistry
    ) -> None:
        self._backend = backend
        self._executors = executors
        self._registry = registry

    async def run_batch(self, invocations: Sequence[Invocation]) -> list[InvocationResult]:
        task = _task().options(**self._backend._options())
        registry_ref = self._backend._put(self._registry)
        refs = [
            task.remote(
                self._backend._put(self._executors[i.executor_id]),
                registry_ref,
                to_wire(self._registry, i),
            )
            for i in invocations
        ]
        pairs = zip(invocations, refs, strict=True)
        return list(await asyncio.gather(*(self._result(i, ref) for i, ref in pairs)))

    async def _result(self, invocation: Invocation, ref: Any) -> InvocationResult:
        eid = invocation.executor_id
        try:
            wire: str = await ref
        except ray.exceptions.RayTaskError as error:  # our task raised: the work itself is broken
            return _lost(invocation, error, _task_error_message(invocation, error))
        except ray.exceptions.RayError as error:  # worker or node lost beyond the retries
            message = (
                f"executor `{eid}` could not run in superstep {invocation.superstep}: its Ray task "
                f"was lost ({type(error).__name__}) after {self._backend.max_retries} retries. "
                "Resume the run from its last checkpoint once the cluster is healthy."
            )
            return _lost(invocation, error, message)
        result: InvocationResult = from_wire(self._registry, wire, f"the result of `{eid}`")
        return result


def _task_error_message(invocation: Invocation, error: BaseException) -> str:
    eid, step = invocation.executor_id, invocation.superstep
    text = str(error)
    if "ModuleNotFoundError" in text or "ImportError" in text:
        return (
            f"executor `{eid}` could not be loaded on a Ray worker in superstep {step}: "
            f"{_last_line(text)}. Executors must be importable on the workers: install your package "
            "there, or give RayBackend a runtime_env (`working_dir`, `py_modules`, or a "
            "`PYTHONPATH` in `env_vars`)."
        )
    return f"executor `{eid}` failed on a Ray worker in superstep {step}: {_last_line(text)}"


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else text


def _lost(invocation: Invocation, error: BaseException, message: str) -> InvocationResult:
    eid = invocation.executor_id
    kind = type(error).__name__
    event = ExecutorFailedEvent(eid, invocation.superstep, kind, message)
    failure = RemoteFailure(message, kind, _last_line(str(error)), str(error))
    return InvocationResult(eid, None, (event,), failure)
