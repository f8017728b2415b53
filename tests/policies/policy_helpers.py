"""Compliant resources and a compliant stack for the policy tests, and tiny builders."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

from policies.guardrails import Resource
from policies.guardrails.core import SECRET_SIGNATURE, SIGNATURE_KEY, plain

ACCT = "123456789012"
REGION = "eu-west-1"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCT}:key/data"
TABLE_ARN = f"arn:aws:dynamodb:{REGION}:{ACCT}:table/orders"
SECRET_ARN = f"arn:aws:secretsmanager:{REGION}:{ACCT}:secret:x"
IMAGE = f"{ACCT}.dkr.ecr.{REGION}.amazonaws.com/orders:1.4.2"

TRUST = {"Version": "2012-10-17", "Statement": [{
    "Sid": "AssumeRole", "Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"},
    "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"aws:SourceAccount": ACCT}}}]}
IDENTITY = {"Version": "2012-10-17", "Statement": [
    {"Sid": "ReadOrders", "Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:Query"],
     "Resource": [TABLE_ARN, f"{TABLE_ARN}/index/*"]},
    {"Sid": "PullToken", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken",
     "Resource": "*"}]}
TLS_DENY = {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*",
            "Action": "s3:*", "Resource": ["arn:aws:s3:::logs", "arn:aws:s3:::logs/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
CONTAINERS = [{
    "name": "app", "image": IMAGE, "user": "1000:1000", "readonlyRootFilesystem": True,
    "privileged": False, "essential": True,
    "healthCheck": {"command": ["CMD", "/app/healthcheck"], "interval": 15, "retries": 3},
    "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/svc/orders"}},
    "environment": [{"name": "LOG_LEVEL", "value": "info"},
                    {"name": "DB_SECRET_ARN",
                     "value": f"arn:aws:secretsmanager:{REGION}:{ACCT}:secret:db"}],
    "secrets": [{"name": "DB_PASSWORD",
                 "valueFrom": f"arn:aws:secretsmanager:{REGION}:{ACCT}:secret:db"}]}]


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def secret(value: Any) -> dict[str, Any]:
    """A value as the engine sends a secret."""
    return {SIGNATURE_KEY: SECRET_SIGNATURE, "value": value}


POD_SPEC = {
    "securityContext": {"runAsNonRoot": True, "runAsUser": 10001},
    "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
                                   "whenUnsatisfiable": "DoNotSchedule",
                                   "labelSelector": {"matchLabels": {"app": "web"}}}],
    "containers": [{
        "name": "web",
        "image": f"{ACCT}.dkr.ecr.{REGION}.amazonaws.com/web@sha256:" + "a" * 64,
        "ports": [{"containerPort": 8080}],
        "livenessProbe": {"httpGet": {"path": "/health/live", "port": 8080}},
        "readinessProbe": {"httpGet": {"path": "/health/ready", "port": 8080}},
        "resources": {"requests": {"cpu": "250m", "memory": "256Mi"},
                      "limits": {"memory": "256Mi"}},
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                            "capabilities": {"drop": ["ALL"]}}}],
}
OPENAPI = {"openapi": "3.0.1", "info": {"title": "orders", "version": "1"},
           "security": [{"sigv4": []}],
           "components": {"securitySchemes": {"sigv4": {
               "type": "apiKey", "name": "Authorization", "in": "header",
               "x-amazon-apigateway-authtype": "awsSigv4"}}},
           "paths": {"/orders": {"get": {"x-amazon-apigateway-integration": {"type": "aws_proxy"}},
                                 "options": {"security": []}}}}


BASELINES: dict[str, dict[str, Any]] = {
    "aws:ec2/subnet:Subnet": {"vpcId": "vpc-1", "availabilityZone": "eu-west-1a",
                              "cidrBlock": "10.0.0.0/24", "mapPublicIpOnLaunch": False},
    "aws:ec2/securityGroup:SecurityGroup": {"vpcId": "vpc-1", "description": "orders tasks"},
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": {
        "ipProtocol": "tcp", "fromPort": 8080, "toPort": 8080, "securityGroupId": "sg-app",
        "referencedSecurityGroupId": "sg-alb", "description": "from the load balancer"},
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": {
        "ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "securityGroupId": "sg-app",
        "cidrIpv4": "0.0.0.0/0", "description": "HTTPS to AWS APIs"},
    "aws:ec2/securityGroupRule:SecurityGroupRule": {
        "type": "ingress", "protocol": "tcp", "fromPort": 5432, "toPort": 5432,
        "securityGroupId": "sg-db", "sourceSecurityGroupId": "sg-app",
        "description": "PostgreSQL from the service"},
    "aws:lb/listener:Listener": {
        "loadBalancerArn": "arn:lb", "port": 443, "protocol": "HTTPS",
        "sslPolicy": "ELBSecurityPolicy-TLS13-1-2-2021-06", "certificateArn": "arn:cert",
        "defaultActions": [{"type": "forward", "targetGroupArn": "arn:tg"}]},
    "aws:lb/loadBalancer:LoadBalancer": {
        "loadBalancerType": "application", "internal": False, "dropInvalidHeaderFields": True,
        "desyncMitigationMode": "defensive", "enableDeletionProtection": True,
        "accessLogs": {"bucket": "logs", "enabled": True}},
    "aws:lb/targetGroup:TargetGroup": {
        "port": 8080, "protocol": "HTTPS", "targetType": "ip",
        "healthCheck": {"enabled": True, "protocol": "HTTPS", "path": "/healthz",
                        "matcher": "200-299"}},
    "aws:ecs/service:Service": {
        "networkConfiguration": {"subnets": ["subnet-a", "subnet-b"], "assignPublicIp": False},
        "deploymentCircuitBreaker": {"enable": True, "rollback": True}, "desiredCount": 3,
        "launchType": "FARGATE"},
    "aws:ecs/cluster:Cluster": {
        "settings": [{"name": "containerInsights", "value": "enabled"}],
        "configuration": {"executeCommandConfiguration": {
            "kmsKeyId": KEY_ARN, "logging": "OVERRIDE",
            "logConfiguration": {"cloudWatchLogGroupName": "/ecs/exec",
                                 "cloudWatchEncryptionEnabled": True}}}},
    "aws:ecs/taskDefinition:TaskDefinition": {
        "family": "orders", "networkMode": "awsvpc", "cpu": "256", "memory": "512",
        "requiresCompatibilities": ["FARGATE"], "containerDefinitions": json.dumps(CONTAINERS),
        "taskRoleArn": f"arn:aws:iam::{ACCT}:role/orders-task",
        "executionRoleArn": f"arn:aws:iam::{ACCT}:role/orders-exec"},
    "aws:ecr/repository:Repository": {"imageScanningConfiguration": {"scanOnPush": True},
                                      "imageTagMutability": "IMMUTABLE"},
    "aws:iam/role:Role": {"assumeRolePolicy": json.dumps(TRUST),
                          "inlinePolicies": [{"name": "orders", "policy": json.dumps(IDENTITY)}]},
    "aws:iam/rolePolicy:RolePolicy": {"role": "orders", "policy": json.dumps(IDENTITY)},
    "aws:iam/policy:Policy": {"policy": IDENTITY},
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": {
        "role": "orders-exec",
        "policyArn": "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"},
    "aws:ecr/repositoryPolicy:RepositoryPolicy": {"repository": "orders", "policy": doc(
        {"Sid": "DeployPull", "Effect": "Allow",
         "Principal": {"AWS": f"arn:aws:iam::{ACCT}:role/deploy"},
         "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]})},
    "aws:s3/bucketPolicy:BucketPolicy": {"bucket": "logs", "policy": doc(
        TLS_DENY,
        {"Sid": "ElbLogs", "Effect": "Allow",
         "Principal": {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"},
         "Action": "s3:PutObject", "Resource": "arn:aws:s3:::logs/*",
         "Condition": {"StringEquals": {"aws:SourceAccount": ACCT}}})},
    "aws:sns/topicPolicy:TopicPolicy": {"arn": "arn:topic", "policy": doc(
        {"Sid": "DenyInsecure", "Effect": "Deny", "Principal": "*", "Action": "sns:Publish",
         "Resource": "arn:topic", "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        {"Sid": "Events", "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
         "Action": "sns:Publish", "Resource": "arn:topic",
         "Condition": {"ArnLike": {"aws:SourceArn": f"arn:aws:events:{REGION}:{ACCT}:rule/x"}}})},
    "aws:sns/topic:Topic": {"kmsMasterKeyId": KEY_ARN},
    "aws:sns/topicSubscription:TopicSubscription": {
        "topic": "arn:aws:sns:eu-west-1:123456789012:prod-alerts", "protocol": "https",
        "endpoint": "https://hooks.example.com/alerts"},
    "aws:elasticache/user:User": {"userId": "prod-sessions-app", "userName": "prod-sessions-app",
                                  "engine": "valkey", "accessString": "on ~* &* +@all",
                                  "authenticationMode": {"type": "iam"}},
    "aws:sqs/queuePolicy:QueuePolicy": {"queueUrl": "https://q", "policy": doc(
        {"Sid": "TopicSend", "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
         "Action": "sqs:SendMessage", "Resource": "arn:queue",
         "Condition": {"ArnEquals": {"aws:SourceArn": "arn:topic"}}})},
    "aws:sqs/queue:Queue": {"kmsMasterKeyId": KEY_ARN},
    "aws:kms/key:Key": {"enableKeyRotation": True, "policy": doc(
        {"Sid": "Admin", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"},
         "Action": "kms:*", "Resource": "*"},
        {"Sid": "Logs", "Effect": "Allow",
         "Principal": {"Service": f"logs.{REGION}.amazonaws.com"},
         "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*",
         "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn":
                                   f"arn:aws:logs:{REGION}:{ACCT}:*"}}})},
    "aws:secretsmanager/secretPolicy:SecretPolicy": {"secretArn": "arn:secret", "policy": doc(
        {"Sid": "App", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:role/app"},
         "Action": "secretsmanager:GetSecretValue", "Resource": "*"})},
    "aws:secretsmanager/secret:Secret": {"kmsKeyId": KEY_ARN},
    "aws:ssm/parameter:Parameter": {"name": "/prod/orders-db-password", "type": "SecureString",
                                    "keyId": KEY_ARN, "value": "placeholder"},
    "aws:lambda/permission:Permission": {
        "action": "lambda:InvokeFunction", "function": "orders",
        "principal": "apigateway.amazonaws.com",
        "sourceArn": f"arn:aws:execute-api:{REGION}:{ACCT}:api/*/*"},
    "aws:lambda/function:Function": {
        "runtime": "python3.12", "handler": "app.handler", "role": "arn:role",
        "tracingConfig": {"mode": "Active"}, "reservedConcurrentExecutions": 10,
        "memorySize": 256, "timeout": 10,
        "environment": {"variables": {"TABLE_NAME": "orders",
                                      "SECRET_ARN": SECRET_ARN}}},
    "aws:apigateway/stage:Stage": {
        "restApi": "api", "deployment": "d1", "stageName": "v1", "xrayTracingEnabled": True,
        "accessLogSettings": {"destinationArn": "arn:logs",
                              "format": json.dumps({"requestId": "$context.requestId",
                                                    "status": "$context.status"})}},
    "aws:apigatewayv2/stage:Stage": {
        "apiId": "api", "name": "$default",
        "accessLogSettings": {"destinationArn": "arn:logs",
                              "format": json.dumps({"requestId": "$context.requestId"})},
        "defaultRouteSettings": {"throttlingBurstLimit": 100, "throttlingRateLimit": 50}},
    "aws:apigateway/method:Method": {"restApi": "api", "resourceId": "r", "httpMethod": "GET",
                                     "authorization": "AWS_IAM"},
    "aws:apigatewayv2/route:Route": {"apiId": "api", "routeKey": "GET /orders",
                                     "authorizationType": "JWT", "authorizerId": "auth"},
    "aws:apigateway/domainName:DomainName": {"domainName": "api.example.com",
                                             "securityPolicy": "TLS_1_2",
                                             "regionalCertificateArn": "arn:cert"},
    "aws:apigatewayv2/domainName:DomainName": {
        "domainName": "api.example.com",
        "domainNameConfiguration": {"certificateArn": "arn:cert", "endpointType": "REGIONAL",
                                    "securityPolicy": "TLS_1_2"}},
    "aws:dynamodb/table:Table": {
        "pointInTimeRecovery": {"enabled": True}, "deletionProtectionEnabled": True,
        "serverSideEncryption": {"enabled": True, "kmsKeyArn": KEY_ARN}},
    "aws:rds/cluster:Cluster": {
        "engine": "aurora-postgresql", "storageEncrypted": True, "kmsKeyId": KEY_ARN,
        "iamDatabaseAuthenticationEnabled": True, "backupRetentionPeriod": 14,
        "deletionProtection": True, "enabledCloudwatchLogsExports": ["postgresql"],
        "manageMasterUserPassword": True, "dbClusterParameterGroupName": "orders-aurora-pg16",
        "performanceInsightsEnabled": True, "performanceInsightsKmsKeyId": KEY_ARN},
    "aws:rds/instance:Instance": {
        "engine": "postgres", "instanceClass": "db.t4g.micro", "multiAz": True,
        "storageEncrypted": True, "iamDatabaseAuthenticationEnabled": True,
        "backupRetentionPeriod": 14, "deletionProtection": True, "publiclyAccessible": False,
        "enabledCloudwatchLogsExports": ["postgresql"], "manageMasterUserPassword": True,
        "parameterGroupName": "orders-pg16", "autoMinorVersionUpgrade": True},
    "aws:rds/clusterInstance:ClusterInstance": {
        "clusterIdentifier": "orders", "engine": "aurora-postgresql",
        "instanceClass": "db.r6g.large", "publiclyAccessible": False,
        "performanceInsightsEnabled": True, "performanceInsightsKmsKeyId": KEY_ARN},
    "aws:rds/parameterGroup:ParameterGroup": {
        "family": "postgres16", "parameters": [
            {"name": "rds.force_ssl", "value": "1"}, {"name": "log_statement", "value": "ddl"},
            {"name": "log_min_duration_statement", "value": "1000"},
            {"name": "log_connections", "value": "1"}]},
    "aws:rds/clusterParameterGroup:ClusterParameterGroup": {
        "family": "aurora-mysql8.0",
        "parameters": [{"name": "require_secure_transport", "value": "ON"}]},
    "aws:elasticache/replicationGroup:ReplicationGroup": {
        "description": "sessions", "atRestEncryptionEnabled": True, "kmsKeyId": KEY_ARN,
        "transitEncryptionEnabled": True, "automaticFailoverEnabled": True,
        "multiAzEnabled": True, "userGroupIds": ["sessions"], "snapshotRetentionLimit": 14,
        "numCacheClusters": 3},
    "aws:elasticache/cluster:Cluster": {"engine": "memcached", "transitEncryptionEnabled": True},
    "aws:cloudwatch/logGroup:LogGroup": {"retentionInDays": 365, "kmsKeyId": KEY_ARN},
    "aws:cloudwatch/metricAlarm:MetricAlarm": {"alarmActions": ["arn:topic"],
                                                "actionsEnabled": True},
    "aws:codebuild/project:Project": {
        "environment": {"computeType": "BUILD_GENERAL1_SMALL",
                        "image": "aws/codebuild/standard:7.0", "type": "LINUX_CONTAINER",
                        "privilegedMode": False,
                        "environmentVariables": [
                            {"name": "STAGE", "value": "prod", "type": "PLAINTEXT"},
                            {"name": "DB_PASSWORD", "value": "prod/db",
                             "type": "SECRETS_MANAGER"}]},
        "logsConfig": {"cloudwatchLogs": {"status": "ENABLED", "groupName": "/codebuild/app"}},
        "buildTimeout": 30, "encryptionKey": KEY_ARN, "artifacts": {"type": "CODEPIPELINE"},
        "source": {"type": "CODEPIPELINE"}},
    "aws:codepipeline/pipeline:Pipeline": {
        "artifactStores": [{"location": "artifacts", "type": "S3",
                            "encryptionKey": {"id": KEY_ARN, "type": "KMS"}}]},
    "aws:wafv2/webAcl:WebAcl": {
        "rules": [{"name": "common", "priority": 1}],
        "visibilityConfig": {"cloudwatchMetricsEnabled": True, "metricName": "acl",
                             "sampledRequestsEnabled": True}},
    "aws:cloudwatch/eventBus:EventBus": {"name": "prod-events", "kmsKeyIdentifier": KEY_ARN},
    "aws:cloudwatch/eventArchive:EventArchive": {
        "eventSourceArn": f"arn:aws:events:{REGION}:{ACCT}:event-bus/prod-events",
        "retentionDays": 30, "kmsKeyIdentifier": KEY_ARN},
    "aws:cloudwatch/eventTarget:EventTarget": {
        "rule": "prod-events-order-paid", "eventBusName": "prod-events", "targetId": "fulfil",
        "arn": f"arn:aws:states:{REGION}:{ACCT}:stateMachine:prod-fulfilment",
        "deadLetterConfig": {"arn": f"arn:aws:sqs:{REGION}:{ACCT}:prod-events-dlq"},
        "retryPolicy": {"maximumRetryAttempts": 24, "maximumEventAgeInSeconds": 3600}},
    "aws:cloudwatch/eventBusPolicy:EventBusPolicy": {"eventBusName": "prod-events", "policy": doc(
        {"Sid": "AccountPut", "Effect": "Allow",
         "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"}, "Action": "events:PutEvents",
         "Resource": f"arn:aws:events:{REGION}:{ACCT}:event-bus/prod-events"})},
    "pulumi:providers:aws": {"region": REGION},
    "aws:s3/bucket:Bucket": {"bucket": "logs"},
    "aws:s3/bucketWebsiteConfiguration:BucketWebsiteConfiguration": {
        "bucket": "old-site", "redirectAllRequestsTo": {"hostName": "www.example.com",
                                                        "protocol": "https"}},
    "aws:ec2/instance:Instance": {
        "ami": "ami-0abc", "instanceType": "t3.micro", "subnetId": "subnet-a",
        "associatePublicIpAddress": False, "iamInstanceProfile": "web",
        "metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 1},
        "rootBlockDevice": {"encrypted": True, "kmsKeyId": KEY_ARN},
        "ebsBlockDevices": [{"deviceName": "/dev/sdf", "encrypted": True}],
        "userData": "#!/bin/bash\nexport DB_SECRET_ARN=" + SECRET_ARN + "\nsystemctl start web\n"},
    "aws:ec2/launchTemplate:LaunchTemplate": {
        "imageId": "ami-0abc", "iamInstanceProfile": {"arn": f"arn:aws:iam::{ACCT}:instance-profile/web"},
        "metadataOptions": {"httpTokens": "required"},
        "networkInterfaces": [{"associatePublicIpAddress": "false"}],
        "blockDeviceMappings": [{"deviceName": "/dev/xvda",
                                 "ebs": {"encrypted": "true", "kmsKeyId": KEY_ARN}}],
        "userData": "IyEvYmluL2Jhc2gKc3lzdGVtY3RsIHN0YXJ0IHdlYgo="},
    "aws:ebs/volume:Volume": {"availabilityZone": "eu-west-1a", "size": 20, "encrypted": True,
                              "kmsKeyId": KEY_ARN},
    "aws:eks/cluster:Cluster": {
        "roleArn": f"arn:aws:iam::{ACCT}:role/eks", "version": "1.33",
        "vpcConfig": {"subnetIds": ["subnet-a", "subnet-b", "subnet-c"],
                      "endpointPrivateAccess": True, "endpointPublicAccess": False},
        "encryptionConfig": {"resources": ["secrets"], "provider": {"keyArn": KEY_ARN}},
        "enabledClusterLogTypes": ["api", "audit", "authenticator", "controllerManager",
                                   "scheduler"]},
    "aws:eks/nodeGroup:NodeGroup": {
        "clusterName": "prod", "nodeRoleArn": f"arn:aws:iam::{ACCT}:role/nodes",
        "subnetIds": ["subnet-a", "subnet-b", "subnet-c"],
        "scalingConfig": {"minSize": 3, "maxSize": 6, "desiredSize": 3}},
    "aws:eks/addon:Addon": {"clusterName": "prod", "addonName": "vpc-cni",
                            "serviceAccountRoleArn": f"arn:aws:iam::{ACCT}:role/vpc-cni"},
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": {
        "clusterName": "prod", "principalArn": f"arn:aws:iam::{ACCT}:role/team",
        "policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy",
        "accessScope": {"type": "namespace", "namespaces": ["orders"]}},
    "kubernetes:core/v1:ConfigMap": {
        "metadata": {"name": "aws-auth", "namespace": "kube-system"},
        "data": {"mapRoles": f"- rolearn: arn:aws:iam::{ACCT}:role/nodes\n"
                             "  username: system:node:{{EC2PrivateDNSName}}\n"
                             "  groups: [system:bootstrappers, system:nodes]\n"}},
    "kubernetes:apps/v1:Deployment": {
        "metadata": {"namespace": "orders"},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": POD_SPEC}}},
    "kubernetes:core/v1:Pod": {"metadata": {"namespace": "orders"}, "spec": POD_SPEC},
    "kubernetes:core/v1:Service": {
        "metadata": {"annotations": {
            "service.beta.kubernetes.io/aws-load-balancer-ssl-cert":
                f"arn:aws:acm:{REGION}:{ACCT}:certificate/web",
            "service.beta.kubernetes.io/aws-load-balancer-ssl-ports": "443"}},
        "spec": {"type": "LoadBalancer", "ports": [{"name": "https", "port": 443,
                                                     "targetPort": 8080}]}},
    "aws:cloudfront/distribution:Distribution": {
        "enabled": True,
        "origins": [{"originId": "site", "domainName": "site.s3.eu-west-1.amazonaws.com",
                     "originAccessControlId": "oac-1"},
                    {"originId": "api", "domainName": "api.example.com",
                     "customOriginConfig": {"originProtocolPolicy": "https-only",
                                            "originSslProtocols": ["TLSv1.2"],
                                            "httpPort": 80, "httpsPort": 443}}],
        "defaultCacheBehavior": {"targetOriginId": "site",
                                 "viewerProtocolPolicy": "redirect-to-https"},
        "orderedCacheBehaviors": [{"pathPattern": "/api/*", "targetOriginId": "api",
                                   "viewerProtocolPolicy": "https-only"}],
        "viewerCertificate": {"acmCertificateArn": "arn:aws:acm:us-east-1:1:certificate/x",
                              "sslSupportMethod": "sni-only",
                              "minimumProtocolVersion": "TLSv1.2_2021"},
        "loggingConfig": {"bucket": "logs.s3.amazonaws.com"},
        "webAclId": f"arn:aws:wafv2:us-east-1:{ACCT}:global/webacl/site/1"},
    "aws:sfn/stateMachine:StateMachine": {
        "roleArn": f"arn:aws:iam::{ACCT}:role/sfn", "definition": "{}",
        "loggingConfiguration": {"level": "ERROR", "includeExecutionData": False,
                                 "logDestination": f"arn:aws:logs:{REGION}:{ACCT}:log-group:/sfn:*"},
        "tracingConfiguration": {"enabled": True},
        "encryptionConfiguration": {"type": "CUSTOMER_MANAGED_KMS_KEY", "kmsKeyId": KEY_ARN}},
    "aws:appsync/graphQLApi:GraphQLApi": {
        "authenticationType": "AWS_IAM",
        "logConfig": {"fieldLogLevel": "ERROR",
                      "cloudwatchLogsRoleArn": f"arn:aws:iam::{ACCT}:role/appsync-logs"}},
    "aws:appsync/apiCache:ApiCache": {"apiId": "api", "type": "SMALL", "ttl": 60,
                                      "apiCachingBehavior": "FULL_REQUEST_CACHING",
                                      "atRestEncryptionEnabled": True,
                                      "transitEncryptionEnabled": True},
    "aws:lambda/functionUrl:FunctionUrl": {"functionName": "orders",
                                           "authorizationType": "AWS_IAM"},
    "aws:apigateway/restApi:RestApi": {"name": "orders", "body": json.dumps(OPENAPI)},
    "aws:apigatewayv2/api:Api": {"protocolType": "HTTP"},
    "aws:secretsmanager/secretVersion:SecretVersion": {
        "secretId": SECRET_ARN, "secretStringWo": None, "secretString": None},
    "aws:s3/bucketObjectv2:BucketObjectv2": {"bucket": "artifacts", "key": "unsigned/app.zip"},
    "aws:apigatewayv2/authorizer:Authorizer": {
        "apiId": "api", "authorizerType": "JWT", "name": "jwt",
        "identitySources": ["$request.header.Authorization"],
        "jwtConfiguration": {"issuer": f"https://cognito-idp.{REGION}.amazonaws.com/{REGION}_A1",
                             "audiences": ["orders-web"]}},
    "aws:apigatewayv2/vpcLink:VpcLink": {"name": "edge", "securityGroupIds": ["sg-edge"],
                                         "subnetIds": ["subnet-a", "subnet-b"]},
    "aws:cloudwatch/eventRule:EventRule": {
        "eventBusName": "prod-events", "state": "ENABLED",
        "eventPattern": json.dumps({"source": ["orders"], "detail-type": ["OrderPaid"]})},
    "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders": {
        "clusterName": "prod", "capacityProviders": ["FARGATE"],
        "defaultCapacityProviderStrategies": [{"capacityProvider": "FARGATE", "base": 1,
                                               "weight": 1}]},
    "aws:ec2/vpcEndpoint:VpcEndpoint": {
        "vpcId": "vpc-1", "serviceName": f"com.amazonaws.{REGION}.ecr.api",
        "vpcEndpointType": "Interface", "privateDnsEnabled": True,
        "subnetIds": ["subnet-a", "subnet-b"], "securityGroupIds": ["sg-endpoints"]},
    "aws:signer/signingProfile:SigningProfile": {
        "platformId": "AWSLambda-SHA384-ECDSA",
        "signatureValidityPeriod": {"value": 12, "type": "MONTHS"}},
    "aws:signer/signingJob:SigningJob": {
        "profileName": "prod_signing",
        "source": {"s3": {"bucket": "code", "key": "unsigned/app.zip", "version": "v1"}},
        "destination": {"s3": {"bucket": "code", "prefix": "signed/"}}},
    "aws:xray/samplingRule:SamplingRule": {
        "ruleName": "default", "priority": 9000, "version": 1, "fixedRate": 0.05,
        "reservoirSize": 1, "serviceName": "*", "serviceType": "*", "host": "*",
        "httpMethod": "*", "urlPath": "*", "resourceArn": "*"},
    "aws:cloudwatch/dashboard:Dashboard": {"dashboardName": "prod", "dashboardBody": json.dumps({
        "widgets": [{"type": "text", "properties": {
                         "markdown": "## Orders\nRunbook: https://wiki.example.com/orders"}},
                    {"type": "metric", "properties": {
                        "title": "5xx", "metrics": [["AWS/ApplicationELB",
                                                     "HTTPCode_Target_5XX_Count"]]}}]})},
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": {
        "url": "https://token.actions.githubusercontent.com",
        "clientIdLists": ["sts.amazonaws.com"]},
    "aws:eks/accessEntry:AccessEntry": {"clusterName": "prod", "type": "STANDARD",
                                        "principalArn": f"arn:aws:iam::{ACCT}:role/deploy"},
    "kubernetes:core/v1:Namespace": {"metadata": {"name": "orders", "labels": {
        "pod-security.kubernetes.io/enforce": "restricted"}}},
    "kubernetes:core/v1:ServiceAccount": {"metadata": {"name": "orders", "namespace": "orders"},
                                          "automountServiceAccountToken": False},
    "kubernetes:helm.sh/v3:Release": {
        "chart": "aws-load-balancer-controller", "version": "3.5.0",
        "namespace": "kube-system", "repositoryOpts": {"repo": "https://aws.github.io/eks-charts"},
        "values": {"clusterName": "prod", "replicaCount": 2,
                   "serviceAccount": {"create": True, "name": "aws-load-balancer-controller"},
                   "enableWaf": False}},
    "pulumi:providers:kubernetes": {"kubeconfig": json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "prod",
        "clusters": [{"name": "prod", "cluster": {"server": "https://ABC.gr7.eks.amazonaws.com",
                                                  "certificate-authority-data": "LS0t"}}],
        "contexts": [{"name": "prod", "context": {"cluster": "prod", "user": "prod"}}],
        "users": [{"name": "prod", "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1", "command": "aws",
            "args": ["eks", "get-token", "--cluster-name", "prod"]}}}]})},
}
ALWAYS_VIOLATING = ("aws:iam/user:User", "aws:iam/accessKey:AccessKey",
                    "aws:iam/userLoginProfile:UserLoginProfile")
ALWAYS_REPORTED = (*ALWAYS_VIOLATING, "aws:schemas/discoverer:Discoverer")
"""Types every instance of which a policy reports (static credentials; schema discovery,
which environments opt into by exception)."""


def resource(type_: str, props: Mapping[str, Any] | None = None, *, name: str = "r",
             protect: bool = True) -> Resource:
    props = copy.deepcopy(dict(BASELINES[type_] if props is None else props))
    return Resource(type_, name, urn(type_, name), plain(props), protect=protect)


def urn(type_: str, name: str) -> str:
    return f"urn:pulumi:test::platform::{type_}::{name}"


def patched(type_: str, patch: Mapping[str, Any]) -> dict[str, Any]:
    """The baseline with ``path: value`` patches (dotted paths; value DELETE removes)."""
    props = copy.deepcopy(BASELINES[type_])
    for path, value in patch.items():
        target = props
        parts = path.split(".")
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        if value is DELETE:
            target.pop(parts[-1], None)
        else:
            target[parts[-1]] = value
    return props


class _Delete:
    def __repr__(self) -> str:
        return "DELETE"


DELETE: Any = _Delete()


class StackBuilder:
    """Resources linked by property dependencies, by name."""

    def __init__(self) -> None:
        self.by_name: dict[str, Resource] = {}
        self.links: dict[str, dict[str, list[str]]] = {}

    def add(self, type_: str, name: str, props: Mapping[str, Any] | None = None,
            protect: bool = True, **deps: list[str] | str) -> StackBuilder:
        self.by_name[name] = Resource(type_, name, urn(type_, name), dict(props or {}),
                                      protect=protect)
        self.links[name] = {k: [v] if isinstance(v, str) else list(v) for k, v in deps.items()}
        return self

    def remove(self, name: str) -> StackBuilder:
        del self.by_name[name]
        return self

    def resources(self) -> list[Resource]:
        out = []
        for name, res in self.by_name.items():
            res.property_dependencies = {
                k: [self.by_name[n] for n in v if n in self.by_name]
                for k, v in self.links[name].items()}
            out.append(res)
        return out
