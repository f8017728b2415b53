"""Preflight's runtime levers (lazy provider imports, the collector's policy, cheap stack
traces, one future per output property, plain values serialised at once, URNs known at
once) change nothing a program sends to the resource monitor or reads back from its
resources."""

from __future__ import annotations

import contextlib
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
    # what the program read back: every output property of every resource, both passes
    assert len(plain["outputs"]) >= sum(plain["registered"])
    assert fast["outputs"] == plain["outputs"]
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


def _run(coroutine: Any) -> Any:
    """Run ``coroutine`` on a loop of its own, leaving the thread's event loop as it was
    (``asyncio.run`` would unset it for the tests that follow)."""
    import asyncio

    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coroutine)
    finally:
        loop.close()


def _data(output: Any) -> tuple[Any, ...]:
    """What awaiting an ``Output`` gives: value, known, secret, dependencies; or the error."""
    data = output._data
    if data.exception() is not None:
        return ("failed", data.exception())
    result = data.result()
    return (result.value, result.is_known, result.is_secret,
            sorted(map(id, result.resources)))


@pytest.mark.parametrize("resolution", [
    ("bucket-1", True, False, None, None),
    ({"nested": ["a", 1]}, True, True, None, None),
    (None, False, False, None, None),  # unknown in a preview
    ("value", True, False, "deps", None),
    (None, True, False, None, RuntimeError("registration failed")),
])
def test_an_output_property_resolves_as_the_sdks(resolution: tuple[Any, ...]) -> None:
    """The same value, flags, dependencies or error through one future as through the
    SDK's four and its gathering task; ``urn`` and a custom resource's ``id`` are left to
    the SDK as before."""
    import asyncio

    from pulumi.runtime import rpc

    runtime.prepare()
    sdk_version = runtime._REPLACED["transfer_properties"]
    assert rpc.transfer_properties is runtime.transfer_properties

    class Res:
        pass

    value, known, secret, deps, failed = resolution

    async def both() -> list[tuple[Any, ...]]:
        seen = []
        dependency = Res()
        for transfer in (sdk_version, runtime.transfer_properties):
            res: Any = Res()
            resolvers = transfer(res, {"urn": None, "id": None, "arn": None}, True)
            assert sorted(resolvers) == ["arn"] and "urn" not in vars(res)
            resolvers["arn"](value, known, secret, {dependency} if deps else None, failed)
            with contextlib.suppress(BaseException):
                await res.arn._data
            for _ in range(5):  # let the SDK's gathering task finish
                await asyncio.sleep(0)
            found = _data(res.arn)
            seen.append(found if failed else (*found[:3], len(found[3]),
                                              id(res) in found[3], id(dependency) in found[3]))
        return seen

    sdk, ours = _run(both())
    assert ours == sdk
    if failed is None:  # the resource itself is a dependency of its outputs
        assert ours == (value, known, secret, 2 if deps else 1, True, bool(deps))
    else:
        assert ours == ("failed", failed)


@pytest.mark.parametrize(("name", "type_", "parent"), [
    ("web", "aws:s3/bucket:Bucket", None),
    ("web-policy", "aws:s3/bucketPolicy:BucketPolicy",
     "urn:pulumi:dev::proj::my:index:Site::site"),
    ("child", "aws:iam/role:Role",
     "urn:pulumi:dev::proj::my:index:Site$my:index:Part::part"),
    ("odd", "t:m:T", ""),
])
def test_a_registration_urn_is_the_sdks(name: str, type_: str, parent: str | None) -> None:

    from pulumi.runtime import resource

    runtime.prepare()
    assert resource.create_urn is runtime.create_urn
    sdk_version = runtime._REPLACED["create_urn"]

    async def both() -> list[tuple[Any, ...]]:
        found = []
        for create in (sdk_version, runtime.create_urn):
            output = create(name, type_, parent, "proj", "dev")
            await output._data
            found.append(_data(output))
        return found

    sdk, ours = _run(both())
    assert ours == sdk
    assert ours[0].endswith(f"{type_}::{name}") and ours[1:] == (True, False, [])


def test_a_urn_from_outputs_is_left_to_the_sdk() -> None:

    import pulumi

    runtime.prepare()

    async def run() -> tuple[Any, ...]:
        output = runtime.create_urn(pulumi.Output.from_input("web"), "aws:s3/bucket:Bucket",
                                    None, "proj", "dev")
        await output._data
        return _data(output)

    assert _run(run())[:2] == ("urn:pulumi:dev::proj::aws:s3/bucket:Bucket::web", True)


def test_a_plain_value_serialises_as_the_sdks() -> None:
    """Plain values, a ``str`` enum, input-typed values and nested ones with outputs: the
    same serialised value and the same dependencies as the SDK's."""
    import enum
    from typing import Optional

    import pulumi
    from pulumi.runtime import rpc, settings
    from pulumi.runtime.proto import resource_pb2

    runtime.prepare()
    assert rpc.serialize_property is runtime.serialize_property
    sdk_version = runtime._REPLACED["serialize_property"]

    class Tier(str, enum.Enum):  # noqa: UP042 - as provider SDKs generate their enums
        STANDARD = "Standard"

    cases: list[tuple[Any, Any]] = [
        ("text", str), (7, int), (2.5, float), (False, bool), (None, Optional[str]),  # noqa: UP045
        ("", pulumi.Input[str]),  # type: ignore[misc]
        (Tier.STANDARD, Tier), (Tier.STANDARD, None),
        ({"a": [1, "two", None, {"b": True}]}, None),
    ]

    async def both() -> list[list[Any]]:
        found = []
        for serialise in (sdk_version, runtime.serialize_property):
            seen: list[Any] = []
            for value, typ in cases:
                deps: list[Any] = []
                out = await serialise(value, deps, "key", None, None, typ)
                seen.append((out, type(out).__name__, deps))
            deps = []
            nested = {"x": pulumi.Output.from_input("v"),
                      "y": pulumi.Output.secret("s"), "z": [3, "four"]}
            seen.append((await serialise(nested, deps, "key"), len(deps)))
            wire = await serialise("text", [], "key", return_protobuf_value=True)
            seen.append((type(wire).__name__, wire))
            found.append(seen)
        return found

    sdk, ours = _run(both())
    assert ours == sdk
    assert ours[0] == ("text", "str", []) and ours[6] == (Tier.STANDARD, "Tier", [])
    # a secret is marked only where the monitor (left by earlier tests, if any) takes secrets
    secret: Any = "s"
    if settings.monitor_supports_feature(resource_pb2.RESOURCE_MONITOR_FEATURE_SECRETS):
        secret = {rpc._special_sig_key: rpc._special_secret_sig, "value": "s"}
    assert ours[-2] == ({"x": "v", "y": secret, "z": [3, "four"]}, 0)
    assert ours[-1][0] == "Value" and ours[-1][1].string_value == "text"
