"""EksCluster: an Amazon EKS cluster for services that run on Kubernetes instead of ECS.

What it builds, all children of the component:

- the control plane: a private API endpoint (public only when asked, and then only for the
  listed CIDRs), Kubernetes secrets envelope-encrypted with the platform key, all five
  control-plane log types to ``/aws/eks/<name>/cluster`` (created first, so it carries the
  key and the retention), access entries (authentication mode ``API``; no ``aws-auth``
  ConfigMap, no implicit admin for whoever created the cluster), standard support only
  (no extended-support surcharge), zonal shift and, when the tier says so, deletion
  protection;
- an API security group: the only extra way into the private endpoint, 443 from the listed
  private CIDRs (a VPN, CI runners in the VPC). Nodes reach the API through the cluster
  security group EKS creates;
- managed node groups in the private subnets of every zone, from launch templates that
  require IMDSv2 with a hop limit of 1 (pods cannot reach the node's credentials) and
  encrypt the root volume; optional Fargate profiles for namespaces the platform does not
  manage;
- least-privilege roles: the cluster role (``AmazonEKSClusterPolicy`` and exactly the KMS
  actions envelope encryption needs), the node role (``AmazonEKSWorkerNodePolicy`` and
  ``AmazonEC2ContainerRegistryPullOnly``; the VPC CNI's EC2 permissions are not on the
  node, they go to the CNI through its own Pod Identity role), the Fargate pod execution
  role, and Pod Identity roles for the CNI and the CloudWatch agent;
- managed add-ons: VPC CNI (network policy enforcement on), kube-proxy and the Pod
  Identity agent before the nodes; CoreDNS and the CloudWatch Observability add-on
  (Container Insights, application logs, and X-Ray/OTLP trace receivers) once nodes exist.
  The Container Insights log groups are created here with the key and the retention
  before the agent could create them without either;
- the Kubernetes provider bound to the cluster (``provider``), for the workloads.

Trust policies: EKS and Fargate accept ``aws:SourceAccount``/``aws:SourceArn`` and get
them. EKS Pod Identity roles are scoped by the session tags the service sets (cluster ARN,
namespace, service account). The node role is assumed by EC2 for the instance profile,
which documents no source condition keys; it stays unconditioned, as AWS documents it.
"""


import ipaddress
import json
import re
from typing import Any, NotRequired

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as kubernetes
from typing_extensions import TypedDict

from .base import child_opts, key_statement, policy_document, type_token
from .encryption import aws_context, check_log_retention, tags_with
from .validation import (
    Problem,
    check_arn,
    check_choice,
    check_key,
    check_range,
    parse_cidr,
    raise_for,
)

KUBERNETES_VERSIONS = ("1.31", "1.32", "1.33", "1.34")
"""Versions in EKS standard support that the platform accepts."""
DEFAULT_VERSION = "1.33"
CONTROL_PLANE_LOGS = ("api", "audit", "authenticator", "controllerManager", "scheduler")
"""Every control-plane log type EKS can ship."""
AMI_ARCHITECTURES = {"AL2023_x86_64_STANDARD": "amd64", "AL2023_ARM_64_STANDARD": "arm64"}
"""Node images (Amazon Linux 2023) and the CPU architecture they run."""
CAPACITY_TYPES = {"on-demand": "ON_DEMAND", "spot": "SPOT"}
ACCESS_POLICIES = {
    "cluster-admin": "AmazonEKSClusterAdminPolicy",
    "admin": "AmazonEKSAdminPolicy",
    "edit": "AmazonEKSEditPolicy",
    "view": "AmazonEKSViewPolicy",
}
"""Access levels a stack file names -> EKS access policies."""
CLUSTER_MANAGED_POLICIES = ("AmazonEKSClusterPolicy",)
NODE_MANAGED_POLICIES = ("AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryPullOnly")
FARGATE_MANAGED_POLICIES = ("AmazonEKSFargatePodExecutionRolePolicy",)
CNI_MANAGED_POLICIES = ("AmazonEKS_CNI_Policy",)
CLOUDWATCH_MANAGED_POLICIES = ("CloudWatchAgentServerPolicy", "AWSXrayWriteOnlyAccess")
ENVELOPE_KMS_ACTIONS = ("kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:ListGrants")
"""What EKS does with the key to envelope-encrypt Kubernetes secrets."""

