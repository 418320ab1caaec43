"""What a checkpoint store can say about its runs without the workflow's code: `baton runs list|show`.

Stored values are in the checkpoint serializer's tagged JSON. Decoding them would need the workflow's
types imported, so `plain` shows them as JSON instead, each tagged object as ``{"type": <class name>,
...its fields}``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from cli.errors import CliError
from engine import CheckpointError, CheckpointStore, RunStatus
from engine.serialization import TAG

__all__ = ["RunSummary", "StoredOutput", "StoredRequest", "plain", "run_details", "summarize"]


@dataclass(frozen=True, slots=True)
class RunSummary:
    """One run as `runs list` shows it."""

    run_id: str
    workflow: str
    """The workflow's name (``?`` when its newest checkpoint is damaged)."""
    status: RunStatus
    superstep: int
    checkpoints: int
    updated: float
    """When the newest checkpoint was taken (seconds since the epoch)."""

    @property
    def updated_text(self) -> str:
        """`updated` as local ``YYYY-MM-DD HH:MM:SS``."""
        return dt.datetime.fromtimestamp(self.updated).strftime("%Y-%m-%d %H:%M:%S")

    def to_json(self) -> dict[str, Any]:
        """The summary as JSON-ready data."""
        return {
            "run_id": self.run_id,
            "workflow": self.workflow,
            "status": str(self.status),
            "superstep": self.superstep,
            "checkpoints": self.checkpoints,
            "updated": self.updated,
        }


@dataclass(frozen=True, slots=True)
class StoredRequest:
    """A pending request as stored."""

    request_id: str
    source: str
    data: Any
    response_type: str


@dataclass(frozen=True, slots=True)
class StoredOutput:
    """A workflow output as stored, with the superstep that yielded it."""

    superstep: int
    executor_id: str
    data: Any


async def summarize(store: CheckpointStore, run_id: str) -> RunSummary:
    """The run's summary; `CliError` when the store has no such run."""
    infos = await store.list_checkpoints(run_id)
    if not infos:
        raise CliError(f"the store has no run `{run_id}`; `baton runs list` shows the runs it has.")
    newest = infos[-1]
    try:
        latest = await store.latest(run_id)
        name = latest.workflow_name if latest is not None else "?"
    except CheckpointError:
        name = "?"
    return RunSummary(run_id, name, newest.status, newest.superstep, len(infos), newest.created_at)


async def run_details(
    store: CheckpointStore, run_id: str
) -> tuple[RunSummary, list[StoredRequest], list[StoredOutput]]:
    """A run's summary, its pending requests, and every output its checkpoints recorded.

    Reads every checkpoint of the run: the cost follows the run's length.
    """
    summary = await summarize(store, run_id)
    outputs: list[StoredOutput] = []
    requests: list[StoredRequest] = []
    for info in await store.list_checkpoints(run_id):
        checkpoint = await store.load(info.checkpoint_id)
        outputs.extend(
            StoredOutput(
                checkpoint.superstep,
                item["executor_id"],
                plain(item["data"])
                if "data" in item
                else f"<not stored: a {item.get('unserializable')}>",
            )
            for item in checkpoint.outputs
        )
        requests = [_request(item) for item in checkpoint.pending_requests]
    return summary, requests, outputs


def _request(item: Any) -> StoredRequest:
    fields = item.get("fields", {}) if isinstance(item, dict) else {}
    return StoredRequest(
        str(fields.get("request_id", "?")),
        str(fields.get("source_executor_id", "?")),
        plain(fields.get("data")),
        str(plain(fields.get("response_type"))),
    )


def plain(value: Any) -> Any:
    """Stored tagged JSON as plain JSON: tagged objects become ``{"type": name, ...}``."""
    if isinstance(value, list):
        return [plain(item) for item in value]
    if not isinstance(value, dict):
        return value
    if TAG not in value:
        return {key: plain(item) for key, item in value.items()}
    tag = str(value[TAG])
    if tag in ("tuple", "set", "frozenset"):
        return [plain(item) for item in value.get("items") or value.get("value") or []]
    if tag == "dict":
        return {str(plain(k)): plain(v) for k, v in value.get("items", [])}
    if tag == "type":
        return _short(str(value.get("name", "?")))
    if tag == "generic":
        args = ", ".join(str(plain(a)) for a in value.get("args", []))
        return f"{value.get('origin')}[{args}]"
    name = _short(tag)
    inner = value.get("fields", value.get("data", value.get("value")))
    shown = plain(inner)
    return {"type": name, **shown} if isinstance(shown, dict) else {"type": name, "value": shown}


def _short(name: str) -> str:
    return name.rpartition(":")[2] or name
