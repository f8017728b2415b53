"""The pack's gRPC analyzer: the Analyzer service the Pulumi CLI talks to, over the public
protocol types (``pulumi.runtime.proto``) and the public pulumi_policy policy model.

It serves the same conversation as pulumi_policy's ``PolicyPack`` (the CLI cannot tell them
apart: same port handshake on stdout, same diagnostics), plus what the pack needs:

- ``Configure`` rejects invalid exceptions and parameters with INVALID_ARGUMENT, so a bad
  policy config stops the preview with a clear message instead of being ignored.
- It records every enabled policy's exceptions, which the exception audits
  (:mod:`.exceptions`) check against the whole stack.
- Findings covered by a valid exception (message starting ``[exempted] ``) are reported at
  the advisory level whatever the policy's enforcement level: visible, never blocking.
- Each resource is decoded once and given only to the policies written for its type, and
  each stack once for all stack policies (decoding per policy cost most of a preview).
- Values unknown at preview reach the rules as ``UNKNOWN`` (they fail closed) instead of
  aborting the policy. In a preview (``ConfigureStack``'s ``dry_run``) a finding that a value
  is unknown (``core.unknown``) is reported as pulumi-policy reports a policy that read an
  unknown value: advisory "can't run policy ... during preview". A value unknown at preview
  is not a violation yet; in an update every input is known, and the finding keeps its level.
- ``ConfigureStack``'s config (the stack's, which the CLI also sends) is set as runtime
  config, so ``pulumi.Config`` works in rules even when the environment could not carry it.
- Each ``Analyze`` answer names every policy not written for the resource's type as not
  applicable, so a caller can tell which types the pack covers.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Mapping
from concurrent import futures
from types import MappingProxyType
from typing import Any

import grpc
import pulumi.runtime
from google.protobuf import empty_pb2, json_format
from pulumi.runtime import proto
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from .core import EXEMPTED_PREFIX, REGISTRY, UNKNOWN_FINDING, set_configured_exceptions
from .pack import config_problems, one_stack_analysis

_LEVELS = {EnforcementLevel.ADVISORY: proto.ADVISORY, EnforcementLevel.MANDATORY: proto.MANDATORY,
           EnforcementLevel.REMEDIATE: proto.REMEDIATE,
           EnforcementLevel.DISABLED: proto.DISABLED}
_FROM_PROTO = {v: k for k, v in _LEVELS.items()}
_SEVERITIES = {Severity.LOW: proto.POLICY_SEVERITY_LOW,
               Severity.MEDIUM: proto.POLICY_SEVERITY_MEDIUM,
               Severity.HIGH: proto.POLICY_SEVERITY_HIGH,
               Severity.CRITICAL: proto.POLICY_SEVERITY_CRITICAL}
_MAX_MESSAGE = 1024 * 1024 * 400
"""The CLI sends whole stacks in one message; pulumi_policy allows 400 MiB as well."""


def _options(request: Any) -> PolicyResourceOptions:
    opts = request.options
    timeouts = opts.customTimeouts
    return PolicyResourceOptions(
        opts.protect, list(opts.ignoreChanges),
        opts.deleteBeforeReplace if opts.deleteBeforeReplaceDefined else None,
        list(opts.aliases),
        PolicyCustomTimeouts(timeouts.create, timeouts.update, timeouts.delete),
        list(opts.additionalSecretOutputs), opts.parent or None)


def _properties(struct: Any) -> dict[str, Any]:
    """The engine's properties as JSON values (unknowns and secrets as the engine marks
    them; the rules' :func:`.core.plain` reads those marks)."""
    return json_format.MessageToDict(struct)


