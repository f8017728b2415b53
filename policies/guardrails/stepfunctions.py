"""Step Functions state machines: execution logs, tracing and customer-managed encryption."""

from __future__ import annotations

from collections.abc import Iterator

from .core import Resource, Settings, is_unknown, must_be_true, resource_policy, unknown

STATE_MACHINE = "aws:sfn/stateMachine:StateMachine"


@resource_policy(
    "stepfunctions-logging",
    types=(STATE_MACHINE,),
    description="State machines log executions (level ALL or ERROR) to CloudWatch Logs.",
    severity="medium", fsbp=("StepFunctions.1",),
    refs=("cdk-nag StepFunctionStateMachineAllLogsToCloudWatch",),
    remediation="Set loggingConfiguration {level: ALL (or ERROR), includeExecutionData: "
                "false, logDestination: '<log group ARN>:*'}.",
)
def logging(r: Resource, s: Settings) -> Iterator[str]:
    level = r.get("loggingConfiguration.level")
    if is_unknown(level):
        yield unknown("loggingConfiguration.level", "executions are logged")
    elif level not in ("ALL", "ERROR", "FATAL"):
        yield f"loggingConfiguration.level is {level or 'not set'}; executions are not logged"
    elif r.get("loggingConfiguration.logDestination") is None:
        yield "loggingConfiguration.logDestination is not set"


@resource_policy(
    "stepfunctions-tracing",
    types=(STATE_MACHINE,),
    description="State machines send traces to X-Ray.",
    severity="low", refs=("cdk-nag StepFunctionStateMachineXray",),
    remediation="Set tracingConfiguration {enabled: true}.",
)
def tracing(r: Resource, s: Settings) -> Iterator[str]:
    yield from must_be_true(r.get("tracingConfiguration.enabled"),
                            "tracingConfiguration.enabled", "executions are traced")


@resource_policy(
    "stepfunctions-kms-cmk",
    types=(STATE_MACHINE,),
    description="State machine definitions and execution data are encrypted with a "
                "customer-managed KMS key.",
    severity="medium", refs=("checkov CKV_AWS_284",),
    remediation="Set encryptionConfiguration {type: CUSTOMER_MANAGED_KMS_KEY, kmsKeyId, "
                "kmsDataKeyReusePeriodSeconds}.",
)
def kms_cmk(r: Resource, s: Settings) -> Iterator[str]:
    kind = r.get("encryptionConfiguration.type")
    if is_unknown(kind):
        yield unknown("encryptionConfiguration.type", "state data uses a customer key")
    elif kind != "CUSTOMER_MANAGED_KMS_KEY" \
            or r.get("encryptionConfiguration.kmsKeyId") is None:
        yield ("encryptionConfiguration does not name a customer-managed KMS key (state data "
               "uses an AWS-owned key)")
