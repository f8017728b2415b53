"""KubernetesService under recording mocks: children, the Pod Identity role (the same
statements an ECS service's roles carry), HTTPS routing, the hardened Deployment and its
probes, the disruption budget, the autoscaler, network policies, and validation."""

import json
from typing import Any

import pulumi
import pulumi_kubernetes as kubernetes
import pytest

from components.container_service import ContainerService
from components.kubernetes_service import (
    KubernetesService,
    KubernetesServiceArgs,
    check_kubernetes_service_args,
    millicores,
)
from components.load_balancer_controller import target_group_name
from components.validation import ArgsError, config_path
from preflight.capture import Capture, Registration, capture

ACCT = "123456789012"
REGION = "us-east-1"
KEY = f"arn:aws:kms:{REGION}:{ACCT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
CLUSTER_ARN = f"arn:aws:eks:{REGION}:{ACCT}:cluster/shop-eks"
LISTENER = f"arn:aws:elasticloadbalancing:{REGION}:{ACCT}:listener/app/internal/1/2"
REPO = f"{ACCT}.dkr.ecr.{REGION}.amazonaws.com/shop-orders"
DIGEST = "sha256:" + "a" * 64
API_SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCT}:secret:orders/api-AbCdEf"
CACHE_HOST = f"arn:aws:ssm:{REGION}:{ACCT}:parameter/shop-sessions/endpoint"
QUEUE = f"arn:aws:sqs:{REGION}:{ACCT}:orders-events"
TABLE = f"arn:aws:dynamodb:{REGION}:{ACCT}:table/shop-catalog"
LABELS = {"app.kubernetes.io/name": "orders"}


def base(**overrides: Any) -> KubernetesServiceArgs:
    args: dict[str, Any] = {
        "key": "orders", "image_digest": DIGEST, "port": 8443,
        "cluster_name": "shop-eks", "cluster_arn": CLUSTER_ARN, "vpc_id": "vpc-1",
        "vpc_cidr": "10.0.0.0/16", "listener_arn": LISTENER, "repository_url": REPO,
        "repository_arn": f"arn:aws:ecr:{REGION}:{ACCT}:repository/shop-orders",
        "kms_key_arn": KEY, "kms_key_alias": "alias/shop-key", "az_count": 3,
        "require_task_per_az": True, "desired_count": 3, "max_count": 9,
    }
    args.update(overrides)
    return args  # type: ignore[return-value]


FULL = {
    "grants": [{"kind": "queue", "arn": QUEUE, "access": "write"}],
    "extra_grants": [{"kind": "table", "arn": TABLE, "access": "read"}],
    "extra_environment": {"TABLE_CATALOG": "shop-catalog"},
    "extra_parameters": {"CACHE_HOST": CACHE_HOST},
    "egress": {"cache": {"security_group_id": "sg-cache", "port": 6379}},
    "data_cidrs": ["10.0.224.0/22", "10.0.228.0/22"],
    "custom_metric": {"name": "http_requests_per_second", "average_value": 50},
    "environment": {"LOG_LEVEL": "info"},
    "secrets": {"API_KEY": API_SECRET},
}


def run(args: KubernetesServiceArgs, name: str = "shop-orders") -> Capture:
    def program() -> None:
        provider = kubernetes.Provider("k8s", kubeconfig="{}")
        KubernetesService(name, args,
                          opts=pulumi.ResourceOptions(providers={"kubernetes": provider}))
    return capture(program, preview=False)


def named(cap: Capture, name: str) -> dict[str, Any]:
    return cap.named(name).inputs


def depends(reg: Registration) -> set[str]:
    return {urn.rsplit("::", 1)[1] for urn in reg.dependencies}


@pytest.fixture(scope="module")
def service() -> Capture:
    return run(base(**FULL))


def pod(cap: Capture) -> dict[str, Any]:
    return named(cap, "shop-orders-deployment")["spec"]["template"]["spec"]


