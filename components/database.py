"""Database: an Aurora cluster (or a single RDS instance) in the isolated subnets, reachable
only from the services granted access, TLS-only, KMS-encrypted, IAM-authenticated, with its
master password generated and kept by Secrets Manager.

Passwords never appear in configuration: the spec has no password field, and a key that
looks like one (``master_password``, ``auth_token`` ...) is rejected with a pointer to what
happens instead (``manage_master_user_password``: RDS creates the password in Secrets Manager,
encrypted with the platform key, and rotates it). Workloads connect with IAM database
authentication (:meth:`Database.connect_grant`), so they hold no password either.

Tier rules (from :mod:`components.environment`, overridable per database): the least backup
retention, multi-AZ (Aurora: at least two instances in different zones; RDS: a standby),
deletion protection and Pulumi protection of every stateful child; in staging and prod,
Enhanced Monitoring of every instance.

Observability: the parameter group logs DDL, statements slower than ``slow_query_ms``,
connections, disconnections and lock waits (PostgreSQL; the slow-query and audit logs for
MySQL); the logs go to CloudWatch Logs groups the component creates first, so they carry the
platform key and the tier's retention instead of the never-expiring groups RDS would create.
Enhanced Monitoring uses a role the component creates (or one given). That role carries the
AWS managed policy ``AmazonRDSEnhancedMonitoringRole``, the one place the platform attaches
a managed policy: it grants nothing but writing to CloudWatch Logs groups named ``RDS*``
(where RDS puts OS metrics, ``RDSOSMetrics``), and AWS keeps it in step with what the
monitoring agent needs; a hand-written copy would grant the same and could fall behind. Its
trust is held to this account's instances of this database. Performance Insights is
encrypted with the platform key.
"""


import dataclasses
import re
import typing
from collections.abc import Mapping
from typing import NotRequired

import pulumi
import pulumi_aws as aws
from typing_extensions import TypedDict

from .base import (
    allow_client,
    child_opts,
    invoke_opts,
    merge_tags,
    publish_parameter,
    service_trust,
    type_token,
)
from .encryption import check_log_retention
from .environment import TIERS, Tier
from .grants import GrantSpec
from .validation import (
    Problem,
    check_choice,
    check_clients,
    check_key,
    check_range,
    config_path,
    credential_reason,
    raise_for,
)

ENGINES = ("aurora-postgresql", "aurora-mysql", "postgres", "mysql")
DEFAULT_VERSIONS = {"aurora-postgresql": "16.6", "aurora-mysql": "8.0.mysql_aurora.3.08.0",
                    "postgres": "16.6", "mysql": "8.0.40"}
DEFAULT_PORTS = {"aurora-postgresql": 5432, "aurora-mysql": 3306, "postgres": 5432,
                 "mysql": 3306}
LOG_EXPORTS = {"aurora-postgresql": ("postgresql",),
               "aurora-mysql": ("audit", "error", "general", "slowquery"),
               "postgres": ("postgresql", "upgrade"),
               "mysql": ("audit", "error", "general", "slowquery")}
DEFAULT_LOG_EXPORTS = {"aurora-postgresql": ("postgresql",),
                       "aurora-mysql": ("audit", "error", "slowquery"),
                       "postgres": ("postgresql", "upgrade"),
                       "mysql": ("error", "slowquery")}
ENGINE_VERSION_RE = {
    "aurora-postgresql": re.compile(r"(1[3-7])\.\d{1,2}"),
    "postgres": re.compile(r"(1[3-7])\.\d{1,2}"),
    "aurora-mysql": re.compile(r"8\.0\.mysql_aurora\.3\.\d{2}\.\d{1,2}"),
    "mysql": re.compile(r"8\.(0|4)\.\d{1,2}"),
}
"""Versions with standard support: PostgreSQL 13-17; Aurora MySQL 3 (MySQL 8.0); MySQL
8.0 and 8.4."""
ENGINE_VERSION_FORMS = {
    "aurora-postgresql": "<major>.<minor> with major 13 to 17",
    "postgres": "<major>.<minor> with major 13 to 17",
    "aurora-mysql": "8.0.mysql_aurora.3.<minor>.<patch>",
    "mysql": "8.0.<patch> or 8.4.<patch>",
}
_SIZES = ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge",
          "24xlarge", "32xlarge", "48xlarge")
