from __future__ import annotations

import itertools
import sqlite3
from collections import Counter as Tally
from pathlib import Path
from typing import Any, ClassVar

import pytest

from engine import (
    Checkpoint,
    CheckpointError,
    CheckpointNotFoundError,
    Executor,
    ExecutorFailedError,
    GraphMismatchError,
    InMemoryCheckpointStore,
    RunResult,
    RunStatus,
    SerializationError,
    SqliteCheckpointStore,
    WarningEvent,
    WorkflowBuilder,
    WorkflowContext,
    WorkflowExecutor,
    executor,
    handler,
)
from engine.stores.base import CheckpointStore
from tests.engine.durable_app import Approval, Counter, build, outputs_after


class RecordingStore(InMemoryCheckpointStore):
    """An in-memory store that also keeps each checkpoint exactly as it was saved."""

    def __init__(self) -> None:
        super().__init__()
        self.saved: list[Checkpoint] = []

    async def save(self, checkpoint: Checkpoint) -> None:
        self.saved.append(checkpoint)
        await super().save(checkpoint)


async def run_to_completion(store: CheckpointStore) -> tuple[RunResult, RunResult]:
    workflow = build()
    paused = await workflow.run("tea", checkpoint_store=store, run_id="run-1")
    assert paused.run is not None
    (request,) = paused.requests
    done = await paused.run.respond({request.request_id: Approval(ok=True)})
    return paused, done


async def test_checkpoints_are_taken_at_entry_after_every_superstep_and_when_answers_arrive() -> (
    None
):
    store = RecordingStore()
    paused, done = await run_to_completion(store)
    reasons = [c.reason for c in store.saved]
    supersteps = paused.supersteps
    assert reasons == ["entry"] + ["superstep"] * supersteps + ["responses", "superstep"]
    assert [c.superstep for c in store.saved] == [
        *range(supersteps + 1),
        supersteps,
        supersteps + 1,
    ]
    assert all(c.parent_id == p.checkpoint_id for p, c in itertools.pairwise(store.saved))
    assert store.saved[0].parent_id is None
    assert {c.run_id for c in store.saved} == {"run-1"}
    assert store.saved[supersteps].status is RunStatus.IDLE_WITH_PENDING_REQUESTS
    assert store.saved[-1].status is RunStatus.IDLE
    assert done.checkpoint_id == store.saved[-1].checkpoint_id
    assert len({c.graph_signature for c in store.saved}) == 1
    assert store.saved[0].graph is not None and store.saved[1].graph is None


async def test_a_checkpoint_holds_messages_buffers_states_shared_state_and_requests() -> None:
    store = RecordingStore()
    paused, _ = await run_to_completion(store)
    after_split = await store.load(store.saved[1].checkpoint_id)
    assert [(m["source"], m["target"]) for m in after_split.pending] == [
        ("split", "left"),
        ("split", "right"),
    ]
    assert after_split.blobs[after_split.shared_state["topic"]] == "tea"
    after_workers = await store.load(store.saved[2].checkpoint_id)
    assert [m["target"] for m in after_workers.pending] == ["join"]
    assert after_workers.blobs[after_workers.executor_states["left"]] == ["left"]
    in_loop = await store.load(store.saved[4].checkpoint_id)
    assert in_loop.pending[0]["payload"]["fields"] == {"n": 2}
    at_pause = await store.load(store.saved[paused.supersteps].checkpoint_id)
    assert len(at_pause.pending_requests) == 1 and at_pause.pending == []


async def test_fan_in_buffers_are_checkpointed_while_a_set_is_partial() -> None:
    store = RecordingStore()

    @executor(id="fast")
    async def fast(text: str) -> str:
        return text

    @executor(id="hop")
    async def hop(text: str) -> str:
        return text

    @executor(id="slow")
    async def slow(text: str) -> str:
        return text

    @executor(id="gather")
    async def gather(parts: list[str], ctx: WorkflowContext[None, str]) -> None:
        await ctx.yield_output("|".join(parts))

    @executor(id="begin")
    async def begin(text: str) -> str:
        return text

    workflow = (
        WorkflowBuilder(start_executor=begin)
        .add_fan_out_edges(begin, [fast, hop])
        .add_edge(hop, slow)
        .add_fan_in_edges([fast, slow], gather)
        .build()
    )
    result = await workflow.run("x", checkpoint_store=store)
    assert result.outputs == ("x|x",)
    partial = [c.fan_in_buffers for c in store.saved if c.fan_in_buffers]
    assert len(partial) == 1 and list(partial[0].values()) == [{"fast": ["x"]}]


