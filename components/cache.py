"""Cache: a Valkey (or Redis OSS) replication group in the isolated subnets, multi-AZ with
automatic failover, encrypted at rest with the platform key and in transit (TLS required),
reachable only from the services granted access.

Authentication, and why no password exists anywhere:

- ``rbac`` (default): role-based access control with **IAM authentication**. The component
  creates an application user whose authentication mode is ``iam`` (user id = user name, as
  ElastiCache requires) and a user group holding it and a replacement ``default`` user that
  is switched off (access string ``off``; it can never authenticate, so it needs no password;
  ElastiCache requires every user group to contain a user named ``default``). Workloads sign a
  short-lived token with their task role; :meth:`Cache.connect_statement` grants exactly
  ``elasticache:Connect`` on this replication group and this user. No password is generated,
  so none sits in configuration, code or Pulumi state. Needs Valkey 7.2+ or Redis OSS 7.0+.
- ``token``: a single AUTH token read at deploy time from an existing Secrets Manager secret
  (``auth_token_secret_arn``, whose value an operator puts) and passed to ElastiCache as a
  write-only argument, so it is not stored in Pulumi state either. For clients without IAM
  support only.
"""


from collections.abc import Mapping
from typing import NotRequired

import pulumi
import pulumi_aws as aws
from typing_extensions import TypedDict

from .base import (
    Statement,
    allow,
    allow_client,
    child_opts,
    invoke_opts,
    merge_tags,
    publish_parameter,
    type_token,
)
from .database import requires_multi_az, tier_rules, unknown_key_problems
from .environment import TIERS, Tier
from .validation import Problem, check_choice, check_clients, check_key, check_range, raise_for

ENGINES = ("valkey", "redis")
AUTH_MODES = ("rbac", "token")
DEFAULT_VERSIONS = {"valkey": "8.0", "redis": "7.1"}
IAM_MIN_VERSIONS = {"valkey": (7, 2), "redis": (7, 0)}
SNAPSHOT_WINDOW = "03:00-04:00"
MAINTENANCE_WINDOW = "sun:05:00-sun:06:00"
APP_ACCESS = "on ~* &* +@all -@dangerous"
"""What the application user may do: every key and channel, no dangerous or admin commands."""
DEFAULT_USER_ACCESS = "off -@all"
"""The replacement ``default`` user: disabled, no commands."""


class CacheSpec(TypedDict):
    """An in-memory cache as a stack file describes it."""

    engine: NotRequired[str]
    """``valkey`` (default) or ``redis``."""
    engine_version: NotRequired[str]
    """Engine version, e.g. ``8.0`` (default per engine)."""
    node_type: NotRequired[str]
    """Node type (default ``cache.t4g.medium``)."""
    replicas_per_shard: NotRequired[int]
    """Replicas of each primary, 1-5 (default 2), placed in other zones for failover."""
    shards: NotRequired[int]
    """Shards (node groups), 1-500: turns on cluster mode. Omit for one shard without
    cluster mode."""
    snapshot_retention_days: NotRequired[int]
    """Daily snapshots kept, 1-35 days (default the tier's minimum)."""
    auth: NotRequired[str]
    """``rbac`` (default: IAM-authenticated user, no password) or ``token``."""
    port: NotRequired[int]
    """Listener port, 1024-65535 (default 6379)."""
    allowed_services: NotRequired[list[str]]
    """Service keys that may connect; nothing else can reach the port."""


class CacheArgs(CacheSpec):
    """A cache plus its wiring and the tier's rules."""

    vpc_id: pulumi.Input[str]
    """VPC of the isolated subnets."""
    isolated_subnet_ids: list[pulumi.Input[str]]
    """Isolated subnets, one per availability zone."""
    kms_key_arn: pulumi.Input[str]
    """Customer managed key for data at rest."""
    client_security_group_ids: NotRequired[Mapping[str, pulumi.Input[str]]]
    """Security group per service key, for every key in ``allowed_services``."""
    auth_token_secret_arn: NotRequired[pulumi.Input[str]]
    """With ``auth: token``: the Secrets Manager secret holding the AUTH token."""
    environment: NotRequired[str]
    """Tier whose rules apply: dev, staging or prod (default prod, the strictest)."""
    protect: NotRequired[bool]
    """Pulumi-protect and retain the replication group (default the tier's)."""
    min_backup_retention_days: NotRequired[int]
    """Least snapshot retention allowed (default the tier's)."""
    require_multi_az: NotRequired[bool]
    """Demand at least two replicas per shard (default True in prod)."""
    tags: NotRequired[pulumi.Input[dict[str, str]]]
    """Tags for every child, on top of the provider's default tags."""


