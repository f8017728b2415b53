"""Functions: one Lambda function with its role, logs, failure queue and event sources.

A :class:`FunctionService` is the unit a team deploys as serverless code: the function
(zip from a local directory, or a container image pinned by digest), an execution role
written inline for exactly what the function touches, a KMS-encrypted log group with
retention, X-Ray tracing, and a KMS-encrypted dead-letter queue that receives every event
the function finally failed to process, whichever way it arrived (asynchronous invokes,
the SQS trigger's redrive, SNS delivery failures, scheduled targets).

Triggers: ``sqs`` creates the function's own work queue; ``sns``, ``s3`` and ``schedule``
subscribe the function to existing sources with invoke permissions scoped to the source
ARN (and account, where the source lives in no account of its own ARN); ``api`` marks a
function that an :class:`~components.api.Api` route invokes, so its timeout is checked
against API Gateway's integration limit.

Every ARN that an IAM document mentions is built from the function's explicit name and
the account and region the provider reports, so the documents are known at preview.

With ``code_signing`` the zip goes through AWS Signer before Lambda sees it, and the
function enforces the code-signing configuration (see :mod:`components.code_signing`).
"""


import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, NotRequired

import pulumi
import pulumi_aws as aws
from typing_extensions import TypedDict

from .base import (
    Statement,
    allow,
    child_opts,
    invoke_opts,
    key_statement,
    policy_document,
    service_trust,
    type_token,
)
from .code_signing import CodeSigningRef
from .environment import LOG_RETENTION_DAYS
from .grants import GrantConfigSpec, GrantSpec, check_grants, grant_statements
from .validation import (
    Problem,
    check_choice,
    check_environment,
    check_key,
    check_range,
    raise_for,
)

RUNTIMES = ("python3.12", "python3.13", "nodejs20.x", "nodejs22.x", "java21",
            "provided.al2023")
"""Runtimes a zip function may use: supported by Lambda, with years of support left."""
ARCHITECTURES = ("arm64", "x86_64")
API_GATEWAY_TIMEOUT_SECONDS = 29
"""API Gateway gives an integration at most 29 seconds to answer."""
SQS_VISIBILITY_FACTOR = 6
"""AWS's guidance: a queue's visibility timeout is at least six times the function's
timeout, so a message is not handed out again while a batch (and its retries) still run."""
SQS_MAX_VISIBILITY_SECONDS = 43200
S3_EVENT_RE = re.compile(r"^s3:[A-Za-z]+:(\*|[A-Za-z]+)$")
SCHEDULE_RE = re.compile(r"^(rate\(([1-9]\d*) (minute|minutes|hour|hours|day|days)\)"
                         r"|cron\(\S+( \S+){5}\))$")
ENV_NAME_RE = re.compile(r"^[A-Z][A-Z0-9_]*$")
IMAGE_DIGEST_RE = re.compile(r"^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com/[a-z0-9._/-]+"
                             r"@sha256:[0-9a-f]{64}$")
FUNCTION_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,50}$")


class SqsTriggerSpec(TypedDict):
    """The function's own work queue, consumed in batches with partial-failure reporting."""

    batch_size: NotRequired[int]
    """Messages per invocation, 1-10 (default 10)."""
    visibility_timeout_seconds: NotRequired[int]
    """Queue visibility timeout; default and minimum are 6 x the function's timeout."""
    max_receive_count: NotRequired[int]
    """Deliveries before a message moves to the dead-letter queue, 1-100 (default 5)."""
    max_concurrency: NotRequired[int]
    """Most concurrent invocations the queue may drive, 2-1000 (default: no cap)."""


class SnsTriggerSpec(TypedDict):
    """A subscription of the function to an existing topic."""

    topic_arn: str
    """ARN of the topic (arn:aws:sns:<region>:<account>:<name>)."""


class S3TriggerSpec(TypedDict):
    """Bucket notifications delivered to the function.

    The function takes over the bucket's notification configuration (S3 keeps one per
    bucket), so a bucket should notify through one function only."""

    bucket: str
    """Name of the bucket."""
    events: list[str]
    """S3 event types, e.g. ``s3:ObjectCreated:*``."""
    filter_prefix: NotRequired[str]
    """Only objects whose key starts with this."""
    filter_suffix: NotRequired[str]
    """Only objects whose key ends with this."""


class ScheduleTriggerSpec(TypedDict):
    """An EventBridge rule that invokes the function on a schedule."""

    expression: str
    """``rate(5 minutes)`` or ``cron(0 3 * * ? *)`` (EventBridge syntax, UTC)."""
    input: NotRequired[str]
    """JSON document passed as the event (default: the EventBridge event)."""


