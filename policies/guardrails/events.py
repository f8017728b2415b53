"""EventBridge: encrypted buses and archives, archives that expire, rules that match only
the events they are for, targets with a dead-letter queue and retry policy, and schema
discovery only where it is meant."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .core import (
    Resource,
    Settings,
    as_list,
    is_unknown,
    load_json,
    num,
    resource_policy,
    unknown,
)

BUS = "aws:cloudwatch/eventBus:EventBus"
ARCHIVE = "aws:cloudwatch/eventArchive:EventArchive"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
DISCOVERER = "aws:schemas/discoverer:Discoverer"
RULE = "aws:cloudwatch/eventRule:EventRule"
SELECTING_FIELDS = ("source", "detail-type")
"""Pattern fields that say which events a rule is for; ``account`` and ``region`` match every
event of an account or region."""


@resource_policy(
    "eventbridge-bus-cmk",
    types=(BUS,),
    description="Custom event buses encrypt events with a customer managed KMS key.",
    severity="medium", refs=("AWS EventBridge encryption at rest",),
    remediation="Set kmsKeyIdentifier to the platform key (its policy must admit "
                "events.amazonaws.com for this account).",
)
def bus_cmk(r: Resource, s: Settings) -> Iterator[str]:
    if r.get("eventSourceName") is not None:
        return  # partner buses are encrypted by their partner's setup
    if r.get("kmsKeyIdentifier") is None:
        yield "kmsKeyIdentifier is not set; events are encrypted with an AWS owned key"


@resource_policy(
    "eventbridge-archive-encrypted-retained",
    types=(ARCHIVE,),
    description="Event archives are encrypted with a customer managed key and expire "
                "(retentionDays set): an archive keeps every event it matches, personal data "
                "included.",
    severity="medium", refs=("AWS EventBridge archive and replay",),
    remediation="Set kmsKeyIdentifier to the platform key and retentionDays to the replay "
                "window you need (the platform uses 30 days).",
)
def archive_settings(r: Resource, s: Settings) -> Iterator[str]:
    if r.get("kmsKeyIdentifier") is None:
        yield "kmsKeyIdentifier is not set"
    days = r.get("retentionDays")
    if is_unknown(days):
        yield unknown("retentionDays", "the archive expires events")
    elif not days:
        yield "retentionDays is not set; the archive keeps events forever"


@resource_policy(
    "eventbridge-target-dlq",
    types=(TARGET,),
    description="Rule targets send events they finally cannot deliver to a dead-letter queue, "
                "after an explicit retry policy.",
    severity="medium", refs=("AWS EventBridge target DLQ best practice",),
    remediation="Set deadLetterConfig {arn} to an SQS queue that admits the rule "
                "(aws:SourceArn) and retryPolicy {maximumRetryAttempts, "
                "maximumEventAgeInSeconds}.",
)
def target_dlq(r: Resource, s: Settings) -> Iterator[str]:
    dlq = r.get("deadLetterConfig.arn")
    if dlq is None:
        yield "deadLetterConfig.arn is not set; events the target keeps failing are lost"
    if r.get("retryPolicy") is None:
        yield "retryPolicy is not set; retries and event age are left to defaults"
    else:
        age = r.get("retryPolicy.maximumEventAgeInSeconds")
        if not is_unknown(age) and age is not None and not 60 <= num(age) <= 86400:
            yield f"retryPolicy.maximumEventAgeInSeconds is {num(age)}; use 60-86400"


@resource_policy(
    "eventbridge-schema-discovery-off",
    types=(DISCOVERER,),
    description="Schema discovery is off unless an environment chooses it: a discoverer "
                "copies the structure (and example values) of every event on the bus into the "
                "schema registry.",
    severity="low", default_level="advisory", refs=("AWS EventBridge schema registry",),
    remediation="Remove the discoverer (events.bus.schemaDiscovery: false), or record an "
                "exception for the environment that needs it.",
)
def schema_discovery(r: Resource, s: Settings) -> Iterator[str]:
    yield "schema discovery is enabled on the bus"


def _selects(values: Any) -> bool:
    """Whether a pattern field's values select some events: at least one exact value (a
    string, number or boolean), or a prefix, suffix or wildcard that is not empty or '*'."""
    for value in as_list(values):
        if isinstance(value, str | int | float | bool) and value != "":
            return True
        if isinstance(value, dict):
            for op in ("prefix", "suffix", "wildcard", "equals-ignore-case"):
                text = value.get(op)
                if isinstance(text, dict):  # {"prefix": {"equals-ignore-case": ...}}
                    text = next(iter(text.values()), None)
                if isinstance(text, str) and text.strip("*") != "":
                    return True
    return False


@resource_policy(
    "eventbridge-rule-pattern-scoped",
    types=(RULE,),
    description="Event rules match the events they are for: their pattern selects a source "
                "or detail-type by value. A pattern matching every event sends the whole bus "
                "(other teams' events and personal data included) to its targets, and can "
                "loop when a target puts events back.",
    severity="medium", refs=("AWS EventBridge best practices: precise event patterns",),
    remediation="Give eventPattern a source and/or detail-type with exact values (e.g. "
                "{\"source\": [\"orders\"], \"detail-type\": [\"OrderPaid\"]}); "
                "scheduled rules take scheduleExpression instead.",
)
def rule_pattern_scoped(r: Resource, s: Settings) -> Iterator[str]:
    raw = r.get("eventPattern")
    if raw is None:
        return  # a scheduled rule
    try:
        pattern = load_json(raw)
    except ValueError as exc:
        yield f"eventPattern {exc}"
        return
    if is_unknown(pattern):
        yield unknown("eventPattern", "the rule matches only the events it is for")
        return
    fields = pattern if isinstance(pattern, dict) else {}
    if any(is_unknown(fields.get(f)) for f in SELECTING_FIELDS):
        yield unknown("eventPattern", "the rule matches only the events it is for")
    elif not any(_selects(fields.get(f)) for f in SELECTING_FIELDS):
        yield ("eventPattern selects no source or detail-type by value: the rule matches "
               "every event on the bus")
