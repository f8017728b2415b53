"""The prod stack's event flow, as the program builds it: who may publish, consume, put
events and start the workflow (exact statements), what each workload is told (environment),
the dead-letter wiring and the alarms."""

import json
from typing import Any

import pytest
from test_stacks import run_program, stack_config

from preflight.capture import Capture

ACCT, REGION = "123456789012", "eu-west-1"
TOPIC = f"arn:aws:sns:{REGION}:{ACCT}:prod-order-events"
BUS = f"arn:aws:events:{REGION}:{ACCT}:event-bus/prod-events"
MACHINE = f"arn:aws:states:{REGION}:{ACCT}:stateMachine:prod-fulfilment"
CONSUME = ["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
           "sqs:GetQueueUrl", "sqs:ReceiveMessage"]
PLATFORM_KEY = {"Sid": "PlatformKey", "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": [f"arn:aws:kms:{REGION}:{ACCT}:key/*"],
                "Condition": {"ForAnyValue:StringEquals": {"kms:ResourceAliases":
                                                           "alias/prod-key"}}}


def sqs(name: str) -> str:
    return f"arn:aws:sqs:{REGION}:{ACCT}:{name}"


@pytest.fixture(scope="module")
def prod() -> Capture:
    return run_program("prod", stack_config("prod"))


def statements(cap: Capture, name: str) -> list[dict[str, Any]]:
    return json.loads(cap.named(name).inputs["policy"])["Statement"]


def environment(cap: Capture, service: str) -> dict[str, str]:
    containers = json.loads(cap.named(f"prod-{service}-taskdef").inputs["containerDefinitions"])
    return {e["name"]: e["value"] for e in containers[0]["environment"]}


def test_prod_has_the_whole_flow(prod: Capture) -> None:
    """A topic with two subscribers (a function and a service), a rule and a workflow."""
    subscriptions = prod.of_type("aws:sns/topicSubscription:TopicSubscription")
    assert sorted((s.name, s.inputs["protocol"], s.inputs["topic"]) for s in subscriptions
                  if s.inputs["topic"] == TOPIC) == [
        ("prod-order-events-billing-subscription", "sqs", TOPIC),
        ("prod-order-events-orders-subscription", "sqs", TOPIC)]
    assert [r.inputs["name"] for r in prod.of_type("aws:cloudwatch/eventRule:EventRule")
            if r.inputs.get("eventBusName") == "prod-events"] == ["prod-events-order-paid"]
    assert [r.inputs["name"] for r in prod.of_type("aws:sfn/stateMachine:StateMachine")] == [
        "prod-fulfilment"]


def test_the_publisher_may_publish_and_nothing_else(prod: Capture) -> None:
    assert statements(prod, "prod-web-task-policy") == [
        {"Sid": "Platform0Topic", "Effect": "Allow", "Action": ["sns:Publish"],
         "Resource": [TOPIC]},
        PLATFORM_KEY]
    assert environment(prod, "web")["TOPIC_ORDER_EVENTS_ARN"] == TOPIC


def test_the_service_consumer_reads_its_own_queue_puts_its_own_source_and_starts(
        prod: Capture) -> None:
    found = statements(prod, "prod-orders-task-policy")
    assert found[2:] == [
        {"Sid": "Platform2Queue", "Effect": "Allow", "Action": CONSUME,
         "Resource": [sqs("prod-order-events-orders")]},
        {"Sid": "Platform3EventBus", "Effect": "Allow", "Action": ["events:PutEvents"],
         "Resource": [BUS], "Condition": {"StringEquals": {"events:source": "orders"}}},
        {"Sid": "Platform4Workflow", "Effect": "Allow", "Action": ["states:StartExecution"],
         "Resource": [MACHINE]},
        PLATFORM_KEY]
    env = environment(prod, "orders")
    assert {k: env[k] for k in ("QUEUE_ORDER_EVENTS_URL", "EVENT_BUS_NAME", "EVENT_SOURCE",
                                "WORKFLOW_FULFILMENT_ARN")} == {
        "QUEUE_ORDER_EVENTS_URL": f"https://sqs.{REGION}.amazonaws.com/{ACCT}/"
                                  "prod-order-events-orders",
        "EVENT_BUS_NAME": "prod-events", "EVENT_SOURCE": "orders",
        "WORKFLOW_FULFILMENT_ARN": MACHINE}