async def test_unchanged_executor_states_are_not_serialized_again() -> None:
    store = RecordingStore()
    await run_to_completion(store)
    keys = [c.executor_states.get("left") for c in store.saved]
    first = next(k for k in keys if k is not None)
    assert all(k == first for k in keys if k is not None)  # written once, referred to after
    carrying = [c for c in store.saved if first in c.blobs]
    assert len(carrying) == 1  # only the checkpoint of the superstep that wrote it carries it
    loop_keys = {c.executor_states.get("loop") for c in store.saved} - {None}
    assert len(loop_keys) == 3  # the loop wrote its state in three supersteps


async def test_resuming_from_every_non_terminal_checkpoint_gives_the_same_outputs() -> None:
    store = RecordingStore()
    paused, done = await run_to_completion(store)
    events = paused.events + done.events
    for checkpoint in list(store.saved[:-1]):
        result = await build().resume(checkpoint_id=checkpoint.checkpoint_id, store=store)
        outputs = list(result.outputs)
        if result.requests:
            assert result.run is not None
            answered = await result.run.respond(
                {r.request_id: Approval(ok=True) for r in result.requests}
            )
            outputs += answered.outputs
        expected = outputs_after(events, checkpoint.superstep)
        if checkpoint.reason == "responses":
            expected = list(done.outputs)
        assert outputs == expected, checkpoint.reason + str(checkpoint.superstep)


async def test_resuming_by_checkpoint_forks_a_new_lineage_and_leaves_the_old_one_intact() -> None:
    store = RecordingStore()
    paused, _ = await run_to_completion(store)
    before = await store.list_checkpoints("run-1")
    middle = store.saved[3]
    result = await build().resume(
        checkpoint_id=middle.checkpoint_id, store=store, new_run_id="fork"
    )
    assert result.run_id == "fork"
    assert await store.list_checkpoints("run-1") == before
    forked = await store.list_checkpoints("fork")
    assert forked[0].reason == "entry" and forked[0].parent_id == middle.checkpoint_id
    assert forked[0].superstep == middle.superstep
    assert await store.list_runs() == ["run-1", "fork"]


async def test_resume_by_run_id_continues_the_latest_checkpoint_and_can_answer_in_the_same_call() -> (
    None
):
    store = RecordingStore()
    workflow = build()
    paused = await workflow.run("tea", checkpoint_store=store, run_id="r")
    (request,) = paused.requests
    result = await build().resume("r", store=store, responses={request.request_id: {"ok": False}})
    assert result.run_id == "r"
    assert result.outputs == ("tea total 6: rejected",)
    assert result.status is RunStatus.IDLE
    assert [c.reason for c in store.saved[-2:]] == ["responses", "superstep"]
    assert store.saved[-2].parent_id == paused.checkpoint_id


async def test_reopen_shows_a_stored_runs_pending_requests_before_anything_runs() -> None:
    store = RecordingStore()
    paused = await build().run("tea", checkpoint_store=store, run_id="r")
    saved = len(store.saved)
    run = await build().reopen("r", store=store)
    assert run.run_id == "r"
    assert run.status is RunStatus.IDLE_WITH_PENDING_REQUESTS
    assert [r.request_id for r in run.pending_requests] == [r.request_id for r in paused.requests]
    assert len(store.saved) == saved  # reopening writes nothing
    (request,) = run.pending_requests
    result = await run.resume({request.request_id: {"ok": True}})
    assert result.outputs == ("tea total 6: approved",)
    with pytest.raises(RuntimeError, match="already driven"):
        await run.resume()


async def test_each_superstep_checkpoint_records_the_outputs_it_yielded() -> None:
    store = RecordingStore()
    paused, done = await run_to_completion(store)
    recorded = [(c.superstep, o["executor_id"], o["data"]) for c in store.saved for o in c.outputs]
    everything = (*paused.outputs, *done.outputs)
    assert [data for _, _, data in recorded] == list(everything)
    assert all(c.outputs == [] for c in store.saved if c.reason != "superstep")
    assert {eid for _, eid, _ in recorded} >= {"left", "right"}


async def test_an_output_the_registry_cannot_write_is_recorded_by_type_and_the_run_goes_on() -> (
    None
):
    class Opaque:
        pass

    @executor(id="emit")
    async def emit(text: str, ctx: WorkflowContext[None, Any]) -> None:
        await ctx.yield_output(Opaque())

    store = RecordingStore()
    workflow = WorkflowBuilder(start_executor=emit).build()
    result = await workflow.run("x", checkpoint_store=store)
    assert result.status is RunStatus.IDLE
    (stored,) = [o for c in store.saved for o in c.outputs]
    assert stored == {"executor_id": "emit", "unserializable": Opaque.__qualname__}


