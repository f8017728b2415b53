"""ECR: every image is scanned on push, a scanned tag can never be replaced and old images
expire."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from typing import Any

from .core import (
    Resource,
    Settings,
    Stack,
    as_list,
    is_unknown,
    load_json,
    resource_policy,
    stack_policy,
    unknown,
)

REPOSITORY = "aws:ecr/repository:Repository"
REGISTRY_SCANNING = "aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration"
SCANNING_FREQUENCIES = ("SCAN_ON_PUSH", "CONTINUOUS_SCAN")


def _registry_scans(config: Resource, repository: Resource) -> bool:
    """Whether a registry scanning configuration scans ``repository``'s pushes (enhanced
    scanning replaces the repository's own setting; basic rules add to it)."""
    name = repository.get("name")
    for rule in as_list(config.get("rules")):
        if not isinstance(rule, dict) or rule.get("scanFrequency") not in SCANNING_FREQUENCIES:
            continue
        for item in as_list(rule.get("repositoryFilters")):
            pattern = item.get("filter") if isinstance(item, dict) else None
            if pattern == "*" or (isinstance(pattern, str) and isinstance(name, str)
                                  and fnmatch.fnmatchcase(name, pattern)):
                return True
    return False


@stack_policy(
    "ecr-scan-on-push",
    types=(REPOSITORY, REGISTRY_SCANNING),
    description="ECR repositories scan every image on push, by their own setting or by the "
                "registry's (enhanced or basic) scanning rules.",
    severity="high", guardrail="image-scanning", fsbp=("ECR.1",), refs=("checkov CKV_AWS_163",),
    remediation="Set imageScanningConfiguration {scanOnPush: true}, or add an "
                "aws.ecr.RegistryScanningConfiguration whose rules scan the repository on push "
                "or continuously.",
)
def ecr_scan(stack: Stack, s: Settings) -> Iterator[tuple[Resource, str]]:
    registry = stack.of_type(REGISTRY_SCANNING)
    for repository in stack.of_type(REPOSITORY):
        if any(_registry_scans(config, repository) for config in registry):
            continue
        value = repository.get("imageScanningConfiguration.scanOnPush")
        if is_unknown(value):
            yield repository, unknown("imageScanningConfiguration.scanOnPush",
                                      "images are scanned on push")
        elif value is not True:
            yield repository, ("imageScanningConfiguration.scanOnPush is not true and no "
                               "registry scanning rule covers the repository")


@resource_policy(
    "ecr-immutable-tags",
    types=(REPOSITORY,),
    description="ECR repositories have immutable image tags, so a scanned tag cannot be "
                "replaced.",
    severity="high", guardrail="image-scanning", fsbp=("ECR.2",), refs=("checkov CKV_AWS_51",),
    remediation="Set imageTagMutability: IMMUTABLE.",
)
def ecr_immutable(r: Resource, s: Settings) -> Iterator[str]:
    value = r.get("imageTagMutability", "MUTABLE")
    if is_unknown(value):
        yield unknown("imageTagMutability", "image tags are immutable")
    elif value != "IMMUTABLE":
        yield f"imageTagMutability is {value}; use IMMUTABLE"


LIFECYCLE_POLICY = "aws:ecr/lifecyclePolicy:LifecyclePolicy"


def _expiring_rules(policy: Resource) -> Any:
    """The rules of a lifecycle policy that expire images; UNKNOWN; or a str problem."""
    try:
        doc = load_json(policy.get("policy"))
    except ValueError as exc:
        return f"policy {exc}"
    if is_unknown(doc):
        return doc
    rules = doc.get("rules") if isinstance(doc, dict) else None
    if is_unknown(rules):
        return rules
    return [r for r in as_list(rules) if isinstance(r, dict)
            and isinstance(r.get("action"), dict) and r["action"].get("type") == "expire"]


@stack_policy(
    "ecr-lifecycle-policy",
    types=(REPOSITORY, LIFECYCLE_POLICY),
    description="ECR repositories have a lifecycle policy that expires images (untagged and "
                "superseded ones), so old images with known vulnerabilities do not stay "
                "pullable forever.",
    severity="medium", fsbp=("ECR.3",), refs=("Control Tower CT.ECR.PR.1",),
    remediation="Add aws.ecr.LifecyclePolicy for the repository with rules that expire "
                "untagged images after a few days and keep only the newest N tagged ones.",
)
def ecr_lifecycle(stack: Stack, s: Settings) -> Iterator[tuple[Resource, str]]:
    for repository in stack.of_type(REPOSITORY):
        policies = stack.referencing(repository, (LIFECYCLE_POLICY,), "repository")
        if not policies:
            yield repository, "repository has no lifecycle policy: images are kept forever"
        for policy in policies:
            rules = _expiring_rules(policy)
            if is_unknown(rules):
                yield policy, unknown("policy", "old images expire")
            elif isinstance(rules, str):
                yield policy, rules
            elif not rules:
                yield policy, "policy has no rule whose action is expire"