class TriggersSpec(TypedDict):
    """What invokes the function."""

    api: NotRequired[bool]
    """An API route invokes the function (the Api component wires it); the timeout must
    then stay within API Gateway's 29 second integration limit."""
    sqs: NotRequired[SqsTriggerSpec]
    """Create a work queue (with its dead-letter redrive) that drives the function."""
    sns: NotRequired[dict[str, SnsTriggerSpec]]
    """Topic subscriptions, by a key naming each."""
    s3: NotRequired[dict[str, S3TriggerSpec]]
    """Bucket notifications, by a key naming each."""
    schedule: NotRequired[dict[str, ScheduleTriggerSpec]]
    """Scheduled invocations, by a key naming each."""


class FunctionSpec(TypedDict):
    """What a stack file says about one function."""

    source: NotRequired[str]
    """Directory holding the code, relative to the project (zipped as it is); or image_uri."""
    image_uri: NotRequired[str]
    """ECR image pinned by digest (``<acct>.dkr.ecr.<region>.amazonaws.com/repo@sha256:...``);
    or source."""
    runtime: NotRequired[str]
    """Runtime of a source function: python3.12, python3.13, nodejs20.x, nodejs22.x, java21
    or provided.al2023."""
    handler: NotRequired[str]
    """Entry point of a source function, e.g. ``handler.handle``."""
    architecture: NotRequired[str]
    """arm64 (default) or x86_64."""
    memory_mb: int
    """Memory in MB, 128-10240 (also scales CPU)."""
    timeout_seconds: int
    """Longest run in seconds, 1-900 (29 at most behind an API route)."""
    reserved_concurrency: NotRequired[int]
    """Concurrent executions reserved for (and capped at) this function."""
    environment: NotRequired[dict[str, str]]
    """Plain configuration; values that look like credentials are rejected."""
    secrets: NotRequired[dict[str, str]]
    """Env name -> Secrets Manager secret or SSM parameter ARN; the function gets
    ``<NAME>_ARN`` and read access, and fetches the value at runtime."""
    grants: NotRequired[list[GrantConfigSpec]]
    """Access to other resources (tables, buckets, queues, ...)."""
    tables: NotRequired[dict[str, str]]
    """Tables of this stack the function uses, by key -> read, write or read_write; the
    Platform turns each into a grant and a ``TABLE_<KEY>`` variable with the table's name."""
    vpc: NotRequired[bool]
    """Run in the private subnets (default false: Lambda's own network)."""
    triggers: NotRequired[TriggersSpec]
    """What invokes the function."""
    async_retry_attempts: NotRequired[int]
    """Retries of a failed asynchronous invoke before it goes to the dead-letter queue,
    0-2 (default 2)."""


class FunctionArgs(FunctionSpec):
    """FunctionSpec plus wiring from the rest of the platform."""

    kms_key_arn: pulumi.Input[str]
    """Customer managed key for the log group, environment variables and queues."""
    kms_key_alias: NotRequired[str]
    """That key's alias (``alias/<name>``): the role's policy names the key through it, so
    the policy is known before the key exists."""
    function_name: NotRequired[str]
    """Physical function name, unique in the account and region (default: the component
    name); at most 50 characters so derived names fit AWS limits."""
    subnet_ids: NotRequired[pulumi.Input[Sequence[pulumi.Input[str]]]]
    """Private subnets (two or more AZs) for a vpc function."""
    vpc_id: NotRequired[pulumi.Input[str]]
    """VPC of those subnets, for the function's security group."""
    log_retention_days: NotRequired[int]
    """CloudWatch Logs retention (default 365)."""
    extra_grants: NotRequired[list[GrantSpec]]
    """Grants the platform adds (e.g. a data store it created for the function)."""
    code_signing: NotRequired[CodeSigningRef]
    """Sign the package and enforce the configuration (see :mod:`components.code_signing`);
    source functions only. Default: the zip is deployed unsigned."""
    tags: NotRequired[pulumi.Input[dict[str, str]]]
    """Tags for every taggable child."""