ADDONS_BEFORE_NODES = ("vpc-cni", "kube-proxy", "eks-pod-identity-agent")
"""Add-ons nodes need to become Ready: pod networking, service routing, pod credentials."""
ADDONS_AFTER_NODES = ("coredns", "amazon-cloudwatch-observability")
"""Add-ons whose pods must be scheduled before EKS reports them active."""
ADDONS = (*ADDONS_BEFORE_NODES, *ADDONS_AFTER_NODES)
CLOUDWATCH_NAMESPACE = "amazon-cloudwatch"
CLOUDWATCH_SERVICE_ACCOUNT = "cloudwatch-agent"
INSIGHTS_LOG_GROUPS = ("application", "dataplane", "host", "performance")
"""Log groups Container Insights writes: ``/aws/containerinsights/<cluster>/<kind>``."""
TRACE_PORTS = {"xray": (2000, "UDP"), "otlp-grpc": (4317, "TCP"), "otlp-http": (4318, "TCP")}
"""Where the CloudWatch agent receives traces (service ``cloudwatch-agent`` in
``amazon-cloudwatch``)."""
POD_IDENTITY_AGENT = "169.254.170.23/32"
"""Link-local address of the EKS Pod Identity agent on every node (port 80)."""

DEFAULT_DISK_GIB = 50
DEFAULT_LOG_RETENTION_DAYS = 365
MAX_NAME_LENGTH = 20
"""Cluster names prefix the names of target groups (32 characters at most) and roles."""
INSTANCE_TYPE_RE = re.compile(r"^([a-z]+)(\d+)([a-z-]*)\.([a-z0-9]+)$")
PRINCIPAL_RE = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:(role|user)/[A-Za-z0-9+=,.@_/-]+$")


class NodeGroupSpec(TypedDict):
    """One managed node group: EC2 nodes in the private subnets of every zone."""

    instance_types: list[str]
    """Instance types, e.g. ``[m7i.large, m6i.large]`` (all of one CPU architecture; the
    first is preferred for on-demand capacity)."""
    min_size: int
    """Fewest nodes (at least one per zone where the tier asks for a task per zone)."""
    max_size: int
    """Most nodes."""
    desired_size: NotRequired[int]
    """Nodes at creation (default ``min_size``)."""
    capacity_type: NotRequired[str]
    """``on-demand`` (default) or ``spot`` (not in prod)."""
    ami_type: NotRequired[str]
    """``AL2023_x86_64_STANDARD`` (default) or ``AL2023_ARM_64_STANDARD`` (Graviton)."""
    disk_size_gib: NotRequired[int]
    """Encrypted gp3 root volume per node, 20-1000 GiB (default 50)."""
    labels: NotRequired[dict[str, str]]
    """Extra Kubernetes labels on the nodes."""


class FargateProfileSpec(TypedDict):
    """A Fargate profile: pods of these namespaces run on Fargate instead of nodes."""

    namespaces: list[str]
    """Namespaces whose pods the profile selects (not the platform's service namespaces:
    the VPC CNI does not enforce network policies on Fargate)."""
    labels: NotRequired[dict[str, str]]
    """Only pods with all these labels."""


class AccessEntrySpec(TypedDict):
    """Who may use the Kubernetes API, and how much."""

    principal_arn: str
    """IAM role or user ARN (e.g. the role that runs ``pulumi up``, an SSO admin role)."""
    access: str
    """``cluster-admin``, ``admin``, ``edit`` or ``view`` (the EKS access policies)."""
    namespaces: NotRequired[list[str]]
    """Limit the access to these namespaces (default: the whole cluster; not for
    ``cluster-admin``)."""


class EksClusterSpec(TypedDict):
    """What a stack file says about the EKS cluster (under ``eks``)."""

    version: NotRequired[str]
    """Kubernetes version: one of 1.31, 1.32, 1.33, 1.34 (default 1.33)."""
    endpoint_public_access: NotRequired[bool]
    """Also expose the API endpoint on the internet (default false: private only)."""
    public_access_cidrs: NotRequired[list[str]]
    """Internet CIDRs allowed to the public endpoint (required when it is on; never
    ``0.0.0.0/0``)."""
    api_access_cidrs: NotRequired[list[str]]
    """Private CIDRs allowed to the private endpoint on 443 besides the nodes (a VPN, CI
    runners in the VPC): whoever runs ``pulumi up`` must come from one of them."""
    node_groups: NotRequired[dict[str, NodeGroupSpec]]
    """Managed node groups by key (services run here)."""
    fargate_profiles: NotRequired[dict[str, FargateProfileSpec]]
    """Fargate profiles by key."""
    addon_versions: NotRequired[dict[str, str]]
    """Pinned add-on versions by add-on name (default: EKS's default for the Kubernetes
    version): vpc-cni, kube-proxy, eks-pod-identity-agent, coredns,
    amazon-cloudwatch-observability."""
    access_entries: dict[str, AccessEntrySpec]
    """Access entries by key; at least one ``cluster-admin`` (whoever runs ``pulumi up``
    creates the Kubernetes resources)."""


