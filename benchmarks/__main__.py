"""The ``python -m benchmarks`` command: parse options, measure, print the table."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Sequence

from benchmarks.harness import measure, render
from benchmarks.workloads import WORKLOADS

WARMUP_ROUNDS = 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Time the engine against the floor on every workload and print a table.",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=7,
        metavar="N",
        help="timed rounds after one discarded warm-up round (default: 7)",
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=[w.name for w in WORKLOADS],
        metavar="NAME",
        help="run only this workload (repeatable); one of: " + ", ".join(w.name for w in WORKLOADS),
    )
    parser.add_argument(
        "--markdown", action="store_true", help="print a Markdown table for the README"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.rounds < 1:
        _parser().error(f"--rounds must be at least 1, got {args.rounds}")
    selected = [w for w in WORKLOADS if not args.only or w.name in args.only]
    started = time.perf_counter()
    summaries = asyncio.run(
        measure(
            selected,
            args.rounds,
            warmup=WARMUP_ROUNDS,
            progress=lambda text: print(text, file=sys.stderr, flush=True),
        )
    )
    print(render(summaries, rounds=args.rounds, warmup=WARMUP_ROUNDS, markdown=args.markdown))
    print(f"\n(measured in {time.perf_counter() - started:.1f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
