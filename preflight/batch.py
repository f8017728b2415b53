"""Several stacks in one run (``preflight dev staging prod``, ``preflight --all``).

Most of a single run is importing pulumi, the provider SDKs and the program's libraries. Here
they are imported once, in this process (:func:`warm_imports`); then each stack runs in a
process forked from it, so it starts with every module loaded:

- a stack's process runs it exactly as a single-stack run does (:func:`preflight.cli._run`:
  its own policy pack process, both passes, the time limits, SIGINT/SIGTERM), with its
  stdout and stderr in a file, and hands its report back pickled;
- up to two stacks per core this process may use run at once;
- a stack that fails, crashes or is killed is reported as such (status 2, one line naming
  the stack and its file); the others' reports are complete whatever happens to it;
- each stack's output is replayed on stderr, every line tagged with the stack, then the
  reports are merged (:func:`preflight.report.render_batch`), or written one file per stack
  when ``--output`` holds ``{stack}``.

Where the platform cannot fork (Windows), the stacks run one after another in this process.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import copy
import gc
import importlib
import importlib.metadata
import importlib.util
import io
import os
import pickle
import re
import signal
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from .cli import _Timings
    from .project import Project
    from .report import Report, StackOutcome

STACK_FIELD = "{stack}"
"""In a path option, replaced by each stack's name (``--output preflight-{stack}.md``)."""
_PER_STACK_OPTIONS = ("diagram", "policy_config", "invokes", "preflight_config", "cost_base")

# What every stack's run imports whatever the program: preflight's own machinery (the
# analyzer's gRPC, the mock runtime, the report's terminal rendering).
_PREFLIGHT_MODULES = (
    "preflight.account", "preflight.analyzer", "preflight.capture", "preflight.coverage",
    "preflight.insights", "preflight.insights.az", "preflight.insights.cost",
    "preflight.insights.diagram", "preflight.insights.render", "preflight.invokes",
    "preflight.passes", "preflight.policy_config", "preflight.program", "preflight.report",
    "preflight.resolve", "pulumi.runtime.mocks", "rich.console", "rich.table", "rich.text",
)


def can_fork() -> bool:
    return hasattr(os, "fork")


STACKS_PER_CORE = 2
"""A stack's process waits on its policy pack for part of its run (and the pack on it), so
two stacks per core keep the cores busier than one: measured 0.8-0.9x the wall time of
one per core on ``dev staging prod`` with two cores (``bench/RESULTS.md``)."""


def workers(stacks: int) -> int:
    """How many stacks run at once: two per core this process may use."""
    if hasattr(os, "process_cpu_count"):  # Python 3.13
        cores = os.process_cpu_count() or 1
    elif hasattr(os, "sched_getaffinity"):
        cores = len(os.sched_getaffinity(0))
    else:
        cores = os.cpu_count() or 1
    return max(1, min(stacks, STACKS_PER_CORE * cores))


def run_batch(args: argparse.Namespace, timings: _Timings) -> int:
    """Run every stack ``args`` names (or all of them), merge and render the reports; the
    exit status of the worst stack (2 over 1 over 0)."""
    from .cli import _check_output, _error, reports
    from .project import UsageError, display_path, load_project

    try:
        project = load_project(Path(args.project_dir).resolve())
        stacks = project.stacks() if args.all else list(args.stack)
        if not stacks:
            raise UsageError(f"no stack files (Pulumi.<stack>.yaml) in "
                             f"{display_path(project.stack_config_dir)}")
        twice = sorted({s for s in stacks if stacks.count(s) > 1})
        if twice:
            raise UsageError(f"stack {', '.join(twice)} named twice: name each stack once")
        if args.diagram and STACK_FIELD not in args.diagram:
            raise UsageError(f"--diagram {args.diagram}: with several stacks, put {{stack}} "
                             "in the file name (e.g. diagram-{stack}.svg)")
        pairs = reports(args.format, args.output)
        for output in [*(path for _, path in pairs), args.diagram]:
            for stack in stacks if output else ():
                _check_output(output.replace(STACK_FIELD, stack))
    except UsageError as exc:
        return _error(str(exc))
    timings.mark("startup")
    forking = can_fork()
    if forking:
        from .runtime import prepare

        prepare()  # the lazy provider imports act on the warm-up too
        warm_imports(project, _pack_dir(args, project))
        # The imported modules are never collected: no copy-on-write of their pages when a
        # stack's collector walks them.
        gc.freeze()
    timings.mark("imports")
    files = {s: _stack_file(project, s) for s in stacks}
    if forking:
        outcomes = _forked(args, project.name, stacks, files)
    else:
        outcomes = {s: _in_process(_stack_args(args, s), project.name, s, files[s])
                    for s in stacks}
    timings.mark("stacks")
    ordered = [outcomes[s] for s in stacks]
    code = _render(pairs, args.quiet, ordered, project.name)
    timings.mark("report")
    if args.timings:
        print(timings.render({f"stack {o.stack}": o.seconds for o in ordered}),
              file=sys.stderr)
        if not forking:
            print("stacks ran one after another: this platform cannot fork", file=sys.stderr)
    return code


