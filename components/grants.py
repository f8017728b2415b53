"""Grants: exactly the IAM a workload needs on one resource, never ``*``.

A grant names a kind of resource, its ARN and an access level; :func:`grant_statements`
turns grants into IAM statements with the actions listed and resources scoped to that ARN
(and, for tables, its indexes). Container services, functions and pipelines all take grants,
so every workload's permissions come from this one table.
"""


from collections.abc import Sequence
from typing import NotRequired

import pulumi
from typing_extensions import TypedDict

from .base import Statement, allow
from .validation import Problem, check_arn, check_choice

ACCESS_LEVELS = ("read", "write", "read_write")

# kind -> access -> actions. "read_write" is the union of read and write.
ACTIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "table": {
        "read": ("dynamodb:BatchGetItem", "dynamodb:ConditionCheckItem",
                 "dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:Query",
                 "dynamodb:Scan"),
        "write": ("dynamodb:BatchWriteItem", "dynamodb:DeleteItem", "dynamodb:PutItem",
                  "dynamodb:UpdateItem"),
    },
    "bucket": {
        "read": ("s3:GetObject", "s3:ListBucket"),
        "write": ("s3:AbortMultipartUpload", "s3:DeleteObject", "s3:PutObject"),
    },
    "queue": {
        "read": ("sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
                 "sqs:GetQueueUrl", "sqs:ReceiveMessage"),
        "write": ("sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"),
    },
    "topic": {
        "read": ("sns:GetTopicAttributes",),
        # Publishing needs nothing else: a publisher is granted exactly sns:Publish.
        "write": ("sns:Publish",),
    },
    "secret": {
        "read": ("secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"),
        "write": ("secretsmanager:DescribeSecret", "secretsmanager:PutSecretValue"),
    },
    "parameter": {
        "read": ("ssm:GetParameter", "ssm:GetParameters"),
        "write": ("ssm:PutParameter",),
    },
    "database-user": {
        # IAM database authentication: the ARN is arn:aws:rds-db:<region>:<acct>:dbuser:<id>/<user>
        "read": ("rds-db:connect",),
        "write": ("rds-db:connect",),
    },
    "key": {
        "read": ("kms:Decrypt",),
        "write": ("kms:Encrypt", "kms:GenerateDataKey"),
    },
    "workflow": {
        "read": ("states:DescribeStateMachine", "states:ListExecutions"),
        "write": ("states:StartExecution",),
    },
    "event-bus": {
        "read": ("events:DescribeEventBus",),
        "write": ("events:PutEvents",),
    },
}
KINDS = tuple(ACTIONS)

# kind -> (ARN service, how a message names it)
KIND_ARNS: dict[str, tuple[str, str]] = {
    "table": ("dynamodb", "a DynamoDB table"),
    "bucket": ("s3", "an S3 bucket"),
    "queue": ("sqs", "an SQS queue"),
    "topic": ("sns", "an SNS topic"),
    "secret": ("secretsmanager", "a Secrets Manager secret"),
    "parameter": ("ssm", "an SSM parameter"),
    "database-user": ("rds-db", "an RDS database user"),
    "key": ("kms", "a KMS key"),
    "workflow": ("states", "a Step Functions state machine"),
    "event-bus": ("events", "an EventBridge event bus"),
}

# kind -> access -> what a resource of that kind encrypted with a customer managed key
# demands of the key from the workload (SQS and SNS check the caller's own KMS permission).
KEY_ACTIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "queue": {"read": ("kms:Decrypt",), "write": ("kms:Decrypt", "kms:GenerateDataKey")},
    "topic": {"read": (), "write": ("kms:Decrypt", "kms:GenerateDataKey")},
    "workflow": {"read": (), "write": ("kms:Decrypt", "kms:GenerateDataKey")},
}


class GrantSpec(TypedDict):
    """Access for a workload to one resource."""

    kind: str
    """Resource kind: table, bucket, queue, topic, secret, parameter, database-user, key,
    workflow or event-bus."""
    arn: pulumi.Input[str]
    """ARN of the resource (the table, bucket, queue, topic, secret, parameter, db user, key,
    state machine or bus)."""
    access: str
    """read, write or read_write."""
    event_source: NotRequired[str]
    """Event bus grants only: the one ``source`` the workload may put events with
    (condition ``events:source``)."""


class GrantConfigSpec(TypedDict):
    """A grant as a stack file writes it: the ARN is a literal string, so it can be checked
    before anything runs and the resulting policy is known at preview."""

    kind: str
    """Resource kind: table, bucket, queue, topic, secret, parameter, database-user, key,
    workflow or event-bus."""
    arn: str
    """ARN of exactly one resource; wildcards (``*``, ``?``) are rejected."""
    access: str
    """read, write or read_write."""
    event_source: NotRequired[str]
    """Event bus grants only: the one ``source`` the workload may put events with."""


def check_grants(grants: Sequence[GrantSpec | GrantConfigSpec]) -> list[Problem]:
    problems: list[Problem] = []
    for i, grant in enumerate(grants):
        problems += check_choice((i, "kind"), grant["kind"], KINDS)
        problems += check_choice((i, "access"), grant["access"], ACCESS_LEVELS)
        arn = grant["arn"]
        if isinstance(arn, str) and (any(c in arn for c in "*?")
                                     or not arn.startswith("arn:")):
            problems.append(Problem((i, "arn"), f"'{arn}' must be the ARN of one resource, "
                                                "without wildcards"))
        elif isinstance(arn, str) and grant["kind"] in KIND_ARNS:
            service, what = KIND_ARNS[grant["kind"]]
            problems += check_arn((i, "arn"), arn, service, what)
        if "event_source" in grant and grant["kind"] != "event-bus":
            problems.append(Problem((i, "event_source"), "applies only to event-bus grants"))
    return problems


def actions_for(kind: str, access: str) -> list[str]:
    table = ACTIONS[kind]
    levels = ("read", "write") if access == "read_write" else (access,)
    return sorted({action for level in levels for action in table[level]})


def _resources(kind: str, arn: pulumi.Input[str], actions: Sequence[str]
               ) -> list[pulumi.Input[str]]:
    if kind == "table":
        return [arn, pulumi.Output.concat(arn, "/index/*")]
    if kind == "bucket":
        objects = pulumi.Output.concat(arn, "/*")
        return [arn, objects] if "s3:ListBucket" in actions else [objects]
    return [arn]


def grant_statements(grants: Sequence[GrantSpec | GrantConfigSpec],
                     sid_prefix: str = "Grant"
                     ) -> list[Statement]:
    """One statement per grant, Sids stable by position in the caller's (keyed) order."""
    statements = []
    for i, grant in enumerate(grants):
        actions = actions_for(grant["kind"], grant["access"])
        sid = f"{sid_prefix}{i}{grant['kind'].title().replace('-', '')}"
        source = grant.get("event_source")
        statements.append(allow(sid, actions, _resources(grant["kind"], grant["arn"], actions),
                                {"StringEquals": {"events:source": source}} if source else None))
    return statements


def key_actions_for(grants: Sequence[GrantSpec | GrantConfigSpec]) -> list[str]:
    """What the grants' resources, encrypted with the platform key, need of that key."""
    levels = {"read_write": ("read", "write")}
    return sorted({action for grant in grants
                   for level in levels.get(grant["access"], (grant["access"],))
                   for action in KEY_ACTIONS.get(grant["kind"], {}).get(level, ())})
