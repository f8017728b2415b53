"""Mirrors pulumi-policy tests/integration/unknown_values/policy-pack-python/__main__.py."""

from pulumi_policy import (
    EnforcementLevel,
    PolicyPack,
    ResourceValidationPolicy,
    StackValidationPolicy,
)


def read_prefix(resource):
    if resource.resource_type == "random:index/randomPet:RandomPet":
        print(resource.props["prefix"])  # unknown until the string exists


PolicyPack(
    name="unknown-values-policy",
    policies=[
        ResourceValidationPolicy(
            name="unknown-values-resource-validation",
            description="Accessing unknown values during preview results in a violation.",
            enforcement_level=EnforcementLevel.REMEDIATE,
            validate=lambda args, report: read_prefix(args),
            remediate=read_prefix),
        StackValidationPolicy(
            name="unknown-values-stack-validation",
            description="Accessing unknown values during preview results in a violation.",
            enforcement_level=EnforcementLevel.MANDATORY,
            validate=lambda args, report: [read_prefix(r) for r in args.resources]),
    ],
)
