"""Timing and reporting: interleaved rounds over every workload and variant, summarized as a table.

Each round runs every workload once per variant, rotating the variant order from round to round so no
variant always runs first or last. The first `warmup` rounds are discarded. Each timed call is preceded
by ``gc.collect()`` and runs with the garbage collector disabled; its result is checked after the clock
stops.

The table has a row per workload; durable workloads (those with a `PLAIN_ENGINE` variant) get a second
table with their checkpoint cost: checkpointed engine / plain engine, and the added ms per superstep.
Backend workloads (those with a `backend`) get one comparing that backend with the default, and agent
workloads (those with `turns`) one more with the engine's overhead per agent turn.
"""

from __future__ import annotations

import gc
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from benchmarks.workloads import ENGINE, FLOOR, LEAN_FLOOR, PLAIN_ENGINE, Thunk, Workload

__all__ = ["Summary", "measure", "render"]

VARIANTS = (FLOOR, LEAN_FLOOR, PLAIN_ENGINE, ENGINE)

Progress = Callable[[str], None]


@dataclass(slots=True)
class Summary:
    """The kept timings (seconds) of one workload, per variant."""

    workload: Workload
    times: dict[str, list[float]] = field(default_factory=dict)

    def median_ms(self, variant: str) -> float | None:
        samples = self.times.get(variant)
        return statistics.median(samples) * 1000 if samples else None

    def min_ms(self, variant: str) -> float | None:
        samples = self.times.get(variant)
        return min(samples) * 1000 if samples else None

    def max_ms(self, variant: str) -> float | None:
        samples = self.times.get(variant)
        return max(samples) * 1000 if samples else None

    def ratio(self, baseline: str) -> float | None:
        engine, base = self.median_ms(ENGINE), self.median_ms(baseline)
        return engine / base if engine is not None and base else None

    def added_ms_per_superstep(self) -> float | None:
        """(engine median - plain engine median) / supersteps, for a durable workload."""
        engine, plain = self.median_ms(ENGINE), self.median_ms(PLAIN_ENGINE)
        supersteps = self.workload.supersteps
        if engine is None or plain is None or not supersteps:
            return None
        return (engine - plain) / supersteps

    def overhead_us_per_turn(self) -> float | None:
        """(engine median - floor median) / turns, in microseconds, for an agent workload."""
        engine, base = self.median_ms(ENGINE), self.median_ms(FLOOR)
        turns = self.workload.turns
        if engine is None or base is None or not turns:
            return None
        return (engine - base) / turns * 1000

    def verdict(self) -> str:
        """This workload's budget and whether the medians meet it ("—" when it has none)."""
        workload = self.workload
        if workload.budget_ratio is not None:
            ratio = self.ratio(FLOOR)
            return _verdict(f"≤ {workload.budget_ratio:g}x", ratio, workload.budget_ratio)
        if workload.budget_vs_plain is not None:
            ratio = self.ratio(PLAIN_ENGINE)
            label = f"≤ {workload.budget_vs_plain:g}x plain engine"
            return _verdict(label, ratio, workload.budget_vs_plain)
        if workload.budget_ms is not None:
            median = self.median_ms(ENGINE)
            return _verdict(f"< {workload.budget_ms:g} ms", median, workload.budget_ms, strict=True)
        if workload.budget_added_ms is not None:
            added = self.added_ms_per_superstep()
            label = f"< {workload.budget_added_ms:g} ms/superstep added"
            return _verdict(label, added, workload.budget_added_ms, strict=True)
        return "—"


def _verdict(label: str, value: float | None, limit: float, *, strict: bool = False) -> str:
    ok = value is not None and (value < limit if strict else value <= limit)
    return f"{label}: {'ok' if ok else 'OVER'}"


async def _timed(thunk: Thunk) -> tuple[float, object]:
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        value = await thunk()
        elapsed = time.perf_counter() - start
    finally:
        gc.enable()
    return elapsed, value


