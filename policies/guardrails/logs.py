"""CloudWatch: log group retention and encryption; alarms that notify someone."""

from __future__ import annotations

from collections.abc import Iterator

from .core import Param, Resource, Settings, is_unknown, num, resource_policy, unknown

LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


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
