"""The prod-k8s stack: a prod-tier estate with services on EKS beside services on ECS.

Its file validates and builds; each broken copy fails with its exact one-line messages and
registers nothing; the built estate wires both runtimes to the same load balancers, stores
and providers."""

from typing import Any

import pytest

from components.spec import namespace_values, parse_platform_spec
from preflight.capture import Registration
from tests.stacks.test_stacks import DELETE, assert_rejected, run_program, stack_config

STACK = "prod-k8s"
K8S = "pulumi:providers:kubernetes"


def test_stack_file_validates_as_prod_tier() -> None:
    spec = parse_platform_spec(namespace_values(stack_config(STACK)))
    assert spec["environment"] == "prod"
    runtimes = {key: svc.get("runtime", "ecs") for key, svc in spec["services"].items()}
    assert runtimes == {"web": "ecs", "orders": "ecs", "inventory": "eks",
                        "recommendations": "eks"}


INVALID = [
    ([("services.inventory.imageDigest", DELETE)],
     ["services.inventory.imageDigest: required for runtime eks: the sha256 digest of the "
      "image to run from the service's repository"]),
    ([("services.inventory.imageDigest", "latest")],
     ["services.inventory.imageDigest: 'latest' is not an image digest (sha256:<64 hex "
      "digits>)"]),
    ([("services.inventory.spot", True), ("services.inventory.imageTag", "v1")],
     ["services.inventory.imageTag: applies to runtime ecs only; remove it (this service runs "
      "on eks)",
      "services.inventory.spot: applies to runtime ecs only; remove it (this service runs on "
      "eks)"]),
    ([("services.orders.imageDigest", "sha256:" + "a" * 64)],
     ["services.orders.imageDigest: applies to runtime eks only; remove it (this service runs "
      "on ecs)"]),
    ([("services.inventory.runtime", "k8s")],
     ["services.inventory.runtime: 'k8s' is not allowed: use one of ecs, eks (did you mean "
      "'eks'?)"]),
    ([("services.inventory.cpu", 32)],
     ["services.inventory.cpu: cpu must be between 64 and 16384 (got 32)"]),
    ([("services.inventory.minCount", 2)],
     ["services.inventory.minCount: minCount must be at least 3, one task per availability "
      "zone (got 2)"]),
    ([("services.inventory.customMetric", {"name": "Requests Per Second",
                                           "averageValue": 0})],
     ["services.inventory.customMetric.averageValue: averageValue must be between 1 and "
      "1000000 (got 0)",
      "services.inventory.customMetric.name: 'Requests Per Second' is not a metric name "
      "(lowercase letters, digits, '_' and ':')"]),
    ([("services.inventory.cpuArchitecture", "ARM64")],
     ["services.inventory.cpuArchitecture: no node group runs arm64: add one or use X86_64"]),
    ([("eks", DELETE)],
     ["services.inventory.runtime: runtime eks needs the eks section (the cluster: version, "
      "nodeGroups, accessEntries)",
      "services.recommendations.runtime: runtime eks needs the eks section (the cluster: "
      "version, nodeGroups, accessEntries)"]),
    ([("eks.version", "1.25")],
     ["eks.version: '1.25' is not allowed: use one of 1.31, 1.32, 1.33, 1.34 (did you mean "
      "'1.32'?)"]),
    ([("eks.nodeGroupz", {})],
     ["eks.nodeGroupz: unknown key (did you mean 'nodeGroups'?); allowed keys: version, "
      "endpointPublicAccess, publicAccessCidrs, apiAccessCidrs, nodeGroups, fargateProfiles, "
      "addonVersions, accessEntries"]),
    ([("eks.endpointPublicAccess", True)],
     ["eks.publicAccessCidrs: required when endpointPublicAccess is true: list the internet "
      "CIDRs allowed to the API endpoint"]),
    ([("eks.endpointPublicAccess", True), ("eks.publicAccessCidrs", ["0.0.0.0/0",
                                                                     "10.0.0.0/8"])],
     ["eks.publicAccessCidrs[0]: 0.0.0.0/0 opens the API endpoint to a /0: list your own "
      "ranges",
      "eks.publicAccessCidrs[1]: 10.0.0.0/8 is a private range: the public endpoint sees "
      "internet addresses; use apiAccessCidrs for private ones"]),
    ([("eks.publicAccessCidrs", ["203.0.113.0/24"])],
     ["eks.publicAccessCidrs: only applies when endpointPublicAccess is true"]),
    ([("eks.apiAccessCidrs", ["8.8.8.0/24"])],
     ["eks.apiAccessCidrs[0]: 8.8.8.0/24 is not a private (RFC 1918) range"]),
    ([("eks.nodeGroups.general.minSize", 2), ("eks.nodeGroups.general.capacityType", "spot")],
     ["eks.nodeGroups.general.capacityType: prod does not run on Spot capacity: use on-demand",
      "eks.nodeGroups.general.minSize: prod keeps a node in each availability zone: minSize "
      "must be at least 3 (got 2)"]),
    ([("eks.nodeGroups.general.instanceTypes", ["m7g.large", "m7i"])],
     ["eks.nodeGroups.general.instanceTypes[0]: 'm7g.large' is arm64 but amiType "
      "AL2023_x86_64_STANDARD runs amd64: use amiType AL2023_ARM_64_STANDARD or another "
      "instance type",
      "eks.nodeGroups.general.instanceTypes[1]: 'm7i' is not an EC2 instance type (e.g. "
      "m7i.large)"]),
    ([("eks.nodeGroups.general.desiredSize", 12)],
     ["eks.nodeGroups.general.desiredSize: desiredSize (12) must be between minSize (3) and "
      "maxSize (9)"]),
    ([("eks.nodeGroups", {})],
     ["eks.nodeGroups: services run on node groups (the VPC CNI does not enforce network "
      "policies on Fargate): define one",
      "eks.nodeGroups: the cluster needs capacity: define a node group or a Fargate profile"]),
    ([("eks.fargateProfiles", {"batch": {"namespaces": ["jobs", "inventory"]}})],
     ["eks.fargateProfiles.batch.namespaces: 'inventory' is service inventory's namespace: "
      "network policies are not enforced on Fargate, so its pods must stay on the node "
      "groups"]),
    ([("eks.accessEntries.deploy.access", "view")],
     ["eks.accessEntries: needs at least one cluster-admin entry for the principal that runs "
      "pulumi up (it creates the Kubernetes resources)"]),
    ([("eks.accessEntries.deploy.namespaces", ["inventory"]),
      ("eks.accessEntries.operators.principalArn", "platform-operators")],
     ["eks.accessEntries.deploy.namespaces: cluster-admin applies to the whole cluster: "
      "remove namespaces or use admin",
      "eks.accessEntries.operators.principalArn: 'platform-operators' is not an IAM role or "
      "user ARN (arn:aws:iam::<account>:role/<name>)"]),
    ([("eks.addonVersions", {"istio": "1.0"})],
     ["eks.addonVersions.istio: 'istio' is not allowed: use one of vpc-cni, kube-proxy, "
      "eks-pod-identity-agent, coredns, amazon-cloudwatch-observability"]),
    ([("pipelines.inventory", {
        "connectionArn": "arn:aws:codeconnections:eu-west-1:123456789012:connection/"
                         "6c1f6a2e-3a8e-4d0b-9b52-0f4f2b6d1c11",
        "repository": "example-org/microservices-platform", "branch": "main",
        "servicePath": "services/web"})],
     ["pipelines.inventory: service 'inventory' runs on eks and a pipeline deploys to ECS: "
      "deploy it by setting its imageDigest, or remove the pipeline"]),
    ([("services.kube-system", {"runtime": "eks", "imageDigest": "sha256:" + "b" * 64,
                                "desiredCount": 3})],
     ["services.kube-system: 'kube-system' names a reserved Kubernetes namespace: choose "
      "another key"]),
]


