"""Tracing: the environment's X-Ray sampling rule and an opt-in ADOT collector sidecar for ECS
tasks.

Functions and APIs switch X-Ray on in their own components; this module supplies what they
share: how much is sampled (:class:`Tracing`, one ``aws.xray.SamplingRule`` per environment)
and, for containers, a collector that receives OTLP/X-Ray traffic from the application and
forwards it to X-Ray (:func:`xray_sidecar_container`, :func:`xray_statements`).

Image: the platform does not pull the collector from the public registry at run time. The
release pinned in :data:`UPSTREAM_COLLECTOR_IMAGE` is mirrored into the platform's private
ECR (where it is scanned like every other image); :func:`mirrored_collector_image` names the
mirror. A digest-pinned reference (``...@sha256:<64 hex>``) is accepted too. Tag-only public
references are rejected, which is what the image guardrail asks of every container.

IAM: the X-Ray actions the collector calls (``PutTraceSegments``, ``PutTelemetryRecords``,
``GetSamplingRules``, ``GetSamplingTargets``, ``GetSamplingStatisticSummaries``) define no
resource types in the IAM service authorization reference, so ``"Resource": "*"`` is the only
form AWS accepts for them (resource-level permissions exist only for managing sampling rules
and groups, which the collector never does).
"""


import re
from typing import Any, NotRequired

import pulumi
import pulumi_aws as aws
from typing_extensions import TypedDict

from .base import Statement, allow, child_opts, type_token
from .environment import check_environment_name, tier_name
from .validation import Problem, check_range, raise_for

ADOT_VERSION = "v0.43.3"
"""The AWS Distro for OpenTelemetry collector release the platform mirrors."""
UPSTREAM_COLLECTOR_IMAGE = f"public.ecr.aws/aws-observability/aws-otel-collector:{ADOT_VERSION}"
"""Source of the mirror; never referenced by a task definition."""
MIRROR_REPOSITORY = "mirror/aws-otel-collector"
"""Private ECR repository holding the mirrored collector."""
COLLECTOR_CONFIG = "/etc/ecs/ecs-xray.yaml"
"""Configuration bundled in the image: OTLP and X-Ray receivers, X-Ray exporter only (no
metrics, so no CloudWatch permissions needed)."""

XRAY_ACTIONS = (
    "xray:GetSamplingRules",
    "xray:GetSamplingStatisticSummaries",
    "xray:GetSamplingTargets",
    "xray:PutTelemetryRecords",
    "xray:PutTraceSegments",
)

PRIVATE_ECR_RE = re.compile(r"^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/[a-z0-9._/-]+"
                            r"(:[A-Za-z0-9._-]{1,128}|@sha256:[0-9a-f]{64})$")
DIGEST_RE = re.compile(r"^[a-z0-9.-]+(:\d+)?/[a-z0-9._/-]+(:[A-Za-z0-9._-]{1,128})?"
                       r"@sha256:[0-9a-f]{64}$")


def check_collector_image(image: str) -> list[Problem]:
    """The collector image must come from a private ECR mirror or be pinned by digest."""
    if PRIVATE_ECR_RE.match(image) and not image.endswith(":latest"):
        return []
    if DIGEST_RE.match(image):
        return []
    return [Problem(("collector_image",),
                    f"'{image}' is neither in the platform's private ECR (with a tag other "
                    "than latest) nor pinned by digest (@sha256:<64 hex digits>); mirror "
                    f"{UPSTREAM_COLLECTOR_IMAGE} into ECR")]


def mirrored_collector_image(account_id: pulumi.Input[str],
                             region: pulumi.Input[str]) -> pulumi.Output[str]:
    """The platform's mirror of :data:`UPSTREAM_COLLECTOR_IMAGE`."""
    return pulumi.Output.concat(account_id, ".dkr.ecr.", region, ".amazonaws.com/",
                                MIRROR_REPOSITORY, ":", ADOT_VERSION)


def xray_statements() -> list[Statement]:
    """Exactly what the collector needs in the task role."""
    return [allow("XRayTraces", XRAY_ACTIONS, ["*"])]


