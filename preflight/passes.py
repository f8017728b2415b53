"""Preflight's two passes over the program, and how their findings combine.

1. **The preview** (phase 1): the program runs as the first preview of a new stack; ids and
   provider-computed outputs are unknown. Every resource goes to the pack.
2. **The resolved pass** (phase 2): the program runs again as a preview of the stack once it
   exists, with ids, ARNs and computed outputs known (:mod:`.resolve`), so documents built
   from outputs are concrete. It runs in this process right after the preview, while the
   pack is still answering the preview: the SDK and provider modules the preview imported
   are warm (most of a first run is importing them), and the program's own modules are
   imported afresh so no state carries over. A resource whose analyzer request is
   byte-for-byte the one the preview sent cannot get another answer from a resource policy
   and is not sent again; every other one is, and the pack analyses the resolved stack as a
   whole once more.

Combined (:func:`combine`): a violation from either pass counts (one found only in the
resolved pass is marked so); a policy that could not run in the preview but ran in the
resolved pass is listed as judged there, with its outcome; a policy that could not run in
either pass stays "could not run" (advisory; ``--strict`` fails on it).
"""

from __future__ import annotations

import contextlib
import io
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .analyzer import Target, default_provider, provider_urn
from .capture import STACK_TYPE, Registration

if TYPE_CHECKING:
    from .analyzer import AnalyzerSession, StackInfo
    from .invokes import Answers, Lookup
    from .project import Project, StackConfig
    from .report import Findings, Judged


class Pass:
    """The resources one run of the program registered, as analyzer targets (with the
    default providers the engine adds and the root stack)."""

    def __init__(self, phase: int, info: StackInfo, stack_urn: str,
                 on_target: Callable[[Target], None]):
        self.phase = phase
        self.info = info
        self.stack_urn = stack_urn
        self.on_target = on_target
        self.targets: list[Target] = []
        self.by_urn: dict[str, Registration] = {}
        self._defaults: dict[tuple[str, str], Registration] = {}
        self._lock = threading.Lock()
        self.add(Registration(type=STACK_TYPE, name=stack_urn.rsplit("::", 1)[-1],
                              urn=stack_urn, custom=False, parent="", provider=""))

    def add(self, reg: Registration, provider: Registration | None = None) -> None:
        target = Target(reg, provider, phase=self.phase)
        self.targets.append(target)
        self.by_urn[reg.urn] = reg
        self.on_target(target)

    def in_program_order(self) -> list[Target]:
        """The targets in the order the program constructed them (they reach the monitor,
        and :attr:`targets`, in whatever order the SDK's threads finish): what reports and
        insights list, the same on every run."""
        return sorted(self.targets, key=lambda t: t.reg.order)

    def register(self, reg: Registration) -> None:
        """A registration from the program: find its provider (adding the default one)."""
        with self._lock:
            provider = None
            if reg.custom:
                if reg.provider:
                    provider = self.by_urn.get(provider_urn(reg.provider))
                elif not reg.type.startswith("pulumi:providers:"):
                    key = (reg.package, reg.version)
                    provider = self._defaults.get(key)
                    if provider is None:
                        provider = default_provider(reg.package, reg.version, self.info,
                                                    self.stack_urn)
                        provider.order = reg.order  # just before the first that uses it
                        self._defaults[key] = provider
                        self.add(provider)
            self.add(reg, provider)


class Pairing:
    """Matches resolved-pass targets with the preview's and sends the pack only those that
    differ (or that the preview never registered)."""

    def __init__(self, session: AnalyzerSession):
        self.session = session
        self.first: dict[str, Target] = {}
        self.waiting: dict[str, Target] = {}
        self.sent: set[str] = set()
        self._lock = threading.Lock()

    def preview(self, target: Target) -> None:
        self.session.submit(target)
        with self._lock:
            self.first[target.reg.urn] = target
            second = self.waiting.pop(target.reg.urn, None)
        if second is not None:
            self._compare(target, second)

    def resolved(self, target: Target) -> None:
        with self._lock:
            first = self.first.get(target.reg.urn)
            if first is None:
                self.waiting[target.reg.urn] = target
                return
        self._compare(first, target)

    def _compare(self, first: Target, second: Target) -> None:
        if first.fingerprint() != second.fingerprint():
            self.sent.add(second.reg.urn)
            self.session.submit(second)

    def flush(self) -> None:
        """Both programs are done: what only the resolved pass registered goes too."""
        with self._lock:
            rest, self.waiting = list(self.waiting.values()), {}
        for target in rest:
            self.sent.add(target.reg.urn)
            self.session.submit(target)


