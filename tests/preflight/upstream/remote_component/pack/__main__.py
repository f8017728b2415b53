"""Mirrors pulumi-policy tests/integration/remote_component/policy-pack-python/__main__.py."""

from pulumi_policy import EnforcementLevel, PolicyPack, ResourceValidationPolicy


def verify(args):
    if args.name != "innerRandom":
        return
    assert args.props["keepers"]["hello"] == "world"
    print(args.props["keepers"]["hi"])  # unknown at preview


PolicyPack(
    name="remote-component-policy",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=[ResourceValidationPolicy(
        name="resource-validation",
        description="Verifies properties during resource validation.",
        validate=lambda args, report: verify(args), remediate=verify)],
)