def _pack_dir(args: argparse.Namespace, project: Project) -> Path | None:
    from .project import UsageError, default_pack_dir

    if args.policy_pack:
        return Path(args.policy_pack).resolve()
    try:
        return default_pack_dir(project.dir)[0]
    except UsageError:
        return None  # each stack's run says so


def _stack_file(project: Project, stack: str) -> str:
    from .locations import repo_path

    return repo_path(project.stack_file(stack))


def _stack_args(args: argparse.Namespace, stack: str) -> argparse.Namespace:
    """The options of one stack's run: its name in every ``{stack}`` path; no report file
    (the parent writes the reports)."""
    one = copy.copy(args)
    one.stack = stack
    one.all = False
    for name in _PER_STACK_OPTIONS:
        value = getattr(one, name)
        if value:
            setattr(one, name, value.replace(STACK_FIELD, stack))
    one.format = one.output = None
    return one


# --- imports ----------------------------------------------------------------------------------

def warm_imports(project: Project, pack_dir: Path | None) -> list[str]:
    """Import here what every stack's run would import: preflight's own modules, the pack's
    AZ-loss simulation (which the reports hold objects of), and the libraries the program's
    own files import (read, not run: a program module may create
    resources when imported). Attribute chains on an imported library (``aws.ec2.Vpc``) name
    its lazily loaded subpackages (``pulumi_aws.ec2``). A library that fails to import is
    left to the stack's run, which reports it as today. Returns what was imported."""
    names = [*_PREFLIGHT_MODULES, *library_imports(project)]
    done = []
    if pack_dir is not None:
        from .insights.az import load_simulation

        with contextlib.suppress(Exception):  # the stack's own run reports it
            if load_simulation(pack_dir) is not None:
                done.append("preflight._pack_az_loss")
    old_path = list(sys.path)
    sys.path.insert(0, str(project.program_dir))
    try:
        for name in names:
            if name in sys.modules or _import(name):
                done.append(name)
    finally:
        sys.path[:] = old_path
    return done


def _import(name: str) -> bool:
    """Import ``name``. ``a.b`` only when ``b`` is a submodule of ``a`` and not a name ``a``
    defines over it (``pulumi_aws.elb.get_service_account``: a function and a module)."""
    parent, _, leaf = name.rpartition(".")
    try:
        if parent:
            above = importlib.import_module(parent)
            try:
                found = getattr(above, leaf)  # a lazily loaded subpackage loads here
            except AttributeError:
                found = None
            if found is not None:
                return isinstance(found, ModuleType)
            if importlib.util.find_spec(name) is None:
                return False
        importlib.import_module(name)
    except BaseException:  # the stack's own run reports it
        return False
    return True


