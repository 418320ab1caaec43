"""The `baton` commands through typer's `CliRunner`: run, answers, runs list|show|resume, logs, demo.

Every failure a user can cause must be one ``error:`` line on stderr and exit 1, never a traceback
(unless ``--debug``); the `error_line` helper asserts exactly that and returns the line.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from cli.logs import _CliHandler
from engine import SqliteCheckpointStore
from tests.cli.support import (
    APPROVAL,
    error_line,
    invoke,
    json_lines,
    pending_id,
    show_json,
    sqlite_url,
)
from tests.support.openai_server import OpenAIServer, Reply, ToolCall

# -- baton run ------------------------------------------------------------------------------------


def test_run_streams_a_str_workflow_with_its_supersteps_and_output() -> None:
    result = invoke("run", "tests.cli.apps:builder", "hi")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "  superstep 1: upper",
        "  superstep 2: shout",
        "  output from shout: HI!",
    ]
    assert result.stderr == ""  # the default log level prints no log lines


def test_run_no_stream_prints_the_output_without_superstep_lines() -> None:
    result = invoke("run", "tests.cli.apps:builder", "hi", "--no-stream")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["  output from shout: HI!"]


def test_run_json_prints_one_event_object_per_line_including_the_output() -> None:
    result = invoke("run", "--json", "tests.cli.apps:builder", "hi")
    assert result.exit_code == 0, result.output
    events = json_lines(result.stdout)
    assert all(isinstance(event.get("type"), str) for event in events)
    assert events[0]["type"] == "run_started"
    assert {"type": "output", "executor_id": "shout", "data": "HI!"} in events
    assert events[-1] == {"type": "status", "status": "idle"}


def test_run_parses_message_as_json_when_the_start_executor_does_not_take_str() -> None:
    result = invoke("run", "tests.cli.apps:doubling", "21")
    assert result.exit_code == 0, result.output
    assert "  output from doubler: 42" in result.stdout.splitlines()


def test_run_rejects_a_message_the_start_executor_cannot_take_naming_its_type() -> None:
    line = error_line(invoke("run", "tests.cli.apps:doubling", "abc"))
    assert "cannot take `abc`" in line
    assert "expects `int`" in line


def test_run_reads_message_from_the_first_stdin_line_when_omitted() -> None:
    result = invoke("run", "tests.cli.apps:builder", stdin="hello\nignored\n")
    assert result.exit_code == 0, result.output
    assert "  output from shout: HELLO!" in result.stdout.splitlines()
    assert "IGNORED" not in result.stdout


def test_run_without_message_and_with_empty_stdin_is_an_error() -> None:
    line = error_line(invoke("run", "tests.cli.apps:builder", stdin=""))
    assert "no MESSAGE" in line


def test_run_stops_at_max_supersteps_with_an_error_naming_the_budget() -> None:
    result = invoke("run", "tests.cli.apps:build_slow", '{"n": 1}', "--max-supersteps", "3")
    line = error_line(result)
    assert "did not finish within 3 supersteps" in line
    assert "max_supersteps" in line
    assert "output from count: step 3" in result.stdout
    assert "step 4" not in result.stdout


def test_run_rejects_a_superstep_budget_below_one() -> None:
    result = invoke("run", "tests.cli.apps:builder", "hi", "--max-supersteps", "0")
    assert result.exit_code == 2
    assert "--max-supersteps" in result.stderr


def test_run_reports_a_failing_executor_as_one_error_line_without_traceback() -> None:
    result = invoke("run", "tests.cli.apps:failing", "x")
    line = error_line(result)
    assert "`boom` failed in superstep 1" in line
    assert "RuntimeError: cannot handle x" in line


def test_run_builds_an_orchestration_builder_returned_by_a_factory() -> None:
    result = invoke("run", "tests.cli.apps:pipeline", "hi")
    assert result.exit_code == 0, result.output
    assert "  output from greeter: Hello from the scripted agent." in result.stdout.splitlines()


# -- answering requests in baton run --------------------------------------------------------------


def test_run_takes_an_answer_from_stdin_and_finishes() -> None:
    result = invoke("run", APPROVAL, "tea", stdin='{"ok": true}\n')
    assert result.exit_code == 0, result.output
    assert '"topic":"tea"' in result.stdout  # the request's payload is shown before asking
    assert "answer: " in result.stdout
    assert "  output from reviewer: tea: approved" in result.stdout.splitlines()


def test_run_asks_again_after_a_bad_answer_saying_what_is_expected() -> None:
    result = invoke("run", APPROVAL, "tea", stdin='not json\n{"ok": true}\n')
    assert result.exit_code == 0, result.output
    (complaint,) = [line for line in result.stdout.splitlines() if "not a valid answer" in line]
    assert "`Approval`" in complaint
    assert '"ok": bool' in complaint
    assert '"note": str' in complaint
    assert [line for line in result.stdout.splitlines() if line.startswith("answer: ")] == [
        "answer: not json",
        'answer: {"ok": true}',
    ]
    assert "  output from reviewer: tea: approved" in result.stdout.splitlines()


def test_run_with_json_asks_on_stderr_so_stdout_stays_json() -> None:
    result = invoke("run", "--json", APPROVAL, "tea", stdin='{"ok": false, "note": "cold"}\n')
    assert result.exit_code == 0, result.output
    events = json_lines(result.stdout)
    assert [e["response_type"] for e in events if e["type"] == "request_info"] == ["Approval"]
    assert {"type": "output", "executor_id": "reviewer", "data": "tea: rejected (cold)"} in events
    assert "answer: " in result.stderr


def test_run_at_end_of_input_without_a_store_fails_saying_it_was_not_durable() -> None:
    line = error_line(invoke("run", APPROVAL, "tea", stdin=""))
    assert "not durable" in line
    assert "--store" in line


def test_run_at_end_of_input_with_a_store_pauses_and_says_how_to_resume(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "runs.db")
    result = invoke("run", APPROVAL, "tea", "--store", url, "--run-id", "r1", stdin="")
    assert result.exit_code == 0, result.output
    assert f"run r1 (store {url})" in result.stderr
    assert f"baton runs resume {APPROVAL} r1 --store {url}" in result.stderr
    (request,) = show_json(url, "r1")["pending_requests"]
    assert request["request_id"] in result.stderr


def test_run_refuses_a_run_id_that_the_store_already_has(paused: str) -> None:
    before = show_json(paused, "r1")
    result = invoke("run", APPROVAL, "coffee", "--store", paused, "--run-id", "r1", stdin="")
    assert "r1" in error_line(result)
    assert show_json(paused, "r1") == before


# -- baton runs list|show|resume ------------------------------------------------------------------


@pytest.fixture
def paused(tmp_path: Path) -> str:
    """The URL of a SQLite store holding run ``r1`` of `approval`, paused for its `Approval`."""
    url = sqlite_url(tmp_path / "runs.db")
    result = invoke("run", APPROVAL, "tea", "--store", url, "--run-id", "r1", stdin="")
    assert result.exit_code == 0, result.output
    return url


def test_runs_list_shows_the_paused_run_with_workflow_and_status(paused: str) -> None:
    result = invoke("runs", "list", "--store", paused)
    assert result.exit_code == 0, result.output
    header, row = result.stdout.splitlines()
    assert header.split() == ["RUN", "WORKFLOW", "STATUS", "SUPERSTEP", "UPDATED"]
    assert row.split()[:4] == ["r1", "approval", "idle_with_pending_requests", "1"]


def test_runs_list_json_is_one_document_of_summaries(paused: str) -> None:
    result = invoke("runs", "list", "--store", paused, "--json")
    assert result.exit_code == 0, result.output
    (summary,) = json.loads(result.stdout)
    assert summary["run_id"] == "r1"
    assert summary["workflow"] == "approval"
    assert summary["status"] == "idle_with_pending_requests"
    assert summary["superstep"] == 1


def test_runs_list_reads_the_store_from_baton_store(
    paused: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BATON_STORE", paused)
    result = invoke("runs", "list", "--json")
    assert result.exit_code == 0, result.output
    assert [summary["run_id"] for summary in json.loads(result.stdout)] == ["r1"]


def test_runs_list_on_an_empty_store_says_there_are_no_runs(tmp_path: Path) -> None:
    SqliteCheckpointStore(tmp_path / "empty.db").close()
    result = invoke("runs", "list", "--store", sqlite_url(tmp_path / "empty.db"))
    assert result.exit_code == 0, result.output
    assert "no runs" in result.stdout
    as_json = invoke("runs", "list", "--store", sqlite_url(tmp_path / "empty.db"), "--json")
    assert json.loads(as_json.stdout) == []


def test_runs_show_lists_the_pending_request_with_its_payload(paused: str) -> None:
    request_id = pending_id(paused)
    result = invoke("runs", "show", "r1", "--store", paused)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "run r1"
    assert "pending requests: 1" in lines
    (request_line,) = [line for line in lines if request_id in line]
    assert "from reviewer" in request_line
    assert '"topic": "tea"' in request_line
    assert "outputs: 0" in lines


def test_runs_show_json_has_the_request_and_no_outputs(paused: str) -> None:
    shown = show_json(paused, "r1")
    assert shown["status"] == "idle_with_pending_requests"
    (request,) = shown["pending_requests"]
    assert request["source"] == "reviewer"
    assert request["data"] == {"type": "Draft", "topic": "tea", "text": "All about tea."}
    assert request["response_type"] == "Approval"
    assert shown["outputs"] == []


def test_runs_resume_with_an_answer_completes_and_show_has_the_output(paused: str) -> None:
    request_id = pending_id(paused)
    answer = f'{request_id}={{"ok": false, "note": "x"}}'
    result = invoke("runs", "resume", APPROVAL, "r1", "--store", paused, "--answer", answer)
    assert result.exit_code == 0, result.output
    assert "  output from reviewer: tea: rejected (x)" in result.stdout.splitlines()
    assert "baton runs resume" not in result.stderr  # nothing left to answer
    shown = invoke("runs", "show", "r1", "--store", paused)
    assert "pending requests: 0" in shown.stdout.splitlines()
    assert "  superstep 2, reviewer: tea: rejected (x)" in shown.stdout.splitlines()
    assert show_json(paused, "r1")["status"] == "idle"


def test_runs_resume_accepts_a_unique_prefix_of_the_request_id(paused: str) -> None:
    prefix = pending_id(paused)[:6]
    answer = f'{prefix}={{"ok": true}}'
    result = invoke("runs", "resume", APPROVAL, "r1", "--store", paused, "--answer", answer)
    assert result.exit_code == 0, result.output
    assert "  output from reviewer: tea: approved" in result.stdout.splitlines()


def test_runs_resume_takes_the_answer_from_stdin_without_answer_options(paused: str) -> None:
    result = invoke("runs", "resume", APPROVAL, "r1", "--store", paused, stdin='{"ok": true}\n')
    assert result.exit_code == 0, result.output
    assert "  output from reviewer: tea: approved" in result.stdout.splitlines()


def test_runs_resume_with_an_unknown_request_id_names_the_pending_ones(paused: str) -> None:
    request_id = pending_id(paused)
    result = invoke(
        "runs", "resume", APPROVAL, "r1", "--store", paused, "--answer", 'zzz={"ok": true}'
    )
    line = error_line(result)
    assert "no pending request `zzz`" in line
    assert request_id in line


def test_runs_resume_rejects_an_answer_without_equals_sign(paused: str) -> None:
    line = error_line(invoke("runs", "resume", APPROVAL, "r1", "--store", paused, "--answer", "x"))
    assert "--answer `x` must be REQUEST_ID=VALUE" in line


def test_runs_resume_with_a_bad_answer_delivers_nothing(paused: str) -> None:
    before = show_json(paused, "r1")
    request_id = before["pending_requests"][0]["request_id"]
    result = invoke(
        "runs", "resume", APPROVAL, "r1", "--store", paused, "--answer", f"{request_id}=maybe"
    )
    line = error_line(result)
    assert "not a valid answer" in line
    assert "`Approval`" in line
    after = show_json(paused, "r1")
    assert after["pending_requests"] == before["pending_requests"]
    assert after["checkpoints"] == before["checkpoints"]
    answer = f'{request_id}={{"ok": true}}'
    retried = invoke("runs", "resume", APPROVAL, "r1", "--store", paused, "--answer", answer)
    assert retried.exit_code == 0, retried.output
    assert "tea: approved" in retried.stdout


def test_runs_show_and_resume_of_an_unknown_run_point_to_runs_list(paused: str) -> None:
    for args in (["runs", "show", "nope"], ["runs", "resume", APPROVAL, "nope"]):
        line = error_line(invoke(*args, "--store", paused))
        assert "no run `nope`" in line
        assert "baton runs list" in line


def test_runs_resume_of_a_completed_run_says_nothing_is_left(paused: str) -> None:
    answer = f'{pending_id(paused)}={{"ok": true}}'
    done = invoke("runs", "resume", APPROVAL, "r1", "--store", paused, "--answer", answer)
    assert done.exit_code == 0, done.output
    line = error_line(invoke("runs", "resume", APPROVAL, "r1", "--store", paused))
    assert "nothing left to resume" in line


def test_runs_resume_without_answers_at_end_of_input_asks_for_answer_options(paused: str) -> None:
    result = invoke("runs", "resume", APPROVAL, "r1", "--store", paused, stdin="")
    line = error_line(result)
    assert "--answer" in line
    assert pending_id(paused) in line
    assert show_json(paused, "r1")["status"] == "idle_with_pending_requests"


def test_runs_resume_with_another_workflow_is_refused(paused: str) -> None:
    result = invoke("runs", "resume", "tests.cli.apps:builder", "r1", "--store", paused)
    line = error_line(result)
    assert "different graph" in line
    assert show_json(paused, "r1")["status"] == "idle_with_pending_requests"


# -- logging --------------------------------------------------------------------------------------


def test_log_level_info_with_log_json_writes_json_log_lines_on_stderr() -> None:
    result = invoke(
        "--log-level", "info", "--log-json", "run", "tests.cli.apps:builder", "hi",
        "--run-id", "logged",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    records = json_lines(result.stderr)
    started = [r for r in records if r["event"] == "run_started"]
    assert len(started) == 1
    assert started[0]["run_id"] == "logged"
    assert started[0]["level"] == "info"
    assert "run_completed" in [r["event"] for r in records]
    assert all(not line.startswith("{") for line in result.stdout.splitlines())


def test_default_log_level_prints_no_log_lines() -> None:
    result = invoke("--log-json", "run", "tests.cli.apps:builder", "hi")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""


def test_logging_is_configured_once_per_invocation() -> None:
    invoke("--log-level", "info", "run", "tests.cli.apps:builder", "hi")
    invoke("--log-level", "info", "run", "tests.cli.apps:builder", "hi")
    assert sum(isinstance(h, _CliHandler) for h in logging.getLogger().handlers) == 1


# -- baton demo -----------------------------------------------------------------------------------


@pytest.fixture
def no_openai_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


@pytest.mark.usefixtures("no_openai_env")
def test_demo_model_without_a_key_or_base_url_names_openai_api_key() -> None:
    line = error_line(invoke("demo", "--model", "gpt-test"))
    assert "OPENAI_API_KEY" in line
    assert "--base-url" in line


@pytest.mark.usefixtures("no_openai_env")
def test_demo_model_on_the_switch_demo_is_refused() -> None:
    line = error_line(invoke("demo", "switch", "--model", "gpt-test"))
    assert "switch demo has no agents" in line


@pytest.mark.usefixtures("no_openai_env")
def test_demo_base_url_without_model_is_refused() -> None:
    line = error_line(invoke("demo", "--base-url", "http://127.0.0.1:1/v1"))
    assert "--base-url needs --model" in line


def test_demo_handoff_runs_on_a_real_openai_compatible_server(
    openai_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", openai_server.api_key or "")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    openai_server.script(
        Reply(text="Passing you to returns.", tool_calls=[ToolCall("handoff_to_returns")]),
        Reply(text="Refund or replacement?"),
        Reply(text="A replacement is on its way."),
        Reply(text="Let me look into the other two."),
    )
    result = invoke(
        "demo", "handoff", "--model", "test-model", "--base-url", openai_server.base_url, "--yes"
    )
    assert result.exit_code == 0, (result.output, result.exception)
    lines = [line.strip() for line in result.stdout.splitlines()]
    assert "triage -> returns" in lines
    assert "triage: Passing you to returns." in lines
    assert "returns: Let me look into the other two." in lines
    assert "> customer: /end" in lines
    assert len(openai_server.requests) == 4
    assert openai_server.pending == 0
    assert all(r["model"] == "test-model" and r["stream"] for r in openai_server.requests)
    tools = {t["function"]["name"] for t in openai_server.requests[0]["tools"]}
    assert "handoff_to_returns" in tools
