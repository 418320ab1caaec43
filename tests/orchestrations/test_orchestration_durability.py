"""Orchestration runs checkpoint mid-run and continue in a fresh process to the same outputs.

Each test starts a run of `durable_orchestrations_app` in one interpreter with a SQLite store, continues
it in another (and a third) and compares with an uninterrupted run of the same workflow in this process.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from engine import CheckpointInfo, RunStatus, SqliteCheckpointStore
from tests.orchestrations.durable_orchestrations_app import (
    PROMPTS,
    answer_all,
    build,
    calls,
    plain,
)

ROOT = Path(__file__).resolve().parents[2]
APP = "tests.orchestrations.durable_orchestrations_app"


def app(*args: str) -> Any:
    """Run the app in a fresh interpreter and return its JSON report."""
    done = subprocess.run(
        [sys.executable, "-m", APP, *args],  # `-m` from the repo root finds the packages and tests
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def in_process(kind: str, answers: list[str]) -> dict[str, Any]:
    """The outputs, final requests and model calls of an uninterrupted run given `answers`."""

    async def go() -> dict[str, Any]:
        workflow, clients = build(kind)
        result, outputs = await answer_all(await workflow.run(PROMPTS[kind]), answers)
        return {
            "status": str(result.status),
            "outputs": plain(outputs),
            "requests": [plain(r.data) for r in result.requests],
            "calls": calls(clients),
        }

    return asyncio.run(go())


def merged_calls(*reports: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The model calls of several processes, per agent, in process order."""
    merged: dict[str, list[dict[str, Any]]] = {}
    for report in reports:
        for name, made in report["calls"].items():
            merged.setdefault(name, []).extend(made)
    return merged


