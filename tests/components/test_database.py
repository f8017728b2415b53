"""Database: isolated, TLS-only, encrypted, IAM-authenticated, protected per tier."""

import json
from typing import Any, cast

import pydantic
import pytest
from typing_extensions import TypedDict

from components.base import policy_document
from components.database import (
    Database,
    DatabaseArgs,
    DatabaseSpec,
    check_database,
    dbuser_arn,
)
from components.environment import TIERS
from components.grants import grant_statements
from components.spec import _configure
from components.validation import ArgsError
from preflight.capture import Capture, capture

KEY = "arn:aws:kms:eu-west-1:123456789012:key/platform"
CONFIG = {"aws:region": "eu-west-1"}
ZONES = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
SUBNETS = ["subnet-iso-a", "subnet-iso-b", "subnet-iso-c"]
CLIENTS = {"orders": "sg-orders", "billing": "sg-billing", "reports": "sg-reports"}
STATEFUL = ("aws:rds/cluster:Cluster", "aws:rds/clusterInstance:ClusterInstance",
            "aws:rds/instance:Instance")


def args(**extra) -> DatabaseArgs:
    base: dict[str, Any] = {
            "vpc_id": "vpc-1", "isolated_subnet_ids": SUBNETS, "availability_zones": ZONES,
            "kms_key_arn": KEY, "client_security_group_ids": CLIENTS,
            "allowed_services": ["orders", "billing"], "environment": "prod"}
    return cast(DatabaseArgs, {**base, **extra})


def run(build, preview: bool = False) -> Capture:
    return capture(build, config=CONFIG, preview=preview)


def types(cap: Capture) -> list[str]:
    return sorted(r.type for r in cap.registrations if r.custom)


def test_aurora_children_and_az_spread():
    cap = run(lambda: Database("prod-orders", args(instances=4)))
    assert types(cap) == sorted([
        "aws:ec2/securityGroup:SecurityGroup", "aws:rds/cluster:Cluster",
        "aws:rds/clusterParameterGroup:ClusterParameterGroup",
        "aws:rds/subnetGroup:SubnetGroup",
        *["aws:rds/clusterInstance:ClusterInstance"] * 4, "aws:ssm/parameter:Parameter",
        *["aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"] * 2,
        "aws:cloudwatch/logGroup:LogGroup", "aws:iam/role:Role",
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment"])
    assert cap.named("prod-orders-subnets").inputs["subnetIds"] == SUBNETS
    # Clients find the writer through a parameter whose ARN is known before the cluster.
    assert cap.named("prod-orders-endpoint").inputs["name"] == "/prod-orders/endpoint"
    assert cap.named("prod-orders-endpoint").inputs["type"] == "String"
    placement = {r.name: r.inputs["availabilityZone"]
                 for r in cap.of_type("aws:rds/clusterInstance:ClusterInstance")}
    assert placement == {"prod-orders-1": "eu-west-1a", "prod-orders-2": "eu-west-1b",
                         "prod-orders-3": "eu-west-1c", "prod-orders-4": "eu-west-1a"}
    assert cap.named("prod-orders-cluster").inputs["availabilityZones"] == ZONES


def test_aurora_uses_at_most_three_zones():
    zones = [*ZONES, "eu-west-1d"]
    subnets = [*SUBNETS, "subnet-iso-d"]
    cap = run(lambda: Database("prod-orders", args(instances=4, availability_zones=zones,
                                                   isolated_subnet_ids=subnets)))
    assert cap.named("prod-orders-subnets").inputs["subnetIds"] == subnets
    assert cap.named("prod-orders-cluster").inputs["availabilityZones"] == ZONES
    assert {r.name: r.inputs["availabilityZone"]
            for r in cap.of_type("aws:rds/clusterInstance:ClusterInstance")} == {
        "prod-orders-1": "eu-west-1a", "prod-orders-2": "eu-west-1b",
        "prod-orders-3": "eu-west-1c", "prod-orders-4": "eu-west-1a"}


def test_aurora_cluster_is_encrypted_iam_authenticated_and_keeps_no_password():
    cap = run(lambda: Database("prod-orders", args(database_name="orders")))
    cluster = cap.named("prod-orders-cluster")
    expected = {
        "clusterIdentifier": "prod-orders", "engine": "aurora-postgresql",
        "engineVersion": "16.6", "port": 5432, "databaseName": "orders",
        "masterUsername": "dbmaster",
        "storageEncrypted": True, "kmsKeyId": KEY,
        "iamDatabaseAuthenticationEnabled": True,
        "manageMasterUserPassword": True, "masterUserSecretKmsKeyId": KEY,
        "backupRetentionPeriod": 14, "preferredBackupWindow": "03:00-04:00",
        "preferredMaintenanceWindow": "sun:04:30-sun:05:30",
        "copyTagsToSnapshot": True, "deletionProtection": True,
        "skipFinalSnapshot": False, "finalSnapshotIdentifier": "prod-orders-final",
        "enabledCloudwatchLogsExports": ["postgresql"],
        "dbSubnetGroupName": "prod-orders", "dbClusterParameterGroupName": "prod-orders",
        "vpcSecurityGroupIds": ["prod-orders-sg-id"], "availabilityZones": ZONES,
        "applyImmediately": False, "tags": {"Name": "prod-orders"}}
    assert cluster.inputs == expected
    assert cluster.ignore_changes == ["availabilityZones"]
    for instance in cap.of_type("aws:rds/clusterInstance:ClusterInstance"):
        assert instance.inputs["publiclyAccessible"] is False
        assert instance.inputs["performanceInsightsEnabled"] is True
        assert instance.inputs["performanceInsightsKmsKeyId"] == KEY
        assert instance.inputs["autoMinorVersionUpgrade"] is True
        assert instance.inputs["clusterIdentifier"] == "prod-orders-cluster-id"
        assert instance.inputs["monitoringInterval"] == 60


MONITORING_TRUST = {"Version": "2012-10-17", "Statement": [{
    "Sid": "AssumeRole", "Effect": "Allow",
    "Principal": {"Service": "monitoring.rds.amazonaws.com"}, "Action": "sts:AssumeRole",
    "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"},
                  "ArnLike": {"aws:SourceArn":
                              "arn:aws:rds:eu-west-1:123456789012:db:prod-orders-*"}}}]}


