"""Encryption: the customer-managed KMS key that every log group, store and topic uses.

The platform creates one :class:`EncryptionKey` and hands its ARN to every other component
(``kms_key_arn``); a caller with its own key passes that ARN instead. The module also holds
two helpers the network, cluster and load balancer share: :func:`aws_context` (account,
region and partition from invokes, so ARNs can be built from known parts at preview) and
:func:`check_log_retention`.
"""


import re
from dataclasses import dataclass
from typing import Any, NotRequired

import pulumi
import pulumi_aws as aws
from typing_extensions import TypedDict

from .base import child_opts, merge_tags, policy_document, type_token
from .environment import LOG_RETENTION_DAYS
from .validation import Problem, check_key, raise_for

DELETION_WINDOW_DAYS = 30
"""Longest window AWS allows: a key scheduled for deletion can be recovered for 30 days."""

SERVICE_PRINCIPAL_RE = re.compile(r"^[a-z0-9][a-z0-9.-]*\.amazonaws\.com$")

# What a service needs to encrypt and decrypt with the key on a caller's behalf; listed
# one by one instead of the ``kms:Encrypt*`` style wildcards of the AWS examples.
LOGS_ACTIONS = ("kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey",
                "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptFrom", "kms:ReEncryptTo")
SERVICE_ACTIONS = ("kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey")
"""DescribeKey: EventBridge checks that a bus's or archive's key is symmetric before using it."""


@dataclass(frozen=True)
class AwsContext:
    """Where the program deploys: known at preview because invokes run during preview."""

    account_id: str
    region: str
    partition: str


def aws_context(parent: pulumi.Resource) -> AwsContext:
    """Account, region and partition of ``parent``'s provider."""
    opts = pulumi.InvokeOptions(parent=parent)
    return AwsContext(account_id=aws.get_caller_identity(opts=opts).account_id,
                      region=aws.get_region(opts=opts).region,
                      partition=aws.get_partition(opts=opts).partition)


def check_log_retention(days: Any) -> list[Problem]:
    """``log_retention_days`` must be a value CloudWatch Logs accepts."""
    if days is None or days in LOG_RETENTION_DAYS:
        return []
    return [Problem(("log_retention_days",),
                    f"{days} is not a CloudWatch Logs retention; use one of "
                    f"{', '.join(map(str, LOG_RETENTION_DAYS))}")]


def tags_with(tags: pulumi.Input[dict[str, str]] | None,
              extra: dict[str, str]) -> pulumi.Output[dict[str, str]]:
    """The caller's tags (possibly an Output) layered under a child's own tags."""
    return pulumi.Output.from_input(tags or {}).apply(lambda t: merge_tags(t, extra))


class EncryptionKeySpec(TypedDict):
    """Settings of the platform's customer-managed KMS key."""

    service_principals: NotRequired[list[str]]
    """Further AWS service principals allowed to encrypt and decrypt with the key on this
    account's behalf, e.g. ``sns.amazonaws.com``, ``sqs.amazonaws.com``. CloudWatch Logs of
    the key's region is always allowed."""
    description: NotRequired[str]
    """Key description shown in the KMS console."""


class EncryptionKeyArgs(EncryptionKeySpec):
    """Settings plus wiring for :class:`EncryptionKey`."""

    protect: NotRequired[bool]
    """Pulumi-protect the key and retain it on delete (the platform sets this from the tier)."""
    tags: NotRequired[pulumi.Input[dict[str, str]]]
    """Tags for the key."""


def check_encryption_key(spec: EncryptionKeySpec) -> list[Problem]:
    problems: list[Problem] = []
    principals = spec.get("service_principals", [])
    for i, principal in enumerate(principals):
        if not SERVICE_PRINCIPAL_RE.match(principal):
            problems.append(Problem(("service_principals", i),
                                    f"'{principal}' is not an AWS service principal "
                                    "(e.g. sns.amazonaws.com)"))
        elif principal.startswith("logs."):
            problems.append(Problem(("service_principals", i),
                                    f"'{principal}' is always allowed (scoped to this "
                                    "account's log groups); remove it"))
    seen: set[str] = set()
    for i, principal in enumerate(principals):
        if principal in seen:
            problems.append(Problem(("service_principals", i),
                                    f"lists '{principal}' more than once"))
        seen.add(principal)
    return problems


def key_policy(ctx: AwsContext, service_principals: list[str]) -> pulumi.Output[str]:
    """The key policy: the account administers the key (so IAM policies can grant its use),
    CloudWatch Logs may use it for this account's log groups only, and the listed services
    may use it on this account's behalf only."""
    p, acct, region = ctx.partition, ctx.account_id, ctx.region
    statements: list[dict[str, Any]] = [
        {"Sid": "AccountAdministersKey", "Effect": "Allow",
         "Principal": {"AWS": f"arn:{p}:iam::{acct}:root"},
         "Action": "kms:*", "Resource": "*"},
        {"Sid": "CloudWatchLogsForThisAccount", "Effect": "Allow",
         "Principal": {"Service": f"logs.{region}.amazonaws.com"},
         "Action": list(LOGS_ACTIONS), "Resource": "*",
         "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn":
                                   f"arn:{p}:logs:{region}:{acct}:log-group:*"}}},
    ]
    if service_principals:
        statements.append(
            {"Sid": "ServicesForThisAccount", "Effect": "Allow",
             "Principal": {"Service": sorted(service_principals)},
             "Action": list(SERVICE_ACTIONS), "Resource": "*",
             "Condition": {"StringEquals": {"aws:SourceAccount": acct}}})
    return policy_document(statements)


def key_alias(name: str) -> str:
    """The alias of the EncryptionKey called ``name``: known before the key exists, so IAM
    documents can name the key through it (see ``base.key_statement``)."""
    return f"alias/{name}"


class EncryptionKey(pulumi.ComponentResource):
    """A customer-managed KMS key with yearly rotation, a 30-day deletion window, an
    explicit key policy and the alias ``alias/<name>``."""

    key_arn: pulumi.Output[str]
    """ARN of the key; pass it as ``kms_key_arn`` to the other components."""
    key_id: pulumi.Output[str]
    """Key id."""
    alias_name: pulumi.Output[str]
    """``alias/<name>``."""

    def __init__(self, name: str, args: EncryptionKeyArgs,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__(type_token("EncryptionKey"), name, None, opts)
        raise_for("EncryptionKey", name,
                  check_key(("name",), name) + check_encryption_key(args))

        ctx = aws_context(self)
        protect = bool(args.get("protect", False))
        description = args.get("description") or f"{name}: platform logs, data and messages"

        key = aws.kms.Key(
            f"{name}-key",
            aws.kms.KeyArgs(
                description=description,
                enable_key_rotation=True,
                deletion_window_in_days=DELETION_WINDOW_DAYS,
                key_usage="ENCRYPT_DECRYPT",
                customer_master_key_spec="SYMMETRIC_DEFAULT",
                policy=key_policy(ctx, list(args.get("service_principals", []))),
                tags=tags_with(args.get("tags"), {"Name": name}),
            ),
            opts=child_opts(self, protect=protect))
        alias = aws.kms.Alias(
            f"{name}-alias",
            aws.kms.AliasArgs(name=key_alias(name), target_key_id=key.key_id),
            opts=child_opts(self))

        self.key_arn = key.arn
        self.key_id = key.key_id
        self.alias_name = alias.name
        self.register_outputs({"key_arn": self.key_arn, "key_id": self.key_id,
                               "alias_name": self.alias_name})