def library_imports(project: Project) -> list[str]:
    """Modules the program's own files import that are libraries, in the order first named.
    The program's own modules are read and followed, never imported; so are the modules of
    a distribution installed from the program directory (an editable install of the
    project's own components), which are imported too."""
    root = project.program_dir
    installed = set(importlib.metadata.packages_distributions())

    def source(dotted: str) -> Path | None:
        base = root.joinpath(*dotted.split("."))
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                return candidate
        return None

    found: dict[str, None] = {}
    queue, seen = [project.program_file], set()
    while queue:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        try:
            tree = ast.parse(path.read_bytes(), str(path))
        except (OSError, SyntaxError, ValueError):
            continue
        package = ".".join(path.relative_to(root).parent.parts) \
            if path.is_relative_to(root) else ""
        modules, aliases = _imports_of(tree, package)
        for chain in _attribute_chains(tree):
            target = aliases.get(chain[0])
            if target:
                modules += [".".join([target, *chain[1:i]]) for i in range(2, len(chain) + 1)]
        for name in modules:
            own = source(name)
            if own is not None:
                queue.append(own)
            top = name.split(".")[0]
            if top in installed or not ((root / top).exists()
                                        or (root / f"{top}.py").exists()):
                found.setdefault(name)
    return list(found)


def _imports_of(tree: ast.AST, package: str) -> tuple[list[str], dict[str, str]]:
    """The modules a file imports (with ``from x import y`` also ``x.y``, in case it is a
    submodule) and the names it binds to them."""
    modules: list[str] = []
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                modules.append(alias.name)
                if alias.asname:
                    aliases[alias.asname] = alias.name
                else:
                    aliases[alias.name.split(".")[0]] = alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom):
            parts = package.split(".") if package else []
            if node.level:
                parts = parts[:len(parts) - node.level + 1]
                base = ".".join([*parts, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            if base:
                modules.append(base)
            for alias in node.names:
                if alias.name != "*":
                    full = f"{base}.{alias.name}" if base else alias.name
                    modules.append(full)
                    aliases[alias.asname or alias.name] = full
    return modules, aliases


def _attribute_chains(tree: ast.AST) -> set[tuple[str, ...]]:
    """``a.b.c`` as ``("a", "b", "c")``, for every attribute chain rooted at a name."""
    chains = set()
    for node in ast.walk(tree):
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if parts and isinstance(node, ast.Name):
            chains.add((node.id, *reversed(parts)))
    return chains


# --- one process per stack -------------------------------------------------------------------

def _forked(args: argparse.Namespace, project: str, stacks: list[str],
            files: dict[str, str]) -> dict[str, StackOutcome]:
    limit = workers(len(stacks))
    pending = list(stacks)
    running: dict[int, tuple[str, float]] = {}
    outcomes: dict[str, StackOutcome] = {}
    stopping: list[int] = []

    def stop(signum: int, _frame: Any) -> None:
        # SIGINT from a terminal reaches every stack's process itself; SIGTERM only this one.
        stopping.append(signum)
        pending.clear()
        for pid in running:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGTERM)

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    with tempfile.TemporaryDirectory(prefix="preflight-") as tmp:
        try:
            while pending or running:
                while pending and len(running) < limit:
                    stack = pending.pop(0)
                    sys.stdout.flush()
                    sys.stderr.flush()
                    pid = os.fork()
                    if pid == 0:
                        _child(_stack_args(args, stack), Path(tmp) / stack)
                    running[pid] = (stack, time.perf_counter())
                pid, status = os.wait()
                if pid not in running:
                    continue
                stack, started = running.pop(pid)
                outcomes[stack] = _collect(project, stack, files[stack], status,
                                           Path(tmp) / stack, time.perf_counter() - started)
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
    for stack in stacks:
        outcomes.setdefault(stack, _outcome(project, stack, files[stack], 2, None,
                                            "preflight: interrupted", 0.0))
    if stopping:
        print("preflight: interrupted", file=sys.stderr)
    return outcomes


def _child(args: argparse.Namespace, base: Path) -> NoReturn:
    """A stack's process: run it with stdout and stderr in ``<base>.log``, put the report in
    ``<base>.report``, exit with the run's status. Never returns."""
    code = 2
    try:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_DFL)
        log = os.open(f"{base}.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        from .cli import _Guard

        code, report = _one(args, _Guard())
        if report is not None:
            partial = Path(f"{base}.partial")
            partial.write_bytes(pickle.dumps(report, protocol=pickle.HIGHEST_PROTOCOL))
            partial.rename(f"{base}.report")
    except BaseException as exc:  # whatever happens, this process ends here
        with contextlib.suppress(BaseException):
            from .cli import internal_error

            code = internal_error(exc, args.traceback)
    finally:
        with contextlib.suppress(BaseException):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _one(args: argparse.Namespace, guard: Any) -> tuple[int, Report | None]:
    """Run one stack as a single-stack run does; its status and its report (None when it
    ended with an error)."""
    from .cli import _run, _Timings, internal_error

    delivered: list[Report] = []
    try:
        code = _run(args, _Timings(), guard, delivered.append)
    except KeyboardInterrupt:
        print("preflight: interrupted", file=sys.stderr)
        code = 2
    except Exception as exc:  # a fault of preflight itself: never mistaken for a verdict
        code = internal_error(exc, args.traceback)
    return code, (delivered[0] if delivered and code in (0, 1) else None)


def _in_process(args: argparse.Namespace, project: str, stack: str,
                stack_file: str) -> StackOutcome:
    """Where nothing can be forked: the stack in this process, its output captured."""
    started = time.perf_counter()
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
        code, report = _one(args, None)
    return _outcome(project, stack, stack_file, code, report, buffer.getvalue(),
                    time.perf_counter() - started)


def _collect(project: str, stack: str, stack_file: str, status: int, base: Path,
             seconds: float) -> StackOutcome:
    code = os.waitstatus_to_exitcode(status)
    try:
        output = Path(f"{base}.log").read_text(encoding="utf-8", errors="replace")
    except OSError:
        output = ""
    report = None
    if code in (0, 1):
        with contextlib.suppress(OSError, pickle.UnpicklingError, EOFError):
            report = pickle.loads(Path(f"{base}.report").read_bytes())
    if report is None and not _error_lines(output):
        how = (f"killed by {signal.Signals(-code).name}" if code < 0
               else f"exit status {code}")
        output += f"preflight: error: the run ended without a report ({how})\n"
    return _outcome(project, stack, stack_file, code, report, output, seconds)


def _error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines()
            if re.match(r"preflight: (error|internal error|interrupted)", line)]