async def test_a_new_run_or_fork_under_a_run_id_the_store_has_is_refused() -> None:
    store = RecordingStore()
    paused = await build().run("tea", checkpoint_store=store, run_id="r")
    saved = list(store.saved)
    with pytest.raises(CheckpointError, match="already has a run `r`.*workflow.resume"):
        await build().run("coffee", checkpoint_store=store, run_id="r")
    with pytest.raises(CheckpointError, match="already has a run `r`"):
        await build().resume(checkpoint_id=paused.checkpoint_id, store=store, new_run_id="r")
    assert store.saved == saved  # nothing was written under the existing run
    (request,) = paused.requests
    done = await build().resume("r", store=store, responses={request.request_id: {"ok": True}})
    assert done.outputs == ("tea total 6: approved",)


async def test_a_completed_run_and_an_unknown_run_cannot_be_resumed() -> None:
    store = RecordingStore()
    await run_to_completion(store)
    with pytest.raises(CheckpointError, match="completed at superstep 8 .*nothing left to resume"):
        await build().resume("run-1", store=store)
    with pytest.raises(CheckpointNotFoundError, match="no checkpoints for run `ghost`"):
        await build().resume("ghost", store=store)
    with pytest.raises(ValueError, match="exactly one of `run_id` or `checkpoint_id`"):
        await build().resume(store=store)


async def test_resuming_onto_a_different_graph_is_refused_naming_what_differs() -> None:
    store = RecordingStore()
    paused = await build().run("tea", checkpoint_store=store, run_id="g")

    @executor(id="loop")
    async def other_loop(counter: Counter, ctx: WorkflowContext[None, str]) -> None:
        await ctx.yield_output("different")

    @executor(id="split")
    async def split(topic: str, ctx: WorkflowContext[None, str]) -> None:
        await ctx.yield_output(topic)

    changed = WorkflowBuilder(start_executor=split, name="durable_app").build()
    with pytest.raises(GraphMismatchError) as caught:
        await changed.resume("g", store=store)
    message = str(caught.value)
    assert "was taken on a different graph than `durable_app`" in message
    assert "executor `left` was removed" in message
    assert "executor `split` changed from `tests.engine.durable_app.Split`" in message
    assert "edge group 1 changed from fan_out [split] -> [left, right] to nothing" in message
    assert paused.checkpoint_id is not None
    assert (await store.latest("g")) is not None  # nothing was written


async def test_an_unserializable_value_fails_the_save_naming_the_type_and_executor() -> None:
    class Opaque:
        pass

    @executor(id="holder")
    async def holder(text: str, ctx: WorkflowContext[None, str]) -> None:
        ctx.set_state(Opaque())
        await ctx.yield_output(text)

    workflow = WorkflowBuilder(start_executor=holder).build()
    with pytest.raises(SerializationError) as caught:
        await workflow.run("x", checkpoint_store=InMemoryCheckpointStore())
    message = str(caught.value)
    assert ".Opaque` (the state of executor `holder`)" in message
    assert "engine.register_type(Opaque" in message


class Effects(Executor):
    """Counts its side effects; the executor named `flaky` fails while `broken` is set."""

    calls: ClassVar[Tally[str]] = Tally()
    broken: ClassVar[bool] = True

    @handler
    async def on(self, text: str, ctx: WorkflowContext[str, str]) -> None:
        Effects.calls[self.id] += 1
        if self.id == "flaky" and Effects.broken:
            raise RuntimeError("service down")
        ctx.set_state(f"{self.id} done")
        ctx.shared.set(self.id, True)
        await ctx.yield_output(f"{self.id}:{text}")
        await ctx.send_message(f"{self.id}:{text}")


async def test_resuming_a_failed_superstep_reruns_only_the_executor_that_failed() -> None:
    Effects.calls.clear()
    Effects.broken = True
    store = RecordingStore()

    @executor(id="fan")
    async def fan(text: str) -> str:
        return text

    @executor(id="gather")
    async def gather(parts: list[str], ctx: WorkflowContext[None, str]) -> None:
        await ctx.yield_output(" & ".join(parts))

    sides = [Effects("steady"), Effects("flaky"), Effects("other")]
    workflow = (
        WorkflowBuilder(start_executor=fan)
        .add_fan_out_edges(fan, sides)
        .add_fan_in_edges(sides, gather)
        .build()
    )
    with pytest.raises(ExecutorFailedError, match="executor `flaky` failed in superstep 2"):
        await workflow.run("go", checkpoint_store=store, run_id="f")
    failure = store.saved[-1]
    assert failure.reason == "failure" and failure.status is RunStatus.FAILED
    assert "service down" in (failure.error or "")
    assert sorted(failure.completed) == ["other", "steady"]
    assert failure.superstep == 1 and len(failure.pending) == 3
    assert Effects.calls == Tally(steady=1, flaky=1, other=1)

    Effects.broken = False
    result = await workflow.resume("f", store=store)
    assert Effects.calls == Tally(steady=1, flaky=2, other=1)  # only `flaky` ran again
    assert result.outputs == (
        "steady:go",
        "flaky:go",
        "other:go",
        "steady:go & flaky:go & other:go",
    )
    assert result.status is RunStatus.IDLE
    final = await store.latest("f")
    assert final is not None
    assert sorted(final.executor_states) == ["flaky", "other", "steady"]
    assert sorted(final.shared_state) == ["flaky", "other", "steady"]


