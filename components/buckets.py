"""Buckets: the one way the platform makes an S3 bucket, and the platform's log bucket.

Every bucket is private (all four public-access blocks, owner-enforced object ownership, so
no ACLs), versioned, encrypted by default (the platform key, or SSE-S3 where the writer
cannot use KMS), cleaned up by a lifecycle rule, TLS-only by its policy, and sends its S3
server access logs to the platform's log bucket under ``s3/<bucket name>/``.

:class:`LogBucket` is that log bucket. It cannot log its own access: S3 would write a log
object for every log object it writes, without end, and sending its logs to yet another
bucket only moves the question one bucket further. That is the one bucket without access
logging; :data:`LOG_BUCKET_EXCEPTION` carries the reason the stacks' policy configurations
record for the ``s3-access-logging`` policy. It uses SSE-S3 because S3 server access logging
(like load balancer access logging) delivers only to buckets encrypted with S3-managed keys.
"""

from collections.abc import Callable
from typing import Any, NotRequired

import pulumi
import pulumi_aws as aws
from typing_extensions import TypedDict

from .base import Statement, child_opts, merge_tags, policy_document, type_token
from .encryption import aws_context, check_log_retention
from .validation import raise_for

ACCESS_LOG_PREFIX = "s3"
"""Key prefix of S3 server access logs in the log bucket: ``s3/<source bucket>/``."""
S3_LOG_DELIVERY_PRINCIPAL = "logging.s3.amazonaws.com"
DEFAULT_LOG_RETENTION_DAYS = 365
NONCURRENT_DAYS = 30
"""Superseded object versions are kept this long, then expire."""

LOG_BUCKET_EXCEPTION: dict[str, str] = {
    "policy": "s3-access-logging",
    "resource": "*-logs-bucket",
    "reason": "The platform's log bucket receives every other bucket's access logs; logging "
              "its own access into itself would write a log object per log object without "
              "end, and logging it to another bucket only moves the question one bucket "
              "further. Access to it is limited by its policy and recorded by CloudTrail.",
}
"""Policy exception for each Platform's log bucket (``<platform name>-logs-bucket``): a name
pattern without the stack's name, so a copied policy configuration fits a new stack."""


def tls_only_statement(bucket_arn: str) -> Statement:
    """Deny every request to the bucket and its objects that does not use TLS."""
    return {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*",
            "Action": "s3:*", "Resource": [bucket_arn, f"{bucket_arn}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}


def private_bucket(parent: pulumi.Resource, child: Callable[[str], str],
                   bucket_name: pulumi.Input[str], *, policy: pulumi.Input[str],
                   kms_key_arn: pulumi.Input[str] | None = None,
                   expire_days: int | None = None, rule_id: str,
                   log_bucket: pulumi.Input[str] | None = None, protect: bool = False,
                   tags: pulumi.Input[dict[str, str]] | None = None
                   ) -> tuple[aws.s3.Bucket, aws.s3.BucketPolicy]:
    """A private, versioned, default-encrypted bucket with its policy and lifecycle.

    ``child(kind)`` names each child (``bucket``, ``public-access``, ``ownership``, ``sse``,
    ``versioning``, ``lifecycle``, ``policy``, ``access-logging``), so a component keeps its
    existing URNs. ``kms_key_arn`` None means SSE-S3 (log destinations need it). Objects
    expire after ``expire_days`` when given; superseded versions after 30 days either way.
    With ``log_bucket``, the bucket's access logs go there under ``s3/<bucket name>/``."""
    bucket = aws.s3.Bucket(child("bucket"), aws.s3.BucketArgs(
        bucket=bucket_name, force_destroy=False,
        tags=pulumi.Output.all(pulumi.Output.from_input(tags or {}), bucket_name).apply(
            lambda tn: merge_tags(tn[0], {"Name": tn[1]}))),
        opts=child_opts(parent, protect=protect))
    public_block = aws.s3.BucketPublicAccessBlock(
        child("public-access"), aws.s3.BucketPublicAccessBlockArgs(
            bucket=bucket.id, block_public_acls=True, block_public_policy=True,
            ignore_public_acls=True, restrict_public_buckets=True), opts=child_opts(parent))
    aws.s3.BucketOwnershipControls(child("ownership"), aws.s3.BucketOwnershipControlsArgs(
        bucket=bucket.id, rule=aws.s3.BucketOwnershipControlsRuleArgs(
            object_ownership="BucketOwnerEnforced")), opts=child_opts(parent))
    # Keyword arguments for these three: aws.s3's *Args names of the same name are the
    # inline blocks of the (deprecated) Bucket properties, not these resources' arguments.
    sse = aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs
    aws.s3.BucketServerSideEncryptionConfiguration(
        child("sse"), bucket=bucket.id,
        rules=[aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
            apply_server_side_encryption_by_default=(
                sse(sse_algorithm="aws:kms", kms_master_key_id=kms_key_arn)
                if kms_key_arn is not None else sse(sse_algorithm="AES256")),
            bucket_key_enabled=True if kms_key_arn is not None else None)],
        opts=child_opts(parent))
    aws.s3.BucketVersioning(
        child("versioning"), bucket=bucket.id,
        versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(
            status="Enabled"),
        opts=child_opts(parent))
    aws.s3.BucketLifecycleConfiguration(child("lifecycle"), aws.s3.BucketLifecycleConfigurationArgs(
        bucket=bucket.id, rules=[aws.s3.BucketLifecycleConfigurationRuleArgs(
            id=rule_id, status="Enabled",
            filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
            expiration=(aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=expire_days)
                        if expire_days is not None else None),
            noncurrent_version_expiration=aws.s3
            .BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                noncurrent_days=NONCURRENT_DAYS),
            abort_incomplete_multipart_upload=aws.s3
            .BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                days_after_initiation=7))]),
        opts=child_opts(parent))
    bucket_policy = aws.s3.BucketPolicy(child("policy"), aws.s3.BucketPolicyArgs(
        bucket=bucket.id, policy=policy), opts=child_opts(parent, depends_on=[public_block]))
    if log_bucket is not None:
        log_access(parent, child("access-logging"), bucket, bucket_name, log_bucket)
    return bucket, bucket_policy


