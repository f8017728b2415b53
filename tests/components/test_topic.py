"""Topic under recording mocks: the exact topic and queue policies, DLQ wiring per
subscriber, direct and queued function delivery, FIFO naming and the checks."""

import json
from typing import Any

import pytest

from components.topic import Topic, TopicArgs, check_topic
from components.validation import ArgsError, Problem
from preflight.capture import ACCOUNT_ID, Capture, capture

REGION = "us-east-1"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/platform"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:prod-order-events"
BILLING = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:prod-billing"
AUDIT = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:prod-audit"
RULE = f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/prod-events/prod-events-order-paid"


def sqs(name: str) -> str:
    return f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{name}"


def base(**extra: Any) -> TopicArgs:
    args: dict[str, Any] = {
        "topic_name": "prod-order-events", "kms_key_arn": KEY,
        "publishers": [{"service": "web"}],
        "subscribers": {
            "billing": {"function": "billing", "filter_policy": {"eventType": ["OrderPlaced"]},
                        "max_receive_count": 3},
            "orders": {"service": "orders", "visibility_timeout_seconds": 60},
        },
        "function_arns": {"billing": BILLING}, "function_timeouts": {"billing": 20}}
    args.update(extra)
    return args  # type: ignore[return-value]


def run(args: TopicArgs) -> Capture:
    return capture(lambda: Topic("prod-order-events", args), preview=True)


def policy(cap: Capture, name: str) -> list[dict[str, Any]]:
    return json.loads(cap.named(name).inputs["policy"])["Statement"]


def tls_deny(action: str, resource: str) -> dict[str, Any]:
    return {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*",
            "Action": action, "Resource": resource,
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}


def only_topic(queue: str) -> dict[str, Any]:
    return {"Sid": "Topic", "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
            "Action": "sqs:SendMessage", "Resource": queue,
            "Condition": {"ArnEquals": {"aws:SourceArn": [TOPIC]}}}


def test_children_per_subscriber() -> None:
    cap = run(base())
    assert sorted((r.type, r.name) for r in cap.registrations) == sorted([
        ("microservices:index:Topic", "prod-order-events"),
        ("aws:sns/topic:Topic", "prod-order-events-topic"),
        ("aws:sns/topicPolicy:TopicPolicy", "prod-order-events-policy"),
        *[(t, f"prod-order-events-{s}-{suffix}") for s in ("billing", "orders")
          for t, suffix in (("aws:sqs/queue:Queue", "dlq"),
                            ("aws:sqs/queuePolicy:QueuePolicy", "dlq-policy"),
                            ("aws:sqs/queue:Queue", "queue"),
                            ("aws:sqs/queuePolicy:QueuePolicy", "queue-policy"),
                            ("aws:sns/topicSubscription:TopicSubscription", "subscription"))],
        ("aws:lambda/eventSourceMapping:EventSourceMapping", "prod-order-events-billing-source"),
    ])


def test_topic_is_encrypted_traced_and_tls_only() -> None:
    cap = run(base(event_rule_arns=[RULE]))
    assert cap.named("prod-order-events-topic").inputs == {
        "name": "prod-order-events", "kmsMasterKeyId": KEY, "tracingConfig": "Active",
        "signatureVersion": 2}
    assert policy(cap, "prod-order-events-policy") == [
        tls_deny("sns:Publish", TOPIC),
        {"Sid": "EventRules", "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
         "Action": "sns:Publish", "Resource": TOPIC,
         "Condition": {"ArnEquals": {"aws:SourceArn": [RULE]}}}]


def test_without_rules_the_topic_policy_only_denies_plaintext() -> None:
    assert policy(run(base()), "prod-order-events-policy") == [tls_deny("sns:Publish", TOPIC)]


