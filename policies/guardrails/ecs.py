"""ECS on Fargate: clusters, services, task definitions and their containers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from .core import (
    Param,
    Resource,
    Settings,
    Stack,
    as_list,
    at_least,
    credential_in,
    is_unknown,
    load_json,
    must_be_true,
    resource_policy,
    stack_policy,
    unknown,
)
from .credentials import credential_in_argument

CLUSTER = "aws:ecs/cluster:Cluster"
SERVICE = "aws:ecs/service:Service"
TASK = "aws:ecs/taskDefinition:TaskDefinition"
ROLE = "aws:iam/role:Role"
SCALING_TARGET = "aws:appautoscaling/target:Target"
SCALING_POLICY = "aws:appautoscaling/policy:Policy"

ECR_IMAGE_RE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/[a-z0-9._/-]+")
DIGEST_RE = re.compile(r"@sha256:[0-9a-f]{64}$")


def containers(r: Resource) -> list[dict[str, Any]] | Any:
    """The task's container definitions, UNKNOWN, or raises ValueError."""
    value = load_json(r.get("containerDefinitions"))
    if is_unknown(value):
        return value
    return [c for c in as_list(value) if isinstance(c, dict)]


def _per_container(r: Resource, claim: str) -> Iterator[tuple[str, dict[str, Any] | None]]:
    """(label, container) pairs; a (message, None) pair when definitions can't be read."""
    try:
        defs = containers(r)
    except ValueError as exc:
        yield f"containerDefinitions {exc}", None
        return
    if is_unknown(defs):
        yield unknown("containerDefinitions", claim), None
        return
    for i, c in enumerate(defs):
        yield f"container {c.get('name') or i}", c


@resource_policy(
    "ecs-service-no-public-ip",
    types=(SERVICE,),
    description="ECS services do not assign public IP addresses to tasks.",
    severity="high", fsbp=("ECS.2",), refs=("checkov CKV_AWS_333", "CT.ECS.PR.9"),
    remediation="Run tasks in private subnets with networkConfiguration.assignPublicIp false; "
                "egress goes through NAT gateways or VPC endpoints.",
)
def service_no_public_ip(r: Resource, s: Settings) -> Iterator[str]:
    value = r.get("networkConfiguration.assignPublicIp")
    if is_unknown(value):
        yield unknown("networkConfiguration.assignPublicIp", "tasks get no public IP")
    elif value is True:
        yield "networkConfiguration.assignPublicIp is true"


@resource_policy(
    "ecs-service-circuit-breaker",
    types=(SERVICE,),
    description="ECS services roll back failed deployments automatically (deployment circuit "
                "breaker with rollback).",
    severity="medium",
    remediation="Set deploymentCircuitBreaker {enable: true, rollback: true}.",
)
def service_circuit_breaker(r: Resource, s: Settings) -> Iterator[str]:
    for key in ("enable", "rollback"):
        path = f"deploymentCircuitBreaker.{key}"
        yield from must_be_true(r.get(path), path, "failed deployments roll back")


@resource_policy(
    "ecs-service-min-desired-count",
    types=(SERVICE,),
    description="ECS services run at least minDesiredCount tasks, so one task or AZ can fail.",
    severity="medium", guardrail="multi-az",
    params={"minDesiredCount": Param("integer", 2, "Fewest tasks a service may run.", minimum=1)},
    remediation="Set desiredCount to at least minDesiredCount (one task per availability zone "
                "in staging and prod).",
)
def service_desired_count(r: Resource, s: Settings) -> Iterator[str]:
    need = s["minDesiredCount"]
    yield from at_least(r.get("desiredCount"), "desiredCount", need,
                        f"the service runs {need} tasks")


