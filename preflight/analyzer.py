"""Drive a Python policy pack over the gRPC Analyzer protocol, as the Pulumi CLI does.

The pack runs in its own process group exactly as the CLI's ``pulumi-analyzer-policy-python``
starts it: ``python -u -m pulumi.policy <engine address> .`` in the pack directory (the SDK's
``pulumi/policy/__main__.py`` sets config and project settings from the environment, then
runs the pack's ``__main__.py``). ``python`` is the virtualenv that ``runtime.options.virtualenv``
in ``PulumiPolicy.yaml`` names (relative to the pack; its ``bin`` goes first on ``PATH`` and
``PYTHONHOME`` is unset), else ``PULUMI_PYTHON_CMD``, else this interpreter (also when the
named virtualenv does not exist yet: the CLI would create it; the report says so). It prints
its gRPC port on stdout. The engine address is a small in-process Engine service that records log
messages. The environment carries what the CLI sets: ``PULUMI_CONFIG`` (the stack's config as
JSON), ``PULUMI_PROJECT``, ``PULUMI_STACK``, ``PULUMI_ORGANIZATION`` and ``PULUMI_DRY_RUN``. One
environment variable holds at most 128 KiB (Linux's ``MAX_ARG_STRLEN``): config values that
would not fit are left out of ``PULUMI_CONFIG`` and travel only in ``ConfigureStack``, which
carries the whole config (and says which keys are secret).

Conversation: ``Handshake`` (packs that predate it answer UNIMPLEMENTED), ``GetAnalyzerInfo``,
``Configure`` with every policy's reconciled enforcement level and properties,
``ConfigureStack``, one ``Analyze`` per resource (streamed from a worker thread while the
program is still registering resources), then ``AnalyzeStack`` once with every resource.

Properties are sent the way the engine marshals them for analyzers: unknowns as the unknown
sentinel string, secrets as secret signature objects, resource references as the referenced
resource's id (unknown during a first preview) or, for components, its URN.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import (
    analyzer_pb2,
    analyzer_pb2_grpc,
    engine_pb2,
    engine_pb2_grpc,
    plugin_pb2,
)

from .capture import Registration
from .policy_config import PolicyConfig, check_policy_config, config_schema
from .project import UsageError, load_yaml

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
SIG_KEY = "4dabf18193072939515e22adb298388d"
RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
_RESOURCE_SIG_BYTES = RESOURCE_SIG.encode()
_MAX_MESSAGE = 1024 * 1024 * 400
_CHANNEL_OPTIONS = [("grpc.max_receive_message_length", _MAX_MESSAGE),
                    ("grpc.max_send_message_length", _MAX_MESSAGE)]

LEVELS = {analyzer_pb2.ADVISORY: "advisory", analyzer_pb2.MANDATORY: "mandatory",
          analyzer_pb2.REMEDIATE: "remediate", analyzer_pb2.DISABLED: "disabled"}
LEVEL_VALUES = {v: k for k, v in LEVELS.items()}
SEVERITIES = {analyzer_pb2.POLICY_SEVERITY_LOW: "low",
              analyzer_pb2.POLICY_SEVERITY_MEDIUM: "medium",
              analyzer_pb2.POLICY_SEVERITY_HIGH: "high",
              analyzer_pb2.POLICY_SEVERITY_CRITICAL: "critical"}


class PackError(Exception):
    """The policy pack failed to start, crashed or answered with an error (exit status 2)."""


# --- the pack on disk ----------------------------------------------------------------------

@dataclass
class PackLocation:
    dir: Path
    python: str
    name: str
    version: str
    env: dict[str, str] = field(default_factory=dict)
    """What starting this interpreter changes in the environment (a virtualenv's PATH)."""
    unset: tuple[str, ...] = ()
    warning: str = ""
    """Why the pack does not run where its PulumiPolicy.yaml says, if it does not."""


def locate_pack(pack_dir: Path) -> PackLocation:
    if not pack_dir.is_dir():
        raise UsageError(f"policy pack not found: {pack_dir}")
    manifest = pack_dir / "PulumiPolicy.yaml"
    doc: dict[str, Any] = {}
    if manifest.is_file():
        loaded = load_yaml(manifest)
        doc = loaded if isinstance(loaded, dict) else {}
    if not (pack_dir / "__main__.py").is_file():
        raise UsageError(f"policy pack {pack_dir} has no __main__.py")
    runtime = doc.get("runtime")
    runtime_name = runtime.get("name") if isinstance(runtime, dict) else runtime
    if runtime_name not in (None, "python"):
        raise UsageError(f"policy pack {pack_dir}: runtime is {runtime_name!r}; "
                         "preflight runs Python packs")
    options = (runtime.get("options") if isinstance(runtime, dict) else None) or {}
    if not isinstance(options, dict):
        raise UsageError(f"{manifest}: runtime.options must be a map")
    name, version = str(doc.get("name") or pack_dir.name), str(doc.get("version") or "")
    command = os.environ.get("PULUMI_PYTHON_CMD") or sys.executable
    if options.get("virtualenv"):
        venv = (pack_dir / str(options["virtualenv"])).resolve()
        python = venv / "bin" / "python"
        if not python.exists():
            # The CLI creates it from the pack's requirements on first use; offline the pack
            # runs with this interpreter, and the report says so.
            return PackLocation(dir=pack_dir, python=command, name=name, version=version,
                                warning=f"the policy pack's virtualenv {venv} does not exist "
                                        f"(the Pulumi CLI creates it from "
                                        f"{pack_dir / 'requirements.txt'}): the pack ran with "
                                        f"{command}")
        return PackLocation(dir=pack_dir, python=str(python), name=name, version=version,
                            env={"PATH": f"{venv / 'bin'}{os.pathsep}"
                                         f"{os.environ.get('PATH', '')}"},
                            unset=("PYTHONHOME",))
    return PackLocation(dir=pack_dir, python=command, name=name, version=version)


# --- the engine's log service --------------------------------------------------------------

@dataclass
class PackLog:
    severity: str
    message: str
    urn: str = ""


class _Engine(engine_pb2_grpc.EngineServicer):
    _SEVERITY = {engine_pb2.DEBUG: "debug", engine_pb2.INFO: "info",
                 engine_pb2.WARNING: "warning", engine_pb2.ERROR: "error"}

    def __init__(self, sink: Callable[[PackLog], None]):
        self.sink = sink

    def Log(self, request: Any, context: Any) -> empty_pb2.Empty:
        self.sink(PackLog(self._SEVERITY.get(request.severity, "info"), request.message,
                          request.urn))
        return empty_pb2.Empty()

    def GetRootResource(self, request: Any, context: Any) -> Any:
        return engine_pb2.GetRootResourceResponse(urn="")

    def SetRootResource(self, request: Any, context: Any) -> Any:
        return engine_pb2.SetRootResourceResponse()


# --- the pack process -----------------------------------------------------------------------

class PackProcess:
    """``python -u -m pulumi.policy <engine> .`` in the pack directory, in its own process
    group; always :meth:`stop` it."""

    def __init__(self, location: PackLocation, env: dict[str, str], start_timeout: float):
        self.location = location
        self.logs: list[PackLog] = []
        self._stderr_tail: deque[str] = deque(maxlen=40)
        self._lock = threading.Lock()
        self.start_timeout = start_timeout
        self.engine = grpc.server(futures.ThreadPoolExecutor(max_workers=1),
                                  options=_CHANNEL_OPTIONS)
        engine_pb2_grpc.add_EngineServicer_to_server(_Engine(self._log), self.engine)
        engine_port = self.engine.add_insecure_port("127.0.0.1:0")
        self.engine.start()
        self.engine_address = f"127.0.0.1:{engine_port}"
        self.started_at = time.perf_counter()
        self.ready_at: float | None = None
        full_env = {**os.environ, **location.env, **env}
        for key in location.unset:
            full_env.pop(key, None)
        try:
            self.proc = subprocess.Popen(
                [location.python, "-u", "-m", "pulumi.policy", self.engine_address, "."],
                cwd=str(location.dir), env=full_env,
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                start_new_session=True)
        except OSError as exc:
            self.engine.stop(None)
            raise PackError(f"policy pack {location.dir} could not be started: {exc}") from None
        self._stderr_thread = threading.Thread(target=self._drain_stderr, daemon=True)
        self._stderr_thread.start()
        self.port: int | None = None

    def _log(self, entry: PackLog) -> None:
        with self._lock:
            self.logs.append(entry)

    def _drain_stderr(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self._stderr_tail.append(line)
            if line.strip():
                self._log(PackLog("stderr", line))

    def _drain_stdout(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            if line.strip():
                self._log(PackLog("stdout", line))

    def wait_port(self) -> int:
        """Block until the pack prints its port (lines before it are kept as output)."""
        if self.port is not None:
            return self.port
        assert self.proc.stdout is not None
        result: dict[str, Any] = {}

        def read() -> None:
            assert self.proc.stdout is not None
            for raw in self.proc.stdout:
                text = raw.decode("utf-8", "replace").strip()
                if text.isdigit():
                    result["port"] = int(text)
                    return
                if text:
                    self._log(PackLog("stdout", text))

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(self.start_timeout)
        if "port" not in result:
            if reader.is_alive():
                raise PackError(f"policy pack {self.location.dir} did not report its port "
                                f"within {self.start_timeout:g} s{self._tail_suffix()}")
            code = self.proc.wait(timeout=5)
            self._stderr_thread.join(2)
            raise PackError(f"policy pack {self.location.dir} failed to start "
                            f"({_status(code)}){self._tail_suffix()}")
        self.port = result["port"]
        self.ready_at = time.perf_counter()
        threading.Thread(target=self._drain_stdout, daemon=True).start()
        return self.port

    def crashed(self) -> str | None:
        """How the pack died, if it did."""
        code = self.proc.poll()
        if code is None:
            try:
                code = self.proc.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                return None
        self._stderr_thread.join(2)
        return _status(code)

    def _tail_suffix(self) -> str:
        self._stderr_thread.join(0.5) if self.proc.poll() is not None else None
        lines = [line for line in self._stderr_tail if line.strip()]
        return f": {lines[-1].strip()}" if lines else ""

    def error_tail(self) -> str:
        return self._tail_suffix()

    def stop(self) -> None:
        """Kill the pack's whole process group and the engine service; safe to repeat."""
        proc = self.proc
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=2)
        # whatever the pack started is in its group too
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)
        self.engine.stop(None)


def _status(code: int | None) -> str:
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


# --- policy configuration --------------------------------------------------------------------

@dataclass
class PolicyMeta:
    name: str
    description: str
    level: str
    """The enforcement level in force after configuration."""
    default_level: str
    severity: str = ""
    display_name: str = ""
    url: str = ""
    remediation: str = ""
    tags: list[str] = field(default_factory=list)
    framework: dict[str, str] = field(default_factory=dict)
    kind: str = "resource"
    config: dict[str, Any] = field(default_factory=dict)


def reconcile(info: Any, file_config: dict[str, Any]) -> tuple[dict[str, PolicyMeta],
                                                               list[str]]:
    """Every policy's level and properties: declared defaults, then the pack's initial config,
    then the file; ``all`` first, then the policy's own entry. Returns (policies, warnings).
    Raises :class:`UsageError` when the file does not fit the pack's policies and their
    config schemas."""
    schemas = {p.name: json_format.MessageToDict(p.configSchema.properties)
               for p in info.policies}
    check_policy_config(file_config if isinstance(file_config, PolicyConfig)
                        else PolicyConfig(file_config), config_schema(schemas), info.name)
    policies: dict[str, PolicyMeta] = {}
    for p in info.policies:
        props = json_format.MessageToDict(p.configSchema.properties)
        defaults = {k: v["default"] for k, v in props.items()
                    if isinstance(v, dict) and "default" in v}
        level = LEVELS.get(p.enforcementLevel, "advisory")
        fw = {k: getattr(p.framework, k) for k in ("name", "version", "reference",
                                                   "specification") if getattr(p.framework, k)}
        policies[p.name] = PolicyMeta(
            name=p.name, description=p.description, level=level, default_level=level,
            severity=SEVERITIES.get(p.severity, ""), display_name=p.displayName, url=p.url,
            remediation=p.remediation_steps, tags=list(p.tags), framework=fw,
            kind="stack" if p.policy_type == analyzer_pb2.POLICY_TYPE_STACK else "resource",
            config=defaults)

    def apply(source: dict[str, Any]) -> None:
        for key in ["all", *[k for k in source if k != "all"]]:
            if key not in source:
                continue
            value = source[key]
            targets = list(policies.values()) if key == "all" else (
                [policies[key]] if key in policies else [])
            for meta in targets:
                if isinstance(value, str):
                    meta.level = value
                elif isinstance(value, dict):
                    if value.get("enforcementLevel"):
                        meta.level = value["enforcementLevel"]
                    if key != "all":
                        meta.config.update({k: v for k, v in value.items()
                                            if k != "enforcementLevel"})

    initial: dict[str, Any] = {}
    for key, cfg in info.initialConfig.items():
        entry: dict[str, Any] = json_format.MessageToDict(cfg.properties)
        if cfg.enforcementLevel:  # 0 (advisory) is also "not set" on the wire
            entry["enforcementLevel"] = LEVELS.get(cfg.enforcementLevel, "advisory")
        initial[key] = entry
    apply(initial)
    apply(file_config)

    warnings: list[str] = []
    problems = []
    for p in info.policies:
        for req in p.configSchema.required:
            if req not in policies[p.name].config:
                problems.append(f"policy '{p.name}' needs config property '{req}'")
    if problems:
        raise UsageError("invalid policy config: " + "; ".join(problems))
    return policies, warnings


# --- marshalling -------------------------------------------------------------------------------

def _fix_refs(value: struct_pb2.Value) -> None:
    kind = value.WhichOneof("kind")
    if kind == "struct_value":
        fields = value.struct_value.fields
        sig = fields.get(SIG_KEY)
        if sig is not None and sig.string_value == RESOURCE_SIG:
            if "id" in fields:
                ref_id = fields["id"].string_value
                value.string_value = ref_id if ref_id else UNKNOWN
            else:
                value.string_value = fields["urn"].string_value
            return
        for item in fields.values():
            _fix_refs(item)
    elif kind == "list_value":
        for item in value.list_value.values:
            _fix_refs(item)


def engine_properties(props: struct_pb2.Struct | None) -> struct_pb2.Struct:
    """The properties as the engine hands them to an analyzer (see the module docstring)."""
    if props is None:
        return struct_pb2.Struct()
    if _RESOURCE_SIG_BYTES not in props.SerializeToString():
        return props
    fixed = struct_pb2.Struct()
    fixed.CopyFrom(props)
    for item in fixed.fields.values():
        _fix_refs(item)
    return fixed


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)")
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6,
                 "ns": 1e-9}


