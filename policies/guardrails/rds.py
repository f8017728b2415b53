"""RDS and Aurora: encryption at rest and in transit, availability, authentication,
backups, deletion protection, exposure, logs, statement logging, Enhanced Monitoring and
managed credentials."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .core import (
    Param,
    Resource,
    Settings,
    Stack,
    as_list,
    is_unknown,
    load_json,
    num,
    resource_policy,
    stack_policy,
    unknown,
)

CLUSTER = "aws:rds/cluster:Cluster"
INSTANCE = "aws:rds/instance:Instance"
CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"
CLUSTER_PARAMETER_GROUP = "aws:rds/clusterParameterGroup:ClusterParameterGroup"
DATABASES = (CLUSTER, INSTANCE)


def _is_aurora_instance(r: Resource) -> bool:
    engine = r.get("engine")
    return isinstance(engine, str) and engine.startswith("aurora")


def _flag(r: Resource, key: str, claim: str, default: Any = None) -> Iterator[str]:
    value = r.get(key, default)
    if is_unknown(value):
        yield unknown(key, claim)
    elif value is not True:
        yield f"{key} is not true"


@resource_policy(
    "rds-storage-encrypted",
    types=DATABASES,
    description="Database storage is encrypted with KMS.",
    severity="high", fsbp=("RDS.3", "RDS.27"), refs=("cdk-nag AS-RDS2", "checkov CKV_AWS_16"),
    remediation="Set storageEncrypted: true and kmsKeyId to the platform's data key.",
)
def storage_encrypted(r: Resource, s: Settings) -> Iterator[str]:
    yield from _flag(r, "storageEncrypted", "storage is encrypted")


@stack_policy(
    "rds-multi-az",
    types=(*DATABASES, CLUSTER_INSTANCE),
    description="Databases survive the loss of an availability zone: Multi-AZ instances, or "
                "Aurora clusters with at least two instances.",
    severity="high", guardrail="multi-az", fsbp=("RDS.5", "RDS.15"),
    refs=("cdk-nag AS-RDS3", "checkov CKV_AWS_157"),
    remediation="Set multiAz: true on instances; give Aurora clusters a writer and at least "
                "one reader (ClusterInstance) in another availability zone.",
)
def multi_az(stack: Stack, s: Settings) -> Iterator[tuple[Resource, str]]:
    for db in stack.of_type(INSTANCE):
        if db.get("replicateSourceDb") is not None:
            continue
        value = db.get("multiAz")
        if is_unknown(value):
            yield db, unknown("multiAz", "the database is Multi-AZ")
        elif value is not True:
            yield db, "multiAz is not true"
    for cluster in stack.of_type(CLUSTER):
        engine = cluster.get("engine")
        if not (isinstance(engine, str) and engine.startswith("aurora")):
            continue  # Multi-AZ DB clusters (mysql/postgres) always span three zones
        members = stack.referencing(cluster, (CLUSTER_INSTANCE,), "clusterIdentifier")
        if len(members) < 2:
            yield cluster, f"cluster has {len(members)} instance(s); at least 2 are required"


@resource_policy(
    "rds-iam-authentication",
    types=(*DATABASES,),
    description="Databases accept IAM authentication, so workloads need no passwords.",
    severity="medium", fsbp=("RDS.10", "RDS.12"), refs=("cdk-nag AS-RDS6", "checkov CKV_AWS_161"),
    remediation="Set iamDatabaseAuthenticationEnabled: true and grant rds-db:connect per "
                "database user.",
)
def iam_auth(r: Resource, s: Settings) -> Iterator[str]:
    if r.type == INSTANCE and _is_aurora_instance(r):
        return
    yield from _flag(r, "iamDatabaseAuthenticationEnabled", "IAM authentication is enabled")


@resource_policy(
    "rds-backup-retention",
    types=(*DATABASES,),
    description="Automated backups are kept at least minBackupRetentionDays days.",
    severity="medium", fsbp=("RDS.11", "RDS.26"), refs=("cdk-nag AS-RDS13", "checkov CKV_AWS_133"),
    params={"minBackupRetentionDays": Param("integer", 7, "Fewest days of automated backups.",
                                            minimum=1)},
    remediation="Set backupRetentionPeriod to at least minBackupRetentionDays.",
)
def backup_retention(r: Resource, s: Settings) -> Iterator[str]:
    if r.type == INSTANCE and _is_aurora_instance(r):
        return
    need = s["minBackupRetentionDays"]
    days = r.get("backupRetentionPeriod")
    if is_unknown(days):
        yield unknown("backupRetentionPeriod", f"backups are kept {need} days")
    elif days is None or days < need:
        shown = "not set" if days is None else f"{num(days)} day(s)"
        yield f"backupRetentionPeriod is {shown}; at least {need} days required"


@resource_policy(
    "rds-deletion-protection",
    types=(*DATABASES,),
    description="Databases refuse deletion at the AWS API.",
    severity="medium", fsbp=("RDS.7", "RDS.8"), refs=("cdk-nag AS-RDS10", "checkov CKV_AWS_139"),
    remediation="Set deletionProtection: true.",
)
def deletion_protection(r: Resource, s: Settings) -> Iterator[str]:
    if r.type == INSTANCE and _is_aurora_instance(r):
        return
    yield from _flag(r, "deletionProtection", "the database is deletion-protected")


@resource_policy(
    "rds-not-public",
    types=(*DATABASES, CLUSTER_INSTANCE),
    description="Databases are not publicly accessible.",
    severity="critical", fsbp=("RDS.2",),
    refs=("cdk-nag RDSInstancePublicAccess", "checkov CKV_AWS_17"),
    remediation="Leave publiclyAccessible unset or false and place databases in isolated "
                "subnets.",
)
def not_public(r: Resource, s: Settings) -> Iterator[str]:
    value = r.get("publiclyAccessible")
    if is_unknown(value):
        yield unknown("publiclyAccessible", "the database is private")
    elif value is True:
        yield "publiclyAccessible is true"


@resource_policy(
    "rds-log-exports",
    types=(*DATABASES,),
    description="Database logs are exported to CloudWatch Logs.",
    severity="low", fsbp=("RDS.9", "RDS.34", "RDS.36", "RDS.37"),
    refs=("cdk-nag AS-RDS16", "checkov CKV_AWS_129"),
    remediation="Set enabledCloudwatchLogsExports (postgresql for PostgreSQL engines; audit, "
                "error, slowquery for MySQL engines).",
)
def log_exports(r: Resource, s: Settings) -> Iterator[str]:
    if r.type == INSTANCE and _is_aurora_instance(r):
        return
    value = r.get("enabledCloudwatchLogsExports")
    if is_unknown(value):
        yield unknown("enabledCloudwatchLogsExports", "logs are exported")
    elif not value:
        yield "enabledCloudwatchLogsExports is empty"


@resource_policy(
    "rds-performance-insights-encrypted",
    types=(*DATABASES, CLUSTER_INSTANCE),
    description="Performance Insights data, where enabled, is encrypted with a "
                "customer-managed key.",
    severity="low", refs=("checkov CKV_AWS_354",),
    remediation="Set performanceInsightsKmsKeyId whenever performanceInsightsEnabled is true.",
)
def pi_encrypted(r: Resource, s: Settings) -> Iterator[str]:
    enabled = r.get("performanceInsightsEnabled")
    if is_unknown(enabled):
        yield unknown("performanceInsightsEnabled", "Performance Insights data is encrypted")
    elif enabled is True and r.get("performanceInsightsKmsKeyId") is None:
        yield "performanceInsightsKmsKeyId is not set"


@resource_policy(
    "rds-managed-master-password",
    types=(*DATABASES,),
    description="Master passwords are generated and rotated by RDS in Secrets Manager, never "
                "passed as inputs.",
    severity="critical", guardrail="no-static-credentials", fsbp=("RDS.24",),
    refs=("checkov CKV_AWS_149",),
    remediation="Remove password/masterPassword inputs and set manageMasterUserPassword: true "
                "(with masterUserSecretKmsKeyId).",
)
def managed_password(r: Resource, s: Settings) -> Iterator[str]:
    if r.type == INSTANCE and (_is_aurora_instance(r) or r.get("replicateSourceDb") is not None):
        return
    keys = ("masterPassword", "masterPasswordWo") if r.type == CLUSTER \
        else ("password", "passwordWo")
    for key in keys:
        if r.get(key) is not None:
            yield f"{key} is set; the password would live in configuration and state"
    if r.get("snapshotIdentifier") is not None:
        return
    managed = r.get("manageMasterUserPassword")
    if is_unknown(managed):
        yield unknown("manageMasterUserPassword", "RDS manages the master password")
    elif managed is not True:
        yield "manageMasterUserPassword is not true"


@resource_policy(
    "rds-auto-minor-upgrade",
    types=(INSTANCE, CLUSTER_INSTANCE),
    description="Database instances take automatic minor-version upgrades.",
    severity="low", fsbp=("RDS.13",), refs=("checkov CKV_AWS_226",),
    remediation="Leave autoMinorVersionUpgrade unset or true.",
)
def auto_minor(r: Resource, s: Settings) -> Iterator[str]:
    value = r.get("autoMinorVersionUpgrade", True)
    if is_unknown(value):
        yield unknown("autoMinorVersionUpgrade", "minor upgrades are automatic")
    elif value is not True:
        yield "autoMinorVersionUpgrade is false"


SSL_PARAMETERS = {"rds.force_ssl": ("1",), "require_secure_transport": ("1", "ON", "on")}


def _forces_tls_by_default(r: Resource) -> bool:
    """RDS for PostgreSQL 15 and later defaults rds.force_ssl to 1 (its default parameter
    group refuses plaintext); an unset version gets the current default major, which is
    newer."""
    if r.get("engine") != "postgres":
        return False
    version = r.get("engineVersion")
    if version is None:
        return True
    major = str(version).split(".", 1)[0]
    return major.isdigit() and int(major) >= 15


def _engine_ssl_parameter(family: object) -> str | None:
    if not isinstance(family, str):
        return None
    if "postgres" in family:
        return "rds.force_ssl"
    if "mysql" in family or "mariadb" in family:
        return "require_secure_transport"
    return None


@resource_policy(
    "rds-in-transit-encryption",
    types=(CLUSTER, INSTANCE, PARAMETER_GROUP, CLUSTER_PARAMETER_GROUP),
    description="Databases refuse unencrypted connections: RDS for PostgreSQL 15+ does by "
                "default; other engines use a custom parameter group that sets rds.force_ssl "
                "= 1 (PostgreSQL) or require_secure_transport = ON (MySQL/MariaDB).",
    severity="high", guardrail="tls", fsbp=("RDS.38", "RDS.39"), refs=("checkov CKV2_AWS_69",),
    remediation="Create an aws.rds.ClusterParameterGroup (Aurora) or ParameterGroup with the "
                "engine's SSL parameter and reference it from the cluster/instance.",
)
def in_transit(r: Resource, s: Settings) -> Iterator[str]:
    if r.type in (PARAMETER_GROUP, CLUSTER_PARAMETER_GROUP):
        family = r.get("family")
        if is_unknown(family):
            yield unknown("family", "the parameter group forces TLS")
            return
        param = _engine_ssl_parameter(family)
        if param is None:
            return
        default_on = isinstance(family, str) and family.startswith("postgres") \
            and family[len("postgres"):].isdigit() and int(family[len("postgres"):]) >= 15
        params = r.get("parameters")
        if is_unknown(params):
            yield unknown("parameters", "the parameter group forces TLS")
            return
        for p in as_list(params):
            if isinstance(p, dict) and p.get("name") == param:
                value = p.get("value")
                if is_unknown(value) or str(value) in SSL_PARAMETERS[param]:
                    return
                yield f"{param} is {value}; clients could connect without TLS"
                return
        if not default_on:
            yield f"{param} is not enabled; clients could connect without TLS"
        return
    if r.type == INSTANCE and _is_aurora_instance(r):
        return
    key = "dbClusterParameterGroupName" if r.type == CLUSTER else "parameterGroupName"
    name = r.get(key)
    if r.type == INSTANCE and _forces_tls_by_default(r) and (
            name is None or (isinstance(name, str) and name.startswith("default."))):
        return
    if name is None or (isinstance(name, str) and name.startswith("default.")):
        yield f"{key} is {name or 'not set'}; use a parameter group that forces TLS"


ROLE = "aws:iam/role:Role"
MONITORING_PRINCIPAL = "monitoring.rds.amazonaws.com"


def _trusts(role: Resource, service: str) -> bool | None:
    """Whether the role's trust policy names ``service``; None when it cannot be read."""
    try:
        doc = load_json(role.get("assumeRolePolicy"))
    except ValueError:
        return None
    if is_unknown(doc) or not isinstance(doc, dict):
        return None
    return any(isinstance(st, dict) and st.get("Effect") == "Allow"
               and isinstance(st.get("Principal"), dict)
               and service in as_list(st["Principal"].get("Service"))
               for st in as_list(doc.get("Statement")))


