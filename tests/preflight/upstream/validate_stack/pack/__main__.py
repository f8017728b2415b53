"""Mirrors pulumi-policy tests/integration/validate_stack/policy-pack-python/__main__.py."""

from pulumi_policy import EnforcementLevel, PolicyPack, StackValidationPolicy

DYNAMIC = "pulumi-python:dynamic:Resource"


def dynamic_where(key, value, message, with_urn=False):
    def validate(args, report_violation):
        for r in args.resources:
            if r.resource_type == DYNAMIC and r.props.get(key) == value:
                report_violation(message, r.urn if with_urn else None)
    return validate


def randomuuid_no_keepers(args, report_violation):
    for r in args.resources:
        if r.resource_type == "random:index/randomUuid:RandomUuid" and not r.props.get("keepers"):
            report_violation("RandomUuid must not have an empty 'keepers'.")


def no_randomstrings(args, report_violation):
    for r in args.resources:
        if r.resource_type == "random:index/randomString:RandomString":
            report_violation("RandomString resources are not allowed.")


PolicyPack(
    name="validate-stack-test-policy",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=[
        StackValidationPolicy(name="dynamic-no-state-with-value-1",
                              description="Prohibits setting state to 1 on dynamic resources.",
                              validate=dynamic_where("state", 1,
                                                     "'state' must not have the value 1.")),
        StackValidationPolicy(name="dynamic-no-state-with-value-2",
                              description="Prohibits setting state to 2 on dynamic resources.",
                              validate=dynamic_where("state", 2,
                                                     "'state' must not have the value 2.")),
        StackValidationPolicy(name="dynamic-no-state-with-value-3",
                              description="Prohibits setting state to 3 on dynamic resources.",
                              validate=dynamic_where("state", 3,
                                                     "'state' must not have the value 3.",
                                                     with_urn=True)),
        StackValidationPolicy(name="randomuuid-no-keepers",
                              description="Prohibits creating a RandomUuid without any "
                                          "'keepers'.",
                              validate=randomuuid_no_keepers),
        StackValidationPolicy(name="no-randomstrings",
                              description="Prohibits RandomString resources.",
                              validate=no_randomstrings),
        # A stack policy at "remediate" is reported as mandatory.
        StackValidationPolicy(name="dynamic-no-foo-with-value-bar",
                              description="Prohibits setting foo to 'bar' on dynamic resources.",
                              enforcement_level=EnforcementLevel.REMEDIATE,
                              validate=dynamic_where("foo", "bar",
                                                     "'foo' must not have the value 'bar'.")),
    ],
)
