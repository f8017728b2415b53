"""ECR: every image is scanned on push and a scanned tag can never be replaced."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator

from .core import (
    Resource,
    Settings,
    Stack,
    as_list,
    is_unknown,
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