class GuardrailAnalyzer(proto.AnalyzerServicer):
    """Serves ``policies`` (pulumi_policy policies built from the registry) over gRPC."""

    def __init__(self, name: str, version: str, policies: list[Policy],
                 enforcement_level: EnforcementLevel = EnforcementLevel.MANDATORY, *,
                 description: str | None = None, provider: str | None = None,
                 repository: str | None = None) -> None:
        self.name, self.version = name, version
        self.policies = list(policies)
        self.default_level = enforcement_level
        self.description, self.provider, self.repository = description, provider, repository
        self._config: dict[str, dict[str, Any]] = {}
        self._levels: dict[str, EnforcementLevel] = {}
        self._stack_tags: Mapping[str, str] = MappingProxyType({})
        self._by_type: dict[str, list[ResourceValidationPolicy]] = {}
        self._any_type: list[ResourceValidationPolicy] = []  # policies of no registry record
        self._stack_policies = [p for p in self.policies if isinstance(p, StackValidationPolicy)]
        for policy in self.policies:
            record = REGISTRY.get(policy.name)
            if not isinstance(policy, ResourceValidationPolicy):
                continue
            if record is None:
                self._any_type.append(policy)
            for type_ in (record.types if record is not None else ()):
                self._by_type.setdefault(type_, []).append(policy)
        self._lock = threading.Lock()  # one AnalyzeStack at a time shares the stack model
        self._reads: dict[str, set[str]] = {}
        for record in REGISTRY.values():
            for type_ in record.types:
                self._reads.setdefault(type_, set()).add(record.name)
        self._not_applicable: dict[str, list[Any]] = {}
        # Until ConfigureStack says otherwise: the CLI's environment; unset is not a preview
        # (unknown findings then keep their level: fail closed).
        self._dry_run = os.environ.get("PULUMI_DRY_RUN") == "true"

    def _others(self, type_: str) -> list[Any]:
        """Not-applicable answers for every registered policy that does not read ``type_``."""
        cached = self._not_applicable.get(type_)
        if cached is None:
            reads = self._reads.get(type_, set())
            cached = [proto.PolicyNotApplicable(policy_name=p.name,
                                                reason="checks other resource types")
                      for p in self.policies if p.name in REGISTRY and p.name not in reads]
            self._not_applicable[type_] = cached
        return cached

    # --- metadata and configuration --------------------------------------------------------

    def GetPluginInfo(self, request: Any, context: Any) -> Any:
        return proto.PluginInfo(version=self.version)

    def GetAnalyzerInfo(self, request: Any, context: Any) -> Any:
        info = proto.AnalyzerInfo(name=self.name, version=self.version, supportsConfig=True)
        for attr, value in (("description", self.description), ("provider", self.provider),
                            ("repository", self.repository)):
            if value is not None:
                setattr(info, attr, value)
        for policy in self.policies:
            item = proto.PolicyInfo(
                name=policy.name, description=policy.description,
                enforcementLevel=_LEVELS[policy.enforcement_level or self.default_level],
                policy_type=(proto.PolicyType.POLICY_TYPE_STACK
                             if isinstance(policy, StackValidationPolicy)
                             else proto.PolicyType.POLICY_TYPE_RESOURCE))
            if policy.display_name:
                item.displayName = policy.display_name
            if policy.config_schema is not None:
                item.configSchema.properties.update(policy.config_schema.properties)
                item.configSchema.required.extend(policy.config_schema.required or [])
            if policy.severity is not None:
                item.severity = _SEVERITIES[policy.severity]
            framework = policy.framework
            if framework is not None:
                for attr in ("name", "version", "reference", "specification"):
                    if getattr(framework, attr, None) is not None:
                        setattr(item.framework, attr, getattr(framework, attr))
            item.tags.extend(policy.tags or [])
            if policy.remediation_steps is not None:
                item.remediation_steps = policy.remediation_steps
            if policy.url is not None:
                item.url = policy.url
            info.policies.append(item)
        return info

    def Configure(self, request: Any, context: Any) -> Any:
        config = {name: json_format.MessageToDict(value.properties)
                  for name, value in request.policyConfig.items()}
        problems = config_problems(config)
        if problems:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                          "invalid policy pack configuration:\n" + "\n".join(problems))
        set_configured_exceptions({
            name: REGISTRY[name].settings(props).exceptions for name, props in config.items()
            if name in REGISTRY
            and request.policyConfig[name].enforcementLevel != proto.DISABLED})
        self._config = config
        self._levels = {name: _FROM_PROTO[value.enforcementLevel]
                        for name, value in request.policyConfig.items()}
        return empty_pb2.Empty()

    def ConfigureStack(self, request: Any, context: Any) -> Any:
        self._stack_tags = MappingProxyType(dict(request.tags))
        self._dry_run = bool(request.dry_run)
        for key, value in request.config.items():
            pulumi.runtime.set_config(key, value)
        return proto.AnalyzerStackConfigureResponse()

    def Cancel(self, request: Any, context: Any) -> Any:
        return empty_pb2.Empty()

    def Remediate(self, request: Any, context: Any) -> Any:
        return proto.RemediateResponse()  # the pack validates; it rewrites nothing

    # --- analysis --------------------------------------------------------------------------

    def _level(self, policy: Policy) -> EnforcementLevel:
        level = self._levels.get(policy.name) or policy.enforcement_level or self.default_level
        return EnforcementLevel.MANDATORY if level == EnforcementLevel.REMEDIATE else level

    def _reporter(self, response: Any, policy: Policy, level: EnforcementLevel) -> Any:
        def report(message: str, urn: str | None = None) -> None:
            text = f"{policy.description}\n{message}" if message else policy.description
            exempted = message.startswith(EXEMPTED_PREFIX)
            unknown = not exempted and self._dry_run and bool(UNKNOWN_FINDING.match(message))
            if unknown:
                text = (f"can't run policy '{policy.name}' from policy pack "
                        f"'{self.name}@v{self.version}' during preview: {message}")
            response.diagnostics.append(proto.AnalyzeDiagnostic(
                policyName=policy.name, policyPackName=self.name,
                policyPackVersion=self.version, message=text, urn=urn or "",
                description=policy.description,
                enforcementLevel=proto.ADVISORY if exempted or unknown else _LEVELS[level],
                severity=_SEVERITIES.get(policy.severity,  # type: ignore[arg-type]
                                         proto.POLICY_SEVERITY_UNSPECIFIED)))
        return report

    def Analyze(self, request: Any, context: Any) -> Any:
        response = proto.AnalyzeResponse()
        response.not_applicable.extend(self._others(request.type))
        policies = [p for p in (*self._by_type.get(request.type, ()), *self._any_type)
                    if self._level(p) != EnforcementLevel.DISABLED]
        if not policies:
            return response
        props, opts = _properties(request.properties), _options(request)
        for policy in policies:
            args = ResourceValidationArgs(request.type, props, request.urn, request.name, opts,
                                          None, self._config.get(policy.name),
                                          self._stack_tags)
            policy.validate(args, self._reporter(response, policy, self._level(policy)))
        return response

    def AnalyzeStack(self, request: Any, context: Any) -> Any:
        response = proto.AnalyzeResponse()
        policies = [p for p in self._stack_policies
                    if self._level(p) != EnforcementLevel.DISABLED]
        if not policies:
            return response
        by_urn = {r.urn: PolicyResource(r.type, _properties(r.properties), r.urn, r.name,
                                        _options(r), None, None, [], {})
                  for r in request.resources}
        for r in request.resources:
            resource = by_urn[r.urn]
            resource.parent = by_urn.get(r.parent)
            resource.dependencies = [by_urn[u] for u in r.dependencies if u in by_urn]
            resource.property_dependencies = {
                prop: [by_urn[u] for u in deps.urns if u in by_urn]
                for prop, deps in r.propertyDependencies.items()}
        resources = list(by_urn.values())
        with self._lock, one_stack_analysis():
            for policy in policies:
                args = StackValidationArgs(resources, self._config.get(policy.name),
                                           self._stack_tags)
                policy.validate(args, self._reporter(response, policy, self._level(policy)))
        return response


def serve(analyzer: GuardrailAnalyzer) -> None:
    """Serve ``analyzer`` as the CLI expects of a policy pack: on a loopback port printed on
    stdout, until the CLI stops the process."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4),
                         options=[("grpc.max_receive_message_length", _MAX_MESSAGE),
                                  ("grpc.max_send_message_length", _MAX_MESSAGE)])
    proto.add_AnalyzerServicer_to_server(analyzer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    sys.stdout.write(f"{port}\n")
    sys.stdout.flush()
    try:
        server.wait_for_termination()
    except KeyboardInterrupt:
        server.stop(0)