def test_the_function_consumer_reads_exactly_its_queue(prod: Capture) -> None:
    assert statements(prod, "prod-billing-policy")[-1] == {
        "Sid": "Grant1Queue", "Effect": "Allow", "Action": CONSUME,
        "Resource": [sqs("prod-order-events-billing")]}
    mapping = prod.named("prod-order-events-billing-source").inputs
    assert (mapping["eventSourceArn"], mapping["functionResponseTypes"]) == (
        sqs("prod-order-events-billing"), ["ReportBatchItemFailures"])
    # 6 x the function's 20 s timeout
    assert prod.named("prod-order-events-billing-queue").inputs["visibilityTimeoutSeconds"] == 120


def test_every_queue_is_dead_lettered(prod: Capture) -> None:
    for sub in ("billing", "orders"):
        queue = prod.named(f"prod-order-events-{sub}-queue").inputs
        assert json.loads(queue["redrivePolicy"])["deadLetterTargetArn"] == sqs(
            f"prod-order-events-{sub}-dlq")
    target = prod.named("prod-events-order-paid-fulfilment").inputs
    assert target["deadLetterConfig"] == {"arn": sqs("prod-events-dlq")}
    assert target["retryPolicy"] == {"maximumRetryAttempts": 24, "maximumEventAgeInSeconds": 3600}


def test_the_flow_is_alarmed(prod: Capture) -> None:
    names = sorted(r.inputs["name"] for r in prod.of_type("aws:cloudwatch/metricAlarm:MetricAlarm"))
    flow = [n for n in names if n.startswith(("prod-order-", "prod-fulfilment-", "prod-events-"))]
    assert flow == [
        "prod-events-dlq-age", "prod-events-dlq-messages",
        "prod-fulfilment-executions-failed", "prod-fulfilment-executions-throttled",
        "prod-fulfilment-executions-timed-out",
        "prod-order-events-billing-dlq-age", "prod-order-events-billing-dlq-messages",
        "prod-order-events-billing-oldest-message",
        "prod-order-events-failed-deliveries",
        "prod-order-events-orders-dlq-age", "prod-order-events-orders-dlq-messages",
        "prod-order-events-orders-oldest-message",
        "prod-order-events-publish-throttles", "prod-order-events-redrive-failures",
        "prod-order-paid-dead-lettered", "prod-order-paid-failed-invocations",
        "prod-order-paid-throttled"]
    by_name = {r.inputs["name"]: r.inputs for r in prod.of_type(
        "aws:cloudwatch/metricAlarm:MetricAlarm")}
    dlq = by_name["prod-order-events-billing-dlq-messages"]
    assert (dlq["namespace"], dlq["metricName"], dlq["dimensions"], dlq["threshold"]) == (
        "AWS/SQS", "ApproximateNumberOfMessagesVisible",
        {"QueueName": "prod-order-events-billing-dlq"}, 0)
    failed = by_name["prod-fulfilment-executions-failed"]
    assert (failed["namespace"], failed["metricName"], failed["dimensions"]) == (
        "AWS/States", "ExecutionsFailed", {"StateMachineArn": MACHINE})
    throttles = by_name["prod-order-events-publish-throttles"]
    assert (throttles["namespace"], throttles["metricName"], throttles["dimensions"]) == (
        "AWS/Usage", "ThrottleCount",
        {"Service": "SNS", "Type": "API", "Resource": "Publish", "Class": "None"})
