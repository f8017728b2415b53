"""ECR: every image is scanned on push and a scanned tag can never be replaced."""

from __future__ import annotations

from collections.abc import Iterator

from .core import Resource, Settings, is_unknown, resource_policy, unknown

REPOSITORY = "aws:ecr/repository:Repository"


@resource_policy(
    "ecr-scan-on-push",
    types=(REPOSITORY,),
    description="ECR repositories scan every image on push.",
    severity="high", guardrail="image-scanning", fsbp=("ECR.1",), refs=("checkov CKV_AWS_163",),
    remediation="Set imageScanningConfiguration {scanOnPush: true}.",
)
def ecr_scan(r: Resource, s: Settings) -> Iterator[str]:
    value = r.get("imageScanningConfiguration.scanOnPush")
    if is_unknown(value):
        yield unknown("imageScanningConfiguration.scanOnPush", "images are scanned on push")
    elif value is not True:
        yield "imageScanningConfiguration.scanOnPush is not true"


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
