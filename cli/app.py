"""The `baton` command line (typer): demo, run, runs list|show|resume, graph, check.

Each command is a thin shell over the public API: it loads a TARGET (`cli.target`), opens a store
(`cli.stores`), drives the run (`cli.session`) and prints events (`cli.render`). Failures the user can
fix are reported as one line by `cli.errors.reporting`; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import asyncio
import enum
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.answers import Turns, default_answer, parse_answer, parse_input, read_line
from cli.demos import DEMOS, Demo
from cli.errors import CliError, reporting
from cli.logs import configure_logging
from cli.options import (
    JsonOption,
    MaxSuperstepsOption,
    ProgressOption,
    Settings,
    StoreOption,
    StreamOption,
    TargetArgument,
    make_view,
    settings_of,
)
from cli.render import EventPrinter
from cli.runs import runs_app
from cli.session import Answerer, View, drive, first_segment, paused_notice, prompt_for_answers
from cli.stores import open_store, redact
from cli.target import Target, build_target, load_target
from cli.worker import worker
from engine import RequestInfoEvent, ResponseError, Workflow, WorkflowValidationError
from engine.analysis import analyze
from engine.stores.base import LeasingStore
from executors import ChatClient, OpenAIChatClient

__all__ = ["app", "main"]

app = typer.Typer(
    name="baton",
    help="Baton: a superstep workflow engine for typed executors and agents.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(runs_app, name="runs")
app.command()(worker)


class LogLevel(enum.StrEnum):
    """Levels `--log-level` accepts."""

    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


@app.callback()
def _root(
    ctx: typer.Context,
    log_level: Annotated[
        LogLevel,
        typer.Option(
            "--log-level",
            help="Level of Baton's logs on stderr (warnings are printed as events already).",
        ),
    ] = LogLevel.ERROR,
    log_json: Annotated[
        bool, typer.Option("--log-json", help="Logs as JSON lines (default off a terminal).")
    ] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the traceback of an error instead of one line.")
    ] = False,
) -> None:
    """Baton: a superstep workflow engine for typed executors and agents."""
    configure_logging(log_level.value, json_logs=True if log_json else None)
    ctx.obj = Settings(debug=debug)


# -- baton demo ------------------------------------------------------------------------------------


class DemoName(enum.StrEnum):
    """The bundled demos."""

    HANDOFF = "handoff"
    SEQUENTIAL = "sequential"
    CONCURRENT = "concurrent"
    SWITCH = "switch"
    GROUPCHAT = "groupchat"


@app.command()
def demo(
    ctx: typer.Context,
    name: Annotated[
        DemoName,
        typer.Argument(
            help="handoff: the seeds' support desk; sequential: a reviewed writing pipeline; "
            "concurrent: a panel of three; switch: a typed refund desk; groupchat: writer and critic."
        ),
    ] = DemoName.HANDOFF,
    model: Annotated[
        str | None,
        typer.Option(help="Run the agents on this OpenAI model instead of the scripted ones."),
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option(help="An OpenAI-compatible server for --model.", envvar="OPENAI_BASE_URL"),
    ] = None,
    inputs: Annotated[
        list[str] | None,
        typer.Option(
            "--input", help="Your turns, in order (the opening message first). Repeatable."
        ),
    ] = None,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Take the scripted turn at every pause.")
    ] = False,
    show_graph: Annotated[
        bool, typer.Option("--graph", help="Print the workflow as Mermaid first.")
    ] = False,
) -> None:
    """Run a bundled workflow offline on scripted models (no API key, no network).

    At each pause you play the user: type a reply (Enter takes the suggested one; /end ends a
    handoff conversation; approve or feedback for a review). --input and --yes make it
    non-interactive.
    """
    with reporting(debug=settings_of(ctx).debug):
        chosen = DEMOS[name.value]
        client = _demo_client(chosen, model, base_url)
        workflow = chosen.build(client)
        if show_graph:
            typer.echo(workflow.to_mermaid())
        turns = Turns(chosen.user, chosen.turns, inputs or [], yes=yes)
        asyncio.run(_play(chosen, workflow, turns, client))


def _demo_client(chosen: Demo, model: str | None, base_url: str | None) -> ChatClient | None:
    if model is None:
        if base_url is not None and os.environ.get("OPENAI_BASE_URL") != base_url:
            raise CliError("--base-url needs --model: name the model the server should run.")
        return None
    if not chosen.uses_models:
        raise CliError(f"the {chosen.name} demo has no agents; --model does not apply to it.")
    key = os.environ.get("OPENAI_API_KEY")
    if not key and base_url is None:
        raise CliError(
            f"--model {model} needs an OpenAI API key: set OPENAI_API_KEY, or pass --base-url "
            "for an OpenAI-compatible server."
        )
    return OpenAIChatClient(model, base_url=base_url, api_key=key or "none")


async def _play(chosen: Demo, workflow: Workflow, turns: Turns, client: ChatClient | None) -> None:
    view = View(
        stream=True, printer=EventPrinter(user=chosen.user, supersteps=not chosen.uses_models)
    )
    try:
        while (opening := turns.next()) is not None:
            run = workflow.start(opening)
            await drive(run, run.stream(), _demo_answers(turns), view)
            if not chosen.run_per_turn:
                break
    finally:
        if isinstance(client, OpenAIChatClient):
            await client.aclose()


def _demo_answers(turns: Turns) -> Answerer:
    def answer(requests: tuple[RequestInfoEvent, ...]) -> dict[str, Any] | None:
        answers: dict[str, Any] = {}
        for request in requests:
            while True:
                text = turns.next(default_answer(request))
                if text is None:
                    return answers or None
                try:
                    answers[request.request_id] = parse_answer(request, text)
                    break
                except ResponseError as error:
                    typer.secho(str(error), fg=typer.colors.YELLOW)
        return answers

    return answer


# -- baton run -------------------------------------------------------------------------------------


@app.command()
def run(
    ctx: typer.Context,
    target: TargetArgument,
    message: Annotated[
        str | None,
        typer.Argument(help="The input (JSON for non-text inputs); default: the first stdin line."),
    ] = None,
    stream: StreamOption = True,
    json_events: JsonOption = False,
    store: StoreOption = None,
    max_supersteps: MaxSuperstepsOption = None,
    run_id: Annotated[str | None, typer.Option(help="The run's id (default: a fresh one).")] = None,
    show_progress: ProgressOption = True,
    submit: Annotated[
        bool,
        typer.Option(
            "--submit", help="Save the run in the --store for a worker (`baton worker`) to drive."
        ),
    ] = False,
) -> None:
    """Run a workflow, answering its requests for input on the terminal.

    TARGET names a Workflow, a WorkflowBuilder, an orchestration builder, or a zero-argument
    function returning one. With --store the run is durable: a paused or interrupted run
    continues with `baton runs resume`. With --submit (and a PostgreSQL --store) the run is only
    saved, for a worker to claim and drive.
    """
    with reporting(debug=settings_of(ctx).debug):
        loaded = load_target(target)
        workflow = build_target(loaded)
        start = workflow.executors[workflow.start_executor_id]
        if message is None:
            message = read_line("message: ", err=json_events)
            if message is None:
                raise CliError("no MESSAGE: give it after TARGET, or as the first line on stdin.")
        value = parse_input(start.input_types, message)
        if submit:
            if store is None:
                raise CliError("--submit saves the run for a worker: give --store postgresql://...")
            asyncio.run(_submit(workflow, value, store, run_id))
            return
        view = make_view(stream, json_events, show_progress)
        asyncio.run(_run(loaded, workflow, value, view, store, max_supersteps, run_id))


async def _submit(workflow: Workflow, value: object, store_url: str, run_id: str | None) -> None:
    async with open_store(store_url) as store:
        if not isinstance(store, LeasingStore):
            raise CliError(
                f"--submit needs a PostgreSQL --store that workers share, got {redact(store_url)}"
            )
        submitted = await workflow.submit(value, store=store, run_id=run_id)
    typer.echo(f"run {submitted} submitted; `baton worker` drives it")


async def _run(
    target: Target,
    workflow: Workflow,
    value: object,
    view: View,
    store_url: str | None,
    max_supersteps: int | None,
    run_id: str | None,
) -> None:
    answers = prompt_for_answers({}, err=view.json)
    if store_url is None:
        run = workflow.start(value, max_supersteps=max_supersteps, run_id=run_id)
        await drive(run, first_segment(run, view), answers, view)
        if run.pending_requests:
            raise CliError(
                f"run {run.run_id} paused for {len(run.pending_requests)} answer(s) and there was "
                "no more input; it was not durable, so it cannot be resumed. Run it with --store "
                "to continue later with `baton runs resume`."
            )
        return
    async with open_store(store_url) as store:
        run = workflow.start(
            value, max_supersteps=max_supersteps, run_id=run_id, checkpoint_store=store
        )
        typer.secho(f"run {run.run_id} (store {redact(store_url)})", dim=True, err=True)
        await drive(run, first_segment(run, view), answers, view)
        paused_notice(run, target.spec, store_url)


# -- baton graph, baton check ----------------------------------------------------------------------


class GraphFormat(enum.StrEnum):
    """Formats `baton graph` writes."""

    MERMAID = "mermaid"
    DOT = "dot"


@app.command()
def graph(
    ctx: typer.Context,
    target: TargetArgument,
    fmt: Annotated[
        GraphFormat, typer.Option("--format", "-f", help="Mermaid flowchart or Graphviz DOT.")
    ] = GraphFormat.MERMAID,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")
    ] = None,
) -> None:
    """Print a workflow's graph as Mermaid or DOT."""
    with reporting(debug=settings_of(ctx).debug):
        workflow = build_target(load_target(target))
        text = workflow.to_mermaid() if fmt is GraphFormat.MERMAID else workflow.to_dot()
        text = text.rstrip("\n")
        if output is None:
            typer.echo(text)
            return
        try:
            output.write_text(text + "\n")
        except OSError as error:
            raise CliError(f"cannot write `{output}`: {error.strerror or error}") from error
        typer.secho(f"wrote {output}", dim=True, err=True)


