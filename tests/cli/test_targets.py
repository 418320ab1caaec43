"""`baton` through typer's `CliRunner`: store URLs, TARGETs, `graph` and `check`.

Every failure a user can cause must be one ``error:`` line on stderr and exit 1, never a traceback
(unless ``--debug``); `tests.cli.support.error_line` asserts exactly that and returns the line.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cli.errors import CliError
from engine import BatonError
from tests.cli.support import APPROVAL, error_line, invoke, pending_id, sqlite_url, write

# -- store URLs -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "phrase"),
    [
        ("notaurl", "`notaurl` is not a store URL"),
        ("mysql://x/y", "scheme `mysql` is not supported"),
        ("sqlite://", "names no file"),
    ],
)
@pytest.mark.parametrize(
    "command", [["runs", "list"], ["run", "tests.cli.apps:builder", "hi"]], ids=["list", "run"]
)
def test_a_malformed_store_url_is_one_error_line(url: str, phrase: str, command: list[str]) -> None:
    result = invoke(*command, "--store", url)
    assert phrase in error_line(result)
    assert "HI!" not in result.stdout  # the store is checked before the run starts


@pytest.mark.parametrize(
    "command",
    [["runs", "list"], ["runs", "show", "r1"], ["runs", "resume", APPROVAL, "r1"]],
    ids=["list", "show", "resume"],
)
def test_reading_a_missing_sqlite_file_is_an_error_and_creates_nothing(
    tmp_path: Path, command: list[str]
) -> None:
    missing = tmp_path / "missing.db"
    line = error_line(invoke(*command, "--store", sqlite_url(missing)))
    assert f"no SQLite store at `{missing}`" in line
    assert not missing.exists()


def test_a_sqlite_url_naming_a_directory_is_an_error(tmp_path: Path) -> None:
    listed = error_line(invoke("runs", "list", "--store", sqlite_url(tmp_path)))
    assert "no SQLite store" in listed
    result = invoke("run", "tests.cli.apps:builder", "hi", "--store", sqlite_url(tmp_path))
    assert f"cannot open the SQLite store at `{tmp_path}`" in error_line(result)


def test_a_sqlite_url_naming_a_file_that_is_not_a_database_is_an_error(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(bytes(range(256)) * 4)
    for command in (["runs", "list"], ["run", "tests.cli.apps:builder", "hi"]):
        line = error_line(invoke(*command, "--store", sqlite_url(garbage)))
        assert "cannot open the SQLite store" in line
        assert "not a database" in line
    assert garbage.read_bytes() == bytes(range(256)) * 4


def test_an_unreachable_postgres_store_is_one_error_line() -> None:
    pytest.importorskip("psycopg")
    result = invoke("runs", "list", "--store", "postgresql://nobody@127.0.0.1:1/nothing")
    line = error_line(result)
    assert "cannot open the PostgreSQL store at `postgresql://nobody@127.0.0.1:1/nothing`" in line


@pytest.mark.parametrize(
    "command", [["runs", "list"], ["run", "tests.cli.apps:builder", "hi"]], ids=["list", "run"]
)
def test_a_postgres_password_never_appears_in_output(command: list[str]) -> None:
    pytest.importorskip("psycopg")
    result = invoke(*command, "--store", "postgresql://u:secret@127.0.0.1:1/db")
    line = error_line(result)
    assert "postgresql://u:***@127.0.0.1:1/db" in line
    assert "secret" not in result.output
    assert "HI!" not in result.stdout


def test_a_postgres_password_given_as_a_query_parameter_never_appears_in_output() -> None:
    pytest.importorskip("psycopg")
    result = invoke("runs", "list", "--store", "postgresql://u@127.0.0.1:1/db?password=secret")
    error_line(result)
    assert "secret" not in result.output


# -- TARGET ---------------------------------------------------------------------------------------

COMMANDS = {
    "run": ["run", "{target}", "hi"],
    "graph": ["graph", "{target}"],
    "check": ["check", "{target}"],
}


def command_for(name: str, target: str) -> list[str]:
    return [arg.format(target=target) for arg in COMMANDS[name]]


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize(
    ("target", "phrase"),
    [
        ("nocolon", "must look like `module:attr`"),
        ("no_such_module_xyz:flow", "no module named `no_such_module_xyz`"),
        ("nope.py:x", "no file `nope.py`"),
        ("tests.cli.apps:missing", "`tests.cli.apps` has no attribute `missing`"),
        ("tests.cli.apps:not_a_workflow", "TARGET must name a Workflow"),
        ("tests.cli.apps:needs_arguments", "needs arguments"),
        ("tests.cli.apps:raises", "failed: RuntimeError: the factory broke"),
        ("tests.cli.apps:returns_wrong", "returned a value of type `str`"),
    ],
)
def test_a_bad_target_is_one_error_line(command: str, target: str, phrase: str) -> None:
    result = invoke(*command_for(command, target))
    assert phrase in error_line(result)
    assert result.stdout == ""


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize(
    ("source", "phrase"),
    [
        ("raise RuntimeError('import went wrong')\n", "RuntimeError: import went wrong"),
        (
            "import no_such_package_xyz\n",
            "ModuleNotFoundError: No module named 'no_such_package_xyz'",
        ),
    ],
    ids=["raises", "imports-missing"],
)
def test_a_target_file_that_fails_on_import_is_one_error_line(
    tmp_path: Path, command: str, source: str, phrase: str
) -> None:
    bad = write(tmp_path / "bad.py", source)
    line = error_line(invoke(*command_for(command, f"{bad}:x")))
    assert f"importing `{bad}` failed" in line
    assert phrase in line
    assert "bad" not in sys.modules


FILE_APP = """\
    from cli_words import exclaim
    from engine import WorkflowBuilder, WorkflowContext, executor


    @executor(id="exclaim")
    async def shout(text: str, ctx: WorkflowContext[None, str]) -> None:
        await ctx.yield_output(exclaim(text))


    workflow = WorkflowBuilder(start_executor=shout, name="from_a_file").build()
