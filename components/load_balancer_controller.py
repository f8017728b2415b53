"""LoadBalancerController: the AWS Load Balancer Controller, registering pods in the
platform's own target groups.

The platform's load balancers (:class:`.load_balancer.LoadBalancer`: HTTPS listener with a
TLS 1.2+ policy, HTTP only to redirect, access logs, WAF in prod) and every target group
and listener rule stay Pulumi resources, visible to preview and the policy pack. The
controller is installed only to keep each target group's targets equal to the ready pods of
one Kubernetes Service (a ``TargetGroupBinding``); it creates no load balancer, listener,
target group or security group. Its role may therefore do exactly that: describe, and
register or deregister targets in the target groups named after the cluster
(``<cluster>-*``).

What it builds: a Pod Identity role for ``kube-system/aws-load-balancer-controller``, its
inline policy, the Pod Identity association (before the pods start, so they get
credentials), and the Helm release of the chart (its CRDs included) with Ingress class,
Service mutation, Shield and WAF integrations off, two replicas spread over zones and a
disruption budget. The release is atomic: a failed install or upgrade is rolled back.

Offline, the Helm release is one resource: the chart's own objects are rendered by Helm at
deploy time and are not visible to preview or to the pack.
"""


import hashlib
from typing import NotRequired

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as kubernetes
from typing_extensions import TypedDict

from .base import Statement, allow, child_opts, policy_document, type_token
from .eks_cluster import pod_identity_trust
from .encryption import aws_context
from .validation import Problem, check_key, check_range, raise_for

CHART = "aws-load-balancer-controller"
CHART_REPOSITORY = "https://aws.github.io/eks-charts"
CHART_VERSION = "3.5.0"
"""Chart release (controller v3.5.0); its image comes from AWS's public ECR registry."""
NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "aws-load-balancer-controller"
TARGET_GROUP_NAME_LENGTH = 32

DESCRIBE_ACTIONS = (
    "ec2:DescribeAvailabilityZones", "ec2:DescribeInstances", "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcs",
    "elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeLoadBalancers",
    "elasticloadbalancing:DescribeRules", "elasticloadbalancing:DescribeTags",
    "elasticloadbalancing:DescribeTargetGroupAttributes",
    "elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetHealth",
)
"""Read calls the controller makes while reconciling a binding; none of them supports
resource-level permissions."""
TARGET_ACTIONS = ("elasticloadbalancing:DeregisterTargets",
                  "elasticloadbalancing:RegisterTargets")


def target_group_name(cluster: str, key: str) -> str:
    """``<cluster>-<key>``, at most 32 characters (ELB's limit); a longer one keeps the
    cluster prefix and is made unique by a short hash of the key."""
    full = f"{cluster}-{key}"
    if len(full) <= TARGET_GROUP_NAME_LENGTH:
        return full
    digest = hashlib.sha256(key.encode()).hexdigest()[:6]
    room = TARGET_GROUP_NAME_LENGTH - len(cluster) - len(digest) - 2
    return f"{cluster}-{key[:room].rstrip('-')}-{digest}"


def controller_statements(partition: str, region: str, account: str,
                          cluster: str) -> list[Statement]:
    """Describe, and move targets in and out of this cluster's target groups only."""
    return [
        allow("Describe", DESCRIBE_ACTIONS, ["*"]),
        allow("RegisterPods", TARGET_ACTIONS, [
            f"arn:{partition}:elasticloadbalancing:{region}:{account}:targetgroup/"
            f"{cluster}-*/*"]),
    ]


class LoadBalancerControllerSpec(TypedDict):
    """Settings of the controller."""

    replicas: NotRequired[int]
    """Controller pods, 2-5 (default 2; one is the leader, the others take over)."""


class LoadBalancerControllerArgs(LoadBalancerControllerSpec):
    """Controller settings plus the cluster it serves."""

    cluster_name: str
    """The EKS cluster (plain: it names the target groups the controller may use)."""
    cluster_arn: pulumi.Input[str]
    """ARN of that cluster (the Pod Identity trust names it)."""
    vpc_id: pulumi.Input[str]
    """VPC of the cluster (given, so the pods need no instance metadata)."""
    tags: NotRequired[pulumi.Input[dict[str, str]]]
    """Tags for the AWS children."""


def check_load_balancer_controller(spec: LoadBalancerControllerSpec) -> list[Problem]:
    return check_range(("replicas",), spec.get("replicas", 2), 2, 5, "replicas")


class LoadBalancerController(pulumi.ComponentResource):
    """The AWS Load Balancer Controller as a Helm release, with its own least-privilege Pod
    Identity role, for TargetGroupBinding only."""

    role_arn: pulumi.Output[str]
    """The controller's Pod Identity role."""
    release_status: pulumi.Output[str]
    """Status of the Helm release."""

    def __init__(self, name: str, args: LoadBalancerControllerArgs,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__(type_token("LoadBalancerController"), name, None, opts)
        raise_for("LoadBalancerController", name,
                  check_key(("cluster_name",), args["cluster_name"])
                  + check_load_balancer_controller(args))

        ctx = aws_context(self)
        cluster = args["cluster_name"]
        tags = args.get("tags")

        role = aws.iam.Role(f"{name}-role", aws.iam.RoleArgs(
            name=f"{cluster}-lb-controller",
            assume_role_policy=pod_identity_trust(args["cluster_arn"], NAMESPACE,
                                                  SERVICE_ACCOUNT),
            description=f"AWS Load Balancer Controller of {cluster}: target registration",
            tags=tags), opts=child_opts(self))
        aws.iam.RolePolicy(f"{name}-policy", aws.iam.RolePolicyArgs(
            role=role.name, policy=policy_document(controller_statements(
                ctx.partition, ctx.region, ctx.account_id, cluster))), opts=child_opts(self))
        association = aws.eks.PodIdentityAssociation(
            f"{name}-pod-identity", aws.eks.PodIdentityAssociationArgs(
                cluster_name=cluster, namespace=NAMESPACE, service_account=SERVICE_ACCOUNT,
                role_arn=role.arn, tags=tags), opts=child_opts(self))

        release = kubernetes.helm.v3.Release(f"{name}-release", kubernetes.helm.v3.ReleaseArgs(
            name=CHART, chart=CHART, version=CHART_VERSION, namespace=NAMESPACE,
            repository_opts=kubernetes.helm.v3.RepositoryOptsArgs(repo=CHART_REPOSITORY),
            atomic=True, cleanup_on_fail=True, timeout=600,
            values={
                "clusterName": cluster, "region": ctx.region, "vpcId": args["vpc_id"],
                "replicaCount": args.get("replicas", 2),
                "serviceAccount": {"create": True, "name": SERVICE_ACCOUNT},
                "createIngressClassResource": False,
                "ingressClassParams": {"create": False},
                "enableServiceMutatorWebhook": False,
                "enableShield": False, "enableWaf": False, "enableWafv2": False,
                "defaultTargetType": "ip",
                "podDisruptionBudget": {"maxUnavailable": 1},
                "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                              "limits": {"cpu": "500m", "memory": "256Mi"}},
                "topologySpreadConstraints": [{
                    "maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
                    "whenUnsatisfiable": "ScheduleAnyway",
                    "labelSelector": {"matchLabels": {
                        "app.kubernetes.io/name": CHART}}}],
            }), opts=child_opts(self, depends_on=[association]))

        self.role_arn = role.arn
        self.release_status = release.status.apply(
            lambda s: (getattr(s, "status", None) or "") if s else "")
        self.register_outputs({"role_arn": self.role_arn,
                               "release_status": self.release_status})