class EksClusterArgs(EksClusterSpec):
    """Cluster settings plus the wiring the platform provides."""

    vpc_id: pulumi.Input[str]
    """VPC of the cluster."""
    subnet_ids: list[pulumi.Input[str]]
    """Private subnets, one per availability zone: control-plane interfaces, nodes and
    Fargate pods."""
    az_count: NotRequired[int]
    """Availability zones the subnets span (for ``require_node_per_az``)."""
    require_node_per_az: NotRequired[bool]
    """Every node group keeps at least one node per zone (default false; the tier decides)."""
    allow_spot: NotRequired[bool]
    """Node groups may use Spot capacity (default true; the tier decides)."""
    deletion_protection: NotRequired[bool]
    """Refuse cluster deletion at the AWS API (default false; the tier decides)."""
    kms_key_arn: pulumi.Input[str]
    """Customer-managed key: Kubernetes secrets envelope encryption and the log groups."""
    kms_key_alias: NotRequired[str]
    """That key's alias (``alias/<name>``): the cluster role names the key through it, so
    its policy is known before the key exists."""
    log_retention_days: NotRequired[int]
    """Retention of the control-plane and Container Insights logs (default 365)."""
    tags: NotRequired[pulumi.Input[dict[str, str]]]
    """Tags for every AWS child."""


# --- checks --------------------------------------------------------------------------------

def instance_architecture(instance_type: str) -> str | None:
    """``arm64`` for Graviton types (a ``g`` among the letters after the generation, as in
    m7g, c7gn, r8gd, t4g), ``amd64`` for the others, None for a malformed name."""
    match = INSTANCE_TYPE_RE.match(instance_type)
    if match is None:
        return None
    return "arm64" if "g" in match.group(3) else "amd64"


def node_architectures(spec: EksClusterSpec) -> set[str]:
    """CPU architectures the cluster's node groups offer."""
    return {AMI_ARCHITECTURES.get(g.get("ami_type", "AL2023_x86_64_STANDARD"), "amd64")
            for g in spec.get("node_groups", {}).values()}


def _check_node_group(group: NodeGroupSpec) -> list[Problem]:
    problems: list[Problem] = []
    ami = group.get("ami_type", "AL2023_x86_64_STANDARD")
    problems += check_choice(("ami_type",), ami, list(AMI_ARCHITECTURES))
    problems += check_choice(("capacity_type",), group.get("capacity_type", "on-demand"),
                             list(CAPACITY_TYPES))
    types = group["instance_types"]
    if not types:
        problems.append(Problem(("instance_types",), "must list at least one instance type"))
    for i, instance_type in enumerate(types):
        arch = instance_architecture(instance_type)
        if arch is None:
            problems.append(Problem(("instance_types", i), f"'{instance_type}' is not an EC2 "
                                                           "instance type (e.g. m7i.large)"))
        elif ami in AMI_ARCHITECTURES and arch != AMI_ARCHITECTURES[ami]:
            fitting = next(a for a, runs in AMI_ARCHITECTURES.items() if runs == arch)
            problems.append(Problem(("instance_types", i),
                                    f"'{instance_type}' is {arch} but amiType {ami} runs "
                                    f"{AMI_ARCHITECTURES[ami]}: use amiType {fitting} or "
                                    "another instance type"))
    min_size, max_size = group["min_size"], group["max_size"]
    desired = group.get("desired_size", min_size)
    problems += check_range(("min_size",), min_size, 1, 450, "minSize")
    problems += check_range(("max_size",), max_size, 1, 450, "maxSize")
    if max_size < min_size:
        problems.append(Problem(("max_size",), f"maxSize ({max_size}) must not be less than "
                                               f"minSize ({min_size})"))
    if not min_size <= desired <= max_size:
        problems.append(Problem(("desired_size",), f"desiredSize ({desired}) must be between "
                                                   f"minSize ({min_size}) and maxSize "
                                                   f"({max_size})"))
    problems += check_range(("disk_size_gib",), group.get("disk_size_gib", DEFAULT_DISK_GIB),
                            20, 1000, "diskSizeGib")
    for label in sorted(group.get("labels", {})):
        if label.startswith(("kubernetes.io/", "k8s.io/", "eks.amazonaws.com/")):
            problems.append(Problem(("labels",), f"'{label}' is a reserved label prefix"))
    return problems


RFC1918 = tuple(ipaddress.IPv4Network(block)
                for block in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))


def _check_cidrs(field: str, cidrs: list[str], private: bool) -> list[Problem]:
    problems: list[Problem] = []
    for i, cidr in enumerate(cidrs):
        if private:
            parse_cidr((field, i), cidr, problems, min_prefix=8, max_prefix=32)
            continue
        try:
            net = ipaddress.IPv4Network(cidr, strict=True)
        except ValueError as exc:
            problems.append(Problem((field, i), f"'{cidr}' is not an IPv4 CIDR block ({exc})"))
            continue
        if net.prefixlen < 8:
            problems.append(Problem((field, i), f"{cidr} opens the API endpoint to a /"
                                                f"{net.prefixlen}: list your own ranges"))
        elif any(net.subnet_of(block) for block in RFC1918):
            problems.append(Problem((field, i), f"{cidr} is a private range: the public "
                                                "endpoint sees internet addresses; use "
                                                "apiAccessCidrs for private ones"))
    return problems