def xray_sidecar_container(region: pulumi.Input[str], log_group: pulumi.Input[str],
                           image: pulumi.Input[str], *, cpu: int = 64,
                           memory: int = 128, stream_prefix: str = "adot") -> dict[str, Any]:
    """ECS container definition (task-definition JSON, camelCase) of the collector sidecar.

    Not essential: the application keeps serving if tracing breaks. Applications send OTLP to
    ``localhost:4317``/``4318`` or X-Ray segments to ``localhost:2000/udp`` (awsvpc mode
    shares the task's network namespace, so no ports are opened beyond the task).
    Check a literal ``image`` with :func:`check_collector_image`."""
    if isinstance(image, str):
        raise_for("xray_sidecar_container", "collector", check_collector_image(image))
    return {
        "name": "aws-otel-collector",
        "image": image,
        "essential": False,
        "cpu": cpu,
        "memory": memory,
        "command": [f"--config={COLLECTOR_CONFIG}"],
        "readonlyRootFilesystem": True,
        "portMappings": [
            {"containerPort": 2000, "protocol": "udp"},
            {"containerPort": 4317, "protocol": "tcp"},
            {"containerPort": 4318, "protocol": "tcp"},
        ],
        "healthCheck": {"command": ["CMD", "/healthcheck"], "interval": 30, "timeout": 5,
                        "retries": 3, "startPeriod": 10},
        "logConfiguration": {"logDriver": "awslogs", "options": {
            "awslogs-group": log_group, "awslogs-region": region,
            "awslogs-stream-prefix": stream_prefix}},
    }


class TracingSpec(TypedDict):
    """How much of the environment's traffic X-Ray samples."""

    reservoir_per_second: NotRequired[int]
    """Requests traced each second before the rate applies, 0-1000 (default 1)."""
    fixed_rate_percent: NotRequired[int]
    """Share of further requests traced, 0-100 (default: prod 5, staging 10, dev 100)."""
    service_name: NotRequired[str]
    """Service name pattern the rule matches (default ``*``, every service)."""


DEFAULT_FIXED_RATE_PERCENT = {"prod": 5, "staging": 10, "dev": 100}


class TracingArgs(TracingSpec):
    """Sampling settings plus the environment they apply to."""

    environment: str
    """Environment (stack) name; the rule is ``<environment>-default``."""
    tier: NotRequired[str]
    """Tier whose default sampling rate applies (default the environment's name)."""
    tags: NotRequired[pulumi.Input[dict[str, str]]]
    """Tags for the sampling rule."""


def check_tracing(spec: TracingSpec) -> list[Problem]:
    problems: list[Problem] = []
    if "reservoir_per_second" in spec:
        problems += check_range(("reservoir_per_second",), spec["reservoir_per_second"], 0,
                                1000, "reservoir_per_second")
    if "fixed_rate_percent" in spec:
        problems += check_range(("fixed_rate_percent",), spec["fixed_rate_percent"], 0, 100,
                                "fixed_rate_percent")
    pattern = spec.get("service_name", "*")
    if not 1 <= len(pattern) <= 64:
        problems.append(Problem(("service_name",), "must be 1-64 characters "
                                                   f"(got {len(pattern)})"))
    return problems


class Tracing(pulumi.ComponentResource):
    """The environment's X-Ray sampling rule (priority 9000, ahead of AWS's catch-all
    default rule at 10000)."""

    rule_name: pulumi.Output[str]
    """Name of the sampling rule."""

    def __init__(self, name: str, args: TracingArgs,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__(type_token("Tracing"), name, None, opts)
        problems = check_tracing(args)
        problems += check_environment_name(args)
        raise_for("Tracing", name, problems)
        environment = args["environment"]
        rate = args.get("fixed_rate_percent", DEFAULT_FIXED_RATE_PERCENT[tier_name(args)])
        rule = aws.xray.SamplingRule(f"{name}-sampling", aws.xray.SamplingRuleArgs(
            rule_name=f"{environment}-default",
            priority=9000,
            version=1,
            reservoir_size=args.get("reservoir_per_second", 1),
            fixed_rate=rate / 100,
            host="*", http_method="*", url_path="*", resource_arn="*", service_type="*",
            service_name=args.get("service_name", "*"),
            tags=args.get("tags")), opts=child_opts(self))
        self.rule_name = rule.rule_name.apply(lambda n: n or "")
        self.register_outputs({"rule_name": self.rule_name})