@resource_policy(
    "ecs-fargate-platform-latest",
    types=(SERVICE,),
    description="Fargate services run on the LATEST platform version.",
    severity="low", fsbp=("ECS.10",),
    remediation="Leave platformVersion unset or set it to LATEST.",
)
def fargate_latest(r: Resource, s: Settings) -> Iterator[str]:
    version = r.get("platformVersion")
    if is_unknown(version):
        yield unknown("platformVersion", "the service runs the LATEST platform")
    elif version not in (None, "LATEST"):
        yield f"platformVersion is pinned to {version}; use LATEST"


@resource_policy(
    "ecs-cluster-container-insights",
    types=(CLUSTER,),
    description="ECS clusters have Container Insights enabled.",
    severity="low", fsbp=("ECS.12",), refs=("cdk-nag AS-ECS4", "checkov CKV_AWS_65"),
    remediation="Add settings [{name: containerInsights, value: enabled}] (or enhanced).",
)
def container_insights(r: Resource, s: Settings) -> Iterator[str]:
    settings = r.get("settings")
    if is_unknown(settings):
        yield unknown("settings", "Container Insights is enabled")
        return
    for item in as_list(settings):
        if isinstance(item, dict) and item.get("name") == "containerInsights" \
                and item.get("value") in ("enabled", "enhanced"):
            return
    yield "containerInsights is not enabled"


def _exec_config_problems(conf: Any) -> Iterator[str]:
    if is_unknown(conf):
        yield unknown("configuration.executeCommandConfiguration", "ECS Exec is encrypted")
        return
    conf = conf if isinstance(conf, dict) else {}
    if conf.get("kmsKeyId") is None:
        yield "executeCommandConfiguration.kmsKeyId is not set"
    logging = conf.get("logging", "DEFAULT")
    if logging != "OVERRIDE":
        yield (f"executeCommandConfiguration.logging is {logging}; use OVERRIDE with an "
               "encrypted log group")
    else:
        log = conf.get("logConfiguration") or {}
        if is_unknown(log) or log.get("cloudWatchEncryptionEnabled") is not True \
                or log.get("cloudWatchLogGroupName") is None:
            yield ("executeCommandConfiguration.logConfiguration must name a log group with "
                   "cloudWatchEncryptionEnabled true")


@stack_policy(
    "ecs-exec-logging-encrypted",
    types=(CLUSTER, SERVICE),
    description="Where a service enables ECS Exec, its cluster encrypts the sessions with a "
                "KMS key and logs them to encrypted CloudWatch Logs.",
    severity="medium", refs=("checkov CKV_AWS_223", "checkov CKV_AWS_224"),
    remediation="Set the cluster's configuration.executeCommandConfiguration {kmsKeyId, "
                "logging: OVERRIDE, logConfiguration {cloudWatchLogGroupName, "
                "cloudWatchEncryptionEnabled: true}}, or leave enableExecuteCommand off.",
)
def exec_logging(stack: Stack, s: Settings) -> Iterator[tuple[Resource, str]]:
    for service in stack.of_type(SERVICE):
        enabled = service.get("enableExecuteCommand")
        if enabled is not True and not is_unknown(enabled):
            continue
        clusters = service.deps("cluster", (CLUSTER,))
        if not clusters:
            yield service, ("enableExecuteCommand is on and the cluster is not a resource of "
                            "this stack; cannot prove Exec sessions are encrypted and logged")
        for cluster in clusters:
            for problem in _exec_config_problems(
                    cluster.get("configuration.executeCommandConfiguration")):
                yield cluster, f"{problem} (service {service.name} enables ECS Exec)"


@resource_policy(
    "ecs-task-awsvpc",
    types=(TASK,),
    description="Task definitions use the awsvpc network mode and a private PID namespace.",
    severity="medium", fsbp=("ECS.1", "ECS.3"), refs=("CT.ECS.PR.4", "checkov CKV_AWS_335"),
    remediation="Set networkMode: awsvpc and leave pidMode unset (never host).",
)
def task_awsvpc(r: Resource, s: Settings) -> Iterator[str]:
    mode = r.get("networkMode")
    if is_unknown(mode):
        yield unknown("networkMode", "the task uses awsvpc")
    elif mode != "awsvpc":
        yield f"networkMode is {mode or 'not set'}; use awsvpc"
    if r.get("pidMode") == "host":
        yield "pidMode is host; tasks must not share the host's process namespace"


