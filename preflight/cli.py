"""preflight: an offline ``pulumi preview --policy-pack`` for Pulumi Python programs.

Usage::

    preflight <stack>... | --all [--project-dir DIR] [--policy-pack DIR] [--policy-config FILE]
                      [--format text|json|markdown|sarif|junit --output FILE]...
                      [--quiet] [--invokes FILE] [--strict] [--require-coverage]
                      [--traceback] [--timings] [--timeout S] [--pack-timeout S]
    preflight --version | --print-completion bash|zsh|tcsh
    python -m preflight <stack> ...

What it does:

1. Reads ``Pulumi.yaml`` (project name, ``main``, ``stackConfigDir``) and
   ``<stackConfigDir>/Pulumi.<stack>.yaml``. ``{secure: ...}`` values are not decrypted: the
   program gets the placeholder ``[secret]`` as a secret config value.
2. Runs the program in this process under Pulumi's mock runtime, as the first preview of a
   new stack (ids and provider-computed outputs unknown), then again resolved, as a preview
   of the stack once it exists (:mod:`.passes`). Data sources are answered by the invokes
   file or the stand-in account (:mod:`.invokes`).
3. Starts the policy pack as the Pulumi CLI does (``python -u -m pulumi.policy <engine> .``
   in the pack directory, in the virtualenv ``PulumiPolicy.yaml`` names) and sends it every
   resource over the Analyzer gRPC protocol while the program is still running, then the
   whole stack; then what the resolved pass changed, and the resolved stack.
4. Reports violations by policy and level, exempted findings (diagnostics whose message
   starts with ``[exempted] ``), policies that could not run because a value is unknown in
   both passes, what could be judged only in the resolved pass, remote components not
   expanded, data sources nobody answered and resource types no policy covers.

Options:

``--project-dir DIR``      the Pulumi project (default: the current directory)
``--policy-pack DIR``      the policy pack (default: ``<project>/policies`` if it exists,
                           else the pack installed with preflight)
``--policy-config FILE``   enforcement levels and policy properties, the file format of
                           ``pulumi preview --policy-pack-config`` (default:
                           ``<stackConfigDir>/Pulumi.<stack>.policy.json`` if it exists)
``--format FMT``           ``text`` (default), ``json``, ``markdown`` (PR comment or job
                           summary), ``sarif`` (SARIF 2.1.0 for code scanning) or ``junit``
``--output FILE``          write the report there; the terminal still gets the summary.
                           Both repeat: the Nth ``--output`` takes the Nth ``--format``
``--quiet``                the terminal shows the violations, what was not checked and
                           the verdict line only
``--invokes FILE``         answers for data sources (default:
                           ``<stackConfigDir>/preflight.invokes.yaml`` if it exists)
``--strict``               advisory violations and anything not checked fail too
``--require-coverage``     resource types no policy covers fail
``--traceback``            show the program's full traceback when it fails
``--timings``              print a timing breakdown on stderr
``--timeout SECONDS``      stop a program that runs longer (default 600)
``--pack-timeout SECONDS`` stop when the pack takes longer to start or to answer one call
                           (default 120)

Exit status: 0 clean; 1 mandatory violations (with ``--strict`` also advisory ones and
anything not checked; with ``--require-coverage`` uncovered types); 2 everything else:
usage, stack file, policy config, program or policy pack errors, time limits, SIGINT/SIGTERM
and internal errors.

Several stacks (or ``--all``): each runs as above in a process forked after the imports,
and the reports are merged (:mod:`.batch`); the status is the worst stack's.

Known limits: no provider runs, so provider-side defaults (default tags, computed
defaults) are not in the inputs the pack sees; data sources answer from the invokes file or
the stand-in account ``123456789012``; remote components are not expanded; remediations are
not applied.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

FORMATS = ("text", "json", "markdown", "sarif", "junit")

_EPILOG = """\
examples:
  preflight dev                                    the report on the terminal
  preflight prod --strict                          fail on anything not checked too
  preflight prod --format sarif --output prod.sarif
  preflight prod --format markdown --output prod.md --format sarif --output prod.sarif \\
                 --format junit --output prod.xml  several reports from one run
  preflight dev --quiet                            the verdict and the violations only
  preflight --print-completion bash > /etc/bash_completion.d/preflight

