from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest
from pydantic import BaseModel

from engine import (
    BatonWarning,
    DefinitionError,
    Executor,
    ExecutorFailedError,
    RequestInfoEvent,
    ResponseError,
    RunStatus,
    WorkflowBuilder,
    WorkflowContext,
    WorkflowExecutor,
    executor,
    handler,
    response_handler,
)
from engine.events import StatusEvent, event_to_dict


class Draft(BaseModel):
    text: str


class Review(BaseModel):
    approved: bool
    note: str = ""


@dataclass(frozen=True)
class Question:
    prompt: str


class Editor(Executor):
    """Asks for a review of each draft and yields the verdict."""

    @handler
    async def on_draft(self, draft: Draft, ctx: WorkflowContext[None, str]) -> None:
        await ctx.request_info(draft, response_type=Review)

    @response_handler
    async def on_review(
        self, draft: Draft, review: Review, ctx: WorkflowContext[None, str]
    ) -> None:
        verdict = "approved" if review.approved else "rejected"
        await ctx.yield_output(f"{draft.text}: {verdict}{' ' + review.note if review.note else ''}")


class Asker(Executor):
    """Asks two questions, one answered with an int and one with a str."""

    @handler
    async def on(self, topic: str, ctx: WorkflowContext[None, str]) -> None:
        await ctx.request_info(Question(f"how many {topic}?"), response_type=int)
        await ctx.request_info(Question(f"which {topic}?"), response_type=str)

    @response_handler
    async def on_count(self, q: Question, n: int, ctx: WorkflowContext[None, str]) -> None:
        await ctx.yield_output(f"{q.prompt} {n}")

    @response_handler
    async def on_name(self, q: Question, name: str, ctx: WorkflowContext[None, str]) -> None:
        await ctx.yield_output(f"{q.prompt} {name}")


@executor(id="write")
async def write(topic: str) -> Draft:
    return Draft(text=f"on {topic}")


def review_flow() -> WorkflowBuilder:
    return WorkflowBuilder(start_executor=write).add_edge(write, Editor("editor"))


async def test_request_pauses_the_run_and_the_answer_reaches_the_response_handler() -> None:
    workflow = review_flow().build()
    result = await workflow.run("cats")
    assert result.status is RunStatus.IDLE_WITH_PENDING_REQUESTS
    assert result.outputs == ()
    (request,) = result.requests
    assert isinstance(request, RequestInfoEvent)
    assert request.source_executor_id == "editor"
    assert request.data == Draft(text="on cats") and request.response_type is Review
    assert result.run is not None

    answered = await result.run.respond({request.request_id: Review(approved=True, note="nice")})
    assert answered.status is RunStatus.IDLE
    assert answered.outputs == ("on cats: approved nice",)
    assert answered.requests == ()


async def test_status_says_pending_requests_as_soon_as_the_first_request_is_emitted() -> None:
    workflow = review_flow().build()
    events = [event async for event in workflow.run("cats", stream=True)]
    types = [e.type for e in events]
    request_at = types.index("request_info")
    assert events[request_at + 1] == StatusEvent(RunStatus.IN_PROGRESS_PENDING_REQUESTS)
    assert [e.status for e in events if isinstance(e, StatusEvent)] == [
        RunStatus.RUNNING,
        RunStatus.IN_PROGRESS_PENDING_REQUESTS,
        RunStatus.IDLE_WITH_PENDING_REQUESTS,
    ]
    as_json = event_to_dict(events[request_at])
    assert as_json["type"] == "request_info" and as_json["response_type"] == "Review"
    assert as_json["data"] == {"text": "on cats"}


class Slow(Executor):
    @handler
    async def on(self, topic: str, ctx: WorkflowContext[str]) -> None:
        await ctx.send_message(topic)


@executor(id="finish")
async def finish(topic: str, ctx: WorkflowContext[None, str]) -> None:
    await ctx.yield_output(f"finished {topic}")


async def test_other_branches_keep_running_until_the_run_is_idle() -> None:
    start = Slow("start")
    workflow = (
        WorkflowBuilder(start_executor=start)
        .add_fan_out_edges(start, [Asker("asker"), Slow("relay")])
        .add_edge("relay", finish)
        .build()
    )
    result = await workflow.run("apples")
    assert result.status is RunStatus.IDLE_WITH_PENDING_REQUESTS
    assert result.outputs == ("finished apples",)  # ran in superstep 3, after the requests
    assert len(result.requests) == 2