INSTANCE_FAMILIES: dict[str, dict[str, tuple[str, ...]]] = {
    # Aurora offers memory-optimised and burstable (medium/large) classes, no m family.
    "aurora": {"t3": ("medium", "large"), "t4g": ("medium", "large"),
               **{f: _SIZES for f in ("r5", "r6g", "r6gd", "r6i", "r7g", "r7i", "r8g",
                                      "x2g")}},
    "rds": {"t3": ("micro", "small", "medium", "large", "xlarge", "2xlarge"),
            "t4g": ("micro", "small", "medium", "large", "xlarge", "2xlarge"),
            **{f: _SIZES for f in ("m5", "m6g", "m6gd", "m6i", "m7g", "m7i", "m8g", "r5",
                                   "r6g", "r6gd", "r6i", "r7g", "r7i", "r8g", "x2g")}},
}
"""Current-generation DB instance families and sizes, per kind of engine."""


def instance_class_ok(engine: str, instance_class: str) -> bool:
    aurora = _is_aurora(engine)
    if instance_class == "db.serverless":
        return aurora
    parts = instance_class.split(".")
    families = INSTANCE_FAMILIES["aurora" if aurora else "rds"]
    return len(parts) == 3 and parts[0] == "db" and parts[2] in families.get(parts[1], ())


RESERVED_USERNAMES = ("admin", "administrator", "postgres", "root", "rdsadmin", "master",
                      "mysql", "sa", "user")
MONITORING_INTERVALS = (0, 1, 5, 10, 15, 30, 60)
"""Enhanced Monitoring intervals RDS accepts, in seconds (0 switches it off)."""
MONITORED_TIERS = ("staging", "prod")
"""Tiers whose instances must have Enhanced Monitoring (OS metrics for incident work)."""
DEFAULT_MONITORING_INTERVAL = 60
MONITORING_POLICY_ARN = "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
DEFAULT_SLOW_QUERY_MS = 1000
BACKUP_WINDOW = "03:00-04:00"
MAINTENANCE_WINDOW = "sun:04:30-sun:05:30"


class DatabaseSpec(TypedDict):
    """A relational database as a stack file describes it."""

    engine: NotRequired[str]
    """``aurora-postgresql`` (default), ``aurora-mysql``, ``postgres`` or ``mysql`` (the last
    two are single RDS instances)."""
    engine_version: NotRequired[str]
    """Engine version, e.g. ``16.6``; default per engine."""
    instance_class: NotRequired[str]
    """DB instance class (default ``db.t4g.medium``)."""
    instances: NotRequired[int]
    """Aurora instances (writer + readers), 1-15, spread over the zones (default 2)."""
    multi_az: NotRequired[bool]
    """RDS instance engines: keep a standby in a second zone (default True)."""
    allocated_storage_gb: NotRequired[int]
    """RDS instance engines: storage in GiB, 20-65536 (default 20)."""
    backup_retention_days: NotRequired[int]
    """Automated backup retention, 1-35 days (default the tier's minimum)."""
    database_name: NotRequired[str]
    """Initial database to create (letters, digits, ``_``; starts with a letter)."""
    master_username: NotRequired[str]
    """Master user name (default ``dbmaster``); must not be a well-known default such as
    postgres, admin or root. Its password is generated and kept by Secrets Manager."""
    port: NotRequired[int]
    """Listener port, 1150-65535 (default the engine's)."""
    performance_insights: NotRequired[bool]
    """Enable Performance Insights, encrypted with the platform key (default True)."""
    monitoring_interval: NotRequired[int]
    """Enhanced Monitoring interval in seconds: 0 (off), 1, 5, 10, 15, 30 or 60 (default 60
    in staging and prod, which require it, and when a monitoring role is given; else 0)."""
    slow_query_ms: NotRequired[int]
    """Statements running longer than this many milliseconds are logged, 100-60000
    (default 1000)."""
    log_exports: NotRequired[list[str]]
    """Logs exported to CloudWatch; default per engine (postgresql; audit, error,
    slowquery)."""
    allowed_services: NotRequired[list[str]]
    """Service keys that may open connections; nothing else can reach the port."""


