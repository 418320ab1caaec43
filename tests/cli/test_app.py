from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from cli.app import DEMO_TICKETS, app

runner = CliRunner()


def test_demo_handoff_is_the_default_and_walks_the_support_desk() -> None:
    result = runner.invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    lines = [line.strip() for line in result.output.splitlines()]
    handoff_lines = [line for line in lines if "->" in line and ":" not in line]
    assert handoff_lines == [
        "triage -> returns",
        "returns -> orders",
        "orders -> returns",
        "returns -> fraud",
    ]
    assert [line for line in lines if line.startswith("(")] == [
        "(returns waits for the customer)",
        "(orders waits for the customer)",
        "(fraud waits for the customer)",
    ]
    assert "conversation ended at fraud (terminal_agent)" in lines
    assert "output: the conversation, 10 messages" in lines
    assert lines[-1] == "> customer ends the conversation"
    assert result.output == runner.invoke(app, ["demo", "handoff"]).output


def test_demo_handoff_graph_shows_the_handoff_edges_with_their_descriptions() -> None:
    result = runner.invoke(app, ["demo", "handoff", "--graph"])
    assert result.exit_code == 0
    assert '  returns -->|"handoff_to_fraud: Suspected return fraud or abuse."| fraud' in (
        result.output.splitlines()
    )


def test_demo_rejects_an_unknown_name() -> None:
    result = runner.invoke(app, ["demo", "bogus"])
    assert result.exit_code == 2
    assert "bogus" in result.output


def test_demo_switch_runs_every_ticket_and_prints_each_decision() -> None:
    result = runner.invoke(app, ["demo", "switch"])
    assert result.exit_code == 0, result.output
    assert result.output.count("> order") == len(DEMO_TICKETS)
    assert "superstep 3: fraud_check, policy_check" in result.output
    assert "approved=False, why='fraud: non-delivery claim over $1000'" in result.output
    assert "approved=True, why='all checks passed'" in result.output


def test_demo_can_print_its_graph_first() -> None:
    result = runner.invoke(app, ["demo", "switch", "--graph"])
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
    assert "  returns -> fraud" in done.stdout.splitlines()
    assert done.stderr == ""  # no warning leaks into the demo
    switch = subprocess.run(
        [*command, "demo", "switch"], capture_output=True, text=True, timeout=60
    )
    assert "output from decide: Decision(order_id='4501', approved=True" in switch.stdout
