"""The benchmark harness runs and every workload computes its expected result (timings are not asserted)."""

from __future__ import annotations

import subprocess
import sys


def test_benchmark_harness_runs_every_workload_once() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--rounds", "1", "--markdown"],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr
    rows = [
        line for line in done.stdout.splitlines() if line.startswith("| ") and "---" not in line
    ]
    names = [row.split("|")[1].strip() for row in rows[1:]]
    assert names == [
        "chain_1000",
        "chain_100",
        "fan_1000",
        "fan_100",
        "loop_5000",
        "concurrent_500x5",
        "build_chain_1000",
    ]
