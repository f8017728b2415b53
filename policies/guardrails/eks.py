"""EKS: the cluster endpoint, secrets encryption, control plane logs and version; node
groups; add-ons; who gets cluster-admin; access entries and Pod Identity roles."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from .core import (
    Param,
    Resource,
    Settings,
    Stack,
    as_list,
    at_least,
    is_unknown,
    load_json,
    resource_policy,
    stack_policy,
    unknown,
)

CLUSTER = "aws:eks/cluster:Cluster"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
ADDON = "aws:eks/addon:Addon"
ACCESS_POLICY = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
ACCESS_ENTRY = "aws:eks/accessEntry:AccessEntry"
POD_IDENTITY = "aws:eks/podIdentityAssociation:PodIdentityAssociation"
ROLE = "aws:iam/role:Role"
ACCOUNT_ROOT_RE = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:root$")
IAM_USER_RE = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:user/")
POD_IDENTITY_SERVICE = "pods.eks.amazonaws.com"
CLUSTER_ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"

LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
SUPPORTED_VERSIONS = ("1.31", "1.32", "1.33", "1.34", "1.35")
"""Kubernetes versions in EKS standard or extended support (EKS Kubernetes version
calendar); older ones no longer get security patches."""
ADDONS_NEEDING_AWS = ("vpc-cni", "aws-ebs-csi-driver", "aws-efs-csi-driver",
                      "aws-mountpoint-s3-csi-driver", "adot", "amazon-cloudwatch-observability")
"""Add-ons that call AWS APIs: without their own role they borrow the node role's rights."""


@resource_policy(
    "eks-endpoint-not-public",
    types=(CLUSTER,),
    description="The cluster's Kubernetes API endpoint is private, or public only to named "
                "CIDR ranges.",
    severity="high", fsbp=("EKS.1",), refs=("checkov CKV_AWS_39", "checkov CKV_AWS_38"),
    remediation="Set vpcConfig {endpointPrivateAccess: true, endpointPublicAccess: false} "
                "(or publicAccessCidrs to your egress ranges, never 0.0.0.0/0).",
)
def endpoint_not_public(r: Resource, s: Settings) -> Iterator[str]:
    public = r.get("vpcConfig.endpointPublicAccess", True)
    if is_unknown(public):
        yield unknown("vpcConfig.endpointPublicAccess", "the API endpoint is private")
        return
    if public is not True:
        return
    cidrs = r.get("vpcConfig.publicAccessCidrs")
    if is_unknown(cidrs):
        yield unknown("vpcConfig.publicAccessCidrs", "the API endpoint is not open to all")
    elif not cidrs or any(c in ("0.0.0.0/0", "::/0") for c in as_list(cidrs)):
        yield "the Kubernetes API endpoint is public to 0.0.0.0/0"


@resource_policy(
    "eks-secrets-encrypted",
    types=(CLUSTER,),
    description="Kubernetes secrets are envelope-encrypted with a customer-managed KMS key.",
    severity="high", fsbp=("EKS.3",), refs=("cdk-nag EKS1", "checkov CKV_AWS_58"),
    remediation="Set encryptionConfig {resources: [secrets], provider: {keyArn: <platform "
                "key>}}.",
)
def secrets_encrypted(r: Resource, s: Settings) -> Iterator[str]:
    config = r.get("encryptionConfig")
    if is_unknown(config):
        yield unknown("encryptionConfig", "secrets are encrypted with a KMS key")
        return
    config = config if isinstance(config, dict) else {}
    if "secrets" not in as_list(config.get("resources")) \
            or config.get("provider", {}).get("keyArn") is None:
        yield "encryptionConfig does not encrypt secrets with a KMS key"


@resource_policy(
    "eks-control-plane-logging",
    types=(CLUSTER,),
    description="Every control plane log type (api, audit, authenticator, controllerManager, "
                "scheduler) goes to CloudWatch Logs.",
    severity="medium", fsbp=("EKS.8",), refs=("cdk-nag EKS2", "checkov CKV_AWS_37"),
    remediation=f"Set enabledClusterLogTypes to {', '.join(LOG_TYPES)}.",
)
def control_plane_logging(r: Resource, s: Settings) -> Iterator[str]:
    enabled = r.get("enabledClusterLogTypes")
    if is_unknown(enabled):
        yield unknown("enabledClusterLogTypes", "control plane logs are kept")
        return
    missing = [t for t in LOG_TYPES if t not in as_list(enabled)]
    if missing:
        yield f"enabledClusterLogTypes lacks {', '.join(missing)}"


