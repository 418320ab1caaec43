from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cli.app import app
from cli.demos import CUSTOMER_TURNS, DEMOS, TICKETS

runner = CliRunner()


def lines_of(output: str) -> list[str]:
    return [line.strip() for line in output.splitlines()]


def test_demo_handoff_is_the_default_and_walks_the_support_desk() -> None:
    result = runner.invoke(app, ["demo", "--yes"])
    assert result.exit_code == 0, result.output
    lines = lines_of(result.stdout)
    handoffs = [line for line in lines if "->" in line and ":" not in line]
    assert handoffs == [
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
    assert [line for line in lines if line.startswith("> customer")] == [
        *(f"> customer: {turn}" for turn in CUSTOMER_TURNS),
        "> customer: /end",
    ]
    assert "conversation ended at fraud (terminal_agent)" in lines
    assert "output: 10 messages from user, triage, returns, orders, fraud" in lines
    assert result.stdout == runner.invoke(app, ["demo", "handoff", "--yes"]).stdout


def test_demo_prompts_for_each_turn_and_enter_takes_the_suggestion() -> None:
    typed = "My kettle from order 77 leaks.\n\nPlease just refund me.\n"
    result = runner.invoke(app, ["demo", "handoff"], input=typed)
    assert result.exit_code == 0, result.output
    lines = lines_of(result.stdout)
    assert f"> customer [{CUSTOMER_TURNS[0]}]: My kettle from order 77 leaks." in lines
    assert f"> customer: {CUSTOMER_TURNS[1]}" in lines  # the empty line took the suggestion
    assert f"> customer [{CUSTOMER_TURNS[2]}]: Please just refund me." in lines
    # then stdin ends: the rest is scripted, and the conversation is ended
    assert lines[-1] == "> customer: /end"


def test_demo_inputs_replace_the_script_in_order_then_it_plays_on() -> None:
    result = runner.invoke(app, ["demo", "--input", "Hello there", "--input", "/end"])
    assert result.exit_code == 0, result.output
    lines = lines_of(result.stdout)
    assert lines[0] == "> customer: Hello there"
    assert "> customer: /end" in lines
    assert "triage -> returns" in lines
    assert "returns -> orders" not in lines  # the customer ended it at the first pause


def test_demo_sequential_revises_on_feedback_and_outputs_the_approved_reply() -> None:
    result = runner.invoke(app, ["demo", "sequential", "--yes"])
    assert result.exit_code == 0, result.output
    lines = lines_of(result.stdout)
    assert lines.count("(editor's reply waits for the reviewer)") == 2
    assert lines[-2] == "> reviewer: approve"
    assert lines[-1].startswith("output from editor: Good news: from version 4.2")


def test_demo_sequential_takes_feedback_typed_by_the_user() -> None:
    turns = DEMOS["sequential"].turns
    result = runner.invoke(app, ["demo", "sequential"], input=f"{turns[0]}\nShorter please.\nok\n")
    assert result.exit_code == 0, result.output
    assert "Shorter please." in result.stdout
    assert lines_of(result.stdout)[-1].startswith("output from editor:")


def test_demo_concurrent_and_groupchat_run_to_their_outputs() -> None:
    concurrent = runner.invoke(app, ["demo", "concurrent", "--yes"])
    assert concurrent.exit_code == 0, concurrent.output
    assert "output from aggregator: The panel's 3 views:" in concurrent.stdout
    for panelist in ("engineering", "legal", "marketing"):
        assert f"  {panelist}: " in concurrent.stdout
    chat = runner.invoke(app, ["demo", "groupchat", "--yes"])
    assert chat.exit_code == 0, chat.output
    assert "group chat ended (selector) after 4 rounds" in lines_of(chat.stdout)
    assert "critic: APPROVED" in chat.stdout


def test_demo_switch_runs_every_ticket_and_prints_each_decision() -> None:
    result = runner.invoke(app, ["demo", "switch", "--yes"])
    assert result.exit_code == 0, result.output
    assert [line for line in lines_of(result.stdout) if line.startswith(">")] == [
        f"> customer: {ticket}" for ticket in TICKETS
    ]
    assert "superstep 3: fraud_check, policy_check" in lines_of(result.stdout)
    assert "approved=False, why='fraud: non-delivery claim over $1000'" in result.stdout
    assert "approved=True, why='all checks passed'" in result.stdout


def test_demo_can_print_its_graph_first() -> None:
    result = runner.invoke(app, ["demo", "switch", "--graph", "--yes"])
    assert result.exit_code == 0
    assert result.stdout.startswith("flowchart TD")
    assert "  fraud_check -->|fan-in| join_2" in result.stdout.splitlines()
    handoff = runner.invoke(app, ["demo", "handoff", "--graph", "--yes"])
    assert '  returns -->|"handoff_to_fraud: Suspected return fraud or abuse."| fraud' in (
        handoff.stdout.splitlines()
    )


@pytest.mark.parametrize("name", ["bogus", "Handoff"])
def test_demo_rejects_an_unknown_name(name: str) -> None:
    result = runner.invoke(app, ["demo", name])
    assert result.exit_code == 2
    assert name in result.output


def test_no_arguments_shows_help_listing_every_command() -> None:
    result = runner.invoke(app, [])
    for command in ("demo", "run", "runs", "graph", "check"):
        assert command in result.output
    runs = runner.invoke(app, ["runs"])
    for command in ("list", "show", "resume"):
        assert command in runs.output
