"""Run a Pulumi Python program in-process under Pulumi's mock runtime and record every
resource registration as the engine would see it.

Two modes:

- ``preview=True`` (preflight's default) behaves like the first preview of a new stack:
  ids and provider-computed outputs are unknown, so whatever a policy can only learn from
  them stays unknown, exactly as in ``pulumi preview``. Inputs travel back to the program
  as outputs unchanged (unknowns stay unknown, secrets stay secret), as a provider's
  preview does for the properties it was given.
- ``preview=False`` resolves ids and ARNs to deterministic fake values; component tests use
  it to read documents built from other resources' outputs.

Invokes (data sources) answer with plausible values for account ``123456789012``, because a
real first preview runs them against AWS.

Every :class:`Registration` keeps the request's property ``Struct`` exactly as the SDK
serialised it (``properties``); ``inputs`` is decoded from it on first use only, so
recording a large program costs no per-resource copies.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
from google.protobuf import struct_pb2
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc, settings
from pulumi.runtime.config import set_all_config
from pulumi.runtime.proto import engine_pb2, resource_pb2
from pulumi.runtime.stack import run_in_stack
from pulumi.runtime.sync_await import _sync_await

ACCOUNT_ID = "123456789012"
STACK_TYPE = "pulumi:pulumi:Stack"
UNKNOWN = rpc.UNKNOWN


class Registration:
    """One resource as the engine receives it (inputs with engine, camelCase, names)."""

    __slots__ = (
        "_inputs",
        "additional_secret_outputs",
        "aliases",
        "custom",
        "custom_timeouts",
        "delete_before_replace",
        "delete_before_replace_defined",
        "dependencies",
        "ignore_changes",
        "name",
        "parent",
        "properties",
        "property_dependencies",
        "protect",
        "provider",
        "retain_on_delete",
        "type",
        "urn",
        "version",
    )

    def __init__(self, type: str, name: str, urn: str, custom: bool, parent: str,
                 provider: str, inputs: dict[str, Any] | None = None,
                 dependencies: list[str] | None = None,
                 property_dependencies: dict[str, list[str]] | None = None,
                 protect: bool = False, retain_on_delete: bool = False,
                 delete_before_replace: bool = False, ignore_changes: list[str] | None = None,
                 aliases: list[str] | None = None, *,
                 properties: struct_pb2.Struct | None = None,
                 delete_before_replace_defined: bool = False,
                 additional_secret_outputs: list[str] | None = None,
                 custom_timeouts: dict[str, str] | None = None, version: str = "") -> None:
        self.type = type
        self.name = name
        self.urn = urn
        self.custom = custom
        self.parent = parent
        self.provider = provider
        self._inputs = inputs
        self.properties = properties
        self.dependencies = dependencies if dependencies is not None else []
        self.property_dependencies = (property_dependencies
                                      if property_dependencies is not None else {})
        self.protect = protect
        self.retain_on_delete = retain_on_delete
        self.delete_before_replace = delete_before_replace
        self.delete_before_replace_defined = delete_before_replace_defined
        self.ignore_changes = ignore_changes if ignore_changes is not None else []
        self.aliases = aliases if aliases is not None else []
        self.additional_secret_outputs = additional_secret_outputs or []
        self.custom_timeouts = custom_timeouts or {}
        self.version = version

    @property
    def inputs(self) -> dict[str, Any]:
        """Decoded inputs; unknowns are ``pulumi.output.Unknown`` in preview mode."""
        if self._inputs is None:
            self._inputs = (dict(rpc.deserialize_properties(self.properties, keep_unknowns=True))
                            if self.properties is not None else {})
        return self._inputs

    @inputs.setter
    def inputs(self, value: dict[str, Any]) -> None:
        self._inputs = value

    @property
    def package(self) -> str:
        return self.type.split(":", 1)[0]

    def __repr__(self) -> str:
        return f"Registration(type={self.type!r}, name={self.name!r}, urn={self.urn!r})"


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


def _signed_objects(name: str, state: dict[str, Any], region: str) -> dict[str, Any]:
    """What a finished signing job reports: its id and the signed copy under the prefix."""
    s3 = (state.get("destination") or {}).get("s3") or {}
    return {"jobId": f"{name}-job", "signedObjects": [{"s3s": [{
        "bucket": s3.get("bucket"), "key": f"{s3.get('prefix', '')}{name}-job.zip"}]}]}


# Outputs AWS computes that later resources read (outside preview only).
_COMPUTED: dict[str, Callable[[str, dict[str, Any], str], dict[str, Any]]] = {
    "aws:s3/bucketObjectv2:BucketObjectv2": lambda name, _, __: {"versionId": f"{name}-v1"},
    "aws:signer/signingJob:SigningJob": _signed_objects,
    "aws:signer/signingProfile:SigningProfile": lambda name, state, region: {
        "versionArn": f"arn:aws:signer:{region}:{ACCOUNT_ID}:/signing-profiles/"
                      f"{state.get('name', name)}/v1"},
}


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
        computed = _COMPUTED.get(args.typ)
        if computed is not None:
            state.update(computed(args.name, state, self.region))
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


@dataclass
class LogEntry:
    """A message the program logged through ``pulumi.log``."""

    severity: str
    message: str
    urn: str = ""


_SEVERITY = {engine_pb2.DEBUG: "debug", engine_pb2.INFO: "info",
             engine_pb2.WARNING: "warning", engine_pb2.ERROR: "error"}


class RecordingEngine:
    """Stands in for the engine's log service: keeps what the program logs."""

    def __init__(self) -> None:
        self.logs: list[LogEntry] = []

    def Log(self, request: Any) -> None:
        severity = _SEVERITY.get(request.severity, "info")
        if severity != "debug":
            self.logs.append(LogEntry(severity, request.message, request.urn))


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """A MockMonitor that keeps the full request and forms engine URNs."""

    def __init__(self, mocks: pulumi_mocks.Mocks,
                 on_register: Callable[[Registration], None] | None = None,
                 *, passthrough: bool = False):
        super().__init__(mocks)
        self.registrations: list[Registration] = []
        self.on_register = on_register
        self.stack_urn = ""
        # passthrough: answer a preview registration with its own inputs, without decoding
        # them (what _Mocks(preview=True) would return, minus two conversions per resource).
        self.passthrough = passthrough
        self._objects: dict[str, struct_pb2.Struct] = {}
        self._lock = threading.Lock()

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        return engine_urn(settings.get_stack(), settings.get_project(), parent, type_, name)

    def RegisterResource(self, request: Any) -> Any:
        if self.passthrough:
            urn = self.make_urn(request.parent, request.type, request.name)
            if request.type == STACK_TYPE:
                self.stack_urn = urn
                return resource_pb2.RegisterResourceResponse(urn=urn)
            response = resource_pb2.RegisterResourceResponse(urn=urn, object=request.object)
            self._objects[urn] = request.object
        else:
            response = super().RegisterResource(request)
            if request.type == STACK_TYPE:
                self.stack_urn = response.urn
                return response
        timeouts = request.customTimeouts
        reg = Registration(
            type=request.type,
            name=request.name,
            urn=response.urn,
            custom=bool(request.custom),
            parent=request.parent,
            provider=request.provider,
            properties=request.object,
            dependencies=list(request.dependencies),
            property_dependencies={k: list(v.urns)
                                   for k, v in request.propertyDependencies.items()},
            protect=bool(request.protect),
            retain_on_delete=bool(request.retainOnDelete),
            delete_before_replace=bool(request.deleteBeforeReplace),
            delete_before_replace_defined=bool(request.deleteBeforeReplaceDefined),
            ignore_changes=list(request.ignoreChanges),
            aliases=self._alias_urns(request, response.urn),
            additional_secret_outputs=list(request.additionalSecretOutputs),
            custom_timeouts=({"create": timeouts.create, "update": timeouts.update,
                              "delete": timeouts.delete}
                             if request.HasField("customTimeouts") else None),
            version=request.version,
        )
        if not self.passthrough:
            reg.inputs  # noqa: B018 - decode now, while this run's runtime settings are current
        with self._lock:
            self.registrations.append(reg)
        if self.on_register is not None:
            self.on_register(reg)
        return response

    def _alias_urns(self, request: Any, urn: str) -> list[str]:
        """Alias specs resolved to URNs, as the engine resolves them."""
        out = list(request.aliasURNs)
        for alias in request.aliases:
            if alias.urn:
                out.append(alias.urn)
                continue
            spec = alias.spec
            parent = "" if spec.noParent else (spec.parentUrn or request.parent)
            out.append(engine_urn(spec.stack or settings.get_stack(),
                                  spec.project or settings.get_project(), parent,
                                  spec.type or request.type, spec.name or request.name))
        return out

    def Invoke(self, request: Any) -> Any:
        if self.passthrough and request.tok == "pulumi:pulumi:getResource":
            urn = rpc.deserialize_properties(request.args)["urn"]
            obj = self._objects.get(urn)
            if obj is None:
                raise Exception(f"unknown resource {urn}")
            state = dict(rpc.deserialize_properties(obj, keep_unknowns=True))
            ret = _sync_await(rpc.serialize_properties({"urn": urn, "id": "", "state": state},
                                                       {}))
            return resource_pb2.ResourceInvokeResponse(failures=None, **{"return": ret})
        return super().Invoke(request)


