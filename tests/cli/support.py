"""Helpers for the CliRunner tests of the `baton` commands."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

from typer.testing import CliRunner, Result

from cli.app import app

runner = CliRunner()

APPROVAL = "tests.cli.apps:approval"


def invoke(*args: str, stdin: str | None = None) -> Result:
    return runner.invoke(app, list(args), input=stdin)


def error_line(result: Result) -> str:
    """The one ``error:`` line of a command that failed cleanly (exit 1, no traceback)."""
    assert result.exit_code == 1, (result.stdout, result.stderr, result.exception)
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert not any(line.startswith("error:") for line in result.stdout.splitlines())
    return errors[0]


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def postgres_url(dsn: str) -> str:
    fields = dict(item.split("=", 1) for item in dsn.split())
    return (
        f"postgresql://{fields['user']}@{fields['host']}:{fields['port']}/{fields['dbname']}"
        "?connect_timeout=10"
    )


def sqlite_url(path: Path) -> str:
    return "sqlite:///" + str(path)  # an absolute path: four slashes


def write(path: Path, source: str) -> Path:
    path.write_text(textwrap.dedent(source))
    return path


def show_json(url: str, run_id: str) -> dict[str, Any]:
    result = invoke("runs", "show", run_id, "--store", url, "--json")
    assert result.exit_code == 0, result.output
    shown: dict[str, Any] = json.loads(result.stdout)
    return shown


def pending_id(url: str) -> str:
    (request,) = show_json(url, "r1")["pending_requests"]
    return str(request["request_id"])