def log_access(parent: pulumi.Resource, name: str, bucket: aws.s3.Bucket,
               bucket_name: pulumi.Input[str], log_bucket: pulumi.Input[str]
               ) -> aws.s3.BucketLogging:
    """S3 server access logging of ``bucket`` into ``log_bucket`` under ``s3/<name>/``."""
    return aws.s3.BucketLogging(
        name, bucket=bucket.id, target_bucket=log_bucket,
        target_prefix=pulumi.Output.concat(ACCESS_LOG_PREFIX, "/", bucket_name, "/"),
        opts=child_opts(parent))


def regional_bucket_name(name: str, account_id: str, region: str) -> str:
    """``<name>-<account>-<region>``: global, deterministic, at most 63 characters."""
    suffix = f"-{account_id}-{region}"
    return f"{name.lower()[: 63 - len(suffix)].rstrip('-')}{suffix}"


def kms_only_policy(bucket: str) -> dict[str, Any]:
    """TLS only, and no upload may ask for an encryption other than SSE-KMS (uploads that
    name none get the bucket's default SSE-KMS)."""
    bucket_arn = f"arn:aws:s3:::{bucket}"
    return {"Version": "2012-10-17", "Statement": [
        tls_only_statement(bucket_arn),
        {"Sid": "DenyNonKmsUploads", "Effect": "Deny", "Principal": "*",
         "Action": "s3:PutObject", "Resource": f"{bucket_arn}/*",
         "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"},
                       "Null": {"s3:x-amz-server-side-encryption": "false"}}},
    ]}


def log_bucket_policy(bucket_arn: str, account_id: str,
                      source_buckets: str) -> pulumi.Output[str]:
    """TLS only, and S3 log delivery may write this account's access logs of the buckets
    named ``source_buckets`` (a name pattern) under ``s3/``, nothing else."""
    statements: list[Statement] = [tls_only_statement(bucket_arn), {
        "Sid": "S3ServerAccessLogs", "Effect": "Allow",
        "Principal": {"Service": S3_LOG_DELIVERY_PRINCIPAL}, "Action": "s3:PutObject",
        "Resource": f"{bucket_arn}/{ACCESS_LOG_PREFIX}/*",
        "Condition": {"StringEquals": {"aws:SourceAccount": account_id},
                      "ArnLike": {"aws:SourceArn": f"arn:aws:s3:::{source_buckets}"}}}]
    return policy_document(statements)


class LogBucketArgs(TypedDict):
    """The platform's log bucket."""

    source_bucket_prefix: str
    """Buckets whose access logs it accepts: names starting with this (the platform's)."""
    log_retention_days: NotRequired[int]
    """Days a log object is kept (default 365)."""
    protect: NotRequired[bool]
    """Protect the bucket (and retain it on delete): its logs are audit records."""
    tags: NotRequired[pulumi.Input[dict[str, str]]]
    """Tags for every child."""


class LogBucket(pulumi.ComponentResource):
    """The bucket that receives the S3 server access logs of the platform's other buckets."""

    bucket_name: pulumi.Output[str]
    """Name of the log bucket: give it as ``log_bucket`` to components that make buckets."""

    def __init__(self, name: str, args: LogBucketArgs,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__(type_token("LogBucket"), name, None, opts)
        raise_for("LogBucket", name, check_log_retention(args.get("log_retention_days")))
        ctx = aws_context(self)
        bucket_name = regional_bucket_name(name, ctx.account_id, ctx.region)
        arn = f"arn:{ctx.partition}:s3:::{bucket_name}"
        bucket, _ = private_bucket(
            self, lambda kind: f"{name}-{kind}", bucket_name,
            policy=log_bucket_policy(arn, ctx.account_id, f"{args['source_bucket_prefix']}*"),
            expire_days=args.get("log_retention_days", DEFAULT_LOG_RETENTION_DAYS),
            rule_id="expire-access-logs", protect=args.get("protect", False),
            tags=args.get("tags"))
        self.bucket_name = bucket.bucket
        self.register_outputs({"bucket_name": self.bucket_name})
