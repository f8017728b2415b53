"""EksCluster under recording mocks: children, the control plane's endpoint, encryption and
logs, access entries, exact role trust and policies, node launch templates, add-ons and
their order, the Kubernetes provider, and every validation message."""

import json
from typing import Any

import pytest

from components.eks_cluster import (
    EksCluster,
    EksClusterArgs,
    check_eks_cluster_args,
    instance_architecture,
)
from components.validation import ArgsError, config_path
from preflight.capture import Capture, Registration, capture

ACCT = "123456789012"
REGION = "us-east-1"
KEY = f"arn:aws:kms:{REGION}:{ACCT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
DEPLOYER = f"arn:aws:iam::{ACCT}:role/deployer"
AUDITOR = f"arn:aws:iam::{ACCT}:role/auditor"
CLUSTER_ARN = f"arn:aws:eks:{REGION}:{ACCT}:cluster/shop-eks"
MANAGED = "arn:aws:iam::aws:policy/"


def base(**overrides: Any) -> EksClusterArgs:
    args: dict[str, Any] = {
        "vpc_id": "vpc-0abc", "subnet_ids": ["subnet-a", "subnet-b", "subnet-c"],
        "az_count": 3, "kms_key_arn": KEY, "kms_key_alias": "alias/shop-key",
        "log_retention_days": 365,
        "node_groups": {"general": {"instance_types": ["m7i.large", "m6i.large"],
                                    "min_size": 3, "max_size": 6}},
        "access_entries": {"deployer": {"principal_arn": DEPLOYER,
                                        "access": "cluster-admin"}},
    }
    args.update(overrides)
    return args  # type: ignore[return-value]


def run(args: EksClusterArgs, preview: bool = False) -> Capture:
    return capture(lambda: EksCluster("shop-eks", args), preview=preview)


def one(cap: Capture, type_: str, name: str) -> Registration:
    found = [r for r in cap.registrations if r.type == type_ and r.name == name]
    assert len(found) == 1, name
    return found[0]


def policy(cap: Capture, name: str, prop: str = "assumeRolePolicy") -> dict[str, Any]:
    type_ = "aws:iam/role:Role" if prop == "assumeRolePolicy" else "aws:iam/rolePolicy:RolePolicy"
    return json.loads(one(cap, type_, name).inputs[prop])


def attached(cap: Capture, role: str) -> list[str]:
    return sorted(r.inputs["policyArn"] for r in cap.registrations
                  if r.type == "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
                  and r.inputs["role"] == role)


def depends(reg: Registration) -> set[str]:
    return {urn.rsplit("::", 1)[1] for urn in reg.dependencies}


@pytest.fixture(scope="module")
def cluster() -> Capture:
    return run(base(api_access_cidrs=["10.99.0.0/24"],
                    access_entries={
                        "deployer": {"principal_arn": DEPLOYER, "access": "cluster-admin"},
                        "auditor": {"principal_arn": AUDITOR, "access": "view",
                                    "namespaces": ["orders", "web"]}}))


# --- children ------------------------------------------------------------------------------

