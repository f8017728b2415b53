"""Container service: one HTTPS microservice on ECS Fargate behind a shared load balancer.

What it builds, all children of the component:

- a log group ``/ecs/<name>`` (retention, KMS);
- an execution role (pulls the image, writes logs, reads the listed secrets) and a task role
  (only what ``grants`` name; no policy at all without grants). Both are inline
  ``aws.iam.RolePolicy`` documents rather than managed policies: they live and die with the
  role, cannot be attached elsewhere by mistake, and their JSON is built from ARNs assembled
  from known parts (region, account, names) so it is known at preview;
- a task definition: non-root user, read-only root filesystem (with a task-storage volume at
  ``/tmp``, since Fargate has no tmpfs), no privileges, all Linux capabilities dropped, a
  liveness health check, awslogs logging, secrets by ARN only;
- a security group: ingress only from the load balancer's security group on the container
  port; egress 443 anywhere (AWS APIs through NAT or VPC endpoints: ECR, Logs, Secrets
  Manager, STS) and, per ``egress`` entry, the given port to the given security group (a
  database, a cache) instead of the whole VPC CIDR. DNS needs no rule: security groups do not
  filter traffic to the VPC's Amazon-provided resolver;
- a target group (ip targets, HTTPS, readiness health check over HTTPS) and a listener rule
  (host/path);
- the ECS service (Fargate or Fargate Spot capacity, private subnets, no public IP,
  circuit breaker with rollback, 100/200 % deployment window, AZ rebalancing);
- Application Auto Scaling: a target plus CPU and request-count target-tracking policies.
  Scaling owns the desired count after creation, so the service ignores later changes to it.

TLS to the task: the load balancer speaks HTTPS to the container port and checks readiness
over HTTPS, so traffic is encrypted on every hop, the last one inside the VPC included. The
container terminates TLS itself. Its certificate may be self-signed and generated at start
(what ``services/web`` does): an Application Load Balancer does not validate target
certificates, and the VPC authenticates the traffic between load balancer and target at the
packet level. The README's "TLS to the task" section describes the choice and its
alternative (ECS Service Connect with certificates from AWS Private CA).

Health check command: the default runs ``curl`` and falls back to ``wget`` through
``/bin/sh`` (``CMD-SHELL``), which covers Debian/Ubuntu-based and Alpine/BusyBox-based
images. It calls the liveness path over HTTPS on loopback without verifying the certificate:
the probe talks to its own process, and a generated certificate has no issuer to verify
against. Images without a shell (distroless, scratch) must set ``health_check_command`` to an
exec form such as ``["CMD", "/app/healthcheck"]``.

Images: either the service's own ECR repository (``image_tag``, default ``bootstrap``: the
pipeline pushes that tag once, then deploys by setting ``image_tag`` to a commit id; tags are
immutable) or an external ``image`` pinned by digest. Until an image with the tag exists the
first deployment fails and the circuit breaker stops it; ``pulumi up`` itself does not wait.

KMS: one key (``kms_key_arn``) encrypts the log group and, by assumption, the secrets; its key
policy must allow ``logs.<region>.amazonaws.com``. ECR pulls need no KMS permission (ECR uses a
grant of its own).
"""


import re
import zlib
from collections.abc import Mapping, Sequence
from typing import Any, NotRequired

import pulumi
import pulumi_aws as aws
from typing_extensions import TypedDict

from .base import (
    Statement,
    allow,
    child_opts,
    invoke_opts,
    key_statement,
    policy_document,
    service_trust,
    type_token,
)
from .environment import LOG_RETENTION_DAYS
from .grants import ACCESS_LEVELS, GrantConfigSpec, GrantSpec, check_grants, grant_statements
from .image_repository import ImageRepository
from .load_balancer import listener_rule, routed_target_group
from .validation import (
    PathItem,
    Problem,
    check_arn,
    check_choice,
    check_environment,
    check_key,
    check_range,
    raise_for,
)

# Fargate task sizes: CPU units -> allowed memory (MiB), from the AWS Fargate task size table.
FARGATE_SIZES: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}
_PredefinedMetric = (aws.appautoscaling
                     .PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs)

VISIBILITIES = ("public", "internal")
ARCHITECTURES = ("X86_64", "ARM64")
TARGET_PROTOCOL = "HTTPS"
"""What the load balancer speaks to tasks and health-checks them with: TLS on every hop."""
MAX_RULE_VALUES = 5
"""An ALB listener rule evaluates at most five condition values (host and paths together)."""

DEFAULTS: dict[str, Any] = {
    "image_tag": "bootstrap", "cpu": 256, "memory": 512, "cpu_architecture": "X86_64",
    "port": 8080, "desired_count": 2, "cpu_target": 60, "requests_per_target": 1000,
    "liveness_path": "/health/live", "readiness_path": "/health/ready",
    "health_check_grace_period": 60, "deregistration_delay": 30, "stop_timeout": 30,
    "visibility": "internal", "read_only_root_filesystem": True, "user": "1000:1000",
    "spot": False, "exec_enabled": False,
}

DIGEST_RE = re.compile(r"^[a-z0-9][a-z0-9._/:-]*@sha256:[a-f0-9]{64}$")
TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
HOST_RE = re.compile(r"^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
SECRET_ARN_RE = re.compile(
    r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@!-]+"
    r"(:[^:*?]*:[^:*?]*:[^:*?]*)?$")
