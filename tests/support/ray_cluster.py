"""A real local Ray cluster for the tests: `ray start` nodes on 127.0.0.1, stopped by process id.

Each node is its own blocking `ray start` with its own temp dir and loopback address, in a new session;
SIGTERM to it stops the node, and any process left over (workers sit in process groups of their own)
is found through a tag in its environment. Nothing here runs `ray stop`, which would kill every Ray
process on the host.

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
HEAD_IP = "127.0.0.2"
"""Where the head node listens. Ray rewrites 127.0.0.1 (and `localhost`) to the machine's outward
address, which these tests must not use; other loopback addresses it keeps as they are. Further
nodes take 127.0.0.3, 127.0.0.4, ..."""


def _free_port(ip: str) -> int:
    with socket.socket() as probe:
        probe.bind((ip, 0))
        return int(probe.getsockname()[1])


def _alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie does not)."""
    try:
        data = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return data[data.rindex(")") + 2 :].split()[0] != "Z"


class RayNode:
    """One blocking `ray start` node: the head, or a node joining the head at `head`."""

    def __init__(
        self, name: str, ip: str, temp_dir: Path, port: int, *, head: str | None, num_cpus: int
    ) -> None:
        self.name, self.ip = name, ip
        self.tag = f"baton-test-{name}-{os.getpid()}-{time.time_ns()}"
        command = [
            str(RAY_BIN),
            "start",
            "--block",
            f"--node-ip-address={ip}",
            f"--num-cpus={num_cpus}",
            f"--temp-dir={temp_dir}",
            "--object-store-memory=80000000",
            "--disable-usage-stats",
            f"--resources={json.dumps({f'node_{name}': 100})}",
        ]
        if head is None:
            command += ["--head", f"--port={port}", "--include-dashboard=false"]
        else:
            command += [f"--address={head}"]
        env = {**os.environ, **RAY_ENV, "RAY_NODE_TAG": self.tag, "PYTHONPATH": str(ROOT)}
        self.process = subprocess.Popen(
            command,
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        raylet = temp_dir / "session_latest" / "logs" / "raylet.out"
        deadline = time.monotonic() + 120
        while not (raylet.exists() and "Raylet of id" in raylet.read_text(errors="replace")):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"`ray start` for node {name} did not come up: {command}")
            time.sleep(0.1)
        self.raylet_pid = _pid_from_log(raylet)
        self.node_id = _node_id(raylet)

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
        """SIGTERM the blocking `ray start` (it stops its node), then end what is left; return that."""
        with contextlib.suppress(ProcessLookupError):
            self.process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=timeout / 2)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in self.pids():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            deadline = time.monotonic() + timeout / 4
            while self.pids() and time.monotonic() < deadline:
                time.sleep(0.1)
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
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
        self.port = _free_port(HEAD_IP)
        self.address = f"{HEAD_IP}:{self.port}"
        self._count, self._num_cpus = nodes, num_cpus
        self.nodes: list[RayNode] = []

    def __enter__(self) -> RayCluster:
        try:
            for index in range(self._count):
                name = "abcdefgh"[index]
                self.nodes.append(
                    RayNode(
                        name,
                        f"127.0.0.{2 + index}",
                        self._base / name,
                        self.port,
                        head=None if index == 0 else self.address,
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
        ray.init(address=self.address, _node_ip_address=HEAD_IP, log_to_driver=False)

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
