"""A multi-step durable workflow that tests drive in separate processes.

Wiring: split -> fan-out(left, right) -> fan-in -> join -> loop (x3, self-edge) -> review (asks a person)

Usage: ``python -m tests.engine.durable_app start DB RUN_ID`` or
``python -m tests.engine.durable_app resume DB (--run-id ID | --checkpoint-id ID) [--answer yes|no]``.
Prints one JSON line: ``{"run_id", "status", "outputs", "requests"}``. Setting ``DURABLE_APP_DELAY``
makes every handler sleep that many seconds (for kill tests).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from engine import (
    BatonWarning,
    Executor,
    OutputEvent,
    RunResult,
    SqliteCheckpointStore,
    SuperstepCompletedEvent,
    Workflow,
    WorkflowBuilder,
    WorkflowContext,
    WorkflowEvent,
    handler,
    response_handler,
)


class Item(BaseModel):
    topic: str
    side: str


@dataclass(frozen=True)
class Counter:
    n: int


class Approval(BaseModel):
    ok: bool


async def pause() -> None:
    delay = float(os.environ.get("DURABLE_APP_DELAY", "0"))
    if delay:
        await asyncio.sleep(delay)


class Split(Executor):
    @handler
    async def on(self, topic: str, ctx: WorkflowContext[Item]) -> None:
        await pause()
        ctx.shared.set("topic", topic)
        await ctx.send_message(Item(topic=topic, side="left"), target_id="left")
        await ctx.send_message(Item(topic=topic, side="right"), target_id="right")


class Worker(Executor):
    @handler
    async def on(self, item: Item, ctx: WorkflowContext[str, str]) -> None:
        await pause()
        seen = ctx.get_state([])
        ctx.set_state([*seen, item.side])
        await ctx.yield_output(f"{self.id} saw {item.topic}")
        await ctx.send_message(f"{item.side}:{item.topic}")


class Join(Executor):
    @handler
    async def on(self, parts: list[str], ctx: WorkflowContext[Counter, str]) -> None:
        await pause()
        await ctx.yield_output(" + ".join(parts))
        await ctx.send_message(Counter(1))


class Loop(Executor):
    @handler
    async def on(self, counter: Counter, ctx: WorkflowContext[Counter | str, str]) -> None:
        await pause()
        total = ctx.get_state(0) + counter.n
        ctx.set_state(total)
        await ctx.yield_output(f"loop {counter.n} total {total}")
        if counter.n < 3:
            await ctx.send_message(Counter(counter.n + 1), target_id="loop")
        else:
            await ctx.send_message(f"{ctx.shared.get('topic')} total {total}", target_id="review")


class Review(Executor):
    @handler
    async def on(self, summary: str, ctx: WorkflowContext[None, str]) -> None:
        await pause()
        await ctx.request_info(Item(topic=summary, side="review"), response_type=Approval)

    @response_handler
    async def decided(self, item: Item, answer: Approval, ctx: WorkflowContext[None, str]) -> None:
        await ctx.yield_output(f"{item.topic}: {'approved' if answer.ok else 'rejected'}")


def build() -> Workflow:
    """The workflow under test (every process builds the same graph)."""
    split = Split("split")
    left, right = Worker("left"), Worker("right")
    builder = (
        WorkflowBuilder(start_executor=split, name="durable_app")
        .add_fan_out_edges(split, [left, right])
        .add_fan_in_edges([left, right], Join("join"))
        .add_edge("join", Loop("loop"))
        .add_edge("loop", "loop", condition=lambda c: isinstance(c, Counter))
        .add_edge("loop", Review("review"), condition=lambda s: isinstance(s, str))
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BatonWarning)  # the bounded self-loop is intended
        return builder.build()


def outputs_after(events: Sequence[WorkflowEvent], superstep: int) -> list[Any]:
    """Outputs an uninterrupted run yielded in supersteps after `superstep`."""
    current, found = 0, []
    for event in events:
        if isinstance(event, SuperstepCompletedEvent):
            current = event.superstep
        elif isinstance(event, OutputEvent) and current >= superstep:
            found.append(event.data)
    return found


def report(result: RunResult) -> str:
    return json.dumps(
        {
            "run_id": result.run_id,
            "status": str(result.status),
            "outputs": list(result.outputs),
            "requests": [r.request_id for r in result.requests],
        }
    )


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["start", "resume"])
    parser.add_argument("db")
    parser.add_argument("run_id", nargs="?")
    parser.add_argument("--run-id", dest="resume_run_id")
    parser.add_argument("--checkpoint-id")
    parser.add_argument("--answer", choices=["yes", "no"])
    args = parser.parse_args(argv)
    workflow = build()
    store = SqliteCheckpointStore(args.db)
    try:
        if args.command == "start":
            result = await workflow.run("tea", checkpoint_store=store, run_id=args.run_id)
        else:
            result = await workflow.resume(
                args.resume_run_id, checkpoint_id=args.checkpoint_id, store=store
            )
            if args.answer and result.requests and result.run is not None:
                answer = Approval(ok=args.answer == "yes")
                earlier = result.outputs
                result = await result.run.respond({r.request_id: answer for r in result.requests})
                result = dataclasses.replace(result, outputs=earlier + result.outputs)
        print(report(result), flush=True)
    finally:
        store.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
