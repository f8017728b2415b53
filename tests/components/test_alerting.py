"""Alerting topic, its policy and subscriptions; the observability section's checks."""

import json
import re
from typing import Any

import pytest

from components.alerting import (
    Alerting,
    check_alerting,
    check_observability,
)
from components.validation import ArgsError
from preflight.capture import Capture, capture

KEY = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
TOPIC = "arn:aws:sns:eu-west-1:123456789012:prod-alerts"
CONFIG = {"aws:region": "eu-west-1"}


def build(preview: bool = True, **spec: Any) -> Capture:
    args: Any = {"environment": "prod", "kms_key_arn": KEY, **spec}
    return capture(lambda: Alerting("alerts", args), config=CONFIG, preview=preview)


def test_children_are_exactly_topic_policy_and_one_subscription_each():
    cap = build(emails=["oncall@example.com", "lead@example.com"],
                https_endpoints=["https://events.pagerduty.com/integration/abc/enqueue"])
    types = sorted(r.type for r in cap.registrations if r.custom)
    assert types == ["aws:sns/topic:Topic", "aws:sns/topicPolicy:TopicPolicy",
                     "aws:sns/topicSubscription:TopicSubscription",
                     "aws:sns/topicSubscription:TopicSubscription",
                     "aws:sns/topicSubscription:TopicSubscription"]
    subs = {(r.inputs["protocol"], r.inputs["endpoint"])
            for r in cap.of_type("aws:sns/topicSubscription:TopicSubscription")}
    assert subs == {("email", "oncall@example.com"), ("email", "lead@example.com"),
                    ("https", "https://events.pagerduty.com/integration/abc/enqueue")}
    for reg in cap.registrations:
        if reg.custom:
            assert reg.parent == cap.named("alerts").urn


def test_topic_is_named_per_environment_and_encrypted_with_the_platform_key():
    topic = build().named("alerts-topic")
    assert topic.inputs == {"name": "prod-alerts", "kmsMasterKeyId": KEY}


def test_topic_policy_is_exact_and_known_at_preview():
    cap = build()
    policy = cap.named("alerts-topic-policy")
    assert policy.property_dependencies["arn"] == [cap.named("alerts-topic").urn]
    assert json.loads(policy.inputs["policy"]) == {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*",
             "Action": "sns:Publish", "Resource": TOPIC,
             "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
            {"Sid": "AllowCloudWatchAlarms", "Effect": "Allow",
             "Principal": {"Service": "cloudwatch.amazonaws.com"},
             "Action": "sns:Publish", "Resource": TOPIC,
             "Condition": {
                 "StringEquals": {"aws:SourceAccount": "123456789012"},
                 "ArnLike": {"aws:SourceArn":
                             "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:prod-*"}}},
        ]}


def test_subscription_names_follow_the_address_not_the_list_position():
    first = build(emails=["a@example.com", "b@example.com"])
    swapped = build(emails=["b@example.com", "a@example.com"])

    def names(cap: Capture) -> dict[str, str]:
        return {r.inputs["endpoint"]: r.name
                for r in cap.of_type("aws:sns/topicSubscription:TopicSubscription")}
    assert names(first) == names(swapped)
    assert len(set(names(first).values())) == 2


def test_topic_arn_output_is_the_known_arn():
    seen: list[str] = []

    def program() -> None:
        Alerting("alerts", {"environment": "prod", "kms_key_arn": KEY}).topic_arn.apply(
            seen.append)
    capture(program, config=CONFIG, preview=True)
    assert seen == [TOPIC]


# --- validation -------------------------------------------------------------------------------

def test_http_endpoints_are_rejected():
    problems = check_alerting({"https_endpoints": ["http://hooks.example.com/alarm"]})
    assert [(p.path, p.message) for p in problems] == [
        (("https_endpoints", 0), "'http://hooks.example.com/alarm' is rejected: notifications "
                                 "leave AWS only over TLS; use an https:// URL")]


def test_bad_addresses_urls_and_duplicates():
    problems = check_alerting({
        "emails": ["oncall@example.com", "not-an-address", "OnCall@example.com"],
        "https_endpoints": ["https://", "ftp://x.example.com", "https://a.example.com/x",
                            "https://a.example.com/x"]})
    assert [(p.path, p.message) for p in problems] == [
        (("emails", 1), "'not-an-address' is not an email address"),
        (("emails", 2), "'OnCall@example.com' is listed twice"),
        (("https_endpoints", 0), "'https://' is not an https:// URL with a host name"),
        (("https_endpoints", 1), "'ftp://x.example.com' is not an https:// URL with a host "
                                 "name"),
        (("https_endpoints", 3), "'https://a.example.com/x' is listed twice"),
    ]


def test_component_rejects_before_creating_children():
    created: list[str] = []
    with pytest.raises(ArgsError, match=re.escape(
            "Alerting 'alerts': httpsEndpoints[0]: 'http://x.example.com' is rejected: "
            "notifications leave AWS only over TLS; use an https:// URL\n"
            "Alerting 'alerts': environment: 'Prod_1' is not a valid name: use 2-32 lowercase "
            "letters, digits and single hyphens, starting with a letter")):
        capture(lambda: Alerting("alerts", {"environment": "Prod_1", "kms_key_arn": KEY,
                                            "https_endpoints": ["http://x.example.com"]}),
                on_register=lambda r: created.append(r.type))
    assert [t for t in created if t.startswith("aws:")] == []


def test_observability_section_matches_overrides_to_the_estate():
    spec: Any = {
        "alerting": {"emails": ["oncall@example.com"]},
        "alarms": {"order": {"cpu-high": {"threshold": 70}},
                   "resize": {"duration": {"threshold": 90}},
                   "ledger": {"cpu-high": {"threshold": 101}}},
        "tracing": {"fixed_rate_percent": 120},
        "dashboard": {"name": "prod estate"},
    }
    monitored = {"orders": "service", "resize": "function", "ledger": "database"}
    assert [(p.path, p.message) for p in check_observability(spec, monitored)] == [
        (("dashboard", "name"), "'prod estate' is not a dashboard name: use 1-255 letters, "
                                "digits, hyphens and underscores"),
        (("tracing", "fixed_rate_percent"),
         "fixed_rate_percent must be between 0 and 100 (got 120)"),
        (("alarms", "ledger", "cpu-high", "threshold"),
         "threshold (percent) must be between 1 and 100 (got 101)"),
        (("alarms", "order"), "no service, function, API or store is called 'order' (did you "
                              "mean 'orders'?)"),
        (("alarms", "resize", "duration"),
         "unknown function alarm 'duration' (did you mean 'duration-p99'?); known alarms: "
         "errors, throttles, duration-p99, dlq-messages, dlq-age"),
    ]


def test_observability_section_without_the_estate_checks_what_it_can():
    spec: Any = {"alerting": {}, "alarms": {"orders": {"running-tasks": {"threshold": -1}}}}
    assert [p.message for p in check_observability(spec)] == [
        "threshold (tasks short of desired) must be between 0 and 1000 (got -1)"]