def test_children(cluster: Capture) -> None:
    names = sorted((r.type.split(":")[-1], r.name) for r in cluster.registrations)
    assert names == sorted([
        ("EksCluster", "shop-eks"),
        ("LogGroup", "shop-eks-control-plane"),
        *(("LogGroup", f"shop-eks-insights-{k}")
          for k in ("application", "dataplane", "host", "performance")),
        ("Role", "shop-eks-cluster-role"),
        ("RolePolicyAttachment", "shop-eks-cluster-AmazonEKSClusterPolicy"),
        ("RolePolicy", "shop-eks-cluster-kms"),
        ("SecurityGroup", "shop-eks-api"),
        ("SecurityGroupIngressRule", "shop-eks-api-from-10.99.0.0-24"),
        ("Cluster", "shop-eks-cluster"),
        ("AccessEntry", "shop-eks-access-auditor"),
        ("AccessPolicyAssociation", "shop-eks-access-auditor-policy"),
        ("AccessEntry", "shop-eks-access-deployer"),
        ("AccessPolicyAssociation", "shop-eks-access-deployer-policy"),
        ("Role", "shop-eks-cni-role"),
        ("RolePolicyAttachment", "shop-eks-cni-AmazonEKS_CNI_Policy"),
        ("Addon", "shop-eks-vpc-cni"), ("Addon", "shop-eks-kube-proxy"),
        ("Addon", "shop-eks-eks-pod-identity-agent"),
        ("Role", "shop-eks-nodes-role"),
        ("RolePolicyAttachment", "shop-eks-nodes-AmazonEKSWorkerNodePolicy"),
        ("RolePolicyAttachment", "shop-eks-nodes-AmazonEC2ContainerRegistryPullOnly"),
        ("LaunchTemplate", "shop-eks-nodes-general-template"),
        ("NodeGroup", "shop-eks-nodes-general"),
        ("Role", "shop-eks-cloudwatch-agent-role"),
        ("RolePolicyAttachment", "shop-eks-cloudwatch-agent-CloudWatchAgentServerPolicy"),
        ("RolePolicyAttachment", "shop-eks-cloudwatch-agent-AWSXrayWriteOnlyAccess"),
        ("Addon", "shop-eks-coredns"), ("Addon", "shop-eks-amazon-cloudwatch-observability"),
        ("kubernetes", "shop-eks-k8s"),
    ])
    component = one(cluster, "microservices:index:EksCluster", "shop-eks").urn
    assert all(r.parent == component for r in cluster.registrations if r.name != "shop-eks")


# --- control plane -------------------------------------------------------------------------

def test_endpoint_is_private_by_default(cluster: Capture) -> None:
    vpc = one(cluster, "aws:eks/cluster:Cluster", "shop-eks-cluster").inputs["vpcConfig"]
    assert vpc == {"endpointPrivateAccess": True, "endpointPublicAccess": False,
                   "securityGroupIds": ["shop-eks-api-id"],
                   "subnetIds": ["subnet-a", "subnet-b", "subnet-c"]}
    rule = one(cluster, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
               "shop-eks-api-from-10.99.0.0-24").inputs
    assert rule == {"cidrIpv4": "10.99.0.0/24", "description": "Kubernetes API from 10.99.0.0/24",
                    "fromPort": 443, "ipProtocol": "tcp", "securityGroupId": "shop-eks-api-id",
                    "toPort": 443}
    sg = one(cluster, "aws:ec2/securityGroup:SecurityGroup", "shop-eks-api").inputs
    assert "ingress" not in sg and "egress" not in sg


def test_public_endpoint_only_when_asked_and_only_for_the_cidrs() -> None:
    cap = run(base(endpoint_public_access=True, public_access_cidrs=["198.51.100.0/24"]))
    vpc = one(cap, "aws:eks/cluster:Cluster", "shop-eks-cluster").inputs["vpcConfig"]
    assert (vpc["endpointPrivateAccess"], vpc["endpointPublicAccess"],
            vpc["publicAccessCidrs"]) == (True, True, ["198.51.100.0/24"])


def test_secrets_envelope_encryption_logs_and_access_mode(cluster: Capture) -> None:
    inputs = one(cluster, "aws:eks/cluster:Cluster", "shop-eks-cluster").inputs
    assert inputs["encryptionConfig"] == {"provider": {"keyArn": KEY}, "resources": ["secrets"]}
    assert inputs["enabledClusterLogTypes"] == ["api", "audit", "authenticator",
                                                "controllerManager", "scheduler"]
    assert inputs["accessConfig"] == {"authenticationMode": "API",
                                      "bootstrapClusterCreatorAdminPermissions": False}
    assert (inputs["version"], inputs["bootstrapSelfManagedAddons"], inputs["upgradePolicy"],
            inputs["zonalShiftConfig"], inputs["deletionProtection"]) == (
        "1.33", False, {"supportType": "STANDARD"}, {"enabled": True}, False)
    logs = one(cluster, "aws:cloudwatch/logGroup:LogGroup", "shop-eks-control-plane").inputs
    assert (logs["name"], logs["kmsKeyId"], logs["retentionInDays"]) == (
        "/aws/eks/shop-eks/cluster", KEY, 365)
    # The group exists before EKS would create it without key or retention.
    assert "shop-eks-control-plane" in depends(
        one(cluster, "aws:eks/cluster:Cluster", "shop-eks-cluster"))
    insights = sorted((r.inputs["name"], r.inputs["kmsKeyId"], r.inputs["retentionInDays"])
                      for r in cluster.registrations if r.name.startswith("shop-eks-insights-"))
    assert insights == [(f"/aws/containerinsights/shop-eks/{k}", KEY, 365)
                        for k in ("application", "dataplane", "host", "performance")]