def test_each_queue_admits_exactly_its_topic_and_redrives_to_its_dlq() -> None:
    cap = run(base())
    for sub, receives, visibility in (("billing", 3, 120), ("orders", 5, 60)):
        queue, dlq = f"prod-order-events-{sub}", f"prod-order-events-{sub}-dlq"
        assert cap.named(f"prod-order-events-{sub}-queue").inputs == {
            "name": queue, "kmsMasterKeyId": KEY, "kmsDataKeyReusePeriodSeconds": 300,
            "visibilityTimeoutSeconds": visibility, "messageRetentionSeconds": 345600,
            "redrivePolicy": json.dumps({"deadLetterTargetArn": sqs(dlq),
                                         "maxReceiveCount": receives})}
        assert cap.named(f"prod-order-events-{sub}-dlq").inputs == {
            "name": dlq, "kmsMasterKeyId": KEY, "kmsDataKeyReusePeriodSeconds": 300,
            "messageRetentionSeconds": 1209600}
        assert policy(cap, f"prod-order-events-{sub}-queue-policy") == [
            tls_deny("sqs:*", sqs(queue)), only_topic(sqs(queue))]
        # SNS parks what it cannot deliver to the queue in the same dead-letter queue.
        assert policy(cap, f"prod-order-events-{sub}-dlq-policy") == [
            tls_deny("sqs:*", sqs(dlq)), only_topic(sqs(dlq))]


def test_queue_subscriptions_are_raw_filtered_and_dead_lettered() -> None:
    cap = run(base())
    assert cap.named("prod-order-events-billing-subscription").inputs == {
        "topic": TOPIC, "protocol": "sqs", "endpoint": sqs("prod-order-events-billing"),
        "rawMessageDelivery": True, "filterPolicy": '{"eventType": ["OrderPlaced"]}',
        "filterPolicyScope": "MessageAttributes",
        "redrivePolicy": json.dumps({"deadLetterTargetArn": sqs("prod-order-events-billing-dlq")})}
    assert cap.named("prod-order-events-orders-subscription").inputs == {
        "topic": TOPIC, "protocol": "sqs", "endpoint": sqs("prod-order-events-orders"),
        "rawMessageDelivery": True,
        "redrivePolicy": json.dumps({"deadLetterTargetArn": sqs("prod-order-events-orders-dlq")})}


def test_function_consumes_its_queue_with_partial_batch_failures() -> None:
    cap = run(base())
    assert cap.named("prod-order-events-billing-source").inputs == {
        "functionName": BILLING, "eventSourceArn": sqs("prod-order-events-billing"),
        "batchSize": 10, "functionResponseTypes": ["ReportBatchItemFailures"]}


def test_direct_function_delivery_is_scoped_to_the_topic_and_dead_lettered() -> None:
    cap = run(base(subscribers={"audit": {"function": "audit", "delivery": "direct"}},
                   function_arns={"audit": AUDIT}, function_timeouts={}))
    assert cap.named("prod-order-events-audit-invoke").inputs == {
        "action": "lambda:InvokeFunction", "function": AUDIT, "principal": "sns.amazonaws.com",
        "sourceArn": TOPIC, "statementId": "sns-prod-order-events-audit"}
    assert cap.named("prod-order-events-audit-subscription").inputs == {
        "topic": TOPIC, "protocol": "lambda", "endpoint": AUDIT,
        "redrivePolicy": json.dumps({"deadLetterTargetArn": sqs("prod-order-events-audit-dlq")})}
    assert not cap.of_type("aws:lambda/eventSourceMapping:EventSourceMapping")
    assert [r.name for r in cap.of_type("aws:sqs/queue:Queue")] == ["prod-order-events-audit-dlq"]


def test_fifo_topic_and_queues_carry_the_suffix() -> None:
    cap = run(base(fifo=True, content_based_deduplication=True))
    assert cap.named("prod-order-events-topic").inputs["name"] == "prod-order-events.fifo"
    assert cap.named("prod-order-events-topic").inputs["fifoTopic"] is True
    assert cap.named("prod-order-events-topic").inputs["contentBasedDeduplication"] is True
    queue = cap.named("prod-order-events-billing-queue").inputs
    assert (queue["name"], queue["fifoQueue"]) == ("prod-order-events-billing.fifo", True)
    assert json.loads(queue["redrivePolicy"])["deadLetterTargetArn"] == sqs(
        "prod-order-events-billing-dlq.fifo")
    assert cap.named("prod-order-events-billing-subscription").inputs["topic"] == \
        TOPIC + ".fifo"


def test_rules_may_send_to_a_subscription_queue() -> None:
    cap = run(base(queue_event_rule_arns={"orders": [RULE]}))
    queue = sqs("prod-order-events-orders")
    assert policy(cap, "prod-order-events-orders-queue-policy") == [
        tls_deny("sqs:*", queue), only_topic(queue),
        {"Sid": "EventRules", "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
         "Action": "sqs:SendMessage", "Resource": queue,
         "Condition": {"ArnEquals": {"aws:SourceArn": [RULE]}}}]


