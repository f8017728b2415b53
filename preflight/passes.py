"""Preflight's two passes over the program, and how their findings combine.

1. **The preview** (phase 1): the program runs as the first preview of a new stack; ids and
   provider-computed outputs are unknown. Every resource goes to the pack.
2. **The resolved pass** (phase 2): the program runs again as a preview of the stack once it
   exists, with ids, ARNs and computed outputs known (:mod:`.resolve`), so documents built
   from outputs are concrete. It runs in a forked child process at the same time as the
   preview and streams its registrations back over a pipe. A resource whose analyzer
   request is byte-for-byte the one the preview sent cannot get another answer from a
   resource policy and is not sent again; every other one is, and the pack analyses the
   resolved stack as a whole once more.

Combined (:func:`combine`): a violation from either pass counts (one found only in the
resolved pass is marked so); a policy that could not run in the preview but ran in the
resolved pass is listed as judged there, with its outcome; a policy that could not run in
either pass stays "could not run" (advisory; ``--strict`` fails on it).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .analyzer import Target, default_provider, provider_urn
from .capture import STACK_TYPE, LogEntry, Registration

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
    logs: list[LogEntry] = field(default_factory=list)
    seconds: float = 0.0
    """How long the program took in the resolved pass."""


class ResolvedRun:
    """The resolved pass in a forked child; call :meth:`start` before any thread or gRPC
    channel exists in this process. Its registrations arrive as pickled frames, kept as bytes
    while the preview runs (so the preview keeps the interpreter to itself) and decoded by
    :meth:`registrations` after :meth:`wait`."""

    def __init__(self) -> None:
        self.pid = 0
        self._read_fd = -1
        self._thread: threading.Thread | None = None
        self._frames: list[bytes] = []
        self._inline_regs: list[Registration] = []
        self.outcome: Outcome | None = None

    def start(self, run: Callable[[Callable[[Registration], None]], Any]) -> None:
        """Fork; the child calls ``run(send)`` (``send`` streams one registration back) and
        reports how it ended. Without ``os.fork`` the pass runs in :meth:`stream`'s thread."""
        self._run = run
        if not hasattr(os, "fork"):
            return
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never returns
            os.close(read_fd)
            _child(run, write_fd)
        os.close(write_fd)
        self.pid, self._read_fd = pid, read_fd

    def stream(self) -> None:
        """Start collecting what the child sends."""
        target = self._read if self.pid else self._inline
        self._thread = threading.Thread(target=target, daemon=True)
        self._thread.start()

    def _inline(self) -> None:
        self.outcome = _outcome(self._run, self._inline_regs.append)

    def _read(self) -> None:
        buffer = bytearray()
        with os.fdopen(self._read_fd, "rb", buffering=0) as pipe:
            while chunk := pipe.read(1 << 20):
                buffer += chunk
        frames, offset = [], 0
        while offset + 4 <= len(buffer):
            size = int.from_bytes(buffer[offset:offset + 4], "little")
            frames.append(bytes(buffer[offset + 4:offset + 4 + size]))
            offset += 4 + size
        outcome = Outcome(False, "the resolved pass stopped without a result")
        if frames:
            try:
                last = pickle.loads(frames[-1])
                if isinstance(last, Outcome):
                    outcome = last
                    frames.pop()
            except Exception as exc:  # a broken stream is reported, never passed
                outcome = Outcome(False, f"the resolved pass sent garbage: {exc!r}")
        self._frames = frames
        self.outcome = outcome

    def wait(self, timeout: float) -> Outcome:
        if self._thread is not None:
            self._thread.join(timeout)
        if self.outcome is None:
            self.stop()
            return Outcome(False, f"the resolved pass did not finish within {timeout:g} s")
        self._reap()
        return self.outcome

    def registrations(self) -> list[Registration]:
        """What the resolved pass registered, in order (after :meth:`wait`)."""
        if not self.pid and self._inline_regs:
            return list(self._inline_regs)
        return [pickle.loads(frame) for frame in self._frames]

    def _reap(self) -> None:
        if self.pid:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.pid, 0)
            self.pid = 0

    def stop(self) -> None:
        """End the child (safe to repeat)."""
        if self.pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            self._reap()


def _outcome(run: Callable[[Callable[[Registration], None]], Any],
             send: Callable[[Registration], None]) -> Outcome:
    from .program import ProgramError

    started = time.perf_counter()
    try:
        capture = run(send)
    except ProgramError as exc:
        return Outcome(False, exc.summary, seconds=time.perf_counter() - started)
    except Exception as exc:
        return Outcome(False, f"the resolved pass failed: {exc!r}",
                       seconds=time.perf_counter() - started)
    answers = capture.answers
    return Outcome(True, lookups=list(answers.lookups) if answers else [], logs=capture.logs,
                   seconds=time.perf_counter() - started)


def _child(run: Callable[[Callable[[Registration], None]], Any], write_fd: int) -> None:
    """Run the pass, stream registrations, report, and exit without cleanup: the child
    shares the parent's open files and must not flush or close them."""
    code = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        quiet = os.open(os.devnull, os.O_WRONLY)
        os.dup2(quiet, 1)  # the program's own prints belong to the preview run
        os.dup2(quiet, 2)
        with os.fdopen(write_fd, "wb") as pipe:
            def send(item: Any) -> None:
                frame = pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)
                pipe.write(len(frame).to_bytes(4, "little") + frame)

            send(_outcome(run, send))
    except BaseException:
        code = 1
    finally:
        os._exit(code)


def combine(first: Findings, second: Findings, resolved_urns: set[str]
            ) -> tuple[Findings, list[Judged]]:
    """Both passes' findings as one (see the module docstring); ``resolved_urns`` are the
    resources the resolved pass analysed."""
    from .report import Findings, Judged

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
    skipped = {urn: set(names) for urn, names in first.skipped.items()}
    for urn, names in second.skipped.items():
        skipped.setdefault(urn, set()).update(names)
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


def resolved_program(project: Project, stack: str, config: StackConfig, organization: str,
                     answers: Answers) -> Callable[[Callable[[Registration], None]], Any]:
    """The resolved pass as a function of where its registrations go."""
    from .program import run_program

    def run(send: Callable[[Registration], None]) -> Any:
        return run_program(project, stack, config, send, organization, answers=answers,
                           resolved=True)
    return run


__all__ = ["Outcome", "Pairing", "Pass", "ResolvedRun", "combine", "resolved_program"]
