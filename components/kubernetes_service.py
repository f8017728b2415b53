"""KubernetesService: one HTTP microservice on the platform's EKS cluster, keeping the
promises an ECS service keeps.

What it builds, all children of the component:

- AWS: a Pod Identity role with the same least-privilege statements an ECS service gets
  (the grants, the store grants the platform resolved, and reading exactly the secrets and
  parameters its environment names), the Pod Identity association of the service account;
  an HTTPS target group (ip targets, readiness health check over HTTPS: pods terminate TLS)
  and the listener rule on the platform load balancer's HTTPS listener, the same routing
  an ECS service gets;
- Kubernetes, in the service's own namespace (Pod Security Standard ``restricted``
  enforced): a service account without an API token, a Deployment (image by digest from the
  service's scanned repository, non-root, read-only root filesystem, no privilege
  escalation, every capability dropped, RuntimeDefault seccomp, requests equal to limits,
  startup/liveness/readiness probes over HTTPS, spread over zones and nodes, rolling
  updates that never drop below the current count), a Service, a PodDisruptionBudget, a
  HorizontalPodAutoscaler on CPU (and optionally one custom per-pod metric), a default-deny
  NetworkPolicy plus one that allows exactly the paths the service needs, and the
  TargetGroupBinding that keeps the target group's targets equal to the ready pods.

Secrets and platform parameters: EKS has no execution role that injects them, so the
container gets their ARNs (``<NAME>_SECRET_ARN``, ``<NAME>_PARAMETER_ARN``) and reads them
at start with its own role; the values never pass through Kubernetes.

The cluster's node security group must admit the load balancer on ``port``
(:meth:`.eks_cluster.EksCluster.admit`), and the Kubernetes provider is the caller's
(``providers={"kubernetes": ...}``, which children inherit).
"""


import math
import re
from typing import Any, NotRequired

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as kubernetes

from .base import child_opts, policy_document, type_token
from .container_service import (
    ARCHITECTURES,
    DEFAULTS,
    PARAMETER_ARN_RE,
    SECRET_ARN_RE,
    ServiceEgressArgs,
    ServiceSpec,
    application_statements,
    check_resolved,
    check_workload,
    default_priority,
    runtime_only,
    secret_statements,
)
from .eks_cluster import CLOUDWATCH_NAMESPACE, POD_IDENTITY_AGENT, TRACE_PORTS, pod_identity_trust
from .encryption import aws_context
from .grants import GrantSpec
from .load_balancer import listener_rule, routed_target_group
from .load_balancer_controller import target_group_name
from .validation import Problem, check_arn, check_choice, check_key, check_range, raise_for

ECS_ONLY = ("image", "image_tag", "spot", "exec_enabled", "health_check_command",
            "requests_per_target")
"""ServiceSpec fields only the ECS runtime reads."""
RESERVED_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease",
                       CLOUDWATCH_NAMESPACE)
"""Namespaces a service may not take (its key names its namespace)."""
IMAGE_DIGEST_RE = re.compile(r"^sha256:[a-f0-9]{64}$")
METRIC_NAME_RE = re.compile(r"^[a-z_][a-z0-9_:]{0,127}$")
KUBE_ARCH = {"X86_64": "amd64", "ARM64": "arm64"}
NAME_LABEL = "app.kubernetes.io/name"
HTTPS_PORT_NAME = "https"
STARTUP_PERIOD = 5
TMP_SIZE = "256Mi"


