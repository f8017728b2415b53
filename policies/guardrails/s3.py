"""S3: public access block, default encryption, versioning, TLS-only bucket policies and
server access logging.

A bucket's controls are separate resources (aws:s3/bucketPublicAccessBlock, ...ServerSide
EncryptionConfiguration, ...Versioning, ...BucketPolicy) whose ``bucket`` property depends
on the bucket, so these are stack rules over those property dependencies.
"""

from __future__ import annotations

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

BUCKET = "aws:s3/bucket:Bucket"
BUCKETS = (BUCKET, "aws:s3/bucketV2:BucketV2")
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
ENCRYPTION = ("aws:s3/bucketServerSideEncryptionConfiguration:"
              "BucketServerSideEncryptionConfiguration",
              "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2")
VERSIONING = ("aws:s3/bucketVersioning:BucketVersioning",
              "aws:s3/bucketVersioningV2:BucketVersioningV2")
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
WEBSITES = ("aws:s3/bucketWebsiteConfiguration:BucketWebsiteConfiguration",
            "aws:s3/bucketWebsiteConfigurationV2:BucketWebsiteConfigurationV2")


def denies_insecure_transport(doc: Any, actions: tuple[str, ...]) -> bool:
    """Whether a policy document has a Deny on aws:SecureTransport = false for everyone
    (a statement with unknown parts does not count)."""
    try:
        return _denies_insecure_transport(doc, actions)
    except TypeError:
        return False


def _denies_insecure_transport(doc: Any, actions: tuple[str, ...]) -> bool:
    if not isinstance(doc, dict):
        return False
    for st in as_list(doc.get("Statement")):
        if not isinstance(st, dict) or st.get("Effect") != "Deny":
            continue
        principal = st.get("Principal")
        if not (principal == "*" or (isinstance(principal, dict)
                                     and "*" in as_list(principal.get("AWS")))):
            continue
        if not any(isinstance(a, str) and a.lower() in actions for a in as_list(st.get("Action"))):
            continue
        cond = st.get("Condition") or {}
        values = as_list((cond.get("Bool") or {}).get("aws:SecureTransport")) \
            if isinstance(cond, dict) else []
        if any(str(v).lower() == "false" for v in values):
            return True
    return False


def _companions(stack: Stack, bucket: Resource, types: tuple[str, ...] | str) -> list[Resource]:
    types = (types,) if isinstance(types, str) else types
    return stack.referencing(bucket, types, "bucket")


@stack_policy(
    "s3-public-access-block",
    types=(*BUCKETS, PUBLIC_ACCESS_BLOCK),
    description="Every bucket blocks public ACLs and policies (all four settings).",
    severity="critical", fsbp=("S3.8",), refs=("checkov CKV_AWS_53", "checkov CKV2_AWS_6"),
    remediation="Add aws.s3.BucketPublicAccessBlock with blockPublicAcls, blockPublicPolicy, "
                "ignorePublicAcls and restrictPublicBuckets all true.",
)
def public_access_block(stack: Stack, s: Settings) -> Iterator[tuple[Resource, str]]:
    keys = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    for bucket in stack.of_type(*BUCKETS):
        blocks = _companions(stack, bucket, PUBLIC_ACCESS_BLOCK)
        if not blocks:
            yield bucket, "bucket has no public access block"
        for block in blocks:
            for key in keys:
                value = block.get(key)
                if is_unknown(value):
                    yield block, unknown(key, "public access is blocked")
                elif value is not True:
                    yield block, f"{key} is not true"


@stack_policy(
    "s3-encryption",
    types=(*BUCKETS, *ENCRYPTION),
    description="Every bucket has default encryption (SSE-KMS, or SSE-S3 where the writer "
                "cannot use KMS, e.g. load balancer access logs).",
    severity="high", fsbp=("S3.4", "S3.17"), refs=("checkov CKV_AWS_145",),
    remediation="Add aws.s3.BucketServerSideEncryptionConfiguration with sseAlgorithm aws:kms "
                "and the platform's key (AES256 only for ALB log buckets).",
)
def encryption(stack: Stack, s: Settings) -> Iterator[tuple[Resource, str]]:
    for bucket in stack.of_type(*BUCKETS):
        configs = _companions(stack, bucket, ENCRYPTION)
        if not configs:
            yield bucket, "bucket has no default encryption configuration"
        for config in configs:
            rules = config.get("rules")
            if is_unknown(rules):
                yield config, unknown("rules", "objects are encrypted")
                continue
            algorithms = [r.get("applyServerSideEncryptionByDefault", {}).get("sseAlgorithm")
                          for r in as_list(rules) if isinstance(r, dict)]
            if not any(a in ("aws:kms", "aws:kms:dsse", "AES256") for a in algorithms):
                yield config, "no rule sets sseAlgorithm aws:kms or AES256"