def test_access_entries_and_their_policies(cluster: Capture) -> None:
    entry = one(cluster, "aws:eks/accessEntry:AccessEntry", "shop-eks-access-deployer").inputs
    assert (entry["principalArn"], entry["type"]) == (DEPLOYER, "STANDARD")
    admin = one(cluster, "aws:eks/accessPolicyAssociation:AccessPolicyAssociation",
                "shop-eks-access-deployer-policy").inputs
    assert admin == {"accessScope": {"type": "cluster"}, "clusterName": "shop-eks",
                     "policyArn": "arn:aws:eks::aws:cluster-access-policy/"
                                  "AmazonEKSClusterAdminPolicy",
                     "principalArn": DEPLOYER}
    view = one(cluster, "aws:eks/accessPolicyAssociation:AccessPolicyAssociation",
               "shop-eks-access-auditor-policy").inputs
    assert (view["policyArn"], view["accessScope"]) == (
        "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy",
        {"type": "namespace", "namespaces": ["orders", "web"]})


# --- roles ---------------------------------------------------------------------------------

def test_cluster_role_trust_and_policies(cluster: Capture) -> None:
    assert policy(cluster, "shop-eks-cluster-role") == {"Version": "2012-10-17", "Statement": [{
        "Sid": "AssumeRole", "Effect": "Allow", "Principal": {"Service": "eks.amazonaws.com"},
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:SourceAccount": ACCT},
                      "ArnLike": {"aws:SourceArn": CLUSTER_ARN}}}]}
    assert attached(cluster, "shop-eks-cluster") == [MANAGED + "AmazonEKSClusterPolicy"]
    assert policy(cluster, "shop-eks-cluster-kms", "policy")["Statement"] == [{
        "Sid": "EnvelopeEncryption", "Effect": "Allow",
        "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:ListGrants"],
        "Resource": [f"arn:aws:kms:{REGION}:{ACCT}:key/*"],
        "Condition": {"ForAnyValue:StringEquals": {"kms:ResourceAliases": "alias/shop-key"}}}]


def test_node_role_has_exactly_the_node_policies(cluster: Capture) -> None:
    assert policy(cluster, "shop-eks-nodes-role")["Statement"] == [{
        "Sid": "AssumeRole", "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
        "Action": "sts:AssumeRole"}]
    # No AmazonEKS_CNI_Policy on the node: the CNI has its own Pod Identity role.
    assert attached(cluster, "shop-eks-nodes") == [
        MANAGED + "AmazonEC2ContainerRegistryPullOnly", MANAGED + "AmazonEKSWorkerNodePolicy"]
    assert not [r for r in cluster.registrations if r.type == "aws:iam/rolePolicy:RolePolicy"
                and r.inputs["role"] == "shop-eks-nodes"]