@resource_policy(
    "eks-supported-version",
    types=(CLUSTER,),
    description="Clusters run a Kubernetes version EKS still supports.",
    severity="medium", fsbp=("EKS.2",), refs=("checkov CKV_AWS_339",),
    remediation=f"Set version to one of {', '.join(SUPPORTED_VERSIONS)} (or leave it unset "
                "for the current default).",
)
def supported_version(r: Resource, s: Settings) -> Iterator[str]:
    version = r.get("version")
    if is_unknown(version):
        yield unknown("version", "the version is supported")
    elif version is not None and str(version) not in SUPPORTED_VERSIONS:
        yield f"version {version} is not a supported EKS version"


@resource_policy(
    "eks-nodegroup-no-public-ssh",
    types=(NODE_GROUP,),
    description="Node groups with an SSH key admit SSH only from named security groups.",
    severity="high", refs=("checkov CKV_AWS_100",),
    remediation="Drop remoteAccess (use SSM Session Manager), or set "
                "remoteAccess.sourceSecurityGroupIds.",
)
def nodegroup_ssh(r: Resource, s: Settings) -> Iterator[str]:
    access = r.get("remoteAccess")
    if is_unknown(access):
        yield unknown("remoteAccess", "SSH is not open to the internet")
    elif isinstance(access, dict) and access.get("ec2SshKey") is not None \
            and not access.get("sourceSecurityGroupIds"):
        yield "remoteAccess opens SSH (port 22) to 0.0.0.0/0: no sourceSecurityGroupIds"


@resource_policy(
    "eks-nodegroup-min-size",
    types=(NODE_GROUP,),
    description="Node groups keep at least minNodes nodes, so losing one node or zone does "
                "not take the workloads down.",
    severity="medium", guardrail="multi-az",
    params={"minNodes": Param("integer", 2, "Fewest nodes a node group may shrink to "
                              "(one per availability zone in prod).", minimum=1)},
    remediation="Set scalingConfig.minSize to at least minNodes.",
)
def nodegroup_min_size(r: Resource, s: Settings) -> Iterator[str]:
    need = s["minNodes"]
    yield from at_least(r.get("scalingConfig.minSize"), "scalingConfig.minSize", need,
                        f"the node group keeps {need} nodes")


@resource_policy(
    "eks-addon-own-role",
    types=(ADDON,),
    description="Add-ons that call AWS APIs (VPC CNI, CSI drivers, observability) run with "
                "their own IAM role, not the node role.",
    severity="medium", refs=("EKS Best Practices: IRSA for the VPC CNI",),
    remediation="Set serviceAccountRoleArn (IRSA) or podIdentityAssociations on the add-on, "
                "and keep those permissions off the node role.",
)
def addon_role(r: Resource, s: Settings) -> Iterator[str]:
    name = r.get("addonName")
    if is_unknown(name) or name not in ADDONS_NEEDING_AWS:
        return
    if r.get("serviceAccountRoleArn") is None and not r.get("podIdentityAssociations"):
        yield f"add-on {name} has no serviceAccountRoleArn or pod identity; it uses the node role"


def _masters(text: str) -> bool:
    return "system:masters" in text