ENGINE_VERSIONS = {"valkey": ("7.2", "8.0", "8.1"), "redis": ("6.2", "7.0", "7.1")}
"""Versions ElastiCache offers for new replication groups."""
_SMALL = ("micro", "small", "medium")
_LARGE = ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge",
          "24xlarge")
NODE_FAMILIES: dict[str, tuple[str, ...]] = {
    "t3": _SMALL, "t4g": _SMALL,
    "m5": _LARGE, "m6g": _LARGE[:-1], "m7g": _LARGE[:-1],
    "r5": _LARGE, "r6g": _LARGE[:-1], "r7g": _LARGE[:-1], "r6gd": _LARGE[1:-1],
    "c7gn": _LARGE[:-1],
}
"""Current-generation node families and their sizes."""


def _node_type_ok(node_type: str) -> bool:
    parts = node_type.split(".")
    return (len(parts) == 3 and parts[0] == "cache"
            and parts[2] in NODE_FAMILIES.get(parts[1], ()))


def _version(text: str) -> tuple[int, ...] | None:
    try:
        return tuple(int(p) for p in text.split(".")[:2])
    except ValueError:
        return None


def check_cache(spec: CacheSpec, tier: Tier | None = None,
                require_multi_az: bool | None = None) -> list[Problem]:
    """Checks of the spec alone; with ``tier``, also the tier's minimums."""
    problems = unknown_key_problems(
        spec, set(CacheArgs.__required_keys__) | set(CacheArgs.__optional_keys__),
        "use auth rbac (IAM authentication, no password) or auth token with "
        "authTokenSecretArn (read from Secrets Manager)")
    engine = spec.get("engine", "valkey")
    problems += check_choice(("engine",), engine, ENGINES)
    auth = spec.get("auth", "rbac")
    problems += check_choice(("auth",), auth, AUTH_MODES)
    if engine in ENGINES:
        text = spec.get("engine_version", DEFAULT_VERSIONS[engine])
        version = _version(text)
        if version is None or text not in ENGINE_VERSIONS[engine]:
            problems.append(Problem(("engine_version",), (
                f"'{text}' is not a version ElastiCache offers for {engine}: use one of "
                f"{', '.join(ENGINE_VERSIONS[engine])}")))
        elif auth == "rbac" and version < IAM_MIN_VERSIONS[engine]:
            least = ".".join(map(str, IAM_MIN_VERSIONS[engine]))
            problems.append(Problem(("engine_version",),
                                    f"rbac (IAM authentication) needs {engine} {least} or "
                                    f"later (got {text})"))
    node_type = spec.get("node_type", "cache.t4g.medium")
    if not _node_type_ok(node_type):
        problems.append(Problem(("node_type",), (
            f"'{node_type}' is not an ElastiCache node type: use cache.<family>.<size> with "
            f"family {', '.join(NODE_FAMILIES)} (e.g. cache.r7g.large)")))

    replicas = spec.get("replicas_per_shard", 2)
    if replicas < 1:
        problems.append(Problem(("replicas_per_shard",),
                                f"needs at least 1 replica for automatic failover (got "
                                f"{replicas})"))
    else:
        problems += check_range(("replicas_per_shard",), replicas, 1, 5, "replicasPerShard")
    if "shards" in spec:
        problems += check_range(("shards",), spec["shards"], 1, 500, "shards")
    if "port" in spec:
        problems += check_range(("port",), spec["port"], 1024, 65535, "port")
    for i, service in enumerate(spec.get("allowed_services", [])):
        problems += check_key(("allowed_services", i), service)
    days = spec.get("snapshot_retention_days")
    if days is not None:
        problems += check_range(("snapshot_retention_days",), days, 1, 35,
                                "snapshotRetentionDays")
    if tier is not None:
        if days is not None and days < tier.backup_retention_days:
            problems.append(Problem(("snapshot_retention_days",),
                                    f"snapshotRetentionDays must be at least "
                                    f"{tier.backup_retention_days} in {tier.name} (got {days})"))
        if requires_multi_az(tier, require_multi_az) and 1 <= replicas < 2:
            problems.append(Problem(("replicas_per_shard",),
                                    f"{tier.name} needs at least 2 replicas per shard, so a "
                                    f"zone can fail during a failover (got {replicas})"))
    return problems


