"""Run a Pulumi Python program in-process under Pulumi's mock runtime and record every
resource registration as the engine would see it.

Three modes:

- ``preview=True`` (preflight's first pass) behaves like the first preview of a new stack:
  ids and provider-computed outputs are unknown, so whatever a policy can only learn from
  them stays unknown, exactly as in ``pulumi preview``. Inputs travel back to the program
  as outputs unchanged (unknowns stay unknown, secrets stay secret), as a provider's
  preview does for the properties it was given.
- ``resolved=True`` (preflight's second pass) is a preview of a stack that already exists:
  every resource also gets its id, ARN and common computed outputs in AWS's formats
  (:mod:`.resolve`); outputs the table does not know stay unknown.
- ``preview=False`` resolves ids and ARNs to simple fake values and every other output to
  its input; component tests use it to read documents built from other resources' outputs.

Invokes (data sources) are answered by :class:`.invokes.Answers`: the user's invokes file,
then the stand-in account ``123456789012`` (:mod:`.account`), as a real preview runs them
against AWS; every call is kept in a ledger, answered or not. A registration with
``remote=True`` is a multi-language component implemented in a provider plugin: offline its
children never exist (:attr:`Registration.remote`).

Every :class:`Registration` keeps the request's property ``Struct`` exactly as the SDK
serialised it (``properties``); ``inputs`` is decoded from it on first use only, so
recording a large program costs no per-resource copies.
"""

from __future__ import annotations

import contextvars
import itertools
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

from .account import ACCOUNT_ID, StandInAccount
from .invokes import Answers
from .resolve import identity

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
        "order",
        "parent",
        "properties",
        "property_dependencies",
        "protect",
        "provider",
        "remote",
        "retain_on_delete",
        "stack_trace",
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
                 custom_timeouts: dict[str, str] | None = None, version: str = "",
                 remote: bool = False, stack_trace: Any = None, order: int = 0) -> None:
        self.type = type
        self.order = order
        """When the program constructed it, relative to the run's other resources (0: not
        through ``Resource``; a default provider takes the number of the first resource
        that uses it)."""
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
        self.remote = remote
        """A multi-language component: its children exist only in its provider plugin."""
        self.stack_trace: tuple[tuple[str, int], ...] = tuple(
            (f.pc.uri, f.pc.line) for f in stack_trace.frames if f.HasField("pc")
        ) if stack_trace is not None else ()
        """``(file URI, line)`` of each frame of the request's ``stackTrace``, innermost
        first: plain values, so a report that refers to its resources can be pickled."""

    def frames(self) -> list[tuple[str, int]]:
        """``(file URI, line)`` of each frame that registered it, innermost first."""
        return list(self.stack_trace)

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


def _detached(struct: struct_pb2.Struct) -> struct_pb2.Struct:
    """A copy of a request's sub-message that does not keep the whole request (its stack
    trace, options...) alive with it."""
    copy = struct_pb2.Struct()
    copy.CopyFrom(struct)
    return copy


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
    """Resource outputs for ``preview=False``; invokes through ``answers``."""

    def __init__(self, preview: bool, region: str, answers: Answers):
        self.preview = preview
        self.region = region
        self.answers = answers

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
        return self.answers.answer(args.token, args.args) or {}, []


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
                 *, passthrough: bool = False, resolved: bool = False):
        super().__init__(mocks)
        # Any Mocks will do; preflight's own answer invokes and reads (see capture()).
        self.answers: Answers | None = getattr(mocks, "answers", None)
        self.region: str = getattr(mocks, "region", "us-east-1")
        # resolved: a preview of an existing stack, ids and computed outputs known
        self.resolved = resolved
        self.registrations: list[Registration] = []
        self.on_register = on_register
        self.stack_urn = ""
        # passthrough: answer a preview registration with its own inputs, without decoding
        # them (what _Mocks(preview=True) would return, minus two conversions per resource).
        self.passthrough = passthrough
        self._objects: dict[str, struct_pb2.Struct] = {}
        self._ids: dict[str, str] = {}
        self._lock = threading.Lock()

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        return engine_urn(settings.get_stack(), settings.get_project(), parent, type_, name)

    def RegisterResource(self, request: Any) -> Any:
        if self.passthrough:
            urn = self.make_urn(request.parent, request.type, request.name)
            if request.type == STACK_TYPE:
                self.stack_urn = urn
                return resource_pb2.RegisterResourceResponse(urn=urn)
            obj, id_ = request.object, ""
            if self.resolved and (request.custom or request.remote) and \
                    not request.type.startswith("pulumi:providers:"):
                obj, id_ = self._resolve(request, urn)
            response = resource_pb2.RegisterResourceResponse(urn=urn, object=obj, id=id_)
            self._objects[urn] = obj
            self._ids[urn] = id_
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
            properties=_detached(request.object),
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
            remote=bool(request.remote),
            stack_trace=request.stackTrace if request.HasField("stackTrace") else None,
            order=_ORDER.get(),
        )
        if not self.passthrough:
            reg.inputs  # noqa: B018 - decode now, while this run's runtime settings are current
        with self._lock:
            self.registrations.append(reg)
        if self.on_register is not None:
            self.on_register(reg)
        return response

    def _resolve(self, request: Any, urn: str) -> tuple[struct_pb2.Struct, str]:
        """The inputs plus the computed outputs an existing resource would have. A remote
        component gets an id only: its outputs come from children that do not exist."""
        if request.remote:
            return request.object, ""
        account = self.answers.account if self.answers else StandInAccount(self.region)
        found = identity(request.type, request.name, urn, request.object, account, self.region)
        obj = struct_pb2.Struct()
        obj.CopyFrom(request.object)
        for key, value in found.outputs.items():
            current = obj.fields.get(key)
            if current is None or current.string_value == UNKNOWN:
                obj[key] = value
        return obj, found.id

    def ReadResource(self, request: Any) -> Any:
        """``Resource.get(name, id)``: a look-up of an existing resource, answered (like an
        invoke, with the type as token) from the invokes file, else only with its id."""
        if self.answers is None:
            return super().ReadResource(request)
        inputs = dict(rpc.deserialize_properties(request.properties))
        found = self.answers.answer(request.type, {"id": request.id}) or {}
        props = _sync_await(rpc.serialize_properties({**inputs, **found}, {}))
        urn = self.make_urn(request.parent, request.type, request.name)
        self._objects[urn] = props
        self._ids[urn] = request.id
        return resource_pb2.ReadResourceResponse(urn=urn, properties=props)

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
            ret = _sync_await(rpc.serialize_properties(
                {"urn": urn, "id": self._ids.get(urn, ""), "state": state}, {}))
            return resource_pb2.ResourceInvokeResponse(failures=None, **{"return": ret})
        return super().Invoke(request)


