"""Mirrors pulumi-policy tests/integration/runtime_data/policy-pack-python/__main__.py. Any
failed assertion makes the pack fail the analysis."""

import os

from pulumi import Config, get_project, get_stack
from pulumi.runtime import is_dry_run
from pulumi_aws import config as aws_config
from pulumi_policy import (
    EnforcementLevel,
    PolicyPack,
    ResourceValidationPolicy,
    StackValidationPolicy,
)


def verify(r):
    if r.resource_type != "pulumi-python:dynamic:Resource":
        return
    assert is_dry_run() == r.props["isDryRun"]
    assert get_project() == os.environ["PULUMI_TEST_PROJECT"] == r.props["getProject"]
    assert get_stack() == os.environ["PULUMI_TEST_STACK"] == r.props["getStack"]
    assert Config().require("aConfigValue") == "this value is a value"
    assert aws_config.region == "us-west-2"


PolicyPack(
    name="runtime-data-policy",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=[
        ResourceValidationPolicy(name="runtime-data-resource-validation",
                                 description="Verifies runtime data during resource "
                                             "validation.",
                                 validate=lambda args, report: verify(args),
                                 remediate=lambda args, report: verify(args)),
        StackValidationPolicy(name="runtime-data-stack-validation",
                              description="Verifies runtime data during stack validation.",
                              validate=lambda args, report: [verify(r) for r in args.resources]),
    ],
)