async def test_partial_answers_leave_the_rest_pending_and_types_pick_the_handler() -> None:
    workflow = WorkflowBuilder(start_executor=Asker("asker")).build()
    result = await workflow.run("pears")
    count, which = result.requests
    assert result.run is not None
    first = await result.run.respond({count.request_id: 3})
    assert first.outputs == ("how many pears? 3",)
    assert first.status is RunStatus.IDLE_WITH_PENDING_REQUESTS
    assert [r.request_id for r in first.requests] == [which.request_id]
    second = await result.run.respond({which.request_id: "green"})
    assert second.outputs == ("which pears? green",)
    assert second.status is RunStatus.IDLE


async def test_answers_are_coerced_only_where_nothing_is_lost() -> None:
    workflow = WorkflowBuilder(start_executor=Asker("asker")).build()
    result = await workflow.run("plums")
    count, which = result.requests
    assert result.run is not None
    with pytest.raises(ResponseError, match="must be `int`, got `float`") as caught:
        await result.run.respond({count.request_id: 2.5})
    assert "nothing was delivered" in str(caught.value)
    assert result.run.status is RunStatus.IDLE_WITH_PENDING_REQUESTS
    assert len(result.run.pending_requests) == 2
    done = await result.run.respond({count.request_id: "4", which.request_id: "red"})
    assert sorted(done.outputs) == ["how many plums? 4", "which plums? red"]


async def test_a_pydantic_answer_may_be_given_as_a_dict() -> None:
    workflow = review_flow().build()
    result = await workflow.run("dogs")
    assert result.run is not None
    done = await result.run.respond({result.requests[0].request_id: {"approved": False}})
    assert done.outputs == ("on dogs: rejected",)


async def test_bad_responses_are_refused_and_leave_the_run_untouched() -> None:
    workflow = review_flow().build()
    result = await workflow.run("owls")
    run = result.run
    assert run is not None
    (request,) = result.requests
    before = (run.status, dict(run.state.pending_requests), list(run.state.pending))

    with pytest.raises(ResponseError, match="has no pending request `nope`; pending: `"):
        await run.respond({"nope": Review(approved=True)})
    with pytest.raises(ResponseError, match="must be `Review`"):
        await run.respond({request.request_id: "yes"})
    with pytest.raises(ResponseError, match="given no answers"):
        await run.respond({})
    with pytest.raises(TypeError, match="takes a mapping of request id to answer"):
        await run.respond([request.request_id])  # type: ignore[arg-type]
    assert (run.status, dict(run.state.pending_requests), list(run.state.pending)) == before

    await run.respond({request.request_id: Review(approved=True)})
    with pytest.raises(ResponseError, match="was already answered; answer it once"):
        await run.respond({request.request_id: Review(approved=False)})
    with pytest.raises(ResponseError, match="has no pending requests \\(status `idle`\\)"):
        await run.respond({"other": 1})


async def test_responding_to_a_run_with_nothing_pending_is_an_error() -> None:
    workflow = WorkflowBuilder(start_executor=finish).build()
    result = await workflow.run("x")
    assert result.run is not None
    with pytest.raises(ResponseError, match="nothing to answer"):
        await result.run.respond({"any": 1})


async def test_streaming_respond_yields_the_continuation_events() -> None:
    workflow = review_flow().build()
    result = await workflow.run("bats")
    assert result.run is not None
    events = [
        e
        async for e in result.run.respond(
            {result.requests[0].request_id: Review(approved=True)}, stream=True
        )
    ]
    assert [e.data for e in events if e.type == "output"] == ["on bats: approved"]
    assert events[-1] == StatusEvent(RunStatus.IDLE)


class Forgetful(Executor):
    """Asks for input but has no response handler for it."""

    @handler
    async def on(self, topic: str, ctx: WorkflowContext[None, str]) -> None:
        await ctx.request_info(Question(topic), response_type=int)


def test_a_request_without_a_response_handler_warns_at_build_time() -> None:
    with pytest.warns(BatonWarning, match="unanswerable_request") as caught:
        workflow = WorkflowBuilder(start_executor=Forgetful("forgetful")).build()
    assert "`forgetful` asks for `Question` answered with `int` in `on`" in str(caught[0].message)
    assert [w.check for w in workflow.warnings] == ["unanswerable_request"]