def check_function(spec: FunctionSpec) -> list[Problem]:
    """Rules on the plain settings; exact messages, paths in Python field names."""
    problems: list[Problem] = []
    has_source, has_image = "source" in spec, "image_uri" in spec
    if has_source == has_image:
        problems.append(Problem((), "set exactly one of source (a code directory) or imageUri "
                                    "(an ECR image pinned by digest)"))
    if has_source:
        if "runtime" not in spec:
            problems.append(Problem(("runtime",), "required with source: use one of "
                                                  + ", ".join(RUNTIMES)))
        else:
            problems += _check_runtime(spec["runtime"])
        if not spec.get("handler"):
            problems.append(Problem(("handler",), "required with source, e.g. handler.handle"))
    if has_image:
        if not IMAGE_DIGEST_RE.match(spec["image_uri"]):
            problems.append(Problem(("image_uri",),
                                    f"'{spec['image_uri']}' must be an ECR image pinned by "
                                    "digest: <account>.dkr.ecr.<region>.amazonaws.com/<repo>"
                                    "@sha256:<64 hex>"))
        for field in ("runtime", "handler"):
            if field in spec:
                problems.append(Problem((field,), "not used with imageUri: the image sets it"))
    problems += check_choice(("architecture",), spec.get("architecture", "arm64"),
                             ARCHITECTURES)
    problems += check_range(("memory_mb",), spec["memory_mb"], 128, 10240, "memoryMb")
    timeout = spec["timeout_seconds"]
    problems += check_range(("timeout_seconds",), timeout, 1, 900, "timeoutSeconds")
    if "reserved_concurrency" in spec:
        problems += check_range(("reserved_concurrency",), spec["reserved_concurrency"], 1,
                                1000, "reserved_concurrency")
    problems += check_range(("async_retry_attempts",), spec.get("async_retry_attempts", 2),
                            0, 2, "async_retry_attempts")
    environment = spec.get("environment", {})
    problems += check_environment(("environment",), environment)
    problems += _check_secrets(spec.get("secrets", {}), environment)
    problems += [p.under("grants") for p in check_grants(spec.get("grants", []))]
    problems += [p.under("triggers") for p in _check_triggers(spec.get("triggers", {}),
                                                              timeout)]
    return problems


def _check_runtime(runtime: str) -> list[Problem]:
    if runtime in RUNTIMES:
        return []
    return [Problem(("runtime",), f"'{runtime}' is not a supported runtime: use one of "
                                  f"{', '.join(RUNTIMES)}")]


def _check_secrets(secrets: Mapping[str, str], environment: Mapping[str, str]
                   ) -> list[Problem]:
    problems = []
    for env_name, arn in sorted(secrets.items()):
        path = ("secrets", env_name)
        if not ENV_NAME_RE.match(env_name):
            problems.append(Problem(path, f"'{env_name}' is not an environment name: use "
                                          "upper-case letters, digits and underscores"))
        if f"{env_name}_ARN" in environment:
            problems.append(Problem(path, f"{env_name}_ARN is set by this secret; remove it "
                                          "from environment"))
        if _secret_kind(arn) is None:
            problems.append(Problem(path, f"'{arn}' is not a Secrets Manager secret "
                                          "(arn:aws:secretsmanager:...:secret:...) or SSM "
                                          "parameter (arn:aws:ssm:...:parameter/...) ARN"))
    return problems


def _secret_kind(arn: str) -> str | None:
    parts = arn.split(":")
    if len(parts) < 6 or parts[0] != "arn" or "*" in arn:
        return None
    if parts[2] == "secretsmanager" and parts[5] == "secret" and len(parts) >= 7:
        return "secret"
    if parts[2] == "ssm" and parts[5].startswith("parameter/"):
        return "parameter"
    return None


