"""Preflight's runtime levers (lazy provider imports, the collector's policy, cheap stack
traces) change nothing a program sends to the resource monitor."""

from __future__ import annotations

import gc
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from preflight import runtime
from preflight.runtime import LEVERS

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


def record(project: Path, stack: str, disable: str) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(HERE)]),
           "PREFLIGHT_DISABLE": disable}
    proc = subprocess.run([sys.executable, "-c", "import record_requests; "
                           "record_requests.main()", str(project), stack],
                          env=env, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def estate(tmp: Path) -> Path:
    project = tmp / "estate"
    (project / "stacks").mkdir(parents=True)
    shutil.copy(ROOT / "bench" / "estate_program.py", project / "__main__.py")
    (project / "Pulumi.yaml").write_text("name: bench\nruntime: python\nstackConfigDir: stacks\n")
    (project / "stacks" / "Pulumi.bench.yaml").write_text(
        "config:\n  services: 3\n  aws:region: us-east-1\n")
    return project


PLAIN: dict[str, dict[str, Any]] = {}
"""Per stack, the requests with every lever off (recorded once, compared several times)."""


@pytest.mark.slow
@pytest.mark.parametrize(("stack", "on"), [
    ("dev", LEVERS), ("prod-k8s", LEVERS), ("estate", LEVERS),
    *(("dev", (lever,)) for lever in LEVERS),
])
def test_levers_change_no_request_the_program_sends(stack: str, on: tuple[str, ...],
                                                    tmp_path: Path) -> None:
    """Both passes, every RegisterResource (properties, options, dependencies, source
    position, stack trace), ReadResource and Invoke request: byte for byte the same with
    every lever off as with all of them, or one of them, on."""
    project, name = (estate(tmp_path), "bench") if stack == "estate" else (ROOT, stack)
    if stack not in PLAIN:
        PLAIN[stack] = record(project, name, "all")
    plain = PLAIN[stack]
    fast = record(project, name, ",".join(lever for lever in LEVERS if lever not in on))
    assert plain["levers"] == []
    assert fast["levers"] == [lever for lever in LEVERS if lever in on]
    assert fast["registered"] == plain["registered"]
    assert plain["registered"][0] > 60
    # the requests carry what a lever could change: a stack trace and source position each
    assert plain["withStackTrace"] == plain["withSourcePosition"] >= sum(plain["registered"])
    assert fast["requests"] == plain["requests"]
    if "lazy-imports" in on:  # the lever did its work: far fewer provider modules imported
        assert fast["providerModules"] < plain["providerModules"] / 2
    else:
        assert fast["providerModules"] == plain["providerModules"]


def test_the_stack_trace_is_the_sdks() -> None:
    from pulumi.runtime import resource

    runtime.prepare()
    assert resource._get_stack_trace is runtime.stack_trace
    sdk_version = runtime._REPLACED["_get_stack_trace"]
    assert sdk_version.__module__ == "pulumi.runtime.resource"
    assert runtime._probe(runtime.stack_trace) == runtime._probe(sdk_version)
    assert len(runtime._probe(runtime.stack_trace)) > 100


def test_the_collector_runs_rarely_during_a_program_and_as_before_afterwards() -> None:
    before = gc.get_threshold()
    with runtime.program_gc():
        assert gc.get_threshold() == (runtime.GC_THRESHOLD, *before[1:])
        assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_levers_are_switched_off_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREFLIGHT_DISABLE", "gc, lazy-imports")
    assert (runtime.enabled("gc"), runtime.enabled("lazy-imports"),
            runtime.enabled("source-positions")) == (False, False, True)
    monkeypatch.setenv("PREFLIGHT_DISABLE", "all")
    assert not any(runtime.enabled(lever) for lever in runtime.LEVERS)