def go_duration(text: str) -> float:
    """Seconds in a Go duration string (``"5m"``, ``"1h30m"``); 0 when empty or invalid."""
    return sum(float(n) * _UNIT_SECONDS[u] for n, u in _DURATION.findall(text or ""))


# One provider serves many resources: marshal it once (keyed by URN, checked by identity).
_PROVIDER_MESSAGES: dict[str, tuple[Registration, analyzer_pb2.AnalyzerProviderResource]] = {}


@dataclass(eq=False)
class Target:
    """One resource as sent to the analyzer, in one pass (1: the preview, 2: resolved)."""

    reg: Registration
    provider: Registration | None = None
    properties: struct_pb2.Struct | None = None
    phase: int = 1
    _request: bytes | None = field(default=None, init=False, repr=False)

    def fingerprint(self) -> bytes:
        """Everything a resource policy sees of this resource, to tell whether two passes
        sent the same thing: the ``AnalyzeRequest`` as sent, built and serialised once
        (the passes compare it, ``Analyze`` sends it, ``AnalyzeStack`` starts from it)."""
        request = self._request
        if request is None:
            request = self._request = self.analyze_request().SerializeToString(
                deterministic=True)
        return request

    def props(self) -> struct_pb2.Struct:
        if self.properties is None:
            self.properties = engine_properties(self.reg.properties)
        return self.properties

    def options(self) -> analyzer_pb2.AnalyzerResourceOptions:
        reg = self.reg
        # No aliases: the engine passes only aliases of resources that exist in the stack's
        # state, and offline no earlier state exists.
        opts = analyzer_pb2.AnalyzerResourceOptions(
            protect=reg.protect, ignoreChanges=reg.ignore_changes,
            deleteBeforeReplace=reg.delete_before_replace,
            deleteBeforeReplaceDefined=reg.delete_before_replace_defined,
            additionalSecretOutputs=reg.additional_secret_outputs, parent=reg.parent)
        if reg.custom_timeouts:
            t = reg.custom_timeouts
            opts.customTimeouts.create = go_duration(t.get("create", ""))
            opts.customTimeouts.update = go_duration(t.get("update", ""))
            opts.customTimeouts.delete = go_duration(t.get("delete", ""))
        return opts

    def provider_message(self) -> analyzer_pb2.AnalyzerProviderResource | None:
        p = self.provider
        if p is None:
            return None
        cached = _PROVIDER_MESSAGES.get(p.urn)
        if cached is None or cached[0] is not p:
            cached = (p, analyzer_pb2.AnalyzerProviderResource(
                type=p.type, properties=engine_properties(p.properties), urn=p.urn,
                name=p.name))
            _PROVIDER_MESSAGES[p.urn] = cached
        return cached[1]

    def analyze_request(self) -> analyzer_pb2.AnalyzeRequest:
        reg = self.reg
        return analyzer_pb2.AnalyzeRequest(type=reg.type, properties=self.props(), urn=reg.urn,
                                           name=reg.name, options=self.options(),
                                           provider=self.provider_message())

    def stack_resource(self, res: analyzer_pb2.AnalyzerResource) -> None:
        """Fill ``res`` with this resource as ``AnalyzeStack`` sees it: what ``Analyze``
        sees, and its parent and dependencies."""
        reg = self.reg
        if _SAME_LEADING_FIELDS:
            res.MergeFromString(self.fingerprint())  # parsed, not rebuilt field by field
        else:
            res.MergeFrom(analyzer_pb2.AnalyzerResource(
                type=reg.type, properties=self.props(), urn=reg.urn, name=reg.name,
                options=self.options(), provider=self.provider_message()))
        res.parent = reg.parent
        res.dependencies.extend(reg.dependencies)
        for key, urns in reg.property_dependencies.items():
            if urns:  # as the engine: properties without dependencies are left out
                res.propertyDependencies[key].urns.extend(urns)