@resource_policy(
    "ecs-task-memory-limit",
    types=(TASK,),
    description="Task definitions set task-level CPU and memory limits.",
    severity="low", refs=("CT.ECS.PR.7",),
    remediation="Set cpu and memory on the task definition.",
)
def task_memory(r: Resource, s: Settings) -> Iterator[str]:
    for key in ("memory", "cpu"):
        if r.get(key) is None:
            yield f"{key} is not set"


@resource_policy(
    "ecs-container-not-privileged",
    types=(TASK,),
    description="Containers do not run privileged.",
    severity="high", fsbp=("ECS.4",), refs=("checkov CKV_AWS_334", "CT.ECS.PR.11"),
    remediation="Remove privileged: true from the container definition.",
)
def container_not_privileged(r: Resource, s: Settings) -> Iterator[str]:
    for label, c in _per_container(r, "no container is privileged"):
        if c is None:
            yield label
        elif c.get("privileged") is True:
            yield f"{label} is privileged"


@resource_policy(
    "ecs-container-readonly-rootfs",
    types=(TASK,),
    description="Containers have a read-only root filesystem.",
    severity="medium", fsbp=("ECS.5",), refs=("checkov CKV_AWS_336", "CT.ECS.PR.6"),
    remediation="Set readonlyRootFilesystem: true; mount a volume for paths that must be "
                "writable.",
)
def container_readonly(r: Resource, s: Settings) -> Iterator[str]:
    for label, c in _per_container(r, "root filesystems are read-only"):
        if c is None:
            yield label
        elif c.get("readonlyRootFilesystem") is not True:
            yield f"{label} has a writable root filesystem"


@resource_policy(
    "ecs-container-non-root-user",
    types=(TASK,),
    description="Containers run as a non-root user.",
    severity="medium", refs=("CT.ECS.PR.3",),
    remediation="Set user to a non-root UID (e.g. '1000:1000') in the container definition.",
)
def container_non_root(r: Resource, s: Settings) -> Iterator[str]:
    for label, c in _per_container(r, "containers run as non-root"):
        if c is None:
            yield label
            continue
        user = c.get("user")
        if user is None:
            yield f"{label} sets no user (the image default may be root)"
        elif str(user).split(":")[0] in ("root", "0"):
            yield f"{label} runs as root"


@resource_policy(
    "ecs-container-log-configuration",
    types=(TASK,),
    description="Every container ships its logs (awslogs or firelens).",
    severity="medium", fsbp=("ECS.9",), refs=("cdk-nag AS-ECS7", "CT.ECS.PR.5"),
    remediation="Set logConfiguration {logDriver: awslogs, options: {awslogs-group, "
                "awslogs-region, awslogs-stream-prefix}} on every container.",
)
def container_logs(r: Resource, s: Settings) -> Iterator[str]:
    for label, c in _per_container(r, "every container ships its logs"):
        if c is None:
            yield label
        elif not isinstance(c.get("logConfiguration"), dict) \
                or not c["logConfiguration"].get("logDriver"):
            yield f"{label} has no logConfiguration"


@resource_policy(
    "ecs-container-health-check",
    types=(TASK,),
    description="Every essential container has a health check (its liveness probe: ECS "
                "replaces a task whose container stays unhealthy).",
    severity="medium", refs=("AWS Well-Architected REL11-BP01",),
    remediation="Set healthCheck {command: [CMD-SHELL, 'curl -f http://localhost:8080/health/live "
                "|| exit 1'], interval, timeout, retries, startPeriod} on each essential "
                "container.",
)
def container_health_check(r: Resource, s: Settings) -> Iterator[str]:
    for label, c in _per_container(r, "every essential container has a health check"):
        if c is None:
            yield label
        elif c.get("essential", True) is not False and not (
                isinstance(c.get("healthCheck"), dict) and c["healthCheck"].get("command")):
            yield f"{label} has no healthCheck (no liveness probe)"


