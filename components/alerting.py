"""Alerting: the one SNS topic per environment that every alarm notifies, its subscribers,
and the stack-file section that tunes observability as a whole (:class:`ObservabilitySpec`).

The topic is encrypted with the platform key, refuses publishing over plain HTTP and lets
CloudWatch publish only for alarms of this account. Its name (``<environment>-alerts``) and
ARN are known before deployment, so the topic policy is known at preview and the policy pack
can judge it.

The platform key's policy must let CloudWatch use the key, or encrypted publishing fails
silently: list ``cloudwatch.amazonaws.com`` among the EncryptionKey's service principals.
"""


import hashlib
import re
from collections.abc import Mapping
from typing import Any, NotRequired

import pulumi
import pulumi_aws as aws
from typing_extensions import TypedDict

from .alarms import SIGNALS, AlarmOverride, check_alarm_overrides
from .base import Statement, child_opts, invoke_opts, policy_document, type_token
from .dashboard import DashboardSpec, check_dashboard
from .tracing import TracingSpec, check_tracing
from .validation import PathItem, Problem, check_key, did_you_mean, raise_for

EMAIL_RE = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
HOST_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*"
                     r"[A-Za-z0-9])?)+(:\d{1,5})?$")


class AlertingSpec(TypedDict):
    """Who hears about alarms."""

    emails: NotRequired[list[str]]
    """Addresses subscribed by email (each must confirm the subscription)."""
    https_endpoints: NotRequired[list[str]]
    """``https://`` URLs subscribed by HTTPS (e.g. an incident tool's webhook); ``http://``
    is rejected."""
    ok_notifications: NotRequired[bool]
    """Also notify when an alarm returns to OK (default ``true``)."""


class AlertingArgs(AlertingSpec):
    """Alerting settings plus the environment and the platform key."""

    environment: str
    """Environment (stack) name, e.g. ``prod`` or ``qa``; the topic is
    ``<environment>-alerts``."""
    kms_key_arn: pulumi.Input[str]
    """The platform's customer-managed KMS key (``kms_master_key_id`` of the topic)."""
    tags: NotRequired[pulumi.Input[dict[str, str]]]
    """Tags for the topic."""


def check_alerting(spec: AlertingSpec) -> list[Problem]:
    problems: list[Problem] = []
    emails = spec.get("emails", [])
    for i, email in enumerate(emails):
        if not EMAIL_RE.match(email):
            problems.append(Problem(("emails", i), f"'{email}' is not an email address"))
        elif email.lower() in (e.lower() for e in emails[:i]):
            problems.append(Problem(("emails", i), f"'{email}' is listed twice"))
    urls = spec.get("https_endpoints", [])
    for i, url in enumerate(urls):
        if url.lower().startswith("http://"):
            problems.append(Problem(("https_endpoints", i),
                                    f"'{url}' is rejected: notifications leave AWS only over "
                                    "TLS; use an https:// URL"))
        elif not url.startswith("https://") or not HOST_RE.match(
                url[len("https://"):].split("/", 1)[0]):
            problems.append(Problem(("https_endpoints", i),
                                    f"'{url}' is not an https:// URL with a host name"))
        elif url in urls[:i]:
            problems.append(Problem(("https_endpoints", i), f"'{url}' is listed twice"))
    return problems


def topic_name(environment: str) -> str:
    return f"{environment}-alerts"