@dataclass
class Capture:
    registrations: list[Registration]
    outputs: dict[str, Any]
    stack_urn: str = ""
    logs: list[LogEntry] = field(default_factory=list)

    def of_type(self, type_: str) -> list[Registration]:
        return [r for r in self.registrations if r.type == type_]

    def named(self, name: str) -> Registration:
        found = [r for r in self.registrations if r.name == name]
        if len(found) != 1:
            raise KeyError(f"{len(found)} resources named {name!r}")
        return found[0]


def capture(program: Callable[[], Any], *, project: str = "project", stack: str = "test",
            config: Mapping[str, str] | None = None, preview: bool = True,
            on_register: Callable[[Registration], None] | None = None,
            secret_keys: list[str] | None = None, organization: str = "organization",
            passthrough: bool = False) -> Capture:
    """Run ``program`` as a Pulumi program under mocks; return what it registered.

    ``secret_keys`` marks config keys as secret (``Config.require_secret`` and friends).
    ``passthrough`` (preview only) answers registrations with their own inputs without
    decoding them: unknown inputs stay unknown outputs and secrets stay secret.
    Exceptions raised by the program propagate unchanged."""
    config = dict(config or {})
    region = str(config.get("aws:region") or _region_from(config) or "us-east-1")
    set_all_config(config, list(secret_keys or []))
    monitor = RecordingMonitor(_Mocks(preview, region), on_register,
                               passthrough=preview and passthrough)
    engine = RecordingEngine()
    settings.ROOT.set(None)
    pulumi_mocks.set_mocks(monitor.mocks, project=project, stack=stack, preview=preview,
                           monitor=monitor, organization=organization)
    settings.SETTINGS.engine = engine
    settings.ROOT.set(None)  # run_in_stack makes the real root, as the language host does
    settings.SETTINGS.rpc_manager.clear()
    settings.SETTINGS.outputs.clear()
    outputs: dict[str, Any] = {}

    def run() -> None:
        program()

    _sync_await(run_in_stack(run))
    return Capture(monitor.registrations, outputs, monitor.stack_urn, engine.logs)


def _region_from(config: Mapping[str, str]) -> str | None:
    for key, value in config.items():
        if key.endswith(":region") and isinstance(value, str):
            return value
    return None


__all__ = ["ACCOUNT_ID", "UNKNOWN", "Capture", "LogEntry", "Registration", "capture",
           "engine_urn", "pulumi"]