class KubernetesServiceArgs(ServiceSpec):
    """A service's settings plus the wiring the platform provides."""

    key: NotRequired[str]
    """The service's key in the stack file (default: the component name): names the
    namespace, the service account, the Deployment and the default paths."""
    cluster_name: str
    """EKS cluster to run on (plain: it prefixes the target group's name)."""
    cluster_arn: pulumi.Input[str]
    """ARN of that cluster (the Pod Identity trust names it)."""
    vpc_id: pulumi.Input[str]
    """VPC of the cluster and the target group."""
    vpc_cidr: pulumi.Input[str]
    """VPC block: load balancer nodes and kubelets reach the pods from inside it."""
    az_count: NotRequired[int]
    """Availability zones the cluster's nodes span (for ``require_task_per_az``)."""
    require_task_per_az: NotRequired[bool]
    """Reject desired/min counts below ``az_count`` and refuse to schedule a pod that would
    unbalance the zones (default false; the tier decides)."""
    listener_arn: pulumi.Input[str]
    """HTTPS listener of the load balancer that routes to this service."""
    repository_url: pulumi.Input[str]
    """The service's scanned ECR repository; the pods run ``<url>@<image_digest>``."""
    repository_arn: pulumi.Input[str]
    """ARN of that repository."""
    kms_key_arn: pulumi.Input[str]
    """Key of the secrets and parameters the service reads."""
    kms_key_alias: NotRequired[str]
    """That key's alias (``alias/<name>``), so the role's statements are known at preview."""
    extra_parameters: NotRequired[dict[str, pulumi.Input[str]]]
    """Values the platform publishes in SSM Parameter Store: env name -> parameter ARN."""
    extra_grants: NotRequired[list[GrantSpec]]
    """Grants the platform resolved (tables, database users); ARNs may be outputs."""
    key_actions: NotRequired[list[str]]
    """KMS actions the application needs on the platform key (named through
    ``kms_key_alias``), e.g. to publish to encrypted topics and read encrypted queues."""
    extra_environment: NotRequired[dict[str, pulumi.Input[str]]]
    """Environment values the platform resolved (ports, table names)."""
    extra_secrets: NotRequired[dict[str, pulumi.Input[str]]]
    """Secrets the platform resolved: env name -> Secrets Manager secret ARN."""
    egress: NotRequired[dict[str, ServiceEgressArgs]]
    """Stores the pods may reach, by stable key: their port (the network policy opens it
    towards ``data_cidrs``; the store's security group admits the cluster's nodes)."""
    data_cidrs: NotRequired[list[pulumi.Input[str]]]
    """Where the stores live (the isolated subnets; default the VPC block)."""
    tags: NotRequired[pulumi.Input[dict[str, str]]]
    """Tags for the AWS children."""


# --- checks --------------------------------------------------------------------------------

def check_kubernetes_service(spec: ServiceSpec, az_count: int | None = None) -> list[Problem]:
    """Rules for one service on EKS: the runtime's own fields, then every workload's."""
    problems = runtime_only(spec, ECS_ONLY, "ecs", "eks")
    digest = spec.get("image_digest")
    if digest is None:
        problems.append(Problem(("image_digest",), "required for runtime eks: the sha256 "
                                                   "digest of the image to run from the "
                                                   "service's repository"))
    elif not IMAGE_DIGEST_RE.match(digest):
        problems.append(Problem(("image_digest",), f"'{digest}' is not an image digest "
                                                   "(sha256:<64 hex digits>)"))
    problems += check_range(("cpu",), spec.get("cpu", DEFAULTS["cpu"]), 64, 16384, "cpu")
    problems += check_range(("memory",), spec.get("memory", DEFAULTS["memory"]), 64, 65536,
                            "memory")
    problems += check_choice(("cpu_architecture",),
                             spec.get("cpu_architecture", DEFAULTS["cpu_architecture"]),
                             ARCHITECTURES)
    metric = spec.get("custom_metric")
    if metric is not None:
        if not METRIC_NAME_RE.match(metric["name"]):
            problems.append(Problem(("custom_metric", "name"),
                                    f"'{metric['name']}' is not a metric name (lowercase "
                                    "letters, digits, '_' and ':')"))
        problems += check_range(("custom_metric", "average_value"), metric["average_value"],
                                1, 1_000_000, "averageValue")
    return problems + check_workload(spec, az_count)


def check_kubernetes_service_args(name: str, args: KubernetesServiceArgs) -> list[Problem]:
    """Service rules plus the wiring."""
    per_az = args.get("az_count") if args.get("require_task_per_az", False) else None
    problems = check_kubernetes_service(args, per_az)
    key = args.get("key", name)
    problems += check_key(("key",), key)
    if key in RESERVED_NAMESPACES:
        problems.append(Problem(("key",), f"'{key}' is a reserved namespace: choose another "
                                          "service key"))
    problems += check_key(("cluster_name",), args["cluster_name"])
    if len(name) > 48:
        problems.append(Problem((), f"name '{name}' is longer than 48 characters (IAM role "
                                    "names derived from it would exceed 64)"))
    if isinstance(args["kms_key_arn"], str):
        problems += check_arn(("kms_key_arn",), args["kms_key_arn"], "kms", "a KMS key")
    return problems + check_resolved(args)


# --- helpers -------------------------------------------------------------------------------

def millicores(cpu_units: int) -> str:
    """ECS CPU units (1024 per vCPU) as a Kubernetes quantity: 256 -> ``250m``."""
    return f"{cpu_units * 1000 // 1024}m"