@pytest.mark.parametrize(("mutations", "expected"), INVALID,
                         ids=[" + ".join(p for p, _ in m) for m, _ in INVALID])
def test_invalid_eks_config_is_reported_exactly_and_registers_nothing(
        mutations: list[tuple[str, Any]], expected: list[str]) -> None:
    assert_rejected(STACK, mutations, expected)


@pytest.fixture(scope="module")
def estate() -> list[Registration]:
    return run_program(STACK, stack_config(STACK)).registrations


def named(estate: list[Registration], name: str, type_: str | None = None) -> Registration:
    found = [r for r in estate if r.name == name and (type_ is None or r.type == type_)]
    assert len(found) == 1, (name, [r.type for r in found])
    return found[0]


def test_services_run_on_both_runtimes(estate: list[Registration]) -> None:
    kinds = {r.name: r.type.rsplit(":", 1)[1] for r in estate
             if r.type in ("microservices:index:ContainerService",
                           "microservices:index:KubernetesService")}
    assert kinds == {"prod-k8s-web": "ContainerService", "prod-k8s-orders": "ContainerService",
                     "prod-k8s-inventory": "KubernetesService",
                     "prod-k8s-recommendations": "KubernetesService"}
    # Each service, whatever its runtime, has its own scanned repository.
    repos = sorted(r.name for r in estate if r.type == "aws:ecr/repository:Repository")
    assert repos == [f"prod-k8s-{k}-images-repo"
                     for k in ("inventory", "orders", "recommendations", "web")]