@stack_policy(
    "rds-enhanced-monitoring",
    types=(INSTANCE, CLUSTER_INSTANCE, ROLE),
    description="Database instances publish Enhanced Monitoring (OS) metrics: a monitoring "
                "interval above 0 and a role RDS monitoring can assume.",
    severity="medium", fsbp=("RDS.6",),
    refs=("cdk-nag RDSEnhancedMonitoringEnabled", "checkov CKV_AWS_118"),
    remediation="Set monitoringInterval (1-60 seconds) and monitoringRoleArn to a role trusted "
                "by monitoring.rds.amazonaws.com with the AmazonRDSEnhancedMonitoringRole "
                "policy (the Database component creates one in staging and prod).",
)
def enhanced_monitoring(stack: Stack, s: Settings) -> Iterator[tuple[Resource, str]]:
    for db in stack.of_type(INSTANCE, CLUSTER_INSTANCE):
        interval = db.get("monitoringInterval")
        if is_unknown(interval):
            yield db, unknown("monitoringInterval", "Enhanced Monitoring is on")
            continue
        if not interval:
            yield db, "monitoringInterval is 0 or not set; Enhanced Monitoring is off"
            continue
        role_arn = db.get("monitoringRoleArn")
        roles = db.deps("monitoringRoleArn", (ROLE,))
        if role_arn is None:
            yield db, "monitoringRoleArn is not set; RDS needs a role to publish the metrics"
        elif is_unknown(role_arn) and not roles:
            yield db, unknown("monitoringRoleArn", "RDS can publish the metrics")
        for role in roles:
            trusted = _trusts(role, MONITORING_PRINCIPAL)
            if trusted is None:
                yield role, unknown("assumeRolePolicy", f"{MONITORING_PRINCIPAL} may assume it")
            elif not trusted:
                yield role, (f"monitoring role of {db.name} does not trust "
                             f"{MONITORING_PRINCIPAL}")


