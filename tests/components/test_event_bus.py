"""EventBus under recording mocks: encrypted bus and archive, rules, targets with retries and
the bus's dead-letter queue, the workflow-starting role, and the checks."""

import json
from typing import Any

import pytest

from components.event_bus import EventBus, EventBusArgs, check_event_bus
from components.validation import ArgsError, Problem
from preflight.capture import ACCOUNT_ID, Capture, capture

R, A = "us-east-1", ACCOUNT_ID
KEY = f"arn:aws:kms:{R}:{A}:key/platform"
BUS = f"arn:aws:events:{R}:{A}:event-bus/prod-events"
RULE = f"arn:aws:events:{R}:{A}:rule/prod-events/prod-events-order-paid"
DLQ = f"arn:aws:sqs:{R}:{A}:prod-events-dlq"
MACHINE = f"arn:aws:states:{R}:{A}:stateMachine:prod-fulfilment"
BILLING = f"arn:aws:lambda:{R}:{A}:function:prod-billing"
TOPIC = f"arn:aws:sns:{R}:{A}:prod-order-events"
FIFO_QUEUE = f"arn:aws:sqs:{R}:{A}:prod-ledger-billing.fifo"
TRANSFORMER = {"input_paths": {"orderId": "$.detail.orderId"},
               "input_template": '{"detail": {"orderId": <orderId>}}'}


def base(**extra: Any) -> EventBusArgs:
    args: dict[str, Any] = {
        "bus_name": "prod-events", "kms_key_arn": KEY, "kms_key_alias": "alias/prod-key",
        "publishers": [{"service": "orders"}],
        "rules": {"order-paid": {
            "event_pattern": {"source": ["orders"], "detail-type": ["OrderPaid"]},
            "targets": {"fulfil": {"workflow": "fulfilment", "input_transformer": TRANSFORMER,
                                   "max_retry_attempts": 24, "max_event_age_seconds": 3600},
                        "bill": {"function": "billing"},
                        "announce": {"topic": "order-events"},
                        "ledger": {"queue": "ledger/billing", "message_group_id": "orders"}}}},
        "workflows": {"fulfilment": MACHINE}, "functions": {"billing": BILLING},
        "topics": {"order-events": TOPIC}, "queues": {"ledger/billing": FIFO_QUEUE},
        "fifo_queues": ["ledger/billing"]}
    args.update(extra)
    return args  # type: ignore[return-value]


def run(args: EventBusArgs) -> Capture:
    return capture(lambda: EventBus("prod-events", args), preview=True)


def test_bus_archive_and_dead_letter_queue() -> None:
    cap = run(base())
    assert cap.named("prod-events-bus").inputs == {
        "name": "prod-events", "kmsKeyIdentifier": KEY,
        "description": "Events of prod-events's services", "deadLetterConfig": {"arn": DLQ}}
    archive = cap.named("prod-events-archive").inputs
    assert {k: v for k, v in archive.items() if k != "eventSourceArn"} == {
        "name": "prod-events-archive", "retentionDays": 30, "kmsKeyIdentifier": KEY,
        "description": "Every event on prod-events, for replay"}
    assert cap.named("prod-events-dlq").inputs == {
        "name": "prod-events-dlq", "kmsMasterKeyId": KEY, "kmsDataKeyReusePeriodSeconds": 300,
        "messageRetentionSeconds": 1209600}
    assert json.loads(cap.named("prod-events-dlq-policy").inputs["policy"])["Statement"] == [
        {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "sqs:*",
         "Resource": DLQ, "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        {"Sid": "BusAndRules", "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
         "Action": "sqs:SendMessage", "Resource": DLQ,
         "Condition": {"ArnEquals": {"aws:SourceArn": [BUS, RULE]}}}]
    assert not cap.of_type("aws:schemas/discoverer:Discoverer")


def test_archive_and_discovery_switches() -> None:
    cap = run(base(archive=False, schema_discovery=True))
    assert not cap.of_type("aws:cloudwatch/eventArchive:EventArchive")
    assert len(cap.of_type("aws:schemas/discoverer:Discoverer")) == 1


def test_rule_and_targets() -> None:
    cap = run(base())
    assert cap.named("prod-events-order-paid").inputs == {
        "name": "prod-events-order-paid", "eventBusName": "prod-events", "state": "ENABLED",
        "eventPattern": '{"detail-type": ["OrderPaid"], "source": ["orders"]}',
        "description": "Routes events of prod-events"}
    common = {"rule": "prod-events-order-paid", "eventBusName": "prod-events",
              "deadLetterConfig": {"arn": DLQ}}
    fulfil = cap.named("prod-events-order-paid-fulfil").inputs
    assert {k: v for k, v in fulfil.items() if k != "roleArn"} == {
        **common, "targetId": "fulfil", "arn": MACHINE,
        "retryPolicy": {"maximumRetryAttempts": 24, "maximumEventAgeInSeconds": 3600},
        "inputTransformer": {"inputPaths": {"orderId": "$.detail.orderId"},
                             "inputTemplate": '{"detail": {"orderId": <orderId>}}'}}
    defaults = {"maximumRetryAttempts": 185, "maximumEventAgeInSeconds": 86400}
    assert cap.named("prod-events-order-paid-bill").inputs == {
        **common, "targetId": "bill", "arn": BILLING, "retryPolicy": defaults}
    assert cap.named("prod-events-order-paid-announce").inputs == {
        **common, "targetId": "announce", "arn": TOPIC, "retryPolicy": defaults}
    assert cap.named("prod-events-order-paid-ledger").inputs == {
        **common, "targetId": "ledger", "arn": FIFO_QUEUE, "retryPolicy": defaults,
        "sqsTarget": {"messageGroupId": "orders"}}


