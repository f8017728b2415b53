"""KMS keys, Secrets Manager secrets and SSM SecureString parameters."""

from __future__ import annotations

from collections.abc import Iterator

from .core import Resource, Settings, is_unknown, resource_policy, unknown

KEY = "aws:kms/key:Key"
SECRET = "aws:secretsmanager/secret:Secret"
PARAMETER = "aws:ssm/parameter:Parameter"


@resource_policy(
    "kms-key-rotation",
    types=(KEY,),
    description="Symmetric customer-managed keys rotate automatically.",
    severity="medium", fsbp=("KMS.4",), refs=("cdk-nag AS-KMS5", "checkov CKV_AWS_7"),
    remediation="Set enableKeyRotation: true.",
)
def rotation(r: Resource, s: Settings) -> Iterator[str]:
    spec = r.get("customerMasterKeySpec", "SYMMETRIC_DEFAULT")
    if spec != "SYMMETRIC_DEFAULT":
        return
    value = r.get("enableKeyRotation")
    if is_unknown(value):
        yield unknown("enableKeyRotation", "the key rotates")
    elif value is not True:
        yield "enableKeyRotation is not true"


@resource_policy(
    "secretsmanager-kms-cmk",
    types=(SECRET,),
    description="Secrets are encrypted with a customer-managed KMS key.",
    severity="medium", refs=("checkov CKV_AWS_149",),
    remediation="Set kmsKeyId to the platform's secrets key.",
)
def secret_cmk(r: Resource, s: Settings) -> Iterator[str]:
    if r.get("kmsKeyId") is None:
        yield "kmsKeyId is not set (the AWS-managed key cannot be scoped or audited)"


@resource_policy(
    "ssm-securestring-kms-cmk",
    types=(PARAMETER,),
    description="SecureString parameters are encrypted with a customer-managed KMS key.",
    severity="medium",
    remediation="Set keyId to the platform key on every SecureString parameter; String "
                "parameters hold only non-secret values such as endpoints.",
)
def parameter_cmk(r: Resource, s: Settings) -> Iterator[str]:
    kind = r.get("type")
    if is_unknown(kind):
        yield unknown("type", "a secret parameter is encrypted with the platform key")
    elif kind == "SecureString" and r.get("keyId") is None:
        yield "keyId is not set (the AWS-managed key cannot be scoped or audited)"
