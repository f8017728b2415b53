"""Adapters from the registry to pulumi_policy, and the policy-pack configuration model."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyComplianceFramework,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from .core import (
    LEVELS,
    REGISTRY,
    ConfigError,
    PolicyRecord,
    Resource,
    Stack,
    plain,
)

PACK_NAME = "microservices-platform"
PACK_VERSION = "0.1.0"
"""Kept equal to PulumiPolicy.yaml's version (the CLI reads that one; a test checks both)."""
PACK_DESCRIPTION = ("Guardrails for the microservices platform on AWS: multi-AZ footprints, "
                    "TLS everywhere, scanned images, no static credentials, least privilege.")
PACK_REPOSITORY = "https://github.com/microservices-platform/microservices-platform"
FSBP = "aws-foundational-security-best-practices"


def _config_error(record: PolicyRecord, exc: ConfigError) -> str:
    return f"invalid policy configuration: {'; '.join(exc.problems)}"


def _resource_validation(record: PolicyRecord):
    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        if args.resource_type not in record.types:
            return
        try:
            settings = record.settings(args.get_config())
        except ConfigError as exc:
            report(_config_error(record, exc), None)
            return
        resource = Resource(args.resource_type, args.name, args.urn, plain(args.props),
                            protect=bool(args.opts.protect))
        for message in record.check(resource, settings):
            report(settings.render(resource, message), None)
    return validate


_analysis = threading.local()


@contextmanager
def one_stack_analysis() -> Iterator[None]:
    """Within one AnalyzeStack call every stack policy reads the same resources: build the
    stack model once for all of them instead of once per policy."""
    _analysis.active, _analysis.stack = True, None
    try:
        yield
    finally:
        _analysis.active, _analysis.stack = False, None


def _stack_model(args: StackValidationArgs) -> Stack:
    if getattr(_analysis, "active", False) and _analysis.stack is not None:
        return _analysis.stack
    by_id: dict[int, Resource] = {}
    for pr in args.resources:
        by_id[id(pr)] = Resource(pr.resource_type, pr.name, pr.urn, plain(pr.props),
                                 protect=bool(pr.opts.protect))
    for pr in args.resources:
        res = by_id[id(pr)]
        res.parent = by_id.get(id(pr.parent)) if pr.parent is not None else None
        res.dependencies = [by_id[id(d)] for d in pr.dependencies if id(d) in by_id]
        res.property_dependencies = {
            k: [by_id[id(d)] for d in v if id(d) in by_id]
            for k, v in pr.property_dependencies.items()}
    stack = Stack(by_id.values())
    if getattr(_analysis, "active", False):
        _analysis.stack = stack
    return stack


def _stack_validation(record: PolicyRecord):
    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        try:
            settings = record.settings(args.get_config())
        except ConfigError as exc:
            report(_config_error(record, exc), None)
            return
        stack = _stack_model(args)
        for resource, message in record.check(stack, settings):
            if resource is None:  # about the stack as a whole
                report(message, None)
            else:
                report(settings.render(resource, message), resource.urn)
    return validate


def to_pulumi_policy(record: PolicyRecord) -> Policy:
    common: dict[str, Any] = dict(
        enforcement_level=EnforcementLevel(record.default_level),
        config_schema=PolicyConfigSchema(record.config_schema()),
        severity=Severity(record.severity),
        framework=PolicyComplianceFramework(name=FSBP, version="1.0.0",
                                            reference=", ".join(record.fsbp))
        if record.fsbp else None,
        tags=[t for t in (record.kind, record.guardrail) if t],
        remediation_steps=record.remediation,
        url=record.url,
    )
    if record.kind == "resource":
        return ResourceValidationPolicy(record.name, record.description,
                                        _resource_validation(record), **common)
    return StackValidationPolicy(record.name, record.description, _stack_validation(record),
                                 **common)


def build_policies() -> list[Policy]:
    """Every registered policy as a pulumi_policy Policy, sorted by name."""
    return [to_pulumi_policy(REGISTRY[name]) for name in sorted(REGISTRY)]


def config_problems(policy_config: Mapping[str, Mapping[str, Any] | None]) -> list[str]:
    """Problems in per-policy configuration properties (exceptions and parameters)."""
    problems: list[str] = []
    for name in sorted(policy_config):
        record = REGISTRY.get(name)
        if record is None:
            continue
        try:
            record.settings(policy_config[name])
        except ConfigError as exc:
            problems += exc.problems
    return problems


def reconcile(file_config: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """What the Pulumi CLI sends to Configure for a --policy-pack-config file: every policy's
    default level and schema defaults, then ``all``, then per-policy entries. Raises
    ValueError for values the CLI rejects."""
    result: dict[str, dict[str, Any]] = {}
    for name, record in REGISTRY.items():
        props = {k: p.default for k, p in record.params.items()}
        result[name] = {"enforcementLevel": record.default_level, **props}

    def level_of(key: str, value: Any) -> str | None:
        level = value if isinstance(value, str) else (
            value.get("enforcementLevel") if isinstance(value, dict) else None)
        if not isinstance(value, str | dict):
            raise ValueError(f"{key}: must be a string or object")
        if level is not None and level not in LEVELS:
            raise ValueError(f"{key}: {level!r} is not a valid enforcement level")
        return level

    if "all" in file_config:
        level = level_of("all", file_config["all"])
        if level:
            for entry in result.values():
                entry["enforcementLevel"] = level
    for key, value in file_config.items():
        level = level_of(key, value)
        if key == "all":
            continue
        entry = result.setdefault(key, {})
        if level:
            entry["enforcementLevel"] = level
        if isinstance(value, dict):
            entry.update({k: v for k, v in value.items() if k != "enforcementLevel"})
    return result
