"""Sampling rule per environment, collector sidecar definition and its IAM."""

import re
from typing import Any

import pytest

from components.tracing import (
    UPSTREAM_COLLECTOR_IMAGE,
    Tracing,
    check_collector_image,
    check_tracing,
    mirrored_collector_image,
    xray_sidecar_container,
    xray_statements,
)
from components.validation import ArgsError
from preflight.capture import capture

MIRROR = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/mirror/aws-otel-collector:v0.43.3"
DIGEST = "public.ecr.aws/aws-observability/aws-otel-collector@sha256:" + "ab" * 32


def rule(**spec: Any) -> dict[str, Any]:
    cap = capture(lambda: Tracing("tracing", spec), preview=True)  # type: ignore[arg-type]
    (reg,) = cap.of_type("aws:xray/samplingRule:SamplingRule")
    assert reg.parent == cap.named("tracing").urn
    return reg.inputs


def test_prod_sampling_rule_is_exact():
    assert rule(environment="prod") == {
        "ruleName": "prod-default", "priority": 9000, "version": 1, "reservoirSize": 1,
        "fixedRate": 0.05, "host": "*", "httpMethod": "*", "urlPath": "*", "resourceArn": "*",
        "serviceType": "*", "serviceName": "*"}


def test_rates_come_from_the_spec_or_the_tier():
    assert rule(environment="dev")["fixedRate"] == 1.0
    assert rule(environment="staging")["fixedRate"] == 0.1
    custom = rule(environment="prod", reservoir_per_second=10, fixed_rate_percent=1,
                  service_name="prod-*")
    assert (custom["reservoirSize"], custom["fixedRate"], custom["serviceName"]) == (
        10, 0.01, "prod-*")


def test_sampling_validation_messages():
    assert [(p.path, p.message) for p in check_tracing(
        {"reservoir_per_second": 5000, "fixed_rate_percent": -1, "service_name": ""})] == [
        (("reservoir_per_second",), "reservoir_per_second must be between 0 and 1000 "
                                    "(got 5000)"),
        (("fixed_rate_percent",), "fixed_rate_percent must be between 0 and 100 (got -1)"),
        (("service_name",), "must be 1-64 characters (got 0)"),
    ]
    with pytest.raises(ArgsError, match=re.escape(
            "Tracing 'tracing': environment: 'qa' is not allowed: use one of dev, staging, "
            "prod")):
        rule(environment="qa")


def test_collector_iam_is_exactly_the_xray_write_and_sampling_actions():
    assert xray_statements() == [{
        "Sid": "XRayTraces", "Effect": "Allow",
        "Action": ["xray:GetSamplingRules", "xray:GetSamplingStatisticSummaries",
                   "xray:GetSamplingTargets", "xray:PutTelemetryRecords",
                   "xray:PutTraceSegments"],
        # None of these actions defines a resource type; "*" is the only accepted form.
        "Resource": ["*"]}]


def test_sidecar_definition_is_exact():
    assert xray_sidecar_container("eu-west-1", "/prod/orders", MIRROR) == {
        "name": "aws-otel-collector",
        "image": MIRROR,
        "essential": False,
        "cpu": 64,
        "memory": 128,
        "command": ["--config=/etc/ecs/ecs-xray.yaml"],
        "readonlyRootFilesystem": True,
        "portMappings": [{"containerPort": 2000, "protocol": "udp"},
                         {"containerPort": 4317, "protocol": "tcp"},
                         {"containerPort": 4318, "protocol": "tcp"}],
        "healthCheck": {"command": ["CMD", "/healthcheck"], "interval": 30, "timeout": 5,
                        "retries": 3, "startPeriod": 10},
        "logConfiguration": {"logDriver": "awslogs", "options": {
            "awslogs-group": "/prod/orders", "awslogs-region": "eu-west-1",
            "awslogs-stream-prefix": "adot"}},
    }


def test_images_must_be_mirrored_or_digest_pinned():
    assert check_collector_image(MIRROR) == []
    assert check_collector_image(DIGEST) == []
    for bad in (UPSTREAM_COLLECTOR_IMAGE,
                "123456789012.dkr.ecr.eu-west-1.amazonaws.com/mirror/aws-otel-collector:latest",
                "public.ecr.aws/aws-observability/aws-otel-collector@sha256:abc"):
        assert [p.message for p in check_collector_image(bad)] == [
            f"'{bad}' is neither in the platform's private ECR (with a tag other than latest) "
            "nor pinned by digest (@sha256:<64 hex digits>); mirror "
            "public.ecr.aws/aws-observability/aws-otel-collector:v0.43.3 into ECR"]
    with pytest.raises(ArgsError, match=re.escape(
            f"xray_sidecar_container 'collector': collectorImage: '{UPSTREAM_COLLECTOR_IMAGE}' "
            "is neither in the platform's private ECR")):
        xray_sidecar_container("eu-west-1", "/prod/orders", UPSTREAM_COLLECTOR_IMAGE)


def test_mirrored_image_name():
    seen: list[str] = []

    def program() -> None:
        mirrored_collector_image("123456789012", "eu-west-1").apply(seen.append)
    capture(program)
    assert seen == [MIRROR]
    assert check_collector_image(seen[0]) == []