async def measure(
    workloads: Sequence[Workload], rounds: int, *, warmup: int = 1, progress: Progress | None = None
) -> list[Summary]:
    """Set every workload up once, then time `warmup + rounds` interleaved rounds; keep the last `rounds`."""
    if rounds < 1 or warmup < 0:
        raise ValueError(f"need rounds >= 1 and warmup >= 0, got {rounds=} {warmup=}")
    prepared = [(workload, workload.setup()) for workload in workloads]
    summaries = [Summary(workload) for workload in workloads]
    for number in range(warmup + rounds):
        if progress is not None:
            kind = "warm-up" if number < warmup else "round"
            progress(f"{kind} {number + 1}/{warmup + rounds}")
        for (workload, thunks), summary in zip(prepared, summaries, strict=True):
            present = [v for v in VARIANTS if v in thunks]
            shift = number % len(present)
            for variant in present[shift:] + present[:shift]:
                elapsed, value = await _timed(thunks[variant])
                if value != workload.expected:
                    raise AssertionError(
                        f"`{workload.name}` on the {variant} computed {_short(value)}, "
                        f"expected {_short(workload.expected)}"
                    )
                if number >= warmup:
                    summary.times.setdefault(variant, []).append(elapsed)
    return summaries


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _ms(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.0f}" if value >= 100 else f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}x"


