"""Mirrors pulumi-policy tests/integration/config/policy-pack-python/__main__.py: each scenario
declares a config schema (and maybe initial config) and checks the value its policies get.
A failed check fails the analysis. Scenarios 7-15 (schema violations the CLI rejects) are
not mirrored."""

from pulumi import Config
from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyPack,
    ResourceValidationPolicy,
    StackValidationPolicy,
)

STRING = {"type": "string"}
INITIAL = {"resource-validation": {"foo": "hello world"},
           "stack-validation": {"foo": "hello world"}}
# scenario -> (schema of foo, required, initial config, the value the policies must see)
SCENARIOS = {
    1: (STRING, [], None, "bar"),
    2: ({"type": "string", "default": "bar"}, [], None, "bar"),
    3: ({"type": "number", "default": 42}, [], None, 42),
    4: ({"type": "string", "default": "bar"}, [], None, "overridden"),
    5: ({"type": "string", "default": "bar"}, ["foo"], None, "bar"),
    6: (STRING, ["foo"], None, None),
    16: ({"type": "number"}, [], None, 42),
    17: ({"type": "number"}, [], None, 3.14),
    18: ({"type": "integer"}, [], None, 42),
    19: ({"type": "boolean"}, [], None, True),
    20: ({"type": "boolean"}, [], None, False),
    21: ({"type": "object"}, [], None, {"bar": "baz"}),
    22: ({"type": "array"}, [], None, ["a", "b", "c"]),
    23: ({"type": "null"}, [], None, None),
    24: (STRING, [], INITIAL, "hello world"),
    25: (STRING, [], INITIAL, "overridden"),
}
schema, required, initial, expected = SCENARIOS[Config().require_int("scenario")]


def validate(args, report_violation):
    foo = args.get_config()["foo"]
    # Numbers arrive as protobuf numbers (42.0), as from the CLI; booleans stay booleans.
    assert foo == expected and isinstance(foo, bool) == isinstance(expected, bool), \
        f"foo is {foo!r}"


PolicyPack(
    name="config-policy",
    policies=[
        ResourceValidationPolicy(name="resource-validation",
                                 description="Verifies policy config during resource "
                                             "validation.",
                                 enforcement_level=EnforcementLevel.REMEDIATE,
                                 validate=validate, remediate=lambda args: None,
                                 config_schema=PolicyConfigSchema({"foo": schema}, required)),
        StackValidationPolicy(name="stack-validation",
                              description="Verifies policy config during stack validation.",
                              enforcement_level=EnforcementLevel.MANDATORY, validate=validate,
                              config_schema=PolicyConfigSchema({"foo": schema}, required)),
    ],
    initial_config=initial,
)
