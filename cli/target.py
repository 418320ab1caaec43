"""TARGET: the ``module:attr`` or ``path/to/file.py:attr`` that names the workflow a command works on.

The attribute may be a built `Workflow`, a `WorkflowBuilder` or an orchestration builder (built here),
or a zero-argument function returning one of those. `load_target` returns the object unbuilt, so
`baton check` can report a builder's validation problems; `build_target` turns it into a `Workflow`.

Like ``python -m``, the current directory is importable, and so is a file's own directory, so a
file can import its sibling modules. A file is imported under its stem as module
name, the name its message types are recorded under in checkpoints, so a run started from
``app.py:wf`` is resumed with the same TARGET.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import inspect
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from cli.errors import CliError
from engine import BatonError, Workflow, WorkflowBuilder
from orchestrations import OrchestrationBuilder

__all__ = ["Target", "build_target", "load_target"]

Buildable = Workflow | WorkflowBuilder | OrchestrationBuilder
_KINDS = "a Workflow, a WorkflowBuilder, an orchestration builder, or a zero-argument function returning one"


@dataclass(frozen=True, slots=True)
class Target:
    """A loaded TARGET: what it named, and the workflow or builder it gave."""

    spec: str
    value: Buildable


def load_target(spec: str, *, show_warnings: bool = True) -> Target:
    """Import TARGET and return the workflow or builder it names (see the module docstring).

    Warnings raised meanwhile (a module or factory that builds a workflow) are printed as one
    ``warning:`` line each, unless `show_warnings` is false (`baton check` reports them itself).
    """
    with _warnings_to_stderr(show=show_warnings):
        return _load(spec)


def _load(spec: str) -> Target:
    module_part, sep, attr = spec.rpartition(":")
    if not sep or not module_part or not attr:
        raise CliError(
            f"TARGET `{spec}` must look like `module:attr` or `path/to/file.py:attr` "
            "(for example `myapp.flows:workflow`)."
        )
    module = _import(module_part)
    value: object = module
    for name in attr.split("."):
        if not hasattr(value, name):
            raise CliError(f"`{module_part}` has no attribute `{attr}`; check the name after `:`.")
        value = getattr(value, name)
    return Target(spec, _resolve(spec, value))


def build_target(target: Target, *, show_warnings: bool = True) -> Workflow:
    """The target as a `Workflow`, building a builder (its warnings go to stderr as one line each).

    `baton check` passes ``show_warnings=False``: it reports `Workflow.warnings` itself.
    """
    if isinstance(target.value, Workflow):
        return target.value
    with _warnings_to_stderr(show=show_warnings):
        return target.value.build()


@contextlib.contextmanager
def _warnings_to_stderr(*, show: bool) -> Iterator[None]:
    """Print warnings raised in the body as ``warning: ...`` lines (not Python's two-line form)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        finally:
            for warning in caught if show else ():
                print(f"warning: {warning.message}", file=sys.stderr)


def _resolve(spec: str, value: object) -> Buildable:
    if isinstance(value, Workflow | WorkflowBuilder | OrchestrationBuilder):
        return value
    if inspect.isclass(value):
        raise CliError(f"`{spec}` is the class `{value.__name__}`; TARGET must name {_KINDS}.")
    if not callable(value):
        raise CliError(
            f"`{spec}` is a value of type `{type(value).__name__}`; TARGET must name {_KINDS}."
        )
    if inspect.iscoroutinefunction(value):
        raise CliError(f"`{spec}` is an async function; a TARGET factory must be a plain function.")
    try:
        inspect.signature(value).bind()
    except TypeError:
        raise CliError(
            f"`{spec}` needs arguments; a TARGET factory must take none (wrap it in one that does)."
        ) from None
    except ValueError:  # no signature to inspect (a builtin): let the call decide
        pass
    try:
        made = value()
    except BatonError:  # an invalid workflow: `baton check` reports it, other commands fail on it
        raise
    except Exception as error:
        raise CliError(f"calling `{spec}()` failed: {type(error).__name__}: {error}") from error
    if isinstance(made, Workflow | WorkflowBuilder | OrchestrationBuilder):
        return made
    raise CliError(
        f"`{spec}()` returned a value of type `{type(made).__name__}`; it must return {_KINDS}."
    )


def _import(name: str) -> ModuleType:
    if name.endswith(".py") or "/" in name or "\\" in name:
        return _import_file(Path(name))
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name is not None and (name == error.name or name.startswith(f"{error.name}.")):
            raise CliError(
                f"no module named `{name}`; run from the directory that contains it or give a "
                "file path (`path/to/file.py:attr`)."
            ) from None
        raise _import_failed(name, error) from error
    except Exception as error:
        raise _import_failed(name, error) from error


def _import_file(path: Path) -> ModuleType:
    if not path.is_file():
        raise CliError(
            f"no file `{path}`; TARGET's part before `:` must be a module or a .py file."
        )
    path = path.resolve()
    name = path.stem
    loaded = sys.modules.get(name)
    if loaded is not None and getattr(loaded, "__file__", None) == str(path):
        return loaded
    if loaded is not None:
        raise CliError(
            f"`{path.name}` would load as module `{name}`, which is already another module "
            f"({getattr(loaded, '__file__', 'built in')}); rename the file."
        )
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise CliError(f"`{path}` cannot be imported as a Python module.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pydantic look their module up while it loads
    if str(path.parent) not in sys.path:  # as for a script: its siblings are importable
        sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        del sys.modules[name]
        raise _import_failed(str(path), error) from error
    return module


def _import_failed(name: str, error: BaseException) -> CliError:
    return CliError(f"importing `{name}` failed: {type(error).__name__}: {error}")