def check_eks_cluster(spec: EksClusterSpec) -> list[Problem]:
    """Rules for the cluster section on its own (the tier's rules are in the spec)."""
    problems: list[Problem] = []
    problems += check_choice(("version",), spec.get("version", DEFAULT_VERSION),
                             KUBERNETES_VERSIONS)
    public = spec.get("endpoint_public_access", False)
    public_cidrs = spec.get("public_access_cidrs")
    if public and not public_cidrs:
        problems.append(Problem(("public_access_cidrs",), "required when "
                                "endpointPublicAccess is true: list the internet CIDRs "
                                "allowed to the API endpoint"))
    if public_cidrs is not None and not public:
        problems.append(Problem(("public_access_cidrs",), "only applies when "
                                "endpointPublicAccess is true"))
    problems += _check_cidrs("public_access_cidrs", public_cidrs or [], private=False)
    problems += _check_cidrs("api_access_cidrs", spec.get("api_access_cidrs", []),
                             private=True)
    groups = spec.get("node_groups", {})
    profiles = spec.get("fargate_profiles", {})
    if not groups and not profiles:
        problems.append(Problem(("node_groups",), "the cluster needs capacity: define a node "
                                                  "group or a Fargate profile"))
    for key, group in sorted(groups.items()):
        problems += check_key(("node_groups", key), key)
        problems += [p.under("node_groups", key) for p in _check_node_group(group)]
    for key, profile in sorted(profiles.items()):
        problems += check_key(("fargate_profiles", key), key)
        if not 1 <= len(profile["namespaces"]) <= 5:
            problems.append(Problem(("fargate_profiles", key, "namespaces"),
                                    "list 1-5 namespaces (a Fargate profile has at most 5 "
                                    "selectors)"))
        for namespace in profile["namespaces"]:
            problems += check_key(("fargate_profiles", key, "namespaces"), namespace)
    for addon in sorted(spec.get("addon_versions", {})):
        problems += check_choice(("addon_versions", addon), addon, ADDONS)
    entries = spec["access_entries"]
    for key, entry in sorted(entries.items()):
        where = ("access_entries", key)
        problems += check_key(where, key)
        if not PRINCIPAL_RE.match(entry["principal_arn"]):
            problems.append(Problem((*where, "principal_arn"),
                                    f"'{entry['principal_arn']}' is not an IAM role or user "
                                    "ARN (arn:aws:iam::<account>:role/<name>)"))
        problems += check_choice((*where, "access"), entry["access"], list(ACCESS_POLICIES))
        if "namespaces" in entry and entry["access"] == "cluster-admin":
            problems.append(Problem((*where, "namespaces"), "cluster-admin applies to the "
                                    "whole cluster: remove namespaces or use admin"))
        for namespace in entry.get("namespaces", []):
            problems += check_key((*where, "namespaces"), namespace)
    if not any(e["access"] == "cluster-admin" for e in entries.values()):
        problems.append(Problem(("access_entries",), "needs at least one cluster-admin entry "
                                "for the principal that runs pulumi up (it creates the "
                                "Kubernetes resources)"))
    return problems


def check_eks_cluster_args(name: str, args: EksClusterArgs) -> list[Problem]:
    problems = check_key(("name",), name) + check_eks_cluster(args)
    if len(name) > MAX_NAME_LENGTH:
        problems.append(Problem(("name",), f"'{name}' is longer than {MAX_NAME_LENGTH} "
                                           "characters (it prefixes target group and role "
                                           "names)"))
    problems += check_log_retention(args.get("log_retention_days"))
    if isinstance(args["kms_key_arn"], str):
        problems += check_arn(("kms_key_arn",), args["kms_key_arn"], "kms", "a KMS key")
    subnets = args["subnet_ids"]
    az_count = args.get("az_count")
    if not subnets:
        problems.append(Problem(("subnet_ids",), "must list the private subnets"))
    elif az_count is not None and len(subnets) < az_count:
        problems.append(Problem(("subnet_ids",), f"must list a subnet in each of the "
                                                 f"{az_count} availability zones (got "
                                                 f"{len(subnets)})"))
    return problems + check_capacity(
        args, az_count if args.get("require_node_per_az", False) else None,
        args.get("allow_spot", True))