def _check_args(name: str, args: CacheArgs, tier: Tier) -> list[Problem]:
    problems = check_cache(args, tier, args.get("require_multi_az"))
    # The name becomes the replication group, user group and user ids (40 characters at
    # most with the "-default" suffix).
    problems += check_key(("(name)",), name)
    if args.get("auth", "rbac") == "token" and args.get("auth_token_secret_arn") is None:
        problems.append(Problem(("auth_token_secret_arn",),
                                "auth token needs the ARN of the Secrets Manager secret that "
                                "holds it"))
    if args.get("auth", "rbac") != "token" and args.get("auth_token_secret_arn") is not None:
        problems.append(Problem(("auth_token_secret_arn",), "applies only with auth token"))
    if len(args["isolated_subnet_ids"]) < 2:
        problems.append(Problem(("isolated_subnet_ids",), "multi-AZ needs isolated subnets in "
                                                          "at least 2 availability zones"))
    problems += check_clients(args.get("allowed_services", []),
                              args.get("client_security_group_ids", {}))
    return problems


def cache_connect_statement(sid: str, replication_group_arn: pulumi.Input[str],
                            user_arn: pulumi.Input[str]) -> Statement:
    """``elasticache:Connect`` for IAM authentication: needs both the cache and the user."""
    return allow(sid, ["elasticache:Connect"], [replication_group_arn, user_arn])