def only_request(report: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    (request,) = report["requests"]
    return request["request_id"], request["data"]


def reply_text(data: dict[str, Any]) -> str:
    """The text of an agent reply, or of the reply a review or handoff request carries."""
    response = data.get("response") or data.get("agent_response") or data
    return "".join(
        part["text"]
        for message in response["messages"]
        for part in message["contents"]
        if part["type"] == "text"
    )


def texts(conversation: list[dict[str, Any]]) -> list[tuple[str, str]]:
    found = []
    for message in conversation:
        text = "".join(p["text"] for p in message["contents"] if p["type"] == "text")
        if text:
            found.append((message["author_name"] or message["role"], text))
    return found


async def checkpoints_of(path: Path, run_id: str) -> list[CheckpointInfo]:
    store = SqliteCheckpointStore(path)
    try:
        return await store.list_checkpoints(run_id)
    finally:
        store.close()


def test_a_reviewed_sequential_run_is_revised_and_approved_in_later_processes(
    tmp_path: Path,
) -> None:
    db = str(tmp_path / "runs.sqlite3")
    expected = in_process("sequential", ["more formal", "approve"])

    first = app("start", "sequential", db, "seq")
    assert first["status"] == "idle_with_pending_requests" and first["outputs"] == []
    request_id, draft = only_request(first)
    assert (draft["agent_name"], draft["revision"]) == ("writer", 0)
    assert reply_text(draft) == "tea is great lol"

    second = app(
        "resume", "sequential", db, "seq", "--request-id", request_id, "--answer", "more formal"
    )
    assert second["status"] == "idle_with_pending_requests" and second["outputs"] == []
    revised_id, revised = only_request(second)
    assert revised_id != request_id
    assert (revised["agent_name"], revised["revision"]) == ("writer", 1)
    assert reply_text(revised) == "Tea is a beverage of considerable distinction."
    assert second["calls"] == {  # only the writer ran again, and it read the feedback
        "writer": [{"last": ["user", "more formal"], "last_user": "more formal"}]
    }

    third = app(
        "resume", "sequential", db, "seq", "--request-id", revised_id, "--answer", "approve"
    )
    assert third["status"] == "idle" and third["requests"] == []
    (final,) = third["outputs"]
    assert reply_text(final) == "Edited: Tea, a beverage of considerable distinction."
    assert third["outputs"] == expected["outputs"]
    assert third["calls"] == {
        "editor": [
            {
                "last": ["writer", "Tea is a beverage of considerable distinction."],
                "last_user": "more formal",
            }
        ]
    }
    assert merged_calls(first, second, third) == expected["calls"]


def test_a_handoff_paused_on_the_user_is_answered_and_terminated_in_another_process(
    tmp_path: Path,
) -> None:
    db = str(tmp_path / "runs.sqlite3")
    expected = in_process("handoff", ["make it more formal", "terminate"])

    first = app("start", "handoff", db, "desk")
    assert first["status"] == "idle_with_pending_requests" and first["outputs"] == []
    request_id, asked = only_request(first)
    assert (asked["agent_name"], asked["reason"]) == ("billing", "turn_finished")
    assert reply_text(asked) == "Fixed it, the 2nd charge is refunded."
    assert list(first["calls"]) == ["triage", "billing"]

    answers = ["--answer", "make it more formal", "--answer", "terminate"]
    second = app("resume", "handoff", db, "desk", "--request-id", request_id, *answers)
    assert second["status"] == "idle" and second["requests"] == []
    assert second["calls"] == {  # the reply reached billing, and nobody else ran again
        "billing": [{"last": ["user", "make it more formal"], "last_user": "make it more formal"}]
    }
    (conversation,) = second["outputs"]
    assert texts(conversation) == [
        ("user", "My invoice charged me twice."),
        ("billing", "Fixed it, the 2nd charge is refunded."),
        ("user", "make it more formal"),
        ("billing", "Dear customer, the duplicate charge has been refunded."),
    ]
    assert second["outputs"] == expected["outputs"]
    assert merged_calls(first, second) == expected["calls"]
    latest = asyncio.run(checkpoints_of(tmp_path / "runs.sqlite3", "desk"))[-1]
    assert latest.status is RunStatus.IDLE


def test_a_concurrent_run_resumes_from_its_mid_run_checkpoints_in_another_process(
    tmp_path: Path,
) -> None:
    db = tmp_path / "runs.sqlite3"
    expected = in_process("concurrent", [])
    assert texts(expected["outputs"][0]) == [
        ("optimist", "Yes, in a good flask."),
        ("pessimist", "No, it will be cold by eleven."),
    ]

    whole = app("start", "concurrent", str(db), "fan")
    assert whole["status"] == "idle" and whole["outputs"] == expected["outputs"]
    by_step = {c.superstep: c for c in asyncio.run(checkpoints_of(db, "fan"))}
    assert sorted(by_step) == [0, 1, 2, 3]  # entry, dispatcher, participants, aggregator
    dispatched, answered = by_step[1], by_step[2]

    resumed = app("fork", "concurrent", str(db), dispatched.checkpoint_id, answered.checkpoint_id)
    after_dispatch, after_answers = resumed
    assert "fan" not in (after_dispatch["run_id"], after_answers["run_id"])  # forks, new lineages
    assert after_dispatch["status"] == after_answers["status"] == "idle"
    assert after_dispatch["outputs"] == after_answers["outputs"] == expected["outputs"]
    # From the dispatcher's checkpoint both participants answer; from theirs, only the aggregator runs.
    assert after_dispatch["calls"] == expected["calls"]
    assert after_answers["calls"] == {}


def test_a_group_chat_resumes_from_a_mid_chat_checkpoint_in_another_process(
    tmp_path: Path,
) -> None:
    db = tmp_path / "runs.sqlite3"
    expected = in_process("group_chat", [])
    assert texts(expected["outputs"][0]) == [
        ("user", "A slogan for a tea shop, please."),
        ("writer", "Tea time, any time."),
        ("critic", "Too plain; try a pun."),
        ("writer", "Steeped in time."),
    ]
    whole = app("start", "group_chat", str(db), "chat")
    assert whole["status"] == "idle" and whole["outputs"] == expected["outputs"]
    by_step = {c.superstep: c for c in asyncio.run(checkpoints_of(db, "chat"))}
    assert sorted(by_step) == list(range(8))  # entry, then manager and speaker in turn, 3 rounds
    (after_critic,) = app("fork", "group_chat", str(db), by_step[4].checkpoint_id)
    assert after_critic["status"] == "idle"
    assert after_critic["outputs"] == expected["outputs"]
    # Only the last round is left: the writer speaks once more; nobody repeats a turn.
    assert list(after_critic["calls"]) == ["writer"]
    assert len(after_critic["calls"]["writer"]) == 1
