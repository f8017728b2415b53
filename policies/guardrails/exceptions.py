"""Audits of the pack's own exceptions, against the whole stack.

An exception is written for resources that exist today. When a resource is renamed or
removed, its exception would stay behind, ready to exempt whatever takes the name next;
and a pattern that happens to match every resource of a stack (``prod-*`` in prod) exempts
the whole estate. Both are only visible with every resource and every policy's exceptions
at hand, so these two stack rules read the exceptions the pack was configured with
(:func:`configured_exceptions`).
"""

from __future__ import annotations

from collections.abc import Iterator

from .core import REGISTRY, Resource, Settings, Stack, configured_exceptions, stack_policy

_ENGINE_TYPES = ("pulumi:pulumi:Stack",)


def _declared(stack: Stack) -> list[Resource]:
    """What the program declared: not the stack itself nor the providers."""
    return [r for r in stack.resources
            if r.type not in _ENGINE_TYPES and not r.type.startswith("pulumi:providers:")]


@stack_policy(
    "policy-exceptions-current",
    types=(),
    description="Every policy exception matches a resource that its policy checks in this "
                "stack, so a renamed or removed resource leaves no stale exception behind.",
    severity="medium",
    remediation="Remove the exception, or correct its resource name if the resource was "
                "renamed.",
    default_level="advisory",
)
def current(stack: Stack, s: Settings) -> Iterator[tuple[Resource | None, str]]:
    for policy, exc in configured_exceptions():
        record = REGISTRY.get(policy)
        types = record.types if record is not None else ()
        checked = [r for r in stack.resources if not types or r.type in types]
        if not any(exc.matches(r) for r in checked):
            yield None, (f"{policy}: exception '{exc.resource}' matches no resource this "
                         "policy checks in the stack: remove it, or correct the name if the "
                         "resource was renamed")


@stack_policy(
    "policy-exceptions-targeted",
    types=(),
    description="No policy exception covers every resource of the stack: an exception names "
                "the resources it is for.",
    severity="high",
    remediation="Narrow the exception's resource to the names it is for (e.g. "
                "prod-*-delivery-build rather than prod-*).",
)
def targeted(stack: Stack, s: Settings) -> Iterator[tuple[Resource | None, str]]:
    declared = _declared(stack)
    if len(declared) < 2:
        return
    for policy, exc in configured_exceptions():
        if all(exc.matches(r) for r in declared):
            yield None, (f"{policy}: exception '{exc.resource}' matches all {len(declared)} "
                         "resources of the stack: name the resources it is for")