class DatabaseArgs(DatabaseSpec):
    """A database plus its wiring and the tier's rules."""

    vpc_id: pulumi.Input[str]
    """VPC of the isolated subnets."""
    isolated_subnet_ids: list[pulumi.Input[str]]
    """Isolated (no route to the internet) subnets, one per availability zone."""
    availability_zones: list[str]
    """The zones of those subnets; instances are spread over them in order (Aurora: over
    the first three, the most a cluster spans)."""
    kms_key_arn: pulumi.Input[str]
    """Customer managed key for storage, Performance Insights and the master secret."""
    client_security_group_ids: NotRequired[Mapping[str, pulumi.Input[str]]]
    """Security group per service key, for every key in ``allowed_services``."""
    environment: NotRequired[str]
    """Tier whose rules apply: dev, staging or prod (default prod, the strictest)."""
    protect: NotRequired[bool]
    """Pulumi-protect and retain every stateful child (default the tier's)."""
    deletion_protection: NotRequired[bool]
    """Make RDS refuse deletion (default the tier's)."""
    min_backup_retention_days: NotRequired[int]
    """Least backup retention allowed (default the tier's)."""
    require_multi_az: NotRequired[bool]
    """Demand instances in at least two zones (default True in prod)."""
    monitoring_role_arn: NotRequired[pulumi.Input[str]]
    """Bring-your-own role for Enhanced Monitoring; default: the component creates one
    whenever ``monitoring_interval`` is above 0."""
    log_retention_days: NotRequired[int]
    """Retention of the exported database logs in CloudWatch Logs (default the tier's)."""
    tags: NotRequired[pulumi.Input[dict[str, str]]]
    """Tags for every child, on top of the provider's default tags."""


def _fields(td: typing.Any) -> set[str]:
    return set(td.__required_keys__) | set(td.__optional_keys__)


def tier_rules(environment: str = "prod", **overrides: typing.Any) -> Tier:
    """The tier's rules, with explicit per-store overrides (``protect``, ...)."""
    tier = TIERS[environment]
    mapping = {"protect": "protect", "deletion_protection": "deletion_protection",
               "min_backup_retention_days": "backup_retention_days"}
    changes = {mapping[k]: v for k, v in overrides.items() if k in mapping and v is not None}
    return dataclasses.replace(tier, **changes)


MULTI_AZ_TIERS = ("prod",)
"""Tiers whose data stores must survive the loss of an availability zone."""


def requires_multi_az(tier: Tier, override: bool | None = None) -> bool:
    return override if override is not None else tier.name in MULTI_AZ_TIERS


def monitoring_interval(spec: typing.Mapping[str, typing.Any], tier: Tier) -> int:
    """The interval asked for; else 60 when the tier requires monitoring or a role is given."""
    if "monitoring_interval" in spec:
        return int(spec["monitoring_interval"])
    monitored = tier.name in MONITORED_TIERS or spec.get("monitoring_role_arn") is not None
    return DEFAULT_MONITORING_INTERVAL if monitored else 0


def unknown_key_problems(spec: Mapping[str, typing.Any], allowed: set[str],
                         what: str) -> list[Problem]:
    """Keys a typed dict does not declare; credential-looking ones get the reason why."""
    problems = []
    for key in sorted(set(spec) - allowed):
        if credential_reason(key, "x") is not None:
            problems.append(Problem((key,), f"passwords never go in configuration: {what}"))
        else:
            names = sorted(config_path((k,)) for k in allowed)
            problems.append(Problem((key,), "unknown key; allowed keys: " + ", ".join(names)))
    return problems


def _is_aurora(engine: str) -> bool:
    return engine.startswith("aurora-")