def topic_policy_statements(topic_arn: pulumi.Input[str], account_id: pulumi.Input[str],
                            alarm_arn_pattern: pulumi.Input[str]) -> list[Statement]:
    """Deny publishing without TLS to anyone; let CloudWatch publish for this account's
    alarms of this environment (``alarm_arn_pattern``, e.g.
    ``arn:aws:cloudwatch:<region>:<account>:alarm:prod-*``).

    Same-account principals keep their access through their own IAM policies (a resource
    policy is not needed for them), so no account-wide statement is added."""
    return [
        {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*",
         "Action": "sns:Publish", "Resource": topic_arn,
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        {"Sid": "AllowCloudWatchAlarms", "Effect": "Allow",
         "Principal": {"Service": "cloudwatch.amazonaws.com"},
         "Action": "sns:Publish", "Resource": topic_arn,
         "Condition": {"StringEquals": {"aws:SourceAccount": account_id},
                       "ArnLike": {"aws:SourceArn": alarm_arn_pattern}}},
    ]


def _digest(value: str) -> str:
    return hashlib.sha256(value.lower().encode()).hexdigest()[:10]


class Alerting(pulumi.ComponentResource):
    """The environment's alerting topic (KMS-encrypted, TLS-only, CloudWatch may publish for
    this account's alarms) with its email and HTTPS subscriptions."""

    topic_arn: pulumi.Output[str]
    """ARN of the alerting topic; known at preview, and depends on the topic and its
    policy so alarms are created after both."""
    topic_name: pulumi.Output[str]
    """Name of the alerting topic."""
    ok_notifications: bool
    """Whether alarms should also notify on OK (pass to the alarm sets)."""

    def __init__(self, name: str, args: AlertingArgs,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__(type_token("Alerting"), name, None, opts)
        problems = check_alerting(args)
        # The environment names the topic: any stack name, not only a tier's.
        problems += check_key(("environment",), args["environment"])
        raise_for("Alerting", name, problems)

        self.ok_notifications = args.get("ok_notifications", True)
        account_id = aws.get_caller_identity_output(opts=invoke_opts(self)).account_id
        region = aws.get_region_output(opts=invoke_opts(self)).region
        physical = topic_name(args["environment"])
        known_arn = pulumi.Output.concat("arn:aws:sns:", region, ":", account_id, ":", physical)
        alarms = pulumi.Output.concat("arn:aws:cloudwatch:", region, ":", account_id, ":alarm:",
                                      args["environment"], "-*")

        topic = aws.sns.Topic(f"{name}-topic", aws.sns.TopicArgs(
            name=physical, kms_master_key_id=args["kms_key_arn"], tags=args.get("tags")),
            opts=child_opts(self))
        policy = aws.sns.TopicPolicy(f"{name}-topic-policy", aws.sns.TopicPolicyArgs(
            arn=topic.arn, policy=policy_document(topic_policy_statements(known_arn, account_id,
                                                                          alarms))),
            opts=child_opts(self))
        for email in args.get("emails", []):
            aws.sns.TopicSubscription(f"{name}-email-{_digest(email)}",
                                      aws.sns.TopicSubscriptionArgs(
                                          topic=topic.arn, protocol="email", endpoint=email),
                                      opts=child_opts(self))
        for url in args.get("https_endpoints", []):
            aws.sns.TopicSubscription(f"{name}-https-{_digest(url)}",
                                      aws.sns.TopicSubscriptionArgs(
                                          topic=topic.arn, protocol="https", endpoint=url,
                                          raw_message_delivery=False),
                                      opts=child_opts(self))
        # URNs are known at preview: the result stays known yet carries the dependencies.
        self.topic_arn = pulumi.Output.all(known_arn, topic.urn, policy.urn).apply(
            lambda parts: parts[0])
        self.topic_name = pulumi.Output.from_input(physical)
        self.topic = topic
        self.register_outputs({"topic_arn": self.topic_arn, "topic_name": self.topic_name})


# --- the stack file's observability section ---------------------------------------------------

class ObservabilitySpec(TypedDict):
    """What a stack file says about alerting, alarm tuning, dashboards and tracing."""

    alerting: AlertingSpec
    """Who is notified."""
    alarms: NotRequired[dict[str, dict[str, AlarmOverride]]]
    """Per monitored thing (service, function, API or store key), per alarm name, the
    changes to its default alarm."""
    dashboard: NotRequired[DashboardSpec]
    """The environment dashboard (created unless ``enabled: false``)."""
    tracing: NotRequired[TracingSpec]
    """X-Ray sampling for the environment."""


def check_observability(spec: ObservabilitySpec,
                        monitored: Mapping[str, str] | None = None,
                        environment: str = "prod") -> list[Problem]:
    """Check the section; ``monitored`` maps each key the estate defines to its kind
    (``service``, ``function``, ``api``, ``database``, ``cache``) so alarm overrides can be
    matched to real things and real alarm names."""
    problems = [p.under("alerting") for p in check_alerting(spec["alerting"])]
    if "dashboard" in spec:
        problems += [p.under("dashboard") for p in check_dashboard(spec["dashboard"])]
    if "tracing" in spec:
        problems += [p.under("tracing") for p in check_tracing(spec["tracing"])]
    for key, overrides in sorted(spec.get("alarms", {}).items()):
        path: tuple[PathItem, ...] = ("alarms", key)
        if monitored is None:
            kind = _guess_kind(overrides)
        elif key not in monitored:
            problems.append(Problem(path, f"no service, function, API or store is called "
                                          f"'{key}'{did_you_mean(key, monitored)}"))
            continue
        else:
            kind = monitored[key]
        problems += check_alarm_overrides(kind, overrides, environment, path)
    return problems


def _guess_kind(overrides: Mapping[str, Any]) -> str:
    """Without the estate at hand, the kind whose alarm names fit the overrides best."""
    def fit(kind: str) -> int:
        return sum(name in {s.key for s in SIGNALS[kind]} for name in overrides)
    return max(SIGNALS, key=fit)
