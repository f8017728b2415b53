"""ContainerService under recording mocks: children, IAM, network exposure, routing, scaling,
the container definition and every validation message."""

import json
from typing import Any

import pulumi
import pytest

from components.container_service import (
    FARGATE_SIZES,
    ContainerService,
    ContainerServiceArgs,
    check_service,
    default_priority,
)
from components.validation import ArgsError, config_path
from preflight.capture import UNKNOWN, Capture, capture

ACCT = "123456789012"
REGION = "us-east-1"
KEY = f"arn:aws:kms:{REGION}:{ACCT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
LISTENER = f"arn:aws:elasticloadbalancing:{REGION}:{ACCT}:listener/app/edge/50dc6c495c0c9188/f2f7"
DB_SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCT}:secret:orders/db-AbCdEf"
API_SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCT}:secret:orders/api-GhIjKl"
FLAGS = f"arn:aws:ssm:{REGION}:{ACCT}:parameter/orders/flags"
TABLE = f"arn:aws:dynamodb:{REGION}:{ACCT}:table/orders"
QUEUE = f"arn:aws:sqs:{REGION}:{ACCT}:orders-events"
DIGEST = "sha256:" + "a" * 64

T = {
    "component": "microservices:index:ContainerService",
    "images": "microservices:index:ImageRepository",
    "repo": "aws:ecr/repository:Repository",
    "lifecycle": "aws:ecr/lifecyclePolicy:LifecyclePolicy",
    "logs": "aws:cloudwatch/logGroup:LogGroup",
    "role": "aws:iam/role:Role",
    "role_policy": "aws:iam/rolePolicy:RolePolicy",
    "taskdef": "aws:ecs/taskDefinition:TaskDefinition",
    "sg": "aws:ec2/securityGroup:SecurityGroup",
    "ingress": "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    "egress": "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
    "tg": "aws:lb/targetGroup:TargetGroup",
    "rule": "aws:lb/listenerRule:ListenerRule",
    "service": "aws:ecs/service:Service",
    "target": "aws:appautoscaling/target:Target",
    "policy": "aws:appautoscaling/policy:Policy",
}


def base(**overrides: Any) -> ContainerServiceArgs:
    args: dict[str, Any] = {
        "cluster_arn": f"arn:aws:ecs:{REGION}:{ACCT}:cluster/shop",
        "cluster_name": "shop",
        "vpc_id": "vpc-0abc",
        "subnet_ids": ["subnet-a", "subnet-b", "subnet-c"],
        "az_count": 3,
        "listener_arn": LISTENER,
        "load_balancer_security_group_id": "sg-lb",
        "load_balancer_arn_suffix": "app/edge/50dc6c495c0c9188",
        "kms_key_arn": KEY,
        "log_retention_days": 365,
    }
    args.update(overrides)
    return args  # type: ignore[return-value]


def run(args: ContainerServiceArgs, name: str = "orders", preview: bool = False) -> Capture:
    return capture(lambda: ContainerService(name, args), preview=preview)


def doc(cap: Capture, name: str) -> dict:
    text = cap.named(name).inputs["policy"]
    assert isinstance(text, str), f"{name} policy is not known: {text!r}"
    return json.loads(text)


def container(cap: Capture, name: str = "orders") -> dict:
    definitions = json.loads(cap.named(f"{name}-taskdef").inputs["containerDefinitions"])
    assert len(definitions) == 1
    return definitions[0]


# --- children ------------------------------------------------------------------------------

def test_children_of_a_default_service():
    cap = run(base(grants=[{"kind": "table", "arn": TABLE, "access": "read"}]))
    assert sorted((r.type, r.name) for r in cap.registrations) == sorted([
        (T["component"], "orders"),
        (T["images"], "orders-images"), (T["repo"], "orders-images-repo"),
        (T["lifecycle"], "orders-images-lifecycle"),
        (T["logs"], "orders-logs"),
        (T["role"], "orders-execution"), (T["role_policy"], "orders-execution-policy"),
        (T["role"], "orders-task"), (T["role_policy"], "orders-task-policy"),
        (T["taskdef"], "orders-taskdef"),
        (T["sg"], "orders-sg"), (T["ingress"], "orders-from-lb"),
        (T["egress"], "orders-to-https"),
        (T["tg"], "orders-tg"), (T["rule"], "orders-rule"),
        (T["service"], "orders-service"),
        (T["target"], "orders-scaling"),
        (T["policy"], "orders-scale-cpu"), (T["policy"], "orders-scale-requests"),
    ])
    component = cap.named("orders").urn
    images = cap.named("orders-images").urn
    for reg in cap.registrations:
        if reg.name == "orders":
            continue
        expected_parent = images if reg.name.startswith("orders-images-") else component
        assert reg.parent == expected_parent, reg.name