class Cache(pulumi.ComponentResource):
    """A multi-AZ, encrypted, TLS-only Valkey/Redis replication group with IAM auth."""

    primary_endpoint: pulumi.Output[str]
    """Primary (or, in cluster mode, configuration) endpoint host name."""
    reader_endpoint: pulumi.Output[str]
    """Reader endpoint host name (the configuration endpoint in cluster mode)."""
    port: pulumi.Output[int]
    """Listener port."""
    security_group_id: pulumi.Output[str]
    """The cache's security group (ingress only from the allowed services)."""
    user_group_id: pulumi.Output[str]
    """RBAC user group id (empty with ``auth: token``)."""
    user_id: pulumi.Output[str]
    """IAM-authenticated application user id, the user name clients send (empty with
    ``auth: token``)."""
    user_arn: pulumi.Output[str]
    """ARN of the application user (empty with ``auth: token``)."""
    replication_group_arn: pulumi.Output[str]
    """Replication group ARN, built from known parts."""

    def __init__(self, name: str, args: CacheArgs,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__(type_token("Cache"), name, None, opts)
        environment = args.get("environment", "prod")
        raise_for("Cache", name, check_choice(("environment",), environment, list(TIERS)))
        tier = tier_rules(environment, protect=args.get("protect"),
                          min_backup_retention_days=args.get("min_backup_retention_days"))
        raise_for("Cache", name, _check_args(name, args, tier))

        # --- defaults -------------------------------------------------------------------
        engine = args.get("engine", "valkey")
        version = args.get("engine_version", DEFAULT_VERSIONS[engine])
        port = args.get("port", 6379)
        replicas = args.get("replicas_per_shard", 2)
        shards = args.get("shards")
        auth = args.get("auth", "rbac")
        tags = pulumi.Output.from_input(args.get("tags") or {}).apply(
            lambda t: merge_tags(t, {"Name": name}))
        region = aws.get_region_output(opts=invoke_opts(self)).region
        account = aws.get_caller_identity_output(
            opts=invoke_opts(self)).account_id

        def arn(kind: str, resource: str) -> pulumi.Output[str]:
            return pulumi.Output.concat("arn:aws:elasticache:", region, ":", account, ":",
                                        kind, ":", resource)

        # --- network --------------------------------------------------------------------
        subnet_group = aws.elasticache.SubnetGroup(
            f"{name}-subnets",
            aws.elasticache.SubnetGroupArgs(name=name, description=f"{name}: isolated subnets",
                                            subnet_ids=args["isolated_subnet_ids"], tags=tags),
            opts=child_opts(self))
        group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            aws.ec2.SecurityGroupArgs(
                name=f"{name}-cache", vpc_id=args["vpc_id"],
                description=f"{name}: {engine} clients on port {port}; no egress", tags=tags),
            opts=child_opts(self))
        self._client_rule = (name, group.id, port, engine)
        self.client_port = port
        """Port clients connect to, as a plain number (security-group rules need it)."""
        clients = args.get("client_security_group_ids", {})
        for service in sorted(args.get("allowed_services", sorted(clients))):
            self.allow_from(service, clients[service])

        # --- authentication -------------------------------------------------------------
        user_group_ids: list[pulumi.Input[str]] | None = None
        auth_token: pulumi.Output[str] | None = None
        self.user_id = pulumi.Output.from_input("")
        self.user_group_id = pulumi.Output.from_input("")
        self.user_arn = pulumi.Output.from_input("")
        self._auth = auth
        if auth == "rbac":
            app_user_id = f"{name}-app"
            default_user = aws.elasticache.User(
                f"{name}-default-user",
                aws.elasticache.UserArgs(
                    user_id=f"{name}-default", user_name="default", engine=engine,
                    access_string=DEFAULT_USER_ACCESS,
                    authentication_mode=aws.elasticache.UserAuthenticationModeArgs(
                        type="no-password-required"),
                    tags=tags),
                opts=child_opts(self))
            app_user = aws.elasticache.User(
                f"{name}-app-user",
                aws.elasticache.UserArgs(
                    user_id=app_user_id, user_name=app_user_id, engine=engine,
                    access_string=APP_ACCESS,
                    authentication_mode=aws.elasticache.UserAuthenticationModeArgs(type="iam"),
                    tags=tags),
                opts=child_opts(self))
            user_group = aws.elasticache.UserGroup(
                f"{name}-users",
                aws.elasticache.UserGroupArgs(
                    user_group_id=name, engine=engine,
                    user_ids=[default_user.user_id, app_user.user_id], tags=tags),
                opts=child_opts(self))
            user_group_ids = [user_group.user_group_id]
            self.user_id = app_user.user_id
            self.user_group_id = user_group.user_group_id
            self.user_arn = arn("user", app_user_id)
        else:
            secret = aws.secretsmanager.get_secret_version_output(
                secret_id=args["auth_token_secret_arn"],
                opts=invoke_opts(self))
            auth_token = pulumi.Output.secret(secret.secret_string)

        # --- the replication group ------------------------------------------------------
        family_major = version.split(".")[0]
        sharding = dict(cluster_mode="enabled", num_node_groups=shards,
                        replicas_per_node_group=replicas,
                        parameter_group_name=f"default.{engine}{family_major}.cluster.on"
                        ) if shards is not None else dict(num_cache_clusters=1 + replicas)
        group_rg = aws.elasticache.ReplicationGroup(
            f"{name}-group",
            aws.elasticache.ReplicationGroupArgs(
                replication_group_id=name,
                description=f"{name}: {engine} cache",
                engine=engine, engine_version=version, node_type=args.get(
                    "node_type", "cache.t4g.medium"),
                port=port,
                subnet_group_name=subnet_group.name, security_group_ids=[group.id],
                automatic_failover_enabled=True, multi_az_enabled=True,
                at_rest_encryption_enabled=True, kms_key_id=args["kms_key_arn"],
                transit_encryption_enabled=True, transit_encryption_mode="required",
                user_group_ids=user_group_ids,
                auth_token_wo=auth_token, auth_token_wo_version=1 if auth_token else None,
                snapshot_retention_limit=args.get("snapshot_retention_days",
                                                  max(tier.backup_retention_days, 1)),
                snapshot_window=SNAPSHOT_WINDOW, maintenance_window=MAINTENANCE_WINDOW,
                auto_minor_version_upgrade=True, apply_immediately=False,
                final_snapshot_identifier=f"{name}-final" if tier.protect else None,
                tags=tags,
                **sharding),
            opts=child_opts(self, protect=tier.protect))

        if shards is not None:
            self.primary_endpoint = group_rg.configuration_endpoint_address
            self.reader_endpoint = group_rg.configuration_endpoint_address
        else:
            self.primary_endpoint = group_rg.primary_endpoint_address
            self.reader_endpoint = group_rg.reader_endpoint_address
        self.port = pulumi.Output.from_input(port)
        self.security_group_id = group.id
        self.replication_group_arn = arn("replicationgroup", name)
        self.endpoint_parameter_arn = publish_parameter(
            self, f"{name}-endpoint", f"{name}/endpoint", self.primary_endpoint, region,
            account)
        """SSM parameter holding the primary endpoint (its ARN is known at preview)."""
        self.register_outputs({
            "primary_endpoint": self.primary_endpoint, "reader_endpoint": self.reader_endpoint,
            "port": self.port, "security_group_id": self.security_group_id,
            "user_group_id": self.user_group_id, "user_id": self.user_id,
            "user_arn": self.user_arn,
            "replication_group_arn": self.replication_group_arn})

    def allow_from(self, service: str, security_group_id: pulumi.Input[str]) -> None:
        """Admit one more client service on the store's port (for clients created after
        the store, as the Platform's services are)."""
        name, group_id, port, engine = self._client_rule
        allow_client(self, name, group_id, port, engine, service, security_group_id)

    def connect_statement(self, sid: str = "CacheConnect") -> Statement:
        """``elasticache:Connect`` on this cache as its IAM-authenticated user."""
        if self._auth != "rbac":
            raise ValueError("connect_statement needs auth rbac; with auth token, clients "
                             "read the token secret instead")
        return cache_connect_statement(sid, self.replication_group_arn, self.user_arn)
