from __future__ import annotations

import importlib

import pytest


@pytest.mark.parametrize(
    "package", ["engine", "executors", "executors.agents", "orchestrations", "cli", "cli.demos"]
)
def test_all_is_sorted_and_every_name_is_importable(package: str) -> None:
    module = importlib.import_module(package)
    names = list(module.__all__)
    assert names == sorted(names), f"{package}.__all__ is not sorted"
    assert len(names) == len(set(names))
    for name in names:
        assert hasattr(module, name), f"{package}.{name} is listed but missing"


def test_engine_imports_no_other_baton_package() -> None:
    import pathlib
    import re

    root = pathlib.Path(importlib.import_module("engine").__file__).parent  # type: ignore[arg-type]
    pattern = re.compile(r"^\s*(from|import)\s+(executors|orchestrations|cli)\b", re.MULTILINE)
    offenders = [p.name for p in root.glob("*.py") if pattern.search(p.read_text())]
    assert offenders == []