@pytest.mark.parametrize("environment", ["staging", "prod"])
def test_enhanced_monitoring_with_its_own_role_in_staging_and_prod(environment):
    cap = run(lambda: Database("prod-orders", args(environment=environment)))
    role = cap.named("prod-orders-monitoring")
    assert role.type == "aws:iam/role:Role"
    assert role.inputs["name"] == "prod-orders-rds-monitoring"
    assert json.loads(role.inputs["assumeRolePolicy"]) == MONITORING_TRUST
    assert "managedPolicyArns" not in role.inputs and "inlinePolicies" not in role.inputs
    [attachment] = cap.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert attachment.inputs == {
        "role": "prod-orders-rds-monitoring",
        "policyArn": "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"}
    instances = cap.of_type("aws:rds/clusterInstance:ClusterInstance")
    assert len(instances) == 2
    for instance in instances:
        assert instance.inputs["monitoringInterval"] == 60
        assert instance.inputs["monitoringRoleArn"] == "arn:aws:iam:eu-west-1:123456789012:prod-orders-monitoring"
        # RDS refuses a role that does not carry its policy yet.
        assert attachment.urn in instance.dependencies


def test_rds_instance_monitoring_role_trusts_that_instance_only():
    cap = run(lambda: Database("prod-orders", args(engine="postgres", monitoring_interval=15)))
    trust = json.loads(cap.named("prod-orders-monitoring").inputs["assumeRolePolicy"])
    assert trust["Statement"][0]["Condition"]["ArnLike"] == {
        "aws:SourceArn": "arn:aws:rds:eu-west-1:123456789012:db:prod-orders"}
    instance = cap.named("prod-orders-instance").inputs
    assert (instance["monitoringInterval"], instance["monitoringRoleArn"]) == (
        15, "arn:aws:iam:eu-west-1:123456789012:prod-orders-monitoring")


def test_enhanced_monitoring_with_a_given_role_creates_none():
    role = "arn:aws:iam::123456789012:role/rds-monitoring"
    cap = run(lambda: Database("prod-orders", args(monitoring_role_arn=role,
                                                   monitoring_interval=30)))
    assert cap.of_type("aws:iam/role:Role") == []
    for instance in cap.of_type("aws:rds/clusterInstance:ClusterInstance"):
        assert (instance.inputs["monitoringInterval"], instance.inputs["monitoringRoleArn"]) \
            == (30, role)