def reference_environment(args: KubernetesServiceArgs) -> dict[str, pulumi.Input[str]]:
    """Secrets and parameters as ARNs the application reads at start:
    ``<NAME>_SECRET_ARN`` for Secrets Manager, ``<NAME>_PARAMETER_ARN`` for SSM."""
    out: dict[str, pulumi.Input[str]] = {}
    for var, arn in sorted(args.get("secrets", {}).items()):
        if SECRET_ARN_RE.match(arn):
            out[f"{var}_SECRET_ARN"] = arn
        elif PARAMETER_ARN_RE.match(arn):
            out[f"{var}_PARAMETER_ARN"] = arn
    for var, arn_ in sorted(args.get("extra_secrets", {}).items()):
        out[f"{var}_SECRET_ARN"] = arn_
    for var, arn_ in sorted(args.get("extra_parameters", {}).items()):
        out[f"{var}_PARAMETER_ARN"] = arn_
    return out


def _port(number: int, protocol: str = "TCP") -> kubernetes.networking.v1.NetworkPolicyPortArgs:
    return kubernetes.networking.v1.NetworkPolicyPortArgs(port=number, protocol=protocol)


def _ip(cidr: pulumi.Input[str]) -> kubernetes.networking.v1.NetworkPolicyPeerArgs:
    return kubernetes.networking.v1.NetworkPolicyPeerArgs(
        ip_block=kubernetes.networking.v1.IPBlockArgs(cidr=cidr))


def _namespace_pods(namespace: str, labels: dict[str, str] | None = None
                    ) -> kubernetes.networking.v1.NetworkPolicyPeerArgs:
    return kubernetes.networking.v1.NetworkPolicyPeerArgs(
        namespace_selector=kubernetes.meta.v1.LabelSelectorArgs(
            match_labels={"kubernetes.io/metadata.name": namespace}),
        pod_selector=kubernetes.meta.v1.LabelSelectorArgs(match_labels=labels)
        if labels else None)