def test_function_target_is_invoked_only_by_its_rule() -> None:
    assert run(base()).named("prod-events-order-paid-bill-invoke").inputs == {
        "action": "lambda:InvokeFunction", "function": BILLING,
        "principal": "events.amazonaws.com", "sourceArn": RULE, "sourceAccount": A,
        "statementId": "events-prod-events-order-paid-bill"}


def test_workflow_targets_start_through_a_role_for_that_rule_only() -> None:
    cap = run(base())
    role = cap.named("prod-events-order-paid-targets").inputs
    assert json.loads(role["assumeRolePolicy"])["Statement"] == [{
        "Sid": "AssumeRole", "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
        "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"aws:SourceAccount": A},
                                                  "ArnLike": {"aws:SourceArn": RULE}}}]
    policy = cap.named("prod-events-order-paid-targets-policy").inputs
    assert json.loads(policy["policy"])["Statement"] == [
        {"Sid": "StartWorkflows", "Effect": "Allow", "Action": ["states:StartExecution"],
         "Resource": [MACHINE]},
        {"Sid": "WorkflowData", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
         "Resource": [f"arn:aws:kms:{R}:{A}:key/*"],
         "Condition": {"ForAnyValue:StringEquals": {"kms:ResourceAliases": "alias/prod-key"}}}]


def test_rules_without_workflows_get_no_role() -> None:
    rules = {"order-paid": {"event_pattern": {"source": ["orders"]},
                            "targets": {"bill": {"function": "billing"}}}}
    cap = run(base(rules=rules))
    assert not cap.of_type("aws:iam/role:Role")


@pytest.mark.parametrize(("spec", "expected"), [
    ({"rules": {"r1": {"event_pattern": {}, "targets": {}}}},
     [Problem(("rules", "r1", "event_pattern"), "must match something: an empty pattern is "
                                                "rejected"),
      Problem(("rules", "r1", "targets"), "a rule has 1 to 5 targets (got 0)")]),
    ({"rules": {"r1": {"event_pattern": {"source": "orders"},
                       "targets": {"t1": {"topic": "a", "function": "b"}}}}},
     [Problem(("rules", "r1", "event_pattern"), "every field must be a list of values or a "
                                                "nested pattern"),
      Problem(("rules", "r1", "targets", "t1"), "set exactly one of topic, queue, function or "
                                                "workflow")]),
    ({"rules": {"r1": {"event_pattern": {"source": ["orders"]}, "targets": {
        "t1": {"queue": "ledger/billing"}, "t2": {"topic": "a", "message_group_id": "g",
                                                  "dead_letter": False}}}}},
     [Problem(("rules", "r1", "targets", "t1", "message_group_id"),
              "required: the queue is FIFO"),
      Problem(("rules", "r1", "targets", "t2", "message_group_id"),
              "applies only to FIFO queue targets"),
      Problem(("rules", "r1", "targets", "t2", "dead_letter"),
              "fan-out without a dead-letter queue: the rule has 2 targets, and a message this "
              "target fails would be lost while the others got it; remove deadLetter: false")]),
    ({"rules": {"r1": {"event_pattern": {"source": ["orders"]}, "targets": {
        "t1": {"topic": "a", "max_retry_attempts": 200, "max_event_age_seconds": 30,
               "input_transformer": {"input_paths": {"id": "detail.id"},
                                     "input_template": "{}"}}}}}},
     [Problem(("rules", "r1", "targets", "t1", "max_retry_attempts"),
              "maxRetryAttempts must be between 0 and 185 (got 200)"),
      Problem(("rules", "r1", "targets", "t1", "max_event_age_seconds"),
              "maxEventAgeSeconds must be between 60 and 86400 (got 30)"),
      Problem(("rules", "r1", "targets", "t1", "input_transformer", "input_paths", "id"),
              "'detail.id' is not a JSON path ($.detail...)"),
      Problem(("rules", "r1", "targets", "t1", "input_transformer", "input_paths", "id"),
              "<id> is not used in inputTemplate")]),
    ({"archive": False, "archive_retention_days": 0},
     [Problem(("archive_retention_days",), "archiveRetentionDays must be between 1 and 3650 "
                                           "(got 0)"),
      Problem(("archive_retention_days",), "applies only with the archive: remove it or set "
                                           "archive: true")]),
])
def test_checks(spec: dict[str, Any], expected: list[Problem]) -> None:
    assert check_event_bus(spec, ["ledger/billing"]) == expected  # type: ignore[arg-type]


def test_targets_need_their_arns() -> None:
    with pytest.raises(ArgsError) as err:
        run(base(workflows={}))
    assert str(err.value) == ("EventBus 'prod-events': rules.order-paid.targets.fulfil.workflow: "
                              "no ARN given for workflow 'fulfilment'")
