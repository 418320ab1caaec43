"""`baton worker`: a long-running coordinator that claims runs from a PostgreSQL store and drives them.

It loads every TARGET given (the workflows whose runs it may drive; a run is matched by its graph
signature), opens the store, and serves until SIGTERM or SIGINT, on which it finishes the superstep
running now, checkpoints it and releases the run for another worker. ``--backend ray`` runs the
executors as Ray tasks (``--address`` joins a cluster; without it a local Ray is started).
"""

from __future__ import annotations

import asyncio
import enum
import signal
from typing import Annotated

import typer

from cli.errors import CliError, reporting
from cli.options import MaxSuperstepsOption, settings_of
from cli.stores import open_store, redact
from cli.target import build_target, load_target
from engine import Workflow
from engine.backends import Backend
from engine.stores.base import LeasingStore
from engine.worker import Worker

__all__ = ["BackendChoice", "worker"]


class BackendChoice(enum.StrEnum):
    """Where `baton worker` runs executors."""

    LOCAL = "local"
    RAY = "ray"


def worker(
    ctx: typer.Context,
    targets: Annotated[
        list[str],
        typer.Argument(help="module:attr or file.py:attr for each workflow this worker may drive."),
    ],
    store: Annotated[
        str | None,
        typer.Option(
            "--store",
            help="postgresql://user@host/db (default: $BATON_STORE).",
            envvar="BATON_STORE",
        ),
    ] = None,
    backend: Annotated[
        BackendChoice, typer.Option(help="Where executors run: in this process, or on Ray.")
    ] = BackendChoice.LOCAL,
    address: Annotated[
        str | None, typer.Option(help="The Ray cluster to join (with --backend ray).")
    ] = None,
    lease_seconds: Annotated[
        float, typer.Option(min=0.1, help="How long a run's lease lasts unless renewed.")
    ] = 30.0,
    poll_seconds: Annotated[
        float, typer.Option(min=0.01, help="How long to wait between looks for work.")
    ] = 1.0,
    once: Annotated[
        bool, typer.Option("--once", help="Drive the runnable runs there are now, then exit.")
    ] = False,
    max_supersteps: MaxSuperstepsOption = None,
) -> None:
    """Claim runnable runs (new, answered, or orphaned by a dead coordinator) and drive them."""
    with reporting(debug=settings_of(ctx).debug):
        if store is None or not store.startswith(("postgresql://", "postgres://")):
            shown = redact(store) if store else "none"
            raise CliError(
                f"baton worker needs a PostgreSQL store (--store postgresql://...), got {shown}: "
                "workers on several machines share runs through it."
            )
        if address is not None and backend is not BackendChoice.RAY:
            raise CliError("--address names a Ray cluster; add --backend ray.")
        workflows = [build_target(load_target(t)) for t in targets]
        chosen = _backend(backend, address)
        asyncio.run(
            _serve(workflows, store, chosen, lease_seconds, poll_seconds, once, max_supersteps)
        )


def _backend(choice: BackendChoice, address: str | None) -> Backend | None:
    if choice is BackendChoice.LOCAL:
        return None
    try:
        from engine.backends import RayBackend
    except ImportError as error:
        raise CliError(f"{error}") from None
    return RayBackend(address)


async def _serve(
    workflows: list[Workflow],
    url: str,
    backend: Backend | None,
    lease_seconds: float,
    poll_seconds: float,
    once: bool,
    max_supersteps: int | None,
) -> None:
    async with open_store(url, lease_seconds=lease_seconds) as store:
        assert isinstance(store, LeasingStore)
        serving = Worker(
            workflows,
            store,
            backend=backend,
            poll_seconds=poll_seconds,
            max_supersteps=max_supersteps,
        )
        names = ", ".join(f"`{w.name}`" for w in workflows)
        typer.secho(f"worker {store.owner} serving {names} from {redact(url)}", err=True, dim=True)
        if once:
            while (result := await serving.run_once()) is not None:
                typer.echo(f"run {result.run_id}: {result.status}")
            return
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, serving.stop)
        try:
            await serving.serve()
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
        typer.secho("worker stopped", err=True, dim=True)