@pytest.mark.parametrize(("role", "namespace", "account", "policies"), [
    ("cni", "kube-system", "aws-node", ["AmazonEKS_CNI_Policy"]),
    ("cloudwatch-agent", "amazon-cloudwatch", "cloudwatch-agent",
     ["CloudWatchAgentServerPolicy", "service-role/AWSXrayWriteOnlyAccess"]),
])
def test_add_on_pod_identity_roles(cluster: Capture, role: str, namespace: str, account: str,
                                   policies: list[str]) -> None:
    assert policy(cluster, f"shop-eks-{role}-role")["Statement"] == [{
        "Sid": "PodIdentity", "Effect": "Allow",
        "Principal": {"Service": "pods.eks.amazonaws.com"},
        "Action": ["sts:AssumeRole", "sts:TagSession"],
        "Condition": {"StringEquals": {
            "aws:RequestTag/eks-cluster-arn": CLUSTER_ARN,
            "aws:RequestTag/kubernetes-namespace": namespace,
            "aws:RequestTag/kubernetes-service-account": account}}}]
    assert attached(cluster, f"shop-eks-{role}") == sorted(MANAGED + p for p in policies)


def test_fargate_profiles_and_their_role() -> None:
    cap = run(base(fargate_profiles={"batch": {"namespaces": ["jobs", "reports"],
                                               "labels": {"tier": "batch"}}}))
    assert policy(cap, "shop-eks-fargate-role")["Statement"] == [{
        "Sid": "AssumeRole", "Effect": "Allow",
        "Principal": {"Service": "eks-fargate-pods.amazonaws.com"},
        "Action": "sts:AssumeRole",
        "Condition": {"ArnLike": {
            "aws:SourceArn": f"arn:aws:eks:{REGION}:{ACCT}:fargateprofile/shop-eks/*"}}}]
    assert attached(cap, "shop-eks-fargate") == [
        MANAGED + "AmazonEKSFargatePodExecutionRolePolicy"]
    profile = one(cap, "aws:eks/fargateProfile:FargateProfile", "shop-eks-fargate-batch").inputs
    assert profile["selectors"] == [{"namespace": "jobs", "labels": {"tier": "batch"}},
                                    {"namespace": "reports", "labels": {"tier": "batch"}}]
    assert profile["subnetIds"] == ["subnet-a", "subnet-b", "subnet-c"]


# --- nodes and add-ons ---------------------------------------------------------------------

def test_nodes_require_imdsv2_and_encrypt_their_disks(cluster: Capture) -> None:
    template = one(cluster, "aws:ec2/launchTemplate:LaunchTemplate",
                   "shop-eks-nodes-general-template").inputs
    assert template["metadataOptions"] == {"httpEndpoint": "enabled", "httpTokens": "required",
                                           "httpPutResponseHopLimit": 1,
                                           "instanceMetadataTags": "disabled"}
    assert template["blockDeviceMappings"] == [{"deviceName": "/dev/xvda", "ebs": {
        "deleteOnTermination": "true", "encrypted": "true", "volumeSize": 50,
        "volumeType": "gp3"}}]
    assert "vpcSecurityGroupIds" not in template and "imageId" not in template


def test_node_groups_span_every_private_subnet(cluster: Capture) -> None:
    group = one(cluster, "aws:eks/nodeGroup:NodeGroup", "shop-eks-nodes-general")
    inputs = group.inputs
    assert inputs["subnetIds"] == ["subnet-a", "subnet-b", "subnet-c"]
    assert inputs["scalingConfig"] == {"minSize": 3, "maxSize": 6, "desiredSize": 3}
    assert (inputs["amiType"], inputs["capacityType"], inputs["instanceTypes"],
            inputs["updateConfig"], inputs["nodeRepairConfig"], inputs["labels"]) == (
        "AL2023_x86_64_STANDARD", "ON_DEMAND", ["m7i.large", "m6i.large"],
        {"maxUnavailable": 1}, {"enabled": True}, {"platform/node-group": "general"})
    assert group.ignore_changes == ["scalingConfig.desiredSize"]
    assert "diskSize" not in inputs  # the launch template sizes the disk


def test_add_ons_nodes_need_come_first(cluster: Capture) -> None:
    group = depends(one(cluster, "aws:eks/nodeGroup:NodeGroup", "shop-eks-nodes-general"))
    assert {"shop-eks-vpc-cni", "shop-eks-kube-proxy",
            "shop-eks-eks-pod-identity-agent"} <= group
    for addon in ("coredns", "amazon-cloudwatch-observability"):
        assert "shop-eks-nodes-general" in depends(
            one(cluster, "aws:eks/addon:Addon", f"shop-eks-{addon}"))
    observability = one(cluster, "aws:eks/addon:Addon", "shop-eks-amazon-cloudwatch-observability")
    assert {f"shop-eks-insights-{k}" for k in ("application", "host")} <= depends(observability)


