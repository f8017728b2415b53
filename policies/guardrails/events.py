"""EventBridge: encrypted buses and archives, archives that expire, targets with a
dead-letter queue and retry policy, and schema discovery only where it is meant."""

from __future__ import annotations

from collections.abc import Iterator

from .core import Resource, Settings, is_unknown, num, resource_policy, unknown

BUS = "aws:cloudwatch/eventBus:EventBus"
ARCHIVE = "aws:cloudwatch/eventArchive:EventArchive"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
DISCOVERER = "aws:schemas/discoverer:Discoverer"


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
