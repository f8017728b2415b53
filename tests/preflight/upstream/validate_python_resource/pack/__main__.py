"""Mirrors pulumi-policy tests/integration/validate_python_resource/policy-pack-python."""

from pulumi_policy import EnforcementLevel, PolicyPack, ResourceValidationPolicy


def keepers_required(args, report_violation):
    if args.resource_type == "random:index/randomUuid:RandomUuid" and \
            not args.props.get("keepers"):
        report_violation("RandomUuid must not have an empty 'keepers'.")


PolicyPack(
    name="validate-resource-test-policy",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=[ResourceValidationPolicy(
        name="randomuuid-no-keepers",
        description="Prohibits creating a RandomUuid without any 'keepers'.",
        validate=keepers_required)],
)