@dataclass
class Outcome:
    """How the resolved pass ended."""

    ok: bool
    reason: str = ""
    lookups: list[Lookup] = field(default_factory=list)
    """The data sources the resolved pass called."""


def _outcome(run: Callable[[Callable[[Registration], None]], Any],
             send: Callable[[Registration], None]) -> Outcome:
    from .program import ProgramError

    try:
        capture = run(send)
    except ProgramError as exc:
        return Outcome(False, exc.summary)
    except Exception as exc:  # reported as an incomplete pass, never as a pass
        return Outcome(False, f"the resolved pass failed: {exc!r}")
    answers = capture.answers
    return Outcome(True, lookups=list(answers.lookups) if answers else [])


def combine(first: Findings, second: Findings, resolved_urns: set[str]
            ) -> tuple[Findings, list[Judged]]:
    """Both passes' findings as one (see the module docstring); ``resolved_urns`` are the
    resources the resolved pass analysed."""
    from .report import Findings, Judged, add_skipped

    def key(f: Any) -> tuple[str, str, str, str]:
        return (f.policy, f.urn, f.message, f.level)

    seen = {key(f) for f in first.violations}
    violations = list(first.violations)
    for f in second.violations:
        if key(f) not in seen:
            f.resolved_only = True
            violations.append(f)
            seen.add(key(f))
    exempt_seen = {key(f) for f in first.exempted}
    exempted = first.exempted + [f for f in second.exempted if key(f) not in exempt_seen]
    still = {(f.policy, f.urn) for f in second.could_not_run}
    before = {(f.policy, f.urn) for f in first.could_not_run}
    could_not_run, judged = [], []
    for f in first.could_not_run:
        if (f.policy, f.urn) in still or (f.urn and f.urn not in resolved_urns):
            could_not_run.append(f)
            continue
        judged.append(Judged(f.policy, f.urn, f.type, f.name, f.message,
                             _outcome_of(f.policy, f.urn, second)))
    could_not_run += [f for f in second.could_not_run if (f.policy, f.urn) not in before]
    judged.sort(key=lambda j: (j.policy, j.urn))
    skipped = dict(first.skipped)
    for urn, names in second.skipped.items():
        add_skipped(skipped, urn, names)
    return Findings(violations, exempted, could_not_run, dict(first.not_applicable),
                    skipped), judged


def _outcome_of(policy: str, urn: str, found: Findings) -> str:
    """What ``policy`` found on ``urn`` (any resource, for a whole-stack "" urn)."""
    levels = {f.level for f in found.violations
              if f.policy == policy and (not urn or f.urn == urn)}
    for level in ("mandatory", "advisory"):
        if level in levels:
            return level
    if any(f.policy == policy and (not urn or f.urn == urn) for f in found.exempted):
        return "exempted"
    return "passed"


def run_resolved(project: Project, stack: str, config: StackConfig, organization: str,
                 answers: Answers, on_register: Callable[[Registration], None]) -> Outcome:
    """Run the resolved pass, after the preview, in this process: the program's own modules
    are imported afresh, its output is not shown (the preview's is), and a failure is an
    :class:`Outcome`, never an exception."""
    from .program import forget_program_modules, run_program

    forget_program_modules(project.dir)
    quiet = io.StringIO()
    with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
        return _outcome(lambda send: run_program(project, stack, config, send, organization,
                                                 answers=answers, resolved=True),
                        on_register)


__all__ = ["Outcome", "Pairing", "Pass", "combine", "run_resolved"]
