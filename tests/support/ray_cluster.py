"""A real local Ray cluster for the tests: `ray start` nodes on 127.0.0.1, stopped by process id.

Each node is its own `ray start` with its own temp dir, started in a new session so its daemons share
one process group; workers (children of the raylet, in groups of their own) are found through a tag in
their environment. Nothing here runs `ray stop`, which would kill every Ray process on the host.

Every process (nodes, workers, this driver) gets the same `RAY_ENV`: token authentication off (Ray 2.60
turns it on by default, and the parts must agree), no usage stats, and a fast health check so a killed
node is declared dead within about a second instead of half a minute.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
RAY_BIN = Path(sys.executable).parent / "ray"
RAY_ENV = {
    "RAY_AUTH_MODE": "disabled",
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_health_check_initial_delay_ms": "0",
    "RAY_health_check_period_ms": "500",
    "RAY_health_check_timeout_ms": "500",
    "RAY_health_check_failure_threshold": "2",
}
"""The environment every Ray process of the tests shares (set in this process by tests/conftest.py)."""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie does not)."""
    try:
        data = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return data[data.rindex(")") + 2 :].split()[0] != "Z"


class RayNode:
    """One `ray start` node: the head, or a node joining the head at `port`."""

    def __init__(
        self, name: str, temp_dir: Path, port: int, *, head: bool, num_cpus: int = 2
    ) -> None:
        self.name = name
        self.tag = f"baton-test-{name}-{os.getpid()}-{time.time_ns()}"
        command = [
            str(RAY_BIN),
            "start",
            "--node-ip-address=127.0.0.1",
            f"--num-cpus={num_cpus}",
            f"--temp-dir={temp_dir}",
            "--object-store-memory=80000000",
            "--disable-usage-stats",
            f"--resources={json.dumps({f'node_{name}': 100})}",
        ]
        if head:
            command += ["--head", f"--port={port}", "--include-dashboard=false"]
        else:
            command += [f"--address=127.0.0.1:{port}"]
        env = {**os.environ, **RAY_ENV, "RAY_NODE_TAG": self.tag, "PYTHONPATH": str(ROOT)}
        started = subprocess.run(
            command,
            env=env,
            start_new_session=True,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        if started.returncode != 0:
            self.stop()
            raise RuntimeError(
                f"`ray start` for node {name} failed:\n{started.stdout}{started.stderr}"
            )
        logs = temp_dir / "session_latest" / "logs"
        self.raylet_pid = _pid_from_log(logs / "raylet.out")
        self.node_id = _node_id(logs / "raylet.out")

    def pids(self) -> set[int]:
        """Every live process of this node: its daemons and workers carry the node's tag."""
        needle = f"RAY_NODE_TAG={self.tag}".encode()
        found: set[int] = set()
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or not _alive(int(entry)):
                continue
            try:
                environ = Path(f"/proc/{entry}/environ").read_bytes()
            except OSError:
                continue
            if needle in environ.split(b"\0"):
                found.add(int(entry))
        return found

    def kill_raylet(self) -> None:
        """SIGKILL this node's raylet, as a crashed machine would lose it."""
        os.kill(self.raylet_pid, signal.SIGKILL)

    def stop(self, timeout: float = 10.0) -> set[int]:
        """SIGTERM every process of the node (SIGKILL after `timeout`); return what is left."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in self.pids():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            deadline = time.monotonic() + timeout
            while self.pids() and time.monotonic() < deadline:
                time.sleep(0.1)
            if not self.pids():
                break
        return self.pids()


def _pid_from_log(path: Path) -> int:
    match = re.match(r"\[\S+ \S+ \w (\d+) \d+\]", path.read_text().splitlines()[0])
    if match is None:
        raise RuntimeError(f"no process id at the top of {path}")
    return int(match.group(1))


def _node_id(path: Path) -> str:
    match = re.search(r"Setting node ID node_id=(\w+)", path.read_text())
    if match is None:
        raise RuntimeError(f"no node id in {path}")
    return match.group(1)


class RayCluster:
    """A head node plus `nodes - 1` more on this machine, and this process connected as a driver."""

    def __init__(self, nodes: int = 1, num_cpus: int = 2) -> None:
        self._base = Path(tempfile.mkdtemp(prefix="baton-ray-"))
        self.port = _free_port()
        self.address = f"127.0.0.1:{self.port}"
        self._count, self._num_cpus = nodes, num_cpus
        self.nodes: list[RayNode] = []

    def __enter__(self) -> RayCluster:
        try:
            for index in range(self._count):
                name = "abcdefgh"[index]
                self.nodes.append(
                    RayNode(
                        name,
                        self._base / name,
                        self.port,
                        head=index == 0,
                        num_cpus=self._num_cpus,
                    )
                )
            self.connect()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def connect(self) -> None:
        """Connect this process to the cluster (leaving any other cluster first)."""
        import ray

        if ray.is_initialized():
            ray.shutdown()
        ray.init(address=self.address, _node_ip_address="127.0.0.1", log_to_driver=False)

    def backend(self, **options: Any) -> Any:
        """A `RayBackend` on this cluster (connecting again if another cluster took over)."""
        import ray

        from engine.backends import RayBackend

        if not ray.is_initialized() or ray.get_runtime_context().gcs_address != self.address:
            self.connect()
        return RayBackend(self.address, **options)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        import ray

        if ray.is_initialized():
            ray.shutdown()
        leftovers = {node.name: node.stop() for node in reversed(self.nodes)}
        shutil.rmtree(self._base, ignore_errors=True)
        stuck = {name: pids for name, pids in leftovers.items() if pids}
        if stuck and exc is None:
            raise RuntimeError(f"Ray processes survived the cluster's stop: {stuck}")
