"""What the commands share: the root options (`Settings`) and the options several commands take."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Annotated

import typer

from cli.render import EventPrinter
from cli.session import View

__all__ = [
    "JsonOption",
    "MaxSuperstepsOption",
    "ProgressOption",
    "Settings",
    "StoreOption",
    "StreamOption",
    "TargetArgument",
    "make_view",
    "settings_of",
]


@dataclass(frozen=True, slots=True)
class Settings:
    """Options given before the command (``baton --debug run ...``)."""

    debug: bool = False


def settings_of(ctx: typer.Context) -> Settings:
    """The root options of this invocation."""
    root = ctx.find_root().obj
    return root if isinstance(root, Settings) else Settings()


def make_view(stream: bool, json_events: bool, show_progress: bool) -> View:
    """How `run` and `runs resume` show a run (progress only on a terminal)."""
    return View(
        stream=stream,
        json=json_events,
        progress=show_progress and sys.stderr.isatty(),
        printer=EventPrinter(supersteps=stream),
    )


TargetArgument = Annotated[
    str, typer.Argument(help="module:attr or path/to/file.py:attr naming the workflow.")
]
StoreOption = Annotated[
    str | None,
    typer.Option(
        "--store",
        help="Checkpoint store URL: sqlite:///path.db or postgresql://user@host/db "
        "(default: $BATON_STORE).",
        envvar="BATON_STORE",
    ),
]
StreamOption = Annotated[
    bool, typer.Option("--stream/--no-stream", help="Print events as they happen.")
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="One JSON object per event per line on stdout.")
]
MaxSuperstepsOption = Annotated[
    int | None, typer.Option(min=1, help="The superstep budget (default: the workflow's).")
]
ProgressOption = Annotated[
    bool,
    typer.Option("--progress/--no-progress", help="Show a live superstep line on a terminal."),
]
