"""`baton runs list|show|resume`: durable runs in a checkpoint store.

`list` and `show` read the store alone (no workflow code needed); `resume` needs the TARGET the run
was started with, because a checkpoint holds state, not code.
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer

from cli.errors import CliError, reporting
from cli.options import (
    JsonOption,
    MaxSuperstepsOption,
    ProgressOption,
    StreamOption,
    TargetArgument,
    make_view,
    settings_of,
)
from cli.session import drive, paused_notice, prompt_for_answers
from cli.stored import RunSummary, StoredOutput, StoredRequest, run_details, summarize
from cli.stores import default_store_url, open_store
from cli.target import build_target, load_target

__all__ = ["runs_app"]

runs_app = typer.Typer(
    help="Durable runs in a checkpoint store: list them, show one, resume one.",
    no_args_is_help=True,
)

ReadStoreOption = Annotated[
    str | None,
    typer.Option(
        "--store",
        help="Checkpoint store URL (default: $BATON_STORE, else the embedded SQLite file).",
        envvar="BATON_STORE",
    ),
]
JsonOutOption = Annotated[bool, typer.Option("--json", help="JSON instead of a table.")]


@runs_app.command("list")
def list_runs(
    ctx: typer.Context,
    store: ReadStoreOption = None,
    json_out: JsonOutOption = False,
    limit: Annotated[int, typer.Option(min=1, help="Show at most this many, newest first.")] = 20,
) -> None:
    """List runs with their workflow, status and last superstep, newest first."""
    with reporting(debug=settings_of(ctx).debug):
        summaries = asyncio.run(_list(store or default_store_url(), limit))
        if json_out:
            typer.echo(json.dumps([s.to_json() for s in summaries]))
            return
        if not summaries:
            typer.echo("no runs in this store")
            return
        rows = [("RUN", "WORKFLOW", "STATUS", "SUPERSTEP", "UPDATED")]
        rows += [
            (s.run_id, s.workflow, str(s.status), str(s.superstep), s.updated_text)
            for s in summaries
        ]
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for row in rows:
            typer.echo(
                "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
            )


async def _list(url: str, limit: int) -> list[RunSummary]:
    async with open_store(url, must_exist=True) as store:
        summaries = [await summarize(store, run_id) for run_id in await store.list_runs()]
    summaries.sort(key=lambda s: s.updated, reverse=True)
    return summaries[:limit]


@runs_app.command("show")
def show(
    ctx: typer.Context,
    run_id: Annotated[str, typer.Argument(help="The run's id (see `baton runs list`).")],
    store: ReadStoreOption = None,
    json_out: JsonOutOption = False,
) -> None:
    """Show a run: its status, its pending requests and the outputs it yielded."""
    with reporting(debug=settings_of(ctx).debug):
        summary, requests, outputs = asyncio.run(_details(store or default_store_url(), run_id))
        if json_out:
            document = summary.to_json() | {
                "pending_requests": [
                    {
                        "request_id": r.request_id,
                        "source": r.source,
                        "data": r.data,
                        "response_type": r.response_type,
                    }
                    for r in requests
                ],
                "outputs": [
                    {"superstep": o.superstep, "executor_id": o.executor_id, "data": o.data}
                    for o in outputs
                ],
            }
            typer.echo(json.dumps(document, default=str))
            return
        typer.secho(f"run {summary.run_id}", bold=True)
        typer.echo(f"  workflow:  {summary.workflow}")
        typer.echo(f"  status:    {summary.status} after superstep {summary.superstep}")
        typer.echo(f"  updated:   {summary.updated_text} ({summary.checkpoints} checkpoints)")
        typer.echo(f"pending requests: {len(requests)}")
        for request in requests:
            typer.echo(f"  {request.request_id} from {request.source}: {_compact(request.data)}")
            typer.echo(f"    answer as `{request.response_type}`")
        typer.echo(f"outputs: {len(outputs)}")
        for output in outputs:
            typer.echo(
                f"  superstep {output.superstep}, {output.executor_id}: {_compact(output.data)}"
            )


async def _details(
    url: str, run_id: str
) -> tuple[RunSummary, list[StoredRequest], list[StoredOutput]]:
    async with open_store(url, must_exist=True) as store:
        return await run_details(store, run_id)


def _compact(value: object, limit: int = 300) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@runs_app.command("resume")
def resume(
    ctx: typer.Context,
    target: TargetArgument,
    run_id: Annotated[str, typer.Argument(help="The run's id (see `baton runs list`).")],
    store: ReadStoreOption = None,
    answer: Annotated[
        list[str] | None,
        typer.Option("--answer", help="REQUEST_ID=VALUE (JSON for non-text answers). Repeatable."),
    ] = None,
    stream: StreamOption = True,
    json_events: JsonOption = False,
    max_supersteps: MaxSuperstepsOption = None,
    show_progress: ProgressOption = True,
    submit: Annotated[
        bool,
        typer.Option(
            "--submit",
            help="Queue the answers for a worker (`baton worker`) instead of driving the run here.",
        ),
    ] = False,
) -> None:
    """Continue a durable run from its latest checkpoint, answering its pending requests.

    Answers come from --answer, else they are asked for on the terminal (one line each). On a
    PostgreSQL store the run is leased while it runs here; with --submit the checked answers are
    queued and a worker continues the run.
    """
    with reporting(debug=settings_of(ctx).debug):
        given = dict(_split_answer(item) for item in answer or [])
        url = store or default_store_url()
        loaded = load_target(target)
        workflow = build_target(loaded)
        view = make_view(stream, json_events, show_progress)

        async def go() -> None:
            async with open_store(url, must_exist=True) as opened:
                await summarize(opened, run_id)  # an unknown run id is one clear line
                run = await workflow.reopen(run_id, store=opened, max_supersteps=max_supersteps)
                answerer = prompt_for_answers(given, err=json_events)
                first = answerer(run.pending_requests) if run.pending_requests else None
                if run.pending_requests and not first:
                    ids = ", ".join(r.request_id for r in run.pending_requests)
                    raise CliError(
                        f"run {run_id} is waiting for answers to {ids}; pass --answer "
                        "REQUEST_ID=VALUE (or answer on stdin)."
                    )
                if submit:
                    if not first:
                        raise CliError(f"run {run_id} waits for no answers; nothing to submit.")
                    await workflow.submit_answers(run_id, first, store=opened)
                    typer.echo(f"answers for run {run_id} queued; a worker will continue it")
                    return
                await drive(run, run.resume(first, stream=view.stream), answerer, view)
                paused_notice(run, target, url)

        asyncio.run(go())


def _split_answer(item: str) -> tuple[str, str]:
    request_id, sep, value = item.partition("=")
    if not sep or not request_id:
        raise CliError(f"--answer `{item}` must be REQUEST_ID=VALUE.")
    return request_id, value
