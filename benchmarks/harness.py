"""Timing and reporting: interleaved rounds over every workload and variant, summarized as a table.

Each round runs every workload once per variant, rotating the variant order from round to round so no
variant always runs first or last. The first `warmup` rounds are discarded. Each timed call is preceded
by ``gc.collect()`` and runs with the garbage collector disabled; its result is checked after the clock
stops.
"""

from __future__ import annotations

import gc
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from benchmarks.workloads import ENGINE, FLOOR, LEAN_FLOOR, Thunk, Workload

__all__ = ["Summary", "measure", "render"]

VARIANTS = (FLOOR, LEAN_FLOOR, ENGINE)

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

    def verdict(self) -> str:
        """The DESIGN.md budget for this workload and whether the engine median meets it."""
        budget_ratio, budget_ms = self.workload.budget_ratio, self.workload.budget_ms
        if budget_ratio is not None:
            ratio = self.ratio(FLOOR)
            ok = ratio is not None and ratio <= budget_ratio
            return f"≤ {budget_ratio:g}x: {'ok' if ok else 'OVER'}"
        if budget_ms is not None:
            median = self.median_ms(ENGINE)
            ok = median is not None and median < budget_ms
            return f"< {budget_ms:g} ms: {'ok' if ok else 'OVER'}"
        return "—"


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


COLUMNS = (
    "workload",
    "engine median",
    "engine min",
    "engine max",
    "floor median",
    "engine / floor",
    "lean floor median",
    "engine / lean floor",
    "budget (DESIGN.md)",
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
    ]
    notes.extend(f"{s.workload.name}: {s.workload.description}." for s in summaries)
    return notes


def render(summaries: Sequence[Summary], *, rounds: int, warmup: int, markdown: bool) -> str:
    """The results as an aligned text table, or as Markdown ready to paste into a README."""
    rows, header, notes = _rows(summaries), _header(rounds, warmup), _notes(summaries)
    if markdown:
        return "\n".join(
            [" ".join(header), "", *_markdown_table(rows), "", *(f"- {n}" for n in notes)]
        )
    return "\n".join([*header, "", *_text_table(rows), "", *(f"* {n}" for n in notes)])


def _markdown_table(rows: Sequence[Sequence[str]]) -> list[str]:
    align = ["---", *["---:"] * (len(COLUMNS) - 2), "---"]  # names and verdicts left, numbers right
    return [_cells(COLUMNS, "|"), _cells(align, "|"), *(_cells(row, "|") for row in rows)]


def _cells(cells: Sequence[str], separator: str) -> str:
    return f"{separator} " + f" {separator} ".join(cells) + f" {separator}"


def _text_table(rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in [COLUMNS, *rows]) for i in range(len(COLUMNS))]
    last = len(COLUMNS) - 1

    def line(cells: Sequence[str]) -> str:
        padded = [
            cell.ljust(width) if i in (0, last) else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(padded).rstrip()

    return [line(COLUMNS), line(["-" * w for w in widths]), *(line(row) for row in rows)]