exit status:
  0  no mandatory violations (with --strict: no violations at all and nothing unchecked;
     with --require-coverage: every resource type covered)
  1  mandatory violations; with --strict also advisory violations, policies that could not
     run, remote components and opaque resources not expanded, unanswered data sources,
     uncovered resource types and an incomplete resolved pass; with --require-coverage
     uncovered types
  2  anything else: bad usage, a missing or invalid stack file, policy config or invokes
     file, a program that fails or runs past --timeout, a policy pack that fails, crashes
     or does not answer, an interrupt, an internal error
"""


class _Completion(argparse.Action):
    """``--print-completion SHELL``: the script shtab generates from the parser (imported
    only then: it and what it loads are ~40 ms of every other run's start)."""

    SHELLS = ("bash", "zsh", "tcsh")

    def __init__(self, option_strings: list[str], dest: str, **kwargs: Any):
        super().__init__(option_strings, dest, choices=self.SHELLS, metavar="SHELL", **kwargs)
        self.paths: list[argparse.Action] = []
        """Options whose value the shell completes as a path (metavar ``DIR`` or ``FILE``)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        import shtab

        kinds = {"DIR": shtab.DIRECTORY, "FILE": shtab.FILE}
        for action in self.paths:
            setattr(action, "complete", kinds[str(action.metavar)])  # noqa: B010 - shtab's attribute
        print(shtab.complete(parser, shell=values))
        parser.exit(0)


class _Version(argparse.Action):
    """``--version``: the installed distribution's version, read only when asked for."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: Any):
        super().__init__(option_strings, dest, nargs=0, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        from .report import tool_version

        print(f"{parser.prog} {tool_version()}")
        parser.exit(0)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="preflight",
        description="Offline preview of a Pulumi Python program, checked by a policy pack.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    completion = p.add_argument("--print-completion", action=_Completion,
                                help="print a shell completion script (bash, zsh or tcsh)")
    p.add_argument("--version", action=_Version, help="show the version and exit")

    def add(*names: str, **kwargs: Any) -> None:
        action = p.add_argument(*names, **kwargs)
        if kwargs.get("metavar") in ("DIR", "FILE"):
            assert isinstance(completion, _Completion)
            completion.paths.append(action)

    add("stack", nargs="*", metavar="STACK",
        help="stack name (reads <stackConfigDir>/Pulumi.<stack>.yaml); several run in "
             "one invocation, each in a process of its own (one after another where "
             "the platform cannot fork), with one merged report")
    add("--all", action="store_true",
        help="every stack of the project (each Pulumi.<stack>.yaml in stackConfigDir)")
    add("--project-dir", default=".", metavar="DIR",
                   help="Pulumi project directory (default: .)")
    add("--policy-pack", metavar="DIR",
                   help="policy pack directory (default: <project>/policies, else the pack "
                        "installed with preflight)")
    add("--policy-config", metavar="FILE",
                   help="policy config JSON (default: <stackConfigDir>/Pulumi.<stack>"
                        ".policy.json if it exists)")
    add("--format", choices=FORMATS, action="append", metavar="FORMAT",
                   help=f"report format: {', '.join(FORMATS)} (default: text); repeat it, "
                        "each with its own --output, for several reports from one run")
    add("--output", metavar="FILE", action="append",
                   help="write the report to FILE (the terminal still gets the text "
                        "summary); the Nth --output takes the Nth --format")
    add("--quiet", "-q", action="store_true",
                   help="on the terminal, only the violations, what was not checked and the "
                        "verdict line")
    add("--invokes", metavar="FILE",
                   help="answers for data sources (default: <stackConfigDir>/"
                        "preflight.invokes.yaml if it exists)")
    add("--strict", action="store_true",
                   help="fail on advisory violations and on anything not checked: policies "
                        "that could not run, remote components, unanswered data sources, "
                        "uncovered resource types")
    add("--require-coverage", action="store_true",
                   help="fail when a resource type is covered by no policy")
    add("--traceback", action="store_true",
                   help="show the full traceback when the program fails")
    add("--timings", action="store_true", help="timing breakdown on stderr")
    add("--timeout", type=float, default=600, metavar="SECONDS",
                   help="stop a program that runs longer (default: 600)")
    add("--pack-timeout", type=float, default=120, metavar="SECONDS",
                   help="stop when the pack takes longer to start or to answer one call "
                        "(default: 120)")
    add("--preflight-config", metavar="FILE",
                   help="budget and cost assumptions (default: <stackConfigDir>/Pulumi.<stack>"
                        ".preflight.yaml if it exists)")
    add("--cost-base", metavar="FILE",
                   help="the base branch's JSON report: show the cost difference against it")
    add("--diagram", metavar="FILE",
                   help="also draw the architecture diagram to FILE (.svg or .png; needs "
                        "Graphviz)")
    add("--no-insights", action="store_true",
                   help="skip the AZ-loss, cost and diagram analyses")
    return p


def reports(formats: list[str] | None, outputs: list[str] | None) -> list[tuple[str, str]]:
    """``(format, path)`` pairs, the Nth ``--format`` with the Nth ``--output``; a path of
    ``""`` is the terminal. One format may go to the terminal; several need a file each."""
    from .project import UsageError

    formats, outputs = list(formats or []), list(outputs or [])
    if not formats:
        formats = ["text"] * max(1, len(outputs))
    if not outputs and len(formats) == 1:
        return [(formats[0], "")]
    if len(formats) != len(outputs):
        raise UsageError(f"--format is given {len(formats)} times and --output "
                         f"{len(outputs)} times: give each --format its --output, in the "
                         "same order (--format markdown --output a.md --format sarif "
                         "--output a.sarif)")
    seen: set[str] = set()
    for output in outputs:
        key = os.path.realpath(output)
        if key in seen:
            raise UsageError(f"--output {output} is given twice: one file per report")
        seen.add(key)
    return list(zip(formats, outputs, strict=True))


class _Timings:
    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.marks: list[tuple[str, float]] = []
        self._last = self.start

    def mark(self, phase: str) -> None:
        now = time.perf_counter()
        self.marks.append((phase, now - self._last))
        self._last = now

    def render(self, extra: dict[str, float]) -> str:
        lines = ["preflight timings (s):"]
        lines += [f"  {name:<10} {secs:7.3f}" for name, secs in self.marks]
        lines.append(f"  {'total':<10} {time.perf_counter() - self.start:7.3f}"
                     f"  (in process; interpreter start not included)")
        lines += [f"  {name:<10} {secs:7.3f}" for name, secs in extra.items()]
        return "\n".join(lines)


class _Progress:
    """``registered N, analysed M`` on stderr, only when stderr is a terminal; counts move
    while the program runs (the pack's answers arrive meanwhile)."""

    def __init__(self) -> None:
        self.registered = 0
        self.phase = "preview"
        self.session: Any = None
        self.enabled = sys.stderr.isatty()
        self._live: Any = None

    def __rich__(self) -> Any:
        from rich.text import Text

        analysed = self.session.analyzed if self.session is not None else 0
        return Text(f"preflight: {self.phase}: {self.registered} resources registered, "
                    f"{analysed} analysed")

    def start(self) -> None:
        if self.enabled:
            from rich.console import Console
            from rich.live import Live

            self._live = Live(self, console=Console(stderr=True), refresh_per_second=8,
                              transient=True)
            self._live.start()

    def stop(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None


class _Guard:
    """What ends a command-line run from outside the main thread's control: SIGINT and
    SIGTERM, and the program's time limit. Either kills the pack's process group at once,
    says why on stderr and exits with status 2, whatever the program is doing at that
    moment (a signal is also noticed through a wakeup pipe, so a main thread stuck in
    native code cannot hold it back)."""

    def __init__(self) -> None:
        self.pack: Any = None
        self._lock = threading.Lock()
        self._watching = threading.Lock()
        self._settled = False
        self._previous: dict[int, Any] = {}
        self._timer: threading.Timer | None = None
        read, write = os.pipe()
        os.set_blocking(write, False)
        self._pipe = (read, write)
        for signum in (signal.SIGINT, signal.SIGTERM):
            self._previous[signum] = signal.signal(signum, self._on_signal)
        self._old_wakeup = signal.set_wakeup_fd(write, warn_on_full_buffer=False)
        threading.Thread(target=self._watch, name="preflight-signals", daemon=True).start()

    def _on_signal(self, signum: int, _frame: Any) -> None:
        self.abort(["preflight: interrupted"])

    def _watch(self) -> None:
        while True:
            try:
                data = os.read(self._pipe[0], 64)
            except OSError:
                return
            if not data:
                return
            if any(b in (signal.SIGINT, signal.SIGTERM) for b in data):
                self.abort(["preflight: interrupted"])

    def time_limit(self, seconds: float, message: str) -> None:
        self._timer = threading.Timer(seconds, self.abort, (_error_lines(message),))
        self._timer.daemon = True
        self._timer.start()

    def cancel_time_limit(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def watch_configuration(self, session: Any) -> None:
        """End the run as soon as the pack refuses its configuration (or fails before
        accepting it), instead of letting the program run on first."""
        def watch() -> None:
            session.configured.wait()
            with self._watching:
                if session.error is not None and not self._settled:
                    self.abort(_error_lines(str(session.error)))
        threading.Thread(target=watch, name="preflight-config", daemon=True).start()

    def settle(self) -> None:
        """The run ends the pack itself from here on: a failure the pack reports while being
        stopped is no reason to abort."""
        with self._watching:
            self._settled = True

    def claim(self) -> None:
        """The main thread ends the run with its own message: nothing here prints or exits
        after this (an abort already under way ends the process first), so one message is
        said once, not also by the thread that saw the same cause."""
        if not self._lock.acquire(blocking=False):
            threading.Event().wait()  # the aborting thread is ending the process

    def abort(self, lines: list[str]) -> None:
        """Kill the pack's process group, print ``lines`` and exit with status 2."""
        if not self._lock.acquire(blocking=False):
            return  # already ending
        pack = self.pack
        if pack is not None:
            with contextlib.suppress(OSError):
                os.killpg(pack.proc.pid, signal.SIGKILL)
        text = "".join(f"{line}\n" for line in lines)
        sys.stderr.write(f"\n{text}" if sys.stderr.isatty() else text)
        with contextlib.suppress(Exception):
            sys.stderr.flush()
            sys.stdout.flush()
        os._exit(2)


def main(argv: list[str] | None = None) -> int:
    """Run preflight. From the command line (``argv`` None) SIGINT, SIGTERM and the program
    time limit end the run at once (status 2), and the process ends right after the report
    is flushed and the pack is stopped, skipping the interpreter's teardown of the thousands
    of SDK modules the program imported (about 0.4 s). With ``argv`` it returns the exit
    status instead and leaves signals alone."""
    parser = _parser()
    args = parser.parse_args(argv)
    if bool(args.stack) == args.all:
        parser.error("name a stack, several stacks, or --all (not both)")
    batch = args.all or len(args.stack) > 1
    if not batch:
        args.stack = args.stack[0]
    timings = _Timings()
    guard = _Guard() if argv is None and not batch else None
    try:
        if batch:
            from .batch import run_batch

            code = run_batch(args, timings)
        else:
            code = _run(args, timings, guard)
    except KeyboardInterrupt:
        print("preflight: interrupted", file=sys.stderr)
        code = 2
    except Exception as exc:  # a fault of preflight itself: never mistaken for a verdict
        code = internal_error(exc, args.traceback)
    if argv is None:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def internal_error(exc: BaseException, show_traceback: bool) -> int:
    """A fault of preflight itself, as one line on stderr (the traceback if asked); status 2."""
    if show_traceback:
        traceback.print_exception(exc)
    first = (str(exc).strip().splitlines() or [""])[0]
    hint = "" if show_traceback else " (run with --traceback for details)"
    print(f"preflight: internal error: {type(exc).__name__}"
          f"{': ' + first if first else ''}{hint}", file=sys.stderr)
    return 2


def _error_lines(message: str) -> list[str]:
    return [f"preflight: error: {line}" for line in message.splitlines() or [""]]


def _error(message: str) -> int:
    """Every line of ``message`` on stderr as ``preflight: error: <line>``; status 2."""
    for line in _error_lines(message):
        print(line, file=sys.stderr)
    return 2


def write_reports(pairs: list[tuple[str, str]], quiet: bool, document: Callable[[str], str],
                  text: Callable[[Any, bool], None],
                  files: Callable[[str, str], Iterable[tuple[str, str]]] | None = None) -> int:
    """Each ``(format, path)`` report: ``document(format)`` to stdout (the text format through
    ``text``) or to its file, or to the files ``files(format, path)`` names with their
    contents; the terminal gets the text unless a report went there. 2 (said on stderr) if
    a file cannot be written, else 0."""
    terminal = True
    try:
        for fmt, path in pairs:
            if not path:
                terminal = False
                if fmt == "text":
                    text(sys.stdout, quiet)
                else:
                    sys.stdout.write(document(fmt))
                continue
            for target, content in (files(fmt, path) if files else [(path, document(fmt))]):
                Path(target).write_text(content, encoding="utf-8")
    except OSError as exc:
        return _error(f"cannot write {exc.filename}: {exc.strerror}")
    if terminal:  # every report went to a file: the terminal gets the text summary
        text(sys.stdout, quiet)
    sys.stdout.flush()
    return 0


def _check_output(output: str) -> None:
    """A report or diagram can be written there: checked before anything runs."""
    from .project import UsageError

    path = Path(output)
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise UsageError(f"{output}: is a directory: name a file")
    if not parent.is_dir():
        raise UsageError(f"{output}: directory {parent} does not exist")
    if not os.access(path if path.exists() else parent, os.W_OK):
        raise UsageError(f"{output}: not writable: choose another path")


def _run(args: argparse.Namespace, timings: _Timings, guard: _Guard | None,
         deliver: Any = None) -> int:
    """One stack, start to end. With ``deliver`` (a stack of a batch) the finished report
    goes to it instead of being rendered."""
    from .policy_config import PolicyConfig, read_policy_config
    from .project import (
        UsageError,
        default_pack_dir,
        display_path,
        load_project,
        load_stack_config,
    )

    def fail(message: str) -> int:
        """An error that ends the run, said once even if a watching thread saw it too."""
        if guard is not None:
            guard.claim()
        return _error(message)

    try:
        if args.timeout <= 0 or args.pack_timeout <= 0:
            raise UsageError("--timeout and --pack-timeout take a number of seconds above 0")
        pairs = reports(args.format, args.output)
        for output in [*(path for _, path in pairs), args.diagram]:
            if output:
                _check_output(output)
        project_dir = Path(args.project_dir).resolve()
        project = load_project(project_dir)
        config = load_stack_config(project, args.stack)
        if args.policy_pack:
            pack_dir = Path(args.policy_pack).resolve()
        else:
            pack_dir, installed = default_pack_dir(project_dir)
            if installed:
                print(f"preflight: policy pack: {display_path(pack_dir)} (installed with "
                      "preflight; --policy-pack DIR for another)", file=sys.stderr)
        policy_config_path = (Path(args.policy_config) if args.policy_config else
                              project.stack_config_dir / f"Pulumi.{args.stack}.policy.json")
        if args.policy_config and not policy_config_path.is_file():
            raise UsageError(f"policy config not found: {args.policy_config}")
        policy_config = (read_policy_config(policy_config_path)
                         if policy_config_path.is_file() else PolicyConfig())
    except UsageError as exc:
        return _error(str(exc))
    for warning in config.warnings:
        print(f"preflight: warning: {warning}", file=sys.stderr)

    from .account import StandInAccount
    from .analyzer import AnalyzerSession, PackError, PackProcess, StackInfo, locate_pack, pack_env
    from .capture import STACK_TYPE, Registration, engine_urn, stack_region
    from .insights import read_base
    from .insights.settings import load_settings, settings_path
    from .invokes import Answers, invokes_file, load_invokes
    from .passes import Pairing, Pass, run_resolved

    try:
        location = locate_pack(pack_dir)
        invokes_path = (Path(args.invokes) if args.invokes
                        else invokes_file(project.stack_config_dir))
        if args.invokes and not invokes_path.is_file():
            raise UsageError(f"invokes file not found: {args.invokes}")
        file_answers = load_invokes(invokes_path) if invokes_path.is_file() else []
        settings = load_settings(settings_path(project.stack_config_dir, args.stack,
                                               args.preflight_config))
        base = read_base(args.cost_base, args.stack) if args.cost_base else None
    except UsageError as exc:
        return _error(str(exc))
    organization = os.environ.get("PULUMI_ORGANIZATION", "organization")
    region = stack_region(config.values)

    def answers() -> Answers:
        return Answers(args.stack, StandInAccount(region), file_answers, invokes_path)

    info = StackInfo(project=project.name, stack=args.stack, organization=organization,
                     config=config.values, secret_keys=config.secret_keys,
                     tags={"pulumi:project": project.name, "pulumi:runtime": "python",
                           **({"pulumi:description": project.description}
                              if project.description else {})},
                     root_dir=str(project_dir), program_dir=str(project.program_dir))
    pack_timeout = float(args.pack_timeout)
    timings.mark("startup")
    env, env_warnings = pack_env(info)
    if location.warning:
        env_warnings.insert(0, location.warning)
    try:
        pack = PackProcess(location, env, pack_timeout)
    except PackError as exc:
        return _error(str(exc))
    if guard is not None:
        guard.pack = pack
    progress = _Progress()
    session = None
    try:
        session = AnalyzerSession(pack, info, policy_config, rpc_timeout=pack_timeout)
        progress.session = session
        if guard is not None:
            guard.watch_configuration(session)
        stack_urn = engine_urn(args.stack, project.name, "", STACK_TYPE,
                               f"{project.name}-{args.stack}")
        pairing = Pairing(session)

        def on_preview(target: Any) -> None:
            pairing.preview(target)
            progress.registered += 1

        first = Pass(1, info, stack_urn, on_preview)
        second = Pass(2, info, stack_urn, pairing.resolved)

        def on_register(reg: Registration) -> None:
            # Nothing is registered before the pack has accepted the policy config: a
            # config problem ends the run here, within moments of the start.
            if not session.configured.is_set():
                session.configured.wait(pack_timeout)
            if session.error is not None:
                raise _PackRefused()
            first.register(reg)

        progress.start()
        from .program import ProgramError, run_program

        timings.mark("sdk import")
        if guard is not None:
            guard.time_limit(args.timeout, f"the program did not finish within "
                                           f"{args.timeout:g} s (raise --timeout if it needs "
                                           "longer)")
        preview_answers = answers()
        try:
            result = run_program(project, args.stack, config, on_register, organization,
                                 answers=preview_answers)
        except ProgramError as exc:
            progress.stop()
            if session.error is not None:  # the pack refused first: that is the cause
                raise session.error from None
            if args.traceback and exc.details:
                sys.stderr.write(exc.details)
            return fail(exc.summary)
        finally:
            if guard is not None:
                guard.cancel_time_limit()
        timings.mark("program")
        program_errors = [e for e in result.logs if e.severity == "error"]
        if program_errors:
            progress.stop()
            return fail("the program logged an error: " + program_errors[0].message)
        # The pack answers the preview while the insights are drawn and the program runs
        # again, resolved.
        session.end_phase(1, first.targets)
        insights = None
        if not args.no_insights:
            from .insights import analyse

            insights = analyse([t.reg for t in first.in_program_order()], pack_dir=pack_dir,
                               policy_config=policy_config, settings=settings,
                               region=config.values.get("aws:region", ""), base=base,
                               image=args.diagram or "")
            timings.mark("insights")
        progress.phase = "resolved pass"
        if guard is not None:
            guard.time_limit(args.timeout, f"the resolved pass did not finish within "
                                           f"{args.timeout:g} s (raise --timeout if it needs "
                                           "longer)")
        try:
            outcome = run_resolved(project, args.stack, config, organization, answers(),
                                   second.register)
        finally:
            if guard is not None:
                guard.cancel_time_limit()
        timings.mark("resolved")
        pairing.flush()
        if outcome.ok and pairing.sent:
            session.end_phase(2, second.targets)
        progress.phase = "waiting for the pack"
        analysis = session.finish(timeout=2 * pack_timeout + 5)
        progress.stop()
        timings.mark("analyzer")
    except PackError as exc:
        progress.stop()
        return fail(str(exc))
    except UsageError as exc:
        progress.stop()
        return fail(str(exc))
    finally:
        if guard is not None:
            guard.settle()
        if session is not None:
            session.abort()
        pack.stop()
        if guard is not None:
            guard.pack = None
    pack_ready = (pack.ready_at - pack.started_at) if pack.ready_at else 0.0
    children = os.times()  # not ``resource``: a program's own module may bear that name
    pack_cpu = children.children_user + children.children_system

    report = _report(args, analysis, first, second, pairing, outcome, preview_answers,
                     config=config, program_dir=project.program_dir, pack_dir=pack_dir,
                     pack_version=location.version, warnings=env_warnings)
    from .report import LogLine, render, render_text

    if insights is not None:
        from .insights import add_budget_findings

        report.insights = insights
        add_budget_findings(report, insights)
    report.logs = ([LogLine("program", e.severity, e.message, e.urn) for e in result.logs]
                   + [LogLine("pack", e.severity, e.message, e.urn) for e in pack.logs])
    if deliver is not None:
        deliver(report)
    elif write_reports(pairs, args.quiet, lambda fmt: render(report, fmt),
                       lambda file, quiet: render_text(report, file, quiet=quiet)):
        return 2
    else:
        timings.mark("report")
    if args.timings:  # a stack of several too: into its output, replayed by the batch
        print(timings.render({"pack ready": pack_ready, "pack cpu": pack_cpu,
                              "cpu": time.process_time()}), file=sys.stderr)
        print(f"resolved pass: {len(pairing.sent)} of {len(second.targets)} resources sent "
              "to the pack again", file=sys.stderr)
    return report.exit_code


def _report(args: argparse.Namespace, analysis: Any, first: Any, second: Any, pairing: Any,
            outcome: Any, preview_answers: Any, *, config: Any, program_dir: Path,
            pack_dir: Path, pack_version: str, warnings: list[str]) -> Any:
    """Both passes' answers as one report (see :mod:`.passes` and :mod:`.coverage`)."""
    from .coverage import measure, remote_components
    from .locations import locate, repo_path
    from .passes import combine
    from .report import build_report, classify

    found = classify(analysis.phase(1), analysis.stack_response, analysis.policies,
                     first.by_urn)
    judged: list[Any] = []
    extra = [t for t in second.in_program_order()
             if t.reg.urn not in first.by_urn] if outcome.ok else []
    if outcome.ok:
        answered = {t.reg.urn: r for t, r in analysis.phase(2)}
        earlier = {t.reg.urn: r for t, r in analysis.phase(1)}
        responses = [(t, answered[t.reg.urn] if t.reg.urn in pairing.sent
                      else earlier[t.reg.urn]) for t in second.targets]
        stack = analysis.stack_responses.get(2, analysis.stack_response)
        found, judged = combine(found, classify(responses, stack, analysis.policies,
                                                second.by_urn),
                                {t.reg.urn for t in second.targets})
    targets = first.in_program_order() + extra
    report = build_report(found, targets, analysis.policies, project=first.info.project,
                          stack=args.stack, stack_file=repo_path(config.path),
                          pack_path=repo_path(pack_dir), strict=args.strict,
                          pack_name=analysis.pack_name,
                          pack_version=pack_version or analysis.pack_version,
                          warnings=[*analysis.warnings, *warnings])
    regs = [t.reg for t in targets]
    report.origins = locate(regs, config.document, args.stack, report.stack_file, program_dir)
    report.judged = judged
    report.resolved_only_resources = [t.reg.urn for t in extra]
    report.remote_components = remote_components(regs)
    report.coverage = measure(regs, found.skipped, analysis.policies.values())
    report.require_coverage = args.require_coverage
    report.lookups = _ledger(preview_answers.lookups, outcome.lookups)
    if not outcome.ok:
        report.resolved_pass = outcome.reason
        report.warnings.append(f"the resolved pass did not complete ({outcome.reason}): "
                               "what the preview could not judge stays 'could not run'")
    return report


def _ledger(first: list[Any], second: list[Any]) -> list[Any]:
    """Both passes' data source calls, each once (the resolved pass may call others)."""
    seen = {(item.token, repr(item.args)) for item in first}
    return [*first, *[item for item in second if (item.token, repr(item.args)) not in seen]]


class _PackRefused(Exception):
    """Raised into the program when the pack refused its configuration, to stop it."""


if __name__ == "__main__":
    sys.exit(main())
