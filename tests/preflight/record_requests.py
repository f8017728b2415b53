"""Run a Pulumi program's two passes as preflight runs them and print, as JSON, a digest of
every request the program sent to the resource monitor (``RegisterResource`` byte for byte,
deterministically serialised: properties, options, dependencies, source position and stack
trace; ``Invoke`` and ``ReadResource`` too), keyed by pass and URN or token.

    python -c 'import record_requests; record_requests.main()' <project dir> <stack>

(not as a script: preflight forgets the project's own modules between the passes, and a
``__main__`` inside the project would be one of them).

It also prints what the program could read back from every resource once each pass ended:
each output property's value, whether it was known and secret, and the URNs it depends on
(or the error it failed with).

Run with and without ``PREFLIGHT_DISABLE`` to prove that preflight's runtime levers
(:mod:`preflight.runtime`) change nothing a program registers or sees.
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


RESOURCES: list[Any] = []
OUTPUTS: dict[str, list[str]] = {}


def _keep_resources() -> None:
    import pulumi

    original = pulumi.Resource.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        RESOURCES.append(self)
        original(self, *args, **kwargs)

    pulumi.Resource.__init__ = init  # type: ignore[method-assign]


def _result(output: Any) -> Any:
    data = output._data
    if not data.done():
        return "pending"
    if data.cancelled() or data.exception() is not None:
        return ["failed", type(data.exception()).__name__ if not data.cancelled() else ""]
    return data.result()


def _plain(value: Any) -> Any:
    """``value`` in JSON: a resource as its URN, an object by its type and fields."""
    import pulumi

    if isinstance(value, pulumi.Resource):
        return ["resource", _urn(value)]
    if isinstance(value, pulumi.Output):
        return ["output", _plain(_result(value).value)]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        items = [_plain(v) for v in value]
        return sorted(items, key=json.dumps) if isinstance(value, set) else items
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return [type(value).__name__, _plain(vars(value)) if hasattr(value, "__dict__") else
            repr(value)]


def _urn(resource: Any) -> str:
    data = _result(resource.urn)
    return data.value if hasattr(data, "value") else repr(data)


def _seen_outputs() -> None:
    """What every resource of the pass that just ended offers the program, keyed by URN."""
    import pulumi

    for resource in RESOURCES:
        seen = []
        for key, output in sorted(vars(resource).items()):
            if not isinstance(output, pulumi.Output) or key.startswith("_"):
                continue
            data = _result(output)
            if not hasattr(data, "value"):
                seen.append(json.dumps([key, data]))
                continue
            seen.append(json.dumps([key, _plain(data.value), data.is_known, data.is_secret,
                                    sorted(_urn(r) for r in data.resources)], sort_keys=True))
        OUTPUTS.setdefault(f"{PHASE[0]} {_urn(resource)}", []).append(
            hashlib.sha256("\n".join(seen).encode()).hexdigest())
    RESOURCES.clear()


_wrap("RegisterResource", lambda r: f"{r.type}::{r.name} parent={r.parent}")
_wrap("ReadResource", lambda r: f"{r.type}::{r.name}")
_wrap("Invoke", lambda r: r.tok)


def main() -> int:
    project = load_project(Path(sys.argv[1]).resolve())
    stack = sys.argv[2]
    config = load_stack_config(project, stack)
    _keep_resources()
    with redirect_stdout(io.StringIO()):
        first = run_program(project, stack, config)
        _seen_outputs()
        forget_program_modules(project.dir)
        PHASE[0] = "resolved"
        second = run_program(project, stack, config, resolved=True)
        _seen_outputs()
    from preflight.runtime import prepare

    json.dump({"requests": {k: sorted(v) for k, v in RECORDED.items()},
               "outputs": {k: sorted(v) for k, v in OUTPUTS.items()},
               "registered": [len(first.registrations), len(second.registrations)],
               "levers": prepare(), **TRACED,
               "providerModules": sum(1 for m in sys.modules if m.startswith("pulumi_aws."))},
              sys.stdout, indent=1, sort_keys=True)
    return 0
