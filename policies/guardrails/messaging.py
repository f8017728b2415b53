"""SNS topics and SQS queues: customer-managed encryption and TLS-only topic policies."""

from __future__ import annotations

from collections.abc import Iterator

from .core import Resource, Settings, is_unknown, load_json, resource_policy, unknown
from .s3 import denies_insecure_transport

TOPIC = "aws:sns/topic:Topic"
TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
QUEUE = "aws:sqs/queue:Queue"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"


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