def _same_fields(request: Any, resource: Any) -> bool:
    """Whether every field of ``request`` is the field of ``resource`` with its number, name
    and type: then a serialised ``request`` is a valid part of a serialised ``resource``."""
    theirs = {f.number: f for f in resource.DESCRIPTOR.fields}
    for ours in request.DESCRIPTOR.fields:
        other = theirs.get(ours.number)
        if other is None or (other.name, other.type, other.label) != \
                (ours.name, ours.type, ours.label) or \
                (ours.message_type is not None and
                 other.message_type is not ours.message_type):
            return False
    return True


_SAME_LEADING_FIELDS = _same_fields(analyzer_pb2.AnalyzeRequest, analyzer_pb2.AnalyzerResource)
"""``AnalyzerResource`` extends ``AnalyzeRequest`` (fields 1-6, the same): a resource's
``Analyze`` request, already serialised, is the start of its ``AnalyzeStack`` entry."""


def stack_request(targets: Iterable[Target]) -> analyzer_pb2.AnalyzeStackRequest:
    """The ``AnalyzeStack`` request for ``targets``, in order."""
    request = analyzer_pb2.AnalyzeStackRequest()
    resources = request.resources
    for target in targets:
        target.stack_resource(resources.add())
    return request


# --- the conversation ---------------------------------------------------------------------------