class KubernetesService(pulumi.ComponentResource):
    """One HTTP microservice on EKS behind the platform's load balancer: least-privilege Pod
    Identity role, hardened Deployment with probes, disruption budget, autoscaler, and a
    namespace closed by default-deny network policies."""

    namespace: pulumi.Output[str]
    """The service's namespace (its key)."""
    deployment_name: pulumi.Output[str]
    """Name of the Deployment (its key)."""
    service_name: pulumi.Output[str]
    """Name of the Kubernetes Service (its key): Container Insights' ``Service`` dimension."""
    role_arn: pulumi.Output[str]
    """Pod Identity role the application runs as."""
    target_group_arn: pulumi.Output[str]
    """Target group the load balancer forwards to."""
    repository_url: pulumi.Output[str]
    """ECR repository the service runs from."""

    def __init__(self, name: str, args: KubernetesServiceArgs,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__(type_token("KubernetesService"), name, None, opts)
        # 1) validate
        raise_for("KubernetesService", name, check_kubernetes_service_args(name, args))

        # 2) defaults
        ctx = aws_context(self)
        key = args.get("key", name)
        namespace = key
        port = args.get("port", DEFAULTS["port"])
        desired = args.get("desired_count", DEFAULTS["desired_count"])
        min_count = args.get("min_count", desired)
        max_count = args.get("max_count", desired * 2)
        liveness = args.get("liveness_path", DEFAULTS["liveness_path"])
        readiness = args.get("readiness_path", DEFAULTS["readiness_path"])
        grace = args.get("health_check_grace_period", DEFAULTS["health_check_grace_period"])
        paths = args.get("paths", [f"/{key}", f"/{key}/*"])
        tags = args.get("tags")
        labels = {NAME_LABEL: key}
        k8s = child_opts(self)

        # 3) children
        # -- AWS: identity
        role = aws.iam.Role(f"{name}-pod-role", aws.iam.RoleArgs(
            name=f"{name}-pod",
            assume_role_policy=pod_identity_trust(args["cluster_arn"], namespace, key),
            description=f"Application role of {name} (EKS Pod Identity)", tags=tags),
            opts=child_opts(self))
        statements = application_statements(args, ctx.region, ctx.account_id)
        statements += secret_statements(args, ctx.region, ctx.account_id,
                                        ("ssm:GetParameter", "ssm:GetParameters"))
        if statements:
            aws.iam.RolePolicy(f"{name}-pod-policy", aws.iam.RolePolicyArgs(
                role=role.name, policy=policy_document(statements)), opts=child_opts(self))
        association = aws.eks.PodIdentityAssociation(f"{name}-pod-identity",
                                       aws.eks.PodIdentityAssociationArgs(
            cluster_name=args["cluster_name"], namespace=namespace, service_account=key,
            role_arn=role.arn, tags=tags), opts=child_opts(self))

        # -- AWS: routing (the same shape as an ECS service's, to HTTPS targets)
        target_group = routed_target_group(
            self, name, args["vpc_id"], port, readiness,
            deregistration_delay=args.get("deregistration_delay", 30),
            physical_name=target_group_name(args["cluster_name"], key), tags=tags)
        listener_rule(self, name, args["listener_arn"], target_group.arn, list(paths),
                      args.get("priority", default_priority(key)), args.get("host"), tags)

        # -- Kubernetes
        ns = kubernetes.core.v1.Namespace(f"{name}-namespace", kubernetes.core.v1.NamespaceInitArgs(
            metadata=kubernetes.meta.v1.ObjectMetaArgs(name=namespace, labels={
                "pod-security.kubernetes.io/enforce": "restricted",
                "pod-security.kubernetes.io/audit": "restricted",
                "pod-security.kubernetes.io/warn": "restricted"})), opts=k8s)
        meta = kubernetes.meta.v1.ObjectMetaArgs(name=key, namespace=ns.metadata.name,
                                                 labels=labels)
        in_namespace = child_opts(self, depends_on=[ns])
        account = kubernetes.core.v1.ServiceAccount(
            f"{name}-service-account", kubernetes.core.v1.ServiceAccountInitArgs(
                metadata=meta, automount_service_account_token=False), opts=in_namespace)
        self._network_policies(name, args, meta, labels, port, in_namespace)

        selector = kubernetes.meta.v1.LabelSelectorArgs(match_labels=labels)
        deployment = kubernetes.apps.v1.Deployment(
            f"{name}-deployment", kubernetes.apps.v1.DeploymentInitArgs(
                metadata=meta,
                spec=kubernetes.apps.v1.DeploymentSpecArgs(
                    replicas=desired, selector=selector, revision_history_limit=5,
                    progress_deadline_seconds=600,
                    strategy=kubernetes.apps.v1.DeploymentStrategyArgs(
                        type="RollingUpdate",
                        rolling_update=kubernetes.apps.v1.RollingUpdateDeploymentArgs(
                            max_unavailable=0, max_surge="25%")),
                    template=kubernetes.core.v1.PodTemplateSpecArgs(
                        metadata=kubernetes.meta.v1.ObjectMetaArgs(labels=labels),
                        spec=self._pod_spec(args, key, port, liveness, readiness, grace,
                                            ctx.region)))),
            # Pods get credentials only if the association exists when they start; the
            # autoscaler owns the replica count once the Deployment exists.
            opts=child_opts(self, depends_on=[ns, account, association],
                            ignore_changes=["spec.replicas"]))
        service = kubernetes.core.v1.Service(f"{name}-service", kubernetes.core.v1.ServiceInitArgs(
            metadata=meta, spec=kubernetes.core.v1.ServiceSpecArgs(
                type="ClusterIP", selector=labels,
                ports=[kubernetes.core.v1.ServicePortArgs(
                    name=HTTPS_PORT_NAME, port=443, target_port=HTTPS_PORT_NAME,
                    protocol="TCP")])), opts=in_namespace)
        kubernetes.policy.v1.PodDisruptionBudget(
            f"{name}-disruption-budget", kubernetes.policy.v1.PodDisruptionBudgetInitArgs(
                metadata=meta, spec=kubernetes.policy.v1.PodDisruptionBudgetSpecArgs(
                    max_unavailable=1, selector=selector,
                    unhealthy_pod_eviction_policy="AlwaysAllow")), opts=in_namespace)
        kubernetes.autoscaling.v2.HorizontalPodAutoscaler(
            f"{name}-autoscaler", kubernetes.autoscaling.v2.HorizontalPodAutoscalerInitArgs(
                metadata=meta, spec=self._autoscaler_spec(args, key, min_count, max_count)),
            opts=child_opts(self, depends_on=[deployment]))
        kubernetes.apiextensions.CustomResource(
            f"{name}-target-group-binding", api_version="elbv2.k8s.aws/v1beta1",
            kind="TargetGroupBinding", metadata=meta,
            spec={"serviceRef": {"name": service.metadata.name, "port": 443},
                  "targetGroupARN": target_group.arn, "targetType": "ip"},
            opts=in_namespace)

        # 4) outputs
        self.namespace = ns.metadata.name
        self.deployment_name = deployment.metadata.name
        self.service_name = service.metadata.name
        self.role_arn = role.arn
        self.target_group_arn = target_group.arn
        self.repository_url = pulumi.Output.from_input(args["repository_url"])
        self.register_outputs({
            "namespace": self.namespace, "deployment_name": self.deployment_name,
            "service_name": self.service_name, "role_arn": self.role_arn,
            "target_group_arn": self.target_group_arn, "repository_url": self.repository_url,
        })

    @staticmethod
    def _pod_spec(args: KubernetesServiceArgs, key: str, port: int, liveness: str,
                  readiness: str, grace: int, region: str) -> kubernetes.core.v1.PodSpecArgs:
        core = kubernetes.core.v1
        read_only = args.get("read_only_root_filesystem", True)
        uid, _, gid = args.get("user", DEFAULTS["user"]).partition(":")
        cpu, memory = args.get("cpu", DEFAULTS["cpu"]), args.get("memory", DEFAULTS["memory"])
        quantities = {"cpu": millicores(cpu), "memory": f"{memory}Mi"}
        agent = f"cloudwatch-agent.{CLOUDWATCH_NAMESPACE}"
        environment: dict[str, pulumi.Input[str]] = {
            **args.get("environment", {}), **args.get("extra_environment", {}),
            **reference_environment(args), "AWS_REGION": region,
            "AWS_XRAY_DAEMON_ADDRESS": f"{agent}:{TRACE_PORTS['xray'][0]}",
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://{agent}:{TRACE_PORTS['otlp-grpc'][0]}"}
        spread = "DoNotSchedule" if args.get("require_task_per_az", False) else "ScheduleAnyway"
        selector = kubernetes.meta.v1.LabelSelectorArgs(match_labels={NAME_LABEL: key})

        def probe(path: str, period: int, failures: int) -> kubernetes.core.v1.ProbeArgs:
            return core.ProbeArgs(
                http_get=core.HTTPGetActionArgs(path=path, port=HTTPS_PORT_NAME,
                                                scheme="HTTPS"),
                period_seconds=period, timeout_seconds=min(5, period), failure_threshold=failures)

        container = core.ContainerArgs(
            name=key,
            image=pulumi.Output.concat(args["repository_url"], "@", args["image_digest"]),
            image_pull_policy="IfNotPresent",
            ports=[core.ContainerPortArgs(name=HTTPS_PORT_NAME, container_port=port,
                                          protocol="TCP")],
            env=[core.EnvVarArgs(name=k, value=v) for k, v in sorted(environment.items())],
            resources=core.ResourceRequirementsArgs(requests=quantities, limits=quantities),
            security_context=core.SecurityContextArgs(
                allow_privilege_escalation=False, privileged=False,
                read_only_root_filesystem=read_only, run_as_non_root=True,
                capabilities=core.CapabilitiesArgs(drop=["ALL"])),
            # Startup allows the grace period; liveness and readiness then take over.
            startup_probe=probe(liveness, STARTUP_PERIOD,
                                max(1, math.ceil(grace / STARTUP_PERIOD))),
            liveness_probe=probe(liveness, 15, 3),
            readiness_probe=probe(readiness, 10, 3),
            volume_mounts=[core.VolumeMountArgs(name="tmp", mount_path="/tmp")]
            if read_only else None)
        return core.PodSpecArgs(
            service_account_name=key,
            automount_service_account_token=False,
            enable_service_links=False,
            termination_grace_period_seconds=args.get("stop_timeout",
                                                      DEFAULTS["stop_timeout"]),
            security_context=core.PodSecurityContextArgs(
                run_as_non_root=True, run_as_user=int(uid), run_as_group=int(gid or uid),
                fs_group=int(gid or uid),
                seccomp_profile=core.SeccompProfileArgs(type="RuntimeDefault")),
            node_selector={"kubernetes.io/arch": KUBE_ARCH[
                args.get("cpu_architecture", DEFAULTS["cpu_architecture"])]},
            topology_spread_constraints=[
                core.TopologySpreadConstraintArgs(
                    max_skew=1, topology_key="topology.kubernetes.io/zone",
                    when_unsatisfiable=spread, label_selector=selector),
                core.TopologySpreadConstraintArgs(
                    max_skew=1, topology_key="kubernetes.io/hostname",
                    when_unsatisfiable="ScheduleAnyway", label_selector=selector)],
            containers=[container],
            volumes=[core.VolumeArgs(name="tmp", empty_dir=core.EmptyDirVolumeSourceArgs(
                size_limit=TMP_SIZE))] if read_only else None)

    @staticmethod
    def _autoscaler_spec(args: KubernetesServiceArgs, key: str, min_count: int,
                         max_count: int) -> Any:
        hpa = kubernetes.autoscaling.v2
        metrics = [hpa.MetricSpecArgs(type="Resource", resource=hpa.ResourceMetricSourceArgs(
            name="cpu", target=hpa.MetricTargetArgs(
                type="Utilization",
                average_utilization=args.get("cpu_target", DEFAULTS["cpu_target"]))))]
        custom = args.get("custom_metric")
        if custom is not None:
            metrics.append(hpa.MetricSpecArgs(type="Pods", pods=hpa.PodsMetricSourceArgs(
                metric=hpa.MetricIdentifierArgs(name=custom["name"]),
                target=hpa.MetricTargetArgs(type="AverageValue",
                                            average_value=str(custom["average_value"])))))
        return hpa.HorizontalPodAutoscalerSpecArgs(
            scale_target_ref=hpa.CrossVersionObjectReferenceArgs(
                api_version="apps/v1", kind="Deployment", name=key),
            min_replicas=min_count, max_replicas=max_count, metrics=metrics,
            # As the ECS path: out within a minute, in only after five quiet minutes.
            behavior=hpa.HorizontalPodAutoscalerBehaviorArgs(
                scale_up=hpa.HPAScalingRulesArgs(stabilization_window_seconds=60),
                scale_down=hpa.HPAScalingRulesArgs(stabilization_window_seconds=300)))

    def _network_policies(self, name: str, args: KubernetesServiceArgs,
                          meta: kubernetes.meta.v1.ObjectMetaArgs, labels: dict[str, str],
                          port: int, opts: pulumi.ResourceOptions) -> None:
        """Nothing in or out of the namespace, except: the container port from inside the
        VPC (load balancer nodes and the kubelet's probes; the node security group admits
        only the load balancers), DNS to CoreDNS, the node's Pod Identity agent, HTTPS out
        (AWS APIs, other services through the internal load balancer), traces to the
        CloudWatch agent, and each store's port towards the data subnets."""
        net = kubernetes.networking.v1
        kubernetes.networking.v1.NetworkPolicy(f"{name}-default-deny", net.NetworkPolicyInitArgs(
            metadata=kubernetes.meta.v1.ObjectMetaArgs(name="default-deny",
                                                       namespace=meta.namespace),
            spec=net.NetworkPolicySpecArgs(pod_selector=kubernetes.meta.v1.LabelSelectorArgs(),
                                           policy_types=["Ingress", "Egress"])), opts=opts)
        data = list(args.get("data_cidrs") or [args["vpc_cidr"]])
        egress = [
            net.NetworkPolicyEgressRuleArgs(
                to=[_namespace_pods("kube-system", {"k8s-app": "kube-dns"})],
                ports=[_port(53, "UDP"), _port(53, "TCP")]),
            net.NetworkPolicyEgressRuleArgs(to=[_ip(POD_IDENTITY_AGENT)], ports=[_port(80)]),
            net.NetworkPolicyEgressRuleArgs(to=[_ip("0.0.0.0/0")], ports=[_port(443)]),
            net.NetworkPolicyEgressRuleArgs(
                to=[_namespace_pods(CLOUDWATCH_NAMESPACE)],
                ports=[_port(number, protocol) for number, protocol in TRACE_PORTS.values()]),
            *(net.NetworkPolicyEgressRuleArgs(to=[_ip(cidr) for cidr in data],
                                              ports=[_port(target["port"])])
              for _, target in sorted(args.get("egress", {}).items())),
        ]
        kubernetes.networking.v1.NetworkPolicy(f"{name}-allow", net.NetworkPolicyInitArgs(
            metadata=kubernetes.meta.v1.ObjectMetaArgs(name=f"{args.get('key', name)}-allow",
                                                       namespace=meta.namespace),
            spec=net.NetworkPolicySpecArgs(
                pod_selector=kubernetes.meta.v1.LabelSelectorArgs(match_labels=labels),
                policy_types=["Ingress", "Egress"],
                ingress=[net.NetworkPolicyIngressRuleArgs(
                    from_=[_ip(args["vpc_cidr"])], ports=[_port(port)])],
                egress=egress)), opts=opts)
