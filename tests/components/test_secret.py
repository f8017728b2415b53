"""Secret: KMS-encrypted, value-free Secrets Manager secrets and SSM SecureStrings."""

import json

import pytest

from components.base import policy_document
from components.grants import grant_statements
from components.secret import PLACEHOLDER, Secret, SecretArgs
from components.validation import ArgsError
from preflight.capture import Capture, capture

KEY = "arn:aws:kms:eu-west-1:123456789012:key/platform"
ROTATOR = "arn:aws:lambda:eu-west-1:123456789012:function:rotate"
CONFIG = {"aws:region": "eu-west-1"}


def args(**extra) -> SecretArgs:
    return SecretArgs(description="Payments provider API key", kms_key_arn=KEY,
                      **extra)  # type: ignore[typeddict-item]


def run(build) -> Capture:
    return capture(build, config=CONFIG, preview=False)


def custom(cap: Capture) -> list[str]:
    return sorted(r.type for r in cap.registrations if r.custom)


def test_secretsmanager_secret_uses_the_key_and_holds_no_value():
    cap = run(lambda: Secret("prod-payments-key", args()))
    assert custom(cap) == ["aws:secretsmanager/secret:Secret"]
    secret = cap.named("prod-payments-key-secret")
    assert secret.inputs == {"name": "prod-payments-key", "kmsKeyId": KEY,
                             "description": "Payments provider API key",
                             "recoveryWindowInDays": 30,
                             "tags": {"Name": "prod-payments-key"}}
    assert not secret.protect and not secret.retain_on_delete


def test_rotation_schedule_points_at_the_rotation_function():
    cap = run(lambda: Secret("prod-db-url", args(rotation_days=30,
                                                 rotation_lambda_arn=ROTATOR)))
    assert custom(cap) == ["aws:secretsmanager/secret:Secret",
                           "aws:secretsmanager/secretRotation:SecretRotation"]
    rotation = cap.named("prod-db-url-rotation")
    assert rotation.inputs == {"secretId": "prod-db-url-secret-id",
                               "rotationLambdaArn": ROTATOR,
                               "rotationRules": {"automaticallyAfterDays": 30}}


def test_parameter_is_a_securestring_whose_value_operators_own():
    cap = run(lambda: Secret("prod-feature-flags", args(kind="parameter")))
    assert custom(cap) == ["aws:ssm/parameter:Parameter"]
    parameter = cap.named("prod-feature-flags-parameter")
    assert parameter.inputs["type"] == "SecureString"
    assert parameter.inputs["keyId"] == KEY
    assert parameter.inputs["value"]["value"] == PLACEHOLDER  # a Pulumi secret
    assert parameter.ignore_changes == ["value"]


def test_protect_retains_the_secret():
    cap = run(lambda: Secret("prod-payments-key", args(protect=True)))
    secret = cap.named("prod-payments-key-secret")
    assert (secret.protect, secret.retain_on_delete) == (True, True)


def test_grant_gives_read_on_exactly_this_secret():
    seen: dict[str, str] = {}

    def build():
        secret = Secret("prod-payments-key", args())
        policy_document(grant_statements([secret.grant()])).apply(
            lambda doc: seen.setdefault("doc", doc))
        param = Secret("prod-flags", args(kind="parameter"))
        policy_document(grant_statements([param.grant()])).apply(
            lambda doc: seen.setdefault("param", doc))

    run(build)
    assert json.loads(seen["doc"])["Statement"] == [{
        "Sid": "Grant0Secret", "Effect": "Allow",
        "Action": ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"],
        "Resource": ["arn:aws:secretsmanager:eu-west-1:123456789012:prod-payments-key-secret"]}]
    assert json.loads(seen["param"])["Statement"] == [{
        "Sid": "Grant0Parameter", "Effect": "Allow",
        "Action": ["ssm:GetParameter", "ssm:GetParameters"],
        "Resource": ["arn:aws:ssm:eu-west-1:123456789012:parameter/prod-flags"]}]


@pytest.mark.parametrize(("extra", "message"), [
    ({"rotation_days": 30},
     "Secret 'bad': rotationLambdaArn: rotationDays needs the ARN of the function that rotates "
     "the secret"),
    ({"kind": "parameter", "rotation_days": 30, "rotation_lambda_arn": ROTATOR},
     "Secret 'bad': rotationDays: rotation needs kind secretsmanager; SSM parameters do not "
     "rotate"),
    ({"rotation_days": 0, "rotation_lambda_arn": ROTATOR},
     "Secret 'bad': rotationDays: rotationDays must be between 1 and 1000 (got 0)"),
    ({"kind": "vault"},
     "Secret 'bad': kind: 'vault' is not allowed: use one of secretsmanager, parameter"),
    ({"description": " "}, "Secret 'bad': description: must say what the secret is for"),
])
def test_validation_messages(extra, message):
    with pytest.raises(ArgsError) as err:
        run(lambda: Secret("bad", {**args(), **extra}))  # type: ignore[typeddict-item]
    assert str(err.value) == message


def test_no_child_is_created_when_validation_fails():
    created: list[str] = []
    with pytest.raises(ArgsError):
        capture(lambda: Secret("bad", args(kind="vault")), config=CONFIG,
                on_register=lambda r: created.append(r.type))
    assert [t for t in created if not t.startswith("microservices:")] == []

