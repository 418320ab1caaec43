"""How the command line fails: one clear line on stderr and a nonzero exit, a traceback only with --debug.

Commands raise `CliError` for bad input they detect themselves; `reporting()` also turns the errors a
user can cause through the engine (`BatonError`, a store that cannot be reached) into the same one line.
Anything else is a bug in Baton or in the user's code and keeps its traceback.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import typer

__all__ = ["CliError", "first_line", "reporting"]

EXIT_ERROR = 1


class CliError(Exception):
    """Bad input the user can fix; the message says what is wrong and what to do."""


def first_line(error: BaseException) -> str:
    """The first non-empty line of an error's message (drivers such as libpq write several)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__


def _one_line(error: BaseException) -> str:
    # Local import: the engine is only needed once something failed.
    from engine import BatonError, WorkflowValidationError

    if isinstance(error, WorkflowValidationError):
        first, rest = str(error.issues[0]).rstrip("."), len(error.issues) - 1
        more = f" (and {rest} more problem(s))" if rest else ""
        return f"the workflow is invalid: {first}{more}. `baton check TARGET` lists every problem."
    if isinstance(error, BatonError | CliError):
        return " ".join(str(error).split())
    return f"{type(error).__name__}: {first_line(error)}"


@contextmanager
def reporting(*, debug: bool) -> Iterator[None]:
    """Report expected failures as ``error: ...`` on stderr and exit 1; re-raise them with `debug`."""
    try:
        yield
    except typer.Exit:
        raise
    except KeyboardInterrupt:
        typer.secho("interrupted", fg=typer.colors.YELLOW, err=True)
        raise typer.Exit(130) from None
    except Exception as error:
        if debug or not _expected(error):
            raise
        typer.secho(f"error: {_one_line(error)}", fg=typer.colors.RED, err=True)
        raise typer.Exit(EXIT_ERROR) from None


def _expected(error: Exception) -> bool:
    from engine import BatonError

    if isinstance(error, CliError | BatonError | sqlite3.Error):
        return True
    try:  # PostgreSQL is an optional extra
        import psycopg
    except ImportError:
        return False
    return isinstance(error, psycopg.Error)
