"""Grants: the exact IAM each kind and access level produces, and what is rejected."""

import json

import pulumi
import pytest

from components.base import policy_document
from components.grants import (
    ACCESS_LEVELS,
    KINDS,
    GrantConfigSpec,
    actions_for,
    check_grants,
    grant_statements,
    key_actions_for,
)
from components.validation import Problem, config_path
from preflight.capture import capture

ACCT = "123456789012"
ARNS = {
    "table": f"arn:aws:dynamodb:eu-west-1:{ACCT}:table/orders",
    "bucket": "arn:aws:s3:::orders-documents",
    "queue": f"arn:aws:sqs:eu-west-1:{ACCT}:orders-events",
    "topic": f"arn:aws:sns:eu-west-1:{ACCT}:orders-created",
    "secret": f"arn:aws:secretsmanager:eu-west-1:{ACCT}:secret:orders/api-AbCdEf",
    "parameter": f"arn:aws:ssm:eu-west-1:{ACCT}:parameter/orders/feature-flags",
    "database-user": f"arn:aws:rds-db:eu-west-1:{ACCT}:dbuser:db-ABCDEFGHIJKL/orders",
    "key": f"arn:aws:kms:eu-west-1:{ACCT}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "workflow": f"arn:aws:states:eu-west-1:{ACCT}:stateMachine:prod-fulfilment",
    "event-bus": f"arn:aws:events:eu-west-1:{ACCT}:event-bus/prod-events",
}

TABLE = ARNS["table"]
BUCKET = ARNS["bucket"]

# (kind, access) -> (actions, resources), written out in full.
EXPECTED: dict[tuple[str, str], tuple[list[str], list[str]]] = {
    ("table", "read"): (
        ["dynamodb:BatchGetItem", "dynamodb:ConditionCheckItem", "dynamodb:DescribeTable",
         "dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan"],
        [TABLE, f"{TABLE}/index/*"]),
    ("table", "write"): (
        ["dynamodb:BatchWriteItem", "dynamodb:DeleteItem", "dynamodb:PutItem",
         "dynamodb:UpdateItem"],
        [TABLE, f"{TABLE}/index/*"]),
    ("table", "read_write"): (
        ["dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem",
         "dynamodb:DeleteItem", "dynamodb:DescribeTable", "dynamodb:GetItem",
         "dynamodb:PutItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:UpdateItem"],
        [TABLE, f"{TABLE}/index/*"]),
    ("bucket", "read"): (["s3:GetObject", "s3:ListBucket"], [BUCKET, f"{BUCKET}/*"]),
    ("bucket", "write"): (["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:PutObject"],
                          [f"{BUCKET}/*"]),
    ("bucket", "read_write"): (
        ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:ListBucket",
         "s3:PutObject"],
        [BUCKET, f"{BUCKET}/*"]),
    ("queue", "read"): (
        ["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
         "sqs:GetQueueUrl", "sqs:ReceiveMessage"], [ARNS["queue"]]),
    ("queue", "write"): (["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"],
                         [ARNS["queue"]]),
    ("queue", "read_write"): (
        ["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
         "sqs:GetQueueUrl", "sqs:ReceiveMessage", "sqs:SendMessage"], [ARNS["queue"]]),
    ("topic", "read"): (["sns:GetTopicAttributes"], [ARNS["topic"]]),
    ("topic", "write"): (["sns:Publish"], [ARNS["topic"]]),
    ("topic", "read_write"): (["sns:GetTopicAttributes", "sns:Publish"], [ARNS["topic"]]),
    ("secret", "read"): (["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"],
                         [ARNS["secret"]]),
    ("secret", "write"): (["secretsmanager:DescribeSecret", "secretsmanager:PutSecretValue"],
                          [ARNS["secret"]]),
    ("secret", "read_write"): (
        ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue",
         "secretsmanager:PutSecretValue"], [ARNS["secret"]]),
    ("parameter", "read"): (["ssm:GetParameter", "ssm:GetParameters"], [ARNS["parameter"]]),
    ("parameter", "write"): (["ssm:PutParameter"], [ARNS["parameter"]]),
    ("parameter", "read_write"): (["ssm:GetParameter", "ssm:GetParameters", "ssm:PutParameter"],
                                  [ARNS["parameter"]]),
    ("database-user", "read"): (["rds-db:connect"], [ARNS["database-user"]]),
    ("database-user", "write"): (["rds-db:connect"], [ARNS["database-user"]]),
    ("database-user", "read_write"): (["rds-db:connect"], [ARNS["database-user"]]),
    ("key", "read"): (["kms:Decrypt"], [ARNS["key"]]),
    ("key", "write"): (["kms:Encrypt", "kms:GenerateDataKey"], [ARNS["key"]]),
    ("key", "read_write"): (["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
                            [ARNS["key"]]),
    ("workflow", "read"): (["states:DescribeStateMachine", "states:ListExecutions"],
                           [ARNS["workflow"]]),
    ("workflow", "write"): (["states:StartExecution"], [ARNS["workflow"]]),
    ("workflow", "read_write"): (["states:DescribeStateMachine", "states:ListExecutions",
                                  "states:StartExecution"], [ARNS["workflow"]]),
    ("event-bus", "read"): (["events:DescribeEventBus"], [ARNS["event-bus"]]),
    ("event-bus", "write"): (["events:PutEvents"], [ARNS["event-bus"]]),
    ("event-bus", "read_write"): (["events:DescribeEventBus", "events:PutEvents"],
                                  [ARNS["event-bus"]]),
}


