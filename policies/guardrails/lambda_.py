"""Lambda functions: runtime, tracing, failure handling, concurrency, sizing, secrets and
code signing."""

from __future__ import annotations

from collections.abc import Iterator

from .core import (
    Resource,
    Settings,
    Stack,
    credential_in,
    is_unknown,
    resource_policy,
    stack_policy,
    unknown,
)

FUNCTION = "aws:lambda/function:Function"
INVOKE_CONFIG = "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"
PERMISSION = "aws:lambda/permission:Permission"
STATE_MACHINE = "aws:sfn/stateMachine:StateMachine"
HTTP_INTEGRATION = "aws:apigatewayv2/integration:Integration"
SYNC_PRINCIPALS = ("apigateway.amazonaws.com", "elasticloadbalancing.amazonaws.com")
"""Callers that invoke synchronously and see the error themselves."""

SUPPORTED_RUNTIMES = (
    "python3.11", "python3.12", "python3.13", "python3.14",
    "nodejs20.x", "nodejs22.x", "nodejs24.x",
    "java17", "java21", "java25", "dotnet8", "dotnet10", "ruby3.3", "ruby3.4",
    "provided.al2023", "provided.al2",
)


@resource_policy(
    "lambda-supported-runtime",
    types=(FUNCTION,),
    description="Functions use a runtime AWS still supports.",
    severity="medium", fsbp=("Lambda.2",), refs=("checkov CKV_AWS_363",),
    remediation=f"Use one of: {', '.join(SUPPORTED_RUNTIMES)} (or a container image).",
)
def supported_runtime(r: Resource, s: Settings) -> Iterator[str]:
    if r.get("packageType") == "Image":
        return
    runtime = r.get("runtime")
    if is_unknown(runtime):
        yield unknown("runtime", "the runtime is supported")
    elif runtime not in SUPPORTED_RUNTIMES:
        yield f"runtime {runtime or '(not set)'} is not a supported runtime"


@resource_policy(
    "lambda-tracing-active",
    types=(FUNCTION,),
    description="Functions send traces to X-Ray (tracing mode Active).",
    severity="low", refs=("cdk-nag LambdaTracing", "checkov CKV_AWS_50"),
    remediation="Set tracingConfig {mode: Active} and allow xray:PutTraceSegments.",
)
def tracing_active(r: Resource, s: Settings) -> Iterator[str]:
    mode = r.get("tracingConfig.mode")
    if is_unknown(mode):
        yield unknown("tracingConfig.mode", "tracing is active")
    elif mode != "Active":
        yield "tracingConfig.mode is not Active"


@resource_policy(
    "lambda-reserved-concurrency",
    types=(FUNCTION,),
    description="Functions reserve concurrency, so one function cannot starve the others or "
                "overload what it calls.",
    severity="low", refs=("cdk-nag LambdaConcurrency", "checkov CKV_AWS_115"),
    remediation="Set reservedConcurrentExecutions to a positive limit.",
)
def reserved_concurrency(r: Resource, s: Settings) -> Iterator[str]:
    value = r.get("reservedConcurrentExecutions")
    if is_unknown(value):
        yield unknown("reservedConcurrentExecutions", "concurrency is reserved")
    elif value is None or value < 1:
        yield "reservedConcurrentExecutions is not set to a positive limit"


@resource_policy(
    "lambda-explicit-memory-timeout",
    types=(FUNCTION,),
    description="Functions set memory and timeout explicitly.",
    severity="low", refs=("cdk-nag LambdaDefaultMemorySize", "cdk-nag LambdaDefaultTimeout"),
    remediation="Set memorySize and timeout from measured needs.",
)
def explicit_sizing(r: Resource, s: Settings) -> Iterator[str]:
    for key in ("memorySize", "timeout"):
        if r.get(key) is None:
            yield f"{key} is not set"


@resource_policy(
    "lambda-no-plaintext-secrets",
    types=(FUNCTION,),
    description="Function environment variables hold no credentials.",
    severity="critical", guardrail="no-static-credentials", refs=("checkov CKV_AWS_45",),
    remediation="Store the secret in Secrets Manager or SSM, pass its ARN or name in the "
                "environment and read it at runtime with a scoped grant.",
)
def lambda_plaintext(r: Resource, s: Settings) -> Iterator[str]:
    variables = r.get("environment.variables")
    if is_unknown(variables):
        yield unknown("environment.variables", "no variable holds a credential")
        return
    for name, value in sorted((variables or {}).items()):
        if is_unknown(value):
            yield unknown(f"environment variable {name}", "it holds no credential")
            continue
        reason = credential_in(name, value)
        if reason:
            yield f"environment variable {name}: {reason}"