def test_providers_kubernetes_objects_use_the_cluster(estate: list[Registration]) -> None:
    aws = named(estate, "prod-k8s-aws", "pulumi:providers:aws")
    k8s = named(estate, "prod-k8s-eks-k8s", K8S)
    custom = [r for r in estate if r.custom and not r.type.startswith("pulumi:providers:")]
    by_provider = {r.provider.rsplit("::", 1)[0] for r in custom if r.package == "aws"}
    assert by_provider == {aws.urn}
    kubernetes = [r for r in custom if r.package == "kubernetes"]
    assert {r.provider.rsplit("::", 1)[0] for r in kubernetes} == {k8s.urn}
    # The provider waits for the deployer's access entry and the add-ons.
    depends = {d.rsplit("::", 1)[1] for d in k8s.dependencies}
    assert {"prod-k8s-eks-access-deploy-policy", "prod-k8s-eks-vpc-cni", "prod-k8s-eks-coredns",
            "prod-k8s-eks-nodes-general"} <= depends


def test_both_runtimes_share_the_load_balancers(estate: list[Registration]) -> None:
    rules = {r.name: r for r in estate if r.type == "aws:lb/listenerRule:ListenerRule"}
    assert sorted(rules) == ["prod-k8s-inventory-rule", "prod-k8s-orders-rule",
                             "prod-k8s-recommendations-rule", "prod-k8s-web-rule"]
    listener = {name: {d.rsplit("::", 1)[1] for d in r.property_dependencies["listenerArn"]}
                for name, r in rules.items()}
    assert listener == {
        "prod-k8s-web-rule": {"prod-k8s-public-https"},
        "prod-k8s-recommendations-rule": {"prod-k8s-public-https"},
        "prod-k8s-orders-rule": {"prod-k8s-internal-https"},
        "prod-k8s-inventory-rule": {"prod-k8s-internal-https"},
    }
    # The EKS services' routes sit on the same TLS-only listeners as the ECS ones: HTTPS
    # with a TLS 1.2+ policy, HTTP only to redirect, WAF in front of the public one.
    listeners = {r.name: r.inputs for r in estate if r.type == "aws:lb/listener:Listener"}
    assert {name: (i["port"], i["protocol"], i.get("sslPolicy"))
            for name, i in listeners.items()} == {
        "prod-k8s-public-https": (443, "HTTPS", "ELBSecurityPolicy-TLS13-1-2-2021-06"),
        "prod-k8s-internal-https": (443, "HTTPS", "ELBSecurityPolicy-TLS13-1-2-2021-06"),
        "prod-k8s-public-http-redirect": (80, "HTTP", None)}
    assert listeners["prod-k8s-public-http-redirect"]["defaultActions"] == [{
        "type": "redirect",
        "redirect": {"port": "443", "protocol": "HTTPS", "statusCode": "HTTP_301"}}]
    assert [r.name for r in estate
            if r.type == "aws:wafv2/webAclAssociation:WebAclAssociation"] == ["prod-k8s-public-waf"]
    # ALB to pod is HTTPS too: the pods terminate TLS.
    groups = {r.name: (r.inputs["protocol"], r.inputs["healthCheck"]["protocol"])
              for r in estate if r.type == "aws:lb/targetGroup:TargetGroup"
              and r.name in ("prod-k8s-inventory-tg", "prod-k8s-recommendations-tg")}
    assert groups == {"prod-k8s-inventory-tg": ("HTTPS", "HTTPS"),
                      "prod-k8s-recommendations-tg": ("HTTPS", "HTTPS")}
    # The nodes admit each load balancer once, on the pods' port only.
    admitted = sorted((r.name, r.inputs["fromPort"], r.inputs["toPort"]) for r in estate
                      if r.name.startswith("prod-k8s-eks-from-"))
    assert admitted == [("prod-k8s-eks-from-internal-8443", 8443, 8443),
                        ("prod-k8s-eks-from-public-8443", 8443, 8443)]


def test_stores_admit_ecs_tasks_and_the_cluster_nodes(estate: list[Registration]) -> None:
    rules = sorted(r.name for r in estate
                   if r.type == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
                   and r.name.startswith("prod-k8s-sessions-from-"))
    assert rules == ["prod-k8s-sessions-from-orders", "prod-k8s-sessions-from-prod-k8s-eks-nodes"]


def test_prod_protections_hold_on_the_mixed_estate(estate: list[Registration]) -> None:
    cluster = named(estate, "prod-k8s-eks-cluster", "aws:eks/cluster:Cluster")
    assert cluster.inputs["deletionProtection"] is True
    stateful = [r for r in estate if r.type in (
        "aws:dynamodb/table:Table", "aws:elasticache/replicationGroup:ReplicationGroup",
        "aws:kms/key:Key")]
    assert len(stateful) == 3 and all(r.protect and r.retain_on_delete for r in stateful)


def test_the_platform_secret_reaches_the_pods_as_an_arn(estate: list[Registration]) -> None:
    deployment = named(estate, "prod-k8s-inventory-deployment")
    env = {e["name"]: e["value"] for e in
           deployment.inputs["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["SUPPLIER_API_KEY_PARAMETER_ARN"] == (
        "arn:aws:ssm:eu-west-1:123456789012:parameter/prod-k8s-supplier-api-key")
    assert env["TABLE_CATALOG"] == "prod-k8s-catalog"
