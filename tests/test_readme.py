"""The README's Python examples run as tests, so the documentation cannot rot."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)


def test_readme_has_examples() -> None:
    assert len(BLOCKS) >= 6


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_example_runs(index: int, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    # Each block runs in its own interpreter, exactly as a reader would paste it; a block that
    # reads BATON_POSTGRES_DSN gets a fresh database on the test session's PostgreSQL server.
    script = tmp_path / f"example_{index}.py"
    script.write_text(BLOCKS[index])
    env = dict(os.environ)
    if "BATON_POSTGRES_DSN" in BLOCKS[index]:
        env["BATON_POSTGRES_DSN"] = request.getfixturevalue("postgres_dsn")
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, env=env
    )
    assert done.returncode == 0, f"README example {index} failed:\n{BLOCKS[index]}\n{done.stderr}"


def test_readme_opens_with_the_two_commands() -> None:
    first_block = re.search(r"```bash\n(.*?)```", README.read_text(), flags=re.DOTALL)
    assert first_block is not None
    commands = [line.split("#")[0].strip() for line in first_block.group(1).splitlines()]
    assert commands == ["python3 tasks.py demo", "python3 tasks.py test"]


def console_sessions() -> list[list[tuple[str, list[str]]]]:
    """Each ```console block as (command, expected output lines) pairs."""
    sessions = []
    for block in re.findall(r"```console\n(.*?)```", README.read_text(), flags=re.DOTALL):
        steps: list[tuple[str, list[str]]] = []
        for line in block.splitlines():
            if line.startswith("$ "):
                steps.append((line[2:], []))
            else:
                steps[-1][1].append(line)
        sessions.append(steps)
    return sessions


def expected_pattern(line: str) -> re.Pattern[str]:
    """A README output line as a regex: `<id>` is a request id, `<time>` a timestamp."""
    pieces = re.escape(line).split(re.escape("<id>"))
    ids = [r"(?P<id>[0-9a-f]{32})", *([r"(?:[0-9a-f]{32})"] * (len(pieces) - 2))][: len(pieces) - 1]
    escaped = "".join(p + i for p, i in zip(pieces, [*ids, ""], strict=True))
    escaped = escaped.replace(re.escape("<time>"), r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")
    return re.compile(escaped)


def test_readme_has_console_sessions() -> None:
    assert len(console_sessions()) >= 4


def test_readme_command_line_transcripts_are_what_baton_prints(tmp_path: Path) -> None:
    # The console blocks run in order in one directory holding the README's flows.py, with the
    # installed `baton`. stdout and stderr are merged, so lines are matched one to one, in any order.
    flows = next(block for block in BLOCKS if block.startswith("# flows.py"))
    (tmp_path / "flows.py").write_text(flows)
    bin_dir = str(Path(sys.executable).parent)
    request_id = ""
    for steps in console_sessions():
        for command, expected in steps:
            runnable = command.replace("baton ", f"{bin_dir}/baton ").replace("<id>", request_id)
            done = subprocess.run(
                ["bash", "-c", runnable], cwd=tmp_path, capture_output=True, text=True, timeout=60
            )
            actual = [*done.stdout.splitlines(), *done.stderr.splitlines()]
            unmatched = list(actual)
            for line in expected:
                pattern = expected_pattern(line)
                found = next((a for a in unmatched if pattern.fullmatch(a)), None)
                assert found is not None, f"`{command}` printed no line like {line!r}:\n{actual}"
                unmatched.remove(found)
                match = pattern.fullmatch(found)
                if match is not None and match.groupdict().get("id"):
                    request_id = match["id"]
            assert unmatched == [], f"`{command}` printed lines the README does not show"