def test_add_on_settings(cluster: Capture) -> None:
    def addon(name: str) -> dict[str, Any]:
        return one(cluster, "aws:eks/addon:Addon", f"shop-eks-{name}").inputs
    cni = addon("vpc-cni")
    assert json.loads(cni["configurationValues"]) == {"enableNetworkPolicy": "true"}
    assert cni["podIdentityAssociations"] == [{
        "roleArn": f"arn:aws:iam:{REGION}:{ACCT}:shop-eks-cni-role",
        "serviceAccount": "aws-node"}]
    agent = addon("amazon-cloudwatch-observability")
    assert json.loads(agent["configurationValues"]) == {
        "agent": {"config": {
            "logs": {"metrics_collected": {"kubernetes": {"enhanced_container_insights": True}}},
            "traces": {"traces_collected": {"xray": {}, "otlp": {}}}}},
        "containerLogs": {"enabled": True}}
    assert agent["podIdentityAssociations"][0]["serviceAccount"] == "cloudwatch-agent"
    for name in ("vpc-cni", "kube-proxy", "eks-pod-identity-agent", "coredns",
                 "amazon-cloudwatch-observability"):
        inputs = addon(name)
        assert (inputs["resolveConflictsOnCreate"], inputs["resolveConflictsOnUpdate"],
                inputs.get("addonVersion")) == ("OVERWRITE", "OVERWRITE", None)
    pinned = run(base(addon_versions={"coredns": "v1.11.4-eksbuild.2"}))
    assert one(pinned, "aws:eks/addon:Addon", "shop-eks-coredns").inputs["addonVersion"] == \
        "v1.11.4-eksbuild.2"


def test_kubernetes_provider_is_bound_to_the_cluster(cluster: Capture) -> None:
    provider = one(cluster, "pulumi:providers:kubernetes", "shop-eks-k8s")
    config = json.loads(provider.inputs["kubeconfig"])
    assert config["users"][0]["user"]["exec"] == {
        "apiVersion": "client.authentication.k8s.io/v1beta1", "command": "aws",
        "args": ["eks", "get-token", "--cluster-name", "shop-eks", "--region", REGION,
                 "--output", "json"]}
    assert (provider.inputs["enableServerSideApply"], provider.inputs["deleteUnreachable"]) \
        == ("true", "false")
    # Whoever runs pulumi up can use the API, and pods can be scheduled, before any
    # Kubernetes object is created.
    assert {"shop-eks-access-deployer-policy", "shop-eks-vpc-cni", "shop-eks-coredns",
            "shop-eks-amazon-cloudwatch-observability", "shop-eks-nodes-general"} \
        <= depends(provider)


