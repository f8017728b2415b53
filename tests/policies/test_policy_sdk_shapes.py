"""The property names and shapes the rules read are the ones pulumi-aws v7 really sends: a
small compliant estate written with the typed Args classes is captured at preview under
Pulumi's mocks, and every policy passes it under the prod config; targeted changes to the
same program are caught."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pytest

from components.base import allow, policy_document, service_trust
from policies.guardrails import REGISTRY, Resource, evaluate, evaluate_stack
from policies.guardrails.core import plain
from preflight.capture import ACCOUNT_ID, Capture, capture

REGION = "us-east-1"
ZONES = ("a", "b", "c")
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/data"
PROD = {"minAzCount": 3, "minDesiredCount": 3, "logRetentionMinDays": 365,
        "minBackupRetentionDays": 14, "minSnapshotRetentionDays": 14}
PROTECT = pulumi.ResourceOptions(protect=True)


def estate(**change: Any) -> Callable[[], None]:
    """A compliant estate; ``change`` flips one security-relevant input for mutation tests."""
    def program() -> None:
        vpc = aws.ec2.Vpc("vpc", cidr_block="10.0.0.0/16")
        aws.ec2.DefaultSecurityGroup("vpc-default", vpc_id=vpc.id)
        aws.ec2.FlowLog("vpc-flow", vpc_id=vpc.id, traffic_type="ALL",
                        log_destination=f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:/vpc")
        public, private = {}, {}
        for i, z in enumerate(ZONES):
            public[z] = aws.ec2.Subnet(f"public-{z}", vpc_id=vpc.id,
                                       availability_zone=f"{REGION}{z}",
                                       cidr_block=f"10.0.{i}.0/24")
            private[z] = aws.ec2.Subnet(f"private-{z}", vpc_id=vpc.id,
                                        availability_zone=f"{REGION}{z}",
                                        cidr_block=f"10.0.{10 + i}.0/24")
            eip = aws.ec2.Eip(f"nat-{z}", domain="vpc")
            nat = aws.ec2.NatGateway(f"nat-{z}", subnet_id=public[z].id, allocation_id=eip.id)
            table = aws.ec2.RouteTable(f"private-{z}", vpc_id=vpc.id)
            aws.ec2.Route(f"private-{z}-default", route_table_id=table.id,
                          destination_cidr_block="0.0.0.0/0", nat_gateway_id=nat.id)
            aws.ec2.RouteTableAssociation(f"private-{z}", route_table_id=table.id,
                                          subnet_id=private[z].id)
        alb_sg = aws.ec2.SecurityGroup("alb", vpc_id=vpc.id, description="public load balancer")
        aws.vpc.SecurityGroupIngressRule("alb-https", security_group_id=alb_sg.id,
                                         ip_protocol="tcp", from_port=443, to_port=443,
                                         cidr_ipv4="0.0.0.0/0", description="HTTPS in")
        app_sg = aws.ec2.SecurityGroup("app", vpc_id=vpc.id, description="service tasks")
        aws.vpc.SecurityGroupIngressRule("app-from-alb", security_group_id=app_sg.id,
                                         ip_protocol="tcp", from_port=8080, to_port=8080,
                                         referenced_security_group_id=alb_sg.id,
                                         cidr_ipv4=change.get("app_cidr"),
                                         description="from the load balancer")
        lb = aws.lb.LoadBalancer(
            "alb", load_balancer_type="application", internal=False,
            subnets=[public[z].id for z in ZONES], security_groups=[alb_sg.id],
            drop_invalid_header_fields=True, enable_deletion_protection=True,
            access_logs=aws.lb.LoadBalancerAccessLogsArgs(bucket="logs", enabled=True))
        tg = aws.lb.TargetGroup(
            "orders", port=8080, protocol=change.get("target_protocol", "HTTPS"),
            target_type="ip", vpc_id=vpc.id,
            health_check=aws.lb.TargetGroupHealthCheckArgs(
                enabled=True, protocol="HTTPS", path="/healthz", matcher="200-299"))
        aws.lb.Listener("https", load_balancer_arn=lb.arn, port=443, protocol="HTTPS",
                        ssl_policy="ELBSecurityPolicy-TLS13-1-2-2021-06",
                        certificate_arn=f"arn:aws:acm:{REGION}:{ACCOUNT_ID}:certificate/x",
                        default_actions=[aws.lb.ListenerDefaultActionArgs(
                            type="forward", target_group_arn=tg.arn)])
        http_action = aws.lb.ListenerDefaultActionArgs(
            type="redirect", redirect=aws.lb.ListenerDefaultActionRedirectArgs(
                protocol="HTTPS", port="443", status_code="HTTP_301"))
        if change.get("http_forward"):
            http_action = aws.lb.ListenerDefaultActionArgs(type="forward", target_group_arn=tg.arn)
        aws.lb.Listener("http", load_balancer_arn=lb.arn, port=80, protocol="HTTP",
                        default_actions=[http_action])
        acl = aws.wafv2.WebAcl(
            "edge", scope="REGIONAL", default_action=aws.wafv2.WebAclDefaultActionArgs(
                allow=aws.wafv2.WebAclDefaultActionAllowArgs()),
            rule_json=json.dumps([{"Name": "common"}]),
            visibility_config=aws.wafv2.WebAclVisibilityConfigArgs(
                cloudwatch_metrics_enabled=True, metric_name="edge",
                sampled_requests_enabled=True))
        aws.wafv2.WebAclAssociation("alb", resource_arn=lb.arn, web_acl_arn=acl.arn)
        aws.wafv2.WebAclLoggingConfiguration(
            "edge", resource_arn=acl.arn,
            log_destination_configs=[f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:aws-waf-logs"])
        repository = aws.ecr.Repository(
            "orders", image_tag_mutability="IMMUTABLE",
            image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(
                scan_on_push=change.get("scan_on_push", True)), opts=PROTECT)
        aws.ecr.LifecyclePolicy("orders", repository=repository.name, policy=json.dumps(
            {"rules": [{"rulePriority": 1, "selection": {
                "tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days",
                "countNumber": 7}, "action": {"type": "expire"}}]}))
        task_role = aws.iam.Role(
            "orders-task", name="orders-task",
            assume_role_policy=service_trust("ecs-tasks.amazonaws.com", ACCOUNT_ID),
            inline_policies=[aws.iam.RoleInlinePolicyArgs(name="orders", policy=policy_document([
                allow("ReadOrders", ["dynamodb:GetItem"],
                      [f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/orders"])]))])
        exec_role = aws.iam.Role(
            "orders-exec", name="orders-exec",
            assume_role_policy=service_trust("ecs-tasks.amazonaws.com", ACCOUNT_ID))
        container = {
            "name": "app", "essential": True, "user": "1000:1000",
            "image": change.get("image",
                                f"{ACCOUNT_ID}.dkr.ecr.{REGION}.amazonaws.com/orders:1.0.0"),
            "readonlyRootFilesystem": True,
            "healthCheck": {"command": ["CMD", "/app/healthcheck"], "interval": 15,
                            "timeout": 5, "retries": 3},
            "environment": [{"name": k, "value": v}
                            for k, v in change.get("env", {"LOG_LEVEL": "info"}).items()],
            "logConfiguration": {"logDriver": "awslogs",
                                 "options": {"awslogs-group": "/svc/orders"}}}
        task = aws.ecs.TaskDefinition(
            "orders", family="orders", network_mode="awsvpc", cpu="256", memory="512",
            requires_compatibilities=["FARGATE"], container_definitions=json.dumps([container]),
            task_role_arn=f"arn:aws:iam::{ACCOUNT_ID}:role/orders-task",
            execution_role_arn=f"arn:aws:iam::{ACCOUNT_ID}:role/orders-exec",
            opts=pulumi.ResourceOptions(depends_on=[task_role, exec_role]))
        cluster = aws.ecs.Cluster(
            "platform", settings=[aws.ecs.ClusterSettingArgs(name="containerInsights",
                                                             value="enabled")],
            configuration=aws.ecs.ClusterConfigurationArgs(
                execute_command_configuration=aws.ecs.ClusterConfigurationExecuteCommandConfigurationArgs(
                    kms_key_id=KEY_ARN, logging="OVERRIDE",
                    log_configuration=aws.ecs.ClusterConfigurationExecuteCommandConfigurationLogConfigurationArgs(
                        cloud_watch_log_group_name="/ecs/exec",
                        cloud_watch_encryption_enabled=True))))
        zones = change.get("service_zones", ZONES)
        service = aws.ecs.Service(
            "orders", cluster=cluster.arn, task_definition=task.arn, launch_type="FARGATE",
            desired_count=3,
            network_configuration=aws.ecs.ServiceNetworkConfigurationArgs(
                subnets=[private[z].id for z in zones], security_groups=[app_sg.id],
                assign_public_ip=False),
            deployment_circuit_breaker=aws.ecs.ServiceDeploymentCircuitBreakerArgs(
                enable=True, rollback=True),
            load_balancers=[aws.ecs.ServiceLoadBalancerArgs(
                target_group_arn=tg.arn, container_name="app", container_port=8080)])
        scaling = aws.appautoscaling.Target(
            "orders", service_namespace="ecs", scalable_dimension="ecs:service:DesiredCount",
            resource_id=pulumi.Output.concat("service/", cluster.name, "/", service.name),
            min_capacity=3, max_capacity=9)
        aws.appautoscaling.Policy(
            "orders-cpu", policy_type="TargetTrackingScaling",
            service_namespace=scaling.service_namespace,
            scalable_dimension=scaling.scalable_dimension, resource_id=scaling.resource_id,
            target_tracking_scaling_policy_configuration=(
                aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs(
                    target_value=60.0,
                    predefined_metric_specification=aws.appautoscaling.
                    PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs(
                        predefined_metric_type="ECSServiceAverageCPUUtilization"))))
        aws.cloudwatch.LogGroup("orders", name="/svc/orders", retention_in_days=365,
                                kms_key_id=KEY_ARN)
        aws.kms.Key("data", enable_key_rotation=True, opts=PROTECT)
        db_subnets = aws.rds.SubnetGroup("db", subnet_ids=[private[z].id for z in ZONES])
        params = aws.rds.ClusterParameterGroup(
            "db", family="aurora-postgresql16",
            parameters=[aws.rds.ClusterParameterGroupParameterArgs(name=k, value=v)
                        for k, v in (("rds.force_ssl", "1"), ("log_statement", "ddl"),
                                     ("log_min_duration_statement", "1000"),
                                     ("log_connections", "1"))])
        monitoring = aws.iam.Role(
            "db-monitoring", assume_role_policy=service_trust("monitoring.rds.amazonaws.com",
                                                              ACCOUNT_ID))
        aws.iam.RolePolicyAttachment(
            "db-monitoring", role=monitoring.name,
            policy_arn="arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole")
        db = aws.rds.Cluster(
            "db", engine="aurora-postgresql", db_subnet_group_name=db_subnets.name,
            db_cluster_parameter_group_name=params.name, storage_encrypted=True,
            kms_key_id=KEY_ARN, iam_database_authentication_enabled=True,
            backup_retention_period=14, deletion_protection=True,
            enabled_cloudwatch_logs_exports=["postgresql"], manage_master_user_password=True,
            master_username="orders", opts=PROTECT)
        for i, z in ((1, "a"), (2, "b")):
            aws.rds.ClusterInstance(f"db-{i}", cluster_identifier=db.id,
                                    engine="aurora-postgresql", instance_class="db.r6g.large",
                                    monitoring_interval=change.get("monitoring", 60),
                                    monitoring_role_arn=monitoring.arn,
                                    availability_zone=f"us-east-1{z}")
        cache_subnets = aws.elasticache.SubnetGroup(
            "cache", subnet_ids=[private[z].id for z in ZONES])
        aws.elasticache.ReplicationGroup(
            "sessions", description="sessions", subnet_group_name=cache_subnets.name,
            at_rest_encryption_enabled=True, kms_key_id=KEY_ARN,
            transit_encryption_enabled=change.get("cache_tls", True),
            automatic_failover_enabled=True, multi_az_enabled=True, num_cache_clusters=3,
            user_group_ids=["sessions"], snapshot_retention_limit=14, opts=PROTECT)
        private_bucket("logs", "AES256")
        workloads(private, change)
        signer = aws.signer.SigningProfile(
            "functions", platform_id="AWSLambda-SHA384-ECDSA",
            signature_validity_period=aws.signer.SigningProfileSignatureValidityPeriodArgs(
                value=12, type="MONTHS"))
        platform_types(vpc, private, app_sg, cluster, signer, change)
        signing = aws.lambda_.CodeSigningConfig(
            "functions",
            allowed_publishers=aws.lambda_.CodeSigningConfigAllowedPublishersArgs(
                signing_profile_version_arns=[signer.version_arn]),
            policies=aws.lambda_.CodeSigningConfigPoliciesArgs(
                untrusted_artifact_on_deployment=change.get("untrusted", "Enforce")))
        fn_role = aws.iam.Role("catalog", assume_role_policy=service_trust(
            "lambda.amazonaws.com", ACCOUNT_ID))
        fn_dlq = aws.sqs.Queue("catalog-dlq", kms_master_key_id=KEY_ARN)
        fn = aws.lambda_.Function(
            "catalog", role=fn_role.arn, runtime="python3.12", handler="app.handle",
            s3_bucket="code", s3_key="signed/catalog.zip", memory_size=256, timeout=10,
            reserved_concurrent_executions=10, kms_key_arn=KEY_ARN,
            tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode="Active"),
            code_signing_config_arn=signing.arn)
        aws.lambda_.FunctionEventInvokeConfig(
            "catalog", function_name=fn.name,
            destination_config=aws.lambda_.FunctionEventInvokeConfigDestinationConfigArgs(
                on_failure=aws.lambda_.FunctionEventInvokeConfigDestinationConfigOnFailureArgs(
                    destination=fn_dlq.arn)))
    return program


def platform_types(vpc: aws.ec2.Vpc, private: dict[str, aws.ec2.Subnet],
                   app_sg: aws.ec2.SecurityGroup, cluster: aws.ecs.Cluster,
                   signer: aws.signer.SigningProfile, change: dict[str, Any]) -> None:
    """The AWS types the platform's own stacks create beside the workloads: gateways,
    endpoints, addresses, identity providers, authorizers, rules, capacity, cache users, key
    aliases, dashboards, sampling rules and code signing, all compliant."""
    subnets = [private[z].id for z in ZONES]
    perimeter = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": sid, "Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*",
         "Condition": {"StringEquals": {key: ACCOUNT_ID}}}
        for sid, key in (("OwnPrincipals", "aws:PrincipalAccount"),
                         ("OwnResources", "aws:ResourceAccount"))]})
    aws.ec2.InternetGateway("igw", vpc_id=vpc.id)
    aws.ec2.VpcEndpoint("s3", vpc_id=vpc.id, service_name=f"com.amazonaws.{REGION}.s3",
                        vpc_endpoint_type="Gateway", policy=change.get("endpoint_policy",
                                                                       perimeter))
    aws.ec2.VpcEndpoint("ecr-api", vpc_id=vpc.id, service_name=f"com.amazonaws.{REGION}.ecr.api",
                        vpc_endpoint_type="Interface", private_dns_enabled=True,
                        subnet_ids=subnets, security_group_ids=[app_sg.id], policy=perimeter)
    aws.iam.OpenIdConnectProvider("github", url="https://token.actions.githubusercontent.com",
                                  client_id_lists=change.get("oidc_clients",
                                                             ["sts.amazonaws.com"]))
    api = aws.apigatewayv2.Api("edge", protocol_type="HTTP")
    aws.apigatewayv2.Authorizer(
        "edge", api_id=api.id, authorizer_type="JWT",
        identity_sources=["$request.header.Authorization"],
        jwt_configuration=aws.apigatewayv2.AuthorizerJwtConfigurationArgs(
            issuer=f"https://cognito-idp.{REGION}.amazonaws.com/{REGION}_A1",
            audiences=["orders-web"]))
    aws.apigatewayv2.VpcLink("edge", name="edge", subnet_ids=subnets,
                             security_group_ids=[app_sg.id])
    bus = aws.cloudwatch.EventBus("orders", name="orders", kms_key_identifier=KEY_ARN)
    aws.cloudwatch.EventRule("order-paid", event_bus_name=bus.name, event_pattern=json.dumps(
        change.get("pattern", {"source": ["orders"], "detail-type": ["OrderPaid"]})))
    aws.ecs.ClusterCapacityProviders(
        "platform", cluster_name=cluster.name,
        capacity_providers=["FARGATE", *(["FARGATE_SPOT"] if change.get("spot") else [])],
        default_capacity_provider_strategies=[
            aws.ecs.ClusterCapacityProvidersDefaultCapacityProviderStrategyArgs(
                capacity_provider="FARGATE", base=1, weight=1)])
    users = [aws.elasticache.User(
        f"sessions-{who}", user_id=f"sessions-{who}", user_name=user_name, engine="valkey",
        access_string=access, authentication_mode=aws.elasticache.UserAuthenticationModeArgs(
            type="iam")) for who, user_name, access in (
        ("default", "default", "off -@all"), ("app", "sessions-app", "on ~* +@all"))]
    aws.elasticache.UserGroup("sessions", user_group_id="sessions", engine="valkey",
                              user_ids=[u.user_id for u in users])
    key = aws.kms.Key("platform", enable_key_rotation=True, opts=PROTECT)
    aws.kms.Alias("platform", name="alias/platform", target_key_id=key.key_id)
    aws.cloudwatch.Dashboard("platform", dashboard_name="platform", dashboard_body=json.dumps(
        {"widgets": [{"type": "text", "properties": {"markdown": "## Orders"}}]}))
    aws.xray.SamplingRule("default", rule_name="default", priority=9000, version=1,
                          reservoir_size=1, fixed_rate=0.05, host="*", http_method="*",
                          url_path="*", service_name="*", service_type="*", resource_arn="*")
    package = aws.s3.BucketObjectv2("catalog", bucket="code", key="unsigned/catalog.zip",
                                    source=pulumi.StringAsset("zip"))
    aws.signer.SigningJob(
        "catalog", profile_name=signer.name,
        source=aws.signer.SigningJobSourceArgs(s3=aws.signer.SigningJobSourceS3Args(
            bucket="code", key=package.key, version=package.version_id)),
        destination=aws.signer.SigningJobDestinationArgs(
            s3=aws.signer.SigningJobDestinationS3Args(bucket="code", prefix="signed/")))


def private_bucket(name: str, algorithm: str) -> aws.s3.Bucket:
    """A protected, private, encrypted, versioned, TLS-only bucket whose access is logged to
    the organisation's log bucket (outside this estate)."""
    bucket_name = f"platform-{name}"
    bucket = aws.s3.Bucket(name, bucket=bucket_name, opts=PROTECT)
    aws.s3.BucketPublicAccessBlock(name, bucket=bucket.id, block_public_acls=True,
                                   block_public_policy=True, ignore_public_acls=True,
                                   restrict_public_buckets=True)
    aws.s3.BucketServerSideEncryptionConfiguration(
        name, bucket=bucket.id,
        rules=[aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
            apply_server_side_encryption_by_default=aws.s3.
            BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                sse_algorithm=algorithm,
                kms_master_key_id=KEY_ARN if algorithm == "aws:kms" else None))])
    aws.s3.BucketVersioning(
        name, bucket=bucket.id,
        versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(
            status="Enabled"))
    aws.s3.BucketPolicy(name, bucket=bucket.id, policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*",
            "Action": "s3:*",
            "Resource": [f"arn:aws:s3:::{bucket_name}", f"arn:aws:s3:::{bucket_name}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}))
    aws.s3.BucketLogging(name, bucket=bucket.id, target_bucket="org-access-logs",
                         target_prefix=f"s3/{bucket_name}/")
    aws.s3.BucketOwnershipControls(
        name, bucket=bucket.id,
        rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"))
    aws.s3.BucketLifecycleConfiguration(name, bucket=bucket.id, rules=[
        aws.s3.BucketLifecycleConfigurationRuleArgs(
            id="abort-uploads", status="Enabled",
            filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
            abort_incomplete_multipart_upload=aws.s3.
            BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                days_after_initiation=7))])
    return bucket


def workloads(private: dict[str, aws.ec2.Subnet], change: dict[str, Any]) -> None:
    """The families the pack judges beyond the platform's own estate: EC2, EKS, Kubernetes,
    CloudFront, Step Functions, AppSync and Lambda function URLs, all compliant."""
    subnets = [private[z].id for z in ZONES]
    node_role = aws.iam.Role("nodes", assume_role_policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
            "Action": "sts:AssumeRole"}]}))
    aws.iam.RolePolicyAttachment(
        "nodes-worker", role=node_role.name,
        policy_arn="arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy")
    profile = aws.iam.InstanceProfile("web", role=node_role.name)
    aws.ec2.Instance(
        "web", ami="ami-0c02fb55956c7d316", instance_type="t3.micro", subnet_id=private["a"].id,
        associate_public_ip_address=False, iam_instance_profile=profile.name,
        metadata_options=aws.ec2.InstanceMetadataOptionsArgs(
            http_tokens=change.get("http_tokens", "required"), http_put_response_hop_limit=1),
        root_block_device=aws.ec2.InstanceRootBlockDeviceArgs(encrypted=True, kms_key_id=KEY_ARN),
        user_data="#!/bin/bash\nsystemctl start web\n")
    aws.ec2.LaunchTemplate(
        "web", image_id="ami-0c02fb55956c7d316",
        iam_instance_profile=aws.ec2.LaunchTemplateIamInstanceProfileArgs(arn=profile.arn),
        metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(http_tokens="required"),
        network_interfaces=[aws.ec2.LaunchTemplateNetworkInterfaceArgs(
            associate_public_ip_address="false")],
        block_device_mappings=[aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
            device_name="/dev/xvda", ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                encrypted="true", kms_key_id=KEY_ARN))])
    eks_role = aws.iam.Role("eks", assume_role_policy=service_trust("eks.amazonaws.com",
                                                                    ACCOUNT_ID))
    cluster = aws.eks.Cluster(
        "prod", role_arn=eks_role.arn, version="1.33",
        vpc_config=aws.eks.ClusterVpcConfigArgs(
            subnet_ids=subnets, endpoint_private_access=True,
            endpoint_public_access=change.get("eks_public", False)),
        encryption_config=aws.eks.ClusterEncryptionConfigArgs(
            resources=["secrets"],
            provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=KEY_ARN)),
        enabled_cluster_log_types=["api", "audit", "authenticator", "controllerManager",
                                   "scheduler"])
    aws.eks.NodeGroup(
        "prod", cluster_name=cluster.name, node_role_arn=node_role.arn, subnet_ids=subnets,
        scaling_config=aws.eks.NodeGroupScalingConfigArgs(min_size=3, max_size=6,
                                                          desired_size=3))
    aws.eks.Addon("vpc-cni", cluster_name=cluster.name, addon_name="vpc-cni",
                  service_account_role_arn=f"arn:aws:iam::{ACCOUNT_ID}:role/vpc-cni")
    aws.eks.AccessPolicyAssociation(
        "team", cluster_name=cluster.name,
        principal_arn=f"arn:aws:iam::{ACCOUNT_ID}:role/team",
        policy_arn="arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy",
        access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="namespace",
                                                                   namespaces=["orders"]))
    aws.eks.AccessEntry("deploy", cluster_name=cluster.name,
                        principal_arn=f"arn:aws:iam::{ACCOUNT_ID}:role/deploy")
    pod_role = aws.iam.Role("web-pods", assume_role_policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
            "Condition": {"StringEquals": {"aws:RequestTag/eks-cluster-arn": "arn:x"}}}]}))
    aws.eks.PodIdentityAssociation("web", cluster_name=cluster.name, namespace="orders",
                                   service_account="web", role_arn=pod_role.arn)
    k8s.Provider("prod", kubeconfig=json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "prod",
        "clusters": [{"name": "prod", "cluster": {"server": "https://ABC.eks.amazonaws.com"}}],
        "contexts": [{"name": "prod", "context": {"cluster": "prod", "user": "prod"}}],
        "users": [{"name": "prod", "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1", "command": "aws",
            "args": ["eks", "get-token", "--cluster-name", "prod"]}}}]}))
    k8s.core.v1.Namespace("orders", metadata=k8s.meta.v1.ObjectMetaArgs(
        name="orders", labels={"pod-security.kubernetes.io/enforce":
                               change.get("pss", "restricted")}))
    k8s.core.v1.ServiceAccount(
        "web", metadata=k8s.meta.v1.ObjectMetaArgs(name="web", namespace="orders"),
        automount_service_account_token=change.get("automount", False))
    k8s.networking.v1.NetworkPolicy(
        "orders-deny", metadata=k8s.meta.v1.ObjectMetaArgs(namespace="orders"),
        spec=k8s.networking.v1.NetworkPolicySpecArgs(
            pod_selector=k8s.meta.v1.LabelSelectorArgs(), policy_types=["Ingress", "Egress"]))
    web_tg = aws.lb.TargetGroup(
        "web", port=8443, protocol="HTTPS", target_type="ip",
        health_check=aws.lb.TargetGroupHealthCheckArgs(
            enabled=True, protocol="HTTPS", path="/healthz", matcher="200-299"))
    k8s.apiextensions.CustomResource(
        "web", api_version="elbv2.k8s.aws/v1beta1", kind="TargetGroupBinding",
        metadata=k8s.meta.v1.ObjectMetaArgs(namespace="orders"),
        spec={"targetGroupARN": web_tg.arn, "targetType": "ip",
              "serviceRef": {"name": "web", "port": 443}})
    k8s.helm.v3.Release(
        "lb-controller", chart="aws-load-balancer-controller",
        version=change.get("chart_version", "3.5.0"), namespace="kube-system",
        repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo="https://aws.github.io/eks-charts"),
        values={"clusterName": "prod", "replicaCount": 2})
    labels = {"app": "web"}
    image = change.get("k8s_image", f"{ACCOUNT_ID}.dkr.ecr.{REGION}.amazonaws.com/web@sha256:"
                       + "b" * 64)
    pod = k8s.core.v1.PodSpecArgs(
        security_context=k8s.core.v1.PodSecurityContextArgs(run_as_non_root=True,
                                                            run_as_user=10001),
        topology_spread_constraints=[k8s.core.v1.TopologySpreadConstraintArgs(
            max_skew=1, topology_key="topology.kubernetes.io/zone",
            when_unsatisfiable="DoNotSchedule",
            label_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=labels))],
        containers=[k8s.core.v1.ContainerArgs(
            name="web", image=image, ports=[k8s.core.v1.ContainerPortArgs(container_port=8080)],
            liveness_probe=k8s.core.v1.ProbeArgs(http_get=k8s.core.v1.HTTPGetActionArgs(
                path="/health/live", port=8080)),
            readiness_probe=k8s.core.v1.ProbeArgs(http_get=k8s.core.v1.HTTPGetActionArgs(
                path="/health/ready", port=8080)),
            resources=k8s.core.v1.ResourceRequirementsArgs(
                requests={"cpu": "250m", "memory": "256Mi"}, limits={"memory": "256Mi"}),
            security_context=k8s.core.v1.SecurityContextArgs(
                allow_privilege_escalation=False, read_only_root_filesystem=True,
                capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"])))])
    deployment = k8s.apps.v1.Deployment(
        "web", metadata=k8s.meta.v1.ObjectMetaArgs(namespace="orders"),
        spec=k8s.apps.v1.DeploymentSpecArgs(
            replicas=3, selector=k8s.meta.v1.LabelSelectorArgs(match_labels=labels),
            template=k8s.core.v1.PodTemplateSpecArgs(
                metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels), spec=pod)))
    k8s.autoscaling.v2.HorizontalPodAutoscaler(
        "web", metadata=k8s.meta.v1.ObjectMetaArgs(namespace="orders"),
        spec=k8s.autoscaling.v2.HorizontalPodAutoscalerSpecArgs(
            scale_target_ref=k8s.autoscaling.v2.CrossVersionObjectReferenceArgs(
                api_version="apps/v1", kind="Deployment", name=deployment.metadata.name),
            min_replicas=3, max_replicas=9))
    k8s.policy.v1.PodDisruptionBudget(
        "web", metadata=k8s.meta.v1.ObjectMetaArgs(namespace="orders"),
        spec=k8s.policy.v1.PodDisruptionBudgetSpecArgs(
            max_unavailable=1, selector=k8s.meta.v1.LabelSelectorArgs(match_labels=labels)))
    k8s.core.v1.Service(
        "web", metadata=k8s.meta.v1.ObjectMetaArgs(namespace="orders", annotations={
            "service.beta.kubernetes.io/aws-load-balancer-ssl-cert":
                f"arn:aws:acm:{REGION}:{ACCOUNT_ID}:certificate/web",
            "service.beta.kubernetes.io/aws-load-balancer-ssl-ports": "443"}),
        spec=k8s.core.v1.ServiceSpecArgs(type="LoadBalancer", selector=labels, ports=[
            k8s.core.v1.ServicePortArgs(name="https", port=443, target_port=8080)]))
    site = private_bucket("site", "aws:kms")
    oac = aws.cloudfront.OriginAccessControl(
        "site", origin_access_control_origin_type="s3", signing_behavior="always",
        signing_protocol="sigv4")
    aws.cloudfront.Distribution(
        "site", enabled=True, default_root_object="index.html",
        origins=[aws.cloudfront.DistributionOriginArgs(
            origin_id="site", domain_name=site.bucket_regional_domain_name,
            origin_access_control_id=oac.id)],
        default_cache_behavior=aws.cloudfront.DistributionDefaultCacheBehaviorArgs(
            target_origin_id="site", allowed_methods=["GET", "HEAD"],
            cached_methods=["GET", "HEAD"],
            cache_policy_id="658327ea-f89d-4fab-a63d-7e88639e58f6",
            viewer_protocol_policy=change.get("viewer_protocol", "redirect-to-https")),
        restrictions=aws.cloudfront.DistributionRestrictionsArgs(
            geo_restriction=aws.cloudfront.DistributionRestrictionsGeoRestrictionArgs(
                restriction_type="none")),
        viewer_certificate=aws.cloudfront.DistributionViewerCertificateArgs(
            acm_certificate_arn=f"arn:aws:acm:us-east-1:{ACCOUNT_ID}:certificate/site",
            ssl_support_method="sni-only", minimum_protocol_version="TLSv1.2_2021"),
        logging_config=aws.cloudfront.DistributionLoggingConfigArgs(
            bucket="platform-logs.s3.amazonaws.com"),
        web_acl_id=f"arn:aws:wafv2:us-east-1:{ACCOUNT_ID}:global/webacl/site/1")
    aws.sfn.StateMachine(
        "orders", role_arn=f"arn:aws:iam::{ACCOUNT_ID}:role/orders-sfn", definition="{}",
        logging_configuration=aws.sfn.StateMachineLoggingConfigurationArgs(
            level="ERROR", include_execution_data=False,
            log_destination=f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:/sfn/orders:*"),
        tracing_configuration=aws.sfn.StateMachineTracingConfigurationArgs(enabled=True),
        encryption_configuration=aws.sfn.StateMachineEncryptionConfigurationArgs(
            type="CUSTOMER_MANAGED_KMS_KEY", kms_key_id=KEY_ARN,
            kms_data_key_reuse_period_seconds=300))
    aws.appsync.GraphQLApi(
        "orders", authentication_type=change.get("appsync_auth", "AWS_IAM"),
        schema="type Query { ping: String }",
        log_config=aws.appsync.GraphQLApiLogConfigArgs(
            field_log_level="ERROR",
            cloudwatch_logs_role_arn=f"arn:aws:iam::{ACCOUNT_ID}:role/appsync-logs"))
    aws.lambda_.FunctionUrl("orders", function_name="orders", authorization_type="AWS_IAM")


def resources(cap: Capture) -> list[Resource]:
    by_urn = {r.urn: Resource(r.type, r.name, r.urn, plain(r.inputs), protect=r.protect)
              for r in cap.registrations if r.custom}
    for reg in cap.registrations:
        res = by_urn.get(reg.urn)
        if res is None:
            continue
        res.property_dependencies = {k: [by_urn[u] for u in v if u in by_urn]
                                     for k, v in reg.property_dependencies.items()}
        res.dependencies = [by_urn[u] for u in reg.dependencies if u in by_urn]
    return list(by_urn.values())


def run_pack(program: Callable[[], None]) -> list[tuple[str, str, str]]:
    found: list[tuple[str, str, str]] = []
    stack = resources(capture(program, project="platform", stack="prod",
                              config={"aws:region": REGION}, preview=True))
    for name, record in sorted(REGISTRY.items()):
        config = {k: v for k, v in PROD.items() if k in record.params}
        if record.kind == "stack":
            names = {r.urn: r.name for r in stack}
            found += [(name, names[u], m) for u, m in evaluate_stack(name, stack, config)]
        else:
            for res in stack:
                found += [(name, res.name, m) for m in evaluate(name, res, config)]
    return found


def test_compliant_estate_passes_every_policy_at_preview() -> None:
    assert run_pack(estate()) == []


@pytest.mark.parametrize(("change", "expected"), [
    # Three tasks over two zones: the busier zone holds two, so losing it leaves one.
    ({"service_zones": ("a", "b")},
     [("availability-zone-loss", "orders", "losing us-east-1a or us-east-1b leaves 1 of 3 tasks "
                                           "running, below the minimum of 2 (autoscaling minimum 3)"),
      ("multi-az-footprint", "orders", "networkConfiguration spans 2 availability zone(s) "
                                       "(us-east-1a, us-east-1b); at least 3 are required")]),
    ({"http_forward": True},
     [("lb-listener-no-plaintext", "http",
       "HTTP listener serves plaintext; its default actions must only redirect to HTTPS")]),
    ({"scan_on_push": False},
     [("ecr-scan-on-push", "orders", "imageScanningConfiguration.scanOnPush is not true and "
                                     "no registry scanning rule covers the repository")]),
    ({"image": "nginx:1.27"},
     [("ecs-image-provenance", "orders", "container app image nginx:1.27 is neither from the "
                                         "platform's ECR nor pinned by digest")]),
    ({"env": {"STRIPE_API_KEY": "sk_live_abcdef"}},
     [("ecs-no-plaintext-secrets", "orders",
       "container app environment STRIPE_API_KEY: the name says it holds a secret")]),
    ({"cache_tls": False},
     [("elasticache-in-transit-encryption", "sessions", "transitEncryptionEnabled is not true")]),
    ({"http_tokens": "optional"},
     [("ec2-imdsv2-required", "web", "metadataOptions.httpTokens is optional; IMDSv1 lets any "
                                     "SSRF read the instance role's credentials")]),
    ({"eks_public": True},
     [("eks-endpoint-not-public", "prod", "the Kubernetes API endpoint is public to "
                                          "0.0.0.0/0")]),
    ({"k8s_image": "nginx:1.27"},
     [("k8s-image-digest", "web", "container web image nginx:1.27 is not pinned by digest and "
                                  "is not from a trusted registry")]),
    ({"viewer_protocol": "allow-all"},
     [("cloudfront-viewer-https", "site", "defaultCacheBehavior.viewerProtocolPolicy is "
                                          "allow-all; viewers may use HTTP")]),
    ({"appsync_auth": "API_KEY"},
     [("appsync-no-api-key-auth", "orders", "authenticationType is API_KEY; anyone holding "
                                            "the key may call the API")]),
    ({"target_protocol": "HTTP"},
     [("lb-target-group-https", "orders",
       "protocol is HTTP; the load balancer must reach targets over HTTPS")]),
    ({"monitoring": 0},
     [("rds-enhanced-monitoring", f"db-{i}",
       "monitoringInterval is 0 or not set; Enhanced Monitoring is off") for i in (1, 2)]),
    ({"untrusted": "Warn"},
     [("lambda-code-signing", "functions", "policies.untrustedArtifactOnDeployment is Warn; "
                                           "use Enforce so unsigned or foreign code is "
                                           "refused")]),
    ({"endpoint_policy": None},
     [("vpc-endpoint-policy-scoped", "s3", "endpoint has no policy: the default policy allows "
                                           "any principal every action on every resource "
                                           "through it")]),
    ({"oidc_clients": ["sts.amazonaws.com", "my-app"]},
     [("iam-oidc-provider-scoped", "github", "clientIdLists allows my-app besides "
                                             "sts.amazonaws.com")]),
    ({"pattern": {"account": [ACCOUNT_ID]}},
     [("eventbridge-rule-pattern-scoped", "order-paid", "eventPattern selects no source or "
                                                        "detail-type by value: the rule matches "
                                                        "every event on the bus")]),
    ({"spot": True},
     [("ecs-no-fargate-spot", "platform", "capacityProviders includes FARGATE_SPOT")]),
    ({"pss": "privileged"},
     [("k8s-namespace-pod-security", "orders", "the namespace enforces privileged; baseline "
                                               "required")]),
    ({"automount": True},
     [("k8s-service-account-no-token-automount", "web", "automountServiceAccountToken is not "
                                                        "false: every pod using this account "
                                                        "gets a Kubernetes API token")]),
    ({"chart_version": "3.x"},
     [("helm-release-pinned", "lb-controller", "version 3.x is not one exact chart version; "
                                               "pin it (e.g. 1.2.3)")]),
    ({"app_cidr": "0.0.0.0/0"},
     [("security-group-no-public-ingress", "app-from-alb",
       "ingress rule admits 0.0.0.0/0 on port 8080; only ports 80 and 443 on a security "
       "group used only by application load balancers may be open to the internet")]),
])
def test_changes_to_the_sdk_program_are_caught(change: dict[str, Any],
                                               expected: list[tuple[str, str, str]]) -> None:
    # Sorted: resources of one loop may register in any order.
    assert sorted(run_pack(estate(**change))) == sorted(expected)
