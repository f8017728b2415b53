"""What the pack could see: coverage per resource type, remote components and opaque
resources.

**Coverage.** A policy covers a resource type when it applies to resources of that type. The
analyzer protocol has one signal for that: a policy may answer *not applicable* for a
resource (pulumi-policy's ``args.not_applicable()``; this project's pack names every policy
not written for the resource's type). A resource type is *uncovered* when every enabled
policy answered not applicable for every resource of it. A pack that never answers not
applicable does not say what it covers: every enabled policy then counts for every type
(an upper bound, reported as undeclared). Only cloud resources are counted: custom
resources and providers, not components or the stack itself.

**Remote components** (awsx, eks, aws-apigateway, synced-folder...) are implemented in a
provider plugin. Offline they register as one opaque resource: their children (security
groups, listeners, roles) never exist, so nothing inside them is checked. Each is reported
with this project's component that does the same job from pulumi-aws primitives, if any.

**Opaque resources** are custom resources whose provider creates further objects that never
reach the engine as resources, in a real deployment as offline: a Helm release's provider
renders the chart and applies its Deployments, roles and webhooks itself; a CloudFormation
stack's resources are created by CloudFormation. A policy pack sees only the resource itself
(its chart, version, values or template), never what it creates, so each is reported like a
remote component: not expanded, its children not checked. :data:`OPAQUE_TYPES` is the list
(every such type known to this project); a type missing from it is a plain resource.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .analyzer import PolicyMeta
    from .capture import Registration

STACK_TYPE = "pulumi:pulumi:Stack"

ALTERNATIVES: dict[str, str] = {
    "awsx:ec2:Vpc": "components.Network",
    "awsx:ec2:DefaultVpc": "components.Network",
    "awsx:ecs:FargateService": "components.ContainerService",
    "awsx:ecs:FargateTaskDefinition": "components.ContainerService",
    "awsx:ecs:EC2Service": "components.ContainerService (Fargate)",
    "awsx:ecs:EC2TaskDefinition": "components.ContainerService (Fargate)",
    "awsx:lb:ApplicationLoadBalancer": "components.LoadBalancer",
    "awsx:lb:TargetGroupAttachment": "components.ContainerService (registers its targets)",
    "awsx:ecr:Repository": "components.ImageRepository",
    "awsx:ecr:Image": "components.ImageRepository with components.Pipeline",
    "aws-apigateway:index:RestAPI": "components.Api (kind: rest)",
    "eks:index:Cluster": "components.EksCluster",
}
"""Remote component type -> this project's component built from pulumi-aws primitives."""

OPAQUE_TYPES: dict[str, str] = {
    "kubernetes:helm.sh/v3:Release": "Helm release",
    "aws:cloudformation/stack:Stack": "CloudFormation stack",
    "aws:cloudformation/stackSet:StackSet": "CloudFormation stack set",
    "aws:cloudformation/stackSetInstance:StackSetInstance": "CloudFormation stack set instance",
    "aws:cloudformation/stackInstances:StackInstances": "CloudFormation stack instances",
    "aws:serverlessrepository/cloudFormationStack:CloudFormationStack":
        "Serverless Application Repository stack",
    "aws:servicecatalog/provisionedProduct:ProvisionedProduct":
        "Service Catalog provisioned product",
}
"""Custom resource types whose provider creates objects that are never resources of the
stack -> what to call them in reports. Helm releases render their chart in the
pulumi-kubernetes provider; the others deploy a CloudFormation template (a Service Catalog
product is one)."""
REMOTE = "remote component"


@dataclass(frozen=True)
class RemoteComponent:
    """A resource whose children preflight did not see: a remote component, or an opaque
    resource (:data:`OPAQUE_TYPES`)."""

    urn: str
    type: str
    name: str
    alternative: str = ""
    kind: str = REMOTE
    """``remote component``, or what the opaque resource is (``Helm release``...)."""


@dataclass(frozen=True)
class TypeCoverage:
    type: str
    resources: int
    policies: tuple[str, ...]
    """The enabled policies that apply to at least one resource of this type."""

    @property
    def covered(self) -> bool:
        return bool(self.policies)


@dataclass
class Coverage:
    declared: bool
    """Whether the pack answered not applicable at all (else coverage is an upper bound)."""
    types: list[TypeCoverage]

    @property
    def uncovered(self) -> list[TypeCoverage]:
        return [t for t in self.types if not t.covered]


def remote_components(regs: Iterable[Registration]) -> list[RemoteComponent]:
    """Every registration whose children were not seen: remote components and opaque
    custom resources, in registration order."""
    return [RemoteComponent(r.urn, r.type, r.name, ALTERNATIVES.get(r.type, ""),
                            REMOTE if r.remote else OPAQUE_TYPES[r.type])
            for r in regs if r.remote or (r.custom and r.type in OPAQUE_TYPES)]


def measure(regs: Iterable[Registration], not_applicable: Mapping[str, AbstractSet[str]],
            policies: Iterable[PolicyMeta]) -> Coverage:
    """Coverage of the cloud resources in ``regs``; ``not_applicable``: urn -> the policies
    that answered not applicable for it."""
    enabled = {p.name for p in policies if p.level != "disabled"}
    declared = any(not_applicable.values())
    counts: dict[str, int] = defaultdict(int)
    applies: dict[str, set[str]] = defaultdict(set)
    for reg in regs:
        if not reg.custom or reg.type == STACK_TYPE:
            continue
        counts[reg.type] += 1
        applies[reg.type] |= enabled - not_applicable.get(reg.urn, frozenset())
    types = [TypeCoverage(t, counts[t], tuple(sorted(applies[t])))
             for t in sorted(counts, key=lambda t: (-counts[t], t))]
    return Coverage(declared, types)


__all__ = ["ALTERNATIVES", "OPAQUE_TYPES", "Coverage", "RemoteComponent", "TypeCoverage",
           "measure", "remote_components"]