@resource_policy(
    "ecs-image-provenance",
    types=(TASK,),
    description="Container images come from the platform's ECR registry or are pinned by "
                "digest.",
    severity="high", guardrail="image-scanning",
    params={"ecrAccountIds": Param("array", [], "Accounts whose ECR registries are trusted "
                                   "(empty: any account's ECR).")},
    remediation="Reference images as <account>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag> "
                "from a scanned, immutable repository, or pin third-party images by "
                "@sha256 digest.",
)
def image_provenance(r: Resource, s: Settings) -> Iterator[str]:
    accounts = s["ecrAccountIds"]
    for label, c in _per_container(r, "images come from ECR or are pinned by digest"):
        if c is None:
            yield label
            continue
        image = c.get("image")
        if image is None or is_unknown(image):
            yield unknown(f"{label} image", "it comes from ECR or is pinned by digest")
            continue
        match = ECR_IMAGE_RE.match(str(image))
        if DIGEST_RE.search(str(image)):
            continue
        if match and (not accounts or match.group("account") in accounts):
            continue
        yield (f"{label} image {image} is neither from the platform's ECR nor pinned by "
               "digest")


@resource_policy(
    "ecs-no-plaintext-secrets",
    types=(TASK,),
    description="Container environment variables, commands and entry points hold no "
                "credentials; secrets come from Secrets Manager or SSM via the secrets list.",
    severity="critical", guardrail="no-static-credentials", fsbp=("ECS.8",),
    refs=("cdk-nag AS-ECS2", "CT.ECS.PR.12"),
    remediation="Move the value to Secrets Manager or SSM Parameter Store and reference it "
                "under the container's secrets (valueFrom ARN).",
)
def ecs_plaintext(r: Resource, s: Settings) -> Iterator[str]:
    for label, c in _per_container(r, "no container environment holds a credential"):
        if c is None:
            yield label
            continue
        for entry in as_list(c.get("environment")):
            if not isinstance(entry, dict):
                continue
            name, value = str(entry.get("name", "")), entry.get("value")
            if is_unknown(value):
                yield unknown(f"{label} environment {name}", "it holds no credential")
                continue
            reason = credential_in(name, value)
            if reason:
                yield f"{label} environment {name}: {reason}"
        for key in ("command", "entryPoint"):
            yield from _arguments_with_credentials(label, key, c.get(key))


def _arguments_with_credentials(label: str, key: str, args: Any) -> Iterator[str]:
    if is_unknown(args):
        yield unknown(f"{label} {key}", "it holds no credential")
        return
    for i, arg in enumerate(as_list(args)):
        if is_unknown(arg):
            yield unknown(f"{label} {key}[{i}]", "it holds no credential")
            continue
        for word in str(arg).replace("export ", " ").split():
            reason = credential_in_argument(word.strip("'\";&"))
            if reason:
                yield f"{label} {key}[{i}]: {reason}"
                break


@stack_policy(
    "ecs-task-role-separate",
    types=(TASK, ROLE),
    description="A task's role (what the app may do) is not its execution role (what ECS "
                "needs to start it).",
    severity="medium", refs=("checkov CKV_AWS_249",),
    remediation="Create separate task and execution roles; grant the execution role only ECR "
                "pull, log writes and the task's secret ARNs.",
)
def task_role_separate(stack: Stack, s: Settings) -> Iterator[tuple[Resource, str]]:
    for task in stack.of_type(TASK):
        task_arn, exec_arn = task.get("taskRoleArn"), task.get("executionRoleArn")
        if task_arn is None or exec_arn is None:
            continue
        shared = [r for r in task.deps("taskRoleArn", (ROLE,))
                  if r in task.deps("executionRoleArn", (ROLE,))]
        if shared or (not is_unknown(task_arn) and task_arn == exec_arn):
            yield task, "taskRoleArn and executionRoleArn are the same role"
        elif is_unknown(task_arn) and not task.deps("taskRoleArn"):
            yield task, unknown("taskRoleArn", "the task role differs from the execution role")