def _outcome(project: str, stack: str, stack_file: str, code: int, report: Report | None,
             output: str, seconds: float) -> StackOutcome:
    from .report import StackOutcome

    lines = [_tag(line, stack, stack_file) for line in output.splitlines()]
    if report is None:
        code = 2
    return StackOutcome(project=project, stack=stack, stack_file=stack_file, exit_code=code,
                        report=report,
                        errors=[] if report is not None else _error_lines("\n".join(lines)),
                        seconds=seconds, output=lines)


def _tag(line: str, stack: str, stack_file: str) -> str:
    """A line of a stack's output, naming the stack (and its file, on an error line that
    does not already)."""
    match = re.match(r"preflight: (error|internal error|warning): ", line)
    if match:
        rest = line[match.end():]
        where = stack if stack_file in rest or match[1] == "warning" \
            else f"{stack} ({stack_file})"
        return f"preflight: {match[1]}: {where}: {rest}"
    if line.startswith("preflight: "):
        return f"preflight: {stack}: {line[len('preflight: '):]}"
    return f"{stack}: {line}"


# --- reports ------------------------------------------------------------------------------

def _render(pairs: list[tuple[str, str]], quiet: bool, outcomes: list[StackOutcome],
            project: str) -> int:
    """Each ``(format, path)`` report: merged into one document, or one file per stack where
    the path names ``{stack}``; the terminal gets the merged text unless a report went there."""
    from .cli import write_reports
    from .report import batch_exit_code, render_batch, render_batch_text, render_outcome

    for o in outcomes:
        for line in o.output:
            print(line, file=sys.stderr)
    sys.stderr.flush()

    def document(fmt: str) -> str:
        return render_batch(outcomes, fmt, project)

    def files(fmt: str, path: str) -> list[tuple[str, str]]:
        if STACK_FIELD in path:
            return [(path.replace(STACK_FIELD, o.stack), render_outcome(o, fmt))
                    for o in outcomes]
        return [(path, document(fmt))]

    if write_reports(pairs, quiet, document,
                     lambda file, q: render_batch_text(outcomes, file, quiet=q), files):
        return 2
    return batch_exit_code(outcomes)