async def test_a_damaged_newest_checkpoint_is_skipped_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite3"
    store = SqliteCheckpointStore(path)
    workflow = build()
    await workflow.run("tea", checkpoint_store=store, run_id="d")
    checkpoints = await store.list_checkpoints("d")
    with sqlite3.connect(path) as db:
        db.execute(
            "UPDATE checkpoints SET body = substr(body, 1, 40) WHERE checkpoint_id = ?",
            (checkpoints[-1].checkpoint_id,),
        )
    result = await build().resume("d", store=store)
    warnings = [e for e in result.events if isinstance(e, WarningEvent)]
    assert len(warnings) == 1
    assert f"`{checkpoints[-1].checkpoint_id}` of run `d` is damaged" in warnings[0].message
    assert checkpoints[-2].checkpoint_id in warnings[0].message
    assert result.supersteps == checkpoints[-1].superstep  # the last superstep ran again
    assert result.status is RunStatus.IDLE_WITH_PENDING_REQUESTS
    assert len(result.requests) == 1
    store.close()


async def test_a_paused_sub_workflow_is_carried_by_the_outer_checkpoint() -> None:
    store = RecordingStore()
    outer = WorkflowBuilder(start_executor=WorkflowExecutor(build(), "inner"), name="outer").build()
    paused = await outer.run("tea", checkpoint_store=store, run_id="outer")
    (request,) = paused.requests
    assert request.source_executor_id == "inner"
    result = await outer.resume("outer", store=store, responses={request.request_id: {"ok": True}})
    assert result.status is RunStatus.IDLE
    assert result.events[-1].type == "status"
    dropped = [e for e in result.events if e.type == "message_dropped"]
    assert len(dropped) == 1 and dropped[0].message_type == "str"  # the inner output, no edge


async def test_durable_runs_default_to_the_embedded_sqlite_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "default.sqlite3"
    monkeypatch.setenv("BATON_CHECKPOINTS", str(path))
    paused = await build().run("tea", durable=True, run_id="default")
    assert path.exists()
    (request,) = paused.requests
    done = await build().resume("default", responses={request.request_id: Approval(ok=True)})
    assert done.outputs == ("tea total 6: approved",)


def test_a_checkpoint_store_must_implement_the_protocol() -> None:
    with pytest.raises(TypeError, match="must implement engine.CheckpointStore"):
        build().start("tea", checkpoint_store={})  # type: ignore[arg-type]


def test_the_fast_checkpoint_constructor_equals_pydantics() -> None:
    from engine.checkpoint import new_checkpoint

    fields: dict[str, Any] = {
        name: None for name in Checkpoint.model_fields if name not in {"superstep", "reason"}
    }
    fields.update(superstep=3, reason="superstep", status=RunStatus.RUNNING, blobs={"k": [1]})
    fast = new_checkpoint(**fields)
    assert fast == Checkpoint.model_construct(**fields)
    assert fast.model_dump() == Checkpoint.model_construct(**fields).model_dump()
    assert fast.model_copy(update={"blobs": {}}).blobs == {}  # the store's load path
    with pytest.raises(TypeError, match="needs exactly the fields"):
        new_checkpoint(superstep=1)


async def test_the_graph_signature_covers_nested_workflows() -> None:
    store = RecordingStore()
    outer = WorkflowBuilder(start_executor=WorkflowExecutor(build(), "inner"), name="outer").build()
    await outer.run("tea", checkpoint_store=store, run_id="nested")

    @executor(id="split")
    async def split(topic: str, ctx: WorkflowContext[None, str]) -> None:
        await ctx.yield_output(topic)

    other_inner = WorkflowBuilder(start_executor=split).build()
    changed = WorkflowBuilder(start_executor=WorkflowExecutor(other_inner, "inner"), name="outer")
    with pytest.raises(GraphMismatchError, match="inside `inner`: executor `left` was removed"):
        await changed.build().resume("nested", store=store)