def check_database(spec: DatabaseSpec, tier: Tier | None = None,
                   require_multi_az: bool | None = None) -> list[Problem]:
    """Checks of the spec alone; with ``tier``, also the tier's minimums."""
    problems = unknown_key_problems(
        spec, _fields(DatabaseArgs),
        "the master password is generated and rotated by Secrets Manager "
        "(see masterUserSecretArn) and services connect with IAM authentication")
    engine = spec.get("engine", "aurora-postgresql")
    problems += check_choice(("engine",), engine, ENGINES)
    if engine not in ENGINES:
        return problems
    aurora = _is_aurora(engine)

    if aurora:
        problems += check_range(("instances",), spec.get("instances", 2), 1, 15, "instances")
        for key in ("multi_az", "allocated_storage_gb"):
            if key in spec:
                problems.append(Problem((key,), f"applies only to the RDS instance engines "
                                                f"(postgres, mysql), not {engine}"))
    else:
        if "instances" in spec:
            problems.append(Problem(("instances",), f"applies only to Aurora engines; {engine} "
                                                    "is one instance (use multiAz for a "
                                                    "standby)"))
        problems += check_range(("allocated_storage_gb",), spec.get("allocated_storage_gb", 20),
                                20, 65536, "allocatedStorageGb")

    username = spec.get("master_username", "dbmaster")
    if username.lower() in RESERVED_USERNAMES:
        problems.append(Problem(("master_username",),
                                f"'{username}' is a well-known default user name; choose "
                                "another (e.g. dbmaster)"))
    elif not (username[:1].isalpha() and username.replace("_", "").isalnum()
              and len(username) <= 16):
        problems.append(Problem(("master_username",),
                                f"'{username}' must be 1-16 letters, digits or '_', starting "
                                "with a letter"))
    if "database_name" in spec:
        db_name = spec["database_name"]
        if not (db_name[:1].isalpha() and db_name.replace("_", "").isalnum()
                and len(db_name) <= 63):
            problems.append(Problem(("database_name",),
                                    f"'{db_name}' must be 1-63 letters, digits or '_', "
                                    "starting with a letter"))
    if "port" in spec:
        problems += check_range(("port",), spec["port"], 1150, 65535, "port")
    instance_class = spec.get("instance_class", "db.t4g.medium")
    if not instance_class_ok(engine, instance_class):
        families = INSTANCE_FAMILIES["aurora" if aurora else "rds"]
        problems.append(Problem(("instance_class",), (
            f"'{instance_class}' is not a DB instance class for {engine}: use "
            f"db.<family>.<size> with family {', '.join(families)}"
            + (" (t3/t4g: medium or large), or db.serverless" if aurora else "")
            + " (e.g. db.r7g.large)")))
    version = spec.get("engine_version", DEFAULT_VERSIONS[engine])
    if not ENGINE_VERSION_RE[engine].fullmatch(version):
        problems.append(Problem(("engine_version",), (
            f"'{version}' is not a version RDS offers for {engine}: use "
            f"{ENGINE_VERSION_FORMS[engine]} (e.g. {DEFAULT_VERSIONS[engine]})")))
    for i, log in enumerate(spec.get("log_exports", [])):
        problems += check_choice(("log_exports", i), log, LOG_EXPORTS[engine])
    interval = spec.get("monitoring_interval", 0)
    if interval not in MONITORING_INTERVALS:
        problems.append(Problem(("monitoring_interval",),
                                f"{interval} is not an Enhanced Monitoring interval: use one "
                                f"of {', '.join(map(str, MONITORING_INTERVALS))}"))
    if "slow_query_ms" in spec:
        problems += check_range(("slow_query_ms",), spec["slow_query_ms"], 100, 60000,
                                "slowQueryMs")
    for i, service in enumerate(spec.get("allowed_services", [])):
        problems += check_key(("allowed_services", i), service)

    days = spec.get("backup_retention_days")
    if days is not None:
        problems += check_range(("backup_retention_days",), days, 1, 35, "backupRetentionDays")
    if tier is not None:
        if tier.name in MONITORED_TIERS and spec.get("monitoring_interval") == 0:
            problems.append(Problem(("monitoring_interval",),
                                    f"{tier.name} needs Enhanced Monitoring: use one of "
                                    f"{', '.join(map(str, MONITORING_INTERVALS[1:]))} (got 0)"))
        if days is not None and days < tier.backup_retention_days:
            problems.append(Problem(("backup_retention_days",),
                                    f"backupRetentionDays must be at least "
                                    f"{tier.backup_retention_days} in {tier.name} (got {days})"))
        if requires_multi_az(tier, require_multi_az):
            if aurora and spec.get("instances", 2) < 2:
                problems.append(Problem(("instances",),
                                        f"{tier.name} needs at least 2 instances in different "
                                        f"availability zones (got {spec.get('instances')})"))
            if not aurora and not spec.get("multi_az", True):
                problems.append(Problem(("multi_az",),
                                        f"{tier.name} needs a standby in a second "
                                        "availability zone (multiAz: true)"))
    return problems