@dataclass
class StackInfo:
    project: str
    stack: str
    organization: str
    config: dict[str, str]
    secret_keys: list[str]
    tags: dict[str, str]
    root_dir: str
    program_dir: str


@dataclass
class AnalysisResult:
    pack_name: str
    pack_version: str
    policies: dict[str, PolicyMeta]
    responses: list[tuple[Target, analyzer_pb2.AnalyzeResponse]]
    stack_responses: dict[int, analyzer_pb2.AnalyzeResponse]
    """``AnalyzeStack``'s answer per phase."""
    warnings: list[str]
    analyzed: int

    @property
    def stack_response(self) -> analyzer_pb2.AnalyzeResponse:
        return self.stack_responses[1]

    def phase(self, phase: int) -> list[tuple[Target, analyzer_pb2.AnalyzeResponse]]:
        return [(t, r) for t, r in self.responses if t.phase == phase]


_DONE = object()


@dataclass
class _StackCall:
    phase: int
    targets: list[Target]


class AnalyzerSession:
    """Streams resources to the pack from a worker thread while the program runs. Each
    phase (pass) ends with one ``AnalyzeStack`` over that phase's resources
    (:meth:`end_phase`); ``Analyze`` calls of any phase may interleave."""

    def __init__(self, pack: PackProcess, stack: StackInfo, policy_config: dict[str, Any],
                 rpc_timeout: float = 600.0):
        self.pack = pack
        self.stack = stack
        self.policy_config = policy_config
        self.rpc_timeout = rpc_timeout
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._error: BaseException | None = None
        self._responses: list[tuple[Target, Any]] = []
        self._result: AnalysisResult | None = None
        self.analyzed = 0
        """Resources the pack has answered so far (both passes)."""
        self._count_lock = threading.Lock()
        self.configured = threading.Event()
        """Set once the pack has accepted its configuration (or the conversation failed)."""
        self._thread = threading.Thread(target=self._run, name="preflight-analyzer",
                                        daemon=True)
        self._thread.start()

    def submit(self, target: Target) -> None:
        self._queue.put(target)

    def end_phase(self, phase: int, targets: list[Target]) -> None:
        """Every resource of ``phase`` is known: analyse them as a stack."""
        self._queue.put(_StackCall(phase, list(targets)))

    def finish(self, timeout: float, targets: list[Target] | None = None) -> AnalysisResult:
        """Wait for every answer (``targets``: end phase 1 with them first); raise
        :class:`PackError` on failure."""
        if targets is not None:
            self.end_phase(1, targets)
        self._queue.put(_DONE)
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise PackError(f"policy pack did not answer within {timeout:g} s")
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result

    def abort(self) -> None:
        self._queue.put(_DONE)

    def _answered(self, _future: Any) -> None:
        """Count an answer as it arrives (gRPC's thread), for the progress display."""
        with self._count_lock:
            self.analyzed += 1

    @property
    def error(self) -> BaseException | None:
        """Why the conversation failed (the pack refused its config, crashed...), if it did."""
        return self._error

    def _fail(self, what: str, exc: grpc.RpcError) -> PackError:
        died = self.pack.crashed()
        if died is not None:
            return PackError(f"policy pack crashed ({died}) {what}{self.pack.error_tail()}")
        if exc.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
            return PackError(f"policy pack did not answer within {self.rpc_timeout:g} s {what} "
                             "(raise --pack-timeout if it needs longer)")
        details = exc.details() if hasattr(exc, "details") else str(exc)
        return PackError(f"policy pack failed {what}: {details}")

    @staticmethod
    def _unanswered(pending: list[tuple[Target, Any]], first: Target) -> str:
        """Which resources were in flight: requests are pipelined, so any of them, most likely
        the earliest (the pack answers in order)."""
        failed: list[str] = []
        for target, fut in pending:
            try:  # the others fail within moments once the channel is gone
                if fut.exception(timeout=2) is None:
                    continue
            except grpc.FutureTimeoutError:
                pass
            if target.reg.name not in failed:
                failed.append(target.reg.name)
        if len(failed) <= 1:
            return f"while analysing {first.reg.urn}"
        # The pack answers in order, so the first unanswered ones are the likeliest cause.
        shown = ", ".join(failed[:6])
        more = f" and {len(failed) - 6} more" if len(failed) > 6 else ""
        return f"while analysing one of: {shown}{more}"

    def _run(self) -> None:
        try:
            self._converse()
        except PackError as exc:
            self._error = exc
        except grpc.RpcError as exc:
            self._error = self._fail("while starting", exc)
        except UsageError as exc:
            self._error = exc
        except BaseException as exc:
            self._error = PackError(f"talking to the policy pack failed: {exc!r}")
        finally:
            self.configured.set()
            if self._error is not None:  # drain so the producer never blocks
                while True:
                    try:
                        self._queue.get_nowait()
                    except queue.Empty:
                        break

    def _converse(self) -> None:
        port = self.pack.wait_port()
        channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=_CHANNEL_OPTIONS)
        stub = analyzer_pb2_grpc.AnalyzerStub(channel)
        # Analyze with the request already serialised (the bytes the passes compare).
        method = analyzer_pb2.DESCRIPTOR.services_by_name["Analyzer"].methods_by_name["Analyze"]
        analyze = channel.unary_unary(
            f"/{method.containing_service.full_name}/{method.name}",
            response_deserializer=analyzer_pb2.AnalyzeResponse.FromString)
        timeout = self.rpc_timeout
        try:
            # The CLI names the pack directory as both root and program directory.
            stub.Handshake(analyzer_pb2.AnalyzerHandshakeRequest(
                engine_address=self.pack.engine_address,
                root_directory=str(self.pack.location.dir),
                program_directory=str(self.pack.location.dir)),
                timeout=timeout, wait_for_ready=True)
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.UNIMPLEMENTED:
                raise
        info = stub.GetAnalyzerInfo(empty_pb2.Empty(), timeout=timeout, wait_for_ready=True)
        try:
            plugin = stub.GetPluginInfo(empty_pb2.Empty(), timeout=timeout)
            del plugin
        except grpc.RpcError:
            pass
        policies, warnings = reconcile(info, self.policy_config)
        if info.supportsConfig:
            request = analyzer_pb2.ConfigureAnalyzerRequest()
            for name, meta in policies.items():
                entry = request.policyConfig[name]
                entry.enforcementLevel = LEVEL_VALUES[meta.level]
                if meta.config:
                    entry.properties.update(meta.config)
            stub.Configure(request, timeout=timeout)
        st = self.stack
        try:
            stub.ConfigureStack(analyzer_pb2.AnalyzerStackConfigureRequest(
                stack=st.stack, project=st.project, organization=st.organization, dry_run=True,
                config=st.config, config_secret_keys=st.secret_keys, tags=st.tags),
                timeout=timeout)
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.UNIMPLEMENTED:
                raise
        self.configured.set()

        # The program thread holds the GIL most of the time, so each wake-up of this thread
        # sends everything queued since the last one; gRPC's own threads do the I/O and the
        # pack's server queues what it has not reached yet.
        pending: list[tuple[Target, Any]] = []
        stacks: dict[int, Any] = {}
        done = False
        while not done:
            batch = [self._queue.get()]
            while True:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            for item in batch:
                if item is _DONE:
                    done = True
                    break
                if isinstance(item, _StackCall):
                    # As the CLI: the stack is analysed once every resource before it has
                    # been, and nothing else runs in the pack meanwhile.
                    for _, fut in pending:
                        fut.exception()
                    request = stack_request(item.targets)
                    stacks[item.phase] = stub.AnalyzeStack.future(request, timeout=timeout)
                    stacks[item.phase].exception()
                    continue
                fut = analyze.future(item.fingerprint(), timeout=timeout)
                fut.add_done_callback(self._answered)
                pending.append((item, fut))
        for target, fut in pending:
            try:
                self._responses.append((target, fut.result()))
            except grpc.RpcError as exc:
                raise self._fail(self._unanswered(pending, target), exc) from None
        stack_responses = {}
        for phase, fut in stacks.items():
            try:
                stack_responses[phase] = fut.result()
            except grpc.RpcError as exc:
                raise self._fail("while analysing the stack", exc) from None
        channel.close()
        name = info.name
        self._result = AnalysisResult(pack_name=name, pack_version=info.version,
                                      policies=policies, responses=self._responses,
                                      stack_responses=stack_responses, warnings=warnings,
                                      analyzed=len(pending))


