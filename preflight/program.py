"""Run a Pulumi Python program in this process, as the Python language host runs it.

The host changes to the program directory, puts it first on ``sys.path`` and executes the
program with ``runpy`` as ``__main__`` inside ``run_in_stack``. Here the resource monitor is
Pulumi's mock runtime (see :mod:`preflight.capture`), so nothing leaves the machine.
"""

from __future__ import annotations

import os
import runpy
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .capture import Capture, Registration
    from .invokes import Answers
    from .project import Project, StackConfig


class ProgramError(Exception):
    """The program failed; ``summary`` is the one line to show, ``details`` the traceback."""

    def __init__(self, summary: str, details: str):
        super().__init__(summary)
        self.summary = summary
        self.details = details


def run_program(project: Project, stack: str, config: StackConfig,
                on_register: Callable[[Registration], None] | None = None,
                organization: str = "organization", *, answers: Answers | None = None,
                resolved: bool = False) -> Capture:
    """Run the project's program as a first preview of ``stack`` (with ``resolved``: as a
    preview of the stack once it exists); raise :class:`ProgramError`. When the program fails
    after a data source went unanswered, the error names it and the invokes file."""
    from .capture import capture
    from .runtime import prepare, program_gc

    prepare()
    program_dir = str(project.program_dir)
    target = str(project.main)
    old_cwd = os.getcwd()
    old_path = list(sys.path)
    os.chdir(program_dir)
    sys.path.insert(0, program_dir)
    # The program keeps the GIL busy; a shorter switch interval lets the analyzer's worker and
    # gRPC's completion thread keep the pack fed while it runs (measured: the tail after the
    # program drops from ~1.5 s to ~0.3 s at 1,650 resources, the total by ~5-10 %).
    switch = sys.getswitchinterval()
    sys.setswitchinterval(0.001)
    try:
        with program_gc():
            return capture(lambda: runpy.run_path(target, run_name="__main__"),
                           project=project.name, stack=stack, config=config.values,
                           secret_keys=config.secret_keys, preview=True,
                           on_register=on_register, organization=organization,
                           passthrough=True, answers=answers, resolved=resolved)
    except SystemExit as exc:
        if exc.code in (0, None):
            raise ProgramError("the program exited before registering its resources",
                               "") from None
        raise ProgramError(_with_hint(f"the program exited with status {exc.code}", answers),
                           _format(exc)) from None
    except Exception as exc:
        raise ProgramError(_with_hint(describe(exc, project.dir), answers),
                           _format(exc)) from None
    finally:
        sys.setswitchinterval(switch)
        os.chdir(old_cwd)
        sys.path[:] = old_path


def _with_hint(summary: str, answers: Answers | None) -> str:
    hint = answers.hint() if answers is not None else ""
    return f"{summary} ({hint})" if hint else summary


def _format(exc: BaseException) -> str:
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


def is_config_error(exc: BaseException) -> bool:
    """A message meant for the user as it stands: ``pulumi.RunError`` (incl. missing or
    mistyped config) or an exception carrying a list of ``problems``."""
    from pulumi.errors import RunError

    return isinstance(exc, RunError) or isinstance(getattr(exc, "problems", None), list)


def own_code(filename: str, root: Path) -> bool:
    """Whether ``filename`` is the project's own code (under ``root``, not in a virtualenv)."""
    return _own_path(os.path.realpath(filename), str(root.resolve()))


def _own_path(path: str, root: str) -> bool:
    """:func:`own_code` of a resolved ``path`` under a resolved ``root``."""
    if not path.startswith(root + os.sep):
        return False
    parts = path[len(root) + 1:].split(os.sep)
    return "site-packages" not in parts and not any(p in ("venv", ".venv") for p in parts[:-1])


def program_frame(exc: BaseException, root: Path) -> traceback.FrameSummary | None:
    """The innermost traceback frame in the project's own code (not in a virtualenv)."""
    found = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if own_code(frame.filename, root):
            found = frame
    return found


def forget_program_modules(root: Path) -> None:
    """Drop the project's own modules from ``sys.modules`` so the next run imports them
    afresh (their module-level state included); libraries, and preflight itself when the
    project holds it (with what it loads under its name, such as the pack's AZ-loss
    simulation), stay imported."""
    here = Path(__file__).resolve().parent
    root_path = str(root.resolve())
    # Hundreds of modules share a few dozen directories: each is resolved once (a file
    # that is itself a symlink, on its own).
    directories: dict[str, str] = {}
    for name, module in list(sys.modules.items()):
        filename = getattr(module, "__file__", None)
        if not filename:
            continue
        directory, base = os.path.split(filename)
        real = directories.get(directory)
        if real is None:
            real = directories[directory] = os.path.realpath(directory)
        path = os.path.realpath(filename) if os.path.islink(filename) else \
            os.path.join(real, base)
        if _own_path(path, root_path) and not name.startswith("preflight.") and \
                not Path(path).is_relative_to(here):
            del sys.modules[name]


def describe(exc: BaseException, root: Path) -> str:
    """One line (or the program's own multi-line message for config errors)."""
    message = str(exc).strip()
    if is_config_error(exc):
        return message or type(exc).__name__
    first = message.splitlines()[0] if message else ""
    what = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    frame = program_frame(exc, root)
    if frame is None:
        return f"the program failed: {what}"
    rel = os.path.relpath(os.path.realpath(frame.filename), str(root.resolve()))
    return f"{rel}:{frame.lineno}: {what}"