def parameter_family(engine: str, version: str) -> str:
    """``aurora-postgresql`` 16.6 -> ``aurora-postgresql16``; mysql 8.0.40 -> ``mysql8.0``."""
    parts = version.split(".")
    major = parts[0] if "postgres" in engine else ".".join(parts[:2])
    return f"{engine}{major}"


def tls_parameters(engine: str) -> dict[str, str]:
    """Parameters that refuse unencrypted connections."""
    return {"rds.force_ssl": "1"} if "postgres" in engine else {"require_secure_transport": "ON"}


def logging_parameters(engine: str, slow_query_ms: int = DEFAULT_SLOW_QUERY_MS
                       ) -> dict[str, str]:
    """Parameters that feed the exported logs: schema changes, slow statements, sessions.

    PostgreSQL logs every DDL statement (``log_statement = ddl``: who changed the schema,
    without the volume and data exposure of logging every statement), statements slower than
    ``slow_query_ms`` with their duration, connections and disconnections, and lock waits.
    Full per-statement auditing (pgaudit) needs the extension created in each database and a
    reboot-only preload change, so it is left to the schema owner."""
    if "postgres" in engine:
        return {"log_statement": "ddl", "log_min_duration_statement": str(slow_query_ms),
                "log_connections": "1", "log_disconnections": "1", "log_lock_waits": "1"}
    params = {"slow_query_log": "1", "long_query_time": f"{slow_query_ms / 1000:g}"}
    if engine == "aurora-mysql":
        params |= {"server_audit_logging": "1",
                   "server_audit_events": "CONNECT,QUERY_DCL,QUERY_DDL"}
    return params


def log_group_names(engine: str, identifier: str, logs: typing.Sequence[str]) -> list[str]:
    """The CloudWatch Logs groups RDS exports to: ``/aws/rds/cluster/<id>/<log>`` for Aurora,
    ``/aws/rds/instance/<id>/<log>`` for an instance."""
    kind = "cluster" if _is_aurora(engine) else "instance"
    return [f"/aws/rds/{kind}/{identifier}/{log}" for log in logs]


def _check_args(name: str, args: DatabaseArgs, tier: Tier) -> list[Problem]:
    problems = check_database(args, tier, args.get("require_multi_az"))
    problems += check_key(("(name)",), name)
    subnets, zones = args["isolated_subnet_ids"], args["availability_zones"]
    if len(subnets) != len(zones):
        problems.append(Problem(("isolated_subnet_ids",),
                                f"gives {len(subnets)} subnets for {len(zones)} availability "
                                "zones; give one isolated subnet per zone"))
    if len(set(zones)) < 2:
        problems.append(Problem(("availability_zones",), "a DB subnet group needs subnets in "
                                                         "at least 2 availability zones"))
    problems += check_clients(args.get("allowed_services", []),
                              args.get("client_security_group_ids", {}))
    problems += check_log_retention(args.get("log_retention_days"))
    if args.get("monitoring_interval") == 0 and "monitoring_role_arn" in args:
        problems.append(Problem(("monitoring_role_arn",), "is given but monitoringInterval "
                                                          "is 0: set an interval or drop the role"))
    return problems


def dbuser_arn(region: pulumi.Input[str], account_id: pulumi.Input[str],
               resource_id: pulumi.Input[str], db_user: str) -> pulumi.Output[str]:
    """``arn:aws:rds-db:<region>:<account>:dbuser:<DbiResourceId|cluster id>/<user>``."""
    # Formatted rather than concatenated: under test mocks, which compute no resource id,
    # the ARN still renders (with "None") instead of failing the whole program.
    return pulumi.Output.all(region, account_id, resource_id).apply(
        lambda p: f"arn:aws:rds-db:{p[0]}:{p[1]}:dbuser:{p[2]}/{db_user}")


