"""Cache: multi-AZ failover, encryption at rest and in transit, IAM auth, no password."""

import json
from typing import Any, cast

import pytest

from components.base import policy_document
from components.cache import APP_ACCESS, Cache, CacheArgs, cache_connect_statement
from components.validation import ArgsError
from preflight.capture import Capture, capture

KEY = "arn:aws:kms:eu-west-1:123456789012:key/platform"
TOKEN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod-sessions-token-AbCdEf"
CONFIG = {"aws:region": "eu-west-1"}
SUBNETS = ["subnet-iso-a", "subnet-iso-b", "subnet-iso-c"]
CLIENTS = {"web": "sg-web", "orders": "sg-orders"}


def args(**extra) -> CacheArgs:
    base: dict[str, Any] = {"vpc_id": "vpc-1", "isolated_subnet_ids": SUBNETS, "kms_key_arn": KEY,
            "client_security_group_ids": CLIENTS, "allowed_services": ["web"],
            "environment": "prod"}
    return cast(CacheArgs, {**base, **extra})


def run(build, preview: bool = False) -> Capture:
    return capture(build, config=CONFIG, preview=preview)


def types(cap: Capture) -> list[str]:
    return sorted(r.type for r in cap.registrations if r.custom)


GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"


def test_rbac_cache_children_and_replication_group_flags():
    cap = run(lambda: Cache("prod-sessions", args()))
    assert types(cap) == sorted([
        "aws:ec2/securityGroup:SecurityGroup", "aws:elasticache/subnetGroup:SubnetGroup",
        "aws:elasticache/user:User", "aws:elasticache/user:User",
        "aws:elasticache/userGroup:UserGroup", GROUP, "aws:ssm/parameter:Parameter",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"])
    assert cap.named("prod-sessions-subnets").inputs["subnetIds"] == SUBNETS
    assert cap.named("prod-sessions-endpoint").inputs["name"] == "/prod-sessions/endpoint"
    assert cap.named("prod-sessions-group").inputs == {
        "replicationGroupId": "prod-sessions", "description": "prod-sessions: valkey cache",
        "engine": "valkey", "engineVersion": "8.0", "nodeType": "cache.t4g.medium",
        "port": 6379, "numCacheClusters": 3,
        "subnetGroupName": "prod-sessions", "securityGroupIds": ["prod-sessions-sg-id"],
        "automaticFailoverEnabled": True, "multiAzEnabled": True,
        "atRestEncryptionEnabled": True, "kmsKeyId": KEY,
        "transitEncryptionEnabled": True, "transitEncryptionMode": "required",
        "userGroupIds": ["prod-sessions"],
        "snapshotRetentionLimit": 14, "snapshotWindow": "03:00-04:00",
        "maintenanceWindow": "sun:05:00-sun:06:00",
        "autoMinorVersionUpgrade": True, "applyImmediately": False,
        "finalSnapshotIdentifier": "prod-sessions-final",
        "tags": {"Name": "prod-sessions"}}


def test_users_authenticate_with_iam_and_the_default_user_is_off():
    cap = run(lambda: Cache("prod-sessions", args()))
    users = {r.name: r.inputs for r in cap.of_type("aws:elasticache/user:User")}
    tags = {"Name": "prod-sessions"}
    assert users == {
        "prod-sessions-app-user": {
            "userId": "prod-sessions-app", "userName": "prod-sessions-app",
            "engine": "valkey", "accessString": APP_ACCESS,
            "authenticationMode": {"type": "iam"}, "tags": tags},
        "prod-sessions-default-user": {
            "userId": "prod-sessions-default", "userName": "default", "engine": "valkey",
            "accessString": "off -@all",
            "authenticationMode": {"type": "no-password-required"}, "tags": tags},
    }
    assert APP_ACCESS == "on ~* &* +@all -@dangerous"
    assert cap.named("prod-sessions-users").inputs == {
        "userGroupId": "prod-sessions", "engine": "valkey",
        "userIds": ["prod-sessions-default", "prod-sessions-app"], "tags": tags}
    for reg in cap.registrations:
        assert not {"passwords", "authToken", "authTokenWo"} & set(reg.inputs)


def test_connect_statement_names_the_cache_and_the_user_and_is_known_at_preview():
    seen: dict[str, str] = {}

    def build():
        cache = Cache("prod-sessions", args())
        policy_document([cache.connect_statement()]).apply(
            lambda d: seen.setdefault("doc", d))

    run(build, preview=True)
    assert json.loads(seen["doc"])["Statement"] == [{
        "Sid": "CacheConnect", "Effect": "Allow", "Action": ["elasticache:Connect"],
        "Resource": [
            "arn:aws:elasticache:eu-west-1:123456789012:replicationgroup:prod-sessions",
            "arn:aws:elasticache:eu-west-1:123456789012:user:prod-sessions-app"]}]


def test_cache_connect_statement_helper():
    assert cache_connect_statement("S", "arn:rg", "arn:user") == {
        "Sid": "S", "Effect": "Allow", "Action": ["elasticache:Connect"],
        "Resource": ["arn:rg", "arn:user"]}


def test_cluster_mode_shards_with_replicas_in_each():
    cap = run(lambda: Cache("prod-sessions", args(shards=3, replicas_per_shard=2)))
    group = cap.named("prod-sessions-group").inputs
    assert {k: group.get(k) for k in ("clusterMode", "numNodeGroups", "replicasPerNodeGroup",
                                      "parameterGroupName", "numCacheClusters")} == {
        "clusterMode": "enabled", "numNodeGroups": 3, "replicasPerNodeGroup": 2,
        "parameterGroupName": "default.valkey8.cluster.on", "numCacheClusters": None}


def test_token_auth_reads_the_token_from_secrets_manager_write_only():
    cap = run(lambda: Cache("prod-sessions", args(auth="token", auth_token_secret_arn=TOKEN)))
    assert cap.of_type("aws:elasticache/user:User") == []
    assert cap.of_type("aws:elasticache/userGroup:UserGroup") == []
    group = cap.named("prod-sessions-group").inputs
    assert "userGroupIds" not in group and "authToken" not in group
    assert set(group["authTokenWo"]) == {"4dabf18193072939515e22adb298388d", "value"}
    assert group["authTokenWoVersion"] == 1


def test_token_auth_has_no_connect_statement():
    def build():
        cache = Cache("prod-sessions", args(auth="token", auth_token_secret_arn=TOKEN))
        with pytest.raises(ValueError, match="connect_statement needs auth rbac"):
            cache.connect_statement()

    run(build)


@pytest.mark.parametrize(("environment", "protect", "snapshot", "days"), [
    ("dev", False, None, 1), ("staging", False, None, 7),
    ("prod", True, "orders-cache-final", 14)])
def test_tier_decides_protection_and_snapshots(environment, protect, snapshot, days):
    cap = run(lambda: Cache("orders-cache", args(environment=environment)))
    group = cap.named("orders-cache-group")
    assert (group.protect, group.retain_on_delete) == (protect, protect)
    assert group.inputs.get("finalSnapshotIdentifier") == snapshot
    assert group.inputs["snapshotRetentionLimit"] == days
    assert not any(r.protect for r in cap.registrations if r.type != GROUP)


def test_ingress_only_from_allowed_services():
    cap = run(lambda: Cache("prod-sessions", args(port=6380)))
    rules = {r.name: r.inputs
             for r in cap.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")}
    assert rules == {"prod-sessions-from-web": {
        "securityGroupId": "prod-sessions-sg-id", "referencedSecurityGroupId": "sg-web",
        "ipProtocol": "tcp", "fromPort": 6380, "toPort": 6380,
        "description": "valkey from service web"}}
    assert cap.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule") == []


@pytest.mark.parametrize(("extra", "message"), [
    ({"replicas_per_shard": 0},
     "replicasPerShard: needs at least 1 replica for automatic failover (got 0)"),
    ({"replicas_per_shard": 1},
     "replicasPerShard: prod needs at least 2 replicas per shard, so a zone can fail during a "
     "failover (got 1)"),
    ({"snapshot_retention_days": 7},
     "snapshotRetentionDays: snapshotRetentionDays must be at least 14 in prod (got 7)"),
    ({"engine": "redis", "engine_version": "6.2"},
     "engineVersion: rbac (IAM authentication) needs redis 7.0 or later (got 6.2)"),
    ({"engine": "memcached"},
     "engine: 'memcached' is not allowed: use one of valkey, redis"),
    ({"auth": "token"},
     "authTokenSecretArn: auth token needs the ARN of the Secrets Manager secret that holds it"),
    ({"auth_token_secret_arn": TOKEN}, "authTokenSecretArn: applies only with auth token"),
    ({"auth_token": "s3cr3t-s3cr3t"},
     "authToken: passwords never go in configuration: use auth rbac (IAM authentication, no "
     "password) or auth token with authTokenSecretArn (read from Secrets Manager)"),
    ({"allowed_services": ["web", "admin"]},
     "clientSecurityGroupIds.admin: no security group given for allowed service 'admin'"),
    ({"isolated_subnet_ids": SUBNETS[:1]},
     "isolatedSubnetIds: multi-AZ needs isolated subnets in at least 2 availability zones"),
    ({"node_type": "r7g.large"},
     "nodeType: 'r7g.large' is not an ElastiCache node type: use cache.<family>.<size> with family t3, t4g, m5, m6g, m7g, r5, r6g, r7g, r6gd, c7gn (e.g. cache.r7g.large)"),
])
def test_validation_messages(extra, message):
    with pytest.raises(ArgsError) as err:
        run(lambda: Cache("prod-sessions", args(**extra)))
    assert str(err.value) == f"Cache 'prod-sessions': {message}"


def test_one_replica_is_enough_outside_prod():
    cap = run(lambda: Cache("dev-sessions", args(environment="dev", replicas_per_shard=1)))
    assert cap.named("dev-sessions-group").inputs["numCacheClusters"] == 2