def check_capacity(spec: EksClusterSpec, per_az: int | None, allow_spot: bool,
                   who: str = "this cluster") -> list[Problem]:
    """What the environment asks of the node groups: with ``per_az``, a node in each zone
    at all times; without ``allow_spot``, on-demand capacity only."""
    problems: list[Problem] = []
    for key, group in sorted(spec.get("node_groups", {}).items()):
        if per_az is not None and group["min_size"] < per_az:
            problems.append(Problem(("node_groups", key, "min_size"),
                                    f"{who} keeps a node in each availability zone: minSize "
                                    f"must be at least {per_az} (got {group['min_size']})"))
        if group.get("capacity_type") == "spot" and not allow_spot:
            problems.append(Problem(("node_groups", key, "capacity_type"),
                                    f"{who} does not run on Spot capacity: use on-demand"))
    return problems


# --- helpers shared by the workloads -------------------------------------------------------

def cluster_arn(partition: str, region: str, account: str, cluster: str) -> str:
    return f"arn:{partition}:eks:{region}:{account}:cluster/{cluster}"


def pod_identity_trust(cluster_arn_: pulumi.Input[str], namespace: str,
                       service_account: str) -> pulumi.Output[str]:
    """Trust policy of a Pod Identity role: EKS may assume it (tagging the session) only
    for this cluster's ``namespace/service_account``, which it states in session tags."""
    return policy_document([{
        "Sid": "PodIdentity", "Effect": "Allow",
        "Principal": {"Service": "pods.eks.amazonaws.com"},
        "Action": ["sts:AssumeRole", "sts:TagSession"],
        "Condition": {"StringEquals": {
            "aws:RequestTag/eks-cluster-arn": cluster_arn_,
            "aws:RequestTag/kubernetes-namespace": namespace,
            "aws:RequestTag/kubernetes-service-account": service_account}}}])


def managed_policy_arn(partition: str, name: str) -> str:
    prefix = "service-role/" if name == "AWSXrayWriteOnlyAccess" else ""
    return f"arn:{partition}:iam::aws:policy/{prefix}{name}"


def kubeconfig(cluster: str, endpoint: pulumi.Input[str], certificate: pulumi.Input[str],
               region: str) -> pulumi.Output[str]:
    """A kubeconfig that authenticates with ``aws eks get-token`` (the AWS CLI of whoever
    runs the program, with their credentials): it holds no secret."""
    return pulumi.Output.all(endpoint, certificate).apply(lambda ec: json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": cluster,
        "clusters": [{"name": cluster, "cluster": {
            "server": ec[0], "certificate-authority-data": ec[1]}}],
        "contexts": [{"name": cluster, "context": {"cluster": cluster, "user": cluster}}],
        "users": [{"name": cluster, "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1", "command": "aws",
            "args": ["eks", "get-token", "--cluster-name", cluster, "--region", region,
                     "--output", "json"]}}}]}))


def cloudwatch_agent_configuration() -> dict[str, Any]:
    """CloudWatch Observability add-on settings: enhanced Container Insights, container
    logs, and X-Ray plus OTLP trace receivers (the cluster's X-Ray collector)."""
    return {
        "agent": {"config": {
            "logs": {"metrics_collected": {"kubernetes": {
                "enhanced_container_insights": True}}},
            "traces": {"traces_collected": {"xray": {}, "otlp": {}}}}},
        "containerLogs": {"enabled": True}}


