"""The benchmark estate as a Pulumi program of raw pulumi-aws resources (copied into a
generated project as ``__main__.py``). Same shape as the CDK peer in
/work/shared/peers/cdk/app.py: one 3-AZ VPC with a NAT gateway per AZ and flow logs, an ECS
cluster, a shared HTTPS ALB with an HTTP redirect, a REST API with one function, and per
service an ECR repository, task definition, roles, log group, security group, Fargate
service with circuit breaker and CPU autoscaling, target group and listener rule."""

import json

import pulumi
import pulumi_aws as aws

cfg = pulumi.Config()
N = cfg.require_int("services")
REGION = "us-east-1"
ACCOUNT = "123456789012"
AZS = [f"{REGION}{s}" for s in "abc"]
CERT = f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/11111111-2222-3333-4444-555555555555"
PORT = 8080
TAGS = {"project": "bench", "owner": "platform"}
HEALTH = f"curl -fsS http://localhost:{PORT}/health/ready || exit 1"


def trust(service):
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}}]})


def policy(statements):
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


vpc = aws.ec2.Vpc("vpc", cidr_block="10.0.0.0/16", enable_dns_hostnames=True,
                  enable_dns_support=True, tags=TAGS)
igw = aws.ec2.InternetGateway("igw", vpc_id=vpc.id, tags=TAGS)
public_rt = aws.ec2.RouteTable("public", vpc_id=vpc.id, tags=TAGS)
aws.ec2.Route("public-default", route_table_id=public_rt.id, destination_cidr_block="0.0.0.0/0",
              gateway_id=igw.id)
private_subnets = []
for i, az in enumerate(AZS):
    pub = aws.ec2.Subnet(f"public-{az}", vpc_id=vpc.id, availability_zone=az,
                         cidr_block=f"10.0.{i}.0/24", tags=TAGS)
    aws.ec2.RouteTableAssociation(f"public-{az}", subnet_id=pub.id, route_table_id=public_rt.id)
    eip = aws.ec2.Eip(f"nat-{az}", domain="vpc", tags=TAGS)
    nat = aws.ec2.NatGateway(f"nat-{az}", subnet_id=pub.id, allocation_id=eip.id, tags=TAGS)
    priv = aws.ec2.Subnet(f"private-{az}", vpc_id=vpc.id, availability_zone=az,
                          cidr_block=f"10.0.{16 * (i + 1)}.0/20", tags=TAGS)
    rt = aws.ec2.RouteTable(f"private-{az}", vpc_id=vpc.id, tags=TAGS)
    aws.ec2.Route(f"private-{az}", route_table_id=rt.id, destination_cidr_block="0.0.0.0/0",
                  nat_gateway_id=nat.id)
    aws.ec2.RouteTableAssociation(f"private-{az}", subnet_id=priv.id, route_table_id=rt.id)
    private_subnets.append(priv)

flow_group = aws.cloudwatch.LogGroup("flow-logs", name="/bench/vpc/flow-logs",
                                     retention_in_days=365, tags=TAGS)
flow_role = aws.iam.Role("flow-logs", name="bench-flow-logs",
                         assume_role_policy=trust("vpc-flow-logs.amazonaws.com"), tags=TAGS)