"""


def test_a_file_target_can_import_its_sibling_modules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "cli_words.py", "def exclaim(text):\n    return text.upper() + '!!'\n")
    app_file = write(tmp_path / "cli_file_app.py", FILE_APP)
    result = invoke("run", f"{app_file}:workflow", "hey")
    assert result.exit_code == 0, result.output
    assert "  output from exclaim: HEY!!" in result.stdout.splitlines()
    monkeypatch.chdir(tmp_path)  # a relative path works too
    checked = invoke("check", "cli_file_app.py:workflow")
    assert checked.exit_code == 0, checked.output
    assert "Workflow `from_a_file`" in checked.stdout


DURABLE_APP = """\
    from pydantic import BaseModel

    from engine import Executor, WorkflowBuilder, WorkflowContext, handler, response_handler


    class Question(BaseModel):
        text: str


    class Asker(Executor):
        @handler
        async def ask(self, topic: str, ctx: WorkflowContext[None, str]) -> None:
            await ctx.request_info(Question(text=f"how much {topic}?"), response_type=int)

        @response_handler
        async def got(self, question: Question, amount: int, ctx: WorkflowContext[None, str]) -> None:
            await ctx.yield_output(f"{question.text} {amount}")


    workflow = WorkflowBuilder(start_executor=Asker(id="asker"), name="asking").build()
"""


def test_a_run_of_a_file_target_resumes_in_a_fresh_process_with_the_same_target(
    tmp_path: Path,
) -> None:
    target = f"{write(tmp_path / 'cli_durable_app.py', DURABLE_APP)}:workflow"
    url = sqlite_url(tmp_path / "runs.db")
    paused = invoke("run", target, "tea", "--store", url, "--run-id", "r1", stdin="")
    assert paused.exit_code == 0, paused.output
    del sys.modules["cli_durable_app"]  # as a new process would: the module is loaded again
    request_id = pending_id(url)
    result = invoke("runs", "resume", target, "r1", "--store", url, "--answer", f"{request_id}=3")
    assert result.exit_code == 0, result.output
    assert "  output from asker: how much tea? 3" in result.stdout.splitlines()


@pytest.mark.parametrize(
    ("args", "raised"),
    [
        (["run", "tests.cli.apps:raises", "x"], CliError),
        (["check", "tests.cli.apps:missing"], CliError),
        (["run", "tests.cli.apps:failing", "x"], BatonError),
        (["runs", "list", "--store", "notaurl"], CliError),
    ],
)
def test_debug_lets_the_error_propagate_with_its_traceback(
    args: list[str], raised: type[Exception]
) -> None:
    result = invoke("--debug", *args)
    assert isinstance(result.exception, raised), result.exception
    assert not any(line.startswith("error:") for line in result.stderr.splitlines())


# -- baton graph ----------------------------------------------------------------------------------


def test_graph_prints_mermaid_by_default() -> None:
    result = invoke("graph", "tests.cli.apps:builder")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("flowchart")
    assert "upper" in result.stdout
    assert "shout" in result.stdout


def test_graph_prints_dot_with_format_dot() -> None:
    result = invoke("graph", "tests.cli.apps:builder", "--format", "dot")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("digraph")


@pytest.mark.parametrize("fmt", ["mermaid", "dot"])
def test_graph_output_writes_the_printed_form_to_a_file(tmp_path: Path, fmt: str) -> None:
    printed = invoke("graph", "tests.cli.apps:builder", "-f", fmt)
    target = tmp_path / f"graph.{fmt}"
    result = invoke("graph", "tests.cli.apps:builder", "-f", fmt, "-o", str(target))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert target.read_text() == printed.stdout
    assert f"wrote {target}" in result.stderr


def test_graph_output_into_a_missing_directory_is_an_error(tmp_path: Path) -> None:
    target = tmp_path / "no" / "such" / "graph.mmd"
    line = error_line(invoke("graph", "tests.cli.apps:builder", "-o", str(target)))
    assert f"cannot write `{target}`" in line
    assert not target.parent.exists()


def test_graph_of_an_invalid_workflow_points_to_check() -> None:
    line = error_line(invoke("graph", "tests.cli.apps:invalid"))
    assert "the workflow is invalid" in line
    assert "[type_mismatch]" in line
    assert "baton check" in line


# -- baton check ----------------------------------------------------------------------------------


def test_check_reports_a_valid_workflow() -> None:
    result = invoke("check", "tests.cli.apps:builder")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("tests.cli.apps:builder: valid.")
    assert "Workflow `shouting`: 2 executors" in result.stdout
    assert "start `upper`" in result.stdout
    assert "warning" not in result.output


@pytest.mark.parametrize("target", ["tests.cli.apps:invalid", "tests.cli.apps:factory_of_invalid"])
def test_check_lists_every_problem_with_its_fix(target: str) -> None:
    result = invoke("check", target)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0] == f"{target}: invalid, 1 problem(s)"
    assert lines[1].startswith("  1. [type_mismatch] `upper` sends `str`, but `numbers` accepts")
    assert lines[2].startswith("     fix: ")
    assert "error:" not in result.output


WARNED_APP = """\
    from engine import WorkflowBuilder, WorkflowContext, executor


    @executor(id="again")
    async def again(n: int, ctx: WorkflowContext[int, int]) -> None:
        await ctx.yield_output(n)
        if n < 2:
            await ctx.send_message(n + 1)


    @executor(id="quiet")
    async def quiet(n: int, ctx: WorkflowContext[None]) -> None:
        pass


    builder = (
        WorkflowBuilder(start_executor=again, name="warned")
        .add_edge(again, again)
        .add_edge(again, quiet)
    )