def test_children(service: Capture) -> None:
    assert sorted((r.type, r.name) for r in service.registrations if r.name != "k8s") == sorted([
        ("microservices:index:KubernetesService", "shop-orders"),
        ("aws:iam/role:Role", "shop-orders-pod-role"),
        ("aws:iam/rolePolicy:RolePolicy", "shop-orders-pod-policy"),
        ("aws:eks/podIdentityAssociation:PodIdentityAssociation", "shop-orders-pod-identity"),
        ("aws:lb/targetGroup:TargetGroup", "shop-orders-tg"),
        ("aws:lb/listenerRule:ListenerRule", "shop-orders-rule"),
        ("kubernetes:core/v1:Namespace", "shop-orders-namespace"),
        ("kubernetes:core/v1:ServiceAccount", "shop-orders-service-account"),
        ("kubernetes:networking.k8s.io/v1:NetworkPolicy", "shop-orders-default-deny"),
        ("kubernetes:networking.k8s.io/v1:NetworkPolicy", "shop-orders-allow"),
        ("kubernetes:apps/v1:Deployment", "shop-orders-deployment"),
        ("kubernetes:core/v1:Service", "shop-orders-service"),
        ("kubernetes:policy/v1:PodDisruptionBudget", "shop-orders-disruption-budget"),
        ("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "shop-orders-autoscaler"),
        ("kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding",
         "shop-orders-target-group-binding"),
    ])
    provider = service.named("k8s").urn
    for reg in service.registrations:
        if reg.type.startswith("kubernetes:"):
            assert reg.provider.rsplit("::", 1)[0] == provider, reg.name


# --- identity ------------------------------------------------------------------------------

def test_pod_identity_role_trusts_only_this_service_account(service: Capture) -> None:
    assert json.loads(named(service, "shop-orders-pod-role")["assumeRolePolicy"]) == {
        "Version": "2012-10-17", "Statement": [{
            "Sid": "PodIdentity", "Effect": "Allow",
            "Principal": {"Service": "pods.eks.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
            "Condition": {"StringEquals": {
                "aws:RequestTag/eks-cluster-arn": CLUSTER_ARN,
                "aws:RequestTag/kubernetes-namespace": "orders",
                "aws:RequestTag/kubernetes-service-account": "orders"}}}]}
    assert named(service, "shop-orders-pod-identity") == {
        "clusterName": "shop-eks", "namespace": "orders", "serviceAccount": "orders",
        "roleArn": f"arn:aws:iam:{REGION}:{ACCT}:shop-orders-pod-role"}


def test_pod_role_statements(service: Capture) -> None:
    assert json.loads(named(service, "shop-orders-pod-policy")["policy"])["Statement"] == [
        {"Sid": "Grant0Queue", "Effect": "Allow",
         "Action": ["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"],
         "Resource": [QUEUE]},
        {"Sid": "Platform0Table", "Effect": "Allow",
         "Action": ["dynamodb:BatchGetItem", "dynamodb:ConditionCheckItem",
                    "dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:Query",
                    "dynamodb:Scan"],
         "Resource": [TABLE, f"{TABLE}/index/*"]},
        {"Sid": "ReadSecrets", "Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"],
         "Resource": [API_SECRET]},
        {"Sid": "ReadParameters", "Effect": "Allow",
         "Action": ["ssm:GetParameter", "ssm:GetParameters"], "Resource": [CACHE_HOST]},
        {"Sid": "DecryptSecrets", "Effect": "Allow", "Action": ["kms:Decrypt"],
         "Resource": [f"arn:aws:kms:{REGION}:{ACCT}:key/*"],
         "Condition": {"StringEquals": {"kms:ViaService": [
             f"secretsmanager.{REGION}.amazonaws.com", f"ssm.{REGION}.amazonaws.com"]},
             "ForAnyValue:StringEquals": {"kms:ResourceAliases": "alias/shop-key"}}},
    ]


def test_same_grants_as_the_ecs_task_role() -> None:
    """The pod role's grants are the ECS task role's, statement for statement."""
    common = {"grants": FULL["grants"], "extra_grants": FULL["extra_grants"]}
    pods = run(base(**common))
    tasks = capture(lambda: ContainerService("shop-orders", {
        **common, "key": "orders", "cluster_arn": f"arn:aws:ecs:{REGION}:{ACCT}:cluster/shop",
        "cluster_name": "shop", "vpc_id": "vpc-1", "subnet_ids": ["a", "b", "c"],
        "listener_arn": LISTENER, "load_balancer_security_group_id": "sg-lb",
        "load_balancer_arn_suffix": "app/internal/1", "kms_key_arn": KEY}), preview=False)
    assert json.loads(named(pods, "shop-orders-pod-policy")["policy"]) == \
        json.loads(named(tasks, "shop-orders-task-policy")["policy"])


def test_no_grants_no_policy() -> None:
    cap = run(base())
    assert [r.name for r in cap.registrations if r.type == "aws:iam/rolePolicy:RolePolicy"] \
        == []


# --- routing -------------------------------------------------------------------------------

def test_https_target_group_and_listener_rule(service: Capture) -> None:
    assert named(service, "shop-orders-tg") == {
        "name": "shop-eks-orders", "vpcId": "vpc-1", "targetType": "ip", "protocol": "HTTPS",
        "port": 8443, "deregistrationDelay": 30,
        "healthCheck": {"enabled": True, "protocol": "HTTPS", "port": "traffic-port",
                        "path": "/health/ready", "healthyThreshold": 2,
                        "unhealthyThreshold": 3, "interval": 15, "timeout": 5,
                        "matcher": "200"}}
    rule = named(service, "shop-orders-rule")
    assert rule["listenerArn"] == LISTENER
    assert rule["conditions"] == [{"pathPattern": {"values": ["/orders", "/orders/*"]}}]
    assert rule["actions"] == [{"type": "forward", "targetGroupArn":
                                f"arn:aws:lb:{REGION}:{ACCT}:shop-orders-tg"}]
    hosted = run(base(host="api.example.com", priority=120, paths=["/v1/*"]))
    assert named(hosted, "shop-orders-rule")["conditions"] == [
        {"hostHeader": {"values": ["api.example.com"]}},
        {"pathPattern": {"values": ["/v1/*"]}}]
    assert named(hosted, "shop-orders-rule")["priority"] == 120


def test_target_group_binding_and_service(service: Capture) -> None:
    assert named(service, "shop-orders-target-group-binding")["spec"] == {
        "serviceRef": {"name": "orders", "port": 443},
        "targetGroupARN": f"arn:aws:lb:{REGION}:{ACCT}:shop-orders-tg", "targetType": "ip"}
    assert named(service, "shop-orders-service")["spec"] == {
        "type": "ClusterIP", "selector": LABELS,
        "ports": [{"name": "https", "port": 443, "targetPort": "https", "protocol": "TCP"}]}


def test_target_group_names_fit_elb_limits() -> None:
    assert target_group_name("prod-eks", "orders") == "prod-eks-orders"
    long = target_group_name("prod-k8s-eks", "recommendations-engine-v2")
    assert long == "prod-k8s-eks-recommendati-8612bf" and len(long) == 32
    assert long != target_group_name("prod-k8s-eks", "recommendations-engine-v3")


# --- workload ------------------------------------------------------------------------------

def test_namespace_is_restricted_and_account_has_no_token(service: Capture) -> None:
    assert named(service, "shop-orders-namespace")["metadata"] == {
        "name": "orders", "labels": {"pod-security.kubernetes.io/enforce": "restricted",
                                     "pod-security.kubernetes.io/audit": "restricted",
                                     "pod-security.kubernetes.io/warn": "restricted"}}
    account = named(service, "shop-orders-service-account")
    assert (account["metadata"]["name"], account["automountServiceAccountToken"]) == (
        "orders", False)


def test_deployment_rollout_and_ownership(service: Capture) -> None:
    deployment = service.named("shop-orders-deployment")
    spec = deployment.inputs["spec"]
    assert (spec["replicas"], spec["strategy"], spec["selector"]) == (
        3, {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "25%"}},
        {"matchLabels": LABELS})
    assert deployment.ignore_changes == ["spec.replicas"]
    assert {"shop-orders-pod-identity", "shop-orders-service-account"} <= depends(deployment)