def test_no_grants_means_a_task_role_without_any_policy():
    cap = run(base())
    assert [r.name for r in cap.of_type(T["role_policy"])] == ["orders-execution-policy"]
    assert len(cap.of_type(T["role"])) == 2
    assert len(cap.registrations) == 18


def test_bring_your_own_repository_creates_none():
    url = f"{ACCT}.dkr.ecr.{REGION}.amazonaws.com/shared/orders"
    arn = f"arn:aws:ecr:{REGION}:{ACCT}:repository/shared/orders"
    cap = run(base(repository_url=url, repository_arn=arn, image_tag="3f9c2a1"))
    assert cap.of_type(T["images"]) == [] and cap.of_type(T["repo"]) == []
    assert container(cap)["image"] == f"{url}:3f9c2a1"
    pull = [s for s in doc(cap, "orders-execution-policy")["Statement"]
            if s["Sid"] == "PullImage"]
    assert pull[0]["Resource"] == [arn]


def test_created_repository_is_pushable_by_the_given_roles_only():
    ci = f"arn:aws:iam::{ACCT}:role/delivery"
    cap = run(base(pusher_role_arns=[ci]))
    policy = json.loads(cap.named("orders-images-policy").inputs["policy"])
    assert policy["Statement"][0]["Principal"] == {"AWS": [ci]}
    assert policy["Statement"][1]["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": [ci]}}


def test_external_image_outside_ecr_gets_no_ecr_permissions():
    image = f"ghcr.io/acme/orders@{DIGEST}"
    cap = run(base(image=image))
    assert cap.of_type(T["images"]) == []
    assert container(cap)["image"] == image
    sids = [s["Sid"] for s in doc(cap, "orders-execution-policy")["Statement"]]
    assert sids == ["WriteLogs"]


def test_external_ecr_image_may_be_pulled_from_its_repository_only():
    image = f"210987654321.dkr.ecr.eu-west-1.amazonaws.com/base/orders@{DIGEST}"
    statements = doc(run(base(image=image)), "orders-execution-policy")["Statement"]
    assert statements[1] == {
        "Sid": "PullImage", "Effect": "Allow",
        "Action": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage",
                   "ecr:GetDownloadUrlForLayer"],
        "Resource": ["arn:aws:ecr:eu-west-1:210987654321:repository/base/orders"]}


# --- IAM -----------------------------------------------------------------------------------

TRUST = {"Version": "2012-10-17", "Statement": [{
    "Sid": "AssumeRole", "Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"},
    "Action": "sts:AssumeRole",
    "Condition": {"StringEquals": {"aws:SourceAccount": ACCT},
                  "ArnLike": {"aws:SourceArn": f"arn:aws:ecs:{REGION}:{ACCT}:*"}}}]}

SECRETS = {"DB_PASSWORD": DB_SECRET,
           "API_TOKEN": f"{API_SECRET}:token::",
           "FEATURE_FLAGS": FLAGS}

EXECUTION = {"Version": "2012-10-17", "Statement": [
    {"Sid": "EcrAuthorization", "Effect": "Allow", "Action": ["ecr:GetAuthorizationToken"],
     "Resource": ["*"]},
    {"Sid": "PullImage", "Effect": "Allow",
     "Action": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage",
                "ecr:GetDownloadUrlForLayer"],
     "Resource": [f"arn:aws:ecr:{REGION}:{ACCT}:repository/orders"]},
    {"Sid": "WriteLogs", "Effect": "Allow",
     "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
     "Resource": [f"arn:aws:logs:{REGION}:{ACCT}:log-group:/ecs/orders:log-stream:*"]},
    {"Sid": "ReadSecrets", "Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"],
     "Resource": [API_SECRET, DB_SECRET]},
    {"Sid": "ReadParameters", "Effect": "Allow", "Action": ["ssm:GetParameters"],
     "Resource": [FLAGS]},
    {"Sid": "DecryptSecrets", "Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": [KEY],
     "Condition": {"StringEquals": {"kms:ViaService": [
         f"secretsmanager.{REGION}.amazonaws.com", f"ssm.{REGION}.amazonaws.com"]}}},
]}