class Database(pulumi.ComponentResource):
    """An Aurora cluster or RDS instance: isolated, TLS-only, encrypted, IAM-authenticated."""

    endpoint: pulumi.Output[str]
    """Writer endpoint host name."""
    reader_endpoint: pulumi.Output[str]
    """Reader endpoint host name (Aurora); the writer's for an RDS instance."""
    port: pulumi.Output[int]
    """Listener port."""
    security_group_id: pulumi.Output[str]
    """The database's security group (ingress only from the allowed services)."""
    cluster_resource_id: pulumi.Output[str]
    """Aurora cluster resource id (or RDS DbiResourceId): the id in IAM auth ARNs."""
    master_user_secret_arn: pulumi.Output[str]
    """Secrets Manager secret holding the master credentials (kept by RDS)."""
    monitoring_role_arn: pulumi.Output[str]
    """The Enhanced Monitoring role (empty when monitoring is off)."""

    def __init__(self, name: str, args: DatabaseArgs,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__(type_token("Database"), name, None, opts)
        environment = args.get("environment", "prod")
        problems = check_choice(("environment",), environment, list(TIERS))
        raise_for("Database", name, problems)
        tier = tier_rules(environment, protect=args.get("protect"),
                          deletion_protection=args.get("deletion_protection"),
                          min_backup_retention_days=args.get("min_backup_retention_days"))
        raise_for("Database", name, _check_args(name, args, tier))

        # --- defaults -------------------------------------------------------------------
        engine = args.get("engine", "aurora-postgresql")
        aurora = _is_aurora(engine)
        version = args.get("engine_version", DEFAULT_VERSIONS[engine])
        port = args.get("port", DEFAULT_PORTS[engine])
        instance_class = args.get("instance_class", "db.t4g.medium")
        backup_days = args.get("backup_retention_days", tier.backup_retention_days)
        logs = list(args.get("log_exports", DEFAULT_LOG_EXPORTS[engine]))
        insights = args.get("performance_insights", True)
        # An Aurora cluster's storage spans at most three zones; its instances stay in them.
        zones = list(args["availability_zones"])[:3] if aurora else list(args["availability_zones"])
        kms = args["kms_key_arn"]
        interval = monitoring_interval(args, tier)
        tags = pulumi.Output.from_input(args.get("tags") or {}).apply(
            lambda t: merge_tags(t, {"Name": name}))
        # A deterministic name: a second delete of the same store fails loudly instead of
        # overwriting the first final snapshot.
        keep_snapshot = tier.protect or tier.deletion_protection
        final_snapshot = f"{name}-final" if keep_snapshot else None

        # --- network --------------------------------------------------------------------
        subnet_group = aws.rds.SubnetGroup(
            f"{name}-subnets",
            aws.rds.SubnetGroupArgs(name=name, description=f"{name}: isolated subnets",
                                    subnet_ids=args["isolated_subnet_ids"], tags=tags),
            opts=child_opts(self))
        group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            aws.ec2.SecurityGroupArgs(
                name=f"{name}-db", vpc_id=args["vpc_id"],
                description=f"{name}: {engine} clients on port {port}; no egress",
                tags=tags),
            opts=child_opts(self))
        self._client_rule = (name, group.id, port, engine)
        self.client_port = port
        """Port clients connect to, as a plain number (security-group rules need it)."""
        clients = args.get("client_security_group_ids", {})
        for service in sorted(args.get("allowed_services", sorted(clients))):
            self.allow_from(service, clients[service])

        # --- TLS-only, logging parameters ----------------------------------------------
        family = parameter_family(engine, version)
        params = {**tls_parameters(engine), **logging_parameters(
            engine, args.get("slow_query_ms", DEFAULT_SLOW_QUERY_MS))}
        description = f"{name}: TLS-only connections, statement and session logging"
        if aurora:
            parameter_group: pulumi.Resource = aws.rds.ClusterParameterGroup(
                f"{name}-params",
                aws.rds.ClusterParameterGroupArgs(
                    name=name, family=family, description=description,
                    parameters=[aws.rds.ClusterParameterGroupParameterArgs(name=k, value=v)
                                for k, v in sorted(params.items())],
                    tags=tags),
                opts=child_opts(self))
        else:
            parameter_group = aws.rds.ParameterGroup(
                f"{name}-params",
                aws.rds.ParameterGroupArgs(
                    name=name, family=family, description=description,
                    parameters=[aws.rds.ParameterGroupParameterArgs(name=k, value=v)
                                for k, v in sorted(params.items())],
                    tags=tags),
                opts=child_opts(self))

        # --- log groups and monitoring ------------------------------------------------
        # Created before the database, so RDS exports into them rather than creating its
        # own groups without a key or retention.
        retention = args.get("log_retention_days", tier.log_retention_days)
        log_groups = [aws.cloudwatch.LogGroup(
            f"{name}-log-{log}",
            aws.cloudwatch.LogGroupArgs(name=group, retention_in_days=retention,
                                        kms_key_id=kms, tags=tags),
            opts=child_opts(self))
            for log, group in zip(logs, log_group_names(engine, name, logs), strict=True)]
        self._region = aws.get_region_output(opts=invoke_opts(self)).region
        self._account = aws.get_caller_identity_output(
            opts=invoke_opts(self)).account_id
        monitoring_role, monitoring_ready = self._monitoring_role(
            name, args, interval, aurora, tags)

        common = dict(
            engine=engine, engine_version=version, port=port,
            db_subnet_group_name=subnet_group.name, vpc_security_group_ids=[group.id],
            storage_encrypted=True, kms_key_id=kms,
            iam_database_authentication_enabled=True,
            manage_master_user_password=True, master_user_secret_kms_key_id=kms,
            backup_retention_period=backup_days, copy_tags_to_snapshot=True,
            deletion_protection=tier.deletion_protection,
            skip_final_snapshot=final_snapshot is None,
            final_snapshot_identifier=final_snapshot,
            enabled_cloudwatch_logs_exports=logs,
            apply_immediately=False, tags=tags)
        monitoring = dict(monitoring_interval=interval,
                          monitoring_role_arn=monitoring_role if interval else None)

        if aurora:
            cluster = aws.rds.Cluster(
                f"{name}-cluster",
                aws.rds.ClusterArgs(
                    cluster_identifier=name,
                    database_name=args.get("database_name"),
                    master_username=args.get("master_username", "dbmaster"),
                    db_cluster_parameter_group_name=parameter_group.name,  # type: ignore[attr-defined]
                    availability_zones=zones,
                    preferred_backup_window=BACKUP_WINDOW,
                    preferred_maintenance_window=MAINTENANCE_WINDOW,
                    **common),
                # AWS may add zones to the list it reports; the placement is the instances'.
                opts=child_opts(self, protect=tier.protect, ignore_changes=["availabilityZones"],
                                depends_on=log_groups))
            for i in range(args.get("instances", 2)):
                zone = zones[i % len(zones)]
                aws.rds.ClusterInstance(
                    f"{name}-{i + 1}",
                    aws.rds.ClusterInstanceArgs(
                        identifier=f"{name}-{i + 1}",
                        cluster_identifier=cluster.id, engine=engine, engine_version=version,
                        instance_class=instance_class, availability_zone=zone,
                        db_subnet_group_name=subnet_group.name,
                        publicly_accessible=False, auto_minor_version_upgrade=True,
                        performance_insights_enabled=insights,
                        performance_insights_kms_key_id=kms if insights else None,
                        **monitoring,
                        promotion_tier=i, apply_immediately=False, tags=tags),
                    opts=child_opts(self, protect=tier.protect, depends_on=monitoring_ready))
            self.endpoint = cluster.endpoint
            self.reader_endpoint = cluster.reader_endpoint
            self.port = cluster.port
            self.cluster_resource_id = cluster.cluster_resource_id
            secrets = cluster.master_user_secrets
        else:
            instance = aws.rds.Instance(
                f"{name}-instance",
                aws.rds.InstanceArgs(
                    identifier=name, instance_class=instance_class,
                    allocated_storage=args.get("allocated_storage_gb", 20), storage_type="gp3",
                    db_name=args.get("database_name"),
                    username=args.get("master_username", "dbmaster"),
                    parameter_group_name=parameter_group.name,  # type: ignore[attr-defined]
                    multi_az=args.get("multi_az", True),
                    publicly_accessible=False, auto_minor_version_upgrade=True,
                    backup_window=BACKUP_WINDOW, maintenance_window=MAINTENANCE_WINDOW,
                    performance_insights_enabled=insights,
                    performance_insights_kms_key_id=kms if insights else None,
                    **monitoring, **common),
                opts=child_opts(self, protect=tier.protect,
                                depends_on=[*log_groups, *monitoring_ready]))
            self.endpoint = instance.address
            self.reader_endpoint = instance.address
            self.port = instance.port
            self.cluster_resource_id = instance.resource_id
            secrets = instance.master_user_secrets

        self.master_user_secret_arn = secrets.apply(
            lambda s: s[0].secret_arn if s else "")  # type: ignore[union-attr,index]
        self.security_group_id = group.id
        self.monitoring_role_arn = pulumi.Output.from_input(monitoring_role or "")
        self.endpoint_parameter_arn = publish_parameter(
            self, f"{name}-endpoint", f"{name}/endpoint", self.endpoint, self._region,
            self._account)
        """SSM parameter holding the writer endpoint (its ARN is known at preview)."""
        self.register_outputs({
            "endpoint": self.endpoint, "reader_endpoint": self.reader_endpoint,
            "port": self.port, "security_group_id": self.security_group_id,
            "cluster_resource_id": self.cluster_resource_id,
            "master_user_secret_arn": self.master_user_secret_arn,
            "monitoring_role_arn": self.monitoring_role_arn})

    def _monitoring_role(self, name: str, args: DatabaseArgs, interval: int, aurora: bool,
                         tags: pulumi.Input[dict[str, str]]
                         ) -> tuple[pulumi.Input[str] | None, list[pulumi.Resource]]:
        """The Enhanced Monitoring role: the one given, a created one, or none (interval 0).
        A created role is trusted by RDS monitoring for this account's instances of this
        database only; instances wait for its policy, or RDS refuses the role."""
        if interval == 0:
            return None, []
        if "monitoring_role_arn" in args:
            return args["monitoring_role_arn"], []
        instances = f"{name}-*" if aurora else name
        role = aws.iam.Role(f"{name}-monitoring", aws.iam.RoleArgs(
            name=f"{name}-rds-monitoring",
            description=f"RDS Enhanced Monitoring of {name} writes OS metrics to CloudWatch Logs",
            assume_role_policy=service_trust(
                "monitoring.rds.amazonaws.com", self._account,
                pulumi.Output.concat("arn:aws:rds:", self._region, ":", self._account, ":db:",
                                     instances)),
            tags=tags), opts=child_opts(self))
        attachment = aws.iam.RolePolicyAttachment(
            f"{name}-monitoring-policy", aws.iam.RolePolicyAttachmentArgs(
                role=role.name, policy_arn=MONITORING_POLICY_ARN), opts=child_opts(self))
        return role.arn, [attachment]

    def allow_from(self, service: str, security_group_id: pulumi.Input[str]) -> None:
        """Admit one more client service on the store's port (for clients created after
        the store, as the Platform's services are)."""
        name, group_id, port, engine = self._client_rule
        allow_client(self, name, group_id, port, engine, service, security_group_id)

    def connect_grant(self, db_user: str) -> GrantSpec:
        """Let a workload connect as ``db_user`` with IAM authentication (``rds-db:connect``).

        The database user must exist and be granted ``rds_iam`` (PostgreSQL) or be
        identified with ``AWSAuthenticationPlugin`` (MySQL)."""
        # The resource id in the ARN exists only once the database does; naming the user in
        # this account and region keeps the grant known at preview (user names are per
        # service, and IAM authentication is on only for this platform's databases).
        return GrantSpec(kind="database-user", access="read",
                         arn=dbuser_arn(self._region, self._account, "*", db_user))