def test_admitting_a_load_balancer_once_per_port() -> None:
    def program() -> None:
        eks = EksCluster("shop-eks", base())
        eks.admit("internal", "sg-lb", 8443)
        eks.admit("internal", "sg-lb", 8443)
        eks.admit("public", "sg-edge", 8443)
    cap = capture(program, preview=False)
    rules = sorted((r.name, r.inputs["referencedSecurityGroupId"], r.inputs["fromPort"])
                   for r in cap.registrations if "-from-" in r.name and
                   r.type == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert rules == [("shop-eks-from-internal-8443", "sg-lb", 8443),
                     ("shop-eks-from-public-8443", "sg-edge", 8443)]


def test_arm_node_groups() -> None:
    assert [instance_architecture(t) for t in ("m7g.large", "c7gn.xlarge", "t4g.small",
                                               "r8gd.2xlarge", "m7i.large", "g5.xlarge",
                                               "m7i-flex.large", "large")] == [
        "arm64", "arm64", "arm64", "arm64", "amd64", "amd64", "amd64", None]
    cap = run(base(node_groups={"graviton": {"instance_types": ["m7g.large"], "min_size": 3,
                                             "max_size": 3, "ami_type": "AL2023_ARM_64_STANDARD",
                                             "disk_size_gib": 100}}))
    group = one(cap, "aws:eks/nodeGroup:NodeGroup", "shop-eks-nodes-graviton").inputs
    assert group["amiType"] == "AL2023_ARM_64_STANDARD"
    template = one(cap, "aws:ec2/launchTemplate:LaunchTemplate",
                   "shop-eks-nodes-graviton-template").inputs
    assert template["blockDeviceMappings"][0]["ebs"]["volumeSize"] == 100


# --- validation ----------------------------------------------------------------------------

INVALID = [
    ({"subnet_ids": ["subnet-a", "subnet-b"]},
     ["subnetIds: must list a subnet in each of the 3 availability zones (got 2)"]),
    ({"require_node_per_az": True, "node_groups": {"general": {
        "instance_types": ["m7i.large"], "min_size": 2, "max_size": 4}}},
     ["nodeGroups.general.minSize: this cluster keeps a node in each availability zone: "
      "minSize must be at least 3 (got 2)"]),
    ({"allow_spot": False, "node_groups": {"general": {
        "instance_types": ["m7i.large"], "min_size": 3, "max_size": 4,
        "capacity_type": "spot"}}},
     ["nodeGroups.general.capacityType: this cluster does not run on Spot capacity: use "
      "on-demand"]),
    ({"node_groups": {"general": {"instance_types": [], "min_size": 4, "max_size": 3,
                                  "disk_size_gib": 10, "ami_type": "BOTTLEROCKET_x86_64",
                                  "labels": {"kubernetes.io/role": "x"}}}},
     ["nodeGroups.general.amiType: 'BOTTLEROCKET_x86_64' is not allowed: use one of "
      "AL2023_x86_64_STANDARD, AL2023_ARM_64_STANDARD",
      "nodeGroups.general.instanceTypes: must list at least one instance type",
      "nodeGroups.general.maxSize: maxSize (3) must not be less than minSize (4)",
      "nodeGroups.general.desiredSize: desiredSize (4) must be between minSize (4) and "
      "maxSize (3)",
      "nodeGroups.general.diskSizeGib: diskSizeGib must be between 20 and 1000 (got 10)",
      "nodeGroups.general.labels: 'kubernetes.io/role' is a reserved label prefix"]),
    ({"log_retention_days": 42, "kms_key_arn": "alias/shop"},
     ["logRetentionDays: 42 is not a CloudWatch Logs retention; use one of 1, 3, 5, 7, 14, "
      "30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653",
      "kmsKeyArn: 'alias/shop' is not a KMS key ARN (arn:aws:kms:...)"]),
    ({"fargate_profiles": {"batch": {"namespaces": ["a1", "b1", "c1", "d1", "e1", "f1"]}}},
     ["fargateProfiles.batch.namespaces: list 1-5 namespaces (a Fargate profile has at most 5 "
      "selectors)"]),
]


@pytest.mark.parametrize(("overrides", "expected"), INVALID)
def test_invalid_args_are_reported_exactly(overrides: dict[str, Any],
                                           expected: list[str]) -> None:
    problems = check_eks_cluster_args("shop-eks", base(**overrides))
    assert [f"{config_path(p.path)}: {p.message}" for p in problems] == expected
    with pytest.raises(ArgsError):
        run(base(**overrides))


def test_name_length_and_nothing_registered_on_error() -> None:
    problems = check_eks_cluster_args("a-very-long-cluster-name", base())
    assert [p.message for p in problems] == [
        "'a-very-long-cluster-name' is longer than 20 characters (it prefixes target group "
        "and role names)"]
    seen: list[Registration] = []
    with pytest.raises(ArgsError):
        capture(lambda: EksCluster("a-very-long-cluster-name", base()), on_register=seen.append)
    assert [r.type for r in seen] == ["microservices:index:EksCluster"]