ENV_VALUE_MAX = 128 * 1024
"""Linux's MAX_ARG_STRLEN: the longest ``NAME=value`` string (with its NUL) a process gets."""


def pack_env(stack: StackInfo) -> tuple[dict[str, str], list[str]]:
    """What the CLI puts in a policy pack's environment, and a warning per config key that
    cannot be passed there (too large for one environment variable)."""
    config = dict(stack.config)
    left_out: list[str] = []

    def size(values: dict[str, str]) -> int:
        return len(f"PULUMI_CONFIG={json.dumps(values)}".encode()) + 1

    while config and size(config) > ENV_VALUE_MAX:
        largest = max(config, key=lambda k: len(config[k].encode()))
        left_out.append(largest)
        del config[largest]
    env = {"PULUMI_PROJECT": stack.project, "PULUMI_STACK": stack.stack,
           "PULUMI_ORGANIZATION": stack.organization, "PULUMI_DRY_RUN": "true"}
    if config:
        env["PULUMI_CONFIG"] = json.dumps(config)
    warnings = [f"config {key} ({len(stack.config[key].encode()) / 1024:.0f} KiB) does not fit "
                f"in the policy pack's environment (one variable holds at most 128 KiB): the "
                f"pack gets it through ConfigureStack only, so a pack that reads pulumi.Config "
                f"from its environment does not see it" for key in sorted(left_out)]
    return env, warnings