@app.command()
def check(
    ctx: typer.Context,
    target: TargetArgument,
) -> None:
    """Validate a workflow and print the report and its termination analysis; exit 1 if invalid."""
    with reporting(debug=settings_of(ctx).debug):
        try:
            loaded = load_target(target, show_warnings=False)
            workflow = build_target(loaded, show_warnings=False)
        except WorkflowValidationError as invalid:
            typer.secho(
                f"{target}: invalid, {len(invalid.issues)} problem(s)",
                fg=typer.colors.RED,
                bold=True,
            )
            for number, issue in enumerate(invalid.issues, 1):
                typer.echo(f"  {number}. [{issue.check}] {issue.message}")
                typer.echo(f"     fix: {issue.hint}")
            raise typer.Exit(1) from None
        typer.secho(
            f"{target}: valid. Workflow `{workflow.name}`: "
            f"{_count(len(workflow.executors), 'executor')}, "
            f"{_count(len(workflow.edge_groups), 'edge group')}, start "
            f"`{workflow.start_executor_id}`, superstep budget {workflow.max_supersteps}.",
            fg=typer.colors.GREEN,
        )
        for number, issue in enumerate(workflow.warnings, 1):
            typer.secho(
                f"  warning {number}. [{issue.check}] {issue.message}", fg=typer.colors.YELLOW
            )
            typer.echo(f"     fix: {issue.hint}")
        report = analyze(workflow)
        typer.echo("Termination:")
        for line in str(report).splitlines()[1:]:  # the first line repeats the summary above
            bounded = line.startswith("Bounded:")
            colour = typer.colors.GREEN if bounded else None
            if line.startswith("Not bounded:") or "is unreachable" in line:
                colour = typer.colors.YELLOW
            typer.secho(f"  {line}", fg=colour)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def main() -> None:
    """Entry point of the `baton` console script."""
    app()