def _scales(target: Resource, service: Resource) -> bool:
    if service in target.deps("resourceId"):
        return True
    resource_id, name = target.get("resourceId"), service.get("name")
    return isinstance(resource_id, str) and isinstance(name, str) \
        and resource_id.startswith("service/") and resource_id.endswith(f"/{name}")


@stack_policy(
    "ecs-service-autoscaling",
    types=(SERVICE, SCALING_TARGET, SCALING_POLICY),
    description="ECS services are scaled by Application Auto Scaling, with a scaling policy "
                "and a minimum capacity that never drops below minCapacity tasks.",
    severity="medium", guardrail="multi-az", refs=("cdk-nag ECSServiceAutoScaling",
                                                   "AWS Well-Architected REL07-BP01"),
    params={"minCapacity": Param("integer", 2, "Fewest tasks autoscaling may scale a service "
                                 "down to (one per availability zone in prod).", minimum=1)},
    remediation="Add aws.appautoscaling.Target (ecs:service:DesiredCount, resourceId "
                "service/<cluster>/<service>, minCapacity >= minCapacity) and a "
                "TargetTrackingScaling aws.appautoscaling.Policy on it.",
)
def service_autoscaling(stack: Stack, s: Settings) -> Iterator[tuple[Resource, str]]:
    need = s["minCapacity"]
    targets = [t for t in stack.of_type(SCALING_TARGET)
               if t.get("scalableDimension") == "ecs:service:DesiredCount"]
    policies = stack.of_type(SCALING_POLICY)
    for service in stack.of_type(SERVICE):
        found = [t for t in targets if _scales(t, service)]
        if not found:
            yield service, "no Application Auto Scaling target scales this service"
        for target in found:
            for problem in at_least(target.get("minCapacity"), "minCapacity", need,
                                    f"the service keeps {need} tasks"):
                yield target, problem
            if not any(target in p.deps() for p in policies):
                yield target, "the scaling target has no scaling policy"


CAPACITY_PROVIDERS = "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders"
SPOT = "FARGATE_SPOT"


@resource_policy(
    "ecs-no-fargate-spot",
    types=(CAPACITY_PROVIDERS, SERVICE),
    description="Clusters offer no Fargate Spot capacity and services ask for none, unless "
                "the environment accepts that AWS may stop any Spot task at two minutes' "
                "notice (allowFargateSpot).",
    severity="medium", refs=("AWS Fargate Spot: task interruptions",),
    params={"allowFargateSpot": Param("boolean", False, "Whether tasks may run on Fargate "
                                      "Spot (true where interruptions are acceptable: dev, "
                                      "staging).")},
    remediation="Leave FARGATE_SPOT out of the cluster's capacityProviders and of every "
                "capacity provider strategy; run on FARGATE.",
)
def no_fargate_spot(r: Resource, s: Settings) -> Iterator[str]:
    if s["allowFargateSpot"]:
        return
    if r.type == CAPACITY_PROVIDERS:
        providers = r.get("capacityProviders")
        if is_unknown(providers):
            yield unknown("capacityProviders", "the cluster offers no Fargate Spot")
        elif SPOT in as_list(providers):
            yield "capacityProviders includes FARGATE_SPOT"
    key = ("defaultCapacityProviderStrategies" if r.type == CAPACITY_PROVIDERS
           else "capacityProviderStrategies")
    strategies = r.get(key)
    if is_unknown(strategies):
        yield unknown(key, "no task runs on Fargate Spot")
        return
    for i, item in enumerate(as_list(strategies)):
        if isinstance(item, dict) and item.get("capacityProvider") == SPOT:
            yield f"{key}[{i}] places tasks on FARGATE_SPOT"