def _ms_per_superstep(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _us(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}"


COLUMNS = (
    "workload",
    "engine median",
    "engine min",
    "engine max",
    "floor median",
    "engine / floor",
    "lean floor median",
    "engine / lean floor",
    "budget",
)
DURABLE_COLUMNS = (
    "workload",
    "supersteps",
    "plain engine median",
    "checkpointed median",
    "checkpointed / plain",
    "added ms / superstep",
    "budget",
)
DURABLE_CAPTION = (
    "Checkpoint cost: each durable workload's engine run (checkpointed) against the same workflow "
    "run without a store (plain engine), timed in the same interleaved rounds."
)
BACKEND_COLUMNS = (
    "workload",
    "backend",
    "supersteps",
    "default backend median",
    "this backend median",
    "this / default",
    "added ms / superstep",
)
BACKEND_CAPTION = (
    "Backends: each backend workload run on its backend against the same workflow on the default "
    "backend (in the event loop), timed in the same interleaved rounds."
)
AGENT_COLUMNS = (
    "workload",
    "agent turns",
    "floor median",
    "engine median",
    "engine / floor",
    "overhead µs / turn",
    "budget",
)
AGENT_CAPTION = (
    "Agent workloads: the engine's overhead per agent turn, (engine median - floor median) / turns, "
    "where the floor runs the same agents on the same model client in a plain loop."
)


def _rows(summaries: Sequence[Summary]) -> list[list[str]]:
    return [
        [
            s.workload.name,
            _ms(s.median_ms(ENGINE)),
            _ms(s.min_ms(ENGINE)),
            _ms(s.max_ms(ENGINE)),
            _ms(s.median_ms(FLOOR)),
            _ratio(s.ratio(FLOOR)),
            _ms(s.median_ms(LEAN_FLOOR)),
            _ratio(s.ratio(LEAN_FLOOR)),
            s.verdict(),
        ]
        for s in summaries
    ]


def _durable_rows(summaries: Sequence[Summary]) -> list[list[str]]:
    return [
        [
            s.workload.name,
            str(s.workload.supersteps or "—"),
            _ms(s.median_ms(PLAIN_ENGINE)),
            _ms(s.median_ms(ENGINE)),
            _ratio(s.ratio(PLAIN_ENGINE)),
            _ms_per_superstep(s.added_ms_per_superstep()),
            s.verdict(),
        ]
        for s in summaries
        if PLAIN_ENGINE in s.times and s.workload.backend is None
    ]


def _backend_rows(summaries: Sequence[Summary]) -> list[list[str]]:
    return [
        [
            s.workload.name,
            s.workload.backend or "",
            str(s.workload.supersteps or "—"),
            _ms(s.median_ms(PLAIN_ENGINE)),
            _ms(s.median_ms(ENGINE)),
            _ratio(s.ratio(PLAIN_ENGINE)),
            _ms_per_superstep(s.added_ms_per_superstep()),
        ]
        for s in summaries
        if s.workload.backend is not None
    ]


def _agent_rows(summaries: Sequence[Summary]) -> list[list[str]]:
    return [
        [
            s.workload.name,
            str(s.workload.turns),
            _ms(s.median_ms(FLOOR)),
            _ms(s.median_ms(ENGINE)),
            _ratio(s.ratio(FLOOR)),
            _us(s.overhead_us_per_turn()),
            s.verdict(),
        ]
        for s in summaries
        if s.workload.turns
    ]


def _header(rounds: int, warmup: int) -> list[str]:
    return [
        f"Baton engine overhead vs. the floor: Python {platform.python_version()} "
        f"({platform.machine()}, {sys.platform}); {rounds} timed round(s) after {warmup} discarded "
        "warm-up round(s); all times in ms.",
        "Each timed run follows gc.collect() and runs with gc disabled; variants are interleaved "
        "and their order rotates every round. Ratios compare medians.",
    ]


def _notes(summaries: Sequence[Summary]) -> list[str]:
    notes = [
        "floor: benchmarks/floor.py, a minimal asyncio superstep loop that always uses "
        "asyncio.gather, even for a single active node (deliberate); this is the baseline of the "
        "DESIGN.md budget.",
        "lean floor: the same loop awaiting a lone active node directly (as the engine does); "
        "reference only.",
        "engine: defaults (events recorded in RunResult, non-streaming `await workflow.run(x)`), "
        "workflows built once outside the timed region (except by the build workload).",
        "budget: DESIGN.md's (engine / floor; the build's absolute time) or, for durable "
        "workloads, the durable-runs issue's (checkpointed / plain engine; added ms per superstep).",
    ]
    if any(PLAIN_ENGINE in s.times for s in summaries):
        notes.append(
            "durable workloads (*_ckpt_*): their engine columns time the checkpointed run; plain "
            "engine is the same built workflow without a checkpoint store; added ms / superstep = "
            "(checkpointed median - plain median) / supersteps."
        )
    if any(s.workload.backend for s in summaries):
        notes.append(
            "backend workloads: the default backend column is the same built workflow run in the "
            "event loop; added ms / superstep = (backend median - default median) / supersteps, the "
            "dispatch cost (for Ray: encoding, a task round trip, decoding) less any parallelism won."
        )
    if any(s.workload.turns for s in summaries):
        notes.append(
            "agent workloads (handoff_*): their floor is not benchmarks/floor.py but a plain loop "
            "over the same agents (benchmarks/handoff.py); overhead µs / turn = (engine median - "
            "floor median) / agent turns (model calls); no budget."
        )
    notes.extend(f"{s.workload.name}: {s.workload.description}." for s in summaries)
    return notes


def render(summaries: Sequence[Summary], *, rounds: int, warmup: int, markdown: bool) -> str:
    """The results as an aligned text table, or as Markdown ready to paste into a README."""
    header, notes = _header(rounds, warmup), _notes(summaries)
    table = _markdown_table if markdown else _text_table
    lines = [" ".join(header)] if markdown else header
    lines += ["", *table(COLUMNS, _rows(summaries))]
    durable = _durable_rows(summaries)
    if durable:
        lines += ["", DURABLE_CAPTION, "", *table(DURABLE_COLUMNS, durable)]
    backend = _backend_rows(summaries)
    if backend:
        lines += ["", BACKEND_CAPTION, "", *table(BACKEND_COLUMNS, backend)]
    agent = _agent_rows(summaries)
    if agent:
        lines += ["", AGENT_CAPTION, "", *table(AGENT_COLUMNS, agent)]
    bullet = "-" if markdown else "*"
    return "\n".join([*lines, "", *(f"{bullet} {n}" for n in notes)])


def _markdown_table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    align = ["---", *["---:"] * (len(columns) - 2), "---"]  # names and verdicts left, numbers right
    return [_cells(columns, "|"), _cells(align, "|"), *(_cells(row, "|") for row in rows)]


def _cells(cells: Sequence[str], separator: str) -> str:
    return f"{separator} " + f" {separator} ".join(cells) + f" {separator}"


def _text_table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in [columns, *rows]) for i in range(len(columns))]
    last = len(columns) - 1

    def line(cells: Sequence[str]) -> str:
        padded = [
            cell.ljust(width) if i in (0, last) else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(padded).rstrip()

    return [line(columns), line(["-" * w for w in widths]), *(line(row) for row in rows)]
