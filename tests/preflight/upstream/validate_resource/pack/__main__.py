"""Mirrors pulumi-policy tests/integration/validate_resource/policy-pack-python/__main__.py."""

from pulumi_policy import EnforcementLevel, PolicyPack, ResourceValidationPolicy

DYNAMIC = "pulumi-python:dynamic:Resource"


def state_is_not(value, urn=None):
    def validate(args, report_violation):
        if args.resource_type == DYNAMIC and args.props.get("state") == value:
            report_violation(f"'state' must not have the value {value}.", urn)
    return validate


def randomuuid_no_keepers(args, report_violation):
    if args.resource_type == "random:index/randomUuid:RandomUuid" and \
            not args.props.get("keepers"):
        report_violation("RandomUuid must not have an empty 'keepers'.")


def large_resource(args, report_violation):
    if args.resource_type == DYNAMIC and args.props.get("state") == 6:
        expected, got = 5 * 1024 * 1024, len(args.props["longString"])
        if got != expected:
            report_violation(f"'longString' had expected length of {expected}, got {got}")


PolicyPack(
    name="validate-resource-test-policy",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=[
        ResourceValidationPolicy(name="dynamic-no-state-with-value-1",
                                 description="Prohibits setting state to 1 on dynamic resources.",
                                 validate=state_is_not(1)),
        ResourceValidationPolicy(name="dynamic-no-state-with-value-2",
                                 description="Prohibits setting state to 2 on dynamic resources.",
                                 validate=state_is_not(2)),
        ResourceValidationPolicy(name="dynamic-no-state-with-value-3-or-4",
                                 description="Prohibits setting state to 3 or 4 on dynamic "
                                             "resources.",
                                 validate=[state_is_not(3), state_is_not(4)]),
        ResourceValidationPolicy(name="randomuuid-no-keepers",
                                 description="Prohibits creating a RandomUuid without any "
                                             "'keepers'.",
                                 validate=randomuuid_no_keepers),
        # Reports a URN of its own: the engine still attributes it to the analysed resource.
        ResourceValidationPolicy(name="dynamic-no-state-with-value-5",
                                 description="Prohibits setting state to 5 on dynamic resources.",
                                 validate=state_is_not(5, "some-urn")),
        ResourceValidationPolicy(name="large-resource",
                                 description="Ensures that large string properties are set "
                                             "properly.",
                                 validate=large_resource),
    ],
)