aws.iam.RolePolicy("flow-logs", role=flow_role.id, policy=policy([{
    "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
    "Resource": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/bench/vpc/flow-logs:*"}]))
aws.ec2.FlowLog("vpc", vpc_id=vpc.id, traffic_type="ALL", log_destination=flow_group.arn,
                iam_role_arn=flow_role.arn, tags=TAGS)

cluster = aws.ecs.Cluster("cluster", name="bench", settings=[
    aws.ecs.ClusterSettingArgs(name="containerInsights", value="enhanced")], tags=TAGS)

alb_sg = aws.ec2.SecurityGroup("alb", vpc_id=vpc.id, description="shared ALB", tags=TAGS)
for port in (80, 443):
    aws.vpc.SecurityGroupIngressRule(f"alb-{port}", security_group_id=alb_sg.id,
                                     cidr_ipv4="0.0.0.0/0", ip_protocol="tcp", from_port=port,
                                     to_port=port)
alb = aws.lb.LoadBalancer("alb", load_balancer_type="application", internal=False,
                          security_groups=[alb_sg.id], drop_invalid_header_fields=True,
                          subnets=[s.id for s in private_subnets], tags=TAGS)
https = aws.lb.Listener("https", load_balancer_arn=alb.arn, port=443, protocol="HTTPS",
                        ssl_policy="ELBSecurityPolicy-TLS13-1-2-2021-06", certificate_arn=CERT,
                        default_actions=[aws.lb.ListenerDefaultActionArgs(
                            type="fixed-response",
                            fixed_response=aws.lb.ListenerDefaultActionFixedResponseArgs(
                                content_type="text/plain", message_body="no route",
                                status_code="404"))])
aws.lb.Listener("http", load_balancer_arn=alb.arn, port=80, protocol="HTTP",
                default_actions=[aws.lb.ListenerDefaultActionArgs(
                    type="redirect", redirect=aws.lb.ListenerDefaultActionRedirectArgs(
                        port="443", protocol="HTTPS", status_code="HTTP_301"))])

fn_role = aws.iam.Role("api-fn", name="bench-api-fn",
                       assume_role_policy=trust("lambda.amazonaws.com"), tags=TAGS)
fn_logs = aws.cloudwatch.LogGroup("api-fn", name="/aws/lambda/bench-api", retention_in_days=30,
                                  tags=TAGS)
aws.iam.RolePolicy("api-fn", role=fn_role.id, policy=policy([{
    "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
    "Resource": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/bench-api:*"}]))
fn = aws.lambda_.Function("api", name="bench-api", runtime="python3.12", handler="index.handler",
                          role=fn_role.arn, memory_size=256, timeout=10,
                          tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode="Active"),
                          logging_config=aws.lambda_.FunctionLoggingConfigArgs(
                              log_format="JSON", log_group=fn_logs.name),
                          code=pulumi.AssetArchive({"index.py": pulumi.StringAsset(
                              "def handler(event, context):\n    return {'statusCode': 200}\n")}),
                          tags=TAGS)
api = aws.apigateway.RestApi("api", name="bench-api", tags=TAGS)
proxy = aws.apigateway.Resource("proxy", rest_api=api.id, parent_id=api.root_resource_id,
                                path_part="{proxy+}")
method = aws.apigateway.Method("proxy-any", rest_api=api.id, resource_id=proxy.id,
                               http_method="ANY", authorization="NONE")
integration = aws.apigateway.Integration("proxy-any", rest_api=api.id, resource_id=proxy.id,
                                         http_method="ANY", type="AWS_PROXY",
                                         integration_http_method="POST", uri=fn.invoke_arn)
deployment = aws.apigateway.Deployment("api", rest_api=api.id,
                                       opts=pulumi.ResourceOptions(depends_on=[integration]))
access_logs = aws.cloudwatch.LogGroup("api-access", name="/bench/api/access",
                                      retention_in_days=30, tags=TAGS)
stage = aws.apigateway.Stage("prod", rest_api=api.id, deployment=deployment.id, stage_name="prod",
                             xray_tracing_enabled=True,
                             access_log_settings=aws.apigateway.StageAccessLogSettingsArgs(
                                 destination_arn=access_logs.arn,
                                 format='{"requestId":"$context.requestId"}'),
                             tags=TAGS)
aws.apigateway.MethodSettings("prod", rest_api=api.id, stage_name=stage.stage_name,
                              method_path="*/*",
                              settings=aws.apigateway.MethodSettingsSettingsArgs(
                                  logging_level="INFO", metrics_enabled=True,
                                  throttling_rate_limit=100, throttling_burst_limit=200))
aws.lambda_.Permission("api", action="lambda:InvokeFunction", function=fn.name,
                       principal="apigateway.amazonaws.com",
                       source_arn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:*/*/*")

for i in range(1, N + 1):
    name = f"svc{i:03d}"
    repo_arn = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/platform/{name}"
    log_name = f"/bench/services/{name}"
    repo = aws.ecr.Repository(name, name=f"platform/{name}", image_tag_mutability="IMMUTABLE",
                              image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(
                                  scan_on_push=True),
                              encryption_configurations=[aws.ecr.RepositoryEncryptionConfigurationArgs(
                                  encryption_type="AES256")], tags=TAGS)
    aws.ecr.LifecyclePolicy(name, repository=repo.name, policy=json.dumps({"rules": [{
        "rulePriority": 1, "selection": {"tagStatus": "any", "countType": "imageCountMoreThan",
                                         "countNumber": 50}, "action": {"type": "expire"}}]}))
    logs = aws.cloudwatch.LogGroup(name, name=log_name, retention_in_days=30, tags=TAGS)
    task_role = aws.iam.Role(f"{name}-task", name=f"bench-{name}-task",
                             assume_role_policy=trust("ecs-tasks.amazonaws.com"), tags=TAGS)
    exec_role = aws.iam.Role(f"{name}-exec", name=f"bench-{name}-exec",
                             assume_role_policy=trust("ecs-tasks.amazonaws.com"), tags=TAGS)
    aws.iam.RolePolicy(f"{name}-exec", role=exec_role.id, policy=policy([
        {"Effect": "Allow", "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
         "Resource": repo_arn},
        {"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
        {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{log_name}:*"}]))
    image = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/platform/{name}:1.0.0"
    task = aws.ecs.TaskDefinition(name, family=f"bench-{name}", cpu="256", memory="512",
                                  network_mode="awsvpc", requires_compatibilities=["FARGATE"],
                                  task_role_arn=task_role.arn, execution_role_arn=exec_role.arn,
                                  runtime_platform=aws.ecs.TaskDefinitionRuntimePlatformArgs(
                                      cpu_architecture="X86_64",
                                      operating_system_family="LINUX"),
                                  container_definitions=json.dumps([{
                                      "name": "app", "image": image, "essential": True,
                                      "readonlyRootFilesystem": True,
                                      "portMappings": [{"containerPort": PORT}],
                                      "environment": [{"name": "SERVICE_NAME", "value": name}],
                                      "healthCheck": {"command": ["CMD-SHELL",
                                                                  HEALTH],
                                                      "interval": 30, "timeout": 5,
                                                      "retries": 3, "startPeriod": 30},
                                      "logConfiguration": {"logDriver": "awslogs", "options": {
                                          "awslogs-group": log_name, "awslogs-region": REGION,
                                          "awslogs-stream-prefix": name}}}]), tags=TAGS)
    sg = aws.ec2.SecurityGroup(name, vpc_id=vpc.id, description=f"{name} tasks", tags=TAGS)
    aws.vpc.SecurityGroupIngressRule(f"{name}-from-alb", security_group_id=sg.id,
                                     referenced_security_group_id=alb_sg.id, ip_protocol="tcp",
                                     from_port=PORT, to_port=PORT)
    aws.vpc.SecurityGroupEgressRule(f"alb-to-{name}", security_group_id=alb_sg.id,
                                    referenced_security_group_id=sg.id, ip_protocol="tcp",
                                    from_port=PORT, to_port=PORT)
    aws.vpc.SecurityGroupEgressRule(f"{name}-out", security_group_id=sg.id,
                                    cidr_ipv4="0.0.0.0/0", ip_protocol="-1")
    tg = aws.lb.TargetGroup(name, port=PORT, protocol="HTTP", target_type="ip", vpc_id=vpc.id,
                            deregistration_delay=30,
                            health_check=aws.lb.TargetGroupHealthCheckArgs(
                                path="/health/ready", matcher="200", interval=15, timeout=5,
                                healthy_threshold=2, unhealthy_threshold=3), tags=TAGS)
    aws.lb.ListenerRule(name, listener_arn=https.arn, priority=i,
                        conditions=[aws.lb.ListenerRuleConditionArgs(
                            path_pattern=aws.lb.ListenerRuleConditionPathPatternArgs(
                                values=[f"/{name}", f"/{name}/*"]))],
                        actions=[aws.lb.ListenerRuleActionArgs(type="forward",
                                                               target_group_arn=tg.arn)])
    service = aws.ecs.Service(name, cluster=cluster.arn, task_definition=task.arn, desired_count=3,
                              launch_type="FARGATE", health_check_grace_period_seconds=60,
                              deployment_minimum_healthy_percent=100,
                              deployment_maximum_percent=200,
                              deployment_circuit_breaker=aws.ecs.ServiceDeploymentCircuitBreakerArgs(
                                  enable=True, rollback=True),
                              network_configuration=aws.ecs.ServiceNetworkConfigurationArgs(
                                  subnets=[s.id for s in private_subnets], security_groups=[sg.id],
                                  assign_public_ip=False),
                              load_balancers=[aws.ecs.ServiceLoadBalancerArgs(
                                  target_group_arn=tg.arn, container_name="app",
                                  container_port=PORT)],
                              enable_ecs_managed_tags=True, propagate_tags="SERVICE", tags=TAGS)
    target = aws.appautoscaling.Target(name, max_capacity=10, min_capacity=1,
                                       resource_id=f"service/bench/bench-{name}",
                                       scalable_dimension="ecs:service:DesiredCount",
                                       service_namespace="ecs",
                                       opts=pulumi.ResourceOptions(depends_on=[service]))
    aws.appautoscaling.Policy(f"{name}-cpu", policy_type="TargetTrackingScaling",
                              resource_id=target.resource_id,
                              scalable_dimension=target.scalable_dimension,
                              service_namespace=target.service_namespace,
                              target_tracking_scaling_policy_configuration=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs(
                                  target_value=60, scale_in_cooldown=120, scale_out_cooldown=60,
                                  predefined_metric_specification=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs(
                                      predefined_metric_type="ECSServiceAverageCPUUtilization")))

pulumi.export("alb", alb.dns_name)
