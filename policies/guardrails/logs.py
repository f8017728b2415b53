"""CloudWatch: log group retention and encryption; alarms that notify someone; dashboards
that hold no credential."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .core import (
    Param,
    Resource,
    Settings,
    credential_in,
    is_unknown,
    load_json,
    num,
    resource_policy,
    unknown,
)
from .credentials import credential_in_argument

LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"


@resource_policy(
    "log-group-retention",
    types=(LOG_GROUP,),
    description="Log groups keep logs at least logRetentionMinDays days (and not forever).",
    severity="medium", refs=("cdk-nag CloudWatchLogGroupRetentionPeriod", "checkov CKV_AWS_338"),
    params={"logRetentionMinDays": Param("integer", 14, "Fewest days logs are kept.",
                                         minimum=1)},
    remediation="Set retentionInDays to a CloudWatch retention value of at least "
                "logRetentionMinDays (the tier default: 14 dev, 90 staging, 365 prod).",
)
def retention(r: Resource, s: Settings) -> Iterator[str]:
    need = s["logRetentionMinDays"]
    days = r.get("retentionInDays")
    if is_unknown(days):
        yield unknown("retentionInDays", f"logs are kept {need} days")
    elif not days:
        yield "retentionInDays is not set; logs would be kept forever"
    elif days < need:
        yield f"retentionInDays is {num(days)}; at least {need} required"


@resource_policy(
    "log-group-kms",
    types=(LOG_GROUP,),
    description="Log groups are encrypted with a customer-managed KMS key.",
    severity="medium", refs=("cdk-nag CloudWatchLogGroupEncrypted", "checkov CKV_AWS_158"),
    remediation="Set kmsKeyId to the platform's logs key (its key policy must allow "
                "logs.<region>.amazonaws.com).",
)
def log_kms(r: Resource, s: Settings) -> Iterator[str]:
    if r.get("kmsKeyId") is None:
        yield "kmsKeyId is not set"


@resource_policy(
    "cloudwatch-alarm-actions",
    types=(ALARM,),
    description="Alarms notify someone: actions enabled with at least one alarm action.",
    severity="low", refs=("cdk-nag CloudWatchAlarmAction", "checkov CKV_AWS_319"),
    remediation="Set alarmActions to the platform's alerts topic and leave actionsEnabled true.",
)
def alarm_actions(r: Resource, s: Settings) -> Iterator[str]:
    if r.get("actionsEnabled") is False:
        yield "actionsEnabled is false"
    actions = r.get("alarmActions")
    if not is_unknown(actions) and not actions:
        yield "alarmActions is empty"


def _texts(value: Any, path: str) -> Iterator[tuple[str, str, str]]:
    """(path, key, text) for every string in a JSON value."""
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, str):
                yield f"{path}.{key}", str(key), item
            else:
                yield from _texts(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, str):
                yield f"{path}[{i}]", "", item
            else:
                yield from _texts(item, f"{path}[{i}]")


@resource_policy(
    "cloudwatch-dashboard-no-credentials",
    types=(DASHBOARD,),
    description="Dashboards hold no credential (in text widgets, titles, queries or labels): "
                "anyone who may read dashboards, or open a shared dashboard's link, reads "
                "the whole body.",
    severity="high", guardrail="no-static-credentials",
    refs=("checkov secrets scanning (CKV_SECRET_2 and others)",
          "CloudWatch dashboard sharing"),
    remediation="Remove the value from the dashboard body, rotate it, and keep it in Secrets "
                "Manager; link to the secret's name, never its value.",
)
def dashboard_no_credentials(r: Resource, s: Settings) -> Iterator[str]:
    try:
        body = load_json(r.get("dashboardBody"))
    except ValueError as exc:
        yield f"dashboardBody {exc}"
        return
    if is_unknown(body):
        yield unknown("dashboardBody", "it holds no credential")
        return
    for path, key, text in _texts(body, "dashboardBody"):
        reason = credential_in(key, text) if key else None
        for word in text.split():
            reason = reason or credential_in_argument(word.strip("'\"`()[]{}<>,;"))
        if reason:
            yield f"{path}: {reason}"