def _only_synchronous_callers(stack: Stack, fn: Resource) -> bool:
    """Whether every caller of ``fn`` in the stack invokes it synchronously (API Gateway,
    load balancers, Step Functions tasks): a failure goes back to the caller, so there is
    nothing for a dead-letter queue to keep. A function with no visible caller is judged
    as asynchronous (fail closed)."""
    permissions = stack.referencing(fn, (PERMISSION,), "function")
    callers = permissions + stack.referencing(fn, (STATE_MACHINE,), "definition") \
        + stack.referencing(fn, (HTTP_INTEGRATION,), "integrationUri")
    return bool(callers) and all(p.get("principal") in SYNC_PRINCIPALS for p in permissions)


@stack_policy(
    "lambda-failure-destination",
    types=(FUNCTION, INVOKE_CONFIG, PERMISSION, STATE_MACHINE, HTTP_INTEGRATION),
    description="Asynchronously invoked work is not lost: every function not called only "
                "synchronously (API Gateway, load balancer, Step Functions) has a dead-letter "
                "queue or an on-failure destination.",
    severity="medium", refs=("cdk-nag LambdaDLQ", "cdk-nag LambdaAsyncFailureDestination",
                             "checkov CKV_AWS_116"),
    remediation="Set deadLetterConfig {targetArn} or add a FunctionEventInvokeConfig with "
                "destinationConfig.onFailure.destination (an SQS queue or SNS topic).",
)
def failure_destination(stack: Stack, s: Settings) -> Iterator[tuple[Resource, str]]:
    for fn in stack.of_type(FUNCTION):
        if fn.get("deadLetterConfig.targetArn") is not None:
            continue
        configs = stack.referencing(fn, (INVOKE_CONFIG,), "functionName")
        if any(c.get("destinationConfig.onFailure.destination") is not None for c in configs):
            continue
        if _only_synchronous_callers(stack, fn):
            continue
        yield fn, "function has neither a dead-letter queue nor an on-failure destination"


FUNCTION_URL = "aws:lambda/functionUrl:FunctionUrl"


@resource_policy(
    "lambda-function-url-auth",
    types=(FUNCTION_URL,),
    description="Function URLs require IAM authentication (authorizationType AWS_IAM).",
    severity="high", fsbp=("Lambda.1",), refs=("checkov CKV_AWS_258",),
    remediation="Set authorizationType: AWS_IAM and sign requests (SigV4), or put the "
                "function behind API Gateway with an authorizer and throttling.",
)
def function_url_auth(r: Resource, s: Settings) -> Iterator[str]:
    kind = r.get("authorizationType")
    if is_unknown(kind):
        yield unknown("authorizationType", "callers are authenticated")
    elif kind != "AWS_IAM":
        yield f"authorizationType is {kind or 'not set'}; anyone on the internet may invoke it"


CODE_SIGNING_CONFIG = "aws:lambda/codeSigningConfig:CodeSigningConfig"


@stack_policy(
    "lambda-code-signing",
    types=(FUNCTION, CODE_SIGNING_CONFIG),
    description="Zip functions enforce a code-signing configuration, so Lambda deploys only "
                "code signed by a trusted signer profile (container images are outside "
                "Lambda code signing; ECR scanning covers them).",
    severity="high", refs=("checkov CKV_AWS_272",),
    remediation="Create an aws.signer.SigningProfile (platform AWSLambda-SHA384-ECDSA) and an "
                "aws.lambda.CodeSigningConfig that allows its version ARN with "
                "untrustedArtifactOnDeployment Enforce; set the function's "
                "codeSigningConfigArn and deploy the signed package (aws.signer.SigningJob).",
)
def code_signing(stack: Stack, s: Settings) -> Iterator[tuple[Resource, str]]:
    for fn in stack.of_type(FUNCTION):
        if fn.get("packageType") == "Image":
            continue
        arn = fn.get("codeSigningConfigArn")
        if arn is None:
            yield fn, "function has no code-signing configuration; Lambda deploys unsigned code"
        elif is_unknown(arn) and not fn.deps("codeSigningConfigArn", (CODE_SIGNING_CONFIG,)):
            yield fn, unknown("codeSigningConfigArn", "the function enforces code signing")
    for config in stack.of_type(CODE_SIGNING_CONFIG):
        action = config.get("policies.untrustedArtifactOnDeployment")
        if is_unknown(action):
            yield config, unknown("policies.untrustedArtifactOnDeployment",
                                  "unsigned code is refused")
        elif action != "Enforce":
            shown = "not set (Lambda then only warns)" if action is None else action
            yield config, (f"policies.untrustedArtifactOnDeployment is {shown}; use Enforce "
                           "so unsigned or foreign code is refused")
        publishers = config.get("allowedPublishers.signingProfileVersionArns")
        if not is_unknown(publishers) and not publishers:
            yield config, "allowedPublishers names no signing profile version"