_ORDER: contextvars.ContextVar[int] = contextvars.ContextVar("preflight_order", default=0)
_COUNT = itertools.count(1)


def _in_construction_order(register: Callable[..., None]) -> Callable[..., None]:
    """The SDK's ``register_resource``, numbering each resource as the program constructs
    it. The registration it starts is a task that keeps a copy of the context it was created
    in, and the SDK hands that context to the monitor's thread, so the monitor reads the
    number there: registrations reach the monitor in whatever order the executor's threads
    finish, and the number puts them back in the program's order."""
    def register_resource(*args: Any, **kwargs: Any) -> None:
        _ORDER.set(next(_COUNT))
        register(*args, **kwargs)

    register_resource.__wrapped__ = register  # type: ignore[attr-defined]
    return register_resource


def _number_registrations() -> None:
    """Install :func:`_in_construction_order` where ``Resource`` calls it (idempotent)."""
    import pulumi.resource as resource_module

    current = resource_module.register_resource
    if getattr(current, "__wrapped__", None) is None:
        resource_module.register_resource = _in_construction_order(current)


@dataclass
class Capture:
    registrations: list[Registration]
    outputs: dict[str, Any]
    stack_urn: str = ""
    logs: list[LogEntry] = field(default_factory=list)
    answers: Answers | None = None
    """The data sources the program called, answered or not."""

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
            passthrough: bool = False, resolved: bool = False,
            answers: Answers | None = None) -> Capture:
    """Run ``program`` as a Pulumi program under mocks; return what it registered.

    ``secret_keys`` marks config keys as secret (``Config.require_secret`` and friends).
    ``passthrough`` (preview only) answers registrations with their own inputs without
    decoding them: unknown inputs stay unknown outputs and secrets stay secret.
    ``resolved`` (with passthrough) adds ids and computed outputs (:mod:`.resolve`).
    ``answers`` answers invokes (default: the stand-in account in the config's region).
    Exceptions raised by the program propagate unchanged."""
    config = dict(config or {})
    region = stack_region(config)
    answers = answers if answers is not None else Answers(stack, StandInAccount(region))
    set_all_config(config, list(secret_keys or []))
    monitor = RecordingMonitor(_Mocks(preview, region, answers), on_register,
                               passthrough=preview and passthrough,
                               resolved=preview and passthrough and resolved)
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

    _number_registrations()
    _sync_await(run_in_stack(run))
    return Capture(monitor.registrations, outputs, monitor.stack_urn, engine.logs, answers)


def stack_region(config: Mapping[str, str]) -> str:
    """The AWS region a stack deploys to: ``aws:region``, else another ``*:region`` key."""
    if config.get("aws:region"):
        return str(config["aws:region"])
    for key, value in config.items():
        if key.endswith(":region") and isinstance(value, str) and value:
            return value
    return "us-east-1"


__all__ = ["ACCOUNT_ID", "UNKNOWN", "Capture", "LogEntry", "Registration", "capture",
           "engine_urn", "pulumi", "stack_region"]
