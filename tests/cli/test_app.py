from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from cli.app import DEMO_TICKETS, app

runner = CliRunner()


def test_demo_runs_every_ticket_and_prints_each_decision() -> None:
    result = runner.invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    assert result.output.count("> order") == len(DEMO_TICKETS)
    assert "superstep 3: fraud_check, policy_check" in result.output
    assert "approved=False, why='fraud: non-delivery claim over $1000'" in result.output
    assert "approved=True, why='all checks passed'" in result.output


def test_demo_can_print_its_graph_first() -> None:
    result = runner.invoke(app, ["demo", "--graph"])
    assert result.exit_code == 0
    assert result.output.startswith("flowchart TD")
    assert "  fraud_check -->|fan-in| join_2" in result.output.splitlines()


def test_no_arguments_shows_help() -> None:
    result = runner.invoke(app, [])
    assert "demo" in result.output


def test_installed_baton_command_runs_the_demo() -> None:
    baton = Path(sys.executable).with_name("baton")
    command = [str(baton)] if baton.exists() else [shutil.which("baton") or "baton"]
    done = subprocess.run([*command, "demo"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "output from decide: Decision(order_id='4501', approved=True" in done.stdout