def default_provider(pkg: str, version: str, stack: StackInfo, stack_urn: str) -> Registration:
    """The provider the engine registers for resources that name none: its inputs are the
    package's config namespace (and the plugin version)."""
    from .capture import engine_urn

    name = f"default_{version.replace('.', '_').replace('-', '_')}" if version else "default"
    type_ = f"pulumi:providers:{pkg}"
    props = struct_pb2.Struct()
    prefix = f"{pkg}:"
    secrets = set(stack.secret_keys)
    for key, value in stack.config.items():
        if key.startswith(prefix):
            sub = key[len(prefix):]
            if key in secrets:
                props.fields[sub].struct_value.update(
                    {SIG_KEY: "1b47061264138c4ac30d75fd1eb44270", "value": value})
            else:
                props.fields[sub].string_value = value
    if version:
        props.fields["version"].string_value = version
    return Registration(type=type_, name=name, urn=engine_urn(stack.stack, stack.project, "",
                                                              type_, name),
                        custom=True, parent="", provider="", properties=props)


def provider_urn(ref: str) -> str:
    """``urn::id`` provider reference -> urn."""
    return ref.rsplit("::", 1)[0] if ref else ""


def iter_levels() -> Iterable[str]:
    return LEVEL_VALUES.keys()


__all__ = ["AnalysisResult", "AnalyzerSession", "PackError", "PackLocation", "PackProcess",
           "PolicyMeta", "StackInfo", "Target", "default_provider", "engine_properties",
           "locate_pack", "pack_env", "plugin_pb2", "reconcile"]
