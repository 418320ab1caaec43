"""Realistic checkpoints for the store tests (also imported by the subprocess writers)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from engine.checkpoint import Checkpoint
from engine.events import RequestInfoEvent, RunStatus
from engine.serialization import TypeRegistry

REGISTRY = TypeRegistry()


@dataclass(frozen=True)
class Draft:
    title: str
    words: tuple[str, ...]


def encode(value: Any) -> Any:
    return REGISTRY.encode(value, "a store test")


class SampleRun:
    """Builds a run's checkpoints as the checkpointer does: each carries only the blobs it adds.

    Step 0 writes the states of `planner` and `writer` and the shared `topic`; every later step
    rewrites `writer`, and even steps add a new `notes` value. So checkpoint n refers to blobs saved
    with earlier checkpoints (always `planner`'s and `topic`'s from step 0).
    """

    def __init__(self, run_id: str | None = None) -> None:
        self.run_id = run_id or f"run-{uuid.uuid4().hex[:8]}"
        self.saved: list[Checkpoint] = []
        self.blobs: dict[str, Any] = {}
        self._prefix = uuid.uuid4().hex[:8]
        self._states: dict[str, str] = {}
        self._shared: dict[str, str] = {}

    def _blob(self, new: dict[str, Any], value: Any) -> str:
        key = f"{self._prefix}.{len(self.blobs) + len(new) + 1}"
        new[key] = encode(value)
        return key

    def next(self, *, final: bool = False) -> Checkpoint:
        """The run's next checkpoint (remembered in `saved` for `expected`)."""
        step = len(self.saved)
        new: dict[str, Any] = {}
        if step == 0:
            self._states["planner"] = self._blob(new, {"plan": ["outline", "draft"], "step": 0})
            self._shared["topic"] = self._blob(new, "naïve bayes — a primer ✓")
        self._states["writer"] = self._blob(
            new, Draft(title=f"draft {step}", words=("lorem",) * step)
        )
        if step % 2 == 0:
            self._shared["notes"] = self._blob(new, {"round": step, "seen": (1, 2, step)})
        request = RequestInfoEvent(
            request_id=f"req-{step}",
            source_executor_id="reviewer",
            data=Draft(title="review me", words=("please",)),
            response_type=bool,
        )
        checkpoint = Checkpoint.model_validate(
            {
                "checkpoint_id": uuid.uuid4().hex,
                "run_id": self.run_id,
                "parent_id": self.saved[-1].checkpoint_id if self.saved else None,
                "superstep": step,
                "status": RunStatus.IDLE if final else RunStatus.RUNNING,
                "reason": "entry" if step == 0 else "superstep",
                "created_at": time.time(),
                "workflow_name": "essay",
                "graph_signature": "sig-" + "0" * 60,
                "graph": {"executors": ["planner", "writer"], "edges": [["planner", "writer"]]}
                if step == 0
                else None,
                "pending": [
                    {"target": "writer", "source": "planner", "payload": encode(Draft("t", ("a",)))}
                ],
                "fan_in_buffers": {"0": {"planner": [encode(("partial", step))]}},
                "executor_states": dict(self._states),
                "shared_state": dict(self._shared),
                "pending_requests": [encode(request)],
                "answered_request_ids": [f"req-{n}" for n in range(step)],
                "completed": {},
                "error": None,
                "blobs": new,
            }
        )
        self.blobs.update(new)
        self.saved.append(checkpoint)
        return checkpoint

    def expected(self, checkpoint: Checkpoint) -> Checkpoint:
        """`checkpoint` as a store must load it: with every blob it refers to."""
        blobs = {key: self.blobs[key] for key in checkpoint.blob_keys}
        return checkpoint.model_copy(update={"blobs": blobs})

    def blob_key(self, checkpoint: Checkpoint, executor_id: str) -> str:
        return checkpoint.executor_states[executor_id]