def test_a_request_with_a_matching_response_handler_does_not_warn() -> None:
    workflow = WorkflowBuilder(start_executor=Asker("asker")).build()
    assert workflow.warnings == ()


async def test_a_request_without_a_response_handler_fails_when_it_happens() -> None:
    with pytest.warns(BatonWarning):
        workflow = WorkflowBuilder(start_executor=Forgetful("forgetful")).build()
    with pytest.raises(ExecutorFailedError) as caught:
        await workflow.run("x")
    cause = caught.value.__cause__
    assert isinstance(cause, DefinitionError)
    assert "has no `@response_handler` for (`Question`, `int`)" in str(cause)


def test_response_handlers_are_checked_when_the_class_is_defined() -> None:
    with pytest.raises(DefinitionError, match="takes exactly `\\(self, request: Req, response"):

        class TooFew(Executor):
            @response_handler
            async def on(self, q: Question, ctx: WorkflowContext) -> None:  # type: ignore[type-arg]
                pass

    with pytest.raises(DefinitionError, match="must be declared with `async def`"):
        response_handler(lambda self, q, a, ctx: None)  # type: ignore[arg-type,return-value]

    with pytest.raises(DefinitionError, match="two response handlers for `Question`"):

        class Twice(Executor):
            @response_handler
            async def a(self, q: Question, n: int, ctx: WorkflowContext) -> None:  # type: ignore[type-arg]
                pass

            @response_handler
            async def b(self, q: Question, n: int, ctx: WorkflowContext) -> None:  # type: ignore[type-arg]
                pass


def test_response_handler_output_types_count_for_edge_validation() -> None:
    class Approver(Executor):
        @handler
        async def on(self, draft: Draft, ctx: WorkflowContext[None]) -> None:
            await ctx.request_info(draft, response_type=Review)

        @response_handler
        async def done(self, draft: Draft, review: Review, ctx: WorkflowContext[Review]) -> None:
            await ctx.send_message(review)

    @executor(id="sink")
    async def sink(review: Review, ctx: WorkflowContext[None, bool]) -> None:
        await ctx.yield_output(review.approved)

    workflow = (
        WorkflowBuilder(start_executor=write)
        .add_edge(write, Approver("approver"))
        .add_edge("approver", sink)
        .build()
    )
    assert "approver" in workflow.executors


async def test_a_request_inside_a_sub_workflow_surfaces_with_its_id_and_the_answer_goes_back() -> (
    None
):
    inner = review_flow().build()

    @executor(id="collect")
    async def collect(verdict: str, ctx: WorkflowContext[None, str]) -> None:
        await ctx.yield_output(f"outer got {verdict}")

    outer = (
        WorkflowBuilder(start_executor=WorkflowExecutor(inner, "review"))
        .add_edge("review", collect)
        .build()
    )
    result = await outer.run("moths")
    assert result.status is RunStatus.IDLE_WITH_PENDING_REQUESTS
    (request,) = result.requests
    assert request.source_executor_id == "review"
    assert request.data == Draft(text="on moths") and request.response_type is Review
    assert result.run is not None
    done = await result.run.respond({request.request_id: Review(approved=True)})
    assert done.outputs == ("outer got on moths: approved",)
    assert done.status is RunStatus.IDLE


async def test_a_run_cannot_be_answered_while_it_is_being_driven() -> None:
    gate = asyncio.Event()

    class Waiter(Executor):
        @handler
        async def on(self, topic: str, ctx: WorkflowContext[None, str]) -> None:
            await ctx.request_info(Question(topic), response_type=int)
            await gate.wait()

        @response_handler
        async def back(self, q: Question, n: int, ctx: WorkflowContext[None, str]) -> None:
            await ctx.yield_output(str(n))

    run = WorkflowBuilder(start_executor=Waiter("waiter")).build().start("x")
    task = asyncio.create_task(run.execute())
    await asyncio.sleep(0.01)
    with pytest.raises(RuntimeError, match="is being driven right now"):
        await run.respond({"whatever": 1})
    gate.set()
    result = await task
    assert (await run.respond({result.requests[0].request_id: 7})).outputs == ("7",)