STATEMENT_LOG_LEVELS = ("ddl", "mod", "all")
ENABLED = ("1", "on", "true")


@resource_policy(
    "rds-postgres-statement-logging",
    types=(PARAMETER_GROUP, CLUSTER_PARAMETER_GROUP),
    description="PostgreSQL parameter groups log schema changes (log_statement ddl or "
                "pgaudit), slow statements (log_min_duration_statement) and connections.",
    severity="medium", refs=("checkov CKV2_AWS_30",),
    remediation="Set log_statement = ddl (or pgaudit.log), log_min_duration_statement to a "
                "threshold in milliseconds and log_connections = 1, and export the "
                "postgresql log to CloudWatch Logs.",
)
def postgres_statement_logging(r: Resource, s: Settings) -> Iterator[str]:
    family = r.get("family")
    if is_unknown(family):
        yield unknown("family", "statements are logged")
        return
    if not (isinstance(family, str) and "postgres" in family):
        return
    params = r.get("parameters")
    if is_unknown(params):
        yield unknown("parameters", "statements are logged")
        return
    values: dict[str, object] = {}
    for p in as_list(params):
        if isinstance(p, dict) and isinstance(p.get("name"), str):
            value = p.get("value")
            values[p["name"]] = value if is_unknown(value) else str(value).lower()
    for name, value in sorted(values.items()):
        if is_unknown(value) and name in ("log_statement", "pgaudit.log",
                                          "log_min_duration_statement", "log_connections"):
            yield unknown(f"parameter {name}", "statements are logged")
            return
    audit = values.get("pgaudit.log")
    if values.get("log_statement") not in STATEMENT_LOG_LEVELS and audit in (None, "", "none"):
        yield ("log_statement is not ddl, mod or all and pgaudit.log is not set; schema "
               "changes go unrecorded")
    threshold = values.get("log_min_duration_statement")
    if threshold is None or not str(threshold).isdigit():
        yield ("log_min_duration_statement is not set to a threshold in milliseconds; slow "
               "statements go unrecorded")
    if values.get("log_connections") not in ENABLED:
        yield "log_connections is not enabled; sessions go unrecorded"
