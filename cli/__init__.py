"""The `baton` command line: a typer app (`cli.app`) and its bundled offline demos (`cli.demos`)."""

from __future__ import annotations

from cli.app import app, main

__all__ = ["app", "main"]
