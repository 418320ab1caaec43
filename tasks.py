#!/usr/bin/env python3
"""The project's commands, needing nothing but Python 3.11+ and pip: `demo`, `test`, `bench`.

Each creates `.venv` when missing and (re)installs the project with its dev extra whenever
`pyproject.toml` changed since the last install, then runs inside that environment.

    python3 tasks.py demo    # the offline demo workflow
    python3 tasks.py test    # ruff, ruff format --check, mypy --strict, then the whole pytest suite
    python3 tasks.py bench   # the benchmark table (pass --markdown for README form)
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".baton-installed"
CODE = ["engine", "executors", "orchestrations", "cli", "tests", "benchmarks"]


def ensure_environment() -> None:
    """Create `.venv` and install `.[dev]` unless the install stamp matches pyproject.toml."""
    if sys.version_info < (3, 11):  # noqa: UP036 - users may run an older python3 here
        sys.exit(f"Baton needs Python 3.11 or newer; this is {sys.version.split()[0]}.")
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if PYTHON.exists() and STAMP.exists() and STAMP.read_text() == digest:
        return
    if not PYTHON.exists():
        print("creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("installing baton[dev] into .venv ...", flush=True)
    quiet = ["--quiet", "--disable-pip-version-check"]
    run([str(PYTHON), "-m", "pip", "install", *quiet, "--upgrade", "pip"])
    run([str(PYTHON), "-m", "pip", "install", *quiet, "-e", ".[dev]"])
    STAMP.write_text(digest)


def run(command: list[str]) -> None:
    """Run `command` in the project root; exit with its status if it fails."""
    status = subprocess.call(command, cwd=ROOT)
    if status != 0:
        sys.exit(status)


def main(argv: list[str]) -> None:
    """Dispatch `demo`, `test` or `bench` (extra arguments go to the underlying tool)."""
    task, rest = (argv[0], argv[1:]) if argv else ("", [])
    if task not in ("demo", "test", "bench"):
        sys.exit(__doc__)
    ensure_environment()
    if task == "demo":
        run([str(BIN / "baton"), "demo", *rest])
    elif task == "test":
        run([str(BIN / "ruff"), "check", *CODE])
        run([str(BIN / "ruff"), "format", "--check", *CODE])
        run([str(BIN / "mypy"), "--strict"])
        run([str(PYTHON), "-m", "pytest", *rest])  # exit code 5 (no tests) fails like any other
    else:
        run([str(PYTHON), "-m", "benchmarks", *rest])


if __name__ == "__main__":
    main(sys.argv[1:])
