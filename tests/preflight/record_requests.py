"""Run a Pulumi program's two passes as preflight runs them and print, as JSON, a digest of
every request the program sent to the resource monitor (``RegisterResource`` byte for byte,
deterministically serialised: properties, options, dependencies, source position and stack
trace; ``Invoke`` and ``ReadResource`` too), keyed by pass and URN or token.

    python -c 'import record_requests; record_requests.main()' <project dir> <stack>

(not as a script: preflight forgets the project's own modules between the passes, and a
``__main__`` inside the project would be one of them).

Run with and without ``PREFLIGHT_DISABLE`` to prove that preflight's runtime levers
(:mod:`preflight.runtime`) change nothing a program registers.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

from preflight import capture
from preflight.program import forget_program_modules, run_program
from preflight.project import load_project, load_stack_config

RECORDED: dict[str, list[str]] = {}
PHASE = ["preview"]
TRACED = {"withStackTrace": 0, "withSourcePosition": 0}


def _digest(request: Any) -> str:
    """The request's bytes, with dependency lists sorted: the SDK collects them in sets of
    resources (hashed by identity), so their order differs from run to run anyway."""
    if hasattr(request, "dependencies"):
        copy = type(request)()
        copy.CopyFrom(request)
        deps = sorted(copy.dependencies)
        del copy.dependencies[:]
        copy.dependencies.extend(deps)
        for value in getattr(copy, "propertyDependencies", {}).values():
            urns = sorted(value.urns)
            del value.urns[:]
            value.urns.extend(urns)
        request = copy
    return hashlib.sha256(request.SerializeToString(deterministic=True)).hexdigest()


def _wrap(name: str, key: Any) -> None:
    original = getattr(capture.RecordingMonitor, name)

    def recorded(self: Any, request: Any) -> Any:
        # a list per key, compared sorted: concurrent calls may come in any order
        RECORDED.setdefault(f"{PHASE[0]} {name} {key(request)}", []).append(_digest(request))
        if name == "RegisterResource":
            TRACED["withStackTrace"] += bool(request.stackTrace.frames)
            TRACED["withSourcePosition"] += bool(request.sourcePosition.uri)
        return original(self, request)

    setattr(capture.RecordingMonitor, name, recorded)


_wrap("RegisterResource", lambda r: f"{r.type}::{r.name} parent={r.parent}")
_wrap("ReadResource", lambda r: f"{r.type}::{r.name}")
_wrap("Invoke", lambda r: r.tok)


def main() -> int:
    project = load_project(Path(sys.argv[1]).resolve())
    stack = sys.argv[2]
    config = load_stack_config(project, stack)
    with redirect_stdout(io.StringIO()):
        first = run_program(project, stack, config)
        forget_program_modules(project.dir)
        PHASE[0] = "resolved"
        second = run_program(project, stack, config, resolved=True)
    from preflight.runtime import prepare

    json.dump({"requests": {k: sorted(v) for k, v in RECORDED.items()},
               "registered": [len(first.registrations), len(second.registrations)],
               "levers": prepare(), **TRACED,
               "providerModules": sum(1 for m in sys.modules if m.startswith("pulumi_aws."))},
              sys.stdout, indent=1, sort_keys=True)
    return 0
