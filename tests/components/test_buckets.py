"""The platform's log bucket, and the bucket helper every component's buckets come from."""

import fnmatch
import json

import pytest

from components.buckets import LOG_BUCKET_EXCEPTION, LogBucket, regional_bucket_name
from components.validation import ArgsError
from preflight.capture import ACCOUNT_ID, Capture, capture

REGION = "eu-west-1"
BUCKET = f"prod-logs-{ACCOUNT_ID}-{REGION}"
ARN = f"arn:aws:s3:::{BUCKET}"


def run(**extra: object) -> Capture:
    return capture(lambda: LogBucket("prod-logs", {"source_bucket_prefix": "prod-",
                                                   **extra}),  # type: ignore[typeddict-item]
                   config={"aws:region": REGION}, preview=True)


def test_log_bucket_accepts_s3_access_logs_of_the_platform_buckets_only() -> None:
    cap = run()
    assert cap.named("prod-logs-bucket").inputs["bucket"] == BUCKET
    assert json.loads(cap.named("prod-logs-policy").inputs["policy"]) == {
        "Version": "2012-10-17", "Statement": [
            {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*",
             "Action": "s3:*", "Resource": [ARN, f"{ARN}/*"],
             "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
            {"Sid": "S3ServerAccessLogs", "Effect": "Allow",
             "Principal": {"Service": "logging.s3.amazonaws.com"}, "Action": "s3:PutObject",
             "Resource": f"{ARN}/s3/*",
             "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT_ID},
                           "ArnLike": {"aws:SourceArn": "arn:aws:s3:::prod-*"}}}]}


def test_log_bucket_is_sse_s3_private_versioned_and_expires_logs() -> None:
    cap = run(log_retention_days=731, protect=True)
    # S3 server access logging delivers only to SSE-S3 buckets.
    assert cap.named("prod-logs-sse").inputs["rules"] == [
        {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]
    block = cap.named("prod-logs-public-access").inputs
    assert all(block[k] is True for k in ("blockPublicAcls", "blockPublicPolicy",
                                          "ignorePublicAcls", "restrictPublicBuckets"))
    assert cap.named("prod-logs-ownership").inputs["rule"] == {
        "objectOwnership": "BucketOwnerEnforced"}
    assert cap.named("prod-logs-lifecycle").inputs["rules"] == [{
        "id": "expire-access-logs", "status": "Enabled", "filter": {"prefix": ""},
        "expiration": {"days": 731}, "noncurrentVersionExpiration": {"noncurrentDays": 30},
        "abortIncompleteMultipartUpload": {"daysAfterInitiation": 7}}]
    bucket = cap.named("prod-logs-bucket")
    assert (bucket.protect, bucket.retain_on_delete) == (True, True)
    assert bucket.inputs["forceDestroy"] is False
    # Its own access is not logged (into itself, without end): the recorded exception.
    assert cap.of_type("aws:s3/bucketLogging:BucketLogging") == []
    assert cap.named("prod-logs-public-access").urn in cap.named("prod-logs-policy").dependencies


def test_log_bucket_exception_names_the_log_bucket_with_a_reason() -> None:
    assert LOG_BUCKET_EXCEPTION["policy"] == "s3-access-logging"
    assert fnmatch.fnmatchcase("prod-logs-bucket", LOG_BUCKET_EXCEPTION["resource"])
    assert not fnmatch.fnmatchcase("prod-web-delivery-artifacts", LOG_BUCKET_EXCEPTION["resource"])
    assert len(LOG_BUCKET_EXCEPTION["reason"]) >= 10


def test_regional_bucket_names_fit_s3() -> None:
    assert regional_bucket_name("Prod-Logs", ACCOUNT_ID, REGION) == BUCKET
    long = regional_bucket_name("x" * 70, ACCOUNT_ID, "ap-southeast-2")
    assert len(long) == 63 and long.endswith(f"-{ACCOUNT_ID}-ap-southeast-2")


def test_retention_must_be_a_cloudwatch_value() -> None:
    with pytest.raises(ArgsError) as err:
        run(log_retention_days=10)
    assert str(err.value).startswith("LogBucket 'prod-logs': logRetentionDays: 10 is not a "
                                     "CloudWatch Logs retention")
