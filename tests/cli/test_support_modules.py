"""The CLI's own pieces: the PostgreSQL store through `--store`, logging, the progress line."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from cli.app import app
from cli.logs import configure_logging
from cli.progress import describe_progress, progress
from cli.stored import plain
from engine import BatonWarning
from tests.cli.apps import Step, build_slow, doubling
from tests.cli.support import postgres_url

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]


def test_a_durable_run_on_postgresql_pauses_lists_and_resumes(postgres_dsn: str) -> None:
    url = postgres_url(postgres_dsn)
    paused = runner.invoke(
        app, ["run", "tests.cli.apps:approval", "tea", "--store", url, "--run-id", "pg-1"]
    )
    assert paused.exit_code == 0, paused.output
    listed = json.loads(runner.invoke(app, ["runs", "list", "--store", url, "--json"]).stdout)
    assert [(r["run_id"], r["workflow"], r["status"]) for r in listed] == [
        ("pg-1", "approval", "idle_with_pending_requests")
    ]
    shown = json.loads(
        runner.invoke(app, ["runs", "show", "pg-1", "--store", url, "--json"]).stdout
    )
    (request,) = shown["pending_requests"]
    resumed = runner.invoke(
        app,
        ["runs", "resume", "tests.cli.apps:approval", "pg-1", "--store", url,
         "--answer", f'{request["request_id"]}={{"ok": true, "note": "pg"}}'],
    )  # fmt: skip
    assert resumed.exit_code == 0, resumed.output
    assert "output from reviewer: tea: approved (pg)" in resumed.stdout
    after = json.loads(
        runner.invoke(app, ["runs", "show", "pg-1", "--store", url, "--json"]).stdout
    )
    assert after["status"] == "idle"
    assert [o["data"] for o in after["outputs"]] == ["tea: approved (pg)"]


def test_logging_renders_json_lines_with_the_run_id_or_console_lines(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("info", json_logs=True)
    logging.getLogger("engine.run").info("ignored stdlib line")
    asyncio.run(doubling.run(21))
    records = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    started = [r for r in records if r.get("event") == "run_started"]
    assert len(started) == 1 and started[0]["level"] == "info" and started[0]["run_id"]
    assert {"event": "ignored stdlib line"}.items() <= records[0].items()
    configure_logging("warning", json_logs=False)
    logging.getLogger("engine.run").warning("disk almost full")
    logging.getLogger("engine.run").info("not shown")
    err = capsys.readouterr().err
    assert "disk almost full" in err and "not shown" not in err
    assert not err.lstrip().startswith("{")  # the console renderer, not JSON
    ours = [h for h in logging.getLogger().handlers if type(h).__name__ == "_CliHandler"]
    assert len(ours) == 1  # configuring twice replaced the handler


def test_structlog_is_configured_only_by_the_cli() -> None:
    for package in ("engine", "executors", "orchestrations"):
        for path in (ROOT / package).rglob("*.py"):
            assert "structlog.configure" not in path.read_text(), path


async def test_the_progress_line_names_the_superstep_and_the_executors_running() -> None:
    with pytest.warns(BatonWarning, match="self_loop"):
        workflow = build_slow()
    run = workflow.start(Step(n=1))
    assert describe_progress(run) == "superstep 1: count"
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=80)
    async with progress(run, enabled=True, console=console, interval=0.001):
        await run.execute()
    shown = re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", screen.getvalue())
    assert "superstep 1: count" in shown
    assert describe_progress(run) == "superstep 10"
    quiet = io.StringIO()
    run = workflow.start(Step(n=1))
    async with progress(run, enabled=False, console=Console(file=quiet, force_terminal=True)):
        await run.execute()
    assert quiet.getvalue() == ""


def test_stored_values_are_shown_as_plain_json() -> None:
    stored = {
        "$type": "app:Draft",
        "data": {"topic": "tea", "tags": {"$type": "tuple", "items": ["a", "b"]}},
    }
    assert plain(stored) == {"type": "Draft", "topic": "tea", "tags": ["a", "b"]}
    assert plain({"$type": "type", "name": "app:Approval"}) == "Approval"
    assert plain({"$type": "app:Color", "value": "red"}) == {"type": "Color", "value": "red"}
    assert plain([1, {"$type": "dict", "items": [[1, "x"]]}]) == [1, {"1": "x"}]
