"""Stack policies over property dependencies: a compliant three-AZ stack passes every one;
each mutation fails with exactly the expected (resource, message) findings."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest
from policy_helpers import TLS_DENY, StackBuilder, doc

from policies.guardrails import REGISTRY, UNKNOWN, evaluate_stack
from policies.guardrails.core import PolicyException, set_configured_exceptions

STACK_POLICIES = sorted(n for n, r in REGISTRY.items() if r.kind == "stack")
ZONES = ("a", "b", "c")
UNK = "is unknown at preview; cannot prove"
ONLY_ALBS = ("only ports 80 and 443 on a security group used only by application load "
             "balancers may be open to the internet")

SUBNET = "aws:ec2/subnet:Subnet"
SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
CSC = "aws:lambda/codeSigningConfig:CodeSigningConfig"
LOGGING = "aws:s3/bucketLogging:BucketLogging"
OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
CACHE_USER = "aws:elasticache/user:User"
CACHE_USERS = "aws:elasticache/userGroup:UserGroup"
ALIAS = "aws:kms/alias:Alias"
NAMESPACE = "kubernetes:core/v1:Namespace"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
BINDING = "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding"
POD_IDENTITY = "aws:eks/podIdentityAssociation:PodIdentityAssociation"
PERIMETER = doc(*({"Sid": sid, "Effect": "Allow", "Principal": "*", "Action": "*",
                   "Resource": "*", "Condition": {"StringEquals": {key: "123456789012"}}}
                  for sid, key in (("OwnPrincipals", "aws:PrincipalAccount"),
                                   ("OwnResources", "aws:ResourceAccount"))))
ECR_LIFECYCLE = json.dumps({"rules": [
    {"rulePriority": 1, "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed",
                                      "countUnit": "days", "countNumber": 7},
     "action": {"type": "expire"}}]})
OPEN_STATEMENT = {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}


def compliant() -> StackBuilder:
    b = StackBuilder()
    b.add("aws:ec2/vpc:Vpc", "vpc", {"cidrBlock": "10.0.0.0/16"})
    b.add("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", "vpc-default", {}, vpcId="vpc")
    b.add("aws:ec2/flowLog:FlowLog", "vpc-flow", {"trafficType": "ALL"}, vpcId="vpc")
    for z in ZONES:
        b.add(SUBNET, f"public-{z}", {"availabilityZone": f"eu-west-1{z}"}, vpcId="vpc")
        b.add(SUBNET, f"private-{z}", {"availabilityZone": f"eu-west-1{z}"}, vpcId="vpc")
        b.add("aws:ec2/eip:Eip", f"eip-{z}", {"domain": "vpc"})
        b.add("aws:ec2/natGateway:NatGateway", f"nat-{z}",
              {"subnetId": UNKNOWN, "allocationId": UNKNOWN},
              subnetId=f"public-{z}", allocationId=f"eip-{z}")
        b.add("aws:ec2/routeTable:RouteTable", f"private-rt-{z}", {"vpcId": UNKNOWN}, vpcId="vpc")
        b.add("aws:ec2/route:Route", f"private-rt-{z}-default",
              {"destinationCidrBlock": "0.0.0.0/0", "natGatewayId": UNKNOWN,
               "routeTableId": UNKNOWN}, routeTableId=f"private-rt-{z}", natGatewayId=f"nat-{z}")
        b.add("aws:ec2/routeTableAssociation:RouteTableAssociation", f"private-rt-{z}-assoc",
              {"subnetId": UNKNOWN, "routeTableId": UNKNOWN},
              routeTableId=f"private-rt-{z}", subnetId=f"private-{z}")
    public = [f"public-{z}" for z in ZONES]
    private = [f"private-{z}" for z in ZONES]
    b.add(SG, "alb-sg", {"description": "alb"}, vpcId="vpc")
    b.add(INGRESS, "alb-sg-https", {"ipProtocol": "tcp", "fromPort": 443, "toPort": 443,
                                    "cidrIpv4": "0.0.0.0/0"}, securityGroupId="alb-sg")
    b.add(SG, "app-sg", {"description": "app"}, vpcId="vpc")
    b.add(INGRESS, "app-sg-from-alb", {"ipProtocol": "tcp", "fromPort": 8080, "toPort": 8080,
                                       "referencedSecurityGroupId": UNKNOWN},
          securityGroupId="app-sg", referencedSecurityGroupId="alb-sg")
    b.add("aws:lb/loadBalancer:LoadBalancer", "alb",
          {"loadBalancerType": "application", "internal": False,
           "subnets": [UNKNOWN] * 3, "securityGroups": [UNKNOWN]},
          subnets=public, securityGroups=["alb-sg"])
    b.add("aws:wafv2/webAcl:WebAcl", "acl", {"rules": [{"name": "common"}]})
    b.add("aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration", "acl-logs",
          {"resourceArn": UNKNOWN}, resourceArn="acl")
    b.add("aws:wafv2/webAclAssociation:WebAclAssociation", "alb-waf",
          {"resourceArn": UNKNOWN, "webAclArn": UNKNOWN}, resourceArn="alb", webAclArn="acl")
    b.add("aws:ecs/cluster:Cluster", "cluster", {"configuration": {
        "executeCommandConfiguration": {"kmsKeyId": UNKNOWN, "logging": "OVERRIDE",
                                        "logConfiguration": {"cloudWatchLogGroupName": UNKNOWN,
                                                             "cloudWatchEncryptionEnabled": True}}}})
    b.add("aws:ecs/service:Service", "svc",
          {"networkConfiguration": {"subnets": [UNKNOWN] * 3, "securityGroups": [UNKNOWN]},
           "cluster": UNKNOWN, "enableExecuteCommand": True, "desiredCount": 3},
          networkConfiguration=[*private, "app-sg"], cluster="cluster")
    b.add("aws:appautoscaling/target:Target", "svc-scaling",
          {"scalableDimension": "ecs:service:DesiredCount", "serviceNamespace": "ecs",
           "resourceId": UNKNOWN, "minCapacity": 3, "maxCapacity": 9},
          resourceId=["cluster", "svc"])
    b.add("aws:appautoscaling/policy:Policy", "svc-scale-cpu",
          {"policyType": "TargetTrackingScaling", "resourceId": UNKNOWN},
          resourceId="svc-scaling")
    b.add("aws:ecr/repository:Repository", "repo", {"name": "orders",
                                                     "imageScanningConfiguration": {
                                                         "scanOnPush": True}})
    b.add("aws:ec2/instance:Instance", "worker", {"subnetId": UNKNOWN}, subnetId="private-a")
    b.add("aws:secretsmanager/secret:Secret", "api-key", {"kmsKeyId": UNKNOWN})
    b.add("aws:secretsmanager/secretRotation:SecretRotation", "api-key-rotation",
          {"secretId": UNKNOWN, "rotationRules": {"automaticallyAfterDays": 30}},
          secretId="api-key")
    b.add("aws:eks/nodeGroup:NodeGroup", "nodes",
          {"subnetIds": [UNKNOWN] * 3, "scalingConfig": {"minSize": 3, "maxSize": 6,
                                                          "desiredSize": 3}},
          subnetIds=private)
    b.add("kubernetes:apps/v1:Deployment", "web",
          {"metadata": {"namespace": "orders"},
           "spec": {"replicas": 3, "template": {
               "metadata": {"labels": {"app": "web"}},
               "spec": {"topologySpreadConstraints": [{
                   "maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
                   "whenUnsatisfiable": "DoNotSchedule",
                   "labelSelector": {"matchLabels": {"app": "web"}}}]}}}})
    b.add("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "web-hpa",
          {"metadata": {"namespace": "orders"},
           "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                       "name": UNKNOWN}, "minReplicas": 3, "maxReplicas": 9}},
          spec="web")
    b.add("kubernetes:policy/v1:PodDisruptionBudget", "web-pdb",
          {"metadata": {"namespace": "orders"},
           "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "web"}}}})
    b.add("aws:iam/role:Role", "task-role", {})
    b.add("aws:iam/role:Role", "exec-role", {})
    b.add("aws:ecs/taskDefinition:TaskDefinition", "task",
          {"taskRoleArn": UNKNOWN, "executionRoleArn": UNKNOWN},
          taskRoleArn="task-role", executionRoleArn="exec-role")
    b.add("aws:signer/signingProfile:SigningProfile", "signer",
          {"platformId": "AWSLambda-SHA384-ECDSA"})
    b.add(CSC, "csc", {"allowedPublishers": {"signingProfileVersionArns": [UNKNOWN]},
                       "policies": {"untrustedArtifactOnDeployment": "Enforce"}},
          allowedPublishers="signer")
    b.add("aws:lambda/function:Function", "fn",
          {"vpcConfig": {"subnetIds": [UNKNOWN] * 3, "securityGroupIds": [UNKNOWN]},
           "codeSigningConfigArn": UNKNOWN},
          vpcConfig=[*private, "app-sg"], codeSigningConfigArn="csc")
    b.add("aws:sqs/queue:Queue", "fn-dlq", {})
    # A subscription queue naming its dead-letter queue by a known ARN (no dependency).
    b.add("aws:sqs/queue:Queue", "orders-q", {"name": "prod-orders", "redrivePolicy": (
        '{"deadLetterTargetArn": "arn:aws:sqs:eu-west-1:123456789012:prod-orders-dlq", '
        '"maxReceiveCount": 5}')})
    b.add("aws:sqs/queue:Queue", "orders-dlq",
          {"name": "prod-orders-dlq", "messageRetentionSeconds": 1209600})
    b.add("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig", "fn-invoke",
          {"functionName": UNKNOWN, "destinationConfig": {"onFailure": {"destination": UNKNOWN}}},
          functionName="fn", destinationConfig="fn-dlq")
    b.add("aws:rds/subnetGroup:SubnetGroup", "db-subnets", {"subnetIds": [UNKNOWN] * 3},
          subnetIds=private)
    b.add("aws:elasticache/subnetGroup:SubnetGroup", "cache-subnets",
          {"subnetIds": [UNKNOWN] * 3}, subnetIds=private)
    b.add("aws:rds/cluster:Cluster", "db", {"engine": "aurora-postgresql"},
          dbSubnetGroupName="db-subnets")
    b.add("aws:iam/role:Role", "db-monitoring", {"assumeRolePolicy": doc(
        {"Effect": "Allow", "Principal": {"Service": "monitoring.rds.amazonaws.com"},
         "Action": "sts:AssumeRole",
         "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}}})})
    for i, z in ((1, "a"), (2, "b")):
        b.add("aws:rds/clusterInstance:ClusterInstance", f"db-{i}",
              {"clusterIdentifier": UNKNOWN, "engine": "aurora-postgresql",
               "monitoringInterval": 60, "monitoringRoleArn": UNKNOWN,
               "availabilityZone": f"eu-west-1{z}"},
              clusterIdentifier="db", monitoringRoleArn="db-monitoring")
    b.add("aws:rds/instance:Instance", "reporting",
          {"engine": "postgres", "multiAz": True, "monitoringInterval": 15,
           "monitoringRoleArn": "arn:aws:iam::123456789012:role/rds-monitoring"})
    b.add("aws:apigateway/stage:Stage", "stage", {"stageName": "v1"})
    b.add("aws:apigateway/methodSettings:MethodSettings", "stage-settings",
          {"methodPath": "*/*", "stageName": UNKNOWN,
           "settings": {"throttlingBurstLimit": 100, "throttlingRateLimit": 50}},
          stageName="stage")
    b.add("aws:wafv2/webAclAssociation:WebAclAssociation", "stage-waf",
          {"resourceArn": UNKNOWN}, resourceArn="stage", webAclArn="acl")
    b.add("aws:apigatewayv2/api:Api", "http-api", {"protocolType": "HTTP"})
    b.add("aws:apigatewayv2/route:Route", "http-route", {"apiId": UNKNOWN,
                                                        "routeKey": "GET /orders"},
          apiId="http-api")
    b.add("aws:apigatewayv2/stage:Stage", "http-stage",
          {"apiId": UNKNOWN, "defaultRouteSettings": {"throttlingBurstLimit": 100,
                                                      "throttlingRateLimit": 50}},
          apiId="http-api")
    b.add("aws:s3/bucket:Bucket", "logs", {"bucket": "logs"})
    b.add("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "logs-pab",
          {"blockPublicAcls": True, "blockPublicPolicy": True, "ignorePublicAcls": True,
           "restrictPublicBuckets": True}, bucket="logs")
    b.add("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
          "logs-sse", {"rules": [{"applyServerSideEncryptionByDefault":
                                  {"sseAlgorithm": "AES256"}}]}, bucket="logs")
    b.add("aws:s3/bucketVersioning:BucketVersioning", "logs-versioning",
          {"versioningConfiguration": {"status": "Enabled"}}, bucket="logs")
    b.add("aws:s3/bucketPolicy:BucketPolicy", "logs-policy", {"policy": doc(TLS_DENY)},
          bucket="logs")
    # The stack's one bucket logs to an organisation-wide log bucket outside the stack.
    b.add(LOGGING, "logs-access", {"bucket": UNKNOWN, "targetBucket": "org-access-logs",
                                   "targetPrefix": "s3/logs/"}, bucket="logs")
    b.add(OWNERSHIP, "logs-ownership", {"bucket": UNKNOWN,
                                        "rule": {"objectOwnership": "BucketOwnerEnforced"}},
          bucket="logs")
    b.add(LIFECYCLE, "logs-lifecycle", {"bucket": UNKNOWN, "rules": [
        {"id": "expire", "status": "Enabled", "filter": {"prefix": ""},
         "abortIncompleteMultipartUpload": {"daysAfterInitiation": 7},
         "expiration": {"days": 365}}]}, bucket="logs")
    b.add("aws:ecr/lifecyclePolicy:LifecyclePolicy", "repo-lifecycle",
          {"repository": UNKNOWN, "policy": ECR_LIFECYCLE}, repository="repo")
    b.add("aws:ec2/internetGateway:InternetGateway", "igw", {"vpcId": UNKNOWN}, vpcId="vpc")
    b.add(SG, "endpoint-sg", {"description": "endpoints"}, vpcId="vpc")
    b.add(ENDPOINT, "s3-endpoint", {"vpcEndpointType": "Gateway", "vpcId": UNKNOWN,
                                    "serviceName": "com.amazonaws.eu-west-1.s3",
                                    "policy": PERIMETER}, vpcId="vpc")
    b.add(ENDPOINT, "ecr-endpoint", {"vpcEndpointType": "Interface", "vpcId": UNKNOWN,
                                     "serviceName": "com.amazonaws.eu-west-1.ecr.api",
                                     "privateDnsEnabled": True, "subnetIds": [UNKNOWN] * 3,
                                     "securityGroupIds": [UNKNOWN]},
          vpcId="vpc", subnetIds=private, securityGroupIds="endpoint-sg")
    b.add("aws:ec2/vpcEndpointPolicy:VpcEndpointPolicy", "ecr-endpoint-policy",
          {"vpcEndpointId": UNKNOWN, "policy": PERIMETER}, vpcEndpointId="ecr-endpoint")
    b.add(CACHE_USER, "cache-default", {"userId": "orders-default", "userName": "default",
                                        "accessString": "off -@all",
                                        "authenticationMode": {"type": "iam"}})
    b.add(CACHE_USER, "cache-app", {"userId": "orders-app", "userName": "orders-app",
                                    "authenticationMode": {"type": "iam"}})
    b.add(CACHE_USERS, "cache-users", {"userIds": ["orders-default", "orders-app"]},
          userIds=["cache-default", "cache-app"])
    b.add("aws:kms/key:Key", "key", {"enableKeyRotation": True})
    b.add(ALIAS, "key-alias", {"name": "alias/prod-key", "targetKeyId": UNKNOWN},
          targetKeyId="key")
    b.add(NAMESPACE, "orders-ns", {"metadata": {"name": "orders", "labels": {
        "pod-security.kubernetes.io/enforce": "restricted"}}})
    b.add(NETWORK_POLICY, "orders-deny", {"metadata": {"namespace": "orders"}, "spec": {
        "podSelector": {}, "policyTypes": ["Ingress", "Egress"]}})
    b.add("aws:lb/targetGroup:TargetGroup", "web-tg", {"protocol": "HTTPS", "port": 8443})
    b.add(BINDING, "web-binding", {"metadata": {"namespace": "orders"}, "spec": {
        "targetGroupARN": UNKNOWN, "serviceRef": {"name": "web", "port": 443}}}, spec="web-tg")
    b.add("aws:iam/role:Role", "web-pod-role", {"assumeRolePolicy": doc(
        {"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"},
         "Action": ["sts:AssumeRole", "sts:TagSession"]})})
    b.add(POD_IDENTITY, "web-pod-identity", {"roleArn": UNKNOWN, "namespace": "orders",
                                             "serviceAccount": "web"}, roleArn="web-pod-role")
    return b


PROD = {"minAzCount": 3}
RESOURCES = len(compliant().resources())
PROD_AZ_LOSS = {"minSurvivingTasks": 2, "minSurvivingPercent": 66}
AZ_LOSS = "availability-zone-loss"


def _set(name: str, /, **props: Any) -> Callable[[StackBuilder], None]:
    def mutate(b: StackBuilder) -> None:
        b.by_name[name].props.update(props)
    return mutate


def _link(name: str, prop: str, targets: list[str]) -> Callable[[StackBuilder], None]:
    def mutate(b: StackBuilder) -> None:
        b.links[name][prop] = targets
    return mutate


def _both(*steps: Callable[[StackBuilder], None]) -> Callable[[StackBuilder], None]:
    def mutate(b: StackBuilder) -> None:
        for step in steps:
            step(b)
    return mutate


def _add(type_: str, name: str, props: dict[str, Any], **deps: Any
         ) -> Callable[[StackBuilder], None]:
    def mutate(b: StackBuilder) -> None:
        b.add(type_, name, props, **deps)
    return mutate


def _drop(*names: str) -> Callable[[StackBuilder], None]:
    def mutate(b: StackBuilder) -> None:
        for n in names:
            b.remove(n)
    return mutate


def _rules(count: int) -> Callable[[StackBuilder], None]:
    """An HTTPS listener on the load balancer with ``count`` listener rules."""
    def mutate(b: StackBuilder) -> None:
        b.add("aws:lb/listener:Listener", "alb-https", {"protocol": "HTTPS", "port": 443},
              loadBalancerArn="alb")
        for i in range(count):
            b.add("aws:lb/listenerRule:ListenerRule", f"rule-{i}", {"priority": i + 1},
                  listenerArn="alb-https")
    return mutate


def _excepted(policy: str, resource: str) -> Callable[[StackBuilder], None]:
    """The pack was configured with one exception for ``policy``."""
    def mutate(b: StackBuilder) -> None:
        set_configured_exceptions({policy: [
            PolicyException(resource, "a reason long enough", dt.date(2999, 12, 31))]})
    return mutate


# (policy, mutation, config, exact (resource name, message) findings)
CASES: list[tuple[str, Callable[[StackBuilder], None], dict[str, Any] | None,
                  list[tuple[str, str]]]] = [
    ("multi-az-footprint", _link("svc", "networkConfiguration", ["private-a", "private-b"]), PROD,
     [("svc", "networkConfiguration spans 2 availability zone(s) (eu-west-1a, eu-west-1b); "
              "at least 3 are required")]),
    ("multi-az-footprint", _link("db-subnets", "subnetIds", ["private-a"]), None,
     [("db-subnets", "subnetIds spans 1 availability zone(s) (eu-west-1a); at least 2 are "
                     "required")]),
    ("multi-az-footprint", _set("private-c", availabilityZone=UNKNOWN), None,
     [(n, f"availabilityZone of subnet private-c {UNK} {p} spans 2 availability zones")
      for n, p in (("svc", "networkConfiguration"), ("nodes", "subnetIds"), ("fn", "vpcConfig"),
                   ("db-subnets", "subnetIds"), ("cache-subnets", "subnetIds"),
                   ("ecr-endpoint", "subnetIds"))]),
    ("multi-az-footprint", _both(_link("alb", "subnets", []), _set("alb", subnets=["subnet-0", "subnet-1"])),
     None,
     [("alb", "subnets names subnets that are not resources of this stack; cannot prove it "
              "spans 2 availability zones")]),
    ("multi-az-footprint", _both(_link("alb", "subnets", []), _set("alb", subnets=UNKNOWN)),
     None,
     [("alb", f"subnets {UNK} subnets spans 2 availability zones")]),
    ("multi-az-footprint", _both(_link("fn", "vpcConfig", []),
                                 _set("fn", vpcConfig={"subnetIds": [], "securityGroupIds": []})),
     None, []),
    ("nat-gateway-per-az", _link("private-rt-c-default", "natGatewayId", ["nat-a"]), None,
     [("private-rt-c", "serves subnets in eu-west-1c but its default route uses NAT gateway "
                       "nat-a in eu-west-1a; each availability zone needs its own NAT gateway")]),
    ("nat-gateway-per-az", _link("private-rt-b-default", "natGatewayId", []), None,
     [("private-rt-b", "default route goes through a NAT gateway that is not a resource of "
                       "this stack; cannot prove it is in the subnets' availability zone")]),
    (AZ_LOSS, _both(_set("svc", desiredCount=2), _set("svc-scaling", minCapacity=2)),
     PROD_AZ_LOSS,
     [("svc", "losing eu-west-1a, eu-west-1b or eu-west-1c leaves 1 of 2 tasks running, below "
              "the minimum of 2 (autoscaling minimum 2)")]),
    # Staging's settings: two tasks over two zones keep one, half the floor.
    (AZ_LOSS, _both(_set("svc", desiredCount=2), _set("svc-scaling", minCapacity=2),
                    _link("svc", "networkConfiguration", ["private-a", "private-b"])), None, []),
    (AZ_LOSS, _set("svc", orderedPlacementStrategies=[{"type": "binpack", "field": "memory"}]),
     None,
     [("svc", "losing eu-west-1a, eu-west-1b or eu-west-1c leaves 0 of 3 tasks running, below "
              "the minimum of 2 (autoscaling minimum 3)")]),
    (AZ_LOSS, _set("svc", desiredCount=UNKNOWN), None,
     [("svc", "desiredCount is unknown at preview; cannot prove the service survives the loss "
              "of one availability zone")]),
    (AZ_LOSS, _both(_link("private-rt-b-default", "natGatewayId", ["nat-a"]),
                    _link("private-rt-c-default", "natGatewayId", ["nat-a"])), None,
     [("nat-a", "losing eu-west-1a cuts internet egress for private subnet(s) private-b, "
                "private-c (used by fn, svc): NAT gateway nat-a in eu-west-1a is their single "
                "point of failure")]),
    (AZ_LOSS, _drop("db-2"), None,
     [("db", "losing eu-west-1a leaves the database no instance to fail over to: the writer "
             "is down until RDS replaces it (no data lost: Aurora storage spans 3 zones)")]),
    (AZ_LOSS, _set("db-2", availabilityZone=None), None,
     [("db", "losing eu-west-1a may take every instance: RDS places instances without an "
             "availabilityZone (db-2) in any zone; pin instances to different zones")]),
    (AZ_LOSS, _set("reporting", multiAz=False, availabilityZone="eu-west-1b"), None,
     [("reporting", "losing eu-west-1b takes the single-AZ database: it is down and writes "
                    "since the last backup may be lost; set multiAz: true")]),
    (AZ_LOSS, lambda b: b.add("aws:elasticache/replicationGroup:ReplicationGroup", "cache",
                              {"numCacheClusters": 1, "automaticFailoverEnabled": False},
                              subnetGroupName="cache-subnets"), None,
     [("cache", "losing eu-west-1a, eu-west-1b or eu-west-1c may take the cache's primary with "
                "no replica in another zone to promote: its data since the last snapshot is "
                "lost; add a replica and enable automaticFailoverEnabled and multiAzEnabled")]),
    (AZ_LOSS, _link("fn", "vpcConfig", ["private-a", "app-sg"]), None,
     [("fn", "losing eu-west-1a leaves the function no subnet to run in")]),
    ("vpc-flow-logs-enabled", _drop("vpc-flow"), None, [("vpc", "VPC has no flow log")]),
    ("vpc-flow-logs-enabled", _set("vpc-flow", trafficType="REJECT"), None,
     [("vpc-flow", "flow log captures REJECT traffic; capture ALL")]),
    ("default-security-group-closed", _drop("vpc-default"), None,
     [("vpc", "the default security group is not adopted; manage it with "
              "aws.ec2.DefaultSecurityGroup and no rules")]),
    ("default-security-group-closed",
     _set("vpc-default", ingress=[{"protocol": "-1", "fromPort": 0, "toPort": 0, "self": True}]),
     None, [("vpc-default", "default security group has ingress rules; remove them")]),
    ("security-group-no-public-ingress",
     _set("app-sg-from-alb", cidrIpv4="0.0.0.0/0", referencedSecurityGroupId=None), None,
     [("app-sg-from-alb", "ingress rule admits 0.0.0.0/0 on port 8080; only ports 80 and 443 "
                          "on a security group used only by application load balancers may be "
                          "open to the internet")]),
    ("security-group-no-public-ingress", _set("alb-sg-https", fromPort=22, toPort=22), None,
     [("alb-sg-https", f"ingress rule admits 0.0.0.0/0 on port 22; {ONLY_ALBS}")]),
    ("security-group-no-public-ingress",
     _set("app-sg", ingress=[{"protocol": "-1", "fromPort": 0, "toPort": 0,
                              "ipv6CidrBlocks": ["::/0"]}]), None,
     [("app-sg", f"ingress[0] admits ::/0 on all ports; {ONLY_ALBS}")]),
    ("security-group-no-public-ingress", _link("alb", "securityGroups", []), None,
     [("alb-sg-https", f"ingress rule admits 0.0.0.0/0 on port 443; {ONLY_ALBS}")]),
    # the load balancer's group also on the tasks: the tasks are open to the internet too
    ("security-group-no-public-ingress",
     _link("svc", "networkConfiguration", [f"private-{z}" for z in ZONES] + ["alb-sg"]), None,
     [("alb-sg-https", f"ingress rule admits 0.0.0.0/0 on port 443; {ONLY_ALBS}")]),
    ("multi-az-footprint", _both(_link("db-subnets", "subnetIds", []),
                                 _set("db-subnets", subnetIds=["subnet-0"])), None,
     [("db-subnets", "subnetIds lists 1 subnet(s), so it spans at most 1 availability zone(s); "
                     "at least 2 are required")]),
    ("ec2-no-public-ip", _set("worker", associatePublicIpAddress=True), None,
     [("worker", "associatePublicIpAddress is true")]),
    ("ec2-no-public-ip", _set("private-a", mapPublicIpOnLaunch=True), None,
     [("worker", "subnet private-a assigns public IPs on launch and associatePublicIpAddress "
                 "is not false")]),
    ("ec2-no-public-ip", _both(_set("private-a", mapPublicIpOnLaunch=True),
                               _set("worker", associatePublicIpAddress=False)), None, []),
    ("ec2-no-public-ip", _both(_link("worker", "subnetId", []), _set("worker", subnetId=None)),
     None, [("worker", "no subnetId: the instance launches in the default VPC, whose subnets "
                       "assign public IPs")]),
    ("ecs-exec-logging-encrypted", _set("cluster", configuration={}), None,
     [("cluster", "executeCommandConfiguration.kmsKeyId is not set (service svc enables ECS "
                  "Exec)"),
      ("cluster", "executeCommandConfiguration.logging is DEFAULT; use OVERRIDE with an "
                  "encrypted log group (service svc enables ECS Exec)")]),
    ("ecs-exec-logging-encrypted", _both(_set("cluster", configuration={}),
                                         _set("svc", enableExecuteCommand=False)), None, []),
    ("ecs-exec-logging-encrypted", _link("svc", "cluster", []), None,
     [("svc", "enableExecuteCommand is on and the cluster is not a resource of this stack; "
              "cannot prove Exec sessions are encrypted and logged")]),
    ("ecs-service-autoscaling", _drop("svc-scale-cpu", "svc-scaling"), None,
     [("svc", "no Application Auto Scaling target scales this service")]),
    ("ecs-service-autoscaling", _set("svc-scaling", minCapacity=1), None,
     [("svc-scaling", "minCapacity is 1; at least 2 required")]),
    ("ecs-service-autoscaling", _drop("svc-scale-cpu"), None,
     [("svc-scaling", "the scaling target has no scaling policy")]),
    ("ecr-scan-on-push", _set("repo", imageScanningConfiguration={"scanOnPush": False}), None,
     [("repo", "imageScanningConfiguration.scanOnPush is not true and no registry scanning "
               "rule covers the repository")]),
    ("ecr-scan-on-push", _set("repo", imageScanningConfiguration={"scanOnPush": UNKNOWN}), None,
     [("repo", f"imageScanningConfiguration.scanOnPush {UNK} images are scanned on push")]),
    ("ecr-scan-on-push", _both(
        _set("repo", imageScanningConfiguration={"scanOnPush": False}),
        _add("aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration", "registry",
             {"scanType": "ENHANCED", "rules": [{"scanFrequency": "CONTINUOUS_SCAN",
                                                 "repositoryFilters": [
                                                     {"filter": "ord*",
                                                      "filterType": "WILDCARD"}]}]})),
     None, []),
    ("secretsmanager-rotation", _drop("api-key-rotation"), None,
     [("api-key", "secret has no rotation schedule")]),
    ("k8s-workload-autoscaling", _drop("web-hpa"), None,
     [("web", "no HorizontalPodAutoscaler targets this workload")]),
    ("k8s-workload-autoscaling",
     _set("web-hpa", spec={"scaleTargetRef": {"kind": "Deployment", "name": UNKNOWN},
                           "minReplicas": 1}), None,
     [("web-hpa", "spec.minReplicas is 1; at least 2 required")]),
    ("k8s-workload-disruption-budget", _drop("web-pdb"), None,
     [("web", "no PodDisruptionBudget selects this workload's pods")]),
    ("k8s-workload-disruption-budget",
     _both(_drop("web-pdb"), _set("web", spec={"replicas": 1})), None, []),
    ("security-group-no-public-ingress", _set("alb-sg-https", cidrIpv4=UNKNOWN), None,
     [("alb-sg-https", f"ingress rule CIDR {UNK} it is not open to the internet")]),
    ("alb-waf-attached", _drop("alb-waf"), None,
     [("alb", "internet-facing load balancer has no WAF web ACL association")]),
    ("ecs-task-role-separate", _link("task", "executionRoleArn", ["task-role"]), None,
     [("task", "taskRoleArn and executionRoleArn are the same role")]),
    ("lambda-failure-destination", _drop("fn-invoke"), None,
     [("fn", "function has neither a dead-letter queue nor an on-failure destination")]),
    # called only by API Gateway: the caller gets the error, nothing to keep
    ("lambda-failure-destination", _both(_drop("fn-invoke"), _add(
        "aws:lambda/permission:Permission", "fn-api", {
            "function": UNKNOWN, "principal": "apigateway.amazonaws.com",
            "sourceArn": UNKNOWN}, function="fn")), None, []),
    ("lambda-failure-destination", _both(_drop("fn-invoke"), _add(
        "aws:lambda/permission:Permission", "fn-api", {
            "function": UNKNOWN, "principal": "apigateway.amazonaws.com"}, function="fn"),
        _add("aws:lambda/permission:Permission", "fn-events", {
            "function": UNKNOWN, "principal": "events.amazonaws.com"}, function="fn")), None,
     [("fn", "function has neither a dead-letter queue nor an on-failure destination")]),
    ("apigateway-http-throttling", _set("http-stage", defaultRouteSettings=None), None,
     [("http-stage", "defaultRouteSettings.throttlingBurstLimit is not set"),
      ("http-stage", "defaultRouteSettings.throttlingRateLimit is not set")]),
    # every route of the API throttled by its own settings
    ("apigateway-http-throttling", _set("http-stage", defaultRouteSettings=None, routeSettings=[
        {"routeKey": "GET /orders", "throttlingBurstLimit": 1, "throttlingRateLimit": 0.5}]),
     None, []),
    ("apigateway-http-throttling", _both(
        _set("http-stage", defaultRouteSettings=None, routeSettings=[
            {"routeKey": "GET /orders", "throttlingBurstLimit": 1, "throttlingRateLimit": 0.5}]),
        _add("aws:apigatewayv2/route:Route", "http-route-2",
             {"apiId": UNKNOWN, "routeKey": "POST /orders"}, apiId="http-api")), None,
     [("http-stage", "defaultRouteSettings.throttlingBurstLimit is not set"),
      ("http-stage", "defaultRouteSettings.throttlingRateLimit is not set")]),
    ("apigateway-rest-throttling", _drop("stage-settings"), None,
     [("stage", "stage has no '*/*' method settings with throttling limits")]),
    ("apigateway-rest-throttling", _set("stage-settings", settings={"throttlingBurstLimit": 5}),
     None, [("stage-settings", "settings.throttlingRateLimit is not set")]),
    ("apigateway-rest-waf", _drop("stage-waf"), None,
     [("stage", "stage has no WAF web ACL association")]),
    ("rds-multi-az", _drop("db-2"), None,
     [("db", "cluster has 1 instance(s); at least 2 are required")]),
    ("rds-multi-az", _set("reporting", multiAz=False), None,
     [("reporting", "multiAz is not true")]),
    ("s3-public-access-block", _set("logs-pab", restrictPublicBuckets=False), None,
     [("logs-pab", "restrictPublicBuckets is not true")]),
    ("s3-public-access-block", _drop("logs-pab"), None,
     [("logs", "bucket has no public access block")]),
    ("s3-encryption", _drop("logs-sse"), None,
     [("logs", "bucket has no default encryption configuration")]),
    ("s3-encryption", _set("logs-sse", rules=[{"bucketKeyEnabled": True}]), None,
     [("logs-sse", "no rule sets sseAlgorithm aws:kms or AES256")]),
    ("s3-versioning", _set("logs-versioning", versioningConfiguration={"status": "Suspended"}),
     None, [("logs-versioning", "versioningConfiguration.status is Suspended; use Enabled")]),
    ("s3-versioning", _drop("logs-versioning"), None,
     [("logs", "bucket has no versioning configuration")]),
    ("s3-tls-only", _drop("logs-policy"), None,
     [("logs", "bucket has no bucket policy denying non-TLS requests")]),
    ("s3-tls-only", _set("logs-policy", policy=doc({"Effect": "Allow", "Principal": {"AWS": "x"},
                                                    "Action": "s3:GetObject"})), None,
     [("logs-policy", "policy does not deny requests with aws:SecureTransport false")]),
    ("s3-tls-only", _set("logs-policy", policy=UNKNOWN), None,
     [("logs-policy", f"policy {UNK} non-TLS requests are denied")]),
    ("sqs-queue-dlq", _set("orders-q", redrivePolicy=None), None,
     [(n, "queue has no dead-letter queue (redrivePolicy) and is no other resource's "
          "dead-letter queue: messages that keep failing are retried until they expire")
      for n in ("orders-q", "orders-dlq")]),
    ("sqs-queue-dlq", _drop("fn-invoke"), None,
     [("fn-dlq", "queue has no dead-letter queue (redrivePolicy) and is no other resource's "
                 "dead-letter queue: messages that keep failing are retried until they "
                 "expire")]),
    ("sqs-dlq-retention", _set("orders-dlq", messageRetentionSeconds=60.0), None,
     [("orders-dlq", "keeps messages 60 s but its source queue orders-q keeps them 345600 s")]),
    ("sqs-dlq-retention", _set("orders-q", messageRetentionSeconds=UNKNOWN), None,
     [("orders-dlq", f"messageRetentionSeconds {UNK} the dead-letter queue keeps messages "
                     "long enough")]),
    ("rds-enhanced-monitoring", _set("db-2", monitoringInterval=0), None,
     [("db-2", "monitoringInterval is 0 or not set; Enhanced Monitoring is off")]),
    ("rds-enhanced-monitoring", _set("reporting", monitoringInterval=None,
                                     monitoringRoleArn=None), None,
     [("reporting", "monitoringInterval is 0 or not set; Enhanced Monitoring is off")]),
    ("rds-enhanced-monitoring", _set("reporting", monitoringRoleArn=None), None,
     [("reporting", "monitoringRoleArn is not set; RDS needs a role to publish the metrics")]),
    ("rds-enhanced-monitoring", _link("db-1", "monitoringRoleArn", []), None,
     [("db-1", f"monitoringRoleArn {UNK} RDS can publish the metrics")]),
    ("rds-enhanced-monitoring", _set("db-1", monitoringInterval=UNKNOWN), None,
     [("db-1", f"monitoringInterval {UNK} Enhanced Monitoring is on")]),
    ("rds-enhanced-monitoring", _set("db-monitoring", assumeRolePolicy=doc(
        {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"},
         "Action": "sts:AssumeRole"})), None,
     [("db-monitoring", "monitoring role of db-1 does not trust monitoring.rds.amazonaws.com"),
      ("db-monitoring", "monitoring role of db-2 does not trust monitoring.rds.amazonaws.com")]),
    ("lambda-code-signing", _set("fn", codeSigningConfigArn=None), None,
     [("fn", "function has no code-signing configuration; Lambda deploys unsigned code")]),
    # Lambda code signing covers zip packages only; images are ECR's to scan.
    ("lambda-code-signing", _set("fn", packageType="Image", codeSigningConfigArn=None), None,
     []),
    ("lambda-code-signing", _link("fn", "codeSigningConfigArn", []), None,
     [("fn", f"codeSigningConfigArn {UNK} the function enforces code signing")]),
    ("lambda-code-signing", _set("csc", policies={"untrustedArtifactOnDeployment": "Warn"}),
     None, [("csc", "policies.untrustedArtifactOnDeployment is Warn; use Enforce so unsigned "
                    "or foreign code is refused")]),
    ("lambda-code-signing", _set("csc", policies=None, allowedPublishers=None), None,
     [("csc", "policies.untrustedArtifactOnDeployment is not set (Lambda then only warns); "
              "use Enforce so unsigned or foreign code is refused"),
      ("csc", "allowedPublishers names no signing profile version")]),
    ("s3-access-logging", _drop("logs-access"), None,
     [("logs", "bucket does not log its access (no aws.s3.BucketLogging)")]),
    ("s3-access-logging", _set("logs-access", targetBucket="logs"), None,
     [("logs-access", "bucket logs its access into itself; use the log bucket")]),
    ("s3-access-logging", _both(_set("logs-access", targetBucket=UNKNOWN),
                                _link("logs-access", "targetBucket", ["logs"])), None,
     [("logs-access", "bucket logs its access into itself; use the log bucket")]),
    ("s3-access-logging", _set("logs-access", targetBucket=UNKNOWN), None,
     [("logs-access", f"targetBucket {UNK} access logs reach a log bucket")]),
    ("s3-access-logging", _set("logs-access", targetBucket=None), None,
     [("logs-access", "targetBucket is not set")]),
    ("wafv2-web-acl-logging", _drop("acl-logs"), None,
     [("acl", "web ACL has no logging configuration")]),
    ("alb-rule-quota", _rules(101), None,
     [("alb", "101 listener rules exceed the quota of 100 rules per application load "
              "balancer: request a higher quota or spread the services over more load "
              "balancers")]),
    ("alb-rule-quota", _rules(3), {"maxRules": 2},
     [("alb", "3 listener rules exceed the quota of 2 rules per application load balancer: "
              "request a higher quota or spread the services over more load balancers")]),
    ("policy-exceptions-current", _excepted("s3-versioning", "old-logs"), None,
     [("(stack)", "s3-versioning: exception 'old-logs' matches no resource this policy checks "
                  "in the stack: remove it, or correct the name if the resource was renamed")]),
    # The name exists, but not among the resources the policy checks.
    ("policy-exceptions-current", _excepted("s3-versioning", "alb"), None,
     [("(stack)", "s3-versioning: exception 'alb' matches no resource this policy checks "
                  "in the stack: remove it, or correct the name if the resource was renamed")]),
    # --- s3 ownership and lifecycle, ecr lifecycle
    ("s3-acls-disabled", _drop("logs-ownership"), None,
     [("logs", "bucket has no ownership controls: ACLs stay enabled (objects are owned by "
               "whoever wrote them)")]),
    ("s3-acls-disabled", _set("logs-ownership", rule={"objectOwnership": "ObjectWriter"}), None,
     [("logs-ownership", "rule.objectOwnership is ObjectWriter; use BucketOwnerEnforced so ACLs "
                         "are disabled")]),
    ("s3-lifecycle-aborts-incomplete-uploads", _drop("logs-lifecycle"), None,
     [("logs", "bucket has no lifecycle configuration: incomplete multipart uploads are kept "
               "(and billed) forever")]),
    ("s3-lifecycle-aborts-incomplete-uploads", _set("logs-lifecycle", rules=[
        {"status": "Enabled", "filter": {"prefix": "tmp/"},
         "abortIncompleteMultipartUpload": {"daysAfterInitiation": 7}},
        {"status": "Disabled", "abortIncompleteMultipartUpload": {"daysAfterInitiation": 7}},
        {"status": "Enabled", "expiration": {"days": 30}}]), None,
     [("logs-lifecycle", "no Enabled rule for the whole bucket sets "
                         "abortIncompleteMultipartUpload.daysAfterInitiation")]),
    ("s3-lifecycle-aborts-incomplete-uploads", _set("logs-lifecycle", rules=[
        {"status": UNKNOWN, "abortIncompleteMultipartUpload": {"daysAfterInitiation": 7}}]),
     None, [("logs-lifecycle", f"rules {UNK} incomplete uploads are aborted")]),
    ("ecr-lifecycle-policy", _drop("repo-lifecycle"), None,
     [("repo", "repository has no lifecycle policy: images are kept forever")]),
    ("ecr-lifecycle-policy", _set("repo-lifecycle", policy=json.dumps({"rules": []})), None,
     [("repo-lifecycle", "policy has no rule whose action is expire")]),
    # --- vpc endpoints, elastic ips, internet gateways
    ("vpc-endpoint-policy-scoped", _both(_set("s3-endpoint", policy=None),
                                         _drop("ecr-endpoint-policy")), None,
     [(n, "endpoint has no policy: the default policy allows any principal every action on "
          "every resource through it") for n in ("s3-endpoint", "ecr-endpoint")]),
    ("vpc-endpoint-policy-scoped", _set("ecr-endpoint-policy", policy=doc(
        {**OPEN_STATEMENT, "Sid": "Everything"},
        {**OPEN_STATEMENT, "Action": "s3:GetObject",
         "Resource": "arn:aws:s3:::prod-eu-west-1-starport-layer-bucket/*"})), None,
     [("ecr-endpoint-policy", "policy: statement 'Everything' allows any principal every "
                              "action on every resource with no perimeter condition")]),
    ("vpc-endpoint-policy-scoped", _set("s3-endpoint", policy=UNKNOWN), None,
     [("s3-endpoint", f"policy {UNK} the endpoint is scoped")]),
    # An endpoint to another account's service takes no policy.
    ("vpc-endpoint-policy-scoped", _both(
        _set("ecr-endpoint", serviceName="com.example.vpce.eu-west-1.vpce-svc-1"),
        _drop("ecr-endpoint-policy")), None, []),
    ("ec2-eip-attached", _add("aws:ec2/eip:Eip", "spare-ip", {"domain": "vpc"}), None,
     [("spare-ip", "Elastic IP is attached to nothing in this stack (no instance, network "
                   "interface, association, NAT gateway or load balancer)")]),
    ("ec2-eip-attached", _add("aws:ec2/eip:Eip", "bastion-ip", {"instance": "i-0abc"}), None,
     []),
    ("internet-gateway-stack-vpc", _both(_link("igw", "vpcId", []),
                                         _set("igw", vpcId="vpc-0shared")), None,
     [("igw", "vpcId vpc-0shared is not a VPC of this stack: its subnets and routes to the "
              "internet are reviewed nowhere here")]),
    ("internet-gateway-stack-vpc", _both(
        _set("igw", vpcId=None), _link("igw", "vpcId", []),
        _add("aws:ec2/internetGatewayAttachment:InternetGatewayAttachment", "igw-attach",
             {"internetGatewayId": UNKNOWN, "vpcId": UNKNOWN}, internetGatewayId="igw")), None,
     [("igw-attach", f"vpcId {UNK} the internet gateway serves a VPC of this stack")]),
    ("internet-gateway-stack-vpc", _both(_set("igw", vpcId=None), _link("igw", "vpcId", [])),
     None, [("igw", "internet gateway is attached to no VPC of this stack")]),
    # --- elasticache user groups, kms aliases
    ("elasticache-user-group-no-open-user",
     _set("cache-users", userIds=["default", "orders-app", "shared-admin"]), None,
     [("cache-users", "userIds includes 'default', ElastiCache's built-in user that needs no "
                      "password and may run every command"),
      ("cache-users", "userIds names user shared-admin, which is not a user of this stack; "
                      "cannot prove it authenticates")]),
    ("kms-alias-own-key", _both(_link("key-alias", "targetKeyId", []),
                                _set("key-alias", name="alias/aws/s3", targetKeyId="k-1")),
     None,
     [("key-alias", "name alias/aws/s3 is in the alias/aws/ space AWS reserves for its "
                    "managed keys"),
      ("key-alias", "targetKeyId k-1 is not a key of this stack: its rotation and policy are "
                    "checked nowhere here")]),
    # --- kubernetes namespaces, target group bindings, pod identity
    ("k8s-namespace-default-deny", _drop("orders-deny"), None,
     [("orders-ns", "namespace orders runs workloads but has no default-deny NetworkPolicy "
                    "(podSelector {}, policyTypes Ingress and Egress, no rules)")]),
    ("k8s-namespace-default-deny", _both(_drop("orders-ns"), _set("orders-deny", spec={
        "podSelector": {}, "policyTypes": ["Ingress"]})), None,
     [("web", "namespace orders runs workloads but has no default-deny NetworkPolicy "
              "(podSelector {}, policyTypes Ingress and Egress, no rules)")]),
    ("k8s-namespace-default-deny", _set("orders-deny", spec={
        "podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Ingress", "Egress"]}),
     None, [("orders-ns", "namespace orders runs workloads but has no default-deny "
                          "NetworkPolicy (podSelector {}, policyTypes Ingress and Egress, no "
                          "rules)")]),
    ("k8s-namespace-default-deny", _set("web", metadata={"namespace": UNKNOWN}), None,
     [("web", f"metadata.namespace {UNK} its namespace denies traffic by default")]),
    ("k8s-namespace-default-deny", _set("orders-deny", spec=UNKNOWN), None,
     [("orders-ns", f"spec of a NetworkPolicy in namespace orders {UNK} the namespace denies "
                    "traffic by default")]),
    ("k8s-target-group-binding-https", _set("web-tg", protocol="HTTP"), None,
     [("web-binding", "target group web-tg uses HTTP: the load balancer reaches the pods in "
                      "plaintext")]),
    ("k8s-target-group-binding-https", _both(
        _link("web-binding", "spec", []),
        _set("web-binding", spec={"targetGroupARN": "arn:aws:elasticloadbalancing:eu-west-1:"
                                                    "123456789012:targetgroup/other/1"})), None,
     [("web-binding", "spec.targetGroupARN arn:aws:elasticloadbalancing:eu-west-1:"
                      "123456789012:targetgroup/other/1 is not a target group of this stack; "
                      "cannot prove pods are reached over HTTPS")]),
    ("eks-pod-identity-own-role", _set("web-pod-role", assumeRolePolicy=doc(
        {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"},
         "Action": "sts:AssumeRole"})), None,
     [("web-pod-identity", "role web-pod-role does not trust pods.eks.amazonaws.com: the pods "
                           "cannot assume it")]),
    ("eks-pod-identity-own-role", _both(
        _link("web-pod-identity", "roleArn", []),
        _set("web-pod-identity", roleArn="arn:aws:iam::123456789012:role/shared")), None,
     [("web-pod-identity", "roleArn arn:aws:iam::123456789012:role/shared is not a role of "
                           "this stack; cannot prove what the pods may do")]),
    ("eks-pod-identity-own-role", _link("web-pod-identity", "roleArn", []), None,
     [("web-pod-identity", f"roleArn {UNK} the pods' role is one of this stack")]),
    ("policy-exceptions-targeted", _excepted("s3-versioning", "[a-z]*[a-z0-9]"), None,
     [("(stack)", f"s3-versioning: exception '[a-z]*[a-z0-9]' matches all {RESOURCES} "
                  "resources of the stack: name the resources it is for")]),
]


def _findings(b: StackBuilder, name: str, config: dict[str, Any] | None) -> list[tuple[str, str]]:
    by_urn = {r.urn: r.name for r in b.resources()}
    return [(by_urn.get(u, "(stack)"), m) for u, m in evaluate_stack(name, b.resources(), config)]


def test_exceptions_that_match_some_resources_pass_both_audits() -> None:
    _excepted("s3-versioning", "logs")(compliant())
    assert _findings(compliant(), "policy-exceptions-current", None) == []
    assert _findings(compliant(), "policy-exceptions-targeted", None) == []


@pytest.mark.parametrize("name", STACK_POLICIES)
def test_compliant_stack_passes(name: str) -> None:
    assert _findings(compliant(), name, PROD if name == "multi-az-footprint" else None) == []


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_stack_mutation_fails_with_exact_findings(case: Any) -> None:
    name, mutate, config, expected = case
    b = compliant()
    mutate(b)
    assert _findings(b, name, config) == expected


def test_every_stack_policy_has_a_failing_case() -> None:
    assert sorted(set(STACK_POLICIES) - {c[0] for c in CASES}) == []
