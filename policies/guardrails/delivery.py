"""CodeBuild and CodePipeline: privilege, logs, time limits, credentials, encryption."""

from __future__ import annotations

from collections.abc import Iterator

from .core import (
    Param,
    Resource,
    Settings,
    as_list,
    credential_in,
    is_unknown,
    num,
    resource_policy,
    unknown,
)

PROJECT = "aws:codebuild/project:Project"
PIPELINE = "aws:codepipeline/pipeline:Pipeline"


@resource_policy(
    "codebuild-privileged-mode",
    types=(PROJECT,),
    description="Build projects do not run in privileged (Docker-in-Docker) mode; image "
                "builds that need it are listed as exceptions.",
    severity="high", fsbp=("CodeBuild.5",), refs=("checkov CKV_AWS_316",),
    remediation="Set environment.privilegedMode false, or add a reasoned, expiring exception "
                "for the image-build project.",
)
def privileged(r: Resource, s: Settings) -> Iterator[str]:
    value = r.get("environment.privilegedMode")
    if is_unknown(value):
        yield unknown("environment.privilegedMode", "the build is unprivileged")
    elif value is True:
        yield "environment.privilegedMode is true"


@resource_policy(
    "codebuild-logging",
    types=(PROJECT,),
    description="Build logs go to a named CloudWatch log group (or S3).",
    severity="medium", fsbp=("CodeBuild.4",), refs=("checkov CKV_AWS_314",),
    remediation="Set logsConfig.cloudwatchLogs {status: ENABLED, groupName: <managed log "
                "group with retention and KMS>}.",
)
def build_logging(r: Resource, s: Settings) -> Iterator[str]:
    cw = r.get("logsConfig.cloudwatchLogs")
    if is_unknown(cw):
        yield unknown("logsConfig.cloudwatchLogs", "build logs are kept")
        return
    cw = cw if isinstance(cw, dict) else {}
    s3_on = r.get("logsConfig.s3Logs.status") == "ENABLED"
    if cw.get("status") == "DISABLED" and not s3_on:
        yield "build logging is disabled"
    elif cw.get("groupName") is None and not s3_on:
        yield "logsConfig.cloudwatchLogs.groupName is not set (logs would go to an unmanaged group)"


@resource_policy(
    "codebuild-build-timeout",
    types=(PROJECT,),
    description="Builds have an explicit timeout of at most maxBuildTimeoutMinutes.",
    severity="low",
    params={"maxBuildTimeoutMinutes": Param("integer", 60, "Longest build allowed.", minimum=5)},
    remediation="Set buildTimeout (minutes) to at most maxBuildTimeoutMinutes.",
)
def build_timeout(r: Resource, s: Settings) -> Iterator[str]:
    limit = s["maxBuildTimeoutMinutes"]
    value = r.get("buildTimeout")
    if is_unknown(value):
        yield unknown("buildTimeout", f"builds stop within {limit} minutes")
    elif value is None:
        yield "buildTimeout is not set (the default is 60 minutes, maximum 36 hours)"
    elif value > limit:
        yield f"buildTimeout is {num(value)} minutes; at most {limit} allowed"


@resource_policy(
    "codebuild-no-plaintext-credentials",
    types=(PROJECT,),
    description="Build environment variables hold no credentials in plaintext; secrets are "
                "SECRETS_MANAGER or PARAMETER_STORE references.",
    severity="critical", guardrail="no-static-credentials", fsbp=("CodeBuild.2",),
    refs=("cdk-nag CodeBuildProjectEnvVarAwsCred",),
    remediation="Change the variable to type SECRETS_MANAGER or PARAMETER_STORE with the "
                "secret's name as value.",
)
def codebuild_plaintext(r: Resource, s: Settings) -> Iterator[str]:
    variables = r.get("environment.environmentVariables")
    if is_unknown(variables):
        yield unknown("environment.environmentVariables", "no variable holds a credential")
        return
    for entry in as_list(variables):
        if not isinstance(entry, dict) or entry.get("type", "PLAINTEXT") != "PLAINTEXT":
            continue
        name, value = str(entry.get("name", "")), entry.get("value")
        if is_unknown(value):
            yield unknown(f"environment variable {name}", "it holds no credential")
            continue
        reason = credential_in(name, value)
        if reason:
            yield f"environment variable {name}: {reason}"
    source = r.get("source.location")
    if isinstance(source, str):
        reason = credential_in("source.location", source)
        if reason and "password" in reason:
            yield f"source.location: {reason}"


@resource_policy(
    "codebuild-artifacts-encrypted",
    types=(PROJECT,),
    description="Build artifacts and logs are encrypted with a customer-managed key.",
    severity="medium", fsbp=("CodeBuild.3", "CodeBuild.7"), refs=("checkov CKV_AWS_78",),
    remediation="Set encryptionKey to the platform's delivery key and leave "
                "artifacts.encryptionDisabled unset.",
)
def artifacts_encrypted(r: Resource, s: Settings) -> Iterator[str]:
    if r.get("artifacts.encryptionDisabled") is True:
        yield "artifacts.encryptionDisabled is true"
    if r.get("encryptionKey") is None:
        yield "encryptionKey is not set"


@resource_policy(
    "codepipeline-artifact-store-cmk",
    types=(PIPELINE,),
    description="Pipeline artifact stores are encrypted with a customer-managed KMS key.",
    severity="medium", refs=("checkov CKV_AWS_219",),
    remediation="Set artifactStores[].encryptionKey {id: <key ARN>, type: KMS}.",
)
def pipeline_cmk(r: Resource, s: Settings) -> Iterator[str]:
    stores = r.get("artifactStores")
    if is_unknown(stores):
        yield unknown("artifactStores", "artifacts are encrypted with a customer key")
        return
    for i, store in enumerate(as_list(stores)):
        key = store.get("encryptionKey") if isinstance(store, dict) else None
        if not isinstance(key, dict) or key.get("id") is None or key.get("type") != "KMS":
            yield f"artifactStores[{i}] has no KMS encryptionKey"