def test_roles_have_explicit_names_and_scoped_trust():
    cap = run(base())
    for role in ("orders-execution", "orders-task"):
        reg = cap.named(role)
        assert reg.inputs["name"] == role
        assert json.loads(reg.inputs["assumeRolePolicy"]) == TRUST
        assert "managedPolicyArns" not in reg.inputs
    assert cap.named("orders-execution-policy").inputs["role"] == "orders-execution"


def test_execution_role_statements_are_exact():
    assert doc(run(base(secrets=SECRETS)), "orders-execution-policy") == EXECUTION


def test_execution_role_without_secrets_cannot_read_or_decrypt_anything():
    statements = doc(run(base()), "orders-execution-policy")["Statement"]
    assert [s["Sid"] for s in statements] == ["EcrAuthorization", "PullImage", "WriteLogs"]


def test_platform_resolved_secrets_join_the_secret_statement():
    rds = f"arn:aws:secretsmanager:{REGION}:{ACCT}:secret:rds!db-123-XyZabc"
    statements = doc(run(base(secrets={"API_TOKEN": API_SECRET},
                              extra_secrets={"DB_PASSWORD": rds})),
                     "orders-execution-policy")["Statement"]
    assert statements[3]["Resource"] == [API_SECRET, rds]
    assert statements[4]["Condition"] == {"StringEquals": {"kms:ViaService": [
        f"secretsmanager.{REGION}.amazonaws.com"]}}


def test_task_role_statements_come_only_from_grants():
    cap = run(base(grants=[{"kind": "queue", "arn": QUEUE, "access": "write"}],
                   extra_grants=[{"kind": "table", "arn": TABLE, "access": "read_write"}]))
    assert doc(cap, "orders-task-policy") == {"Version": "2012-10-17", "Statement": [
        {"Sid": "Grant0Queue", "Effect": "Allow",
         "Action": ["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"],
         "Resource": [QUEUE]},
        {"Sid": "Platform0Table", "Effect": "Allow",
         "Action": ["dynamodb:BatchGetItem", "dynamodb:BatchWriteItem",
                    "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem",
                    "dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem",
                    "dynamodb:Query", "dynamodb:Scan", "dynamodb:UpdateItem"],
         "Resource": [TABLE, f"{TABLE}/index/*"]},
    ]}
    assert cap.named("orders-task-policy").inputs["role"] == "orders-task"


def test_exec_adds_only_the_session_channels():
    cap = run(base(exec_enabled=True))
    assert doc(cap, "orders-task-policy")["Statement"] == [
        {"Sid": "ExecSessions", "Effect": "Allow",
         "Action": ["ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
                    "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"],
         "Resource": ["*"]}]
    assert cap.named("orders-service").inputs["enableExecuteCommand"] is True


def test_iam_documents_are_known_at_preview():
    args = base(secrets=SECRETS, grants=[{"kind": "table", "arn": TABLE, "access": "read"}])
    preview = run(args, preview=True)
    applied = run(args, preview=False)
    for name in ("orders-execution-policy", "orders-task-policy"):
        assert preview.named(name).inputs["policy"] is not UNKNOWN
        assert doc(preview, name) == doc(applied, name)
    for role in ("orders-execution", "orders-task"):
        assert json.loads(preview.named(role).inputs["assumeRolePolicy"]) == TRUST
    assert doc(preview, "orders-execution-policy") == EXECUTION


# --- network -------------------------------------------------------------------------------

def test_only_the_load_balancer_may_reach_the_tasks():
    cap = run(base(port=9000))
    ingress = cap.of_type(T["ingress"])
    assert len(ingress) == 1
    rule = dict(ingress[0].inputs)
    assert rule.pop("securityGroupId") == "orders-sg-id"
    assert rule == {"ipProtocol": "tcp", "fromPort": 9000, "toPort": 9000,
                    "referencedSecurityGroupId": "sg-lb",
                    "description": "From the load balancer to the container port",
                    "tags": {}}
    assert "ingress" not in cap.named("orders-sg").inputs
    assert "egress" not in cap.named("orders-sg").inputs