@pytest.mark.parametrize(("spec", "expected"), [
    ({"content_based_deduplication": True},
     [Problem(("content_based_deduplication",),
              "applies only to FIFO topics: set fifo: true or remove it")]),
    ({"publishers": [{"service": "web", "function": "web"}, {}]},
     [Problem(("publishers", 0), "set exactly one of service or function"),
      Problem(("publishers", 1), "set exactly one of service or function")]),
    ({"publishers": [{"service": "web"}, {"service": "web"}]},
     [Problem(("publishers", 1), "web is listed twice")]),
    ({"fifo": True, "subscribers": {"audit": {"function": "audit", "delivery": "direct"}}},
     [Problem(("subscribers", "audit", "delivery"),
              "FIFO topics deliver only to FIFO queues: use delivery queue")]),
    ({"subscribers": {"orders": {"service": "orders", "delivery": "direct"}}},
     [Problem(("subscribers", "orders", "delivery"),
              "a service reads its own queue: use delivery queue")]),
    ({"subscribers": {"orders": {"service": "orders", "batch_size": 5}}},
     [Problem(("subscribers", "orders", "batch_size"),
              "applies only to function subscribers")]),
    ({"subscribers": {"b": {"function": "b", "delivery": "direct", "max_receive_count": 3}}},
     [Problem(("subscribers", "b"), "'b' is not a valid name: use 2-32 lowercase letters, "
                                    "digits and single hyphens, starting with a letter"),
      Problem(("subscribers", "b", "max_receive_count"), "applies only to delivery queue")]),
    ({"subscribers": {"billing": {"function": "billing", "max_receive_count": 0,
                                  "visibility_timeout_seconds": 50000}}},
     [Problem(("subscribers", "billing", "max_receive_count"),
              "maxReceiveCount must be between 1 and 1000 (got 0)"),
      Problem(("subscribers", "billing", "visibility_timeout_seconds"),
              "visibilityTimeoutSeconds must be between 0 and 43200 (got 50000)")]),
    ({"subscribers": {"billing": {"function": "billing",
                                  "filter_policy": {"order": {"total": [{"numeric": [">", 100]}]}}}}},
     [Problem(("subscribers", "billing", "filter_policy", "order"),
              "must be a non-empty list of values or matchers (nested attributes need "
              "filterPolicyScope MessageBody)")]),
    ({"subscribers": {"billing": {"function": "billing", "filter_policy_scope": "MessageBody"}}},
     [Problem(("subscribers", "billing", "filter_policy_scope"), "needs a filterPolicy")]),
    ({"subscribers": {"billing": {"function": "billing", "dead_letter": False},
                      "orders": {"service": "orders"}}},
     [Problem(("subscribers", "billing", "dead_letter"),
              "fan-out without a dead-letter queue: the topic has 2 subscribers, and a "
              "message this subscriber fails would be lost while the others got it; remove "
              "deadLetter: false")]),
])
def test_checks(spec: dict[str, Any], expected: list[Problem]) -> None:
    assert check_topic(spec) == expected  # type: ignore[arg-type]


def test_nested_filter_policies_are_allowed_on_the_message_body() -> None:
    assert check_topic({"subscribers": {"billing": {
        "function": "billing", "filter_policy_scope": "MessageBody",
        "filter_policy": {"order": {"total": [{"numeric": [">", 100]}]}}}}}) == []


def test_long_queue_names_are_rejected_before_anything_exists() -> None:
    long_key = "a" * 32
    with pytest.raises(ArgsError, match="would exceed 80 characters"):
        run(base(topic_name="prod-" + "b" * 40,
                 subscribers={long_key: {"service": "orders"}}))


def test_function_subscribers_need_their_wiring() -> None:
    with pytest.raises(ArgsError) as err:
        run(base(function_arns={}, function_timeouts={}))
    assert str(err.value).splitlines() == [
        "Topic 'prod-order-events': functionArns.billing: subscriber 'billing' needs the ARN "
        "of function billing",
        "Topic 'prod-order-events': functionTimeouts.billing: subscriber 'billing' needs the "
        "timeout of function billing"]