def test_pod_security(service: Capture) -> None:
    spec = pod(service)
    assert spec["securityContext"] == {"runAsNonRoot": True, "runAsUser": 1000,
                                       "runAsGroup": 1000, "fsGroup": 1000,
                                       "seccompProfile": {"type": "RuntimeDefault"}}
    assert (spec["serviceAccountName"], spec["automountServiceAccountToken"],
            spec["enableServiceLinks"], spec["terminationGracePeriodSeconds"]) == (
        "orders", False, False, 30)
    container = spec["containers"][0]
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False, "privileged": False, "readOnlyRootFilesystem": True,
        "runAsNonRoot": True, "capabilities": {"drop": ["ALL"]}}
    assert container["image"] == f"{REPO}@{DIGEST}"
    assert container["volumeMounts"] == [{"name": "tmp", "mountPath": "/tmp"}]
    assert spec["volumes"] == [{"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}]
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        assert key not in spec


def test_probes_resources_and_placement(service: Capture) -> None:
    spec = pod(service)
    container = spec["containers"][0]
    https = {"port": "https", "scheme": "HTTPS"}
    assert container["startupProbe"] == {"httpGet": {**https, "path": "/health/live"},
                                         "periodSeconds": 5, "timeoutSeconds": 5,
                                         "failureThreshold": 12}
    assert container["livenessProbe"] == {"httpGet": {**https, "path": "/health/live"},
                                          "periodSeconds": 15, "timeoutSeconds": 5,
                                          "failureThreshold": 3}
    assert container["readinessProbe"] == {"httpGet": {**https, "path": "/health/ready"},
                                           "periodSeconds": 10, "timeoutSeconds": 5,
                                           "failureThreshold": 3}
    assert container["resources"] == {"requests": {"cpu": "250m", "memory": "512Mi"},
                                      "limits": {"cpu": "250m", "memory": "512Mi"}}
    assert container["ports"] == [{"name": "https", "containerPort": 8443, "protocol": "TCP"}]
    assert spec["nodeSelector"] == {"kubernetes.io/arch": "amd64"}
    assert spec["topologySpreadConstraints"] == [
        {"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
         "whenUnsatisfiable": "DoNotSchedule", "labelSelector": {"matchLabels": LABELS}},
        {"maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
         "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": {"matchLabels": LABELS}}]
    relaxed = pod(run(base(require_task_per_az=False, cpu_architecture="ARM64",
                           health_check_grace_period=7, cpu=1024, memory=2048)))
    assert relaxed["topologySpreadConstraints"][0]["whenUnsatisfiable"] == "ScheduleAnyway"
    assert relaxed["nodeSelector"] == {"kubernetes.io/arch": "arm64"}
    assert relaxed["containers"][0]["startupProbe"]["failureThreshold"] == 2
    assert relaxed["containers"][0]["resources"]["limits"] == {"cpu": "1000m",
                                                              "memory": "2048Mi"}
    assert [millicores(c) for c in (64, 256, 512, 4096)] == ["62m", "250m", "500m", "4000m"]


def test_environment_carries_references_never_secret_values(service: Capture) -> None:
    env = pod(service)["containers"][0]["env"]
    assert env == [
        {"name": "API_KEY_SECRET_ARN", "value": API_SECRET},
        {"name": "AWS_REGION", "value": REGION},
        {"name": "AWS_XRAY_DAEMON_ADDRESS", "value": "cloudwatch-agent.amazon-cloudwatch:2000"},
        {"name": "CACHE_HOST_PARAMETER_ARN", "value": CACHE_HOST},
        {"name": "LOG_LEVEL", "value": "info"},
        {"name": "OTEL_EXPORTER_OTLP_ENDPOINT",
         "value": "http://cloudwatch-agent.amazon-cloudwatch:4317"},
        {"name": "TABLE_CATALOG", "value": "shop-catalog"},
    ]


def test_disruption_budget_and_autoscaler(service: Capture) -> None:
    assert named(service, "shop-orders-disruption-budget")["spec"] == {
        "maxUnavailable": 1, "selector": {"matchLabels": LABELS},
        "unhealthyPodEvictionPolicy": "AlwaysAllow"}
    assert named(service, "shop-orders-autoscaler")["spec"] == {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "orders"},
        "minReplicas": 3, "maxReplicas": 9,
        "metrics": [
            {"type": "Resource", "resource": {"name": "cpu", "target": {
                "type": "Utilization", "averageUtilization": 60}}},
            {"type": "Pods", "pods": {"metric": {"name": "http_requests_per_second"},
                                      "target": {"type": "AverageValue",
                                                 "averageValue": "50"}}}],
        "behavior": {"scaleUp": {"stabilizationWindowSeconds": 60},
                     "scaleDown": {"stabilizationWindowSeconds": 300}}}
    cpu_only = named(run(base(cpu_target=45, min_count=3)), "shop-orders-autoscaler")["spec"]
    assert cpu_only["metrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 45}}}]


def test_network_policies(service: Capture) -> None:
    assert named(service, "shop-orders-default-deny")["spec"] == {
        "podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    allow = named(service, "shop-orders-allow")
    assert allow["metadata"] == {"name": "orders-allow", "namespace": "orders"}

    def port(number: int, protocol: str = "TCP") -> dict[str, Any]:
        return {"port": number, "protocol": protocol}

    def namespace(name: str) -> dict[str, Any]:
        return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}}}

    assert allow["spec"] == {
        "podSelector": {"matchLabels": LABELS}, "policyTypes": ["Ingress", "Egress"],
        "ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/16"}}], "ports": [port(8443)]}],
        "egress": [
            {"to": [{**namespace("kube-system"),
                     "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
             "ports": [port(53, "UDP"), port(53)]},
            {"to": [{"ipBlock": {"cidr": "169.254.170.23/32"}}], "ports": [port(80)]},
            {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [port(443)]},
            {"to": [namespace("amazon-cloudwatch")],
             "ports": [port(2000, "UDP"), port(4317), port(4318)]},
            {"to": [{"ipBlock": {"cidr": "10.0.224.0/22"}}, {"ipBlock": {"cidr": "10.0.228.0/22"}}],
             "ports": [port(6379)]},
        ]}


# --- validation ----------------------------------------------------------------------------

INVALID = [
    ({"key": "kube-system"}, ["key: 'kube-system' is a reserved namespace: choose another "
                              "service key"]),
    ({"image_digest": "sha256:abc"}, ["imageDigest: 'sha256:abc' is not an image digest "
                                      "(sha256:<64 hex digits>)"]),
    ({"exec_enabled": True, "requests_per_target": 10},
     ["execEnabled: applies to runtime ecs only; remove it (this service runs on eks)",
      "requestsPerTarget: applies to runtime ecs only; remove it (this service runs on eks)"]),
    ({"memory": 70000, "cpu_architecture": "arm"},
     ["memory: memory must be between 64 and 65536 (got 70000)",
      "cpuArchitecture: 'arm' is not allowed: use one of X86_64, ARM64"]),
    ({"desired_count": 2, "min_count": 2},
     ["desiredCount: desiredCount must be at least 3, one task per availability zone (got 2)",
      "minCount: minCount must be at least 3, one task per availability zone (got 2)"]),
    ({"user": "0", "read_only_root_filesystem": False},
     ["writableRootReason: required (at least 10 characters) when readOnlyRootFilesystem is "
      "false: say why the container must write outside /tmp",
      "user: '0' runs as root: use a non-root uid[:gid] such as 1000:1000"]),
    ({"environment": {"DB_PASSWORD": "hunter2"}, "extra_environment": {"DB_PASSWORD": "x"}},
     ["environment: DB_PASSWORD: plaintext credential rejected: the name says it holds a "
      "secret; put it in Secrets Manager or SSM and list it under secrets",
      "extraEnvironment: DB_PASSWORD: plaintext credential rejected: the name says it holds a "
      "secret; put it in Secrets Manager or SSM and list it under secrets",
      "environment: 'DB_PASSWORD' is also set by the platform (database, cache or table "
      "settings)"]),
    ({"egress": {"Cache": {"security_group_id": "sg", "port": 70000}}},
     ["egress.Cache: 'Cache' is not a valid name: use 2-32 lowercase letters, digits and "
      "single hyphens, starting with a letter",
      "egress.Cache.port: port must be between 1 and 65535 (got 70000)"]),
]


@pytest.mark.parametrize(("overrides", "expected"), INVALID)
def test_invalid_args_are_reported_exactly(overrides: dict[str, Any],
                                           expected: list[str]) -> None:
    problems = check_kubernetes_service_args("shop-orders", base(**overrides))
    assert [f"{config_path(p.path)}: {p.message}" for p in problems] == expected
    seen: list[Registration] = []
    with pytest.raises(ArgsError):
        capture(lambda: KubernetesService("shop-orders", base(**overrides)),
                on_register=seen.append)
    assert [r.type for r in seen] == ["microservices:index:KubernetesService"]