class EksCluster(pulumi.ComponentResource):
    """An EKS cluster with a private, encrypted, fully logged control plane, access entries,
    managed node groups (IMDSv2, encrypted disks) in every zone, managed add-ons, Container
    Insights and a Kubernetes provider for the workloads."""

    cluster_name: pulumi.Output[str]
    """Cluster name (the component name)."""
    cluster_arn: pulumi.Output[str]
    """Cluster ARN (built from known parts, so documents naming it are known at preview)."""
    endpoint: pulumi.Output[str]
    """API server endpoint."""
    kubeconfig: pulumi.Output[str]
    """Kubeconfig for the cluster (authenticates with ``aws eks get-token``)."""
    node_security_group_id: pulumi.Output[str]
    """The cluster security group EKS creates and puts on every node: what load balancers
    and data stores admit to reach the pods."""
    node_role_arn: pulumi.Output[str]
    """Role of the managed nodes."""
    control_plane_log_group: pulumi.Output[str]
    """``/aws/eks/<name>/cluster``."""
    application_log_group: pulumi.Output[str]
    """``/aws/containerinsights/<name>/application``: every container's stdout and stderr."""

    def __init__(self, name: str, args: EksClusterArgs,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__(type_token("EksCluster"), name, None, opts)
        # 1) validate
        raise_for("EksCluster", name, check_eks_cluster_args(name, args))

        # 2) defaults
        ctx = aws_context(self)
        partition = ctx.partition
        arn = cluster_arn(partition, ctx.region, ctx.account_id, name)
        retention = args.get("log_retention_days", DEFAULT_LOG_RETENTION_DAYS)
        tags = args.get("tags")
        kms = args["kms_key_arn"]
        versions = args.get("addon_versions", {})
        self._name = name
        self._partition = partition
        self._admitted: dict[tuple[str, int], pulumi.Resource] = {}

        # 3) children
        # -- logs first: EKS and the CloudWatch agent would create them without key or expiry
        control_logs = aws.cloudwatch.LogGroup(f"{name}-control-plane", aws.cloudwatch.LogGroupArgs(
            name=f"/aws/eks/{name}/cluster", retention_in_days=retention, kms_key_id=kms,
            tags=tags_with(tags, {"Name": f"{name}-control-plane"})), opts=child_opts(self))
        insights_logs = {kind: aws.cloudwatch.LogGroup(
            f"{name}-insights-{kind}", aws.cloudwatch.LogGroupArgs(
                name=f"/aws/containerinsights/{name}/{kind}", retention_in_days=retention,
                kms_key_id=kms, tags=tags_with(tags, {"Name": f"{name}-insights-{kind}"})),
            opts=child_opts(self)) for kind in INSIGHTS_LOG_GROUPS}

        # -- the control plane's role
        cluster_role = self._role(
            "cluster", policy_document([{
                "Sid": "AssumeRole", "Effect": "Allow",
                "Principal": {"Service": "eks.amazonaws.com"}, "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": ctx.account_id},
                              "ArnLike": {"aws:SourceArn": arn}}}]),
            "EKS control plane", CLUSTER_MANAGED_POLICIES, tags)
        aws.iam.RolePolicy(f"{name}-cluster-kms", aws.iam.RolePolicyArgs(
            role=cluster_role.name, policy=policy_document([key_statement(
                "EnvelopeEncryption", ENVELOPE_KMS_ACTIONS, kms,
                alias=args.get("kms_key_alias"), region=ctx.region,
                account=ctx.account_id)])), opts=child_opts(self))

        # -- the API endpoint's own security group (always present: changing a cluster's
        # security groups replaces it)
        api_sg = aws.ec2.SecurityGroup(f"{name}-api", aws.ec2.SecurityGroupArgs(
            vpc_id=args["vpc_id"], description=f"Kubernetes API of {name}: 443 from the "
                                               "listed private ranges only",
            tags=tags_with(tags, {"Name": f"{name}-api"})), opts=child_opts(self))
        for cidr in args.get("api_access_cidrs", []):
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-api-from-{cidr.replace('/', '-')}",
                aws.vpc.SecurityGroupIngressRuleArgs(
                    security_group_id=api_sg.id, ip_protocol="tcp", from_port=443,
                    to_port=443, cidr_ipv4=cidr,
                    description=f"Kubernetes API from {cidr}"), opts=child_opts(self))

        public = args.get("endpoint_public_access", False)
        cluster = aws.eks.Cluster(f"{name}-cluster", aws.eks.ClusterArgs(
            name=name,
            version=args.get("version", DEFAULT_VERSION),
            role_arn=cluster_role.arn,
            vpc_config=aws.eks.ClusterVpcConfigArgs(
                subnet_ids=list(args["subnet_ids"]),
                security_group_ids=[api_sg.id],
                endpoint_private_access=True,
                endpoint_public_access=public,
                public_access_cidrs=list(args.get("public_access_cidrs", [])) if public
                else None),
            encryption_config=aws.eks.ClusterEncryptionConfigArgs(
                provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=kms),
                resources=["secrets"]),
            enabled_cluster_log_types=list(CONTROL_PLANE_LOGS),
            access_config=aws.eks.ClusterAccessConfigArgs(
                authentication_mode="API",
                bootstrap_cluster_creator_admin_permissions=False),
            bootstrap_self_managed_addons=False,
            upgrade_policy=aws.eks.ClusterUpgradePolicyArgs(support_type="STANDARD"),
            zonal_shift_config=aws.eks.ClusterZonalShiftConfigArgs(enabled=True),
            deletion_protection=args.get("deletion_protection", False),
            tags=tags_with(tags, {"Name": name})),
            opts=child_opts(self, depends_on=[control_logs]))

        # -- who may use the Kubernetes API
        access: list[pulumi.Resource] = []
        for key, entry in sorted(args["access_entries"].items()):
            access_entry = aws.eks.AccessEntry(f"{name}-access-{key}", aws.eks.AccessEntryArgs(
                cluster_name=cluster.name, principal_arn=entry["principal_arn"],
                type="STANDARD", tags=tags), opts=child_opts(self))
            namespaces = entry.get("namespaces")
            access.append(aws.eks.AccessPolicyAssociation(
                f"{name}-access-{key}-policy", aws.eks.AccessPolicyAssociationArgs(
                    cluster_name=cluster.name, principal_arn=entry["principal_arn"],
                    policy_arn=(f"arn:{partition}:eks::aws:cluster-access-policy/"
                                f"{ACCESS_POLICIES[entry['access']]}"),
                    access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(
                        type="namespace" if namespaces else "cluster",
                        namespaces=list(namespaces) if namespaces else None)),
                opts=child_opts(self, depends_on=[access_entry])))

        # -- add-ons the nodes need, with their own Pod Identity roles
        cni_role = self._pod_role("cni", arn, "kube-system", "aws-node", CNI_MANAGED_POLICIES,
                                  tags)
        before_nodes = [
            self._addon(cluster, "vpc-cni", versions, tags,
                        configuration={"enableNetworkPolicy": "true"},
                        service_account=("aws-node", cni_role)),
            self._addon(cluster, "kube-proxy", versions, tags),
            self._addon(cluster, "eks-pod-identity-agent", versions, tags),
        ]

        # -- capacity
        node_role = self._role(
            "nodes", policy_document([{
                "Sid": "AssumeRole", "Effect": "Allow",
                "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]),
            "EKS managed nodes", NODE_MANAGED_POLICIES, tags)
        capacity: list[pulumi.Resource] = []
        for key, group in sorted(args.get("node_groups", {}).items()):
            capacity.append(self._node_group(key, group, cluster, node_role, args, tags,
                                             before_nodes))
        if args.get("fargate_profiles"):
            fargate_role = self._role(
                "fargate", policy_document([{
                    "Sid": "AssumeRole", "Effect": "Allow",
                    "Principal": {"Service": "eks-fargate-pods.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                    "Condition": {"ArnLike": {"aws:SourceArn": (
                        f"arn:{partition}:eks:{ctx.region}:{ctx.account_id}:fargateprofile/"
                        f"{name}/*")}}}]),
                "EKS Fargate pods", FARGATE_MANAGED_POLICIES, tags)
            for key, profile in sorted(args["fargate_profiles"].items()):
                capacity.append(aws.eks.FargateProfile(
                    f"{name}-fargate-{key}", aws.eks.FargateProfileArgs(
                        cluster_name=cluster.name, fargate_profile_name=key,
                        pod_execution_role_arn=fargate_role.arn,
                        subnet_ids=list(args["subnet_ids"]),
                        selectors=[aws.eks.FargateProfileSelectorArgs(
                            namespace=namespace, labels=profile.get("labels"))
                            for namespace in profile["namespaces"]],
                        tags=tags), opts=child_opts(self)))

        # -- add-ons that need somewhere to run
        agent_role = self._pod_role("cloudwatch-agent", arn, CLOUDWATCH_NAMESPACE,
                                    CLOUDWATCH_SERVICE_ACCOUNT, CLOUDWATCH_MANAGED_POLICIES,
                                    tags)
        after_nodes = [
            self._addon(cluster, "coredns", versions, tags, depends_on=capacity),
            self._addon(cluster, "amazon-cloudwatch-observability", versions, tags,
                        configuration=cloudwatch_agent_configuration(),
                        service_account=(CLOUDWATCH_SERVICE_ACCOUNT, agent_role),
                        depends_on=[*capacity, *insights_logs.values()]),
        ]

        # -- the provider every workload uses; it waits for the API access of whoever runs
        # the program, and for the add-ons that make pods schedulable and reachable
        self.kubeconfig = kubeconfig(
            name, cluster.endpoint,
            cluster.certificate_authority.apply(lambda ca: ca.data if ca else ""), ctx.region)
        self.provider = kubernetes.Provider(f"{name}-k8s", kubernetes.ProviderArgs(
            kubeconfig=self.kubeconfig, enable_server_side_apply=True,
            delete_unreachable=False),
            opts=child_opts(self, depends_on=[*access, *before_nodes, *after_nodes,
                                              *capacity]))
        """Kubernetes provider bound to this cluster (Python callers pass it to the
        workloads' ``providers``)."""

        # 4) outputs
        self.cluster_name = cluster.name
        self.cluster_arn = pulumi.Output.from_input(arn)
        self.endpoint = cluster.endpoint
        self.node_security_group_id = cluster.vpc_config.apply(
            lambda vpc: (vpc.cluster_security_group_id or "") if vpc else "")
        self.node_role_arn = node_role.arn
        self.control_plane_log_group = control_logs.name
        self.application_log_group = insights_logs["application"].name
        self.register_outputs({
            "cluster_name": self.cluster_name, "cluster_arn": self.cluster_arn,
            "endpoint": self.endpoint, "kubeconfig": self.kubeconfig,
            "node_security_group_id": self.node_security_group_id,
            "node_role_arn": self.node_role_arn,
            "control_plane_log_group": self.control_plane_log_group,
            "application_log_group": self.application_log_group,
        })

    def admit(self, source: str, security_group_id: pulumi.Input[str], port: int
              ) -> pulumi.Resource:
        """Let ``source`` (a load balancer's security group) reach pods on ``port``: one
        ingress rule on the node security group per source and port, however many services
        share them (AWS rejects duplicate rules)."""
        key = (source, port)
        if key not in self._admitted:
            self._admitted[key] = aws.vpc.SecurityGroupIngressRule(
                f"{self._name}-from-{source}-{port}", aws.vpc.SecurityGroupIngressRuleArgs(
                    security_group_id=self.node_security_group_id,
                    referenced_security_group_id=security_group_id, ip_protocol="tcp",
                    from_port=port, to_port=port,
                    description=f"Pods on {port} from load balancer {source}"),
                opts=child_opts(self))
        return self._admitted[key]

    # -- children ---------------------------------------------------------------------------

    def _role(self, key: str, trust: pulumi.Input[str], what: str,
              managed: tuple[str, ...], tags: Any) -> aws.iam.Role:
        """A role with AWS managed policies attached, named ``<cluster>-<key>``."""
        role = aws.iam.Role(f"{self._name}-{key}-role", aws.iam.RoleArgs(
            name=f"{self._name}-{key}", assume_role_policy=trust,
            description=f"{what} of {self._name}", tags=tags), opts=child_opts(self))
        for policy in managed:
            aws.iam.RolePolicyAttachment(
                f"{self._name}-{key}-{policy}", aws.iam.RolePolicyAttachmentArgs(
                    role=role.name, policy_arn=managed_policy_arn(self._partition, policy)),
                opts=child_opts(self))
        return role

    def _pod_role(self, key: str, arn: str, namespace: str, service_account: str,
                  managed: tuple[str, ...], tags: Any) -> aws.iam.Role:
        return self._role(key, pod_identity_trust(arn, namespace, service_account),
                          f"Pod Identity role of {namespace}/{service_account}", managed, tags)

    def _addon(self, cluster: aws.eks.Cluster, addon: str, versions: dict[str, str],
               tags: Any, *, configuration: dict[str, Any] | None = None,
               service_account: tuple[str, aws.iam.Role] | None = None,
               depends_on: list[pulumi.Resource] | None = None) -> aws.eks.Addon:
        return aws.eks.Addon(f"{self._name}-{addon}", aws.eks.AddonArgs(
            cluster_name=cluster.name, addon_name=addon, addon_version=versions.get(addon),
            configuration_values=json.dumps(configuration, sort_keys=True)
            if configuration else None,
            pod_identity_associations=[aws.eks.AddonPodIdentityAssociationArgs(
                service_account=service_account[0], role_arn=service_account[1].arn)]
            if service_account else None,
            # The stack file is the source of truth for add-on settings.
            resolve_conflicts_on_create="OVERWRITE", resolve_conflicts_on_update="OVERWRITE",
            tags=tags), opts=child_opts(self, depends_on=depends_on or []))

    def _node_group(self, key: str, group: NodeGroupSpec, cluster: aws.eks.Cluster,
                    role: aws.iam.Role, args: EksClusterArgs, tags: Any,
                    addons: list[aws.eks.Addon]) -> aws.eks.NodeGroup:
        name = f"{self._name}-nodes-{key}"
        template = aws.ec2.LaunchTemplate(f"{name}-template", aws.ec2.LaunchTemplateArgs(
            name=name,
            description=f"Nodes of {self._name} group {key}: IMDSv2 only, encrypted root "
                        "volume",
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled", http_tokens="required",
                http_put_response_hop_limit=1, instance_metadata_tags="disabled"),
            block_device_mappings=[aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                device_name="/dev/xvda", ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                    volume_size=group.get("disk_size_gib", DEFAULT_DISK_GIB),
                    volume_type="gp3", encrypted="true", delete_on_termination="true"))],
            tag_specifications=[aws.ec2.LaunchTemplateTagSpecificationArgs(
                resource_type=kind, tags=tags_with(tags, {"Name": name}))
                for kind in ("instance", "volume")],
            update_default_version=True,
            tags=tags_with(tags, {"Name": name})), opts=child_opts(self))
        desired = group.get("desired_size", group["min_size"])
        return aws.eks.NodeGroup(name, aws.eks.NodeGroupArgs(
            cluster_name=cluster.name, node_group_name=key, node_role_arn=role.arn,
            subnet_ids=list(args["subnet_ids"]),
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=group["min_size"], max_size=group["max_size"], desired_size=desired),
            instance_types=list(group["instance_types"]),
            capacity_type=CAPACITY_TYPES[group.get("capacity_type", "on-demand")],
            ami_type=group.get("ami_type", "AL2023_x86_64_STANDARD"),
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                id=template.id,
                version=template.latest_version.apply(lambda v: "" if v is None else str(v))),
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
            node_repair_config=aws.eks.NodeGroupNodeRepairConfigArgs(enabled=True),
            labels={**group.get("labels", {}), "platform/node-group": key},
            tags=tags_with(tags, {"Name": name})),
            # A scaler (or a person) owns the size after creation.
            opts=child_opts(self, depends_on=addons,
                            ignore_changes=["scalingConfig.desiredSize"]))
