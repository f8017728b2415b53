"""Mirrors pulumi-policy tests/integration/resource_options/policy-pack-python/__main__.py,
asserting every resource's options (upstream compares the dynamic resources' but does not
assert them). A wrong option fails the analysis."""

from pulumi import get_project, get_stack
from pulumi_policy import (
    EnforcementLevel,
    PolicyPack,
    ResourceValidationPolicy,
    StackValidationPolicy,
)

DYNAMIC = "pulumi-python:dynamic:Resource"
# name -> (protect, ignore_changes, delete_before_replace, custom timeouts, secret outputs)
DEFAULT = (False, [], None, (0, 0, 0), [])
DYNAMIC_OPTIONS = {
    "empty": DEFAULT, "parent-res": DEFAULT, "child-res": DEFAULT, "aliased": DEFAULT,
    "deleteBeforeReplaceNotSet": DEFAULT,
    "protect": (True, [], None, (0, 0, 0), []),
    "ignoreChanges": (False, ["foo", "bar"], None, (0, 0, 0), []),
    "deleteBeforeReplaceTrue": (False, [], True, (0, 0, 0), []),
    "deleteBeforeReplaceFalse": (False, [], False, (0, 0, 0), []),
    "timeouts": (False, [], None, (60, 120, 180), []),
    "timeouts-create": (False, [], None, (240, 0, 0), []),
    "timeouts-update": (False, [], None, (0, 300, 0), []),
    "timeouts-delete": (False, [], None, (0, 0, 360), []),
    "secrets": (False, [], None, (0, 0, 0), ["foo"]),
}


def urn(type_, name):
    return f"urn:pulumi:{get_stack()}::{get_project()}::{type_}::{name}"


def verify(r):
    stack = urn("pulumi:pulumi:Stack", f"{get_project()}-{get_stack()}")
    t, opts = r.resource_type, r.opts
    if t in ("pulumi:pulumi:Stack", f"pulumi:providers:{DYNAMIC.split(':')[0]}",
             "pulumi:providers:random"):
        expected, parent = DEFAULT, None
    elif t == "random:index/randomUuid:RandomUuid":
        expected, parent = DEFAULT, stack
    elif t == DYNAMIC:
        expected = DYNAMIC_OPTIONS[r.name]
        parent = urn(DYNAMIC, "parent-res") if r.name == "child-res" else stack
    else:
        raise AssertionError(f"Unexpected resource of type: '{t}'.")
    timeouts = opts.custom_timeouts
    got = (opts.protect, list(opts.ignore_changes), opts.delete_before_replace,
           (timeouts.create_seconds, timeouts.update_seconds, timeouts.delete_seconds),
           list(opts.additional_secret_outputs))
    assert got == expected, f"{r.name}: {got} != {expected}"
    # The engine drops aliases to resources that do not exist, as none do here.
    assert list(opts.aliases) == [], f"{r.name}: aliases {opts.aliases}"
    assert opts.parent == parent, f"{r.name}: parent {opts.parent} != {parent}"


PolicyPack(
    name="resource-options-test-policy",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=[
        ResourceValidationPolicy(name="validate-resource",
                                 description="Validates resource options during "
                                             "`validateResource`.",
                                 validate=lambda args, report: verify(args),
                                 remediate=lambda args: verify(args)),
        StackValidationPolicy(name="validate-stack",
                              description="Validates resource options during `validateStack`.",
                              validate=lambda args, report: [verify(r) for r in args.resources]),
    ],
)