def test_dev_monitors_only_when_asked():
    cap = run(lambda: Database("dev-orders", args(environment="dev")))
    assert cap.of_type("aws:iam/role:Role") == []
    for instance in cap.of_type("aws:rds/clusterInstance:ClusterInstance"):
        assert instance.inputs["monitoringInterval"] == 0
        assert "monitoringRoleArn" not in instance.inputs
    role = "arn:aws:iam::123456789012:role/rds-monitoring"
    cap = run(lambda: Database("dev-orders", args(environment="dev", monitoring_role_arn=role)))
    assert {r.inputs["monitoringInterval"]
            for r in cap.of_type("aws:rds/clusterInstance:ClusterInstance")} == {60}


@pytest.mark.parametrize(("engine", "groups"), [
    ("aurora-postgresql",
     {"prod-orders-log-postgresql": "/aws/rds/cluster/prod-orders/postgresql"}),
    ("postgres", {"prod-orders-log-postgresql": "/aws/rds/instance/prod-orders/postgresql",
                  "prod-orders-log-upgrade": "/aws/rds/instance/prod-orders/upgrade"}),
    ("aurora-mysql", {"prod-orders-log-audit": "/aws/rds/cluster/prod-orders/audit",
                      "prod-orders-log-error": "/aws/rds/cluster/prod-orders/error",
                      "prod-orders-log-slowquery": "/aws/rds/cluster/prod-orders/slowquery"}),
])
def test_exported_logs_land_in_encrypted_groups_with_the_tier_retention(engine, groups):
    cap = run(lambda: Database("prod-orders", args(engine=engine)))
    found = {r.name: r for r in cap.of_type("aws:cloudwatch/logGroup:LogGroup")}
    assert {k: r.inputs["name"] for k, r in found.items()} == groups
    for group in found.values():
        assert (group.inputs["retentionInDays"], group.inputs["kmsKeyId"]) == (365, KEY)
    store = cap.named("prod-orders-cluster" if engine.startswith("aurora")
                      else "prod-orders-instance")
    # The groups exist before RDS starts exporting, or RDS makes its own without a key.
    assert {r.urn for r in found.values()} <= set(store.dependencies)


def test_log_retention_follows_the_argument_else_the_tier():
    cap = run(lambda: Database("stg-orders", args(environment="staging")))
    assert cap.named("stg-orders-log-postgresql").inputs["retentionInDays"] == 90
    cap = run(lambda: Database("stg-orders", args(environment="staging",
                                                  log_retention_days=400)))
    assert cap.named("stg-orders-log-postgresql").inputs["retentionInDays"] == 400


@pytest.mark.parametrize("engine", ["aurora-postgresql", "postgres"])
def test_prod_protects_and_retains_every_stateful_child(engine):
    extra = {"engine": engine} if engine == "postgres" else {}
    cap = run(lambda: Database("prod-orders", args(**extra)))
    stateful = [r for r in cap.registrations if r.type in STATEFUL]
    assert len(stateful) == (3 if engine.startswith("aurora") else 1)
    assert all(r.protect and r.retain_on_delete for r in stateful)
    others = [r for r in cap.registrations if r.custom and r.type not in STATEFUL]
    assert not any(r.protect or r.retain_on_delete for r in others)


@pytest.mark.parametrize(("environment", "protect", "deletion", "snapshot", "backups"), [
    ("dev", False, False, None, 1),
    ("staging", False, True, "dev-orders-final", 7),
    ("prod", True, True, "dev-orders-final", 14),
])
def test_tier_decides_protection_snapshots_and_backups(environment, protect, deletion,
                                                       snapshot, backups):
    cap = run(lambda: Database("dev-orders", args(environment=environment, instances=2)))
    cluster = cap.named("dev-orders-cluster")
    assert (cluster.protect, cluster.retain_on_delete) == (protect, protect)
    assert cluster.inputs["deletionProtection"] is deletion
    assert cluster.inputs["skipFinalSnapshot"] is (snapshot is None)
    assert cluster.inputs.get("finalSnapshotIdentifier") == snapshot
    assert cluster.inputs["backupRetentionPeriod"] == backups
    assert cluster.inputs["storageEncrypted"] is True


