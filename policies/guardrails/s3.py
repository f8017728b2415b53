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
    dig,
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


OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"


@stack_policy(
    "s3-acls-disabled",
    types=(*BUCKETS, OWNERSHIP),
    description="Every bucket disables ACLs (object ownership BucketOwnerEnforced): access is "
                "decided by policies alone, and no object written by another account stays "
                "that account's.",
    severity="medium", fsbp=("S3.12",), refs=("checkov CKV2_AWS_65",),
    remediation="Add aws.s3.BucketOwnershipControls with rule {objectOwnership: "
                "BucketOwnerEnforced}; grant writers through the bucket policy instead of "
                "ACLs.",
)
def acls_disabled(stack: Stack, s: Settings) -> Iterator[tuple[Resource, str]]:
    for bucket in stack.of_type(*BUCKETS):
        controls = _companions(stack, bucket, OWNERSHIP)
        if not controls:
            yield bucket, ("bucket has no ownership controls: ACLs stay enabled (objects "
                           "are owned by whoever wrote them)")
        for control in controls:
            value = control.get("rule.objectOwnership")
            if is_unknown(value):
                yield control, unknown("rule.objectOwnership", "ACLs are disabled")
            elif value != "BucketOwnerEnforced":
                yield control, (f"rule.objectOwnership is {value or 'not set'}; use "
                                "BucketOwnerEnforced so ACLs are disabled")


LIFECYCLE = ("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
             "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2")


def _aborts_uploads(rule: Any) -> bool | None:
    """Whether a lifecycle rule is enabled, applies to every object (no prefix, tag or size
    filter) and aborts incomplete multipart uploads; None if a value it needs is unknown."""
    if not isinstance(rule, dict):
        return False
    flt = rule.get("filter")
    parts = [rule.get("status"), rule.get("prefix"), flt,
             dig(rule, "abortIncompleteMultipartUpload.daysAfterInitiation")]
    if isinstance(flt, dict):
        parts += [flt.get(k) for k in ("prefix", "tag", "and", "objectSizeGreaterThan",
                                       "objectSizeLessThan")]
    if any(is_unknown(p) for p in parts):
        return None
    filtered = isinstance(flt, dict) and any(parts[4:])
    return (rule.get("status") == "Enabled" and not rule.get("prefix") and not filtered
            and parts[3] is not None)


@stack_policy(
    "s3-lifecycle-aborts-incomplete-uploads",
    types=(*BUCKETS, *LIFECYCLE),
    description="Every bucket has a lifecycle configuration whose enabled rule for the whole "
                "bucket aborts incomplete multipart uploads: their parts are listed nowhere "
                "and billed until removed.",
    severity="low", refs=("checkov CKV_AWS_300", "checkov CKV2_AWS_61",
                          "Security Hub S3.13 (NIST 800-53)"),
    remediation="Add aws.s3.BucketLifecycleConfiguration with an Enabled rule, filter "
                "{prefix: ''}, abortIncompleteMultipartUpload {daysAfterInitiation: 7} (and "
                "the bucket's expiration rules).",
)
def lifecycle_aborts_uploads(stack: Stack, s: Settings) -> Iterator[tuple[Resource, str]]:
    for bucket in stack.of_type(*BUCKETS):
        configs = _companions(stack, bucket, LIFECYCLE)
        if not configs:
            yield bucket, ("bucket has no lifecycle configuration: incomplete multipart "
                           "uploads are kept (and billed) forever")
        for config in configs:
            rules = config.get("rules")
            verdicts = [None] if is_unknown(rules) else [
                _aborts_uploads(r) for r in as_list(rules)]
            if True in verdicts:
                continue
            if None in verdicts:
                yield config, unknown("rules", "incomplete uploads are aborted")
            else:
                yield config, ("no Enabled rule for the whole bucket sets "
                               "abortIncompleteMultipartUpload.daysAfterInitiation")


OBJECTS = ("aws:s3/bucketObjectv2:BucketObjectv2", "aws:s3/bucketObject:BucketObject")
PUBLIC_ACLS = ("public-read", "public-read-write", "authenticated-read")


@resource_policy(
    "s3-object-not-public",
    types=OBJECTS,
    description="Objects are not made public by their ACL (public-read, public-read-write, "
                "authenticated-read).",
    severity="critical", refs=("checkov CKV_AWS_20",),
    remediation="Leave acl unset (private; with ACLs disabled S3 refuses any other); serve "
                "public content through CloudFront with origin access control.",
)
def object_not_public(r: Resource, s: Settings) -> Iterator[str]:
    acl = r.get("acl")
    if is_unknown(acl):
        yield unknown("acl", "the object is not public")
    elif acl in PUBLIC_ACLS:
        who = "any AWS account" if acl == "authenticated-read" else "anyone"
        yield f"acl is {acl}: {who} may read the object"
