"""LoadBalancerController under recording mocks: its Pod Identity role may only describe
and register targets in the cluster's own target groups; the Helm release is pinned, waits
for the identity association and turns off everything but target group bindings."""

import json
from typing import Any

import pulumi
import pulumi_kubernetes as kubernetes
import pytest

from components.load_balancer_controller import (
    CHART_VERSION,
    DESCRIBE_ACTIONS,
    LoadBalancerController,
)
from components.validation import ArgsError
from policies.guardrails.iam import scoped_actions
from preflight.capture import Capture, capture

ACCT = "123456789012"
REGION = "us-east-1"
CLUSTER_ARN = f"arn:aws:eks:{REGION}:{ACCT}:cluster/shop-eks"


def run(**overrides: Any) -> Capture:
    def program() -> None:
        provider = kubernetes.Provider("k8s", kubeconfig="{}")
        LoadBalancerController("shop-lbc", {
            "cluster_name": "shop-eks", "cluster_arn": CLUSTER_ARN, "vpc_id": "vpc-1",
            **overrides}, opts=pulumi.ResourceOptions(providers={"kubernetes": provider}))
    return capture(program, preview=False)


@pytest.fixture(scope="module")
def controller() -> Capture:
    return run()


def test_children(controller: Capture) -> None:
    assert sorted((r.type, r.name) for r in controller.registrations if r.name != "k8s") == [
        ("aws:eks/podIdentityAssociation:PodIdentityAssociation", "shop-lbc-pod-identity"),
        ("aws:iam/role:Role", "shop-lbc-role"),
        ("aws:iam/rolePolicy:RolePolicy", "shop-lbc-policy"),
        ("kubernetes:helm.sh/v3:Release", "shop-lbc-release"),
        ("microservices:index:LoadBalancerController", "shop-lbc"),
    ]


def test_role_trust_and_statements(controller: Capture) -> None:
    role = controller.named("shop-lbc-role").inputs
    assert role["name"] == "shop-eks-lb-controller"
    assert json.loads(role["assumeRolePolicy"])["Statement"][0]["Condition"] == {
        "StringEquals": {"aws:RequestTag/eks-cluster-arn": CLUSTER_ARN,
                         "aws:RequestTag/kubernetes-namespace": "kube-system",
                         "aws:RequestTag/kubernetes-service-account":
                             "aws-load-balancer-controller"}}
    assert json.loads(controller.named("shop-lbc-policy").inputs["policy"])["Statement"] == [
        {"Sid": "Describe", "Effect": "Allow", "Action": sorted(DESCRIBE_ACTIONS),
         "Resource": ["*"]},
        {"Sid": "RegisterPods", "Effect": "Allow",
         "Action": ["elasticloadbalancing:DeregisterTargets",
                    "elasticloadbalancing:RegisterTargets"],
         "Resource": [f"arn:aws:elasticloadbalancing:{REGION}:{ACCT}:targetgroup/shop-eks-*/*"]},
    ]
    # "*" only where IAM offers nothing narrower.
    assert [a for a in DESCRIBE_ACTIONS if scoped_actions(a)] == []


def test_release_is_pinned_and_waits_for_its_identity(controller: Capture) -> None:
    release = controller.named("shop-lbc-release")
    inputs = release.inputs
    assert (inputs["chart"], inputs["version"], inputs["namespace"], inputs["name"],
            inputs["repositoryOpts"], inputs["atomic"], inputs["cleanupOnFail"]) == (
        "aws-load-balancer-controller", CHART_VERSION, "kube-system",
        "aws-load-balancer-controller", {"repo": "https://aws.github.io/eks-charts"}, True,
        True)
    assert "shop-lbc-pod-identity" in {d.rsplit("::", 1)[1] for d in release.dependencies}
    values = inputs["values"]
    assert {k: values[k] for k in (
        "clusterName", "region", "vpcId", "replicaCount", "createIngressClassResource",
        "enableServiceMutatorWebhook", "enableShield", "enableWaf", "enableWafv2",
        "defaultTargetType", "serviceAccount", "podDisruptionBudget")} == {
        "clusterName": "shop-eks", "region": REGION, "vpcId": "vpc-1", "replicaCount": 2,
        "createIngressClassResource": False, "enableServiceMutatorWebhook": False,
        "enableShield": False, "enableWaf": False, "enableWafv2": False,
        "defaultTargetType": "ip",
        "serviceAccount": {"create": True, "name": "aws-load-balancer-controller"},
        "podDisruptionBudget": {"maxUnavailable": 1}}
    assert values["resources"] == {"requests": {"cpu": "100m", "memory": "128Mi"},
                                   "limits": {"cpu": "500m", "memory": "256Mi"}}


def test_replicas_are_checked() -> None:
    with pytest.raises(ArgsError) as err:
        run(replicas=1)
    assert str(err.value) == ("LoadBalancerController 'shop-lbc': replicas: replicas must be "
                              "between 2 and 5 (got 1)")
