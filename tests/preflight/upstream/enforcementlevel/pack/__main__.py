"""Mirrors pulumi-policy tests/integration/enforcementlevel/policy-pack-python/__main__.py.

The pack reads the stack's config when it starts (``pulumi.Config``): it must be started as the
CLI starts it, with the config in its environment."""

from pulumi import Config
from pulumi_policy import (
    EnforcementLevel,
    PolicyPack,
    ResourceValidationPolicy,
    StackValidationPolicy,
)

LEVELS = [EnforcementLevel.ADVISORY, EnforcementLevel.DISABLED, EnforcementLevel.MANDATORY, None]
SCENARIOS = [None] + [(pack, policy) for pack in LEVELS for policy in LEVELS]

pack_level, policy_level = SCENARIOS[Config().require_int("scenario")]
disabled = policy_level == EnforcementLevel.DISABLED or (
    pack_level == EnforcementLevel.DISABLED and policy_level is None)


def validate_resource(args, report_violation):
    assert not disabled, "validate-resource should never be called."
    report_violation("validate-resource-violation-message")


def validate_stack(args, report_violation):
    assert not disabled, "validate-stack should never be called."
    report_violation("validate-stack-violation-message")


pack_name = pack_level.value if pack_level else "none"
policy_suffix = f"-{policy_level.value}" if policy_level else ""
PolicyPack(
    name=f"enforcementlevel-{pack_name}{policy_suffix}-test-policy",
    enforcement_level=pack_level,
    policies=[
        ResourceValidationPolicy(name="validate-resource",
                                 description="Always reports a resource violation.",
                                 enforcement_level=policy_level, validate=validate_resource),
        StackValidationPolicy(name="validate-stack",
                              description="Always reports a stack violation.",
                              enforcement_level=policy_level, validate=validate_stack),
    ],
)