"""


def test_check_shows_the_warnings_of_a_valid_workflow(tmp_path: Path) -> None:
    target = f"{write(tmp_path / 'cli_warned_app.py', WARNED_APP)}:builder"
    result = invoke("check", target)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"{target}: valid.")
    warnings = [line for line in lines if line.startswith("  warning ")]
    assert len(warnings) == 2
    assert any("[self_loop] `again`" in line for line in warnings)
    assert any("[silent_executor] `quiet`" in line for line in warnings)
    assert sum(line.startswith("     fix: ") for line in lines) == 2
    assert not any(line.startswith("warning:") for line in result.stderr.splitlines())


def test_run_prints_a_builders_warnings_as_one_line_each_on_stderr(tmp_path: Path) -> None:
    target = f"{write(tmp_path / 'cli_warned_app.py', WARNED_APP)}:builder"
    result = invoke("run", target, "0")
    assert result.exit_code == 0, result.output
    shown = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(shown) == 2
    assert "output from again: 2" in result.stdout


def test_check_prints_the_termination_analysis_of_a_bounded_handoff_desk() -> None:
    result = invoke("check", "cli.demos.support_desk:build_support_desk")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "Termination:" in lines
    assert "    1. bounded: `triage`, `returns`, `orders`" in lines
    assert "       turn limits: `triage` 4, `returns` 4, `orders` 4" in lines
    assert lines[-1] == "  Bounded: one input takes at most 16 supersteps (budget 1000)."


def test_check_names_the_unbounded_loop_of_a_workflow(tmp_path: Path) -> None:
    target = f"{write(tmp_path / 'cli_warned_app.py', WARNED_APP)}:builder"
    result = invoke("check", target)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "    1. exit-possible: `again`" in lines
    assert "       unbounded loop: `again` -> `again` passes no turn limit or loop bound" in lines
    assert lines[-1].startswith("  Not bounded: cycle 1 is not bounded")


def test_check_of_a_factory_shows_each_warning_once() -> None:
    result = invoke("check", "tests.cli.apps:build_slow")
    assert result.exit_code == 0, result.output
    assert "  warning 1. [self_loop] `count`" in result.stdout
    assert not any(line.startswith("warning:") for line in result.stderr.splitlines())


IMPORT_WARNED_APP = """\
    from engine import WorkflowBuilder, WorkflowContext, executor


    @executor(id="again")
    async def again(n: int, ctx: WorkflowContext[int, int]) -> None:
        await ctx.yield_output(n)


    workflow = WorkflowBuilder(start_executor=again, name="loopy").add_edge(again, again).build()
"""


def test_a_workflow_built_on_import_warns_as_one_line(tmp_path: Path) -> None:
    app_file = write(tmp_path / "cli_loopy_app.py", IMPORT_WARNED_APP)
    baton = Path(sys.executable).with_name("baton")
    command = [str(baton)] if baton.exists() else [shutil.which("baton") or "baton"]
    done = subprocess.run(
        [*command, "run", f"{app_file}:workflow", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "BatonWarning" not in done.stderr
    assert "warning: [self_loop]" in done.stderr
