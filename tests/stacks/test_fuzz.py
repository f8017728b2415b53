"""Seeded fuzzing of the real stack files and policy configs (``fuzz_inputs``).

Contract, for every mutation: refused with one line per problem naming the file (and the
key, where the file still has keys), or accepted and valid; never a traceback, never a
hang. Accepted stack files must build: a sample is built here (each build takes seconds);
``FUZZ_BUILD_ALL=1`` builds every one. ``FUZZ_SEED`` and ``FUZZ_CASES`` vary the run.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fuzz_inputs import (
    ROOT,
    judge_policy_config,
    judge_stack,
    policy_mutations,
    stack_mutations,
)

from policies.guardrails import REGISTRY, config_problems, reconcile
from preflight.capture import capture
from preflight.project import Project, load_project

SEED = int(os.environ.get("FUZZ_SEED", "7301"))
CASES = int(os.environ.get("FUZZ_CASES", "1000"))
STACK_SHARE = 0.56
BUILD_ALL = os.environ.get("FUZZ_BUILD_ALL") == "1"
BUILDS = 3
"""Accepted stack files built per run (unless FUZZ_BUILD_ALL)."""
HANG = 20
"""Seconds one mutation may take before it counts as a hang."""

STACK_LINE = re.compile(r"stacks/Pulumi\.fuzz\.yaml(:\d+(:\d+)?)?: \S")
POLICY_LINE = re.compile(r"fuzz\.policy\.json(:\d+(:\d+)?)?: \S")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    """A copy of the project (program, functions, services) to write mutated files into."""
    root = tmp_path_factory.mktemp("fuzz")
    for item in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(ROOT / item, root / item)
    for item in ("functions", "services"):
        shutil.copytree(ROOT / item, root / item)
    (root / "stacks").mkdir()
    cwd = os.getcwd()
    os.chdir(root)  # files are named as a user in the project sees them
    try:
        yield load_project(root)
    finally:
        os.chdir(cwd)


class _Hang(Exception):
    pass


def _within(seconds: int, fn: Any, *args: Any) -> Any:
    def alarm(signum: int, frame: Any) -> None:
        raise _Hang()

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        return fn(*args)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _check_refusal(lines: list[str], pattern: re.Pattern[str], what: str) -> None:
    assert lines, f"{what}: refused without a reason"
    for line in lines:
        assert pattern.match(line), f"{what}: {line!r} does not name the file"
        assert "Traceback" not in line and "\n" not in line, f"{what}: {line!r}"


def test_mutated_stack_files(project: Project) -> None:
    rng = random.Random(SEED)
    accepted: list[tuple[str, str, Any]] = []
    refused = 0
    for stack, what, data in stack_mutations(rng, round(CASES * STACK_SHARE)):
        label = f"seed {SEED}: {stack}: {what}"
        try:
            verdict, detail = _within(HANG, judge_stack, project, data)
        except _Hang:
            pytest.fail(f"{label}: no answer within {HANG} s")
        if verdict == "refused":
            refused += 1
            _check_refusal(detail, STACK_LINE, label)
        else:
            accepted.append((stack, label, detail))
    assert refused > len(accepted)  # the mutations mostly break the files
    sample = accepted if BUILD_ALL else accepted[:: max(1, len(accepted) // BUILDS)][:BUILDS]
    for _stack, label, config in sample:
        try:  # accepted means valid: the whole estate builds
            _within(120, _build, project, config)
        except _Hang:
            pytest.fail(f"{label}: the program did not finish")
        except Exception as exc:
            pytest.fail(f"{label}: accepted, then the program failed: "
                        f"{type(exc).__name__}: {exc}")


def _build(project: Project, config: Any) -> None:
    import runpy

    capture(lambda: runpy.run_path(str(project.program_file), run_name="__main__"),
            project=project.name, stack="fuzz", config=config.values,
            secret_keys=config.secret_keys)


def test_mutated_policy_configs(tmp_path: Path) -> None:
    rng = random.Random(SEED + 1)
    schemas = {name: record.config_schema() for name, record in REGISTRY.items()}
    path = tmp_path / "fuzz.policy.json"
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        outcomes = {"refused": 0, "accepted": 0}
        for stack, what, data in policy_mutations(rng, CASES - round(CASES * STACK_SHARE),
                                                  sorted(REGISTRY)):
            label = f"seed {SEED + 1}: {stack}: {what}"
            verdict, detail = _within(HANG, judge_policy_config, path, data, schemas)
            outcomes[verdict] += 1
            if verdict == "refused":
                _check_refusal(detail, POLICY_LINE, label)
            else:  # accepted means the pack takes it as it stands
                configured = reconcile(detail)
                assert config_problems({
                    name: {k: v for k, v in entry.items() if k != "enforcementLevel"}
                    for name, entry in configured.items()}) == [], label
        assert outcomes["refused"] > outcomes["accepted"]
    finally:
        os.chdir(cwd)


def test_refusals_are_what_the_cli_prints(project: Project) -> None:
    """The judge is preflight's own path: the CLI prints exactly its lines, with status 2,
    for a file refused while read and one refused by the stack validation."""
    rng = random.Random(SEED)
    seen: dict[str, tuple[str | bytes, list[str]]] = {}
    for _stack, _what, data in stack_mutations(rng, 60):
        verdict, lines = judge_stack(project, data)
        if verdict == "refused":
            kind = "spec" if lines[0].startswith("stacks/Pulumi.fuzz.yaml: ") else "read"
            seen.setdefault(kind, (data, lines))
        if len(seen) == 2:
            break
    assert sorted(seen) == ["read", "spec"]
    for data, lines in seen.values():
        path = project.stack_file("fuzz")
        (path.write_bytes if isinstance(data, bytes) else path.write_text)(data)
        proc = subprocess.run(
            [sys.executable, "-m", "preflight", "fuzz", "--project-dir", str(project.dir),
             "--policy-pack", str(ROOT / "policies")], capture_output=True, text=True,
            timeout=300, cwd=project.dir, env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert (proc.returncode, proc.stdout) == (2, "")
        assert proc.stderr.splitlines() == [f"preflight: error: {line}" for line in lines]
