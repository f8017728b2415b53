"""KMS keys and aliases, Secrets Manager secrets and SSM SecureString parameters."""

from __future__ import annotations

from collections.abc import Iterator

from .core import Resource, Settings, Stack, is_unknown, resource_policy, stack_policy, unknown

KEY = "aws:kms/key:Key"
SECRET = "aws:secretsmanager/secret:Secret"
SECRET_ROTATION = "aws:secretsmanager/secretRotation:SecretRotation"
SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
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


@stack_policy(
    "secretsmanager-rotation",
    types=(SECRET, SECRET_ROTATION),
    description="Secrets rotate automatically (a rotation schedule and function); a secret "
                "that cannot (a vendor's key) is a reasoned exception.",
    severity="medium", fsbp=("SecretsManager.1", "SecretsManager.4"),
    refs=("cdk-nag SMG4", "checkov CKV2_AWS_57"),
    remediation="Add aws.secretsmanager.SecretRotation for the secret with rotationLambdaArn "
                "and rotationRules {automaticallyAfterDays <= 90} (the Secret component's "
                "rotationDays), or list the secret as an exception with the manual rotation "
                "procedure.",
)
def secret_rotation(stack: Stack, s: Settings) -> Iterator[tuple[Resource, str]]:
    rotations = stack.of_type(SECRET_ROTATION)
    for secret in stack.of_type(SECRET):
        if not any(secret in r.deps("secretId") for r in rotations):
            yield secret, "secret has no rotation schedule"


@resource_policy(
    "secretsmanager-no-value-in-program",
    types=(SECRET_VERSION,),
    description="Programs do not write secret values: a secret version's value would pass "
                "through the program, its configuration and the Pulumi state (a Pulumi secret "
                "is only encrypted there, still held).",
    severity="high", guardrail="no-static-credentials",
    refs=("checkov CKV_SECRET_6",),
    remediation="Create only the secret (the Secret component); let its rotation function or "
                "an operator (aws secretsmanager put-secret-value) write the value.",
)
def no_value_in_program(r: Resource, s: Settings) -> Iterator[str]:
    for key in ("secretString", "secretBinary", "secretStringWo"):
        if r.get(key) is not None:
            yield (f"{key} is set: the secret's value passes through the program and the "
                   "Pulumi state")


ALIAS = "aws:kms/alias:Alias"
RESERVED_ALIAS_PREFIX = "alias/aws/"


@stack_policy(
    "kms-alias-own-key",
    types=(ALIAS, KEY),
    description="Key aliases stay out of AWS's reserved alias/aws/ space and point to a key of "
                "this stack, whose rotation and policy the pack checks: an alias re-pointed "
                "to a key outside the stack would silently change what encrypts the data.",
    severity="medium", refs=("AWS KMS: aliases and alias/aws/ (AWS managed keys)",),
    remediation="Name the alias alias/<stack>-<purpose> and set targetKeyId to a key created "
                "in this program (the platform key).",
)
def alias_own_key(stack: Stack, s: Settings) -> Iterator[tuple[Resource, str]]:
    for alias in stack.of_type(ALIAS):
        name = alias.get("name") or alias.get("namePrefix")
        if isinstance(name, str) and name.startswith(RESERVED_ALIAS_PREFIX):
            yield alias, (f"name {name} is in the alias/aws/ space AWS reserves for its "
                          "managed keys")
        if alias.deps("targetKeyId", (KEY,)):
            continue
        target = alias.get("targetKeyId")
        if is_unknown(target):
            yield alias, unknown("targetKeyId", "the alias names a key of this stack")
        else:
            yield alias, (f"targetKeyId {target} is not a key of this stack: its rotation "
                          "and policy are checked nowhere here")
