"""SNS topics and SQS queues: customer-managed encryption, TLS-only topic policies,
dead-letter queues everywhere a message can keep failing, and resource policies that admit
AWS services only for their named sources."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

from .core import (
    Resource,
    Settings,
    Stack,
    as_list,
    is_unknown,
    load_json,
    num,
    resource_policy,
    stack_policy,
    unknown,
)
from .iam import Statement, per_statement
from .s3 import denies_insecure_transport

TOPIC = "aws:sns/topic:Topic"
TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
QUEUE = "aws:sqs/queue:Queue"
QUEUE_POLICY = "aws:sqs/queuePolicy:QueuePolicy"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
BUS_POLICY = "aws:cloudwatch/eventBusPolicy:EventBusPolicy"


@resource_policy(
    "sns-topic-kms",
    types=(TOPIC,),
    description="Topics are encrypted with a KMS key.",
    severity="medium", fsbp=("SNS.1",), refs=("cdk-nag AS-SNS2", "checkov CKV_AWS_26"),
    remediation="Set kmsMasterKeyId to the platform's messaging key.",
)
def topic_kms(r: Resource, s: Settings) -> Iterator[str]:
    if r.get("kmsMasterKeyId") is None:
        yield "kmsMasterKeyId is not set"


@resource_policy(
    "sqs-queue-kms",
    types=(QUEUE,),
    description="Queues are encrypted with a KMS key.",
    severity="medium", fsbp=("SQS.1",), refs=("cdk-nag AS-SQS2", "checkov CKV_AWS_27"),
    remediation="Set kmsMasterKeyId to the platform's messaging key.",
)
def queue_kms(r: Resource, s: Settings) -> Iterator[str]:
    if r.get("kmsMasterKeyId") is None:
        yield "kmsMasterKeyId is not set"


@resource_policy(
    "sns-topic-policy-tls-only",
    types=(TOPIC_POLICY,),
    description="Topic policies deny publishing without TLS (aws:SecureTransport false).",
    severity="high", guardrail="tls", refs=("cdk-nag AS-SNS3",),
    remediation="Add a statement: Effect Deny, Principal '*', Action 'sns:Publish', Condition "
                "Bool aws:SecureTransport false.",
)
def topic_tls(r: Resource, s: Settings) -> Iterator[str]:
    try:
        doc = load_json(r.get("policy"))
    except ValueError as exc:
        yield f"policy {exc}"
        return
    if is_unknown(doc):
        yield unknown("policy", "publishing requires TLS")
    elif not denies_insecure_transport(doc, ("sns:publish", "sns:*", "*")):
        yield "policy does not deny publishing with aws:SecureTransport false"


@resource_policy(
    "sns-subscription-no-plaintext",
    types=(SUBSCRIPTION,),
    description="Topic subscriptions do not deliver over plain HTTP.",
    severity="medium",
    remediation="Subscribe https:// endpoints (protocol https), never http.",
)
def subscription_tls(r: Resource, s: Settings) -> Iterator[str]:
    protocol = r.get("protocol")
    if is_unknown(protocol):
        yield unknown("protocol", "notifications travel over TLS")
    elif protocol == "http":
        yield "protocol is http; notifications would travel in plaintext"


SUBSCRIPTION_DLQ_PROTOCOLS = ("sqs", "lambda", "firehose")

# resource type -> properties through which it names a dead-letter queue or failure target
DLQ_REFERENCES: dict[str, tuple[str, ...]] = {
    QUEUE: ("redrivePolicy",),
    SUBSCRIPTION: ("redrivePolicy",),
    "aws:cloudwatch/eventTarget:EventTarget": ("deadLetterConfig",),
    "aws:cloudwatch/eventBus:EventBus": ("deadLetterConfig",),
    "aws:lambda/function:Function": ("deadLetterConfig",),
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": ("destinationConfig",),
    "aws:lambda/eventSourceMapping:EventSourceMapping": ("destinationConfig",),
    "aws:pipes/pipe:Pipe": ("sourceParameters",),
}


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
        with contextlib.suppress(ValueError):
            yield from _strings(json.loads(value))
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


@stack_policy(
    "sqs-queue-dlq",
    types=(QUEUE, *DLQ_REFERENCES),
    description="Every queue either redrives failed messages to a dead-letter queue or is "
                "itself one (the dead-letter queue, or failure destination, of a queue, "
                "subscription, rule target, bus or function).",
    severity="medium", refs=("cdk-nag AwsSolutions-SQS3", "checkov CKV_AWS_27 (related)"),
    remediation="Set redrivePolicy {deadLetterTargetArn, maxReceiveCount} to a queue that "
                "keeps messages at least as long (components.topic does this for every "
                "subscription).",
)
def queue_dlq(stack: Stack, s: Settings) -> Iterator[tuple[Resource, str]]:
    referenced: set[int] = set()
    arns: set[str] = set()
    for r in stack.of_type(*DLQ_REFERENCES):
        for prop in DLQ_REFERENCES[r.type]:
            referenced.update(id(d) for d in r.deps(prop, (QUEUE,)))
            arns.update(a for a in _strings(r.get(prop)) if a.startswith("arn:"))
    names = {a.rsplit(":", 1)[-1] for a in arns if ":sqs:" in a}
    for queue in stack.of_type(QUEUE):
        if queue.get("redrivePolicy") is not None or id(queue) in referenced:
            continue
        if isinstance(queue.get("name"), str) and queue.get("name") in names:
            continue
        yield queue, ("queue has no dead-letter queue (redrivePolicy) and is no other "
                      "resource's dead-letter queue: messages that keep failing are retried "
                      "until they expire")


@resource_policy(
    "sns-subscription-dlq",
    types=(SUBSCRIPTION,),
    description="Subscriptions to queues, functions and Firehose keep what SNS cannot deliver "
                "in a dead-letter queue (redrivePolicy).",
    severity="medium", refs=("AWS SNS DLQ best practice",),
    remediation="Set redrivePolicy {deadLetterTargetArn} to an SQS queue whose policy lets "
                "this topic (aws:SourceArn) send to it.",
)
def subscription_dlq(r: Resource, s: Settings) -> Iterator[str]:
    protocol = r.get("protocol")
    if is_unknown(protocol):
        yield unknown("protocol", "undeliverable messages are kept")
        return
    if protocol not in SUBSCRIPTION_DLQ_PROTOCOLS:
        return
    policy = r.get("redrivePolicy")
    if policy is None:
        yield f"{protocol} subscription has no redrivePolicy; messages SNS cannot deliver are lost"
        return
    try:
        doc = load_json(policy)
    except ValueError as exc:
        yield f"redrivePolicy {exc}"
        return
    if isinstance(doc, dict) and not is_unknown(doc) and not doc.get("deadLetterTargetArn"):
        yield "redrivePolicy names no deadLetterTargetArn"


@stack_policy(
    "sqs-dlq-retention",
    types=(QUEUE,),
    description="A dead-letter queue keeps messages at least as long as the queues that "
                "redrive to it (a standard queue's message keeps its original enqueue time, "
                "so a shorter retention silently drops it).",
    severity="medium", refs=("AWS SQS dead-letter queue guidance",),
    remediation="Set the dead-letter queue's messageRetentionSeconds to at least the source "
                "queue's (the platform uses 14 days, the maximum).",
)
def dlq_retention(stack: Stack, s: Settings) -> Iterator[tuple[Resource, str]]:
    queues = stack.of_type(QUEUE)
    by_name = {q.get("name"): q for q in queues if isinstance(q.get("name"), str)}
    for source in queues:
        policy = source.get("redrivePolicy")
        if policy is None or is_unknown(policy):
            continue
        try:
            doc = load_json(policy)
        except ValueError:
            continue  # sqs-queue-dlq and the provider report malformed policies
        target = doc.get("deadLetterTargetArn") if isinstance(doc, dict) else None
        dlqs = source.deps("redrivePolicy", (QUEUE,))
        if not dlqs and isinstance(target, str) and target.rsplit(":", 1)[-1] in by_name:
            dlqs = [by_name[target.rsplit(":", 1)[-1]]]
        for dlq in dlqs:
            kept, need = (dlq.get("messageRetentionSeconds", DEFAULT_RETENTION),
                          source.get("messageRetentionSeconds", DEFAULT_RETENTION))
            if is_unknown(kept) or is_unknown(need):
                yield dlq, unknown("messageRetentionSeconds", "the dead-letter queue keeps "
                                                              "messages long enough")
            elif num(kept) < num(need):
                yield dlq, (f"keeps messages {num(kept)} s but its source queue "
                            f"{source.name} keeps them {num(need)} s")


DEFAULT_RETENTION = 345600
"""SQS keeps a message four days unless told otherwise."""

SOURCE_KEYS = ("aws:sourcearn", "aws:sourceaccount", "aws:sourceorgid")


def service_principal_unscoped(st: Statement) -> list[str]:
    """AWS service principals an Allow statement admits without a source condition."""
    principal = st.body.get("Principal")
    if not st.allow or not isinstance(principal, dict):
        return []
    services = [p for p in as_list(principal.get("Service")) if isinstance(p, str)]
    condition = st.body.get("Condition")
    keys = {k.lower() for block in (condition or {}).values() if isinstance(block, dict)
            for k in block} if isinstance(condition, dict) else set()
    return [] if keys & set(SOURCE_KEYS) else services


@resource_policy(
    "messaging-policy-source-scoped",
    types=(QUEUE_POLICY, TOPIC_POLICY, QUEUE, TOPIC, BUS_POLICY),
    description="Queue, topic and event bus policies admit AWS services (SNS, EventBridge, "
                "S3, ...) only for named sources: aws:SourceArn, aws:SourceAccount or "
                "aws:SourceOrgID.",
    severity="high", fsbp=("SNS.4", "SQS.3"),
    refs=("cdk-nag AwsSolutions-SQS4 (related)", "AWS confused-deputy prevention"),
    remediation="Add Condition ArnEquals aws:SourceArn <the topic, rule or bucket> (or "
                "StringEquals aws:SourceAccount) to the statement that allows the service.",
)
@per_statement("service principals are scoped to their source", trust=None)
def policy_source_scoped(r: Resource, s: Settings, where: str,
                         st: Statement) -> Iterator[str]:
    if any(is_unknown(v) for v in (st.body.get("Principal"), st.body.get("Condition"))):
        yield unknown(f"{where}: {st.label} Principal/Condition", "the service is scoped")
        return
    unscoped = service_principal_unscoped(st)
    if unscoped:
        yield (f"{where}: {st.label} admits {', '.join(unscoped)} without an aws:SourceArn "
               "or aws:SourceAccount condition")
