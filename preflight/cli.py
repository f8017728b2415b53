"""preflight: an offline ``pulumi preview --policy-pack`` for Pulumi Python programs.

Usage::

    preflight <stack> [--project-dir DIR] [--policy-pack DIR] [--policy-config FILE]
                      [--format text|json|markdown|sarif] [--output FILE]
                      [--strict] [--traceback] [--timings]
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
``--policy-pack DIR``      the policy pack (default: ``<project>/policies`` if it exists)
``--policy-config FILE``   enforcement levels and policy properties, the file format of
                           ``pulumi preview --policy-pack-config`` (default:
                           ``<stackConfigDir>/Pulumi.<stack>.policy.json`` if it exists)
``--format FMT``           ``text`` (default), ``json``, ``markdown`` (PR comment or job
                           summary) or ``sarif`` (SARIF 2.1.0 for code scanning)
``--output FILE``          write the report there; the terminal still gets the summary
``--invokes FILE``         answers for data sources (default:
                           ``<stackConfigDir>/preflight.invokes.yaml`` if it exists)
``--strict``               advisory violations and anything not checked fail too
``--require-coverage``     resource types no policy covers fail
``--traceback``            show the program's full traceback when it fails
``--timings``              print a timing breakdown on stderr

Exit status: 0 clean; 1 mandatory violations (with ``--strict`` also advisory ones and
anything not checked; with ``--require-coverage`` uncovered types); 2 usage, stack config,
program or policy pack errors.

Known limits: no provider runs, so provider-side defaults (default tags, computed
defaults) are not in the inputs the pack sees; data sources answer from the invokes file or
the stand-in account ``123456789012``; remote components are not expanded; remediations are
not applied.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

FORMATS = ("text", "json", "markdown", "sarif")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="preflight",
        description="Offline preview of a Pulumi Python program, checked by a policy pack.")
    p.add_argument("stack", help="stack name (reads <stackConfigDir>/Pulumi.<stack>.yaml)")
    p.add_argument("--project-dir", default=".", metavar="DIR",
                   help="Pulumi project directory (default: .)")
    p.add_argument("--policy-pack", metavar="DIR",
                   help="policy pack directory (default: <project>/policies)")
    p.add_argument("--policy-config", metavar="FILE",
                   help="policy config JSON (default: <stackConfigDir>/Pulumi.<stack>"
                        ".policy.json if it exists)")
    p.add_argument("--format", choices=FORMATS, default="text")
    p.add_argument("--output", metavar="FILE", help="write the report to FILE")
    p.add_argument("--invokes", metavar="FILE",
                   help="answers for data sources (default: <stackConfigDir>/"
                        "preflight.invokes.yaml if it exists)")
    p.add_argument("--strict", action="store_true",
                   help="fail on advisory violations and on anything not checked: policies "
                        "that could not run, remote components, unanswered data sources, "
                        "uncovered resource types")
    p.add_argument("--require-coverage", action="store_true",
                   help="fail when a resource type is covered by no policy")
    p.add_argument("--traceback", action="store_true",
                   help="show the full traceback when the program fails")
    p.add_argument("--timings", action="store_true", help="timing breakdown on stderr")
    p.add_argument("--preflight-config", metavar="FILE",
                   help="budget and cost assumptions (default: <stackConfigDir>/Pulumi.<stack>"
                        ".preflight.yaml if it exists)")
    p.add_argument("--cost-base", metavar="FILE",
                   help="the base branch's JSON report: show the cost difference against it")
    p.add_argument("--diagram", metavar="FILE",
                   help="also draw the architecture diagram to FILE (.svg or .png; needs "
                        "Graphviz)")
    p.add_argument("--no-insights", action="store_true",
                   help="skip the AZ-loss, cost and diagram analyses")
    return p


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
    """``registered N · analysed M`` on stderr, only when stderr is a terminal."""

    def __init__(self) -> None:
        self.registered = 0
        self.analysed = 0
        self.enabled = sys.stderr.isatty()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.enabled:
            self._thread = threading.Thread(target=self._loop, daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(0.25):
            sys.stderr.write(f"\rpreflight: {self.registered} resources registered, "
                             f"{self.analysed} analysed ")
            sys.stderr.flush()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


def _terminate(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    """Run preflight. From the command line (``argv`` None) the process ends right after the
    report is flushed and the pack is stopped, skipping the interpreter's teardown of the
    thousands of SDK modules the program imported (about 0.4 s); with ``argv`` it returns
    the exit status instead."""
    args = _parser().parse_args(argv)
    timings = _Timings()
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        code = _run(args, timings)
    except KeyboardInterrupt:
        print("preflight: interrupted", file=sys.stderr)
        code = 130
    finally:
        signal.signal(signal.SIGTERM, previous)
    if argv is None:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def _error(message: str) -> int:
    print(f"preflight: error: {message}", file=sys.stderr)
    return 2


def _run(args: argparse.Namespace, timings: _Timings) -> int:
    from .project import UsageError, display_path, load_project, load_stack_config

    try:
        project_dir = Path(args.project_dir).resolve()
        project = load_project(project_dir)
        config = load_stack_config(project, args.stack)
        if args.policy_pack:
            pack_dir = Path(args.policy_pack).resolve()
        else:
            pack_dir = project_dir / "policies"
            if not pack_dir.is_dir():
                raise UsageError("no policy pack: pass --policy-pack DIR "
                                 f"({display_path(pack_dir)} does not exist)")
        policy_config_path = (Path(args.policy_config) if args.policy_config else
                              project.stack_config_dir / f"Pulumi.{args.stack}.policy.json")
        if args.policy_config and not policy_config_path.is_file():
            raise UsageError(f"policy config not found: {args.policy_config}")
    except UsageError as exc:
        return _error(str(exc))
    for warning in config.warnings:
        print(f"preflight: warning: {warning}", file=sys.stderr)

    from .account import StandInAccount
    from .analyzer import (
        AnalyzerSession,
        PackError,
        PackProcess,
        StackInfo,
        locate_pack,
        pack_env,
        read_policy_config,
    )
    from .capture import STACK_TYPE, engine_urn, stack_region
    from .insights import read_base
    from .insights.settings import load_settings, settings_path
    from .invokes import Answers, invokes_file, load_invokes
    from .passes import Pairing, Pass, run_resolved

    try:
        location = locate_pack(pack_dir)
        policy_config = (read_policy_config(policy_config_path)
                         if policy_config_path.is_file() else {})
        invokes_path = (Path(args.invokes) if args.invokes
                        else invokes_file(project.stack_config_dir))
        if args.invokes and not invokes_path.is_file():
            raise UsageError(f"invokes file not found: {args.invokes}")
        file_answers = load_invokes(invokes_path) if invokes_path.is_file() else []
        settings = load_settings(settings_path(project.stack_config_dir, args.stack,
                                               args.preflight_config))
        base = read_base(args.cost_base) if args.cost_base else None
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
    start_timeout = float(os.environ.get("PREFLIGHT_PACK_TIMEOUT", "120"))
    timings.mark("startup")
    env, env_warnings = pack_env(info)
    try:
        pack = PackProcess(location, env, start_timeout)
    except PackError as exc:
        return _error(str(exc))
    progress = _Progress()
    session = None
    try:
        session = AnalyzerSession(pack, info, policy_config)
        stack_urn = engine_urn(args.stack, project.name, "", STACK_TYPE,
                               f"{project.name}-{args.stack}")
        pairing = Pairing(session)

        def on_preview(target: Any) -> None:
            pairing.preview(target)
            progress.registered += 1

        first = Pass(1, info, stack_urn, on_preview)
        second = Pass(2, info, stack_urn, pairing.resolved)
        progress.start()
        from .program import ProgramError, run_program

        timings.mark("sdk import")
        preview_answers = answers()
        try:
            result = run_program(project, args.stack, config, first.register, organization,
                                 answers=preview_answers)
        except ProgramError as exc:
            progress.stop()
            if args.traceback and exc.details:
                sys.stderr.write(exc.details)
            return _error(exc.summary)
        timings.mark("program")
        program_errors = [e for e in result.logs if e.severity == "error"]
        if program_errors:
            progress.stop()
            return _error("the program logged an error: " + program_errors[0].message)
        # The pack answers the preview while the insights are drawn and the program runs
        # again, resolved.
        session.end_phase(1, first.targets)
        insights = None
        if not args.no_insights:
            from .insights import analyse

            insights = analyse([t.reg for t in first.targets], pack_dir=pack_dir,
                               policy_config=policy_config, settings=settings,
                               region=config.values.get("aws:region", ""), base=base,
                               image=args.diagram or "")
            timings.mark("insights")
        outcome = run_resolved(project, args.stack, config, organization, answers(),
                               second.register)
        timings.mark("resolved")
        pairing.flush()
        if outcome.ok and pairing.sent:
            session.end_phase(2, second.targets)
        analysis = session.finish(timeout=start_timeout + 600)
        progress.analysed = analysis.analyzed
        progress.stop()
        timings.mark("analyzer")
    except PackError as exc:
        progress.stop()
        return _error(str(exc))
    except UsageError as exc:
        progress.stop()
        return _error(str(exc))
    finally:
        if session is not None:
            session.abort()
        pack.stop()
    pack_ready = (pack.ready_at - pack.started_at) if pack.ready_at else 0.0

    report = _report(args, analysis, first, second, pairing, outcome, preview_answers,
                     config_path=config.path, pack_dir=pack_dir, pack_version=location.version,
                     warnings=env_warnings)
    from .report import LogLine, render, render_text

    if insights is not None:
        from .insights import add_budget_findings

        report.insights = insights
        add_budget_findings(report, insights)
    report.logs = ([LogLine("program", e.severity, e.message, e.urn) for e in result.logs]
                   + [LogLine("pack", e.severity, e.message, e.urn) for e in pack.logs])
    if args.output:
        try:
            with open(args.output, "w", encoding="utf-8") as handle:
                if args.format == "text":
                    render_text(report, handle)
                else:
                    handle.write(render(report, args.format))
        except OSError as exc:
            return _error(f"cannot write {args.output}: {exc.strerror}")
        render_text(report, sys.stdout)
    elif args.format == "text":
        render_text(report, sys.stdout)
    else:
        sys.stdout.write(render(report, args.format))
    sys.stdout.flush()
    timings.mark("report")
    if args.timings:
        print(timings.render({"pack ready": pack_ready}), file=sys.stderr)
        print(f"resolved pass: {len(pairing.sent)} of {len(second.targets)} resources sent "
              "to the pack again", file=sys.stderr)
    return report.exit_code


def _report(args: argparse.Namespace, analysis: Any, first: Any, second: Any, pairing: Any,
            outcome: Any, preview_answers: Any, *, config_path: Path, pack_dir: Path,
            pack_version: str, warnings: list[str]) -> Any:
    """Both passes' answers as one report (see :mod:`.passes` and :mod:`.coverage`)."""
    from .coverage import measure, remote_components
    from .passes import combine
    from .report import build_report, classify, read_text

    found = classify(analysis.phase(1), analysis.stack_response, analysis.policies,
                     first.by_urn)
    judged: list[Any] = []
    extra = [t for t in second.targets if t.reg.urn not in first.by_urn] if outcome.ok else []
    if outcome.ok:
        answered = {t.reg.urn: r for t, r in analysis.phase(2)}
        earlier = {t.reg.urn: r for t, r in analysis.phase(1)}
        responses = [(t, answered[t.reg.urn] if t.reg.urn in pairing.sent
                      else earlier[t.reg.urn]) for t in second.targets]
        stack = analysis.stack_responses.get(2, analysis.stack_response)
        found, judged = combine(found, classify(responses, stack, analysis.policies,
                                                second.by_urn),
                                {t.reg.urn for t in second.targets})
    targets = first.targets + extra
    report = build_report(found, targets, analysis.policies, project=first.info.project,
                          stack=args.stack, stack_file=_repo_path(config_path),
                          pack_path=_repo_path(pack_dir), strict=args.strict,
                          pack_name=analysis.pack_name,
                          pack_version=pack_version or analysis.pack_version,
                          warnings=[*analysis.warnings, *warnings])
    regs = [t.reg for t in targets]
    report.stack_file_text = read_text(config_path)
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


def _repo_path(path: Path) -> str:
    """A path as code scanning wants it: relative to the working directory when inside it."""
    try:
        return Path(os.path.relpath(path.resolve(), Path.cwd())).as_posix() \
            if path.resolve().is_relative_to(Path.cwd()) else path.as_posix()
    except ValueError:
        return path.as_posix()


if __name__ == "__main__":
    sys.exit(main())