PARAMETER_ARN_RE = re.compile(r"^arn:aws[a-z-]*:ssm:[a-z0-9-]+:\d{12}:parameter/[A-Za-z0-9/_.-]+$")
ECR_IMAGE_RE = re.compile(
    r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com/([a-z0-9._/-]+)@sha256:[a-f0-9]{64}$")


class CustomMetricSpec(TypedDict):
    """A per-pod metric the autoscaler also tracks (served by a custom metrics adapter)."""

    name: str
    """Metric name as the custom metrics API serves it, e.g. ``http_requests_per_second``."""
    average_value: int
    """Average per pod the autoscaler aims for, 1-1000000."""


class ServiceSpec(TypedDict):
    """One service as the stack file describes it (under ``services.<key>``)."""

    runtime: NotRequired[str]
    """Where it runs: ``ecs`` (default, ECS on Fargate) or ``eks`` (Kubernetes on the
    stack's EKS cluster, which the ``eks`` section defines)."""
    image_digest: NotRequired[str]
    """Runtime eks (required there): the image to run from the service's own scanned
    repository, by digest (``sha256:<64 hex>``)."""
    custom_metric: NotRequired[CustomMetricSpec]
    """Runtime eks: a per-pod metric the autoscaler tracks besides CPU."""
    image_tag: NotRequired[str]
    """Runtime ecs: tag to run from the service's own ECR repository (default
    ``bootstrap``). Tags are immutable: deploy a new version by setting a new tag (e.g. the
    commit id)."""
    image: NotRequired[str]
    """Runtime ecs: an external image instead of the service's repository, pinned by digest
    (``name@sha256:<64 hex>``). Conflicts with ``image_tag``."""
    cpu: NotRequired[int]
    """CPU units, 1024 per vCPU (default 256). ecs: the task size, 256, 512, 1024, 2048,
    4096, 8192 or 16384; eks: the container's request and limit, 64-16384."""
    memory: NotRequired[int]
    """Memory in MiB (default 512). ecs: one Fargate allows for ``cpu``; eks: the
    container's request and limit, 64-65536."""
    cpu_architecture: NotRequired[str]
    """``X86_64`` (default) or ``ARM64`` (Graviton; not on Fargate Spot; on eks a node
    group must run it)."""
    port: NotRequired[int]
    """Container port the application serves HTTPS on, 1024-65535 (default 8080); the load
    balancer forwards to it, and checks readiness on it, over HTTPS."""
    desired_count: NotRequired[int]
    """Tasks at creation (default 2); autoscaling owns the count afterwards."""
    min_count: NotRequired[int]
    """Fewest tasks autoscaling keeps (default ``desired_count``)."""
    max_count: NotRequired[int]
    """Most tasks autoscaling starts (default twice ``desired_count``)."""
    cpu_target: NotRequired[int]
    """Average CPU utilisation (percent, 10-90) autoscaling aims for (default 60)."""
    requests_per_target: NotRequired[int]
    """Runtime ecs: load balancer requests per task autoscaling aims for (default 1000)."""
    liveness_path: NotRequired[str]
    """Path the container health check calls; failing tasks are replaced
    (default ``/health/live``)."""
    readiness_path: NotRequired[str]
    """Path the load balancer's health check calls; failing tasks get no traffic
    (default ``/health/ready``)."""
    health_check_command: NotRequired[list[str]]
    """Runtime ecs: container health check command, ``["CMD", ...]`` or ``["CMD-SHELL", "..."]``;
    default: curl, else wget, of ``liveness_path`` through ``/bin/sh``."""
    health_check_grace_period: NotRequired[int]
    """Seconds after start before failing load balancer health checks count, 0-3600
    (default 60)."""
    deregistration_delay: NotRequired[int]
    """Seconds the load balancer drains a stopping task, 0-3600 (default 30)."""
    stop_timeout: NotRequired[int]
    """Seconds between SIGTERM and SIGKILL, 2-120 (default 30)."""
    visibility: NotRequired[str]
    """``internal`` (default: only the internal load balancer routes to it) or ``public``."""
    host: NotRequired[str]
    """Host header to match (e.g. ``api.example.com``); default: any host."""
    paths: NotRequired[list[str]]
    """Path patterns to match, each starting with ``/`` (default ``/<key>`` and
    ``/<key>/*``)."""
    priority: NotRequired[int]
    """Listener rule priority, 1-50000; default derived from the key (1000-49999)."""
    environment: NotRequired[dict[str, str]]
    """Plain environment variables; values that look like credentials are rejected."""
    secrets: NotRequired[dict[str, str]]
    """Environment variables read at start from Secrets Manager secret ARNs (optionally with
    ``:json-key:stage:version``) or SSM parameter ARNs."""
    grants: NotRequired[list[GrantConfigSpec]]
    """What the application may do, one resource each (see grants)."""
    read_only_root_filesystem: NotRequired[bool]
    """Mount the root filesystem read-only (default true; ``/tmp`` stays writable)."""
    writable_root_reason: NotRequired[str]
    """Why the root filesystem must be writable (required, 10+ characters, when
    ``read_only_root_filesystem`` is false)."""
    user: NotRequired[str]
    """uid[:gid] the container runs as (default ``1000:1000``; root is rejected)."""
    spot: NotRequired[bool]
    """Runtime ecs: run on Fargate Spot capacity (default false; cheaper, may be interrupted)."""
    exec_enabled: NotRequired[bool]
    """Runtime ecs: allow ECS Exec sessions into running tasks (default false)."""
    database: NotRequired[str]
    """Key of a database in the stack this service connects to."""
    cache: NotRequired[str]
    """Key of a cache in the stack this service connects to."""
    tables: NotRequired[dict[str, str]]
    """Tables in the stack this service uses: table key -> read, write or read_write."""


class ServiceEgressArgs(TypedDict):
    """One extra egress destination: a port on another security group."""

    security_group_id: pulumi.Input[str]
    """Security group of the destination (e.g. the database's)."""
    port: int
    """TCP port on the destination."""


class ContainerServiceArgs(ServiceSpec):
    """A service's settings plus the wiring the platform provides."""

    key: NotRequired[str]
    """The service's key in the stack file (default: the component name); names the
    container and gives the default paths and priority."""
    cluster_arn: pulumi.Input[str]
    """ECS cluster to run in (it must offer the FARGATE capacity provider, and FARGATE_SPOT
    for a service that asks for Spot)."""
    cluster_name: pulumi.Input[str]
    """Name of that cluster (for the autoscaling resource id)."""
    vpc_id: pulumi.Input[str]
    """VPC of the subnets and the target group."""
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Private subnets to run tasks in, one per availability zone (a list, or an output of
    one; only a list can be checked against ``az_count`` up front)."""
    az_count: NotRequired[int]
    """Availability zones the subnets span (for ``require_task_per_az``)."""
    require_task_per_az: NotRequired[bool]
    """Reject desired/min counts below ``az_count`` (default false; the tier decides)."""
    listener_arn: pulumi.Input[str]
    """HTTPS listener of the load balancer that routes to this service."""
    load_balancer_security_group_id: pulumi.Input[str]
    """Security group of that load balancer; the only allowed source of traffic."""
    load_balancer_arn_suffix: pulumi.Input[str]
    """The load balancer's ARN suffix (``app/<name>/<id>``), for request-count scaling."""
    repository_url: NotRequired[pulumi.Input[str]]
    """Bring-your-own ECR repository URL (with ``repository_arn``); default: create one."""
    repository_arn: NotRequired[pulumi.Input[str]]
    """ARN of that repository; the execution role may pull from it only."""
    pusher_role_arns: NotRequired[list[pulumi.Input[str]]]
    """Roles allowed to push to a created repository (see ImageRepository)."""
    kms_key_arn: pulumi.Input[str]
    """Customer-managed KMS key for logs, the created repository and secrets."""
    kms_key_alias: NotRequired[str]
    """That key's alias (``alias/<name>``): IAM statements name the key through it, so they
    are known before the key exists."""
    extra_parameters: NotRequired[dict[str, pulumi.Input[str]]]
    """Values the platform publishes in SSM Parameter Store (endpoints, SecureString
    secrets): env name -> parameter ARN, injected at start; the execution role may read
    exactly these."""
    log_retention_days: NotRequired[int]
    """CloudWatch Logs retention (default 90); one of the values CloudWatch accepts."""
    extra_grants: NotRequired[list[GrantSpec]]
    """Grants the platform resolved (tables, database users); ARNs may be outputs."""
    key_actions: NotRequired[list[str]]
    """KMS actions the application needs on the platform key (named through
    ``kms_key_alias``), e.g. to publish to encrypted topics and read encrypted queues."""
    extra_environment: NotRequired[dict[str, pulumi.Input[str]]]
    """Environment values the platform resolved (endpoints, table names)."""
    extra_secrets: NotRequired[dict[str, pulumi.Input[str]]]
    """Secrets the platform resolved: env name -> Secrets Manager secret ARN."""
    egress: NotRequired[dict[str, ServiceEgressArgs]]
    """Extra egress by stable key (e.g. ``database``): a port on a security group."""
    tags: NotRequired[pulumi.Input[dict[str, str]]]
    """Tags for every child."""


# --- checks --------------------------------------------------------------------------------

def _numbers(values: Sequence[int]) -> str:
    return ", ".join(str(v) for v in values)


def _check_path(path: tuple[PathItem, ...], value: str) -> list[Problem]:
    if value.startswith("/"):
        return []
    return [Problem(path, f"'{value}' must start with '/'")]


def _check_plain_environment(section: str, env: dict[str, str]) -> list[Problem]:
    """check_environment, with the variable named in the message rather than the path:
    paths are rendered in camelCase, which would mangle names like ``DB_HOST``."""
    return [Problem((section,), f"{p.path[-1]}: {p.message}")
            for p in check_environment((section,), env)]


_USER_PART_RE = re.compile(r"\d{1,10}|[a-z_][a-z0-9_-]{0,31}")


def _user_ok(user: str) -> bool:
    parts = user.split(":")
    return 1 <= len(parts) <= 2 and all(
        _USER_PART_RE.fullmatch(p) and (not p.isdigit() or int(p) <= 2147483647)
        for p in parts)


def _is_root(user: str) -> bool:
    return user.split(":", 1)[0] in ("0", "root", "")


RUNTIMES = ("ecs", "eks")
"""Where a service runs: ECS on Fargate (this module) or Kubernetes on EKS
(:mod:`.kubernetes_service`)."""
EKS_ONLY = ("image_digest", "custom_metric")
"""ServiceSpec fields only the EKS runtime reads."""


def check_service(spec: ServiceSpec, az_count: int | None = None) -> list[Problem]:
    """Rules for one ECS service. With ``az_count``, every availability zone must run a
    task."""
    return _check_ecs(spec) + check_workload(spec, az_count)


def runtime_only(spec: ServiceSpec, fields: Sequence[str], other: str,
                 runtime: str) -> list[Problem]:
    """Fields of ``spec`` that only the ``other`` runtime reads: an error, never ignored."""
    return [Problem((field,), f"applies to runtime {other} only; remove it (this service "
                              f"runs on {runtime})")
            for field in fields if field in spec]


def _check_ecs(spec: ServiceSpec) -> list[Problem]:
    """What only an ECS service on Fargate is checked for: image source, task size,
    architecture and Spot, the container health check and request-count scaling."""
    problems = runtime_only(spec, EKS_ONLY, "eks", "ecs")

    # image
    if "image" in spec and "image_tag" in spec:
        problems.append(Problem(("image",), "set either image (an external image pinned by "
                                            "digest) or image_tag, not both"))
    if "image" in spec and not DIGEST_RE.match(spec["image"]):
        problems.append(Problem(("image",), f"'{spec['image']}' must be pinned by digest "
                                            "(name@sha256:<64 hex digits>)"))
    if "image_tag" in spec and not TAG_RE.match(spec["image_tag"]):
        problems.append(Problem(("image_tag",), f"'{spec['image_tag']}' is not an image tag: "
                                                "use up to 128 letters, digits, '_', '.' "
                                                "and '-'"))

    # size
    cpu, memory = spec.get("cpu", DEFAULTS["cpu"]), spec.get("memory", DEFAULTS["memory"])
    if cpu not in FARGATE_SIZES:
        problems.append(Problem(("cpu",), f"cpu {cpu} is not a Fargate size: use one of "
                                          f"{_numbers(list(FARGATE_SIZES))}"))
    elif memory not in FARGATE_SIZES[cpu]:
        problems.append(Problem(("memory",), f"memory {memory} is not allowed with cpu {cpu}: "
                                             f"use one of {_numbers(FARGATE_SIZES[cpu])}"))
    arch = spec.get("cpu_architecture", DEFAULTS["cpu_architecture"])
    problems += check_choice(("cpu_architecture",), arch, ARCHITECTURES)
    if spec.get("spot", False) and arch == "ARM64":
        problems.append(Problem(("spot",), "Fargate Spot does not run ARM64 tasks: use "
                                           "cpuArchitecture X86_64 or turn spot off"))

    command = spec.get("health_check_command")
    if command is not None and (len(command) < 2 or command[0] not in ("CMD", "CMD-SHELL")):
        problems.append(Problem(("health_check_command",),
                                "must start with CMD or CMD-SHELL followed by the command"))
    elif command is not None and (not command[1].strip()
                                  or (command[0] == "CMD-SHELL" and len(command) > 2)):
        problems.append(Problem(("health_check_command",), (
            "names no program: give CMD and the program with its arguments, or CMD-SHELL "
            "and one shell command line")))
    problems += check_range(("requests_per_target",),
                            spec.get("requests_per_target", DEFAULTS["requests_per_target"]),
                            1, 100000, "requestsPerTarget")
    return problems


def check_workload(spec: ServiceSpec, az_count: int | None = None) -> list[Problem]:
    """Rules every service obeys whatever it runs on: port, counts, health paths and
    timings, routing, configuration and secrets, container hardening, store references.
    With ``az_count``, every availability zone must run a replica."""
    problems = check_range(("port",), spec.get("port", DEFAULTS["port"]), 1024, 65535, "port")

    # counts
    desired = spec.get("desired_count", DEFAULTS["desired_count"])
    min_count = spec.get("min_count", desired)
    max_count = spec.get("max_count", desired * 2)
    problems += check_range(("desired_count",), desired, 1, 1000, "desiredCount")
    problems += check_range(("min_count",), min_count, 1, 1000, "minCount")
    problems += check_range(("max_count",), max_count, 1, 1000, "maxCount")
    if min_count > desired:
        problems.append(Problem(("min_count",), f"minCount ({min_count}) must not be greater "
                                                f"than desiredCount ({desired})"))
    if max_count < desired:
        problems.append(Problem(("max_count",), f"maxCount ({max_count}) must not be less "
                                                f"than desiredCount ({desired})"))
    if az_count is not None:
        for field, value, label in (("desired_count", desired, "desiredCount"),
                                    ("min_count", min_count, "minCount")):
            if value < az_count:
                problems.append(Problem((field,), f"{label} must be at least {az_count}, one "
                                                  f"task per availability zone (got {value})"))
    problems += check_range(("cpu_target",), spec.get("cpu_target", DEFAULTS["cpu_target"]),
                            10, 90, "cpuTarget")

    # health and lifecycle
    problems += _check_path(("liveness_path",), spec.get("liveness_path", "/"))
    problems += _check_path(("readiness_path",), spec.get("readiness_path", "/"))
    problems += check_range(("health_check_grace_period",),
                            spec.get("health_check_grace_period", 60), 0, 3600,
                            "healthCheckGracePeriod")
    problems += check_range(("deregistration_delay",), spec.get("deregistration_delay", 30),
                            0, 3600, "deregistrationDelay")
    problems += check_range(("stop_timeout",), spec.get("stop_timeout", 30), 2, 120, "stopTimeout")

    # routing
    problems += check_choice(("visibility",), spec.get("visibility", "internal"), VISIBILITIES)
    host = spec.get("host")
    if host is not None and not HOST_RE.match(host):
        problems.append(Problem(("host",), f"'{host}' is not a host name (e.g. "
                                           "api.example.com or *.example.com)"))
    paths = spec.get("paths")
    if paths is not None:
        if not paths:
            problems.append(Problem(("paths",), "must list at least one path pattern"))
        for i, pattern in enumerate(paths):
            problems += _check_path(("paths", i), pattern)
            if len(pattern) > 128:
                problems.append(Problem(("paths", i), "is longer than 128 characters"))
        values = len(paths) + (1 if host else 0)
        if values > MAX_RULE_VALUES:
            problems.append(Problem(("paths",), f"a listener rule matches at most "
                                                f"{MAX_RULE_VALUES} values, host and paths "
                                                f"together (got {values})"))
    if "priority" in spec:
        problems += check_range(("priority",), spec["priority"], 1, 50000, "priority")

    # configuration and secrets
    environment = spec.get("environment", {})
    secrets = spec.get("secrets", {})
    problems += _check_plain_environment("environment", environment)
    for section, names in (("environment", environment), ("secrets", secrets)):
        for env_name in sorted(names):
            if not ENV_NAME_RE.match(env_name):
                problems.append(Problem((section,), f"'{env_name}' is not an "
                                        "environment variable name (letters, digits, '_')"))
    for env_name in sorted(set(environment) & set(secrets)):
        problems.append(Problem(("secrets",), f"'{env_name}' is set both as "
                                                       "environment and as a secret"))
    for env_name, arn in sorted(secrets.items()):
        if not (SECRET_ARN_RE.match(arn) or PARAMETER_ARN_RE.match(arn)):
            problems.append(Problem(("secrets",),
                                    f"{env_name}: '{arn}' is not a Secrets Manager secret ARN "
                                    "(arn:aws:secretsmanager:<region>:<account>:secret:<name>) "
                                    "or SSM parameter ARN "
                                    "(arn:aws:ssm:<region>:<account>:parameter/<name>)"))
    problems += [p.under("grants") for p in check_grants(spec.get("grants", []))]

    # container hardening
    if not spec.get("read_only_root_filesystem", True):
        reason = spec.get("writable_root_reason", "")
        if len(reason.strip()) < 10:
            problems.append(Problem(("writable_root_reason",),
                                    "required (at least 10 characters) when "
                                    "readOnlyRootFilesystem is false: say why the container "
                                    "must write outside /tmp"))
    user = spec.get("user", DEFAULTS["user"])
    if not _user_ok(user):
        problems.append(Problem(("user",), f"'{user}' is not uid[:gid]: use numbers from 1 "
                                           "to 2147483647 or names, such as 1000:1000"))
    elif _is_root(user):
        problems.append(Problem(("user",), f"'{user}' runs as root: use a non-root "
                                           "uid[:gid] such as 1000:1000"))

    # references the platform resolves
    for field in ("database", "cache"):
        if field in spec:
            problems += check_key((field,), spec[field])  # type: ignore[literal-required]
    for table, access in sorted(spec.get("tables", {}).items()):
        problems += check_key(("tables", table), table)
        problems += check_choice(("tables", table), access, ACCESS_LEVELS)
    return problems


def check_container_service(name: str, args: ContainerServiceArgs) -> list[Problem]:
    """Service rules plus the wiring: repository, log retention, subnets, resolved values."""
    az_count = args.get("az_count")
    per_az = az_count if args.get("require_task_per_az", False) else None
    problems = check_service(args, per_az)
    if len(name) > 48:
        problems.append(Problem((), f"name '{name}' is longer than 48 characters (IAM role "
                                    "names derived from it would exceed 64)"))
    problems += check_key(("key",), args.get("key", name))
    has_url, has_arn = "repository_url" in args, "repository_arn" in args
    if has_url != has_arn:
        problems.append(Problem(("repository_arn" if has_url else "repository_url",),
                                "repository_url and repository_arn must be given together"))
    if "image" in args and (has_url or has_arn):
        problems.append(Problem(("image",), "an external image conflicts with "
                                            "repository_url/repository_arn"))
    key_arn = args["kms_key_arn"]
    if isinstance(key_arn, str):
        problems += check_arn(("kms_key_arn",), key_arn, "kms", "a KMS key")
    days = args.get("log_retention_days", 90)
    if days not in LOG_RETENTION_DAYS:
        problems.append(Problem(("log_retention_days",),
                                f"{days} is not a CloudWatch Logs retention; use one of "
                                f"{_numbers(LOG_RETENTION_DAYS)}"))
    subnets = args["subnet_ids"]
    if isinstance(subnets, list | tuple) and not subnets:
        problems.append(Problem(("subnet_ids",), "must list at least one private subnet"))
    elif isinstance(subnets, list | tuple) and per_az is not None and len(subnets) < per_az:
        problems.append(Problem(("subnet_ids",), f"must list a subnet in each of the {per_az} "
                                                 f"availability zones (got {len(subnets)})"))
    return problems + check_resolved(args)


def check_resolved(args: Mapping[str, Any]) -> list[Problem]:
    """What the platform resolved for a service, whatever it runs on: environment values
    that must not be credentials or clash with the service's own, secret ARNs, grants and
    egress targets."""
    extra_env = {k: v for k, v in args.get("extra_environment", {}).items()
                 if isinstance(v, str)}
    problems = _check_plain_environment("extra_environment", extra_env)
    names = set(args.get("environment", {})) | set(args.get("secrets", {}))
    for env_name in sorted(set(args.get("extra_environment", {})) |
                           set(args.get("extra_secrets", {})) |
                           set(args.get("extra_parameters", {}))):
        if env_name in names:
            problems.append(Problem(("environment",), f"'{env_name}' is also set by "
                                    "the platform (database, cache or table settings)"))
    for env_name, arn in sorted(args.get("extra_secrets", {}).items()):
        if isinstance(arn, str) and not SECRET_ARN_RE.match(arn):
            problems.append(Problem(("extra_secrets",),
                                    f"{env_name}: '{arn}' is not a Secrets Manager secret ARN"))
    problems += [p.under("extra_grants") for p in check_grants(args.get("extra_grants", []))]
    for key, target in sorted(args.get("egress", {}).items()):
        problems += check_key(("egress", key), key)
        problems += check_range(("egress", key, "port"), target["port"], 1, 65535, "port")
    return problems


# --- helpers -------------------------------------------------------------------------------

def default_health_check(port: int, liveness: str) -> list[str]:
    """``CMD-SHELL`` probe of the liveness path over HTTPS on loopback: curl, else wget.
    ``-k``/``--no-check-certificate``: the probe calls its own process, whose certificate
    may be generated at start with no issuer to verify against."""
    url = f"https://127.0.0.1:{port}{liveness}"
    return ["CMD-SHELL", f"curl -fsSk -o /dev/null {url} "
                         f"|| wget -q --no-check-certificate -O /dev/null {url} || exit 1"]


def default_priority(key: str) -> int:
    """A stable listener rule priority in 1000-49999 from the service key (CRC-32)."""
    return 1000 + zlib.crc32(key.encode()) % 49000


def _secret_resource(value_from: str) -> str:
    """The secret's own ARN: drop a ``:json-key:stage:version`` suffix."""
    return ":".join(value_from.split(":")[:7])


def _ecr_pull_target(args: ContainerServiceArgs) -> tuple[str, str, str] | None:
    """(account, region, repository) of an external image that lives in ECR, else None."""
    match = ECR_IMAGE_RE.match(args.get("image", ""))
    return (match.group(1), match.group(2), match.group(3)) if match else None


def secret_statements(args: Mapping[str, Any], region: pulumi.Input[str],
                      account: pulumi.Input[str],
                      parameter_actions: Sequence[str] = ("ssm:GetParameters",)
                      ) -> list[Statement]:
    """Reading exactly the secrets and parameters a service's environment names (its own
    ARNs and those the platform resolved), and the key only through those two services.
    On ECS the execution role reads them at start; on EKS the pod's own role does."""
    statements: list[Statement] = []
    secrets = args.get("secrets", {})
    secret_arns = sorted({_secret_resource(v) for v in secrets.values()
                          if SECRET_ARN_RE.match(v)})
    parameter_arns: list[pulumi.Input[str]] = [
        *sorted({v for v in secrets.values() if PARAMETER_ARN_RE.match(v)}),
        *(v for _, v in sorted(args.get("extra_parameters", {}).items()))]
    extra = [v for _, v in sorted(args.get("extra_secrets", {}).items())]
    via: list[pulumi.Input[str]] = []
    if secret_arns or extra:
        statements.append(allow("ReadSecrets", ["secretsmanager:GetSecretValue"],
                                [*secret_arns, *extra]))
        via.append(pulumi.Output.concat("secretsmanager.", region, ".amazonaws.com"))
    if parameter_arns:
        statements.append(allow("ReadParameters", parameter_actions, parameter_arns))
        via.append(pulumi.Output.concat("ssm.", region, ".amazonaws.com"))
    if via:
        statements.append(key_statement(
            "DecryptSecrets", ["kms:Decrypt"], args["kms_key_arn"],
            alias=args.get("kms_key_alias"), region=region, account=account,
            condition={"StringEquals": {"kms:ViaService": via}}))
    return statements


def application_statements(args: Mapping[str, Any], region: pulumi.Input[str],
                           account: pulumi.Input[str]) -> list[Statement]:
    """What the application itself may do, whatever it runs on: its own grants, the grants
    the platform resolved, and the platform key actions its event flows need."""
    statements = grant_statements(args.get("grants", []), "Grant")
    statements += grant_statements(args.get("extra_grants", []), "Platform")
    if args.get("key_actions"):
        statements.append(key_statement("PlatformKey", args["key_actions"],
                                        args["kms_key_arn"], alias=args.get("kms_key_alias"),
                                        region=region, account=account))
    return statements


class ContainerService(pulumi.ComponentResource):
    """One HTTPS microservice on ECS Fargate, routed by a listener rule, autoscaled, with
    least-privilege roles and a security group open only to its load balancer."""

    service_name: pulumi.Output[str]
    """ECS service name (the component name)."""
    service_arn: pulumi.Output[str]
    """ECS service ARN."""
    task_definition_arn: pulumi.Output[str]
    """ARN of the current task definition revision."""
    task_role_arn: pulumi.Output[str]
    """Role the application runs as."""
    execution_role_arn: pulumi.Output[str]
    """Role ECS uses to pull the image, write logs and read secrets."""
    security_group_id: pulumi.Output[str]
    """The tasks' security group (e.g. to allow it into a database)."""
    target_group_arn: pulumi.Output[str]
    """Target group the load balancer forwards to."""
    log_group_name: pulumi.Output[str]
    """CloudWatch log group ``/ecs/<name>``."""
    repository_url: pulumi.Output[str]
    """ECR repository the service runs from (empty for an external image)."""

    def __init__(self, name: str, args: ContainerServiceArgs,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__(type_token("ContainerService"), name, None, opts)
        # 1) validate
        raise_for("ContainerService", name, check_container_service(name, args))

        # 2) defaults
        key = args.get("key", name)
        port = args.get("port", DEFAULTS["port"])
        desired = args.get("desired_count", DEFAULTS["desired_count"])
        min_count = args.get("min_count", desired)
        max_count = args.get("max_count", desired * 2)
        liveness = args.get("liveness_path", DEFAULTS["liveness_path"])
        readiness = args.get("readiness_path", DEFAULTS["readiness_path"])
        read_only = args.get("read_only_root_filesystem", True)
        grace = args.get("health_check_grace_period", DEFAULTS["health_check_grace_period"])
        paths = args.get("paths", [f"/{key}", f"/{key}/*"])
        priority = args.get("priority", default_priority(key))
        tags = args.get("tags") or {}
        kms_key_arn = args["kms_key_arn"]

        identity = aws.get_caller_identity_output(opts=invoke_opts(self))
        account = identity.account_id
        region = aws.get_region_output(opts=invoke_opts(self)).region

        # 3) children
        # -- image source
        repository_url: pulumi.Input[str] = ""
        repository_arn: pulumi.Input[str] | None = None
        if "image" in args:
            image: pulumi.Input[str] = args["image"]
            ecr = _ecr_pull_target(args)
            if ecr is not None:
                repository_arn = f"arn:aws:ecr:{ecr[1]}:{ecr[0]}:repository/{ecr[2]}"
        else:
            if "repository_url" in args:
                repository_url = args["repository_url"]
                repository_arn = args["repository_arn"]
            else:
                repo = ImageRepository(f"{name}-images", {
                    "repository_name": name,
                    "kms_key_arn": kms_key_arn,
                    "pusher_role_arns": list(args.get("pusher_role_arns", [])),
                    "tags": tags,
                }, opts=child_opts(self))
                repository_url = repo.repository_url
                repository_arn = repo.repository_arn
            image = pulumi.Output.concat(repository_url, ":",
                                         args.get("image_tag", DEFAULTS["image_tag"]))

        # -- logs
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            aws.cloudwatch.LogGroupArgs(name=f"/ecs/{name}",
                                        retention_in_days=args.get("log_retention_days", 90),
                                        kms_key_id=kms_key_arn, tags=tags),
            opts=child_opts(self))
        log_streams = pulumi.Output.concat("arn:aws:logs:", region, ":", account, ":log-group:",
                                           log_group.name, ":log-stream:*")

        # -- roles
        trust = service_trust("ecs-tasks.amazonaws.com", account,
                              pulumi.Output.concat("arn:aws:ecs:", region, ":", account, ":*"))
        execution_role = aws.iam.Role(
            f"{name}-execution",
            aws.iam.RoleArgs(name=f"{name}-execution", assume_role_policy=trust,
                             description=f"ECS pulls, logs and reads secrets for {name}",
                             tags=tags),
            opts=child_opts(self))
        aws.iam.RolePolicy(
            f"{name}-execution-policy",
            aws.iam.RolePolicyArgs(role=execution_role.name,
                                   policy=policy_document(self._execution_statements(
                                       args, repository_arn, log_streams, region,
                                       account))),
            opts=child_opts(self))

        task_role = aws.iam.Role(
            f"{name}-task",
            aws.iam.RoleArgs(name=f"{name}-task", assume_role_policy=trust,
                             description=f"Application role of {name}", tags=tags),
            opts=child_opts(self))
        task_statements = self._task_statements(args, region, account)
        if task_statements:
            aws.iam.RolePolicy(
                f"{name}-task-policy",
                aws.iam.RolePolicyArgs(role=task_role.name,
                                       policy=policy_document(task_statements)),
                opts=child_opts(self))

        # -- task definition
        container = self._container_definition(args, key, image, port, liveness, grace,
                                               log_group.name, region)
        task_definition = aws.ecs.TaskDefinition(
            f"{name}-taskdef",
            aws.ecs.TaskDefinitionArgs(
                family=name,
                cpu=str(args.get("cpu", DEFAULTS["cpu"])),
                memory=str(args.get("memory", DEFAULTS["memory"])),
                network_mode="awsvpc",
                requires_compatibilities=["FARGATE"],
                runtime_platform=aws.ecs.TaskDefinitionRuntimePlatformArgs(
                    operating_system_family="LINUX",
                    cpu_architecture=args.get("cpu_architecture", DEFAULTS["cpu_architecture"])),
                execution_role_arn=execution_role.arn,
                task_role_arn=task_role.arn,
                container_definitions=pulumi.Output.json_dumps([container]),
                # Fargate has no tmpfs: a task-storage volume keeps /tmp writable.
                volumes=[aws.ecs.TaskDefinitionVolumeArgs(name="tmp")] if read_only else None,
                tags=tags,
            ),
            opts=child_opts(self))

        # -- network
        security_group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            aws.ec2.SecurityGroupArgs(vpc_id=args["vpc_id"],
                                      description=f"Tasks of {name}: load balancer in, "
                                                  "HTTPS and named dependencies out",
                                      tags=tags),
            opts=child_opts(self))
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-from-lb",
            aws.vpc.SecurityGroupIngressRuleArgs(
                security_group_id=security_group.id, ip_protocol="tcp", from_port=port,
                to_port=port, referenced_security_group_id=args["load_balancer_security_group_id"],
                description="From the load balancer to the container port", tags=tags),
            opts=child_opts(self))
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-to-https",
            aws.vpc.SecurityGroupEgressRuleArgs(
                security_group_id=security_group.id, ip_protocol="tcp", from_port=443,
                to_port=443, cidr_ipv4="0.0.0.0/0",
                description="HTTPS to AWS APIs (ECR, Logs, Secrets Manager, STS)", tags=tags),
            opts=child_opts(self))
        for egress_key, target in sorted(args.get("egress", {}).items()):
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-to-{egress_key}",
                aws.vpc.SecurityGroupEgressRuleArgs(
                    security_group_id=security_group.id, ip_protocol="tcp",
                    from_port=target["port"], to_port=target["port"],
                    referenced_security_group_id=target["security_group_id"],
                    description=f"To {egress_key}", tags=tags),
                opts=child_opts(self))

        # -- load balancing
        target_group = routed_target_group(self, name, args["vpc_id"], port, readiness,
                                           protocol=TARGET_PROTOCOL,
                                           deregistration_delay=args.get(
                                               "deregistration_delay", 30), tags=tags)
        rule = listener_rule(self, name, args["listener_arn"], target_group.arn, list(paths),
                             priority, args.get("host"), tags)

        # -- service
        capacity = "FARGATE_SPOT" if args.get("spot", False) else "FARGATE"
        service = aws.ecs.Service(
            f"{name}-service",
            aws.ecs.ServiceArgs(
                name=name,
                cluster=args["cluster_arn"],
                task_definition=task_definition.arn,
                capacity_provider_strategies=[aws.ecs.ServiceCapacityProviderStrategyArgs(
                    capacity_provider=capacity, weight=1)],
                platform_version="LATEST",
                desired_count=desired,
                network_configuration=aws.ecs.ServiceNetworkConfigurationArgs(
                    subnets=args["subnet_ids"], assign_public_ip=False,
                    security_groups=[security_group.id]),
                load_balancers=[aws.ecs.ServiceLoadBalancerArgs(
                    target_group_arn=target_group.arn, container_name=key,
                    container_port=port)],
                health_check_grace_period_seconds=grace,
                deployment_circuit_breaker=aws.ecs.ServiceDeploymentCircuitBreakerArgs(
                    enable=True, rollback=True),
                deployment_minimum_healthy_percent=100,
                deployment_maximum_percent=200,
                availability_zone_rebalancing="ENABLED",
                enable_execute_command=args.get("exec_enabled", False),
                propagate_tags="SERVICE",
                enable_ecs_managed_tags=True,
                wait_for_steady_state=False,
                tags=tags,
            ),
            # The target group must be attached to the load balancer before the service uses
            # it; autoscaling owns the desired count once the service exists.
            opts=child_opts(self, depends_on=[rule], ignore_changes=["desiredCount"]))

        scaling = aws.appautoscaling.Target(
            f"{name}-scaling",
            aws.appautoscaling.TargetArgs(
                service_namespace="ecs", scalable_dimension="ecs:service:DesiredCount",
                resource_id=pulumi.Output.concat("service/", args["cluster_name"], "/",
                                                 service.name),
                min_capacity=min_count, max_capacity=max_count, tags=tags),
            opts=child_opts(self))
        target_suffix = target_group.arn.apply(lambda arn: arn.split(":", 5)[5])
        for policy_key, target_value, metric, label in (
                ("cpu", args.get("cpu_target", DEFAULTS["cpu_target"]),
                 "ECSServiceAverageCPUUtilization", None),
                ("requests", args.get("requests_per_target", DEFAULTS["requests_per_target"]),
                 "ALBRequestCountPerTarget",
                 pulumi.Output.concat(args["load_balancer_arn_suffix"], "/", target_suffix))):
            aws.appautoscaling.Policy(
                f"{name}-scale-{policy_key}",
                aws.appautoscaling.PolicyArgs(
                    policy_type="TargetTrackingScaling",
                    service_namespace=scaling.service_namespace,
                    scalable_dimension=scaling.scalable_dimension,
                    resource_id=scaling.resource_id,
                    target_tracking_scaling_policy_configuration=(
                        aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs(
                            target_value=float(target_value),
                            scale_in_cooldown=300, scale_out_cooldown=60,
                            predefined_metric_specification=(
                                _PredefinedMetric(predefined_metric_type=metric,
                                                  resource_label=label))))),
                opts=child_opts(self))

        # 4) outputs
        self.service_name = service.name
        self.service_arn = service.id
        self.task_definition_arn = task_definition.arn
        # Built from the roles' fixed names, so documents that pass them (the delivery
        # pipeline's iam:PassRole) are known at preview.
        self.task_role_arn = pulumi.Output.concat(
            "arn:aws:iam::", account, ":role/", task_role.name.apply(lambda _: f"{name}-task"))
        self.execution_role_arn = pulumi.Output.concat(
            "arn:aws:iam::", account, ":role/",
            execution_role.name.apply(lambda _: f"{name}-execution"))
        self.security_group_id = security_group.id
        self.target_group_arn = target_group.arn
        self.log_group_name = log_group.name
        self.repository_url = pulumi.Output.from_input(repository_url)
        self.register_outputs({
            "service_name": self.service_name, "service_arn": self.service_arn,
            "task_definition_arn": self.task_definition_arn,
            "task_role_arn": self.task_role_arn, "execution_role_arn": self.execution_role_arn,
            "security_group_id": self.security_group_id,
            "target_group_arn": self.target_group_arn, "log_group_name": self.log_group_name,
            "repository_url": self.repository_url,
        })

    @staticmethod
    def _execution_statements(args: ContainerServiceArgs,
                              repository_arn: pulumi.Input[str] | None,
                              log_streams: pulumi.Input[str],
                              region: pulumi.Input[str],
                              account: pulumi.Input[str]) -> list[Statement]:
        statements: list[Statement] = []
        if repository_arn is not None:
            # GetAuthorizationToken has no resource-level permissions: "*" is the only form.
            statements.append(allow("EcrAuthorization", ["ecr:GetAuthorizationToken"], ["*"]))
            statements.append(allow("PullImage", ["ecr:BatchCheckLayerAvailability",
                                                  "ecr:BatchGetImage",
                                                  "ecr:GetDownloadUrlForLayer"],
                                    [repository_arn]))
        statements.append(allow("WriteLogs", ["logs:CreateLogStream", "logs:PutLogEvents"],
                                [log_streams]))
        return statements + secret_statements(args, region, account)

    @staticmethod
    def _task_statements(args: ContainerServiceArgs, region: pulumi.Input[str],
                         account: pulumi.Input[str]) -> list[Statement]:
        statements = application_statements(args, region, account)
        if args.get("exec_enabled", False):
            # ECS Exec's Session Manager channels have no resource-level permissions.
            statements.append(allow("ExecSessions", [
                "ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
                "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"], ["*"]))
        return statements

    @staticmethod
    def _container_definition(args: ContainerServiceArgs, key: str, image: pulumi.Input[str],
                              port: int, liveness: str, grace: int,
                              log_group_name: pulumi.Input[str],
                              region: pulumi.Input[str]) -> dict[str, Any]:
        read_only = args.get("read_only_root_filesystem", True)
        command = args.get("health_check_command") or default_health_check(port, liveness)
        environment: dict[str, pulumi.Input[str]] = {**args.get("environment", {}),
                                                     **args.get("extra_environment", {})}
        secrets: dict[str, pulumi.Input[str]] = {**args.get("secrets", {}),
                                                 **args.get("extra_secrets", {}),
                                                 **args.get("extra_parameters", {})}
        container: dict[str, Any] = {
            "name": key,
            "image": image,
            "essential": True,
            "user": args.get("user", DEFAULTS["user"]),
            "readonlyRootFilesystem": read_only,
            "privileged": False,
            "linuxParameters": {"initProcessEnabled": True, "capabilities": {"drop": ["ALL"]}},
            "portMappings": [{"containerPort": port, "protocol": "tcp"}],
            "environment": [{"name": k, "value": v} for k, v in sorted(environment.items())],
            "secrets": [{"name": k, "valueFrom": v} for k, v in sorted(secrets.items())],
            "healthCheck": {"command": command, "interval": 15, "timeout": 5, "retries": 3,
                            "startPeriod": min(grace, 300)},
            "logConfiguration": {"logDriver": "awslogs", "options": {
                "awslogs-group": log_group_name, "awslogs-region": region,
                "awslogs-stream-prefix": key, "mode": "non-blocking",
                "max-buffer-size": "25m"}},
            "stopTimeout": args.get("stop_timeout", DEFAULTS["stop_timeout"]),
            "mountPoints": ([{"sourceVolume": "tmp", "containerPath": "/tmp",
                              "readOnly": False}] if read_only else []),
        }
        return container