def _rendered(grants: list[GrantConfigSpec], prefix: str = "Grant") -> list[dict]:
    """Run grant_statements inside a Pulumi program and return the parsed statements."""
    seen: dict[str, str] = {}

    def program() -> None:
        doc = policy_document(grant_statements(grants, prefix))
        doc.apply(lambda text: seen.__setitem__("doc", text))
        # Register it so the document is resolved before the program ends.
        pulumi.export("doc", doc)

    capture(program, preview=False)
    return json.loads(seen["doc"])["Statement"]


def test_every_kind_and_access_is_covered():
    assert set(EXPECTED) == {(k, a) for k in KINDS for a in ACCESS_LEVELS}


@pytest.mark.parametrize(("kind", "access"), sorted(EXPECTED))
def test_actions_for_each_kind_and_access(kind, access):
    assert actions_for(kind, access) == EXPECTED[(kind, access)][0]


def test_statements_are_exact_for_every_grant():
    grants: list[GrantConfigSpec] = [{"kind": k, "arn": ARNS[k], "access": a}
                                     for (k, a) in sorted(EXPECTED)]
    statements = _rendered(grants)
    assert len(statements) == len(EXPECTED)
    for i, ((kind, access), statement) in enumerate(zip(sorted(EXPECTED), statements,
                                                        strict=True)):
        actions, resources = EXPECTED[(kind, access)]
        sid_kind = kind.title().replace("-", "")
        assert statement == {"Sid": f"Grant{i}{sid_kind}", "Effect": "Allow",
                             "Action": actions, "Resource": resources}


def test_event_bus_grant_holds_the_workload_to_its_own_source():
    statements = _rendered([{"kind": "event-bus", "arn": ARNS["event-bus"], "access": "write",
                             "event_source": "orders"}], "Platform")
    assert statements == [{"Sid": "Platform0EventBus", "Effect": "Allow",
                           "Action": ["events:PutEvents"], "Resource": [ARNS["event-bus"]],
                           "Condition": {"StringEquals": {"events:source": "orders"}}}]


def test_event_source_applies_only_to_event_bus_grants():
    assert check_grants([{"kind": "topic", "arn": ARNS["topic"], "access": "write",
                          "event_source": "orders"}]) == [
        Problem((0, "event_source"), "applies only to event-bus grants")]


def test_key_actions_follow_what_encrypted_queues_and_topics_need():
    assert key_actions_for([{"kind": "topic", "arn": ARNS["topic"], "access": "write"}]) == [
        "kms:Decrypt", "kms:GenerateDataKey"]
    assert key_actions_for([{"kind": "queue", "arn": ARNS["queue"], "access": "read"}]) == [
        "kms:Decrypt"]
    assert key_actions_for([{"kind": "table", "arn": TABLE, "access": "read_write"}]) == []


def test_table_grant_from_an_output_arn_covers_its_indexes():
    seen: dict[str, str] = {}

    def program() -> None:
        arn = pulumi.Output.from_input(TABLE)
        doc = policy_document(grant_statements([{"kind": "table", "arn": arn,
                                                 "access": "read"}], "Platform"))
        doc.apply(lambda text: seen.__setitem__("doc", text))

    capture(program, preview=False)
    statement = json.loads(seen["doc"])["Statement"][0]
    assert statement["Sid"] == "Platform0Table"
    assert statement["Resource"] == [TABLE, f"{TABLE}/index/*"]


def test_no_statement_has_a_wildcard_action():
    grants: list[GrantConfigSpec] = [{"kind": k, "arn": ARNS[k], "access": "read_write"}
                                     for k in KINDS]
    for statement in _rendered(grants):
        assert all("*" not in action for action in statement["Action"])


def _messages(problems: list[Problem]) -> list[str]:
    return [f"{config_path(p.path)}: {p.message}" for p in problems]


def test_valid_grants_pass():
    assert check_grants([{"kind": k, "arn": ARNS[k], "access": a}
                         for (k, a) in EXPECTED]) == []


@pytest.mark.parametrize("arn", [
    "arn:aws:dynamodb:eu-west-1:123456789012:table/*",
    "arn:aws:dynamodb:eu-west-1:123456789012:table/orders-?",
    "*",
])
def test_wildcard_arns_are_rejected(arn):
    assert _messages(check_grants([{"kind": "table", "arn": arn, "access": "read"}])) == [
        f"[0].arn: '{arn}' must be the ARN of one resource, without wildcards"]


def test_an_arn_of_another_service_is_rejected():
    assert _messages(check_grants([{"kind": "table", "arn": BUCKET, "access": "read"},
                                   {"kind": "key", "arn": ARNS["secret"], "access": "read"}])) \
        == ["[0].arn: 'arn:aws:s3:::orders-documents' is not a DynamoDB table ARN "
            "(arn:aws:dynamodb:...)",
            f"[1].arn: '{ARNS['secret']}' is not a KMS key ARN (arn:aws:kms:...)"]


def test_unknown_kind_and_access_are_rejected_with_suggestions():
    assert _messages(check_grants([{"kind": "tabel", "arn": TABLE, "access": "reed"}])) == [
        "[0].kind: 'tabel' is not allowed: use one of table, bucket, queue, topic, secret, "
        "parameter, database-user, key, workflow, event-bus (did you mean 'table'?)",
        "[0].access: 'reed' is not allowed: use one of read, write, read_write "
        "(did you mean 'read'?)",
    ]


def test_output_arns_are_not_judged_before_they_resolve():
    def program() -> None:
        arn = pulumi.Output.from_input("arn:aws:dynamodb:eu-west-1:123456789012:table/*")
        assert check_grants([{"kind": "table", "arn": arn, "access": "read"}]) == []

    capture(program, preview=True)
