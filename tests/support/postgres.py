"""A real PostgreSQL server for the tests (stores, CLI), started once per session from a private temp dir.

Its fixtures, `postgres_server` and `postgres_dsn`, are registered by tests/conftest.py.

The server listens on 127.0.0.1 only, on a free port, with its socket in the temp directory, trust
auth (initdb's ``-A trust`` covers loopback and the private socket only) and fsync off. Each test gets
a fresh database, dropped afterwards without force, so a test that leaks a connection fails.
"""

from __future__ import annotations

import itertools
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

DEBIAN_ROOT = Path("/usr/lib/postgresql")
SERVER_USER = "postgres"
"""The OS user the server runs as when the tests run as root (initdb refuses root)."""


def find_postgres_bindir() -> Path | None:
    """The directory holding the real `initdb` and `pg_ctl`, newest version first.

    Debian keeps them in ``/usr/lib/postgresql/<version>/bin``, off the PATH; elsewhere (Homebrew,
    Fedora, a source build) they are on the PATH, possibly as symlinks, which are resolved.
    """

    def version(bindir: Path) -> tuple[int, ...]:
        return tuple(int(part) for part in re.findall(r"\d+", bindir.parent.name))

    debian = [d for d in DEBIAN_ROOT.glob("*/bin") if _has_server_tools(d)]
    if debian:
        return max(debian, key=version)
    initdb = shutil.which("initdb")
    if initdb:
        bindir = Path(initdb).resolve().parent
        if _has_server_tools(bindir):
            return bindir
    return None


def _has_server_tools(bindir: Path) -> bool:
    return all(os.access(bindir / tool, os.X_OK) for tool in ("initdb", "pg_ctl", "postgres"))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresServer:
    """One throwaway PostgreSQL cluster: `start()` it, hand out `dsn()`s, `stop()` it."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="baton-pg-"))
        self.data = self.root / "data"
        self.sockets = self.root / "sockets"
        self.log = self.root / "server.log"
        self.port = _free_port()
        self.as_root = os.geteuid() == 0

    def dsn(self, dbname: str) -> str:
        """A connection string for `dbname` over TCP on 127.0.0.1."""
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={dbname} connect_timeout=10"

    def _tool(self, tool: str, *args: str) -> None:
        """Run a server tool, as `SERVER_USER` when we are root; raise with its output if it fails."""
        command = [str(self.bindir / tool), *args]
        if self.as_root:
            command = ["runuser", "-u", SERVER_USER, "--", *command]
        done = subprocess.run(
            command, cwd=self.root, capture_output=True, text=True, timeout=120, check=False
        )
        if done.returncode != 0:
            log = self.log.read_text() if self.log.exists() else "(no server log)"
            raise RuntimeError(
                f"`{' '.join(command)}` failed with status {done.returncode}:\n"
                f"{done.stdout}{done.stderr}\nserver log:\n{log}"
            )

    def start(self) -> None:
        """Create the cluster and start the server; wait until it accepts connections."""
        self.sockets.mkdir(mode=0o700)
        if self.as_root:
            user = pwd.getpwnam(SERVER_USER)
            for path in (self.root, self.sockets):
                os.chown(path, user.pw_uid, user.pw_gid)
        self._tool(
            "initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
            "--locale=C", "--no-sync",
        )  # fmt: skip
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.sockets}'",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "50",
        }
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.writelines(f"{name} = {value}\n" for name, value in settings.items())
        self._tool("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start")

    def stop(self) -> None:
        """Stop the server (fast: disconnect clients) and remove everything it wrote."""
        try:
            if (self.data / "postmaster.pid").exists():
                self._tool("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def _unavailable_reason() -> str | None:
    """Why no server can be started here, or `None` when one can."""
    if find_postgres_bindir() is None:
        install_failure = os.environ.get("BATON_POSTGRES_UNAVAILABLE")  # set by tasks.py
        if install_failure:
            return f"PostgreSQL is not installed and could not be installed: {install_failure}"
        return (
            f"PostgreSQL is not installed: no initdb and pg_ctl in {DEBIAN_ROOT}/*/bin or on the "
            "PATH (`python3 tasks.py test` installs the `postgresql` package when run as root)"
        )
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SERVER_USER)
        except KeyError:
            return (
                f"PostgreSQL cannot run here: the tests run as root, initdb refuses root, and there "
                f"is no `{SERVER_USER}` user to run it as"
            )
    return None


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The session's PostgreSQL server (the tests that need it skip, saying why, if none can run)."""
    reason = _unavailable_reason()
    if reason:
        pytest.skip(reason)
    bindir = find_postgres_bindir()
    assert bindir is not None
    server = PostgresServer(bindir)
    try:
        server.start()
        yield server
    finally:
        server.stop()


_database_numbers = itertools.count(1)


@pytest.fixture
def postgres_dsn(postgres_server: PostgresServer) -> Iterator[str]:
    """A connection string for a fresh, empty database, dropped after the test."""
    name = f"baton_test_{next(_database_numbers)}"
    admin_dsn = postgres_server.dsn("postgres")
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield postgres_server.dsn(name)
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        # Without FORCE: a connection the test left open makes this fail, naming the leak.
        admin.execute(sql.SQL("DROP DATABASE {}").format(sql.Identifier(name)))