@stack_policy(
    "s3-versioning",
    types=(*BUCKETS, *VERSIONING),
    description="Every bucket keeps object versions.",
    severity="medium", fsbp=("S3.14",),
    refs=("cdk-nag S3BucketVersioningEnabled", "checkov CKV_AWS_21"),
    remediation="Add aws.s3.BucketVersioning with versioningConfiguration {status: Enabled}.",
)
def versioning(stack: Stack, s: Settings) -> Iterator[tuple[Resource, str]]:
    for bucket in stack.of_type(*BUCKETS):
        configs = _companions(stack, bucket, VERSIONING)
        if not configs:
            yield bucket, "bucket has no versioning configuration"
        for config in configs:
            status = config.get("versioningConfiguration.status")
            if is_unknown(status):
                yield config, unknown("versioningConfiguration.status", "versions are kept")
            elif status != "Enabled":
                yield config, (f"versioningConfiguration.status is {status or 'not set'}; "
                               "use Enabled")


@stack_policy(
    "s3-tls-only",
    types=(*BUCKETS, BUCKET_POLICY),
    description="Every bucket policy denies requests that do not use TLS "
                "(aws:SecureTransport false).",
    severity="high", guardrail="tls", fsbp=("S3.5",),
    refs=("cdk-nag AS-S10", "checkov CKV_AWS_379"),
    remediation="Add a bucket policy statement: Effect Deny, Principal '*', Action 's3:*', "
                "Resource [bucket ARN, bucket ARN/*], Condition Bool aws:SecureTransport false.",
)
def tls_only(stack: Stack, s: Settings) -> Iterator[tuple[Resource, str]]:
    for bucket in stack.of_type(*BUCKETS):
        policies = _companions(stack, bucket, BUCKET_POLICY)
        if not policies:
            yield bucket, "bucket has no bucket policy denying non-TLS requests"
        for policy in policies:
            try:
                doc = load_json(policy.get("policy"))
            except ValueError as exc:
                yield policy, f"policy {exc}"
                continue
            if is_unknown(doc):
                yield policy, unknown("policy", "non-TLS requests are denied")
            elif not denies_insecure_transport(doc, ("s3:*", "*")):
                yield policy, "policy does not deny requests with aws:SecureTransport false"


@resource_policy(
    "s3-website-hosting",
    types=WEBSITES,
    description="Buckets do not serve static websites: a website endpoint speaks plain HTTP "
                "and needs a public bucket.",
    severity="high", guardrail="tls", refs=("AWS Well-Architected SEC09-BP02",),
    remediation="Serve the content through CloudFront (HTTPS viewers, origin access control "
                "to a private bucket) instead of the bucket's website endpoint; only a "
                "redirect of every request to an https:// host may stay.",
)
def website_hosting(r: Resource, s: Settings) -> Iterator[str]:
    if r.get("redirectAllRequestsTo.protocol") == "https":
        return
    yield "the bucket serves a website endpoint, which is plain HTTP only"


LOGGING = ("aws:s3/bucketLogging:BucketLogging", "aws:s3/bucketLoggingV2:BucketLoggingV2")


@stack_policy(
    "s3-access-logging",
    types=(*BUCKETS, *LOGGING),
    description="Every bucket sends its server access logs to another bucket (the log bucket "
                "itself is the one reasoned exception: it cannot log into itself).",
    severity="medium", fsbp=("S3.9",), refs=("cdk-nag AS-S1", "checkov CKV_AWS_18"),
    remediation="Add aws.s3.BucketLogging with targetBucket the platform's log bucket (SSE-S3, "
                "its policy admitting logging.s3.amazonaws.com) and targetPrefix "
                "s3/<bucket>/; record an exception with its reason for the log bucket.",
)
def access_logging(stack: Stack, s: Settings) -> Iterator[tuple[Resource, str]]:
    for bucket in stack.of_type(*BUCKETS):
        configs = _companions(stack, bucket, LOGGING)
        inline = bucket.get("loggings")  # the deprecated inline form
        if not configs and is_unknown(inline):
            yield bucket, unknown("loggings", "the bucket logs its access")
        elif not configs and not inline:
            yield bucket, "bucket does not log its access (no aws.s3.BucketLogging)"
        for config in configs:
            target = config.get("targetBucket")
            targets = config.deps("targetBucket", BUCKETS)
            if bucket in targets or (isinstance(target, str) and target == bucket.get("bucket")):
                yield config, "bucket logs its access into itself; use the log bucket"
            elif target is None:
                yield config, "targetBucket is not set"
            elif is_unknown(target) and not targets:
                yield config, unknown("targetBucket", "access logs reach a log bucket")
