"""DynamoDB: recovery, deletion protection and customer-managed encryption."""

from __future__ import annotations

from collections.abc import Iterator

from .core import Resource, Settings, is_unknown, resource_policy, unknown

TABLE = "aws:dynamodb/table:Table"


@resource_policy(
    "dynamodb-pitr",
    types=(TABLE,),
    description="Tables have point-in-time recovery.",
    severity="medium", fsbp=("DynamoDB.2",), refs=("cdk-nag AS-DDB3", "checkov CKV_AWS_28"),
    remediation="Set pointInTimeRecovery {enabled: true}.",
)
def pitr(r: Resource, s: Settings) -> Iterator[str]:
    value = r.get("pointInTimeRecovery.enabled")
    if is_unknown(value):
        yield unknown("pointInTimeRecovery.enabled", "the table can be recovered")
    elif value is not True:
        yield "pointInTimeRecovery.enabled is not true"


@resource_policy(
    "dynamodb-deletion-protection",
    types=(TABLE,),
    description="Tables refuse deletion at the AWS API.",
    severity="medium", fsbp=("DynamoDB.6",),
    remediation="Set deletionProtectionEnabled: true.",
)
def deletion_protection(r: Resource, s: Settings) -> Iterator[str]:
    value = r.get("deletionProtectionEnabled")
    if is_unknown(value):
        yield unknown("deletionProtectionEnabled", "the table is deletion-protected")
    elif value is not True:
        yield "deletionProtectionEnabled is not true"


@resource_policy(
    "dynamodb-kms-cmk",
    types=(TABLE,),
    description="Tables are encrypted with a customer-managed KMS key.",
    severity="medium", refs=("checkov CKV_AWS_119",),
    remediation="Set serverSideEncryption {enabled: true, kmsKeyArn: <platform data key>}.",
)
def kms_cmk(r: Resource, s: Settings) -> Iterator[str]:
    enabled = r.get("serverSideEncryption.enabled")
    if is_unknown(enabled):
        yield unknown("serverSideEncryption.enabled", "the table uses a customer-managed key")
    elif enabled is not True or r.get("serverSideEncryption.kmsKeyArn") is None:
        yield "serverSideEncryption does not name a customer-managed KMS key"
