"""Mirrors pulumi-policy tests/integration/parent_dependencies/policy-pack-python/__main__.py.
A wrong parent or dependency fails the analysis."""

from pulumi_policy import EnforcementLevel, PolicyPack, StackValidationPolicy


def validate_stack(args, report_violation):
    resources = args.resources
    by_name = {r.name: r for r in resources}
    stack = next(r for r in resources if r.resource_type == "pulumi:pulumi:Stack")
    for r in resources:
        t = r.resource_type
        if t == "pulumi:pulumi:Stack" or t.startswith("pulumi:providers:"):
            assert (r.parent, r.dependencies, r.property_dependencies) == (None, [], {}), r.name
        elif t == "pulumi-python:dynamic:Resource":
            if r.name == "child":
                assert r.parent is by_name["parent"]
                assert (r.dependencies, r.property_dependencies) == ([], {})
            elif r.name == "b":
                assert r.parent is stack
                assert r.dependencies == [by_name["a"]] and r.property_dependencies == {}
        elif t == "random:index/randomString:RandomString":
            assert r.parent is stack
            assert (r.dependencies, r.property_dependencies) == ([], {})
        elif t == "random:index/randomPet:RandomPet":
            assert r.parent is stack
            assert r.dependencies == [by_name["str"]]
            assert r.property_dependencies["prefix"] == [by_name["str"]]
        else:
            raise AssertionError(f"Unexpected resource of type: '{t}'.")


PolicyPack(
    name="parent-dependencies-test-policy",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=[StackValidationPolicy(name="validate-stack",
                                    description="Validates resource options during "
                                                "`validateStack`.",
                                    validate=validate_stack)],
)