@resource_policy(
    "eks-no-cluster-admin-grants",
    types=(ACCESS_POLICY, CONFIG_MAP),
    description="No principal is granted cluster-admin (AmazonEKSClusterAdminPolicy at "
                "cluster scope, or system:masters in aws-auth); access is scoped to "
                "namespaces and narrower policies.",
    severity="high", refs=("EKS Best Practices: access entries",),
    remediation="Associate AmazonEKSAdminPolicy or AmazonEKSEditPolicy with accessScope "
                "{type: namespace, namespaces: [...]}; keep cluster-admin for break-glass "
                "roles as a reasoned exception.",
)
def cluster_admin(r: Resource, s: Settings) -> Iterator[str]:
    if r.type == CONFIG_MAP:
        if r.get("metadata.name") != "aws-auth":
            return
        data = r.get("data")
        if is_unknown(data):
            yield unknown("data", "aws-auth grants no system:masters")
            return
        for key in ("mapRoles", "mapUsers"):
            value = (data or {}).get(key)
            if is_unknown(value):
                yield unknown(f"data.{key}", "aws-auth grants no system:masters")
            elif value and _masters(value if isinstance(value, str) else json.dumps(value)):
                yield f"aws-auth {key} maps a principal to system:masters (cluster-admin)"
        return
    policy, scope = r.get("policyArn"), r.get("accessScope.type")
    if is_unknown(policy) or is_unknown(scope):
        yield unknown("policyArn/accessScope", "the grant is not cluster-admin")
    elif policy == CLUSTER_ADMIN_POLICY and scope == "cluster":
        yield "associates AmazonEKSClusterAdminPolicy at cluster scope (cluster-admin)"


@resource_policy(
    "eks-access-entry-named-role",
    types=(ACCESS_ENTRY,),
    description="Access entries name a role: never the account root (every principal the "
                "account's IAM allows) and never an IAM user (a long-lived credential).",
    severity="high", refs=("EKS Best Practices: access entries",
                           "CIS Amazon EKS 4.1 (least-privilege cluster access)"),
    remediation="Set principalArn to a role assumed through SSO or GitHub OIDC "
                "(arn:aws:iam::<account>:role/<name>).",
)
def access_entry_role(r: Resource, s: Settings) -> Iterator[str]:
    principal = r.get("principalArn")
    if is_unknown(principal):
        yield unknown("principalArn", "the entry names a role")
    elif isinstance(principal, str) and ACCOUNT_ROOT_RE.match(principal):
        yield (f"principalArn is the account root {principal}: every principal the "
               "account's IAM policies allow gets into the cluster")
    elif isinstance(principal, str) and IAM_USER_RE.match(principal):
        yield f"principalArn is an IAM user ({principal}), a long-lived credential"


def _trusts_pods(role: Resource) -> object:
    """Whether a role's trust policy lets EKS Pod Identity assume it; UNKNOWN if unknown."""
    try:
        doc = load_json(role.get("assumeRolePolicy"))
    except ValueError:
        return False
    if is_unknown(doc):
        return doc
    for st in as_list(doc.get("Statement") if isinstance(doc, dict) else None):
        if not isinstance(st, dict):
            continue
        principal = st.get("Principal")
        services = as_list(principal.get("Service")) if isinstance(principal, dict) else []
        if st.get("Effect") == "Allow" and POD_IDENTITY_SERVICE in services:
            return True
    return False


@stack_policy(
    "eks-pod-identity-own-role",
    types=(POD_IDENTITY, ROLE),
    description="Pod Identity associations hand pods a role of this stack whose trust "
                "policy names EKS Pod Identity, so the pack judges both what the role "
                "grants and who may assume it.",
    severity="high", refs=("EKS Pod Identity", "EKS Best Practices: IAM roles for pods"),
    remediation="Set roleArn to an aws.iam.Role of this program trusting "
                "pods.eks.amazonaws.com (sts:AssumeRole, sts:TagSession) with an "
                "aws:RequestTag/eks-cluster-arn condition.",
)
def pod_identity_role(stack: Stack, s: Settings) -> Iterator[tuple[Resource, str]]:
    for association in stack.of_type(POD_IDENTITY):
        roles = association.deps("roleArn", (ROLE,))
        if not roles:
            arn = association.get("roleArn")
            if is_unknown(arn):
                yield association, unknown("roleArn", "the pods' role is one of this stack")
            else:
                yield association, (f"roleArn {arn} is not a role of this stack; cannot "
                                    "prove what the pods may do")
            continue
        for role in roles:
            trusts = _trusts_pods(role)
            if is_unknown(trusts):
                yield association, unknown(f"assumeRolePolicy of role {role.name}",
                                           "Pod Identity may assume the role")
            elif not trusts:
                yield association, (f"role {role.name} does not trust "
                                    f"{POD_IDENTITY_SERVICE}: the pods cannot assume it")
