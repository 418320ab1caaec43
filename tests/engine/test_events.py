from __future__ import annotations

import json
from dataclasses import dataclass

from engine import OutputEvent, RunStatus, StatusEvent, WorkflowBuilder, WorkflowContext, executor
from engine.events import event_to_dict


@dataclass
class Report:
    title: str
    pages: int


@executor(id="write")
async def write(title: str, ctx: WorkflowContext[None, Report]) -> None:
    await ctx.yield_output(Report(title, 3))


async def test_every_event_of_a_run_turns_into_json_ready_data() -> None:
    result = await WorkflowBuilder(start_executor=write).build().run("notes")
    rows = [event_to_dict(event) for event in result.events]
    json.dumps(rows)  # raises if anything is not JSON-ready
    assert [row["type"] for row in rows] == [event.type for event in result.events]
    output = next(row for row in rows if row["type"] == "output")
    assert output == {
        "type": "output",
        "executor_id": "write",
        "data": {"title": "notes", "pages": 3},
    }


def test_events_are_frozen_values_compared_by_content() -> None:
    assert OutputEvent("a", 1) == OutputEvent("a", 1)
    assert StatusEvent(RunStatus.IDLE).type == "status"
    assert event_to_dict(StatusEvent(RunStatus.IDLE)) == {"type": "status", "status": "idle"}
