"""Run a Pulumi Python program in-process under Pulumi's mock runtime and record every
resource registration as the engine would see it.

Two modes:

- ``preview=True`` (preflight's default) behaves like the first preview of a new stack:
  ids and provider-computed outputs are unknown, so whatever a policy can only learn from
  them stays unknown, exactly as in ``pulumi preview``.
- ``preview=False`` resolves ids and ARNs to deterministic fake values; component tests use
  it to read documents built from other resources' outputs.

Invokes (data sources) answer with plausible values for account ``123456789012``, because a
real first preview runs them against AWS.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc, settings
from pulumi.runtime.config import set_all_config
from pulumi.runtime.stack import run_in_stack
from pulumi.runtime.sync_await import _sync_await

ACCOUNT_ID = "123456789012"
STACK_TYPE = "pulumi:pulumi:Stack"
UNKNOWN = rpc.UNKNOWN


@dataclass
class Registration:
    """One resource as the engine receives it (inputs with engine, camelCase, names)."""

    type: str
    name: str
    urn: str
    custom: bool
    parent: str
    provider: str
    inputs: dict[str, Any]
    dependencies: list[str] = field(default_factory=list)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    protect: bool = False
    retain_on_delete: bool = False
    delete_before_replace: bool = False
    ignore_changes: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)


def engine_urn(stack: str, project: str, parent_urn: str, type_: str, name: str) -> str:
    """The URN the engine forms: parent types chained with ``$``, the Stack left out."""
    qualified = type_
    if parent_urn:
        parent_type = parent_urn.split("::")[2]
        if parent_type != STACK_TYPE:
            qualified = f"{parent_type}${type_}"
    return f"urn:pulumi:{stack}::{project}::{qualified}::{name}"


def _fake_arn(type_: str, name: str, region: str) -> str:
    service = type_.split(":")[1].split("/")[0]
    return f"arn:aws:{service}:{region}:{ACCOUNT_ID}:{name}"


class _Mocks(pulumi_mocks.Mocks):
    def __init__(self, preview: bool, region: str):
        self.preview = preview
        self.region = region

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str | None, dict]:
        state = dict(args.inputs)
        if self.preview:
            return None, state
        state.setdefault("arn", _fake_arn(args.typ, args.name, self.region))
        state.setdefault("name", args.name)
        return f"{args.name}-id", state

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict, list]:
        token = args.token
        region = args.args.get("region") or self.region
        if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            names = [f"{region}{s}" for s in "abcdef"]
            ids = [f"{region[:3]}{region.split('-')[-1]}-az{i + 1}" for i in range(6)]
            return {"names": names, "zoneIds": ids, "id": region, "state": "available"}, []
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT_ID, "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/preflight",
                    "id": ACCOUNT_ID, "userId": "AIDAPREFLIGHT"}, []
        if token in ("aws:index/getRegion:getRegion", "aws:index/region:getRegion"):
            return {"name": region, "region": region, "id": region,
                    "endpoint": f"ec2.{region}.amazonaws.com"}, []
        if token == "aws:elb/getServiceAccount:getServiceAccount":
            # The regional Elastic Load Balancing account that writes access logs.
            return {"id": "127311923021", "arn": "arn:aws:iam::127311923021:root",
                    "region": region}, []
        if token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}, []
        return {}, []


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """A MockMonitor that keeps the full request and forms engine URNs."""

    def __init__(self, mocks: pulumi_mocks.Mocks,
                 on_register: Callable[[Registration], None] | None = None):
        super().__init__(mocks)
        self.registrations: list[Registration] = []
        self.on_register = on_register
        self._lock = threading.Lock()

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        return engine_urn(settings.get_stack(), settings.get_project(), parent, type_, name)

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        if request.type == STACK_TYPE:
            return response
        inputs = rpc.deserialize_properties(request.object, keep_unknowns=True)
        reg = Registration(
            type=request.type,
            name=request.name,
            urn=response.urn,
            custom=bool(request.custom),
            parent=request.parent,
            provider=request.provider,
            inputs=dict(inputs),
            dependencies=list(request.dependencies),
            property_dependencies={k: list(v.urns)
                                   for k, v in request.propertyDependencies.items()},
            protect=bool(request.protect),
            retain_on_delete=bool(request.retainOnDelete),
            delete_before_replace=bool(request.deleteBeforeReplace),
            ignore_changes=list(request.ignoreChanges),
            aliases=[a.urn or a.spec.name for a in request.aliases] if request.aliases else [],
        )
        with self._lock:
            self.registrations.append(reg)
        if self.on_register is not None:
            self.on_register(reg)
        return response


@dataclass
class Capture:
    registrations: list[Registration]
    outputs: dict[str, Any]

    def of_type(self, type_: str) -> list[Registration]:
        return [r for r in self.registrations if r.type == type_]

    def named(self, name: str) -> Registration:
        found = [r for r in self.registrations if r.name == name]
        if len(found) != 1:
            raise KeyError(f"{len(found)} resources named {name!r}")
        return found[0]


def capture(program: Callable[[], Any], *, project: str = "project", stack: str = "test",
            config: Mapping[str, str] | None = None, preview: bool = True,
            on_register: Callable[[Registration], None] | None = None) -> Capture:
    """Run ``program`` as a Pulumi program under mocks; return what it registered.

    Exceptions raised by the program propagate unchanged."""
    config = dict(config or {})
    region = str(config.get("aws:region") or _region_from(config) or "us-east-1")
    set_all_config(config, [])
    monitor = RecordingMonitor(_Mocks(preview, region), on_register)
    settings.ROOT.set(None)
    pulumi_mocks.set_mocks(monitor.mocks, project=project, stack=stack, preview=preview,
                           monitor=monitor)
    settings.ROOT.set(None)  # run_in_stack makes the real root, as the language host does
    settings.SETTINGS.rpc_manager.clear()
    settings.SETTINGS.outputs.clear()
    outputs: dict[str, Any] = {}

    def run() -> None:
        program()

    _sync_await(run_in_stack(run))
    return Capture(monitor.registrations, outputs)


def _region_from(config: Mapping[str, str]) -> str | None:
    for key, value in config.items():
        if key.endswith(":region") and isinstance(value, str):
            return value
    return None


__all__ = ["ACCOUNT_ID", "UNKNOWN", "Capture", "Registration", "capture", "engine_urn",
           "pulumi"]
