"""Secret: a place for one credential, encrypted with the platform key, that holds no value
from configuration.

Two kinds:

- ``secretsmanager`` (default): an AWS Secrets Manager secret with the customer managed key
  and, optionally, a rotation schedule run by a rotation function. No secret version is
  created here: the value is put by an operator (``aws secretsmanager put-secret-value``) or
  by the rotation function, so it never passes through the stack file, the program or the
  Pulumi state.
- ``parameter``: an SSM Parameter Store ``SecureString`` encrypted with the key. SSM cannot
  create a parameter without a value, so it is created with a fixed placeholder and the
  program ignores later changes to ``value``: once an operator writes the real value, Pulumi
  neither reads it back into a diff nor overwrites it with the placeholder.

Workloads reference a secret by ARN (``ContainerService`` ``secrets``); their execution role
is granted exactly those ARNs.
"""


from typing import NotRequired

import pulumi
import pulumi_aws as aws
from typing_extensions import TypedDict

from .base import child_opts, invoke_opts, merge_tags, type_token
from .grants import GrantSpec
from .validation import Problem, check_choice, check_range, raise_for

SECRET_KINDS = ("secretsmanager", "parameter")
PLACEHOLDER = "set-by-operator"
"""The value a new SecureString parameter starts with, until an operator writes the real one."""


class SecretSpec(TypedDict):
    """A secret as a stack file describes it: where it lives, never what it holds."""

    description: str
    """What the secret is for and who writes it, e.g. ``Orders API key for the payments
    provider (put by the payments team)``."""
    kind: NotRequired[str]
    """``secretsmanager`` (default) or ``parameter`` (SSM SecureString)."""
    rotation_days: NotRequired[int]
    """Rotate every this many days (1-1000); Secrets Manager only; needs a rotation function."""


class SecretArgs(SecretSpec):
    """A secret plus its wiring."""

    kms_key_arn: pulumi.Input[str]
    """Customer managed KMS key that encrypts the value."""
    rotation_lambda_arn: NotRequired[pulumi.Input[str]]
    """Function that rotates the value; required with ``rotation_days``."""
    protect: NotRequired[bool]
    """Pulumi-protect the secret and retain it on delete (default False)."""
    tags: NotRequired[pulumi.Input[dict[str, str]]]
    """Tags for every child, on top of the provider's default tags."""


def check_secret(spec: SecretSpec) -> list[Problem]:
    problems: list[Problem] = []
    if not spec.get("description", "").strip():
        problems.append(Problem(("description",), "must say what the secret is for"))
    kind = spec.get("kind", "secretsmanager")
    problems += check_choice(("kind",), kind, SECRET_KINDS)
    if "rotation_days" in spec:
        problems += check_range(("rotation_days",), spec["rotation_days"], 1, 1000,
                                "rotationDays")
        if kind == "parameter":
            problems.append(Problem(("rotation_days",), "rotation needs kind secretsmanager; "
                                                        "SSM parameters do not rotate"))
    return problems


def _check_args(args: SecretArgs) -> list[Problem]:
    problems = check_secret(args)
    if "rotation_days" in args and args.get("rotation_lambda_arn") is None:
        problems.append(Problem(("rotation_lambda_arn",),
                                "rotationDays needs the ARN of the function that rotates the "
                                "secret"))
    return problems


class Secret(pulumi.ComponentResource):
    """A Secrets Manager secret or SSM SecureString parameter, KMS-encrypted, value-free."""

    arn: pulumi.Output[str]
    """ARN to hand to workloads (``secrets``) and to grants."""
    name: pulumi.Output[str]
    """Physical name of the secret or parameter."""

    def __init__(self, name: str, args: SecretArgs,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__(type_token("Secret"), name, None, opts)
        raise_for("Secret", name, _check_args(args))

        self.kind = args.get("kind", "secretsmanager")
        protect = args.get("protect", False)
        tags = pulumi.Output.from_input(args.get("tags") or {}).apply(
            lambda t: merge_tags(t, {"Name": name}))

        if self.kind == "parameter":
            parameter = aws.ssm.Parameter(
                f"{name}-parameter",
                aws.ssm.ParameterArgs(
                    name=name, type="SecureString", key_id=args["kms_key_arn"],
                    description=args["description"], value=PLACEHOLDER, tags=tags),
                opts=child_opts(self, protect=protect, ignore_changes=["value"]))
            # Built from the fixed name, so task definitions and roles that reference the
            # parameter are known at preview (a Secrets Manager ARN carries a random suffix
            # and is known only once the secret exists).
            region = aws.get_region_output(opts=invoke_opts(self)).region
            account = aws.get_caller_identity_output(opts=invoke_opts(self)).account_id
            self.arn = pulumi.Output.concat("arn:aws:ssm:", region, ":", account, ":parameter/",
                                            parameter.name.apply(lambda _: name))
            self.name = parameter.name
        else:
            secret = aws.secretsmanager.Secret(
                f"{name}-secret",
                aws.secretsmanager.SecretArgs(
                    name=name, description=args["description"], kms_key_id=args["kms_key_arn"],
                    recovery_window_in_days=30, tags=tags),
                opts=child_opts(self, protect=protect))
            if "rotation_days" in args:
                aws.secretsmanager.SecretRotation(
                    f"{name}-rotation",
                    aws.secretsmanager.SecretRotationArgs(
                        secret_id=secret.id, rotation_lambda_arn=args["rotation_lambda_arn"],
                        rotation_rules=aws.secretsmanager.SecretRotationRotationRulesArgs(
                            automatically_after_days=args["rotation_days"])),
                    opts=child_opts(self))
            self.arn = secret.arn
            self.name = secret.name

        self.register_outputs({"arn": self.arn, "name": self.name})

    def grant(self, access: str = "read") -> GrantSpec:
        """A grant for a workload: ``secret`` or ``parameter`` kind on this ARN."""
        kind = "parameter" if self.kind == "parameter" else "secret"
        return GrantSpec(kind=kind, arn=self.arn, access=access)
