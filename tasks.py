#!/usr/bin/env python3
"""The project's commands, needing nothing but Python 3.11+ and pip: `demo`, `test`, `bench`.

Each creates `.venv` when missing and (re)installs the project with its dev extra whenever
`pyproject.toml` changed since the last install, then runs inside that environment.
`test` also makes sure PostgreSQL is there for the store tests (installing it with apt-get when run
as root), or says why those tests will be skipped.

    python3 tasks.py demo    # the offline demo: `baton demo handoff --yes` (other arguments replace those)
    python3 tasks.py test    # ruff, ruff format --check, mypy --strict, then the whole pytest suite
    python3 tasks.py bench   # the benchmark table (pass --markdown for README form)
"""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
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
POSTGRES_INITDB = "/usr/lib/postgresql/*/bin/initdb"
"""Where Debian and Ubuntu keep the PostgreSQL server tools (off the PATH)."""


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


def ensure_postgres() -> None:
    """Make sure the store tests can start a PostgreSQL server, installing it when we can.

    Nothing to do when the server tools exist. Otherwise, as root with apt-get, install the
    `postgresql` package; when that is impossible or fails, say so and go on: the PostgreSQL tests
    then skip, giving the reason passed to them in `BATON_POSTGRES_UNAVAILABLE`.
    """
    if glob.glob(POSTGRES_INITDB) or shutil.which("initdb"):
        return
    reason = install_postgres()
    if reason:
        print(f"PostgreSQL tests will be skipped: {reason}", flush=True)
        os.environ["BATON_POSTGRES_UNAVAILABLE"] = reason


def install_postgres() -> str | None:
    """Install Debian's `postgresql` package with apt-get; return why not if it cannot be done."""
    apt = shutil.which("apt-get")
    if apt is None:
        return (
            "there is no apt-get to install it with; install PostgreSQL (initdb, pg_ctl) yourself"
        )
    if os.geteuid() != 0:
        return "installing it needs root; run `sudo apt-get install postgresql`"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = [apt, "install", "-y", "-q", "--no-install-recommends", "postgresql"]
    print("installing PostgreSQL for the store tests (apt-get install postgresql) ...", flush=True)
    if subprocess.call(install, env=env) != 0:
        # A fresh machine may have no (or stale) package lists: fetch them, then try once more.
        print("apt-get install failed; running apt-get update and trying again ...", flush=True)
        if subprocess.call([apt, "update", "-q"], env=env) != 0:
            return "`apt-get update` failed (see its output above)"
        if subprocess.call(install, env=env) != 0:
            return "`apt-get install postgresql` failed (see its output above)"
    if not glob.glob(POSTGRES_INITDB):
        return f"`apt-get install postgresql` succeeded but left no {POSTGRES_INITDB}"
    return None


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
    if task == "demo":  # unattended by default; `demo handoff` (no --yes) lets you play the customer
        run([str(BIN / "baton"), "demo", *(rest or ["handoff", "--yes"])])
    elif task == "test":
        run([str(BIN / "ruff"), "check", *CODE])
        run([str(BIN / "ruff"), "format", "--check", *CODE])
        run([str(BIN / "mypy"), "--strict"])
        ensure_postgres()
        run([str(PYTHON), "-m", "pytest", *rest])  # exit code 5 (no tests) fails like any other
    else:
        run([str(PYTHON), "-m", "benchmarks", *rest])


if __name__ == "__main__":
    main(sys.argv[1:])