def test_egress_is_https_plus_named_dependencies():
    cap = run(base(egress={"database": {"security_group_id": "sg-db", "port": 5432},
                           "cache": {"security_group_id": "sg-cache", "port": 6379}}))
    rules = {r.name: {k: v for k, v in r.inputs.items()
                      if k in ("ipProtocol", "fromPort", "toPort", "cidrIpv4",
                               "referencedSecurityGroupId", "securityGroupId")}
             for r in cap.of_type(T["egress"])}
    assert rules == {
        "orders-to-https": {"ipProtocol": "tcp", "fromPort": 443, "toPort": 443,
                            "cidrIpv4": "0.0.0.0/0", "securityGroupId": "orders-sg-id"},
        "orders-to-cache": {"ipProtocol": "tcp", "fromPort": 6379, "toPort": 6379,
                            "referencedSecurityGroupId": "sg-cache",
                            "securityGroupId": "orders-sg-id"},
        "orders-to-database": {"ipProtocol": "tcp", "fromPort": 5432, "toPort": 5432,
                               "referencedSecurityGroupId": "sg-db",
                               "securityGroupId": "orders-sg-id"},
    }


def test_service_runs_privately_in_every_given_subnet():
    service = run(base()).named("orders-service").inputs
    assert service["networkConfiguration"] == {
        "subnets": ["subnet-a", "subnet-b", "subnet-c"], "assignPublicIp": False,
        "securityGroups": ["orders-sg-id"]}


# --- service -------------------------------------------------------------------------------