def _check_triggers(triggers: TriggersSpec, timeout: int) -> list[Problem]:
    problems: list[Problem] = []
    if triggers.get("api") and timeout > API_GATEWAY_TIMEOUT_SECONDS:
        problems.append(Problem(("api",), f"timeoutSeconds is {timeout} but API Gateway "
                                          f"waits at most {API_GATEWAY_TIMEOUT_SECONDS} "
                                          "seconds for an integration: lower timeoutSeconds "
                                          "or use an asynchronous trigger"))
    if "sqs" in triggers:
        sqs = triggers["sqs"]
        minimum = SQS_VISIBILITY_FACTOR * timeout
        problems += check_range(("sqs", "batch_size"), sqs.get("batch_size", 10), 1, 10,
                                "batchSize")
        problems += check_range(("sqs", "max_receive_count"), sqs.get("max_receive_count", 5),
                                1, 100, "maxReceiveCount")
        if "max_concurrency" in sqs:
            problems += check_range(("sqs", "max_concurrency"), sqs["max_concurrency"], 2,
                                    1000, "maxConcurrency")
        visibility = sqs.get("visibility_timeout_seconds")
        if visibility is not None and visibility < minimum:
            problems.append(Problem(("sqs", "visibility_timeout_seconds"),
                                    f"must be at least {SQS_VISIBILITY_FACTOR} x "
                                    f"timeoutSeconds = {minimum} (got {visibility}), or a "
                                    "message is delivered again while its batch still runs"))
        elif (visibility or minimum) > SQS_MAX_VISIBILITY_SECONDS:
            problems.append(Problem(("sqs", "visibility_timeout_seconds"),
                                    f"must be at most {SQS_MAX_VISIBILITY_SECONDS} "
                                    f"(got {visibility or minimum})"))
    for key, sns in sorted(triggers.get("sns", {}).items()):
        problems += check_key(("sns", key), key)
        arn = sns["topic_arn"]
        if not re.match(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_.-]+$", arn):
            problems.append(Problem(("sns", key, "topic_arn"),
                                    f"'{arn}' is not an SNS topic ARN "
                                    "(arn:aws:sns:<region>:<account>:<topic>)"))
    for key, s3 in sorted(triggers.get("s3", {}).items()):
        problems += check_key(("s3", key), key)
        if not re.match(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", s3["bucket"]):
            problems.append(Problem(("s3", key, "bucket"),
                                    f"'{s3['bucket']}' is not a bucket name (3-63 lowercase "
                                    "letters, digits, dots and hyphens)"))
        if not s3["events"]:
            problems.append(Problem(("s3", key, "events"), "list at least one event, e.g. "
                                                           "s3:ObjectCreated:*"))
        for i, event in enumerate(s3["events"]):
            if not S3_EVENT_RE.match(event):
                problems.append(Problem(("s3", key, "events", i),
                                        f"'{event}' is not an S3 event type, e.g. "
                                        "s3:ObjectCreated:*"))
    for key, schedule in sorted(triggers.get("schedule", {}).items()):
        problems += check_key(("schedule", key), key)
        if not SCHEDULE_RE.match(schedule["expression"]):
            problems.append(Problem(("schedule", key, "expression"),
                                    f"'{schedule['expression']}' is not a schedule: use "
                                    "rate(<n> minutes|hours|days) or cron(<6 fields>)"))
        if "input" in schedule:
            try:
                json.loads(schedule["input"])
            except ValueError:
                problems.append(Problem(("schedule", key, "input"), "must be a JSON document"))
    return problems


def _check_wiring(args: FunctionArgs, function_name: str) -> list[Problem]:
    problems: list[Problem] = []
    if not FUNCTION_NAME_RE.match(function_name):
        problems.append(Problem(("function_name",),
                                f"'{function_name}' is not a function name: use 1-50 letters, "
                                "digits, hyphens and underscores"))
    for key in sorted(args.get("triggers", {}).get("schedule", {})):
        if len(f"{function_name}-{key}") > 64:
            problems.append(Problem(("triggers", "schedule", key),
                                    f"rule name '{function_name}-{key}' is longer than the 64 "
                                    "characters EventBridge allows: shorten the key"))
    if args.get("vpc"):
        subnets = args.get("subnet_ids")
        if subnets is None or "vpc_id" not in args:
            problems.append(Problem(("vpc",), "a vpc function needs subnet_ids and vpc_id"))
        elif isinstance(subnets, Sequence) and len(subnets) < 2:
            problems.append(Problem(("subnet_ids",),
                                    "a vpc function needs subnets in at least 2 availability "
                                    f"zones (got {len(subnets)})"))
    days = args.get("log_retention_days", 365)
    if days not in LOG_RETENTION_DAYS:
        problems.append(Problem(("log_retention_days",),
                                f"{days} is not a CloudWatch Logs retention; use one of "
                                f"{', '.join(map(str, LOG_RETENTION_DAYS))}"))
    problems += [p.under("extra_grants") for p in check_grants(args.get("extra_grants", []))]
    if "code_signing" in args and "image_uri" in args:
        problems.append(Problem(("code_signing",), "applies to zip packages (source) only: "
                                                   "Lambda does not verify container images; "
                                                   "those pass the ECR scan gate"))
    return problems


ACCESS_LOG_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")
XRAY_ACTIONS = ("xray:PutTelemetryRecords", "xray:PutTraceSegments")
ENI_WRITE_ACTIONS = ("ec2:AssignPrivateIpAddresses", "ec2:CreateNetworkInterface",
                     "ec2:DeleteNetworkInterface", "ec2:UnassignPrivateIpAddresses")
ENI_DESCRIBE_ACTIONS = ("ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets")
QUEUE_CONSUME_ACTIONS = ("sqs:ChangeMessageVisibility", "sqs:DeleteMessage",
                         "sqs:GetQueueAttributes", "sqs:ReceiveMessage")


class FunctionService(pulumi.ComponentResource):
    """A Lambda function with an inline least-privilege role, JSON logs to an encrypted log
    group, active tracing, an encrypted dead-letter queue for every failed event, and the
    triggers its spec lists."""

    function_name: pulumi.Output[str]
    """Physical name of the function."""
    function_arn: pulumi.Output[str]
    """ARN of the function."""
    invoke_arn: pulumi.Output[str]
    """ARN API Gateway integrations invoke."""
    role_arn: pulumi.Output[str]
    """ARN of the execution role."""
    log_group_name: pulumi.Output[str]
    """``/aws/lambda/<function name>``."""
    dead_letter_queue_arn: pulumi.Output[str]
    """Queue receiving events the function failed to process."""
    queue_url: pulumi.Output[str | None]
    """URL of the work queue of an sqs trigger (None without one)."""
    queue_arn: pulumi.Output[str | None]
    """ARN of the work queue of an sqs trigger (None without one)."""

    def __init__(self, name: str, args: FunctionArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(type_token("FunctionService"), name, None, opts)
        fname = args.get("function_name", name)
        raise_for("FunctionService", name, check_function(args) + _check_wiring(args, fname))

        # Defaults.
        triggers: TriggersSpec = args.get("triggers", {})
        tags = args.get("tags")
        kms_key_arn = args["kms_key_arn"]
        timeout = args["timeout_seconds"]
        account = aws.get_caller_identity_output(opts=invoke_opts(self)
                                                 ).account_id
        region = aws.get_region_output(opts=invoke_opts(self)).region

        def arn(service: str, resource: str) -> pulumi.Output[str]:
            return pulumi.Output.format("arn:aws:{0}:{1}:{2}:{3}", service, region, account,
                                        resource)

        log_group_name = f"/aws/lambda/{fname}"
        dlq_name = f"{fname}-dlq"
        dlq_arn = arn("sqs", dlq_name)
        queue_name = f"{fname}-queue"
        queue_arn = arn("sqs", queue_name)

        # Failure queue, always: asynchronous invokes, redrives and targets land here.
        dlq = aws.sqs.Queue(f"{name}-dlq", aws.sqs.QueueArgs(
            name=dlq_name, kms_master_key_id=kms_key_arn,
            kms_data_key_reuse_period_seconds=300,
            message_retention_seconds=14 * 24 * 3600, tags=tags), opts=child_opts(self))
        source_statements = _dlq_sources(fname, triggers, dlq_arn, account, region)

        log_group = aws.cloudwatch.LogGroup(f"{name}-logs", aws.cloudwatch.LogGroupArgs(
            name=log_group_name, retention_in_days=args.get("log_retention_days", 365),
            kms_key_id=kms_key_arn, tags=tags), opts=child_opts(self))

        # Execution role: trusted by Lambda from this account only; no managed policies.
        role = aws.iam.Role(f"{name}-role", aws.iam.RoleArgs(
            name=f"{fname}-fn", assume_role_policy=service_trust("lambda.amazonaws.com",
                                                                 account),
            description=f"Execution role of function {fname}", tags=tags),
            opts=child_opts(self))
        statements = self._statements(args, log_group_name, dlq_arn, queue_arn, kms_key_arn,
                                      account, region)
        role_policy = aws.iam.RolePolicy(f"{name}-policy", aws.iam.RolePolicyArgs(
            role=role.name, name="least-privilege", policy=policy_document(statements)),
            opts=child_opts(self))

        vpc_config = None
        if args.get("vpc"):
            sg = aws.ec2.SecurityGroup(f"{name}-sg", aws.ec2.SecurityGroupArgs(
                vpc_id=args["vpc_id"], name=f"{fname}-fn",
                description=f"Function {fname}: HTTPS out only", tags=tags),
                opts=child_opts(self))
            aws.vpc.SecurityGroupEgressRule(f"{name}-sg-egress-https",
                                            aws.vpc.SecurityGroupEgressRuleArgs(
                security_group_id=sg.id, ip_protocol="tcp", from_port=443, to_port=443,
                cidr_ipv4="0.0.0.0/0", description="HTTPS to AWS APIs and dependencies"),
                opts=child_opts(self))
            vpc_config = aws.lambda_.FunctionVpcConfigArgs(
                subnet_ids=args["subnet_ids"], security_group_ids=[sg.id])

        environment: dict[str, pulumi.Input[str]] = dict(args.get("environment", {}))
        for env_name, secret_arn in args.get("secrets", {}).items():
            environment[f"{env_name}_ARN"] = secret_arn
        code: dict[str, Any]
        signing = args.get("code_signing")
        if "source" in args:
            archive = pulumi.FileArchive(args["source"])
            package = ({"code": archive} if signing is None
                       else self._signed_package(name, fname, archive, signing, tags))
            code = {**package, "package_type": "Zip", "runtime": args["runtime"],
                    "handler": args["handler"]}
        else:
            code = {"image_uri": args["image_uri"], "package_type": "Image"}
        function = aws.lambda_.Function(f"{name}-function", aws.lambda_.FunctionArgs(
            name=fname, role=role.arn, architectures=[args.get("architecture", "arm64")],
            memory_size=args["memory_mb"], timeout=timeout,
            reserved_concurrent_executions=args.get("reserved_concurrency"),
            environment=aws.lambda_.FunctionEnvironmentArgs(variables=environment)
            if environment else None,
            kms_key_arn=kms_key_arn,
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(
                log_format="JSON", log_group=log_group.name),
            tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode="Active"),
            code_signing_config_arn=signing["config_arn"] if signing is not None else None,
            vpc_config=vpc_config, tags=tags, **code),
            opts=child_opts(self, depends_on=[log_group, role_policy]))

        aws.lambda_.FunctionEventInvokeConfig(
            f"{name}-async", aws.lambda_.FunctionEventInvokeConfigArgs(
                function_name=function.name,
                maximum_retry_attempts=args.get("async_retry_attempts", 2),
                destination_config=aws.lambda_.FunctionEventInvokeConfigDestinationConfigArgs(
                    on_failure=aws.lambda_.FunctionEventInvokeConfigDestinationConfigOnFailureArgs(
                        destination=dlq.arn))),
            opts=child_opts(self, depends_on=[role_policy]))

        queue = None
        if "sqs" in triggers:
            queue = self._sqs_trigger(name, queue_name, triggers["sqs"], timeout, function,
                                      dlq, kms_key_arn, role_policy, tags)
        self._push_triggers(name, fname, triggers, function, dlq, account, region, tags)
        if source_statements:
            aws.sqs.QueuePolicy(f"{name}-dlq-policy", aws.sqs.QueuePolicyArgs(
                queue_url=dlq.url, policy=policy_document(source_statements)),
                opts=child_opts(self))

        self.function_name = function.name
        self.function_arn = function.arn
        self.invoke_arn = function.invoke_arn
        self.role_arn = role.arn
        self.log_group_name = log_group.name
        self.dead_letter_queue_arn = dlq.arn
        self.queue_url = queue.url if queue else pulumi.Output.from_input(None)
        self.queue_arn = queue.arn if queue else pulumi.Output.from_input(None)
        self.register_outputs({
            "function_name": self.function_name, "function_arn": self.function_arn,
            "invoke_arn": self.invoke_arn, "role_arn": self.role_arn,
            "log_group_name": self.log_group_name,
            "dead_letter_queue_arn": self.dead_letter_queue_arn,
            "queue_url": self.queue_url, "queue_arn": self.queue_arn,
        })

    def _signed_package(self, name: str, fname: str, archive: pulumi.Archive,
                        signing: CodeSigningRef, tags: Any) -> dict[str, Any]:
        """Upload the zip, sign that exact object version, deploy the signed copy. A code
        change uploads a new version, which replaces the signing job and so the package."""
        upload = aws.s3.BucketObjectv2(f"{name}-package", aws.s3.BucketObjectv2Args(
            bucket=signing["bucket"], key=f"unsigned/{fname}.zip", source=archive,
            tags=tags), opts=child_opts(self))
        job = aws.signer.SigningJob(f"{name}-signing", aws.signer.SigningJobArgs(
            profile_name=signing["profile_name"],
            source=aws.signer.SigningJobSourceArgs(s3=aws.signer.SigningJobSourceS3Args(
                bucket=upload.bucket, key=upload.key, version=upload.version_id)),
            destination=aws.signer.SigningJobDestinationArgs(
                s3=aws.signer.SigningJobDestinationS3Args(
                    bucket=signing["bucket"], prefix=f"signed/{fname}/"))),
            opts=child_opts(self))
        # The job fails the deployment if signing fails, so a finished job has its object.
        signed = job.signed_objects.apply(
            lambda objects: objects[0].s3s[0] if objects and objects[0].s3s else None)
        return {"s3_bucket": signed.apply(lambda o: o.bucket if o else None),
                "s3_key": signed.apply(lambda o: o.key if o else None)}

    @staticmethod
    def _statements(args: FunctionArgs, log_group_name: str, dlq_arn: pulumi.Input[str],
                    queue_arn: pulumi.Input[str], kms_key_arn: pulumi.Input[str],
                    account: pulumi.Input[str], region: pulumi.Input[str]) -> list[Statement]:
        log_streams = pulumi.Output.format("arn:aws:logs:{0}:{1}:log-group:{2}:*", region,
                                           account, log_group_name)
        statements = [
            allow("Logs", ACCESS_LOG_ACTIONS, [log_streams]),
            # X-Ray has no resource-level permissions: its actions accept only "*".
            allow("Tracing", XRAY_ACTIONS, ["*"]),
            allow("DeadLetterQueue", ["sqs:SendMessage"], [dlq_arn]),
            # Decrypt environment variables and queue messages; encrypt failed events.
            key_statement("Kms", ["kms:Decrypt", "kms:GenerateDataKey"], kms_key_arn,
                          alias=args.get("kms_key_alias"), region=region, account=account),
        ]
        if args.get("vpc"):
            vpc_arn = pulumi.Output.format("arn:aws:ec2:{0}:{1}:vpc/{2}", region, account,
                                           args["vpc_id"])
            # Lambda manages the function's network interfaces with these actions at
            # create/update time. Describe* has no resource-level permissions ("*" only);
            # the mutating actions are held to network interfaces in the function's VPC.
            statements.append(allow("NetworkInterfaces", ENI_WRITE_ACTIONS, ["*"],
                                    {"ArnEquals": {"ec2:Vpc": vpc_arn}}))
            statements.append(allow("DescribeNetwork", ENI_DESCRIBE_ACTIONS, ["*"]))
        if "sqs" in args.get("triggers", {}):
            statements.append(allow("ConsumeQueue", QUEUE_CONSUME_ACTIONS, [queue_arn]))
        secrets: list[GrantSpec] = [
            {"kind": _secret_kind(arn) or "secret", "arn": arn, "access": "read"}
            for _, arn in sorted(args.get("secrets", {}).items())]
        statements += grant_statements(secrets, sid_prefix="Secret")
        grants = list(args.get("grants", [])) + list(args.get("extra_grants", []))
        statements += grant_statements(grants, sid_prefix="Grant")
        return statements

    def _sqs_trigger(self, name: str, queue_name: str, sqs: SqsTriggerSpec, timeout: int,
                     function: aws.lambda_.Function, dlq: aws.sqs.Queue,
                     kms_key_arn: pulumi.Input[str], role_policy: aws.iam.RolePolicy,
                     tags: Any) -> aws.sqs.Queue:
        redrive = dlq.arn.apply(lambda target: json.dumps(
            {"deadLetterTargetArn": target, "maxReceiveCount": sqs.get("max_receive_count", 5)}))
        queue = aws.sqs.Queue(f"{name}-queue", aws.sqs.QueueArgs(
            name=queue_name, kms_master_key_id=kms_key_arn,
            kms_data_key_reuse_period_seconds=300,
            visibility_timeout_seconds=sqs.get("visibility_timeout_seconds",
                                               SQS_VISIBILITY_FACTOR * timeout),
            redrive_policy=redrive, tags=tags), opts=child_opts(self))
        scaling = None
        if "max_concurrency" in sqs:
            scaling = aws.lambda_.EventSourceMappingScalingConfigArgs(
                maximum_concurrency=sqs["max_concurrency"])
        aws.lambda_.EventSourceMapping(f"{name}-queue-source",
                                       aws.lambda_.EventSourceMappingArgs(
            function_name=function.arn, event_source_arn=queue.arn,
            batch_size=sqs.get("batch_size", 10),
            function_response_types=["ReportBatchItemFailures"], scaling_config=scaling,
            tags=tags), opts=child_opts(self, depends_on=[role_policy]))
        return queue

    def _push_triggers(self, name: str, fname: str, triggers: TriggersSpec,
                       function: aws.lambda_.Function, dlq: aws.sqs.Queue,
                       account: pulumi.Input[str], region: pulumi.Input[str],
                       tags: Any) -> None:
        for key, sns in sorted(triggers.get("sns", {}).items()):
            topic_arn = sns["topic_arn"]
            permission = aws.lambda_.Permission(f"{name}-sns-{key}", aws.lambda_.PermissionArgs(
                action="lambda:InvokeFunction", function=function.name,
                principal="sns.amazonaws.com", source_arn=topic_arn,
                statement_id=f"sns-{key}"), opts=child_opts(self))
            aws.sns.TopicSubscription(f"{name}-sns-{key}", aws.sns.TopicSubscriptionArgs(
                topic=topic_arn, protocol="lambda", endpoint=function.arn,
                redrive_policy=dlq.arn.apply(lambda a: json.dumps({"deadLetterTargetArn": a}))),
                opts=child_opts(self, depends_on=[permission]))
        for key, s3 in sorted(triggers.get("s3", {}).items()):
            bucket = s3["bucket"]
            # S3 bucket ARNs carry no account: SourceAccount stops another account's
            # bucket of the same (reclaimed) name from invoking the function.
            permission = aws.lambda_.Permission(f"{name}-s3-{key}", aws.lambda_.PermissionArgs(
                action="lambda:InvokeFunction", function=function.name,
                principal="s3.amazonaws.com", source_arn=f"arn:aws:s3:::{bucket}",
                source_account=account, statement_id=f"s3-{key}"), opts=child_opts(self))
            aws.s3.BucketNotification(f"{name}-s3-{key}", aws.s3.BucketNotificationArgs(
                bucket=bucket, lambda_functions=[aws.s3.BucketNotificationLambdaFunctionArgs(
                    id=f"{fname}-{key}", lambda_function_arn=function.arn,
                    events=s3["events"], filter_prefix=s3.get("filter_prefix"),
                    filter_suffix=s3.get("filter_suffix"))]),
                opts=child_opts(self, depends_on=[permission]))
        for key, schedule in sorted(triggers.get("schedule", {}).items()):
            rule_name = f"{fname}-{key}"
            rule = aws.cloudwatch.EventRule(f"{name}-schedule-{key}",
                                            aws.cloudwatch.EventRuleArgs(
                name=rule_name, schedule_expression=schedule["expression"],
                description=f"Invokes {fname} on {schedule['expression']}", tags=tags),
                opts=child_opts(self))
            rule_arn = pulumi.Output.format("arn:aws:events:{0}:{1}:rule/{2}", region, account,
                                            rule_name)
            permission = aws.lambda_.Permission(
                f"{name}-schedule-{key}", aws.lambda_.PermissionArgs(
                    action="lambda:InvokeFunction", function=function.name,
                    principal="events.amazonaws.com", source_arn=rule_arn,
                    source_account=account, statement_id=f"schedule-{key}"),
                opts=child_opts(self))
            aws.cloudwatch.EventTarget(f"{name}-schedule-{key}", aws.cloudwatch.EventTargetArgs(
                rule=rule.name, arn=function.arn, target_id="function",
                input=schedule.get("input"),
                retry_policy=aws.cloudwatch.EventTargetRetryPolicyArgs(
                    maximum_retry_attempts=2, maximum_event_age_in_seconds=3600),
                dead_letter_config=aws.cloudwatch.EventTargetDeadLetterConfigArgs(
                    arn=dlq.arn)), opts=child_opts(self, depends_on=[permission]))


def _camel(key: str) -> str:
    return "".join(part.title() for part in key.split("-"))


def _dlq_sources(fname: str, triggers: TriggersSpec, dlq_arn: pulumi.Input[str],
                 account: pulumi.Input[str], region: pulumi.Input[str]) -> list[Statement]:
    """Queue-policy statements letting SNS and EventBridge park undeliverable events in
    the dead-letter queue, each only for its own topic or rule."""
    statements: list[Statement] = []
    for key, sns in sorted(triggers.get("sns", {}).items()):
        statements.append({
            "Sid": f"Sns{_camel(key)}", "Effect": "Allow",
            "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage",
            "Resource": dlq_arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": sns["topic_arn"]}}})
    for key in sorted(triggers.get("schedule", {})):
        rule_arn = pulumi.Output.format("arn:aws:events:{0}:{1}:rule/{2}", region, account,
                                        f"{fname}-{key}")
        statements.append({
            "Sid": f"Schedule{_camel(key)}", "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"}, "Action": "sqs:SendMessage",
            "Resource": dlq_arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}}})
    return statements