def test_explicit_overrides_beat_the_tier():
    cap = run(lambda: Database("orders", args(environment="dev", protect=True,
                                              deletion_protection=True)))
    cluster = cap.named("orders-cluster")
    assert (cluster.protect, cluster.retain_on_delete) == (True, True)
    assert cluster.inputs["deletionProtection"] is True


def test_ingress_only_from_allowed_services_on_the_db_port():
    cap = run(lambda: Database("prod-orders", args(port=6543)))
    rules = {r.name: r.inputs
             for r in cap.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")}
    assert rules == {
        "prod-orders-from-billing": {
            "securityGroupId": "prod-orders-sg-id", "referencedSecurityGroupId": "sg-billing",
            "ipProtocol": "tcp", "fromPort": 6543, "toPort": 6543,
            "description": "aurora-postgresql from service billing"},
        "prod-orders-from-orders": {
            "securityGroupId": "prod-orders-sg-id", "referencedSecurityGroupId": "sg-orders",
            "ipProtocol": "tcp", "fromPort": 6543, "toPort": 6543,
            "description": "aurora-postgresql from service orders"},
    }
    assert cap.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule") == []
    group = cap.named("prod-orders-sg").inputs
    assert "ingress" not in group and "egress" not in group
    assert group["vpcId"] == "vpc-1"


def test_no_ingress_at_all_without_allowed_services():
    cap = run(lambda: Database("prod-orders", args(allowed_services=[])))
    assert cap.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") == []


POSTGRES_PARAMETERS = [
    {"name": "log_connections", "value": "1"},
    {"name": "log_disconnections", "value": "1"},
    {"name": "log_lock_waits", "value": "1"},
    {"name": "log_min_duration_statement", "value": "1000"},
    {"name": "log_statement", "value": "ddl"},
    {"name": "rds.force_ssl", "value": "1"}]
IMMEDIATE = {"applyMethod": "immediate"}


@pytest.mark.parametrize(("engine", "kind", "parameters", "logs"), [
    ("aurora-postgresql", "aws:rds/clusterParameterGroup:ClusterParameterGroup",
     POSTGRES_PARAMETERS, ["postgresql"]),
    ("aurora-mysql", "aws:rds/clusterParameterGroup:ClusterParameterGroup",
     [{"name": "long_query_time", "value": "1"},
      {"name": "require_secure_transport", "value": "ON"},
      {"name": "server_audit_events", "value": "CONNECT,QUERY_DCL,QUERY_DDL"},
      {"name": "server_audit_logging", "value": "1"},
      {"name": "slow_query_log", "value": "1"}], ["audit", "error", "slowquery"]),
    ("postgres", "aws:rds/parameterGroup:ParameterGroup",
     [{**p, **IMMEDIATE} for p in POSTGRES_PARAMETERS], ["postgresql", "upgrade"]),
    ("mysql", "aws:rds/parameterGroup:ParameterGroup",
     [{"name": "long_query_time", "value": "1", **IMMEDIATE},
      {"name": "require_secure_transport", "value": "ON", **IMMEDIATE},
      {"name": "slow_query_log", "value": "1", **IMMEDIATE}],
     ["error", "slowquery"]),
])
def test_parameter_group_forces_tls_logs_statements_and_logs_are_exported(
        engine, kind, parameters, logs):
    cap = run(lambda: Database("prod-orders", args(engine=engine)))
    [group] = cap.of_type(kind)
    assert group.inputs["parameters"] == parameters
    store = cap.named("prod-orders-cluster" if engine.startswith("aurora")
                      else "prod-orders-instance")
    assert store.inputs["enabledCloudwatchLogsExports"] == logs
    assert store.inputs["dbClusterParameterGroupName" if engine.startswith("aurora")
                        else "parameterGroupName"] == "prod-orders"


def test_slow_statement_threshold_is_configurable():
    cap = run(lambda: Database("prod-orders", args(slow_query_ms=250)))
    params = {p["name"]: p["value"] for p in cap.named("prod-orders-params").inputs["parameters"]}
    assert params["log_min_duration_statement"] == "250"
    cap = run(lambda: Database("prod-orders", args(engine="mysql", slow_query_ms=2500)))
    params = {p["name"]: p["value"] for p in cap.named("prod-orders-params").inputs["parameters"]}
    assert params["long_query_time"] == "2.5"


def test_parameter_family_follows_engine_version():
    cap = run(lambda: Database("prod-orders", args(engine="aurora-mysql")))
    assert cap.named("prod-orders-params").inputs["family"] == "aurora-mysql8.0"
    cap = run(lambda: Database("prod-orders", args(engine="postgres", engine_version="15.8")))
    assert cap.named("prod-orders-params").inputs["family"] == "postgres15"


def test_rds_instance_is_multi_az_private_and_encrypted():
    cap = run(lambda: Database("prod-orders", args(engine="postgres")))
    instance = cap.named("prod-orders-instance").inputs
    assert {k: instance[k] for k in (
        "identifier", "multiAz", "publiclyAccessible", "storageEncrypted", "kmsKeyId",
        "iamDatabaseAuthenticationEnabled", "manageMasterUserPassword",
        "masterUserSecretKmsKeyId", "backupRetentionPeriod", "deletionProtection",
        "skipFinalSnapshot", "finalSnapshotIdentifier", "performanceInsightsKmsKeyId",
        "username", "dbSubnetGroupName", "port")} == {
        "identifier": "prod-orders", "multiAz": True, "publiclyAccessible": False,
        "storageEncrypted": True, "kmsKeyId": KEY, "iamDatabaseAuthenticationEnabled": True,
        "manageMasterUserPassword": True, "masterUserSecretKmsKeyId": KEY,
        "backupRetentionPeriod": 14, "deletionProtection": True, "skipFinalSnapshot": False,
        "finalSnapshotIdentifier": "prod-orders-final", "performanceInsightsKmsKeyId": KEY,
        "username": "dbmaster", "dbSubnetGroupName": "prod-orders", "port": 5432}
    assert "password" not in instance


def test_connect_grant_is_rds_db_connect_as_the_user_and_known_at_preview():
    seen: dict[str, str] = {}

    def build():
        db = Database("prod-orders", args())
        grant = db.connect_grant("orders_app")
        assert (grant["kind"], grant["access"]) == ("database-user", "read")
        policy_document(grant_statements([grant])).apply(lambda d: seen.setdefault("doc", d))

    run(build, preview=True)
    # The cluster's resource id exists only after creation; the user name scopes the grant.
    assert json.loads(seen["doc"])["Statement"] == [{
        "Sid": "Grant0DatabaseUser", "Effect": "Allow", "Action": ["rds-db:connect"],
        "Resource": ["arn:aws:rds-db:eu-west-1:123456789012:dbuser:*/orders_app"]}]


def test_dbuser_arn_format():
    seen: list[str] = []
    run(lambda: dbuser_arn("us-east-2", "111122223333", "db-ABCD", "app").apply(seen.append))
    assert seen == ["arn:aws:rds-db:us-east-2:111122223333:dbuser:db-ABCD/app"]


@pytest.mark.parametrize(("extra", "message"), [
    ({"instances": 1},
     "instances: prod needs at least 2 instances in different availability zones (got 1)"),
    ({"engine": "postgres", "multi_az": False},
     "multiAz: prod needs a standby in a second availability zone (multiAz: true)"),
    ({"backup_retention_days": 7},
     "backupRetentionDays: backupRetentionDays must be at least 14 in prod (got 7)"),
    ({"master_password": "hunter2hunter2"},
     "masterPassword: passwords never go in configuration: the master password is generated "
     "and rotated by Secrets Manager (see masterUserSecretArn) and services connect with IAM "
     "authentication"),
    ({"masterPassword": "hunter2hunter2"},
     "masterPassword: passwords never go in configuration: the master password is generated "
     "and rotated by Secrets Manager (see masterUserSecretArn) and services connect with IAM "
     "authentication"),
    ({"engine": "oracle"},
     "engine: 'oracle' is not allowed: use one of aurora-postgresql, aurora-mysql, postgres, "
     "mysql"),
    ({"engine": "aurora-postgres"},
     "engine: 'aurora-postgres' is not allowed: use one of aurora-postgresql, aurora-mysql, "
     "postgres, mysql (did you mean 'aurora-postgresql'?)"),
    ({"master_username": "postgres"},
     "masterUsername: 'postgres' is a well-known default user name; choose another "
     "(e.g. dbmaster)"),
    ({"master_username": "Admin"},
     "masterUsername: 'Admin' is a well-known default user name; choose another "
     "(e.g. dbmaster)"),
    ({"allowed_services": ["orders", "search"]},
     "clientSecurityGroupIds.search: no security group given for allowed service 'search'"),
    ({"log_exports": ["audit"]},
     "logExports[0]: 'audit' is not allowed: use one of postgresql"),
    ({"engine": "postgres", "instances": 2},
     "instances: applies only to Aurora engines; postgres is one instance (use multiAz for a "
     "standby)"),
    ({"isolated_subnet_ids": SUBNETS[:2]},
     "isolatedSubnetIds: gives 2 subnets for 3 availability zones; give one isolated subnet "
     "per zone"),
    ({"environment": "qa"},
     "environment: 'qa' is not allowed: use one of dev, staging, prod"),
    ({"port": 80}, "port: port must be between 1150 and 65535 (got 80)"),
    ({"monitoring_interval": 0},
     "monitoringInterval: prod needs Enhanced Monitoring: use one of 1, 5, 10, 15, 30, 60 "
     "(got 0)"),
    ({"monitoring_interval": 20},
     "monitoringInterval: 20 is not an Enhanced Monitoring interval: use one of 0, 1, 5, 10, "
     "15, 30, 60"),
    ({"environment": "dev", "monitoring_interval": 0,
      "monitoring_role_arn": "arn:aws:iam::123456789012:role/rds-monitoring"},
     "monitoringRoleArn: is given but monitoringInterval is 0: set an interval or drop the "
     "role"),
    ({"slow_query_ms": 10}, "slowQueryMs: slowQueryMs must be between 100 and 60000 (got 10)"),
    ({"log_retention_days": 10},
     "logRetentionDays: 10 is not a CloudWatch Logs retention; use one of 1, 3, 5, 7, 14, 30, "
     "60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653"),
    ({"engie": "mysql"},
     "engie: unknown key; allowed keys: allocatedStorageGb, allowedServices, "
     "availabilityZones, backupRetentionDays, clientSecurityGroupIds, databaseName, "
     "deletionProtection, engine, engineVersion, environment, instanceClass, instances, "
     "isolatedSubnetIds, kmsKeyArn, logExports, logRetentionDays, masterUsername, "
     "minBackupRetentionDays, monitoringInterval, monitoringRoleArn, multiAz, "
     "performanceInsights, port, protect, requireMultiAz, slowQueryMs, tags, vpcId"),
])
def test_validation_messages(extra, message):
    with pytest.raises(ArgsError) as err:
        run(lambda: Database("prod-orders", args(**extra)))
    assert str(err.value) == f"Database 'prod-orders': {message}"


def test_single_az_is_allowed_outside_prod():
    cap = run(lambda: Database("dev-orders", args(environment="dev", instances=1)))
    assert len(cap.of_type("aws:rds/clusterInstance:ClusterInstance")) == 1


def test_check_database_applies_the_tier_to_a_stack_spec():
    spec = DatabaseSpec(instances=1, backup_retention_days=3)
    assert [p.message for p in check_database(spec, TIERS["staging"])] == [
        "backupRetentionDays must be at least 7 in staging (got 3)"]
    assert check_database(spec) == []


def test_stack_schema_refuses_a_password_key():
    """In a stack file the spec's own schema (camelCase, no unknown keys) stops it first."""

    class Stack(TypedDict):
        databases: dict[str, DatabaseSpec]

    _configure(Stack, set())
    adapter = pydantic.TypeAdapter(Stack)
    assert adapter.validate_python({"databases": {"main": {"instances": 2}}}) == {
        "databases": {"main": {"instances": 2}}}
    with pytest.raises(pydantic.ValidationError) as err:
        adapter.validate_python({"databases": {"main": {"masterPassword": "hunter2"}}})
    assert [(e["loc"], e["type"]) for e in err.value.errors()] == [
        (("databases", "main", "masterPassword"), "extra_forbidden")]