def test_service_deployment_settings():
    cap = run(base(desired_count=3))
    reg = cap.named("orders-service")
    service = reg.inputs
    assert service["name"] == "orders"
    assert service["cluster"] == f"arn:aws:ecs:{REGION}:{ACCT}:cluster/shop"
    assert service["taskDefinition"] == "arn:aws:ecs:us-east-1:123456789012:orders-taskdef"
    assert service["capacityProviderStrategies"] == [{"capacityProvider": "FARGATE",
                                                      "weight": 1}]
    assert "launchType" not in service
    assert service["platformVersion"] == "LATEST"
    assert service["desiredCount"] == 3
    assert service["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    assert service["deploymentMinimumHealthyPercent"] == 100
    assert service["deploymentMaximumPercent"] == 200
    assert service["healthCheckGracePeriodSeconds"] == 60
    assert service["loadBalancers"] == [{"targetGroupArn": "arn:aws:lb:us-east-1:123456789012:"
                                                           "orders-tg",
                                         "containerName": "orders", "containerPort": 8080}]
    assert service["propagateTags"] == "SERVICE"
    assert service["enableEcsManagedTags"] is True
    assert service["waitForSteadyState"] is False
    assert service["availabilityZoneRebalancing"] == "ENABLED"
    assert reg.ignore_changes == ["desiredCount"]
    assert cap.named("orders-rule").urn in reg.dependencies


def test_spot_uses_the_spot_capacity_provider():
    service = run(base(spot=True)).named("orders-service").inputs
    assert service["capacityProviderStrategies"] == [{"capacityProvider": "FARGATE_SPOT",
                                                      "weight": 1}]


def test_autoscaling_target_and_policies():
    cap = run(base(desired_count=3, min_count=3, max_count=9, cpu_target=55,
                   requests_per_target=400))
    target = cap.named("orders-scaling").inputs
    assert {k: v for k, v in target.items() if k != "tags"} == {
        "serviceNamespace": "ecs", "scalableDimension": "ecs:service:DesiredCount",
        "resourceId": "service/shop/orders", "minCapacity": 3, "maxCapacity": 9}
    policies = {r.name: r.inputs for r in cap.of_type(T["policy"])}
    common = {"policyType": "TargetTrackingScaling", "serviceNamespace": "ecs",
              "scalableDimension": "ecs:service:DesiredCount",
              "resourceId": "service/shop/orders"}
    assert policies == {
        "orders-scale-cpu": {**common, "targetTrackingScalingPolicyConfiguration": {
            "targetValue": 55, "scaleInCooldown": 300, "scaleOutCooldown": 60,
            "predefinedMetricSpecification": {
                "predefinedMetricType": "ECSServiceAverageCPUUtilization"}}},
        "orders-scale-requests": {**common, "targetTrackingScalingPolicyConfiguration": {
            "targetValue": 400, "scaleInCooldown": 300, "scaleOutCooldown": 60,
            "predefinedMetricSpecification": {
                "predefinedMetricType": "ALBRequestCountPerTarget",
                # <load balancer arn suffix>/<target group arn suffix>
                "resourceLabel": "app/edge/50dc6c495c0c9188/orders-tg"}}},
    }


def test_autoscaling_defaults_follow_desired_count():
    target = run(base(desired_count=3)).named("orders-scaling").inputs
    assert (target["minCapacity"], target["maxCapacity"]) == (3, 6)


# --- load balancing ------------------------------------------------------------------------

def test_target_group_speaks_https_and_checks_readiness_over_https():
    tg = run(base(readiness_path="/ready", deregistration_delay=10)).named("orders-tg").inputs
    assert {k: v for k, v in tg.items() if k != "tags"} == {
        "vpcId": "vpc-0abc", "targetType": "ip", "protocol": "HTTPS", "port": 8080,
        "deregistrationDelay": 10,
        "healthCheck": {"enabled": True, "protocol": "HTTPS", "port": "traffic-port",
                        "path": "/ready", "healthyThreshold": 2, "unhealthyThreshold": 3,
                        "interval": 15, "timeout": 5, "matcher": "200"}}


def test_target_group_follows_the_container_port():
    cap = run(base(port=8443))
    tg = cap.named("orders-tg").inputs
    assert (tg["protocol"], tg["port"], tg["healthCheck"]["protocol"],
            tg["healthCheck"]["port"]) == ("HTTPS", 8443, "HTTPS", "traffic-port")
    assert cap.named("orders-service").inputs["loadBalancers"] == [{
        "targetGroupArn": "arn:aws:lb:us-east-1:123456789012:orders-tg",
        "containerName": "orders", "containerPort": 8443}]
    assert container(cap)["portMappings"] == [{"containerPort": 8443, "protocol": "tcp"}]


def test_listener_rule_defaults_to_the_key_paths_and_a_derived_priority():
    rule = run(base()).named("orders-rule").inputs
    assert rule["listenerArn"] == LISTENER
    assert rule["conditions"] == [{"pathPattern": {"values": ["/orders", "/orders/*"]}}]
    assert rule["actions"] == [{"type": "forward",
                                "targetGroupArn": "arn:aws:lb:us-east-1:123456789012:orders-tg"}]
    assert rule["priority"] == default_priority("orders")


def test_listener_rule_with_host_paths_and_priority():
    rule = run(base(host="api.example.com", paths=["/v1/orders/*"], priority=120)).named(
        "orders-rule").inputs
    assert rule["conditions"] == [{"hostHeader": {"values": ["api.example.com"]}},
                                  {"pathPattern": {"values": ["/v1/orders/*"]}}]
    assert rule["priority"] == 120


def test_default_priority_is_stable_and_in_range():
    assert default_priority("orders") == default_priority("orders")
    priorities = {default_priority(k) for k in ("orders", "payments", "catalog", "users")}
    assert len(priorities) == 4
    assert all(1000 <= p <= 49999 for p in priorities)


# --- task definition -----------------------------------------------------------------------

def test_task_definition_settings():
    cap = run(base(cpu=1024, memory=3072, cpu_architecture="ARM64"))
    td = cap.named("orders-taskdef").inputs
    assert td["family"] == "orders"
    assert (td["cpu"], td["memory"]) == ("1024", "3072")
    assert td["networkMode"] == "awsvpc"
    assert td["requiresCompatibilities"] == ["FARGATE"]
    assert td["runtimePlatform"] == {"operatingSystemFamily": "LINUX", "cpuArchitecture": "ARM64"}
    assert td["executionRoleArn"] == f"arn:aws:iam:{REGION}:{ACCT}:orders-execution"
    assert td["taskRoleArn"] == f"arn:aws:iam:{REGION}:{ACCT}:orders-task"
    assert td["volumes"] == [{"name": "tmp"}]


def test_container_definition_is_hardened():
    cap = run(base(environment={"LOG_LEVEL": "info"}, secrets=SECRETS,
                   extra_environment={"TABLE_NAME": "orders"}))
    assert container(cap) == {
        "name": "orders",
        "image": f"{ACCT}.dkr.ecr.{REGION}.amazonaws.com/orders:bootstrap",
        "essential": True,
        "user": "1000:1000",
        "readonlyRootFilesystem": True,
        "privileged": False,
        "linuxParameters": {"initProcessEnabled": True, "capabilities": {"drop": ["ALL"]}},
        "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
        "environment": [{"name": "LOG_LEVEL", "value": "info"},
                        {"name": "TABLE_NAME", "value": "orders"}],
        "secrets": [{"name": "API_TOKEN", "valueFrom": f"{API_SECRET}:token::"},
                    {"name": "DB_PASSWORD", "valueFrom": DB_SECRET},
                    {"name": "FEATURE_FLAGS", "valueFrom": FLAGS}],
        "healthCheck": {"command": [
            "CMD-SHELL",
            "curl -fsSk -o /dev/null https://127.0.0.1:8080/health/live"
            " || wget -q --no-check-certificate -O /dev/null"
            " https://127.0.0.1:8080/health/live || exit 1"],
            "interval": 15, "timeout": 5, "retries": 3, "startPeriod": 60},
        "logConfiguration": {"logDriver": "awslogs", "options": {
            "awslogs-group": "/ecs/orders", "awslogs-region": REGION,
            "awslogs-stream-prefix": "orders", "mode": "non-blocking",
            "max-buffer-size": "25m"}},
        "stopTimeout": 30,
        "mountPoints": [{"sourceVolume": "tmp", "containerPath": "/tmp", "readOnly": False}],
    }


def test_no_secret_value_reaches_the_task_definition():
    cap = run(base(secrets=SECRETS))
    text = cap.named("orders-taskdef").inputs["containerDefinitions"]
    definition = container(cap)
    assert {e["name"] for e in definition["environment"]}.isdisjoint(SECRETS)
    assert all(s["valueFrom"].startswith("arn:aws:") for s in definition["secrets"])
    assert '"value": "arn:' not in text


def test_custom_health_check_user_and_writable_root():
    cap = run(base(health_check_command=["CMD", "/app/healthcheck"], user="10001",
                   read_only_root_filesystem=False,
                   writable_root_reason="legacy framework writes its cache beside the code"))
    definition = container(cap)
    assert definition["healthCheck"]["command"] == ["CMD", "/app/healthcheck"]
    assert definition["user"] == "10001"
    assert definition["readonlyRootFilesystem"] is False
    assert definition["mountPoints"] == []
    assert "volumes" not in cap.named("orders-taskdef").inputs


def test_log_group_has_retention_and_kms():
    logs = run(base()).named("orders-logs").inputs
    assert logs == {"name": "/ecs/orders", "retentionInDays": 365, "kmsKeyId": KEY, "tags": {}}


def test_tags_reach_every_taggable_child():
    cap = run(base(tags={"service": "orders"}))
    untaggable = {T["lifecycle"], T["role_policy"], T["policy"]}  # no tags in the AWS API
    tagged = [r for r in cap.registrations if r.custom and r.type not in untaggable]
    assert len(tagged) == 12
    assert all(r.inputs.get("tags") == {"service": "orders"} for r in tagged)


# --- stable identities --------------------------------------------------------------------

def test_urns_do_not_depend_on_declaration_order():
    def program(order: list[str]) -> None:
        for key in order:
            ContainerService(key, base())

    first = capture(lambda: program(["orders", "payments"]), preview=True)
    second = capture(lambda: program(["payments", "orders"]), preview=True)
    assert sorted(r.urn for r in first.registrations) == sorted(r.urn for r in second.registrations)
    assert ("urn:pulumi:test::project::microservices:index:ContainerService$aws:ecs/service:"
            "Service::payments-service") in {r.urn for r in first.registrations}
    by_urn = {r.urn: r.inputs for r in first.registrations}
    for reg in second.registrations:
        if reg.name.endswith("-rule"):
            assert by_urn[reg.urn]["priority"] == reg.inputs["priority"]


# --- validation ----------------------------------------------------------------------------

def messages(spec: dict, az_count: int | None = None) -> list[str]:
    return [f"{config_path(p.path)}: {p.message}"
            for p in check_service(spec, az_count)]  # type: ignore[arg-type]


def test_defaults_are_valid():
    assert messages({}) == []
    assert messages({"desired_count": 3}, az_count=3) == []


@pytest.mark.parametrize(("spec", "expected"), [
    ({"cpu": 300}, "cpu: cpu 300 is not a Fargate size: use one of 256, 512, 1024, 2048, "
                   "4096, 8192, 16384"),
    ({"cpu": 256, "memory": 4096},
     "memory: memory 4096 is not allowed with cpu 256: use one of 512, 1024, 2048"),
    ({"cpu": 512, "memory": 512},
     "memory: memory 512 is not allowed with cpu 512: use one of 1024, 2048, 3072, 4096"),
    ({"cpu": 8192, "memory": 20000},
     "memory: memory 20000 is not allowed with cpu 8192: use one of 16384, 20480, 24576, "
     "28672, 32768, 36864, 40960, 45056, 49152, 53248, 57344, 61440"),
    ({"port": 80}, "port: port must be between 1024 and 65535 (got 80)"),
    ({"port": 70000}, "port: port must be between 1024 and 65535 (got 70000)"),
    ({"desired_count": 4, "min_count": 5},
     "minCount: minCount (5) must not be greater than desiredCount (4)"),
    ({"desired_count": 4, "max_count": 3},
     "maxCount: maxCount (3) must not be less than desiredCount (4)"),
    ({"cpu_target": 95}, "cpuTarget: cpuTarget must be between 10 and 90 (got 95)"),
    ({"environment": {"AWS_KEY": "AKIAABCDEFGHIJKLMNOP"}},
     "environment: AWS_KEY: plaintext credential rejected: the value looks like an AWS access "
     "key id; put it in Secrets Manager or SSM and list it under secrets"),
    ({"environment": {"DB_PASSWORD": "hunter2hunter2"}},
     "environment: DB_PASSWORD: plaintext credential rejected: the name says it holds a "
     "secret; put it in Secrets Manager or SSM and list it under secrets"),
    ({"secrets": {"DB_PASSWORD": "hunter2"}},
     "secrets: DB_PASSWORD: 'hunter2' is not a Secrets Manager secret ARN "
     "(arn:aws:secretsmanager:<region>:<account>:secret:<name>) or SSM parameter ARN "
     "(arn:aws:ssm:<region>:<account>:parameter/<name>)"),
    ({"secrets": {"DB_PASSWORD": f"arn:aws:secretsmanager:{REGION}:{ACCT}:secret:*"}},
     f"secrets: DB_PASSWORD: 'arn:aws:secretsmanager:{REGION}:{ACCT}:secret:*' is not a "
     "Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>) "
     "or SSM parameter ARN (arn:aws:ssm:<region>:<account>:parameter/<name>)"),
    ({"environment": {"DB_HOST": "db"}, "secrets": {"DB_HOST": DB_SECRET}},
     "secrets: 'DB_HOST' is set both as environment and as a secret"),
    ({"environment": {"log-level": "info"}},
     "environment: 'log-level' is not an environment variable name "
     "(letters, digits, '_')"),
    ({"image": "nginx:1.27"},
     "image: 'nginx:1.27' must be pinned by digest (name@sha256:<64 hex digits>)"),
    ({"image": f"nginx@{DIGEST}", "image_tag": "v1"},
     "image: set either image (an external image pinned by digest) or image_tag, not both"),
    ({"image_tag": "v1 beta"},
     "imageTag: 'v1 beta' is not an image tag: use up to 128 letters, digits, '_', '.' and "
     "'-'"),
    ({"read_only_root_filesystem": False},
     "writableRootReason: required (at least 10 characters) when readOnlyRootFilesystem is "
     "false: say why the container must write outside /tmp"),
    ({"read_only_root_filesystem": False, "writable_root_reason": "because"},
     "writableRootReason: required (at least 10 characters) when readOnlyRootFilesystem is "
     "false: say why the container must write outside /tmp"),
    ({"visibility": "publik"},
     "visibility: 'publik' is not allowed: use one of public, internal "
     "(did you mean 'public'?)"),
    ({"paths": ["orders/*"]}, "paths[0]: 'orders/*' must start with '/'"),
    ({"paths": []}, "paths: must list at least one path pattern"),
    ({"host": "api.example.com", "paths": ["/a", "/b", "/c", "/d", "/e"]},
     "paths: a listener rule matches at most 5 values, host and paths together (got 6)"),
    ({"host": "API example"},
     "host: 'API example' is not a host name (e.g. api.example.com or *.example.com)"),
    ({"priority": 0}, "priority: priority must be between 1 and 50000 (got 0)"),
    ({"priority": 50001}, "priority: priority must be between 1 and 50000 (got 50001)"),
    ({"liveness_path": "health"}, "livenessPath: 'health' must start with '/'"),
    ({"readiness_path": "ready"}, "readinessPath: 'ready' must start with '/'"),
    ({"user": "0:0"}, "user: '0:0' runs as root: use a non-root uid[:gid] such as 1000:1000"),
    ({"user": "root"}, "user: 'root' runs as root: use a non-root uid[:gid] such as 1000:1000"),
    ({"stop_timeout": 300}, "stopTimeout: stopTimeout must be between 2 and 120 (got 300)"),
    ({"cpu_architecture": "ARM64", "spot": True},
     "spot: Fargate Spot does not run ARM64 tasks: use cpuArchitecture X86_64 or turn spot "
     "off"),
    ({"health_check_command": ["curl", "localhost"]},
     "healthCheckCommand: must start with CMD or CMD-SHELL followed by the command"),
    ({"tables": {"orders": "admin"}},
     "tables.orders: 'admin' is not allowed: use one of read, write, read_write"),
    ({"grants": [{"kind": "queue", "arn": "arn:aws:sqs:us-east-1:123456789012:*",
                  "access": "read"}]},
     "grants[0].arn: 'arn:aws:sqs:us-east-1:123456789012:*' must be the ARN of one resource, "
     "without wildcards"),
])
def test_validation_messages(spec, expected):
    assert messages(spec) == [expected]


def test_one_task_per_availability_zone():
    assert messages({"desired_count": 2}, az_count=3) == [
        "desiredCount: desiredCount must be at least 3, one task per availability zone (got 2)",
        "minCount: minCount must be at least 3, one task per availability zone (got 2)"]
    assert messages({"desired_count": 3, "min_count": 2}, az_count=3) == [
        "minCount: minCount must be at least 3, one task per availability zone (got 2)"]


def test_memory_table_matches_the_fargate_limits():
    assert {cpu: (sizes[0], sizes[-1], len(sizes)) for cpu, sizes in FARGATE_SIZES.items()} == {
        256: (512, 2048, 3), 512: (1024, 4096, 4), 1024: (2048, 8192, 7),
        2048: (4096, 16384, 13), 4096: (8192, 30720, 23), 8192: (16384, 61440, 12),
        16384: (32768, 122880, 12)}


def test_component_reports_every_problem_with_its_name():
    with pytest.raises(ArgsError) as err:
        run(base(require_task_per_az=True, desired_count=2, port=80))
    assert str(err.value) == (
        "ContainerService 'orders': port: port must be between 1024 and 65535 (got 80)\n"
        "ContainerService 'orders': desiredCount: desiredCount must be at least 3, one task "
        "per availability zone (got 2)\n"
        "ContainerService 'orders': minCount: minCount must be at least 3, one task per "
        "availability zone (got 2)")


def test_subnets_may_be_an_output_list():
    def program() -> None:
        ContainerService("orders", base(require_task_per_az=True, desired_count=3,
                                        subnet_ids=pulumi.Output.from_input(["s-1", "s-2",
                                                                             "s-3"])))

    cap = capture(program, preview=False)
    assert cap.named("orders-service").inputs["networkConfiguration"]["subnets"] == [
        "s-1", "s-2", "s-3"]


def test_tier_rule_applies_only_when_required():
    cap = run(base(desired_count=2, require_task_per_az=False))
    assert cap.named("orders-service").inputs["desiredCount"] == 2


@pytest.mark.parametrize(("overrides", "expected"), [
    ({"repository_url": "x"},
     "repositoryArn: repository_url and repository_arn must be given together"),
    ({"log_retention_days": 10},
     "logRetentionDays: 10 is not a CloudWatch Logs retention; use one of 1, 3, 5, 7, 14, 30, "
     "60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653"),
    ({"subnet_ids": []}, "subnetIds: must list at least one private subnet"),
    ({"require_task_per_az": True, "desired_count": 3, "subnet_ids": ["subnet-a"]},
     "subnetIds: must list a subnet in each of the 3 availability zones (got 1)"),
    ({"extra_environment": {"LOG_LEVEL": "info"}, "environment": {"LOG_LEVEL": "debug"}},
     "environment: 'LOG_LEVEL' is also set by the platform (database, cache or "
     "table settings)"),
    ({"extra_secrets": {"DB_PASSWORD": FLAGS}},
     f"extraSecrets: DB_PASSWORD: '{FLAGS}' is not a Secrets Manager secret ARN"),
    ({"image": f"nginx@{DIGEST}", "repository_url": "u", "repository_arn": "a"},
     "image: an external image conflicts with repository_url/repository_arn"),
    ({"kms_key_arn": "alias/platform"},
     "kmsKeyArn: 'alias/platform' is not a KMS key ARN (arn:aws:kms:...)"),
    ({"egress": {"database": {"security_group_id": "sg-db", "port": 0}}},
     "egress.database.port: port must be between 1 and 65535 (got 0)"),
])
def test_wiring_messages(overrides, expected):
    with pytest.raises(ArgsError) as err:
        run(base(**overrides))
    assert str(err.value) == f"ContainerService 'orders': {expected}"


def test_validation_happens_before_any_child():
    registered: list[str] = []

    def program() -> None:
        ContainerService("orders", base(cpu=300))

    with pytest.raises(ArgsError):
        capture(program, preview=True, on_register=lambda r: registered.append(r.type))
    assert registered == [T["component"]]
